//! The trusted metadata set: every security decision about metadata, and nothing else.
//!
//! [`TrustedMetadata`] is a pure state machine. It takes the bytes of one metadata
//! file at a time, plus a reference time fixed when the set is created, and either
//! accepts them (updating its state) or rejects them with a [`TrustError`] that says
//! which rule of the client workflow (specification section 5) was broken. It does
//! no IO and reads no clock, so every rule is testable with plain bytes.
//!
//! The order of the workflow is enforced: root, then timestamp, then snapshot, then
//! targets and delegated targets. Calling out of order is a caller bug
//! ([`TrustError::OutOfOrder`]), never confused with an attack. Once metadata from the
//! repository has been rejected, the set is poisoned and refuses further updates, so
//! a caller cannot carry on with half-verified state by ignoring an error.
//! Rejections of *cached* metadata (from the local store) do not poison: the
//! workflow tolerates stale or damaged cache files and fetches fresh ones instead.

mod error;
mod threshold;
mod verified_parse;

pub use error::TrustError;
pub use threshold::verify_threshold;

use verified_parse::{parse, parse_and_verify};

use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

use crate::integrity::IntegrityCheck;
use crate::metadata::{
    canonical_json, Envelope, Key, KeyId, MetaFile, RoleKeys, RoleType, Root, Signature, Snapshot,
    Targets, Timestamp,
};

/// Where the bytes offered to the trusted set come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The local store: verified before, but possibly stale or damaged. A rejection
    /// does not poison the set.
    Cache,
    /// The repository (network or mirror). A rejection poisons the set.
    Repository,
}

/// What an accepted timestamp changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampUpdate {
    /// A newer timestamp was accepted.
    Updated,
    /// The repository's timestamp has the version already trusted: nothing changed
    /// (spec 5.4.3.2), and the trusted one stays.
    Unchanged,
}

/// The name of the role that delegates to the top-level targets role.
pub const ROOT_DELEGATOR: &str = "root";

/// Verified targets metadata, with the delegators it has been verified under.
#[derive(Debug, Clone)]
struct TrustedTargets {
    signed: Targets,
    signatures: Vec<Signature>,
    /// What the signatures cover, kept for a delegated role: another delegator on
    /// a later search path may have to vouch for it ([`TrustedMetadata::verify_delegation`]).
    /// Not kept for the top-level role, which root alone delegates: a large
    /// `targets.json` is then held once, typed, not also as bytes.
    canonical_signed: Option<Vec<u8>>,
    verified_by: BTreeSet<String>,
}

/// The set of metadata trusted so far in one refresh (spec 5.1 to 5.6).
///
/// `Clone` gives a checkpoint: a client with several mirrors offers one mirror's
/// bytes to the set and, if they are rejected, restores the checkpoint to offer the
/// next mirror's, so every copy meets exactly the same rules from the same state.
#[derive(Debug, Clone)]
pub struct TrustedMetadata {
    now: OffsetDateTime,
    root: Envelope<Root>,
    timestamp: Option<Envelope<Timestamp>>,
    snapshot: Option<Envelope<Snapshot>>,
    targets: BTreeMap<String, TrustedTargets>,
    poisoned: bool,
}

impl TrustedMetadata {
    /// Starts from a trusted root (spec 5.2), evaluating expiry at `now` throughout.
    ///
    /// The root must be signed by a threshold of its own root keys. Its expiry is
    /// not checked here: an expired root may still be the start of a rotation chain
    /// (spec 5.3.10 checks expiry after the chain).
    ///
    /// # Errors
    /// [`TrustError::Malformed`] or [`TrustError::ThresholdNotMet`].
    pub fn new(root_bytes: &[u8], now: OffsetDateTime) -> Result<Self, TrustError> {
        let root = parse::<Root>(RoleType::Root.as_str(), root_bytes)?;
        let root_keys = role_keys_of(&root.signed, RoleType::Root);
        verify_threshold(
            "root",
            &root.canonical_signed,
            &root.signatures,
            &root.signed.keys,
            &root_keys,
        )?;
        Ok(TrustedMetadata {
            now,
            root: root.into_owned(),
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
            poisoned: false,
        })
    }

