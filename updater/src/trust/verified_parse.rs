//! Parsing a role's metadata and checking its signatures, side by side for large
//! documents.
//!
//! A flat `targets.json` of tens of thousands of targets takes milliseconds to parse
//! and as long again to check (the canonical-form check, then SHA-512 over every
//! byte for each ed25519 signature). When the `signed` part is received in canonical
//! form, both read only the received bytes, so they run on two threads. The outcome
//! is exactly that of doing one after the other: the document is accepted only when
//! it parses, passes every check, and meets the threshold over the bytes parsed; a
//! parse error is reported before a signature error, as the sequential order would.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{verify_threshold, TrustError};
use crate::metadata::{
    BorrowedEnvelope, Key, KeyId, ParseError, RoleKeys, SignedCommon, UnparsedEnvelope,
};

/// A `signed` part at least this long is parsed and checked on two threads; shorter
/// ones are not worth a thread (about 50 µs to start).
pub(crate) const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// Parses `bytes` as role type `T`, naming `role` in errors. The canonical bytes
/// borrow `bytes` when they can; callers keep an owned copy only of what they store.
pub(crate) fn parse<'a, T: serde::de::DeserializeOwned + SignedCommon>(
    role: &str,
    bytes: &'a [u8],
) -> Result<BorrowedEnvelope<'a, T>, TrustError> {
    BorrowedEnvelope::<T>::from_slice(bytes).map_err(malformed(role))
}

/// Parses `bytes` as role type `T` and checks that a threshold of the keys in
/// `role_keys` signed it (see [`verify_threshold`]).
///
/// # Errors
/// [`TrustError::Malformed`] when the document does not parse or fails a check of
/// its shape (reported first), [`TrustError::ThresholdNotMet`] otherwise.
pub(crate) fn parse_and_verify<'a, T>(
    role: &str,
    bytes: &'a [u8],
    keys: &BTreeMap<KeyId, Key>,
    role_keys: &RoleKeys,
) -> Result<BorrowedEnvelope<'a, T>, TrustError>
where
    T: serde::de::DeserializeOwned + SignedCommon + Send,
{
    let unparsed = UnparsedEnvelope::from_slice(bytes).map_err(malformed(role))?;
    // Small documents, and those plainly not in canonical form (indented, as
    // python-tuf writes by default: a canonical object is `{}` or starts `{"`), are
    // parsed and checked in turn; a typed parse beside the check would be wasted.
    if unparsed.signed.len() < PARALLEL_MIN_BYTES || !unparsed.signed.starts_with("{\"") {
        let envelope = unparsed.parse::<T>().map_err(malformed(role))?;
        verify_threshold(
            role,
            &envelope.canonical_signed,
            &envelope.signatures,
            keys,
            role_keys,
        )?;
        return Ok(envelope);
    }
    let check = |unparsed: &UnparsedEnvelope<'a>| {
        unparsed.canonical_as_received().map(|canonical| {
            let verdict = verify_threshold(role, canonical, &unparsed.signatures, keys, role_keys);
            (canonical, verdict)
        })
    };
    let (typed, checked) = std::thread::scope(|scope| {
        let checker = std::thread::Builder::new()
            .name("updater-verify".into())
            .spawn_scoped(scope, || check(&unparsed));
        let typed = unparsed.parse_signed::<T>();
        let checked = match checker {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: check here, after the parse.
            Err(_) => check(&unparsed),
        };
        (typed, checked)
    });
    match checked {
        Some((canonical, verdict)) => {
            let typed = typed.map_err(malformed(role))?;
            let envelope = unparsed
                .into_envelope(typed, Cow::Borrowed(canonical))
                .map_err(malformed(role))?;
            verdict?;
            Ok(envelope)
        }
        // Not received in canonical form: signatures cover the canonical form of the
        // parsed value, so the document is parsed that way and checked after.
        None => {
            let envelope = unparsed.parse_with::<T>(None).map_err(malformed(role))?;
            verify_threshold(
                role,
                &envelope.canonical_signed,
                &envelope.signatures,
                keys,
                role_keys,
            )?;
            Ok(envelope)
        }
    }
}

fn malformed(role: &str) -> impl Fn(ParseError) -> TrustError + '_ {
    move |source| TrustError::Malformed {
        role: role.into(),
        source,
    }
}
