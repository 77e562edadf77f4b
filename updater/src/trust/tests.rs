//! Security tests of the trusted metadata set: one test per rule, each named for
//! what it proves, with real ed25519 signatures from [`RepoSim`]. Every rejection
//! test was checked by mutation: removing the rule it covers makes it fail.

use super::*;
use crate::integrity::IntegrityError;
use crate::metadata::{canonical_bytes, format_expiry, to_envelope_json, Signature};
use crate::testing::*;
use time::Duration;

/// Asserts that `$result` is `Err` matching the pattern, printing what it got instead.
macro_rules! assert_rejects {
    ($result:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected Err({}), got {:?}", stringify!($pattern), other),
        }
    };
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The first signing key of `role`.
fn key<'a>(sim: &'a RepoSim, role: &str) -> &'a TestKey {
    &sim.signers[role][0]
}

/// An expiry one day before the reference time.
fn past() -> String {
    format_expiry(now() - Duration::days(1))
}

/// An expiry `days` after the reference time.
fn later(days: i64) -> String {
    format_expiry(now() + Duration::days(days))
}

/// A set trusting root version 1 of `sim`.
fn trusted(sim: &RepoSim) -> TrustedMetadata {
    TrustedMetadata::new(&sim.root_bytes(1).unwrap(), now()).unwrap()
}

/// [`trusted`], then the current timestamp of `sim`.
fn with_timestamp(sim: &RepoSim) -> TrustedMetadata {
    let mut t = trusted(sim);
    assert_eq!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository)
            .unwrap(),
        TimestampUpdate::Updated
    );
    t
}

/// [`with_timestamp`], then the current snapshot of `sim`.
fn with_snapshot(sim: &RepoSim) -> TrustedMetadata {
    let mut t = with_timestamp(sim);
    t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository)
        .unwrap();
    t
}

/// [`with_snapshot`], then the top-level targets of `sim`.
fn with_targets(sim: &RepoSim) -> TrustedMetadata {
    let mut t = with_snapshot(sim);
    load(&mut t, sim, "targets", ROOT_DELEGATOR).unwrap();
    t
}

/// Offers the current `role` metadata of `sim` from the repository, via `delegator`.
fn load(
    t: &mut TrustedMetadata,
    sim: &RepoSim,
    role: &str,
    delegator: &str,
) -> Result<(), TrustError> {
    t.update_targets(
        role,
        delegator,
        &sim.targets_bytes(role),
        Origin::Repository,
    )
}

/// Replaces the root key of `sim` with a new one and bumps root's version without
/// publishing it; returns the previous root key.
fn rotate_root_key(sim: &mut RepoSim) -> TestKey {
    let old = sim.signers.remove("root").unwrap().remove(0);
    sim.rotate_keys("root");
    sim.root.common.version += 1;
    old
}

/// `targets` delegates to `a` and `b`, each with its own key; snapshot v2 lists all.
fn sim_with_delegations() -> RepoSim {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "a", &["a/*"], false);
    sim.add_delegation("targets", "b", &["b/*"], false);
    sim.publish_snapshot();
    sim
}

/// The diamond: `targets` delegates to `A` and `B`; `A` delegates `R` to key kA, `B`
/// delegates `R` to key kB. `R` is signed by kA only (`sim.signers["R"]`); kB is returned.
fn diamond() -> (RepoSim, TestKey) {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "A", &["*"], false);
    sim.add_delegation("targets", "B", &["*"], false);
    sim.add_delegation("A", "R", &["*"], false);
    let ka = sim.signers.remove("R").unwrap();
    sim.add_delegation("B", "R", &["*"], false);
    let kb = sim.signers.insert("R".into(), ka).unwrap().remove(0);
    sim.publish_snapshot();
    (sim, kb)
}

/// Loads `targets`, `A` and `B` of a [`diamond`].
fn with_diamond_delegators(sim: &RepoSim) -> TrustedMetadata {
    let mut t = with_targets(sim);
    load(&mut t, sim, "A", "targets").unwrap();
    load(&mut t, sim, "B", "targets").unwrap();
    t
}

