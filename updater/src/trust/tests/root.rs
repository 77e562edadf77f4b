//! Root (spec 5.2, 5.3), and role_keys_changed (spec 5.3.11).

use super::*;
use crate::metadata::{canonical_bytes, to_envelope_json};

#[test]
fn new_rejects_root_not_signed_by_its_own_root_keys() {
    let sim = RepoSim::new();
    let bytes = sign_json(&sim.root, &[key(&sim, "targets")]);
    assert_rejects!(
        TrustedMetadata::new(&bytes, now()),
        TrustError::ThresholdNotMet {
            valid: 0,
            threshold: 1,
            ..
        }
    );
    TrustedMetadata::new(&sim.root_bytes(1).unwrap(), now()).unwrap();
}

#[test]
fn new_rejects_root_below_its_own_threshold() {
    let mut sim = RepoSim::new();
    let second = TestKey::generate();
    sim.root.keys.insert(second.id.clone(), second.key.clone());
    let rk = sim.root.roles.get_mut("root").unwrap();
    rk.keyids.push(second.id.clone());
    rk.threshold = 2;
    let one = sign_json(&sim.root, &[key(&sim, "root")]);
    assert_rejects!(
        TrustedMetadata::new(&one, now()),
        TrustError::ThresholdNotMet {
            valid: 1,
            threshold: 2,
            ..
        }
    );
    let both = sign_json(&sim.root, &[key(&sim, "root"), &second]);
    TrustedMetadata::new(&both, now()).unwrap();
}

#[test]
fn rejects_root_not_signed_by_previous_root() {
    let mut sim = RepoSim::new();
    let old = rotate_root_key(&mut sim);
    let only_new = sign_json(&sim.root, &[key(&sim, "root")]);
    let mut t = trusted(&sim);
    assert_rejects!(
        t.update_root(&only_new),
        TrustError::ThresholdNotMet { context, .. } if context.contains("trusted root")
    );
    assert_eq!(t.root().common.version, 1);
    let both = sign_json(&sim.root, &[&old, key(&sim, "root")]);
    trusted(&sim).update_root(&both).unwrap();
}

#[test]
fn rejects_root_not_signed_by_its_own_new_keys() {
    let mut sim = RepoSim::new();
    let old = rotate_root_key(&mut sim);
    let only_old = sign_json(&sim.root, &[&old]);
    let mut t = trusted(&sim);
    assert_rejects!(
        t.update_root(&only_old),
        TrustError::ThresholdNotMet { context, .. } if context.contains("new root itself")
    );
    assert_eq!(t.root().common.version, 1);
}

#[test]
fn rejects_root_below_its_raised_new_threshold() {
    let mut sim = RepoSim::new();
    let second = TestKey::generate();
    sim.root.keys.insert(second.id.clone(), second.key.clone());
    let rk = sim.root.roles.get_mut("root").unwrap();
    rk.keyids.push(second.id.clone());
    rk.threshold = 2;
    sim.root.common.version = 2;
    // Meets the old threshold (1 of the old key) but not the new one (2).
    let one = sign_json(&sim.root, &[key(&sim, "root")]);
    assert_rejects!(
        trusted(&sim).update_root(&one),
        TrustError::ThresholdNotMet {
            valid: 1,
            threshold: 2,
            ..
        }
    );
    let both = sign_json(&sim.root, &[key(&sim, "root"), &second]);
    trusted(&sim).update_root(&both).unwrap();
}

#[test]
fn rejects_root_version_skipping_ahead() {
    let mut sim = RepoSim::new();
    sim.root.common.version = 3;
    let v3 = sign_json(&sim.root, &[key(&sim, "root")]);
    assert_rejects!(
        trusted(&sim).update_root(&v3),
        TrustError::BadVersion {
            expected: 2,
            found: 3,
            ..
        }
    );
}

#[test]
fn rejects_root_version_not_above_trusted() {
    let mut sim = RepoSim::new();
    // The very same root replayed.
    let mut t = trusted(&sim);
    assert_rejects!(
        t.update_root(&sim.root_bytes(1).unwrap()),
        TrustError::BadVersion {
            expected: 2,
            found: 1,
            ..
        }
    );
    // Another root with the trusted version, validly signed.
    sim.root.common.expires = later(700);
    let other_v1 = sign_json(&sim.root, &[key(&sim, "root")]);
    assert_rejects!(
        trusted(&sim).update_root(&other_v1),
        TrustError::BadVersion {
            expected: 2,
            found: 1,
            ..
        }
    );
}

#[test]
fn rejects_root_with_wrong_type() {
    let sim = RepoSim::new();
    let mut root = sim.root.clone();
    root.common.version = 2;
    root.common.type_ = "timestamp".into();
    let bytes = sign_json(&root, &[key(&sim, "root")]);
    assert_rejects!(
        trusted(&sim).update_root(&bytes),
        TrustError::Malformed { role, .. } if role == "root"
    );
    assert_rejects!(
        TrustedMetadata::new(&bytes, now()),
        TrustError::Malformed { .. }
    );
}

#[test]
fn rejects_root_with_unsupported_spec_version_major() {
    let sim = RepoSim::new();
    let mut root = sim.root.clone();
    root.common.version = 2;
    root.common.spec_version = "2.0.0".into();
    let bytes = sign_json(&root, &[key(&sim, "root")]);
    assert_rejects!(
        trusted(&sim).update_root(&bytes),
        TrustError::Malformed { .. }
    );
}

