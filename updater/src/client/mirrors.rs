//! Mirrors: copies of one repository, tried in order.
//!
//! A mirror is only a place to get bytes from; it is never trusted. For each
//! metadata file the client asks the mirrors in order and keeps the first copy that
//! [`crate::trust`] accepts; a mirror that fails the transfer or serves a copy the
//! trust rules reject is skipped (and logged), and the next one is asked. Targets
//! work the same way with their trusted length and hashes (see
//! [`Client::download_target`]). So a mirror serving bad data costs time, never
//! integrity: an accepted file passed exactly the checks it would pass with one
//! mirror.
//!
//! A rejection poisons the trusted set; before offering a mirror's bytes while another
//! mirror is left, the client clones the set and, after a rejection, restores that
//! checkpoint (stale cached metadata kept for rollback checks included), so the next
//! mirror's copy meets exactly the same rules from exactly the same state.
//!
//! Root rotation (spec 5.3.3) asks every mirror for root N+1 before concluding that
//! there is none: one mirror answering "not found" must not hide a rotation that
//! another mirror has. The walk stops when no mirror served an acceptable N+1 and at
//! least one mirror answered "not found"; if none did (every mirror failed or served
//! bad data) the refresh fails, as it does with a single mirror.

use std::borrow::Cow;
use url::Url;

use super::step::Step;
use super::{join_url, with_trailing_slash, Client};
use crate::error::{Error, MirrorFailure};
use crate::fetch::read_bounded;
use crate::trust::TimestampUpdate;

/// One copy of the repository: where its metadata and its targets are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// Base URL of the metadata (ends in `/`).
    pub metadata_base_url: Url,
    /// Base URL of the targets (ends in `/`).
    pub targets_base_url: Url,
}

impl Mirror {
    /// A mirror; a trailing `/` is added to either URL if missing.
    pub fn new(metadata_base_url: Url, targets_base_url: Url) -> Mirror {
        Mirror {
            metadata_base_url: with_trailing_slash(metadata_base_url),
            targets_base_url: with_trailing_slash(targets_base_url),
        }
    }
}

/// Which metadata update the bytes of a file are offered to.
pub(super) enum Update<'a> {
    Root,
    Timestamp,
    Snapshot,
    Targets { role: &'a str, delegator: &'a str },
}

impl<'a> Update<'a> {
    fn step<'b>(&self, bytes: &'b [u8]) -> Step<'b>
    where
        'a: 'b,
    {
        let origin = crate::trust::Origin::Repository;
        match *self {
            Update::Root => Step::Root(Cow::Borrowed(bytes)),
            Update::Timestamp => Step::Timestamp(Cow::Borrowed(bytes), origin),
            Update::Snapshot => Step::Snapshot(Cow::Borrowed(bytes), origin),
            Update::Targets { role, delegator } => Step::Targets {
                role: Cow::Borrowed(role),
                delegator: Cow::Borrowed(delegator),
                bytes: Cow::Borrowed(bytes),
                origin,
            },
        }
    }
}

/// The outcome of asking the mirrors for one metadata file.
pub(super) enum Fetched {
    /// Bytes that `trust` accepted, and what the update changed.
    Accepted(Vec<u8>, TimestampUpdate),
    /// No mirror served an acceptable copy: each mirror's failure, in order.
    Failed(Vec<MirrorFailure>),
}

impl Client {
    /// Asks each mirror in turn for metadata `file` (at most `max_length` bytes) and
    /// offers its bytes to `trust` as `update`, until one is accepted.
    ///
    /// # Errors
    /// Only failures that another mirror cannot fix: a caller error of the trusted
    /// set (out of order), or a failure to rebuild it. Mirror failures are collected
    /// in [`Fetched::Failed`].
    pub(super) async fn fetch_accepted(
        &mut self,
        file: &str,
        max_length: u64,
        update: Update<'_>,
    ) -> Result<Fetched, Error> {
        let mirrors = self.config.mirrors.clone();
        let mut failures = Vec::new();
        // Bounded: one attempt per configured mirror.
        for (index, mirror) in mirrors.iter().enumerate() {
            let base = &mirror.metadata_base_url;
            let fail = |error: Error| MirrorFailure {
                mirror: base.to_string(),
                error: Box::new(error),
            };
            let url = join_url(base, file)?;
            tracing::debug!(%url, max_length, "fetching metadata");
            let prefetched = if index == 0 {
                self.take_prefetched(file)
            } else {
                None
            };
            let fetched = match prefetched {
                Some(fetched) => fetched,
                None => {
                    read_bounded(
                        self.fetcher.as_ref(),
                        &url,
                        max_length,
                        self.config.transfer,
                    )
                    .await
                }
            };
            let bytes = match fetched {
                Ok(bytes) => bytes,
                Err(error) => {
                    log_skip(&url, &error, index, mirrors.len());
                    failures.push(fail(error.into()));
                    continue;
                }
            };
            // With another mirror left, keep the state before this mirror's bytes:
            // a rejection poisons the set, and the next mirror's copy must meet the
            // same rules from the same state.
            let checkpoint = (index + 1 < mirrors.len()).then(|| self.trusted.clone());
            match self.apply(update.step(&bytes)) {
                Ok(outcome) => return Ok(Fetched::Accepted(bytes, outcome)),
                Err(error) if error.is_caller_error() => return Err(error.into()),
                Err(error) => {
                    log_skip(&url, &error, index, mirrors.len());
                    failures.push(fail(error.into()));
                    if let Some(checkpoint) = checkpoint {
                        self.trusted = checkpoint;
                    }
                }
            }
        }
        Ok(Fetched::Failed(failures))
    }
}

fn log_skip(url: &Url, error: &dyn std::fmt::Display, index: usize, count: usize) {
    if index + 1 < count {
        tracing::warn!(%url, %error, "mirror failed; trying the next mirror");
    }
}

/// One error for a file that no mirror served: the single mirror's own error, or
/// [`Error::Mirrors`] naming each mirror's.
pub(super) fn into_error(file: &str, mut failures: Vec<MirrorFailure>) -> Error {
    if failures.len() == 1 {
        if let Some(only) = failures.pop() {
            return *only.error;
        }
    }
    Error::Mirrors {
        file: file.to_string(),
        failures,
    }
}

/// True when some mirror answered "not found" (ends root rotation, spec 5.3.3).
pub(super) fn any_not_found(failures: &[MirrorFailure]) -> bool {
    failures
        .iter()
        .any(|f| matches!(&*f.error, Error::Fetch(e) if e.is_not_found()))
}

/// Whether a target download failure is the mirror's (try the next one) rather
/// than local (disk, configuration: stop).
pub(super) fn is_mirror_fault(error: &Error) -> bool {
    matches!(error, Error::Fetch(_) | Error::Target { .. })
}
