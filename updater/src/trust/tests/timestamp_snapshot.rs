//! Timestamp (spec 5.4) and snapshot (spec 5.5).

use super::*;
use crate::integrity::IntegrityError;

// ---------------------------------------------------------------------------
// Timestamp (spec 5.4)
// ---------------------------------------------------------------------------

#[test]
fn rejects_expired_final_root() {
    let mut sim = RepoSim::new();
    sim.root.common.expires = past();
    sim.bump_root();
    let mut t = trusted(&sim);
    t.update_root(&sim.root_bytes(2).unwrap()).unwrap();
    assert_rejects!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository),
        TrustError::Expired { role, version: 2, .. } if role == "root"
    );
    assert!(t.timestamp().is_none());
}

#[test]
fn rejects_timestamp_not_signed_by_timestamp_keys() {
    let sim = RepoSim::new();
    for signers in [vec![key(&sim, "snapshot")], vec![]] {
        let ts = sign_json(&sim.timestamp, &signers);
        let mut t = trusted(&sim);
        assert_rejects!(
            t.update_timestamp(&ts, Origin::Repository),
            TrustError::ThresholdNotMet { role, valid: 0, .. } if role == "timestamp"
        );
        assert!(t.timestamp().is_none());
    }
}

#[test]
fn rejects_rollback_of_timestamp_version() {
    let mut sim = RepoSim::new();
    let v1 = sim.timestamp_bytes();
    sim.publish_timestamp();
    let mut t = trusted(&sim);
    assert_eq!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Cache)
            .unwrap(),
        TimestampUpdate::Updated
    );
    assert_rejects!(
        t.update_timestamp(&v1, Origin::Repository),
        TrustError::Rollback {
            trusted: 2,
            found: 1,
            ..
        }
    );
    assert_eq!(t.timestamp().unwrap().common.version, 2);
}

#[test]
fn equal_timestamp_version_is_unchanged_and_keeps_trusted_one() {
    let mut sim = RepoSim::new();
    sim.publish_timestamp();
    let trusted_v2 = sim.timestamp_bytes();
    // Another validly signed timestamp with the same version, listing another snapshot.
    sim.timestamp.meta.get_mut("snapshot.json").unwrap().version = 2;
    let other_v2 = sim.timestamp_bytes();
    let mut t = trusted(&sim);
    t.update_timestamp(&trusted_v2, Origin::Cache).unwrap();
    assert_eq!(
        t.update_timestamp(&other_v2, Origin::Repository).unwrap(),
        TimestampUpdate::Unchanged
    );
    assert_eq!(t.timestamp().unwrap().snapshot_meta().version, 1);
    assert!(!t.is_poisoned());
}

#[test]
fn rejects_snapshot_version_rollback_in_timestamp() {
    let mut sim = RepoSim::new();
    sim.publish_snapshot(); // snapshot v2, timestamp v2
    let ts2 = sim.timestamp_bytes();
    sim.timestamp.common.version = 3;
    sim.timestamp.meta.get_mut("snapshot.json").unwrap().version = 1;
    let ts3 = sim.timestamp_bytes();
    let mut t = trusted(&sim);
    t.update_timestamp(&ts2, Origin::Cache).unwrap();
    assert_rejects!(
        t.update_timestamp(&ts3, Origin::Repository),
        TrustError::Rollback { role, trusted: 2, found: 1 } if role.contains("snapshot")
    );
    assert_eq!(t.timestamp().unwrap().common.version, 2);
}

#[test]
fn rejects_expired_timestamp() {
    let mut sim = RepoSim::new();
    sim.timestamp.common.expires = past();
    let mut t = trusted(&sim);
    assert_rejects!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository),
        TrustError::Expired { role, version: 1, .. } if role == "timestamp"
    );
    assert!(t.is_poisoned());
}

#[test]
fn rejects_timestamp_expiring_exactly_at_reference_time() {
    let mut sim = RepoSim::new();
    sim.timestamp.common.expires = format_expiry(now());
    assert_rejects!(
        trusted(&sim).update_timestamp(&sim.timestamp_bytes(), Origin::Repository),
        TrustError::Expired { .. }
    );
}