#[test]
fn root_update_after_timestamp_is_out_of_order_and_does_not_poison() {
    let mut sim = RepoSim::new();
    sim.bump_root();
    let mut t = with_timestamp(&sim);
    assert_rejects!(
        t.update_root(&sim.root_bytes(2).unwrap()),
        TrustError::OutOfOrder(_)
    );
    assert_eq!(t.root().common.version, 1);
    assert!(!t.is_poisoned());
    t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository)
        .unwrap();
}

#[test]
fn rejects_duplicate_signature_keyids_as_malformed() {
    let sim = RepoSim::new();
    let sig = key(&sim, "root").sign(&canonical_bytes(&sim.root).unwrap());
    let root = to_envelope_json(&sim.root, &[sig.clone(), sig]).unwrap();
    assert_rejects!(
        TrustedMetadata::new(&root, now()),
        TrustError::Malformed { .. }
    );
    let sig = key(&sim, "timestamp").sign(&canonical_bytes(&sim.timestamp).unwrap());
    let ts = to_envelope_json(&sim.timestamp, &[sig.clone(), sig]).unwrap();
    assert_rejects!(
        trusted(&sim).update_timestamp(&ts, Origin::Repository),
        TrustError::Malformed { .. }
    );
}

#[test]
fn accepts_root_rotation_signed_by_old_and_new_keys() {
    let mut sim = RepoSim::new();
    let old = rotate_root_key(&mut sim);
    let v2 = sign_json(&sim.root, &[&old, key(&sim, "root")]);
    let mut t = trusted(&sim);
    t.update_root(&v2).unwrap();
    assert_eq!(t.root().common.version, 2);
    // v3 needs only the v2 keys.
    sim.root.common.version = 3;
    let v3 = sign_json(&sim.root, &[key(&sim, "root")]);
    t.update_root(&v3).unwrap();
    assert_eq!(t.root().common.version, 3);
    t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository)
        .unwrap();
}

#[test]
fn accepts_expired_root_as_start_of_rotation_chain() {
    let mut sim = RepoSim::new();
    sim.root.common.expires = past();
    sim.signed_roots.clear();
    sim.publish_root();
    sim.root.common.expires = later(365);
    sim.bump_root();
    let mut t = trusted(&sim);
    t.update_root(&sim.root_bytes(2).unwrap()).unwrap();
    t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository)
        .unwrap();
}

/// BUG (trust/mod.rs, update_root): the expected version is
/// `old.version.saturating_add(1)`, so once the trusted root has version u64::MAX a
/// root with that same version is accepted as "N+1", replays included.
#[test]
fn rejects_root_update_when_version_cannot_increase() {
    let mut sim = RepoSim::new();
    sim.root.common.version = u64::MAX;
    let max = sign_json(&sim.root, &[key(&sim, "root")]);
    let mut t = TrustedMetadata::new(&max, now()).unwrap();
    assert_rejects!(t.update_root(&max), TrustError::BadVersion { .. });
}

// ---------------------------------------------------------------------------
// role_keys_changed (spec 5.3.11)
// ---------------------------------------------------------------------------

#[test]
fn role_keys_changed_when_timestamp_keys_rotate() {
    let mut sim = RepoSim::new();
    let old = sim.root.clone();
    sim.rotate_keys("timestamp");
    sim.bump_root();
    assert!(role_keys_changed(&old, &sim.root, RoleType::Timestamp));
    assert!(!role_keys_changed(&old, &sim.root, RoleType::Snapshot));

    // Through a trusted set.
    let mut t = trusted(&sim);
    t.update_root(&sim.root_bytes(2).unwrap()).unwrap();
    assert!(role_keys_changed(&old, t.root(), RoleType::Timestamp));
}

#[test]
fn role_keys_unchanged_when_root_bumped_without_key_changes() {
    let mut sim = RepoSim::new();
    let old = sim.root.clone();
    sim.bump_root();
    for role in [
        RoleType::Root,
        RoleType::Timestamp,
        RoleType::Snapshot,
        RoleType::Targets,
    ] {
        assert!(!role_keys_changed(&old, &sim.root, role), "{role}");
    }
}

#[test]
fn role_keys_changed_when_threshold_changes() {
    let sim = RepoSim::new();
    let old = sim.root.clone();
    let mut new = sim.root.clone();
    let second = TestKey::generate();
    new.keys.insert(second.id.clone(), second.key.clone());
    let rk = new.roles.get_mut("snapshot").unwrap();
    rk.keyids.push(second.id.clone());
    let with_second_key = new.clone();
    assert!(role_keys_changed(
        &old,
        &with_second_key,
        RoleType::Snapshot
    ));
    new.roles.get_mut("snapshot").unwrap().threshold = 2;
    assert!(role_keys_changed(
        &with_second_key,
        &new,
        RoleType::Snapshot
    ));
}

#[test]
fn a_root_naming_a_role_beyond_the_four_top_level_ones_is_malformed() {
    let mut sim = RepoSim::new();
    let extra = sim.root.roles["targets"].clone();
    sim.root.roles.insert("mirrors".into(), extra);
    let bytes = sign_json(&sim.root, &[key(&sim, "root")]);
    assert_rejects!(
        TrustedMetadata::new(&bytes, now()),
        TrustError::Malformed { role, source } if role == "root" && source.to_string().contains("\"mirrors\"")
    );
}
