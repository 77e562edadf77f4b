//! Documents large enough that parsing and the signature check run on two threads
//! (see `verified_parse`): the outcome must be exactly that of the sequential order.

use super::*;
use crate::metadata::canonical_bytes;
use crate::trust::verified_parse::PARALLEL_MIN_BYTES;
use serde_json::Value;

/// A repository whose top-level targets metadata is larger than the threshold.
fn large_sim() -> RepoSim {
    let mut sim = RepoSim::new();
    let mut n = 0;
    while canonical_bytes(&sim.targets["targets"]).unwrap().len() < PARALLEL_MIN_BYTES + 4096 {
        for _ in 0..500 {
            n += 1;
            sim.add_target("targets", &format!("pkg/{n:06}/app-{n}.tar.gz"), b"x");
        }
    }
    sim.publish_targets("targets");
    sim
}

/// The `signed` part of the current targets metadata as a JSON value.
fn signed_value(sim: &RepoSim) -> Value {
    serde_json::to_value(&sim.targets["targets"]).unwrap()
}

/// `signed` signed with `keys`, written as repo-tool writes it: compact, with the
/// `signed` part in canonical form (so it is checked on the second thread).
fn canonical_file(signed: &Value, keys: &[&TestKey]) -> Vec<u8> {
    let canonical = canonical_bytes(signed).unwrap();
    let signatures: Vec<_> = keys.iter().map(|k| k.sign(&canonical)).collect();
    let mut out = format!(
        r#"{{"signatures":{},"signed":"#,
        serde_json::to_string(&signatures).unwrap()
    )
    .into_bytes();
    out.extend_from_slice(&canonical);
    out.push(b'}');
    assert!(canonical.len() >= PARALLEL_MIN_BYTES);
    out
}

/// Offers `file` as the top-level targets metadata, after the current snapshot.
fn offer_file(sim: &RepoSim, file: &[u8]) -> (TrustedMetadata, Result<(), TrustError>) {
    let mut t = with_snapshot(sim);
    let result = t.update_targets("targets", ROOT_DELEGATOR, file, Origin::Repository);
    (t, result)
}

/// The description of the first target listed in `signed`.
fn first_target(signed: &mut Value) -> &mut Value {
    let listed = signed["targets"].as_object_mut().unwrap();
    listed.values_mut().next().unwrap()
}

/// Offers `file` and asserts that it is accepted with every target `sim` lists.
fn assert_accepted(sim: &RepoSim, file: &[u8]) {
    let (t, result) = offer_file(sim, file);
    result.unwrap();
    let listed = &t.targets("targets").unwrap().targets;
    assert_eq!(listed, &sim.targets["targets"].targets);
    assert!(listed.len() > 1000);
}

/// `signed` signed with `keys` in canonical form, offered as targets metadata.
fn offer(sim: &RepoSim, signed: &Value, keys: &[&TestKey]) -> Result<(), TrustError> {
    offer_file(sim, &canonical_file(signed, keys)).1
}

#[test]
fn accepts_a_large_canonical_document() {
    let sim = large_sim();
    let file = canonical_file(&signed_value(&sim), &[key(&sim, "targets")]);
    assert_accepted(&sim, &file);
}

#[test]
fn accepts_a_large_document_not_in_canonical_form() {
    // Indented, as python-tuf writes by default (and as the simulator does):
    // signatures cover the canonical form, which the client must compute.
    let sim = large_sim();
    let file = sim.targets_bytes("targets");
    assert!(file.len() >= PARALLEL_MIN_BYTES && file.contains(&b'\n'));
    assert_accepted(&sim, &file);
}

#[test]
fn accepts_a_large_compact_document_not_in_canonical_form() {
    // Compact, so it is parsed beside the check, which then finds an escape
    // canonical JSON does not write (`\/`): the document takes the sequential path.
    let sim = large_sim();
    let file = canonical_file(&signed_value(&sim), &[key(&sim, "targets")]);
    let text = String::from_utf8(file).unwrap();
    let escaped = text.replacen("\"pkg/000001/", "\"pkg\\/000001/", 1);
    assert!(escaped != text, "the edit must change the document");
    assert_accepted(&sim, escaped.as_bytes());
}

#[test]
fn a_compact_file_with_more_after_the_signed_part_is_read_in_full() {
    // `{"signatures":…,"signed":{…},"x":1}`: the quick split would take
    // `{…},"x":1` for the signed part; it is not one canonical value, so the file
    // is read in full, as the sequential path reads it (unknown keys ignored).
    let sim = large_sim();
    let file = canonical_file(&signed_value(&sim), &[key(&sim, "targets")]);
    let mut extended = file[..file.len() - 1].to_vec();
    extended.extend_from_slice(br#","x":1}"#);
    assert_accepted(&sim, &extended);
}

#[test]
fn a_compact_file_naming_a_key_twice_is_malformed() {
    let sim = large_sim();
    let signer = key(&sim, "targets");
    let file = canonical_file(&signed_value(&sim), &[signer, signer]);
    assert_rejects!(
        offer_file(&sim, &file).1,
        TrustError::Malformed { role, .. } if role == "targets"
    );
}

#[test]
fn rejects_a_large_document_not_in_canonical_form_with_a_bad_signature() {
    let mut sim = large_sim();
    sim.signers
        .insert("targets".into(), vec![TestKey::generate()]);
    let (t, result) = offer_file(&sim, &sim.targets_bytes("targets"));
    assert_rejects!(result, TrustError::ThresholdNotMet { valid: 0, .. });
    assert!(t.targets("targets").is_none());
}

#[test]
fn rejects_a_large_document_signed_by_the_wrong_key() {
    let sim = large_sim();
    let stranger = TestKey::generate();
    assert_rejects!(
        offer(&sim, &signed_value(&sim), &[&stranger]),
        TrustError::ThresholdNotMet { role, valid: 0, .. } if role == "targets"
    );
}

#[test]
fn rejects_a_large_document_changed_after_signing() {
    let sim = large_sim();
    let file = canonical_file(&signed_value(&sim), &[key(&sim, "targets")]);
    // One target's length changed from 1 to 7: same size, still canonical.
    let text = String::from_utf8(file).unwrap();
    let changed = text.replacen("\"length\":1}", "\"length\":7}", 1);
    assert!(changed != text, "the edit must change the document");
    let (t, result) = offer_file(&sim, changed.as_bytes());
    assert_rejects!(result, TrustError::ThresholdNotMet { valid: 0, .. });
    assert!(t.targets("targets").is_none());
    assert!(t.is_poisoned());
}

#[test]
fn a_large_document_that_does_not_parse_is_malformed_even_if_unsigned() {
    // Wrong shape and wrong key: the parse error is reported, as in the
    // sequential order.
    let sim = large_sim();
    let mut signed = signed_value(&sim);
    let first = first_target(&mut signed);
    first["length"] = Value::from("one");
    let stranger = TestKey::generate();
    for keys in [vec![&stranger], vec![key(&sim, "targets")]] {
        assert_rejects!(
            offer(&sim, &signed, &keys),
            TrustError::Malformed { role, .. } if role == "targets"
        );
    }
}

#[test]
fn a_large_document_failing_a_role_rule_is_malformed() {
    // Parses, is signed, but a target lists no hashes (spec: at least one).
    let sim = large_sim();
    let mut signed = signed_value(&sim);
    let first = first_target(&mut signed);
    first["hashes"] = serde_json::json!({});
    assert_rejects!(
        offer(&sim, &signed, &[key(&sim, "targets")]),
        TrustError::Malformed { role, .. } if role == "targets"
    );
}
