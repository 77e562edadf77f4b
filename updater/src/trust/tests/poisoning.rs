//! Poisoning: after a repository rejection the set refuses every further update.

use super::*;

#[test]
fn repository_rejection_poisons_every_further_update() {
    // Rejected root.
    let mut sim = RepoSim::new();
    sim.bump_root();
    let mut t = trusted(&sim);
    let unsigned = sign_json(&sim.root, &[]);
    assert_rejects!(t.update_root(&unsigned), TrustError::ThresholdNotMet { .. });
    assert!(t.is_poisoned());
    assert_rejects!(
        t.update_root(&sim.root_bytes(2).unwrap()),
        TrustError::Poisoned
    );
    assert_rejects!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Cache),
        TrustError::Poisoned
    );

    // Rejected timestamp.
    let sim = RepoSim::new();
    let mut t = trusted(&sim);
    let bad = sign_json(&sim.timestamp, &[key(&sim, "snapshot")]);
    assert_rejects!(
        t.update_timestamp(&bad, Origin::Repository),
        TrustError::ThresholdNotMet { .. }
    );
    assert_rejects!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository),
        TrustError::Poisoned
    );
    assert!(t.timestamp().is_none());

    // Rejected targets.
    let mut t = with_snapshot(&sim);
    let bad = sign_json(&sim.targets["targets"], &[key(&sim, "snapshot")]);
    assert_rejects!(
        t.update_targets("targets", ROOT_DELEGATOR, &bad, Origin::Repository),
        TrustError::ThresholdNotMet { .. }
    );
    assert_rejects!(
        load(&mut t, &sim, "targets", ROOT_DELEGATOR),
        TrustError::Poisoned
    );
    assert_rejects!(
        t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository),
        TrustError::Poisoned
    );
    assert!(t.targets("targets").is_none());
}

#[test]
fn cached_rejection_does_not_poison() {
    let sim = RepoSim::new();
    let mut t = trusted(&sim);
    let bad_ts = sign_json(&sim.timestamp, &[key(&sim, "snapshot")]);
    assert_rejects!(
        t.update_timestamp(&bad_ts, Origin::Cache),
        TrustError::ThresholdNotMet { .. }
    );
    assert!(!t.is_poisoned());
    t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository)
        .unwrap();
    let bad_snapshot = sign_json(&sim.snapshot, &[key(&sim, "timestamp")]);
    assert_rejects!(
        t.update_snapshot(&bad_snapshot, Origin::Cache),
        TrustError::ThresholdNotMet { .. }
    );
    t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository)
        .unwrap();
    let bad_targets = sign_json(&sim.targets["targets"], &[key(&sim, "snapshot")]);
    assert_rejects!(
        t.update_targets("targets", ROOT_DELEGATOR, &bad_targets, Origin::Cache),
        TrustError::ThresholdNotMet { .. }
    );
    assert!(!t.is_poisoned());
    load(&mut t, &sim, "targets", ROOT_DELEGATOR).unwrap();
}

/// BUG (trust/mod.rs, verify_delegation): it neither checks nor sets the poisoned
/// flag, so after a repository rejection a role can still be marked trusted through
/// another delegator (and a failed verify_delegation does not poison).
#[test]
fn verify_delegation_refuses_after_poisoning() {
    let (mut sim, kb) = diamond();
    sim.add_delegation("targets", "c", &["c/*"], false);
    sim.publish_snapshot();
    let both = sign_json(&sim.targets["R"], &[key(&sim, "R"), &kb]);
    let mut t = with_diamond_delegators(&sim);
    t.update_targets("R", "A", &both, Origin::Repository)
        .unwrap();
    let bad_c = sign_json(&sim.targets["c"], &[&kb]);
    assert_rejects!(
        t.update_targets("c", "targets", &bad_c, Origin::Repository),
        TrustError::ThresholdNotMet { .. }
    );
    assert!(t.is_poisoned());
    assert_rejects!(t.verify_delegation("R", "B"), TrustError::Poisoned);
}
