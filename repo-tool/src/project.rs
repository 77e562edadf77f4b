//! A repository directory managed by repo-tool: staged metadata being signed, and
//! the published tree clients fetch.
//!
//! ```text
//! REPO/repo-tool.json          settings (expiry per role, consistent snapshots)
//! REPO/staged/ROLE.json        metadata awaiting signatures (root, targets, delegated roles)
//! REPO/published/metadata/     N.root.json, N.targets.json, N.snapshot.json, timestamp.json, ...
//! REPO/published/targets/      hash-prefixed target files
//! ```
//!
//! Each key holder can sign a copy of the directory on their own machine, or emit a
//! detached signature that is merged later. Signatures are checked with the same
//! threshold function clients run ([`updater::trust::verify_threshold`]), so a
//! repository is only published when clients will accept it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use updater::metadata::{
    canonical_bytes, format_expiry, Envelope, Key, KeyId, RoleKeys, Root, Signature, SignedCommon,
    Snapshot, Targets, Timestamp,
};
use updater::store::{encode_name, write_atomic};
use updater::trust::{verify_threshold, TrustError};

use crate::error::RepoError;
use crate::signer::Signer;

/// Settings kept in `repo-tool.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Days each role's metadata stays valid after signing.
    pub expiry_days: BTreeMap<String, i64>,
    /// Hours, for roles that must expire sooner than a day (a rollout role, so a
    /// halt reaches every client within hours); takes precedence over days.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expiry_hours: BTreeMap<String, i64>,
    /// Version- and hash-prefixed file names (on by default).
    pub consistent_snapshot: bool,
    /// List the length and sha256 of every targets metadata file in the snapshot,
    /// not only its version (on by default): a holder of a targets or bin key alone
    /// can then not give clients another file under a version the snapshot lists.
    /// Costs about 95 bytes of snapshot per role (docs/benchmarks.md).
    #[serde(default = "yes")]
    pub snapshot_hashes: bool,
}

fn yes() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            expiry_days: BTreeMap::from([
                ("root".into(), 365),
                ("targets".into(), 90),
                ("snapshot".into(), 7),
                ("timestamp".into(), 1),
            ]),
            expiry_hours: BTreeMap::new(),
            consistent_snapshot: true,
            snapshot_hashes: true,
        }
    }
}

impl Settings {
    /// The expiry of metadata of `role` signed at `now`: its hours if set, else its
    /// days (delegated roles without either use `targets`).
    pub fn expiry(&self, role: &str, now: OffsetDateTime) -> String {
        if let Some(hours) = self.expiry_hours.get(role) {
            return format_expiry(now + Duration::hours(*hours));
        }
        let key = if self.expiry_days.contains_key(role) {
            role
        } else {
            "targets"
        };
        let days = self.expiry_days.get(key).copied().unwrap_or(30);
        format_expiry(now + Duration::days(days))
    }
}

/// Metadata as stored while it collects signatures: the `signed` part and signatures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedFile<T> {
    /// The signed part.
    pub signed: T,
    /// Signatures collected so far.
    pub signatures: Vec<Signature>,
}

/// A detached signature, made on one machine and merged on another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetachedSignature {
    /// The role signed.
    pub role: String,
    /// The version signed.
    pub version: u64,
    /// SHA-256 of the canonical bytes signed, so a signature is never merged into
    /// different content.
    pub signed_sha256: String,
    /// The signature itself.
    pub signature: Signature,
}

/// Keys that must sign a staged role, and how many of them.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// Whose keys these are, for messages ("its own keys", "the keys of root v3").
    pub who: String,
    /// Key id to public key.
    pub keys: BTreeMap<KeyId, Key>,
    /// Authorised key ids and threshold.
    pub role_keys: RoleKeys,
}

