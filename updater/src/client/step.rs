//! One update of the trusted set, as a value, so that the mirror loop can offer the
//! same kind of update with each mirror's bytes.

use std::borrow::Cow;

use crate::trust::{Origin, TimestampUpdate, TrustError, TrustedMetadata};

/// One update of the trusted set.
#[derive(Debug, Clone)]
pub(super) enum Step<'a> {
    /// [`TrustedMetadata::update_root`].
    Root(Cow<'a, [u8]>),
    /// [`TrustedMetadata::update_timestamp`].
    Timestamp(Cow<'a, [u8]>, Origin),
    /// [`TrustedMetadata::update_snapshot`].
    Snapshot(Cow<'a, [u8]>, Origin),
    /// [`TrustedMetadata::update_targets`].
    Targets {
        role: Cow<'a, str>,
        delegator: Cow<'a, str>,
        bytes: Cow<'a, [u8]>,
        origin: Origin,
    },
    /// [`TrustedMetadata::verify_delegation`].
    Delegation {
        role: Cow<'a, str>,
        delegator: Cow<'a, str>,
    },
}

impl Step<'_> {
    /// Runs this update on `set`. Anything but a timestamp reports `Updated`.
    pub(super) fn run(&self, set: &mut TrustedMetadata) -> Result<TimestampUpdate, TrustError> {
        match self {
            Step::Root(bytes) => set.update_root(bytes).map(|()| TimestampUpdate::Updated),
            Step::Timestamp(bytes, origin) => set.update_timestamp(bytes, *origin),
            Step::Snapshot(bytes, origin) => set
                .update_snapshot(bytes, *origin)
                .map(|()| TimestampUpdate::Updated),
            Step::Targets {
                role,
                delegator,
                bytes,
                origin,
            } => set
                .update_targets(role, delegator, bytes, *origin)
                .map(|()| TimestampUpdate::Updated),
            Step::Delegation { role, delegator } => set
                .verify_delegation(role, delegator)
                .map(|()| TimestampUpdate::Updated),
        }
    }
}
