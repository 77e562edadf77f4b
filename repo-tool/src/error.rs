//! The one error type of repo-tool's library.

use crate::signer::KeyError;

/// Why a repository operation failed. The repository directory is unchanged unless
/// the error says a write failed part-way (then the previous release is still whole).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepoError {
    /// A signer failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Fewer signers than a role's threshold.
    #[error("{role} needs {threshold} signature(s), only {available} signer(s) given")]
    ThresholdNotMet {
        /// The role.
        role: String,
        /// Its threshold.
        threshold: u64,
        /// How many signers were available.
        available: usize,
    },
    /// A value is not acceptable (threshold 0, unsafe target path, ...).
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
}
