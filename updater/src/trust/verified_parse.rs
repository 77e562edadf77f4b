//! Parsing a role's metadata and checking its signatures, side by side for large
//! documents.
//!
//! A flat `targets.json` of tens of thousands of targets takes milliseconds to parse
//! and as long again to check (the canonical-form check, then SHA-512 over every
//! byte for each ed25519 signature). When the file is written compactly and its
//! `signed` part is in canonical form (as repo-tool writes it), both read only the
//! received bytes, so they run on two threads, and the envelope is split without a
//! full read (see `UnparsedEnvelope::split_compact`). The outcome is exactly that of
//! doing one after the other: the document is accepted only when it parses, passes
//! every check, and meets the threshold over the bytes parsed; a parse error is
//! reported before a signature error, as the sequential order would.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{verify_threshold, TrustError};
use crate::metadata::{
    BorrowedEnvelope, Key, KeyId, ParseError, RoleKeys, SignedCommon, UnparsedEnvelope,
};

/// A file at least this long is parsed and checked on two threads; shorter ones are
/// not worth a thread (about 50 µs to start).
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
    if bytes.len() >= PARALLEL_MIN_BYTES {
        if let Some(candidate) = UnparsedEnvelope::split_compact(bytes) {
            if let Some(outcome) = side_by_side(role, candidate, keys, role_keys) {
                return outcome;
            }
            // Not in canonical form after all: read it the sequential way.
        }
    }
    let envelope = UnparsedEnvelope::from_slice(bytes)
        .and_then(UnparsedEnvelope::parse::<T>)
        .map_err(malformed(role))?;
    verify_threshold(
        role,
        &envelope.canonical_signed,
        &envelope.signatures,
        keys,
        role_keys,
    )?;
    Ok(envelope)
}

/// Parses the `signed` part of `candidate` on this thread while another checks
/// that it is canonical and meets the threshold. `None` when it is not canonical
/// (then `candidate` may not even be the file's envelope; see
/// [`UnparsedEnvelope::split_compact`]).
fn side_by_side<'a, T>(
    role: &str,
    candidate: UnparsedEnvelope<'a>,
    keys: &BTreeMap<KeyId, Key>,
    role_keys: &RoleKeys,
) -> Option<Result<BorrowedEnvelope<'a, T>, TrustError>>
where
    T: serde::de::DeserializeOwned + SignedCommon + Send,
{
    // Plainly not canonical (a canonical object is `{}` or starts `{"`): not worth
    // a typed parse beside the check.
    if !candidate.signed.starts_with("{\"") {
        return None;
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
            .spawn_scoped(scope, || check(&candidate));
        let typed = candidate.parse_signed::<T>();
        let checked = match checker {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: check here, after the parse.
            Err(_) => check(&candidate),
        };
        (typed, checked)
    });
    let (canonical, verdict) = checked?;
    Some((|| {
        let typed = typed.map_err(malformed(role))?;
        let envelope = candidate
            .into_envelope(typed, Cow::Borrowed(canonical))
            .map_err(malformed(role))?;
        verdict?;
        Ok(envelope)
    })())
}

fn malformed(role: &str) -> impl Fn(ParseError) -> TrustError + '_ {
    move |source| TrustError::Malformed {
        role: role.into(),
        source,
    }
}
