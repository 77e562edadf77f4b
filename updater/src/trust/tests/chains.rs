//! Accepting chains.

use super::*;

#[test]
fn accepts_full_chain_with_rotation_and_delegation() {
    let mut sim = RepoSim::new();
    sim.meta_hashes = true;
    sim.add_target("targets", "app-1.0.tgz", b"app");
    sim.add_delegation("targets", "a", &["a/*"], false);
    sim.add_target("a", "a/lib.tgz", b"lib");
    sim.publish_targets("targets"); // targets v2, snapshot v2, timestamp v2, with hashes
    let root_v1 = sim.root_bytes(1).unwrap();
    let old = rotate_root_key(&mut sim);
    let root_v2 = sign_json(&sim.root, &[&old, key(&sim, "root")]);

    let mut t = TrustedMetadata::new(&root_v1, now()).unwrap();
    assert_eq!(t.reference_time(), now());
    t.update_root(&root_v2).unwrap();
    assert_eq!(t.root().common.version, 2);
    assert_eq!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository)
            .unwrap(),
        TimestampUpdate::Updated
    );
    t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository)
        .unwrap();
    assert_eq!(t.snapshot().unwrap().common.version, 2);
    assert_eq!(t.targets_meta("a").unwrap().version, 1);
    load(&mut t, &sim, "targets", ROOT_DELEGATOR).unwrap();
    load(&mut t, &sim, "a", "targets").unwrap();
    t.verify_delegation("a", "targets").unwrap();
    assert!(t
        .targets("targets")
        .unwrap()
        .targets
        .contains_key("app-1.0.tgz"));
    assert!(t.targets("a").unwrap().targets.contains_key("a/lib.tgz"));
    assert!(!t.is_poisoned());
}

#[test]
fn accepts_newer_metadata_after_stale_cached_metadata() {
    let mut sim = RepoSim::new();
    let (ts1, snapshot1) = (sim.timestamp_bytes(), sim.snapshot_bytes());
    sim.publish_targets("targets"); // targets v2, snapshot v2, timestamp v2
    let mut t = trusted(&sim);
    assert_eq!(
        t.update_timestamp(&ts1, Origin::Cache).unwrap(),
        TimestampUpdate::Updated
    );
    assert_eq!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository)
            .unwrap(),
        TimestampUpdate::Updated
    );
    assert_rejects!(
        t.update_snapshot(&snapshot1, Origin::Cache),
        TrustError::BadVersion { .. }
    );
    t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository)
        .unwrap();
    load(&mut t, &sim, "targets", ROOT_DELEGATOR).unwrap();
    assert_eq!(t.targets("targets").unwrap().common.version, 2);
    assert!(!t.is_poisoned());
}
