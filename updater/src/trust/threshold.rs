//! The one threshold function, used for root and for every targets delegator.

use std::collections::{BTreeMap, HashSet};

use super::TrustError;
use crate::metadata::{Key, KeyId, RoleKeys, Signature};

/// Checks that at least `role_keys.threshold` *distinct* keys authorised for the role
/// have a valid signature over `canonical_signed`.
///
/// Distinct means distinct key material: a key id listed twice, two signatures with
/// the same key id, or two key ids for the same public key count once. Signatures
/// from keys the role does not authorise, of unsupported types or schemes, empty or
/// malformed signatures, are ignored rather than fatal: they simply do not count.
///
/// # Errors
/// [`TrustError::ThresholdNotMet`] with the count found.
pub fn verify_threshold(
    role: &str,
    canonical_signed: &[u8],
    signatures: &[Signature],
    keys: &BTreeMap<KeyId, Key>,
    role_keys: &RoleKeys,
) -> Result<(), TrustError> {
    let authorised: HashSet<&str> = role_keys.keyids.iter().map(String::as_str).collect();
    let mut counted: HashSet<Vec<u8>> = HashSet::new();
    let mut tried: HashSet<(&str, &str)> = HashSet::new();
    for signature in signatures {
        if !authorised.contains(signature.keyid.as_str())
            || !tried.insert((signature.keyid.as_str(), signature.sig.as_str()))
        {
            continue;
        }
        let Some(key) = keys.get(&signature.keyid) else {
            continue;
        };
        let Ok(verifying_key) = key.verifying_key() else {
            continue;
        };
        if counted.contains(verifying_key.public_bytes()) {
            continue;
        }
        let Ok(sig) = hex::decode(&signature.sig) else {
            continue;
        };
        if !sig.is_empty() && verifying_key.verify(canonical_signed, &sig) {
            counted.insert(verifying_key.public_bytes().to_vec());
        }
    }
    let valid = counted.len() as u64;
    if valid >= role_keys.threshold {
        Ok(())
    } else {
        Err(TrustError::ThresholdNotMet {
            role: role.into(),
            valid,
            threshold: role_keys.threshold,
            context: String::new(),
        })
    }
}