    /// The reference time all expiry checks use.
    pub fn reference_time(&self) -> OffsetDateTime {
        self.now
    }

    /// The trusted root.
    pub fn root(&self) -> &Root {
        &self.root.signed
    }

    /// The trusted timestamp, if one has been accepted.
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref().map(|e| &e.signed)
    }

    /// The trusted snapshot, if one has been accepted.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref().map(|e| &e.signed)
    }

    /// Targets metadata of `role`, if it has been accepted.
    pub fn targets(&self, role: &str) -> Option<&Targets> {
        self.targets.get(role).map(|t| &t.signed)
    }

    /// True after metadata from the repository has been rejected.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Runs `f`; on a rejection of repository bytes, poisons the set.
    fn guarded<T>(
        &mut self,
        origin: Origin,
        f: impl FnOnce(&mut Self) -> Result<T, TrustError>,
    ) -> Result<T, TrustError> {
        if self.poisoned {
            return Err(TrustError::Poisoned);
        }
        let result = f(self);
        if let Err(e) = &result {
            if origin == Origin::Repository && !e.is_caller_error() {
                self.poisoned = true;
            }
        }
        result
    }

    /// Accepts root version N+1 from the repository (spec 5.3.4 to 5.3.7): signed by a
    /// threshold of the trusted root's root keys *and* of its own, with version
    /// exactly one above the trusted root.
    ///
    /// # Errors
    /// [`TrustError::OutOfOrder`] after a timestamp has been loaded; otherwise
    /// [`TrustError::Malformed`], [`TrustError::ThresholdNotMet`] or
    /// [`TrustError::BadVersion`].
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), TrustError> {
        if self.timestamp.is_some() {
            return Err(TrustError::OutOfOrder(
                "root cannot be updated after timestamp",
            ));
        }
        self.guarded(Origin::Repository, |set| {
            let new = parse::<Root>("root", bytes)?;
            let old = &set.root.signed;
            verify_threshold(
                "root",
                &new.canonical_signed,
                &new.signatures,
                &old.keys,
                &role_keys_of(old, RoleType::Root),
            )
            .map_err(|e| e.signed_by("the trusted root"))?;
            verify_threshold(
                "root",
                &new.canonical_signed,
                &new.signatures,
                &new.signed.keys,
                &role_keys_of(&new.signed, RoleType::Root),
            )
            .map_err(|e| e.signed_by("the new root itself"))?;
            // A trusted root at u64::MAX can never be succeeded: no version is N+1.
            let expected = old
                .common
                .version
                .checked_add(1)
                .ok_or(TrustError::BadVersion {
                    role: "root".into(),
                    expected: u64::MAX,
                    found: new.signed.common.version,
                })?;
            if new.signed.common.version != expected {
                return Err(TrustError::BadVersion {
                    role: "root".into(),
                    expected,
                    found: new.signed.common.version,
                });
            }
            set.root = new.into_owned();
            Ok(())
        })
    }

    /// Checks the final root of the chain for expiry (spec 5.3.10).
    fn check_root_fresh(&self) -> Result<(), TrustError> {
        expiry_check("root", &self.root.signed.common, self.now)
    }

    /// Accepts timestamp metadata (spec 5.4).
    ///
    /// Checks the final root's expiry, the timestamp keys' threshold, that neither the
    /// timestamp version nor the snapshot version it lists goes back, and expiry. An
    /// equal version leaves the trusted timestamp in place ([`TimestampUpdate::Unchanged`];
    /// its expiry is checked when the snapshot is loaded). A newer, verified but expired
    /// timestamp is still kept for rollback checks, and the call fails with
    /// [`TrustError::Expired`].
    ///
    /// # Errors
    /// [`TrustError::OutOfOrder`] after snapshot; otherwise the rule broken.
    pub fn update_timestamp(
        &mut self,
        bytes: &[u8],
        origin: Origin,
    ) -> Result<TimestampUpdate, TrustError> {
        if self.snapshot.is_some() {
            return Err(TrustError::OutOfOrder(
                "timestamp cannot be updated after snapshot",
            ));
        }
        self.guarded(origin, |set| {
            set.check_root_fresh()?;
            let root = &set.root.signed;
            let role_keys = role_keys_of(root, RoleType::Timestamp);
            let new = parse_and_verify::<Timestamp>("timestamp", bytes, &root.keys, &role_keys)?;
            if let Some(old) = &set.timestamp {
                let (old_v, new_v) = (old.signed.common.version, new.signed.common.version);
                if new_v < old_v {
                    return Err(TrustError::Rollback {
                        role: "timestamp".into(),
                        trusted: old_v,
                        found: new_v,
                    });
                }
                if new_v == old_v {
                    return Ok(TimestampUpdate::Unchanged);
                }
                let (old_s, new_s) = (
                    old.signed.snapshot_meta().version,
                    new.signed.snapshot_meta().version,
                );
                if new_s < old_s {
                    return Err(TrustError::Rollback {
                        role: "snapshot (as listed in timestamp)".into(),
                        trusted: old_s,
                        found: new_s,
                    });
                }
            }
            set.timestamp = Some(new.into_owned());
            set.check_timestamp_fresh()?;
            Ok(TimestampUpdate::Updated)
        })
    }

    fn check_timestamp_fresh(&self) -> Result<(), TrustError> {
        match &self.timestamp {
            Some(ts) => expiry_check("timestamp", &ts.signed.common, self.now),
            None => Err(TrustError::OutOfOrder("no timestamp has been loaded")),
        }
    }

    /// Accepts snapshot metadata (spec 5.5).
    ///
    /// Bytes from the repository must match the length and hashes the timestamp lists.
    /// Cached bytes skip that check, so that an older cached snapshot can still serve
    /// for rollback protection. Then: snapshot keys' threshold; when a snapshot is
    /// already trusted, no role it lists may disappear or go back in version. The
    /// snapshot is kept even if the final checks fail (version equal to the one the
    /// timestamp lists, not expired), again for rollback protection of the next one.
    ///
    /// # Errors
    /// [`TrustError::OutOfOrder`] without timestamp or after targets; otherwise the
    /// rule broken.
    pub fn update_snapshot(&mut self, bytes: &[u8], origin: Origin) -> Result<(), TrustError> {
        if self.timestamp.is_none() {
            return Err(TrustError::OutOfOrder(
                "snapshot cannot be loaded before timestamp",
            ));
        }
        if !self.targets.is_empty() {
            return Err(TrustError::OutOfOrder(
                "snapshot cannot be updated after targets",
            ));
        }
        self.guarded(origin, |set| {
            set.check_timestamp_fresh()?;
            let meta = set.timestamp_snapshot_meta()?.clone();
            if origin == Origin::Repository {
                check_integrity("snapshot", bytes, &meta)?;
            }
            let root = &set.root.signed;
            let role_keys = role_keys_of(root, RoleType::Snapshot);
            let new = parse_and_verify::<Snapshot>("snapshot", bytes, &root.keys, &role_keys)?;
            if let Some(old) = &set.snapshot {
                for (name, old_meta) in &old.signed.meta {
                    let Some(new_meta) = new.signed.meta.get(name) else {
                        return Err(TrustError::RoleRemoved { file: name.clone() });
                    };
                    if new_meta.version < old_meta.version {
                        return Err(TrustError::Rollback {
                            role: format!("{name} (as listed in snapshot)"),
                            trusted: old_meta.version,
                            found: new_meta.version,
                        });
                    }
                }
            }
            set.snapshot = Some(new.into_owned());
            set.check_snapshot_final()
        })
    }

    fn timestamp_snapshot_meta(&self) -> Result<&MetaFile, TrustError> {
        self.timestamp
            .as_ref()
            .map(|t| t.signed.snapshot_meta())
            .ok_or(TrustError::OutOfOrder("no timestamp has been loaded"))
    }

    /// Spec 5.5.4 and 5.5.6, checked whenever the snapshot is relied on.
    fn check_snapshot_final(&self) -> Result<(), TrustError> {
        let Some(snapshot) = &self.snapshot else {
            return Err(TrustError::OutOfOrder("no snapshot has been loaded"));
        };
        expiry_check("snapshot", &snapshot.signed.common, self.now)?;
        let expected = self.timestamp_snapshot_meta()?.version;
        let found = snapshot.signed.common.version;
        if found != expected {
            return Err(TrustError::BadVersion {
                role: "snapshot".into(),
                expected,
                found,
            });
        }
        Ok(())
    }

    /// What the trusted snapshot lists for targets `role` (spec 5.6.1): version, and
    /// length and hashes when given. A role snapshot does not list cannot be loaded.
    ///
    /// # Errors
    /// [`TrustError::MissingFromSnapshot`], or [`TrustError::OutOfOrder`] without a snapshot.
    pub fn targets_meta(&self, role: &str) -> Result<&MetaFile, TrustError> {
        let snapshot = self
            .snapshot
            .as_ref()
            .ok_or(TrustError::OutOfOrder("no snapshot has been loaded"))?;
        snapshot
            .signed
            .meta
            .get(&format!("{role}.json"))
            .ok_or_else(|| TrustError::MissingFromSnapshot { role: role.into() })
    }

    /// Accepts the top-level targets role or a delegated targets role (spec 5.6).
    ///
    /// `delegator` is the role that led to `role` in the current search: `"root"` for
    /// the top-level `targets`, otherwise a targets role already accepted. The bytes
    /// must match the length and hashes snapshot lists, carry a threshold of the
    /// signatures the delegator requires, have exactly the version snapshot lists,
    /// and not be expired.
    ///
    /// # Errors
    /// [`TrustError::OutOfOrder`] without a snapshot or an unknown delegator; otherwise
    /// the rule broken, including [`TrustError::NotDelegated`].
    pub fn update_targets(
        &mut self,
        role: &str,
        delegator: &str,
        bytes: &[u8],
        origin: Origin,
    ) -> Result<(), TrustError> {
        if self.snapshot.is_none() {
            return Err(TrustError::OutOfOrder(
                "targets cannot be loaded before snapshot",
            ));
        }
        if self.targets.contains_key(role) {
            return Err(TrustError::OutOfOrder(
                "this targets role has been accepted already; use verify_delegation",
            ));
        }
        self.guarded(origin, |set| {
            let (keys, role_keys) = set.delegation_keys(role, delegator)?;
            set.check_snapshot_final()?;
            let meta = set.targets_meta(role)?.clone();
            check_integrity(role, bytes, &meta)?;
            let new = parse_and_verify::<Targets>(role, bytes, &keys, &role_keys)
                .map_err(|e| e.signed_by(&format!("delegator {delegator:?}")))?;
            if new.signed.common.version != meta.version {
                return Err(TrustError::BadVersion {
                    role: role.into(),
                    expected: meta.version,
                    found: new.signed.common.version,
                });
            }
            expiry_check(role, &new.signed.common, set.now)?;
            set.targets.insert(
                role.to_string(),
                TrustedTargets {
                    canonical_signed: (delegator != ROOT_DELEGATOR)
                        .then(|| new.canonical_signed.into_owned()),
                    signed: new.signed,
                    signatures: new.signatures,
                    verified_by: BTreeSet::from([delegator.to_string()]),
                },
            );
            Ok(())
        })
    }

    /// Confirms that an already accepted targets `role` is also trusted through
    /// `delegator`: its signatures must meet the threshold *this* delegator sets.
    /// Metadata first reached through one delegator is never trusted through another
    /// on that basis alone.
    ///
    /// # Errors
    /// [`TrustError::NotDelegated`], [`TrustError::ThresholdNotMet`], or
    /// [`TrustError::OutOfOrder`] if the role or delegator is not loaded.
    pub fn verify_delegation(&mut self, role: &str, delegator: &str) -> Result<(), TrustError> {
        if !self.targets.contains_key(role) {
            return Err(TrustError::OutOfOrder("targets role has not been loaded"));
        }
        self.guarded(Origin::Repository, |set| {
            let (keys, role_keys) = set.delegation_keys(role, delegator)?;
            let Some(trusted) = set.targets.get_mut(role) else {
                return Err(TrustError::OutOfOrder("targets role has not been loaded"));
            };
            if trusted.verified_by.contains(delegator) {
                return Ok(());
            }
            // Only the top-level role has no canonical bytes kept, and only root
            // delegates it (delegated roles cannot be named `targets`).
            let Some(canonical) = trusted.canonical_signed.as_deref() else {
                return Err(TrustError::NotDelegated {
                    role: role.into(),
                    delegator: delegator.into(),
                });
            };
            verify_threshold(role, canonical, &trusted.signatures, &keys, &role_keys)
                .map_err(|e| e.signed_by(&format!("delegator {delegator:?}")))?;
            trusted.verified_by.insert(delegator.to_string());
            Ok(())
        })
    }

    /// The keys and threshold `delegator` assigns to `role`.
    fn delegation_keys(
        &self,
        role: &str,
        delegator: &str,
    ) -> Result<(BTreeMap<KeyId, Key>, RoleKeys), TrustError> {
        if delegator == ROOT_DELEGATOR {
            if role != RoleType::Targets.as_str() {
                return Err(TrustError::NotDelegated {
                    role: role.into(),
                    delegator: delegator.into(),
                });
            }
            let root = &self.root.signed;
            return Ok((root.keys.clone(), role_keys_of(root, RoleType::Targets)));
        }
        let Some(parent) = self.targets.get(delegator) else {
            return Err(TrustError::OutOfOrder(
                "a delegator must be accepted before the roles it delegates to",
            ));
        };
        let delegations = parent.signed.delegations.as_ref();
        delegations
            .and_then(|d| d.role_keys(role).map(|rk| (d.keys.clone(), rk)))
            .ok_or_else(|| TrustError::NotDelegated {
                role: role.into(),
                delegator: delegator.into(),
            })
    }
}

