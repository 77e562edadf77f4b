//! The threshold function.

use super::*;
use crate::metadata::{canonical_bytes, to_envelope_json, Signature};

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