/// A repository directory.
pub struct Project {
    dir: PathBuf,
    /// Its settings.
    pub settings: Settings,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, RepoError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|e| RepoError::Invalid(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

impl Project {
    /// The settings file name.
    pub const SETTINGS: &'static str = "repo-tool.json";

    /// Creates the directory layout with `settings`.
    ///
    /// # Errors
    /// [`RepoError::Invalid`] if `dir` already holds a repository; IO errors.
    pub fn create(dir: &Path, settings: Settings) -> Result<Project, RepoError> {
        if dir.join(Self::SETTINGS).exists() {
            return Err(RepoError::Invalid(format!(
                "{} already holds a repository ({} exists)",
                dir.display(),
                Self::SETTINGS
            )));
        }
        for sub in ["staged", "published/metadata", "published/targets"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).map_err(io(&path))?;
        }
        let path = dir.join(Self::SETTINGS);
        write_atomic(&path, &to_json(&settings)?).map_err(io(&path))?;
        Ok(Project {
            dir: dir.to_path_buf(),
            settings,
        })
    }

    /// Replaces the settings, atomically.
    ///
    /// # Errors
    /// IO errors.
    pub fn save_settings(&mut self, settings: Settings) -> Result<(), RepoError> {
        let path = self.dir.join(Self::SETTINGS);
        write_atomic(&path, &to_json(&settings)?).map_err(io(&path))?;
        self.settings = settings;
        Ok(())
    }

    /// Opens an existing repository directory.
    ///
    /// # Errors
    /// [`RepoError::Invalid`] when `dir` is not a repository.
    pub fn open(dir: &Path) -> Result<Project, RepoError> {
        let path = dir.join(Self::SETTINGS);
        let bytes = std::fs::read(&path).map_err(|e| {
            RepoError::Invalid(format!(
                "{} is not a repository: cannot read {}: {e} (create one with `repo-tool init`)",
                dir.display(),
                path.display()
            ))
        })?;
        let settings = serde_json::from_slice(&bytes)
            .map_err(|e| RepoError::Invalid(format!("{}: {e}", path.display())))?;
        Ok(Project {
            dir: dir.to_path_buf(),
            settings,
        })
    }

    /// The repository directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `published/metadata`.
    pub fn metadata_dir(&self) -> PathBuf {
        self.dir.join("published/metadata")
    }

    /// `published/targets`.
    pub fn targets_dir(&self) -> PathBuf {
        self.dir.join("published/targets")
    }

    fn staged_path(&self, role: &str) -> PathBuf {
        self.dir
            .join("staged")
            .join(format!("{}.json", encode_name(role)))
    }

    /// The staged metadata of `role`, if any.
    ///
    /// # Errors
    /// IO or parse errors naming the file.
    pub fn staged<T: DeserializeOwned>(
        &self,
        role: &str,
    ) -> Result<Option<StagedFile<T>>, RepoError> {
        read_json(&self.staged_path(role))
    }

    /// Stores staged metadata of `role`, atomically.
    ///
    /// # Errors
    /// IO errors.
    pub fn stage<T: Serialize>(&self, role: &str, file: &StagedFile<T>) -> Result<(), RepoError> {
        let path = self.staged_path(role);
        write_atomic(&path, &to_json(file)?).map_err(io(&path))
    }

    /// Removes staged metadata of `role` after it was published.
    ///
    /// # Errors
    /// IO errors other than "not found".
    pub fn unstage(&self, role: &str) -> Result<(), RepoError> {
        let path = self.staged_path(role);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
            _ => Ok(()),
        }
    }

