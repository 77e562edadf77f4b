//! Writing a TUF repository: sign roles and publish a static directory laid out as
//! clients fetch it.
//!
//! Publishing writes files in an order that never exposes a client to a half
//! published state: target files first, then targets metadata, then snapshot, and
//! the timestamp last. Until the new timestamp is in place, clients see the previous
//! release, whose files are all still there; every write is atomic.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use updater::integrity::sha256_hex;
use updater::metadata::{
    canonical_bytes, format_expiry, to_envelope_json, Common, MetaFile, RoleKeys, Root, Signature,
    Snapshot, Targets, Timestamp, SPEC_VERSION,
};
use updater::store::{encode_name, write_atomic};

use crate::ops::{check_target_path, target_file};
use crate::signer::{KeyError, Signer};

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

/// The signers of each top-level role.
pub struct RoleSigners<'a> {
    /// Root keys.
    pub root: Vec<&'a dyn Signer>,
    /// Targets keys.
    pub targets: Vec<&'a dyn Signer>,
    /// Snapshot keys.
    pub snapshot: Vec<&'a dyn Signer>,
    /// Timestamp keys (the online key a cron job uses).
    pub timestamp: Vec<&'a dyn Signer>,
}

/// How long each role's metadata stays valid after it is signed.
#[derive(Debug, Clone, Copy)]
pub struct Expiries {
    /// Root.
    pub root: Duration,
    /// Targets.
    pub targets: Duration,
    /// Snapshot.
    pub snapshot: Duration,
    /// Timestamp.
    pub timestamp: Duration,
}

impl Default for Expiries {
    fn default() -> Self {
        Expiries {
            root: Duration::days(365),
            targets: Duration::days(90),
            snapshot: Duration::days(7),
            timestamp: Duration::days(1),
        }
    }
}

/// A repository being built: the four top-level roles and the target files.
pub struct Repository {
    /// The root (version 1 after [`Repository::create`]).
    pub root: Root,
    /// Top-level targets.
    pub targets: Targets,
    /// Snapshot.
    pub snapshot: Snapshot,
    /// Timestamp.
    pub timestamp: Timestamp,
    /// Lifetimes of newly signed metadata.
    pub expiries: Expiries,
    files: BTreeMap<String, Vec<u8>>,
    targets_changed: bool,
    published: bool,
}

fn common(role: &str, expires: OffsetDateTime) -> Common {
    Common {
        type_: role.into(),
        spec_version: SPEC_VERSION.into(),
        version: 1,
        expires: format_expiry(expires),
    }
}