const MESSAGE: &[u8] = br#"{"_type":"timestamp","version":7}"#;

fn role_keys(ids: &[&str], threshold: u64) -> RoleKeys {
    RoleKeys {
        keyids: ids.iter().map(|id| id.to_string()).collect(),
        threshold,
        unrecognized: Default::default(),
    }
}

fn key_map(entries: &[(&str, &Key)]) -> BTreeMap<KeyId, Key> {
    entries
        .iter()
        .map(|(id, k)| (id.to_string(), (*k).clone()))
        .collect()
}

fn signature(keyid: &str, sig: &str) -> Signature {
    Signature {
        keyid: keyid.into(),
        sig: sig.into(),
        unrecognized: Default::default(),
    }
}

fn threshold(
    signatures: &[Signature],
    keys: &BTreeMap<KeyId, Key>,
    rk: &RoleKeys,
) -> Result<(), TrustError> {
    verify_threshold("timestamp", MESSAGE, signatures, keys, rk)
}

// ---------------------------------------------------------------------------
// Root (spec 5.2, 5.3)
// ---------------------------------------------------------------------------

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
// The threshold function
// ---------------------------------------------------------------------------

#[test]
fn threshold_counts_keyid_listed_twice_in_role_once() {
    let k = TestKey::generate();
    let keys = key_map(&[(&k.id, &k.key)]);
    let sigs = [k.sign(MESSAGE)];
    assert_rejects!(
        threshold(&sigs, &keys, &role_keys(&[&k.id, &k.id], 2)),
        TrustError::ThresholdNotMet {
            valid: 1,
            threshold: 2,
            ..
        }
    );
    threshold(&sigs, &keys, &role_keys(&[&k.id, &k.id], 1)).unwrap();
}

#[test]
fn threshold_counts_two_keyids_for_one_public_key_once() {
    let k = TestKey::generate();
    let keys = key_map(&[(&k.id, &k.key), ("alias", &k.key)]);
    let sig = k.sign(MESSAGE);
    let sigs = [sig.clone(), signature("alias", &sig.sig)];
    assert_rejects!(
        threshold(&sigs, &keys, &role_keys(&[&k.id, "alias"], 2)),
        TrustError::ThresholdNotMet {
            valid: 1,
            threshold: 2,
            ..
        }
    );

    // The same through a root listing one key under two ids with threshold 2.
    let mut sim = RepoSim::new();
    let root_key = key(&sim, "root").key.clone();
    sim.root.keys.insert("alias".into(), root_key);
    let rk = sim.root.roles.get_mut("root").unwrap();
    rk.keyids.push("alias".into());
    rk.threshold = 2;
    let sig = key(&sim, "root").sign(&canonical_bytes(&sim.root).unwrap());
    let alias = signature("alias", &sig.sig);
    let bytes = to_envelope_json(&sim.root, &[sig, alias]).unwrap();
    assert_rejects!(
        TrustedMetadata::new(&bytes, now()),
        TrustError::ThresholdNotMet {
            valid: 1,
            threshold: 2,
            ..
        }
    );
}

#[test]
fn threshold_counts_repeated_signature_by_one_key_once() {
    // Verified directly: the envelope parser already refuses repeated key ids.
    let k = TestKey::generate();
    let keys = key_map(&[(&k.id, &k.key)]);
    let sig = k.sign(MESSAGE);
    let upper = signature(&k.id, &sig.sig.to_uppercase());
    assert_rejects!(
        threshold(&[sig, upper], &keys, &role_keys(&[&k.id], 2)),
        TrustError::ThresholdNotMet {
            valid: 1,
            threshold: 2,
            ..
        }
    );
}

