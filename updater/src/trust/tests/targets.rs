//! Targets and delegated targets (spec 5.6).

use super::*;
use crate::integrity::IntegrityError;

#[test]
fn targets_before_snapshot_is_out_of_order() {
    let sim = RepoSim::new();
    let mut t = with_timestamp(&sim);
    assert_rejects!(
        load(&mut t, &sim, "targets", ROOT_DELEGATOR),
        TrustError::OutOfOrder(_)
    );
    assert!(!t.is_poisoned());
}

#[test]
fn rejects_targets_role_missing_from_snapshot() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "a", &["a/*"], false);
    sim.publish_targets("targets");
    sim.snapshot.meta.remove("a.json");
    sim.snapshot.common.version += 1;
    sim.publish_timestamp();
    let mut t = with_targets(&sim);
    assert_rejects!(
        t.targets_meta("a"),
        TrustError::MissingFromSnapshot { role } if role == "a"
    );
    assert_rejects!(
        load(&mut t, &sim, "a", "targets"),
        TrustError::MissingFromSnapshot { role } if role == "a"
    );
    assert!(t.targets("a").is_none());
}

#[test]
fn rejects_targets_not_matching_snapshot_hashes() {
    let mut sim = RepoSim::new();
    sim.meta_hashes = true;
    sim.publish_snapshot(); // snapshot lists length and sha256 of targets v1
    let mut t = with_snapshot(&sim);
    sim.targets.get_mut("targets").unwrap().common.expires = later(200);
    assert_rejects!(
        load(&mut t, &sim, "targets", ROOT_DELEGATOR),
        TrustError::Integrity {
            source: IntegrityError::HashMismatch { .. },
            ..
        }
    );
    assert!(t.targets("targets").is_none());
}

#[test]
fn rejects_cached_targets_not_matching_snapshot_hashes() {
    // Unlike snapshot, cached targets metadata must match the new snapshot.
    let mut sim = RepoSim::new();
    sim.meta_hashes = true;
    sim.publish_snapshot();
    let mut t = with_snapshot(&sim);
    sim.targets.get_mut("targets").unwrap().common.expires = later(200);
    assert_rejects!(
        t.update_targets(
            "targets",
            ROOT_DELEGATOR,
            &sim.targets_bytes("targets"),
            Origin::Cache
        ),
        TrustError::Integrity { .. }
    );
    assert!(t.targets("targets").is_none());
    assert!(!t.is_poisoned());
}

#[test]
fn rejects_targets_not_signed_by_targets_keys() {
    let sim = RepoSim::new();
    let mut t = with_snapshot(&sim);
    let bytes = sign_json(&sim.targets["targets"], &[key(&sim, "snapshot")]);
    assert_rejects!(
        t.update_targets("targets", ROOT_DELEGATOR, &bytes, Origin::Repository),
        TrustError::ThresholdNotMet { role, valid: 0, .. } if role == "targets"
    );
    assert!(t.targets("targets").is_none());
}

#[test]
fn rejects_targets_version_not_matching_snapshot() {
    let mut sim = RepoSim::new();
    let v1 = sim.targets_bytes("targets");
    sim.publish_targets("targets"); // snapshot lists targets v2
    let mut t = with_snapshot(&sim);
    assert_rejects!(
        t.update_targets("targets", ROOT_DELEGATOR, &v1, Origin::Repository),
        TrustError::BadVersion {
            expected: 2,
            found: 1,
            ..
        }
    );
    assert!(t.targets("targets").is_none());
}

#[test]
fn rejects_expired_targets() {
    let mut sim = RepoSim::new();
    sim.targets.get_mut("targets").unwrap().common.expires = past();
    let mut t = with_snapshot(&sim);
    assert_rejects!(
        load(&mut t, &sim, "targets", ROOT_DELEGATOR),
        TrustError::Expired { role, .. } if role == "targets"
    );
    assert!(t.targets("targets").is_none());
}

#[test]
fn rejects_targets_when_trusted_snapshot_failed_final_checks() {
    let mut sim = RepoSim::new();
    let stale = sim.snapshot_bytes(); // v1, lists targets v1
    sim.publish_snapshot(); // timestamp lists snapshot v2
    let mut t = with_timestamp(&sim);
    assert_rejects!(
        t.update_snapshot(&stale, Origin::Cache),
        TrustError::BadVersion { .. }
    );
    assert_rejects!(
        load(&mut t, &sim, "targets", ROOT_DELEGATOR),
        TrustError::BadVersion { role, .. } if role == "snapshot"
    );
    assert!(t.targets("targets").is_none());
}