#[test]
fn keeps_expired_timestamp_for_rollback_checks() {
    let mut sim = RepoSim::new();
    let v1 = sim.timestamp_bytes();
    sim.publish_timestamp();
    sim.timestamp.common.expires = past();
    let expired_v2 = sim.timestamp_bytes();
    let mut t = trusted(&sim);
    assert_rejects!(
        t.update_timestamp(&expired_v2, Origin::Cache),
        TrustError::Expired { version: 2, .. }
    );
    assert_eq!(t.timestamp().unwrap().common.version, 2);
    assert_rejects!(
        t.update_timestamp(&v1, Origin::Repository),
        TrustError::Rollback {
            trusted: 2,
            found: 1,
            ..
        }
    );
}

#[test]
fn rejects_snapshot_offered_as_timestamp() {
    // One key serves timestamp and snapshot, as in many repositories.
    let mut sim = RepoSim::new();
    let ts_id = key(&sim, "timestamp").id.clone();
    sim.root.roles.get_mut("snapshot").unwrap().keyids = vec![ts_id];
    sim.signed_roots.clear();
    sim.publish_root();
    // A validly signed snapshot whose meta has the shape of a timestamp's.
    let mut snapshot = sim.snapshot.clone();
    snapshot.common.version = 5;
    snapshot.meta = sim.timestamp.meta.clone();
    let bytes = sign_json(&snapshot, &[key(&sim, "timestamp")]);
    let mut t = trusted(&sim);
    assert_rejects!(
        t.update_timestamp(&bytes, Origin::Repository),
        TrustError::Malformed { role, .. } if role == "timestamp"
    );
    assert!(t.timestamp().is_none());
}

#[test]
fn timestamp_after_snapshot_is_out_of_order() {
    let mut sim = RepoSim::new();
    let mut t = with_snapshot(&sim);
    sim.publish_timestamp();
    assert_rejects!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository),
        TrustError::OutOfOrder(_)
    );
    assert_eq!(t.timestamp().unwrap().common.version, 1);
    assert!(!t.is_poisoned());
}

// ---------------------------------------------------------------------------
// Snapshot (spec 5.5)
// ---------------------------------------------------------------------------

#[test]
fn snapshot_before_timestamp_is_out_of_order() {
    let sim = RepoSim::new();
    let mut t = trusted(&sim);
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::OutOfOrder(_)
    );
    assert!(!t.is_poisoned());
}

#[test]
fn rejects_snapshot_not_matching_timestamp_hashes() {
    let mut sim = RepoSim::new();
    sim.meta_hashes = true;
    sim.publish_snapshot(); // timestamp v2 lists length and sha256 of snapshot v2
    let mut t = with_timestamp(&sim);
    // Validly signed, right version, but not the snapshot the timestamp lists.
    sim.snapshot.common.expires = later(200);
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::Integrity {
            source: IntegrityError::HashMismatch { .. },
            ..
        }
    );
    assert!(t.snapshot().is_none());
}

#[test]
fn rejects_snapshot_longer_than_timestamp_length() {
    let mut sim = RepoSim::new();
    sim.meta_hashes = true;
    sim.publish_snapshot();
    // The timestamp lists the length only.
    sim.timestamp.meta.get_mut("snapshot.json").unwrap().hashes = None;
    let mut t = with_timestamp(&sim);
    let mut padded = sim.snapshot_bytes();
    padded.extend_from_slice(b"        \n");
    assert_rejects!(
        t.update_snapshot(&padded, Origin::Repository),
        TrustError::Integrity {
            source: IntegrityError::TooLong { .. },
            ..
        }
    );
    with_timestamp(&sim)
        .update_snapshot(&sim.snapshot_bytes(), Origin::Repository)
        .unwrap();
}

