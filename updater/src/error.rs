//! The crate's error type, split by who is at fault.

use std::path::PathBuf;

use crate::fetch::FetchError;
use crate::integrity::IntegrityError;
use crate::trust::TrustError;

/// Everything that can go wrong in an update, split by fault:
///
/// - [`Error::Metadata`] and [`Error::Target`]: the repository (or an attacker)
///   served something that must not be trusted;
/// - [`Error::Fetch`]: the transport failed (network, server, limits);
/// - [`Error::Storage`]: local disk;
/// - [`Error::Config`] and [`Error::TargetNotFound`]: the caller's input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Metadata was rejected by the trust rules.
    #[error(transparent)]
    Metadata(#[from] TrustError),
    /// A transfer failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A downloaded target does not match its length or hashes.
    #[error("target {path:?} from {url} was refused: {source}")]
    Target {
        /// The target path.
        path: String,
        /// Where it came from.
        url: String,
        /// The mismatch.
        source: IntegrityError,
    },
    /// No trusted targets role lists the target.
    #[error("no trusted metadata lists the target {path:?}; check the name, or whether the release is published")]
    TargetNotFound {
        /// The target path asked for.
        path: String,
    },
    /// The delegation search for a target reached `Limits::max_delegations` with
    /// roles that may list it still unvisited: whether it exists is unknown.
    #[error("the search for target {path:?} visited {limit} targets roles (Limits::max_delegations) without an answer; the repository's delegations are too deep or too many for this client")]
    SearchLimit {
        /// The target path asked for.
        path: String,
        /// The limit reached.
        limit: usize,
    },
    /// The target's path has a `.` or `..` segment, which URL resolution and servers
    /// fold into another path, so it cannot be requested as itself.
    #[error("target {path:?} has a `.` or `..` segment, which no URL names as itself; the repository must rename the target")]
    UnrequestableTarget {
        /// The target path.
        path: String,
    },
    /// Local disk failure.
    #[error("{action} {path}: {source}")]
    Storage {
        /// What was being done, e.g. "writing".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// This client's refresh failed earlier; its trusted state is incomplete.
    #[error(
        "the earlier refresh of this client failed ({cause}); create a new client to try again"
    )]
    RefreshFailed {
        /// What the refresh failed with.
        cause: String,
    },
    /// Invalid configuration or arguments.
    #[error("{0}")]
    Config(String),
    /// Installing, resolving an interrupted install, confirming or rolling back
    /// failed (see [`crate::install::InstallError`]; it names the file involved).
    #[error(transparent)]
    #[cfg(feature = "self-update")]
    Install(#[from] crate::install::InstallError),
    /// Every mirror failed to serve an acceptable copy of one file (only with more
    /// than one mirror; with one, its own error is returned). Each mirror's failure is
    /// kept, in the order the mirrors were tried.
    #[error("{file}: no mirror served an acceptable copy: {}", list_failures(.failures))]
    Mirrors {
        /// The metadata file name or the target path.
        file: String,
        /// What went wrong on each mirror.
        failures: Vec<MirrorFailure>,
    },
    /// A verified targets role delegates to more hash bins than this client is
    /// configured to walk ([`crate::Limits::max_hash_bin_bits`]).
    #[error("{role} delegates to 2^{bit_length} hash bins, more than this client's limit of 2^{limit} (Limits::max_hash_bin_bits); the repository must use fewer bins, or the application must raise the limit")]
    TooManyBins {
        /// The delegating role.
        role: String,
        /// Its `bit_length`.
        bit_length: u32,
        /// The configured limit.
        limit: u32,
    },
    /// Listing a directory would visit more targets roles than allowed
    /// ([`crate::Limits::max_delegations`]); nothing past the limit was seen, so
    /// the listing is refused rather than returned incomplete.
    #[error("listing {prefix:?} needs more than {limit} targets roles (hash-bin delegations put any path in any bin); publish a release index (`repo-tool release` keeps APP/releases.json) or raise Limits::max_delegations")]
    ListingIncomplete {
        /// The directory listed.
        prefix: String,
        /// The limit reached.
        limit: usize,
    },
    /// The signed release index of an application cannot be used.
    #[error("release index {path:?} is invalid: {reason}; republish it with `repo-tool release`")]
    ReleaseIndex {
        /// The index's target path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The signed rollout policy of an application cannot be used.
    #[error("rollout policy {path:?} is invalid: {reason}; the rollout key holder must publish a corrected policy")]
    Rollout {
        /// The policy's target path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Another process is using the data directory (see
    /// [`crate::update::DataDirLock`]).
    #[error("another updater process holds the lock {path} (waited {waited:?}); try again when it has finished")]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: std::time::Duration,
    },
    /// A post-install hook was refused, failed or timed out.
    #[error("post-install hook {target:?}: {reason}")]
    Hook {
        /// The hook's target path.
        target: String,
        /// What happened.
        reason: String,
    },
}

/// What went wrong on one mirror (see [`Error::Mirrors`]).
#[derive(Debug)]
pub struct MirrorFailure {
    /// The mirror's base URL (metadata or targets, whichever was asked).
    pub mirror: String,
    /// Its failure: a transfer failure, or bytes refused by trust or integrity.
    pub error: Box<Error>,
}

fn list_failures(failures: &[MirrorFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("[mirror {}: {}]", f.mirror, f.error))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    pub(crate) fn storage(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Storage {
            action,
            path,
            source,
        }
    }
}