    /// Names of every staged role.
    ///
    /// # Errors
    /// IO errors.
    pub fn staged_roles(&self) -> Result<Vec<String>, RepoError> {
        let dir = self.dir.join("staged");
        let mut roles = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let name = entry.map_err(io(&dir))?.file_name();
            let name = name.to_string_lossy();
            if let Some(encoded) = name.strip_suffix(".json") {
                let role = percent_encoding::percent_decode_str(encoded)
                    .decode_utf8_lossy()
                    .into_owned();
                roles.push(role);
            }
        }
        roles.sort();
        Ok(roles)
    }

    /// The latest published metadata of `role` (the unversioned copy), parsed and
    /// checked for shape, if the role has been published.
    ///
    /// # Errors
    /// IO or parse errors naming the file.
    pub fn published<T: DeserializeOwned + SignedCommon>(
        &self,
        role: &str,
    ) -> Result<Option<Envelope<T>>, RepoError> {
        let path = self
            .metadata_dir()
            .join(format!("{}.json", encode_name(role)));
        match std::fs::read(&path) {
            Ok(bytes) => Envelope::<T>::from_slice(&bytes)
                .map(Some)
                .map_err(|e| RepoError::Invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// The root in force for signing decisions: staged if any, else published.
    ///
    /// # Errors
    /// [`RepoError::Invalid`] when there is neither.
    pub fn current_root(&self) -> Result<Root, RepoError> {
        if let Some(staged) = self.staged::<Root>("root")? {
            return Ok(staged.signed);
        }
        self.published::<Root>("root")?
            .map(|e| e.signed)
            .ok_or_else(|| {
                RepoError::Invalid("the repository has no root yet (run `repo-tool init`)".into())
            })
    }

    /// The keys and threshold that must sign `role`'s new metadata, together with the
    /// key map to look them up in. For root, the *new* root's own keys; the previous
    /// root's threshold is checked separately by [`Project::signing_requirements`].
    ///
    /// # Errors
    /// [`RepoError::Invalid`] for unknown roles.
    pub fn role_keys(&self, role: &str) -> Result<(BTreeMap<KeyId, Key>, RoleKeys), RepoError> {
        let root = self.current_root()?;
        if let Some(keys) = root.roles.get(role) {
            return Ok((root.keys.clone(), keys.clone()));
        }
        let delegations = self.current_targets()?.and_then(|t| t.delegations);
        if let Some(d) = delegations {
            if let Some(rk) = d.role_keys(role) {
                return Ok((d.keys.clone(), rk));
            }
        }
        Err(RepoError::Invalid(format!(
            "unknown role {role:?}: neither a top-level role nor delegated by targets"
        )))
    }

    /// The top-level targets in force: staged if any, else published, else none.
    ///
    /// # Errors
    /// IO or parse errors.
    pub fn current_targets(&self) -> Result<Option<Targets>, RepoError> {
        if let Some(staged) = self.staged::<Targets>("targets")? {
            return Ok(Some(staged.signed));
        }
        Ok(self.published::<Targets>("targets")?.map(|e| e.signed))
    }

    /// Every (keys, threshold) a staged role must satisfy before it can be published:
    /// its own; and for a root after version 1, also the previous root's (spec 5.3.4).
    ///
    /// # Errors
    /// As [`Project::role_keys`].
    pub fn signing_requirements(&self, role: &str) -> Result<Vec<Requirement>, RepoError> {
        let (keys, role_keys) = self.role_keys(role)?;
        let mut requirements = vec![Requirement {
            who: "its own keys".into(),
            keys,
            role_keys,
        }];
        if role == "root" {
            if let Some(previous) = self.published::<Root>("root")? {
                if let Some(rk) = previous.signed.roles.get("root") {
                    requirements.push(Requirement {
                        who: format!("the keys of root v{}", previous.signed.common.version),
                        keys: previous.signed.keys.clone(),
                        role_keys: rk.clone(),
                    });
                }
            }
        }
        Ok(requirements)
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RepoError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RepoError::Invalid(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

impl<T: Serialize> StagedFile<T> {
    /// The canonical bytes of the signed part: what every signature covers.
    ///
    /// # Errors
    /// When the signed part cannot be canonicalised.
    pub fn canonical(&self) -> Result<Vec<u8>, RepoError> {
        canonical_bytes(&self.signed)
            .map_err(|e| RepoError::Invalid(format!("canonical JSON: {e}")))
    }

    /// Adds (or replaces) the signature of `signer`.
    ///
    /// # Errors
    /// Signer failures.
    pub fn sign(&mut self, signer: &dyn Signer) -> Result<Signature, RepoError> {
        let canonical = self.canonical()?;
        let signature = Signature {
            keyid: signer.key_id().clone(),
            sig: hex::encode(signer.sign(&canonical)?),
            unrecognized: Default::default(),
        };
        self.add_signature(signature.clone());
        Ok(signature)
    }

    /// Adds a signature, replacing one with the same key id; empty signatures
    /// (placeholders some tools write) are dropped.
    pub fn add_signature(&mut self, signature: Signature) {
        self.signatures
            .retain(|s| s.keyid != signature.keyid && !s.sig.is_empty());
        self.signatures.push(signature);
        self.signatures.sort_by(|a, b| a.keyid.cmp(&b.keyid));
    }

    /// Checks a threshold with the client's own function.
    ///
    /// # Errors
    /// [`TrustError::ThresholdNotMet`] with the count found.
    pub fn check_threshold(
        &self,
        role: &str,
        keys: &BTreeMap<KeyId, Key>,
        role_keys: &RoleKeys,
    ) -> Result<(), TrustError> {
        let canonical = self
            .canonical()
            .map_err(|_| TrustError::OutOfOrder("canonical form"))?;
        verify_threshold(role, &canonical, &self.signatures, keys, role_keys)
    }
}

/// The staged or published `signed` part of a role, for `status`.
pub fn version_and_expiry<T: SignedCommon>(signed: &T) -> (u64, String) {
    (signed.common().version, signed.common().expires.clone())
}

/// Types of staged roles other commands need.
pub type StagedRoot = StagedFile<Root>;
/// Staged targets metadata.
pub type StagedTargets = StagedFile<Targets>;
/// Published snapshot.
pub type PublishedSnapshot = Envelope<Snapshot>;
/// Published timestamp.
pub type PublishedTimestamp = Envelope<Timestamp>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_take_precedence_over_days_and_delegated_roles_default_to_targets() {
        let now = time::macros::datetime!(2026-11-23 12:00 UTC);
        let mut settings = Settings::default();
        settings.expiry_hours.insert("rollout".into(), 6);
        assert_eq!(settings.expiry("rollout", now), "2026-11-23T18:00:00Z");
        assert_eq!(settings.expiry("timestamp", now), "2026-11-24T12:00:00Z");
        assert_eq!(
            settings.expiry("some-delegated-role", now),
            format_expiry(now + Duration::days(90))
        );
        // Settings files written before hours existed still load.
        let old = r#"{"expiry_days":{"targets":90},"consistent_snapshot":true}"#;
        let parsed: Settings = serde_json::from_str(old).unwrap();
        assert!(parsed.expiry_hours.is_empty());
        assert!(
            parsed.snapshot_hashes,
            "snapshot hashes are on unless turned off"
        );
    }
}