#[test]
fn rejects_top_level_delegation_to_other_than_targets() {
    let sim = sim_with_delegations();
    let mut t = with_snapshot(&sim);
    // Signed by the top-level targets key, but root delegates only `targets`.
    let bytes = sign_json(&sim.targets["a"], &[key(&sim, "targets")]);
    assert_rejects!(
        t.update_targets("a", ROOT_DELEGATOR, &bytes, Origin::Repository),
        TrustError::NotDelegated { role, delegator } if role == "a" && delegator == "root"
    );
    assert!(t.targets("a").is_none());
}

#[test]
fn rejects_role_not_delegated_by_named_delegator() {
    let sim = sim_with_delegations();
    let mut t = with_targets(&sim);
    load(&mut t, &sim, "a", "targets").unwrap();
    // `targets` delegates `b`; `a` does not.
    assert_rejects!(
        load(&mut t, &sim, "b", "a"),
        TrustError::NotDelegated { role, delegator } if role == "b" && delegator == "a"
    );
    assert!(t.targets("b").is_none());
    load(&mut t, &sim, "b", "targets").unwrap();
}

#[test]
fn delegated_role_before_its_delegator_is_out_of_order() {
    let sim = sim_with_delegations();
    let mut t = with_snapshot(&sim);
    assert_rejects!(
        load(&mut t, &sim, "a", "targets"),
        TrustError::OutOfOrder(_)
    );
    assert!(!t.is_poisoned());
}

#[test]
fn rejects_delegated_role_signed_by_wrong_key() {
    let sim = sim_with_delegations();
    let mut t = with_targets(&sim);
    for wrong in [key(&sim, "targets"), key(&sim, "b")] {
        let bytes = sign_json(&sim.targets["a"], &[wrong]);
        assert_rejects!(
            t.update_targets("a", "targets", &bytes, Origin::Cache),
            TrustError::ThresholdNotMet { role, valid: 0, .. } if role == "a"
        );
    }
    assert!(t.targets("a").is_none());
    load(&mut t, &sim, "a", "targets").unwrap();
}

#[test]
fn verify_delegation_rechecks_signatures_against_second_delegator() {
    let (sim, kb) = diamond();
    let mut t = with_diamond_delegators(&sim);
    load(&mut t, &sim, "R", "A").unwrap();
    t.verify_delegation("R", "A").unwrap();
    assert_rejects!(
        t.verify_delegation("R", "B"),
        TrustError::ThresholdNotMet { role, valid: 0, .. } if role == "R"
    );
    // The failure is the repository's: the set is poisoned, nothing is remembered.
    assert!(t.is_poisoned());
    assert_rejects!(t.verify_delegation("R", "B"), TrustError::Poisoned);

    // Signed by both kA and kB, R is trusted through either delegator.
    let both = sign_json(&sim.targets["R"], &[key(&sim, "R"), &kb]);
    let mut t = with_diamond_delegators(&sim);
    t.update_targets("R", "A", &both, Origin::Repository)
        .unwrap();
    t.verify_delegation("R", "B").unwrap();
}

#[test]
fn verify_delegation_rejects_delegator_not_delegating_role() {
    let (sim, _) = diamond();
    let mut t = with_diamond_delegators(&sim);
    load(&mut t, &sim, "R", "A").unwrap();
    assert_rejects!(
        t.verify_delegation("R", "targets"),
        TrustError::NotDelegated { .. }
    );
    assert_rejects!(
        t.verify_delegation("R", "nobody"),
        TrustError::OutOfOrder(_)
    );
    assert_rejects!(
        t.verify_delegation("unloaded", "A"),
        TrustError::OutOfOrder(_)
    );
}

#[test]
fn refuses_to_replace_an_accepted_targets_role() {
    let (mut sim, kb) = diamond();
    let mut t = with_diamond_delegators(&sim);
    load(&mut t, &sim, "R", "A").unwrap();
    // Other content for R, same version, signed by kB: valid through B alone.
    sim.add_target("R", "evil.bin", b"evil");
    let other = sign_json(&sim.targets["R"], &[&kb]);
    assert_rejects!(
        t.update_targets("R", "B", &other, Origin::Repository),
        TrustError::OutOfOrder(_)
    );
    assert!(t.targets("R").unwrap().targets.is_empty());
    assert!(!t.is_poisoned());
}