fn role_keys_of(root: &Root, role: RoleType) -> RoleKeys {
    // Root::validate guarantees every top-level role is present.
    root.role(role).cloned().unwrap_or(RoleKeys {
        keyids: vec![],
        threshold: u64::MAX,
        unrecognized: Default::default(),
    })
}

fn expiry_check(
    role: &str,
    common: &crate::metadata::Common,
    now: OffsetDateTime,
) -> Result<(), TrustError> {
    if common.is_expired(now) {
        return Err(TrustError::Expired {
            role: role.into(),
            version: common.version,
            expires: common.expires.clone(),
        });
    }
    Ok(())
}

fn check_integrity(role: &str, bytes: &[u8], meta: &MetaFile) -> Result<(), TrustError> {
    IntegrityCheck::check_bytes(bytes, meta.length, meta.hashes.as_ref()).map_err(|source| {
        TrustError::Integrity {
            role: role.into(),
            source,
        }
    })
}

/// True when `role`'s keys or threshold differ between two roots: spec 5.3.11 then
/// asks to discard the trusted timestamp and snapshot (fast-forward recovery).
pub fn role_keys_changed(old: &Root, new: &Root, role: RoleType) -> bool {
    let (Some(old_keys), Some(new_keys)) = (old.role(role), new.role(role)) else {
        return true;
    };
    let key_set = |root: &Root, rk: &RoleKeys| -> BTreeSet<(String, Option<String>)> {
        rk.keyids
            .iter()
            .map(|id| {
                let key = root.keys.get(id).and_then(|k| canonical_json(k).ok());
                (id.clone(), key)
            })
            .collect()
    };
    old_keys.threshold != new_keys.threshold || key_set(old, old_keys) != key_set(new, new_keys)
}

#[cfg(test)]
mod tests;