/// Signs a `signed` object with every signer, into a metadata file.
///
/// # Errors
/// [`RepoError::Key`] when a signer fails.
pub fn sign_metadata<T: Serialize>(
    signed: &T,
    signers: &[&dyn Signer],
) -> Result<Vec<u8>, RepoError> {
    let canonical =
        canonical_bytes(signed).map_err(|e| RepoError::Invalid(format!("canonical JSON: {e}")))?;
    let signatures = signers
        .iter()
        .map(|s| {
            Ok(Signature {
                keyid: s.key_id().clone(),
                sig: hex::encode(s.sign(&canonical)?),
                unrecognized: Default::default(),
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    to_envelope_json(signed, &signatures).map_err(|e| RepoError::Invalid(e.to_string()))
}

impl Repository {
    /// A new repository whose roles use the given signers' keys, each role with
    /// threshold `thresholds[role]` (1 where absent). Consistent snapshots are on.
    ///
    /// # Errors
    /// [`RepoError::Invalid`] for a threshold of 0 or above the number of keys.
    pub fn create(
        signers: &RoleSigners<'_>,
        thresholds: &BTreeMap<&str, u64>,
        now: OffsetDateTime,
    ) -> Result<Repository, RepoError> {
        let expiries = Expiries::default();
        let mut root = Root {
            common: common("root", now + expiries.root),
            consistent_snapshot: true,
            keys: BTreeMap::new(),
            roles: BTreeMap::new(),
            unrecognized: Default::default(),
        };
        for (role, keys) in [
            ("root", &signers.root),
            ("targets", &signers.targets),
            ("snapshot", &signers.snapshot),
            ("timestamp", &signers.timestamp),
        ] {
            let threshold = thresholds.get(role).copied().unwrap_or(1);
            if threshold == 0 || threshold > keys.len() as u64 {
                return Err(RepoError::Invalid(format!(
                    "{role} threshold {threshold} cannot be met by its {} key(s)",
                    keys.len()
                )));
            }
            for k in keys {
                root.keys.insert(k.key_id().clone(), k.public_key().clone());
            }
            root.roles.insert(
                role.into(),
                RoleKeys {
                    keyids: keys.iter().map(|k| k.key_id().clone()).collect(),
                    threshold,
                    unrecognized: Default::default(),
                },
            );
        }
        Ok(Repository {
            root,
            targets: Targets {
                common: common("targets", now + expiries.targets),
                targets: BTreeMap::new(),
                delegations: None,
                unrecognized: Default::default(),
            },
            snapshot: Snapshot {
                common: common("snapshot", now + expiries.snapshot),
                meta: BTreeMap::new(),
                unrecognized: Default::default(),
            },
            timestamp: Timestamp {
                common: common("timestamp", now + expiries.timestamp),
                meta: BTreeMap::new(),
                unrecognized: Default::default(),
            },
            expiries,
            files: BTreeMap::new(),
            targets_changed: true,
            published: false,
        })
    }

    /// Adds (or replaces) a target with its content and optional custom metadata.
    ///
    /// # Errors
    /// [`RepoError::Invalid`] for paths that are empty, absolute, or contain `.`/`..`
    /// segments (they could escape the targets directory).
    pub fn add_target(
        &mut self,
        path: &str,
        content: Vec<u8>,
        custom: Option<Value>,
    ) -> Result<(), RepoError> {
        check_target_path(path)?;
        self.targets
            .targets
            .insert(path.into(), target_file(&content, custom));
        self.files.insert(path.into(), content);
        self.targets_changed = true;
        Ok(())
    }

    /// Signs what changed and publishes into `out` (`out/metadata`, `out/targets`),
    /// in the order target files, targets, snapshot, timestamp.
    ///
    /// # Errors
    /// [`RepoError::ThresholdNotMet`] when a role has fewer signers than its
    /// threshold (nothing is written then), signer and IO errors.
    pub fn publish(
        &mut self,
        out: &Path,
        signers: &RoleSigners<'_>,
        now: OffsetDateTime,
    ) -> Result<(), RepoError> {
        for (role, keys) in [
            ("root", &signers.root),
            ("targets", &signers.targets),
            ("snapshot", &signers.snapshot),
            ("timestamp", &signers.timestamp),
        ] {
            let threshold = self.root.roles.get(role).map_or(1, |r| r.threshold);
            if (keys.len() as u64) < threshold {
                return Err(RepoError::ThresholdNotMet {
                    role: role.into(),
                    threshold,
                    available: keys.len(),
                });
            }
        }
        let metadata_dir = out.join("metadata");
        let targets_dir = out.join("targets");
        for dir in [&metadata_dir, &targets_dir] {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        if !self.published {
            let bytes = sign_metadata(&self.root, &signers.root)?;
            write(
                &metadata_dir.join(format!("{}.root.json", self.root.common.version)),
                &bytes,
            )?;
            write(&metadata_dir.join("root.json"), &bytes)?;
        }
        if self.targets_changed {
            crate::target_files::write_many(
                &targets_dir,
                self.files.iter().map(|(path, content)| {
                    (
                        path.as_str(),
                        content.as_slice(),
                        &self.targets.targets[path],
                    )
                }),
            )?;
            if self.published {
                self.targets.common.version += 1;
            }
            self.targets.common.expires = format_expiry(now + self.expiries.targets);
            let bytes = sign_metadata(&self.targets, &signers.targets)?;
            write(
                &metadata_dir.join(format!(
                    "{}.{}.json",
                    self.targets.common.version,
                    encode_name("targets")
                )),
                &bytes,
            )?;
            self.snapshot.meta.insert(
                "targets.json".into(),
                MetaFile {
                    version: self.targets.common.version,
                    length: None,
                    hashes: None,
                    unrecognized: Default::default(),
                },
            );
            self.targets_changed = false;
        }
        if self.published {
            self.snapshot.common.version += 1;
        }
        self.snapshot.common.expires = format_expiry(now + self.expiries.snapshot);
        let snapshot = sign_metadata(&self.snapshot, &signers.snapshot)?;
        write(
            &metadata_dir.join(format!("{}.snapshot.json", self.snapshot.common.version)),
            &snapshot,
        )?;
        if self.published {
            self.timestamp.common.version += 1;
        }
        self.timestamp.common.expires = format_expiry(now + self.expiries.timestamp);
        self.timestamp.meta = BTreeMap::from([(
            "snapshot.json".into(),
            MetaFile {
                version: self.snapshot.common.version,
                length: Some(snapshot.len() as u64),
                hashes: Some(updater::metadata::Hashes::from([(
                    "sha256".into(),
                    sha256_hex(&snapshot),
                )])),
                unrecognized: Default::default(),
            },
        )]);
        let timestamp = sign_metadata(&self.timestamp, &signers.timestamp)?;
        write(&metadata_dir.join("timestamp.json"), &timestamp)?;
        self.published = true;
        Ok(())
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), RepoError> {
    write_atomic(path, bytes).map_err(io_error(path))
}
