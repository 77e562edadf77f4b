//! Rejections decided by the trusted metadata set.

use crate::integrity::IntegrityError;
use crate::metadata::ParseError;

/// Why metadata was rejected, or why a call was refused.
///
/// [`TrustError::OutOfOrder`] and [`TrustError::NotDelegated`] are the caller's
/// fault (see [`TrustError::is_caller_error`]); [`TrustError::Poisoned`] follows an
/// earlier rejection. Every other variant is the repository's fault (or an
/// attacker's): the metadata offered breaks a rule of the TUF client workflow.
/// Variants name the role and the numbers involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// The file is not valid metadata of the expected role type.
    #[error("{role} metadata is malformed: {source}")]
    Malformed {
        /// The role the file was fetched as.
        role: String,
        /// What is wrong with it.
        source: ParseError,
    },
    /// Fewer distinct valid signatures than the threshold.
    #[error("{role} metadata has {valid} valid signature(s) from authorised keys, {threshold} needed{context}")]
    ThresholdNotMet {
        /// The role whose signatures were checked.
        role: String,
        /// Distinct authorised keys with a valid signature.
        valid: u64,
        /// How many are required.
        threshold: u64,
        /// Whose keys were checked, e.g. " (keys of the trusted root)".
        context: String,
    },
    /// The version is not the one required (root N+1, or the version snapshot/timestamp lists).
    #[error("{role} metadata has version {found}, expected {expected}")]
    BadVersion {
        /// The role.
        role: String,
        /// The version required.
        expected: u64,
        /// The version found.
        found: u64,
    },
    /// A version went back (rollback attack, spec 5.4.3, 5.5.5).
    #[error(
        "rollback refused: {role} version {found} is older than the trusted version {trusted}"
    )]
    Rollback {
        /// The role (or meta entry) whose version went back.
        role: String,
        /// The version trusted so far.
        trusted: u64,
        /// The older version offered.
        found: u64,
    },
    /// The metadata has expired (freeze attack, spec 5.3.10, 5.4.4, 5.5.6, 5.6.5).
    #[error("{role} metadata version {version} expired at {expires}: the repository may be frozen; retry later or contact its maintainers")]
    Expired {
        /// The role.
        role: String,
        /// Its version.
        version: u64,
        /// Its expiry.
        expires: String,
    },
    /// The bytes do not match the length or hashes the referring metadata lists
    /// (mix-and-match or endless data).
    #[error("{role} metadata does not match what the referring metadata lists: {source}")]
    Integrity {
        /// The role.
        role: String,
        /// The mismatch.
        source: IntegrityError,
    },
    /// A newer snapshot no longer lists a targets file the trusted one lists (spec 5.5.5).
    #[error("the new snapshot no longer lists {file}, which the trusted snapshot lists")]
    RoleRemoved {
        /// The meta file name, e.g. `targets.json`.
        file: String,
    },
    /// The snapshot does not list the targets role being loaded.
    #[error("snapshot does not list {role}.json")]
    MissingFromSnapshot {
        /// The role.
        role: String,
    },
    /// The delegator does not delegate to the role: the caller asked for a
    /// delegation that the trusted metadata does not contain.
    #[error("{delegator} does not delegate to {role}")]
    NotDelegated {
        /// The role.
        role: String,
        /// The supposed delegator.
        delegator: String,
    },
    /// The caller broke the order of the workflow: a bug in the caller.
    #[error("trusted metadata updated out of order: {0}")]
    OutOfOrder(&'static str),
    /// Metadata from the repository was rejected earlier; the set refuses further updates.
    #[error("the trusted metadata set refused earlier metadata and accepts no more updates; start a new refresh")]
    Poisoned,
}

impl TrustError {
    /// True when the caller, not the repository, is at fault: a bug in the code
    /// driving the trusted set. Such errors do not poison it.
    pub fn is_caller_error(&self) -> bool {
        matches!(
            self,
            TrustError::OutOfOrder(_) | TrustError::NotDelegated { .. }
        )
    }

    /// Adds whose keys were checked to a threshold error.
    pub(crate) fn signed_by(self, who: &str) -> Self {
        match self {
            TrustError::ThresholdNotMet {
                role,
                valid,
                threshold,
                ..
            } => TrustError::ThresholdNotMet {
                role,
                valid,
                threshold,
                context: format!(" (keys of {who})"),
            },
            other => other,
        }
    }
}