#[test]
fn cached_snapshot_skips_timestamp_hash_check() {
    let mut sim = RepoSim::new();
    sim.meta_hashes = true;
    sim.publish_snapshot();
    let mut t = with_timestamp(&sim);
    sim.snapshot.common.expires = later(200);
    t.update_snapshot(&sim.snapshot_bytes(), Origin::Cache)
        .unwrap();
    assert_eq!(t.snapshot().unwrap().common.expires, later(200));
}

#[test]
fn rejects_snapshot_not_signed_by_snapshot_keys() {
    let sim = RepoSim::new();
    let mut t = with_timestamp(&sim);
    let bytes = sign_json(&sim.snapshot, &[key(&sim, "timestamp")]);
    assert_rejects!(
        t.update_snapshot(&bytes, Origin::Repository),
        TrustError::ThresholdNotMet { role, valid: 0, .. } if role == "snapshot"
    );
    assert!(t.snapshot().is_none());
}

#[test]
fn rejects_snapshot_removing_role_of_trusted_snapshot() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "a", &["a/*"], false);
    sim.publish_targets("targets"); // snapshot v2 lists a.json and targets.json
    let old = sim.snapshot_bytes();
    sim.snapshot.meta.remove("a.json");
    sim.snapshot.common.version += 1;
    sim.publish_timestamp(); // timestamp v3 lists snapshot v3
    let mut t = with_timestamp(&sim);
    // The cached snapshot is stale (version 2, timestamp lists 3) but is kept.
    assert_rejects!(
        t.update_snapshot(&old, Origin::Cache),
        TrustError::BadVersion {
            expected: 3,
            found: 2,
            ..
        }
    );
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::RoleRemoved { file } if file == "a.json"
    );
    assert_eq!(t.snapshot().unwrap().common.version, 2);
}

#[test]
fn rejects_rollback_of_role_version_in_snapshot() {
    let mut sim = RepoSim::new();
    sim.publish_targets("targets"); // snapshot v2 lists targets.json v2
    let old = sim.snapshot_bytes();
    sim.snapshot.meta.get_mut("targets.json").unwrap().version = 1;
    sim.snapshot.common.version += 1;
    sim.publish_timestamp();
    let mut t = with_timestamp(&sim);
    assert_rejects!(
        t.update_snapshot(&old, Origin::Cache),
        TrustError::BadVersion { .. }
    );
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::Rollback { role, trusted: 2, found: 1 } if role.contains("targets.json")
    );
}

#[test]
fn rejects_snapshot_version_not_matching_timestamp() {
    // Older than the timestamp lists.
    let mut sim = RepoSim::new();
    let v1 = sim.snapshot_bytes();
    sim.publish_snapshot();
    let mut t = with_timestamp(&sim);
    assert_rejects!(
        t.update_snapshot(&v1, Origin::Repository),
        TrustError::BadVersion { role, expected: 2, found: 1 } if role == "snapshot"
    );
    assert!(t.is_poisoned());

    // Newer than the timestamp lists.
    let mut sim = RepoSim::new();
    let mut t = with_timestamp(&sim);
    sim.snapshot.common.version = 2;
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::BadVersion {
            expected: 1,
            found: 2,
            ..
        }
    );
}

#[test]
fn rejects_expired_snapshot() {
    let mut sim = RepoSim::new();
    sim.snapshot.common.expires = past();
    let mut t = with_timestamp(&sim);
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::Expired { role, .. } if role == "snapshot"
    );
}

#[test]
fn rejects_snapshot_when_trusted_timestamp_expired() {
    let mut sim = RepoSim::new();
    sim.timestamp.common.expires = past();
    let mut t = trusted(&sim);
    assert_rejects!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Cache),
        TrustError::Expired { .. }
    );
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::Expired { role, .. } if role == "timestamp"
    );
    assert!(t.snapshot().is_none());
}

#[test]
fn snapshot_after_targets_is_out_of_order() {
    let sim = RepoSim::new();
    let mut t = with_targets(&sim);
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::OutOfOrder(_)
    );
    assert!(!t.is_poisoned());
}