#[test]
fn threshold_ignores_signature_by_key_not_authorised_for_role() {
    let authorised = TestKey::generate();
    let other = TestKey::generate();
    let keys = key_map(&[(&authorised.id, &authorised.key), (&other.id, &other.key)]);
    assert_rejects!(
        threshold(
            &[other.sign(MESSAGE)],
            &keys,
            &role_keys(&[&authorised.id], 1)
        ),
        TrustError::ThresholdNotMet { valid: 0, .. }
    );

    // End to end: the snapshot key is in root.keys but not a timestamp key.
    let sim = RepoSim::new();
    let ts = sign_json(&sim.timestamp, &[key(&sim, "snapshot")]);
    assert_rejects!(
        trusted(&sim).update_timestamp(&ts, Origin::Repository),
        TrustError::ThresholdNotMet { valid: 0, .. }
    );
}

#[test]
fn threshold_ignores_empty_signature_without_failing() {
    let a = TestKey::generate();
    let b = TestKey::generate();
    let keys = key_map(&[(&a.id, &a.key), (&b.id, &b.key)]);
    let sigs = [signature(&a.id, ""), b.sign(MESSAGE)];
    threshold(&sigs, &keys, &role_keys(&[&a.id, &b.id], 1)).unwrap();
    assert_rejects!(
        threshold(&sigs, &keys, &role_keys(&[&a.id, &b.id], 2)),
        TrustError::ThresholdNotMet { valid: 1, .. }
    );
}

#[test]
fn threshold_ignores_malformed_hex_signature_without_failing() {
    let a = TestKey::generate();
    let b = TestKey::generate();
    let keys = key_map(&[(&a.id, &a.key), (&b.id, &b.key)]);
    let sigs = [signature(&a.id, "zz-not-hex"), b.sign(MESSAGE)];
    threshold(&sigs, &keys, &role_keys(&[&a.id, &b.id], 1)).unwrap();
    assert_rejects!(
        threshold(&sigs, &keys, &role_keys(&[&a.id, &b.id], 2)),
        TrustError::ThresholdNotMet { valid: 1, .. }
    );
}

#[test]
fn threshold_ignores_unsupported_key_type_without_failing() {
    let mut unknown = Key::ed25519(&[7; 32]);
    unknown.keytype = "sphincs".into();
    unknown.scheme = "sphincs-shake-256f".into();
    let b = TestKey::generate();
    let keys = key_map(&[("unknown", &unknown), (&b.id, &b.key)]);
    let sigs = [signature("unknown", "abcd"), b.sign(MESSAGE)];
    threshold(&sigs, &keys, &role_keys(&["unknown", &b.id], 1)).unwrap();
    assert_rejects!(
        threshold(&sigs, &keys, &role_keys(&["unknown", &b.id], 2)),
        TrustError::ThresholdNotMet { valid: 1, .. }
    );
}

#[test]
fn threshold_ignores_authorised_keyid_missing_from_keys() {
    let b = TestKey::generate();
    let keys = key_map(&[(&b.id, &b.key)]);
    let sigs = [signature("missing", "abcd"), b.sign(MESSAGE)];
    threshold(&sigs, &keys, &role_keys(&["missing", &b.id], 1)).unwrap();
    assert_rejects!(
        threshold(&sigs, &keys, &role_keys(&["missing", &b.id], 2)),
        TrustError::ThresholdNotMet { valid: 1, .. }
    );
}

#[test]
fn threshold_ignores_signature_over_other_bytes() {
    let k = TestKey::generate();
    let keys = key_map(&[(&k.id, &k.key)]);
    assert_rejects!(
        threshold(&[k.sign(b"other")], &keys, &role_keys(&[&k.id], 1)),
        TrustError::ThresholdNotMet { valid: 0, .. }
    );

    // End to end: a signed part changed after signing.
    let sim = RepoSim::new();
    let ts = String::from_utf8(sim.timestamp_bytes()).unwrap();
    let tampered = ts.replacen("\"version\": 1", "\"version\": 9", 1);
    assert_ne!(ts, tampered);
    assert_rejects!(
        trusted(&sim).update_timestamp(tampered.as_bytes(), Origin::Repository),
        TrustError::ThresholdNotMet { valid: 0, .. }
    );
}

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

// ---------------------------------------------------------------------------
// Targets and delegated targets (spec 5.6)
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Poisoning
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Accepting chains
// ---------------------------------------------------------------------------

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
