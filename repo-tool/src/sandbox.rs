//! A throwaway release repository with freshly generated keys, for demos, tests and
//! trying the updater: the same code paths as the `repo-tool` commands (init,
//! delegate, release, rollout, sign, publish), with every key in memory.
//!
//! Roles: root 2-of-3 (ed25519), targets and snapshot (ed25519), timestamp (ECDSA
//! P-256), and a delegated role `rollout` trusted only for `APP/rollout.json`, with
//! its own key and a six-hour expiry. Other delegations ([`Sandbox::delegate`]: a
//! named role, hash bins) share one more key. Not for production: real keys live
//! offline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use semver::Version;
use time::OffsetDateTime;
use updater::metadata::KeyId;
use updater::release::{ReleaseInfo, ReleaseRollout};

use crate::delegate::{delegate, Delegation};
use crate::error::RepoError;
use crate::ops::{self, RoleSetup};
use crate::project::{Project, Settings};
use crate::publish::publish;
use crate::release::{add_release, rollout_path, set_rollout};
use crate::signer::{FileKey, KeyKind, Signer};

/// The name of the delegated role that lists rollout policies.
pub const ROLLOUT_ROLE: &str = "rollout";

/// The top-level roles' keys for [`Sandbox::create_with_keys`].
pub struct SandboxKeys {
    /// Root's keys.
    pub root: Vec<FileKey>,
    /// How many of them must sign root.
    pub root_threshold: u64,
    /// The targets key.
    pub targets: FileKey,
    /// The snapshot key.
    pub snapshot: FileKey,
    /// The timestamp key.
    pub timestamp: FileKey,
}

/// A repository in a directory, with all its keys at hand.
pub struct Sandbox {
    project: Project,
    root_keys: Vec<FileKey>,
    targets_key: FileKey,
    snapshot_key: FileKey,
    timestamp_key: FileKey,
    rollout_key: FileKey,
    delegated_key: FileKey,
}

impl Sandbox {
    /// Creates keys and a repository in `dir` for the applications `apps` (each gets
    /// its rollout policy path delegated to [`ROLLOUT_ROLE`]), signs and publishes
    /// version 1 of every role.
    ///
    /// # Errors
    /// Key generation, signing and IO errors.
    pub fn create(dir: &Path, apps: &[&str], now: OffsetDateTime) -> Result<Sandbox, RepoError> {
        Sandbox::create_with(dir, apps, Settings::default(), now)
    }

    /// [`Sandbox::create`] with `settings` (the rollout role's six-hour expiry is
    /// added to them).
    ///
    /// # Errors
    /// As [`Sandbox::create`].
    pub fn create_with(
        dir: &Path,
        apps: &[&str],
        settings: Settings,
        now: OffsetDateTime,
    ) -> Result<Sandbox, RepoError> {
        let keys = SandboxKeys {
            root: (0..3)
                .map(|_| FileKey::generate(KeyKind::Ed25519))
                .collect::<Result<Vec<_>, _>>()?,
            root_threshold: 2,
            targets: FileKey::generate(KeyKind::Ed25519)?,
            snapshot: FileKey::generate(KeyKind::Ed25519)?,
            timestamp: FileKey::generate(KeyKind::EcdsaP256)?,
        };
        Sandbox::create_with_keys(dir, apps, keys, settings, now)
    }

    /// [`Sandbox::create_with`] with the top-level roles' keys given (tests that
    /// need key types or a root threshold of their own); the rollout and delegated
    /// keys are generated.
    ///
    /// # Errors
    /// As [`Sandbox::create`]; [`RepoError::Invalid`] for a root threshold of 0 or
    /// above the number of root keys.
    pub fn create_with_keys(
        dir: &Path,
        apps: &[&str],
        keys: SandboxKeys,
        mut settings: Settings,
        now: OffsetDateTime,
    ) -> Result<Sandbox, RepoError> {
        let SandboxKeys {
            root: root_keys,
            root_threshold,
            targets: targets_key,
            snapshot: snapshot_key,
            timestamp: timestamp_key,
        } = keys;
        let rollout_key = FileKey::generate(KeyKind::Ed25519)?;
        let delegated_key = FileKey::generate(KeyKind::Ed25519)?;
        let setup = |keys: Vec<&FileKey>, threshold| RoleSetup {
            keys: keys.iter().map(|k| k.public_key().clone()).collect(),
            threshold,
        };
        let roles = BTreeMap::from([
            (
                "root".to_string(),
                setup(root_keys.iter().collect(), root_threshold),
            ),
            ("targets".to_string(), setup(vec![&targets_key], 1)),
            ("snapshot".to_string(), setup(vec![&snapshot_key], 1)),
            ("timestamp".to_string(), setup(vec![&timestamp_key], 1)),
        ]);
        settings.expiry_hours.insert(ROLLOUT_ROLE.into(), 6);
        let project = ops::init(dir, &roles, settings, now)?;
        if !apps.is_empty() {
            delegate(
                &project,
                &Delegation::Role {
                    name: ROLLOUT_ROLE.into(),
                    paths: apps.iter().map(|app| rollout_path(app)).collect(),
                    path_hash_prefixes: Vec::new(),
                    terminating: true,
                },
                &[rollout_key.public_key().clone()],
                1,
                now,
            )?;
        }
        let sandbox = Sandbox {
            project,
            root_keys,
            targets_key,
            snapshot_key,
            timestamp_key,
            rollout_key,
            delegated_key,
        };
        let threshold = usize::try_from(root_threshold).unwrap_or(usize::MAX);
        for key in sandbox.root_keys.iter().take(threshold) {
            ops::sign(&sandbox.project, "root", key)?;
        }
        sandbox.publish(now)?;
        Ok(sandbox)
    }

    /// The repository project.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The directory to serve: it holds `metadata/` and `targets/`.
    pub fn published_dir(&self) -> PathBuf {
        self.project.dir().join("published")
    }

    /// The published root, version 1: what an application embeds as its trust anchor.
    ///
    /// # Errors
    /// IO errors.
    pub fn root_json(&self) -> Result<Vec<u8>, RepoError> {
        let path = self.project.metadata_dir().join("1.root.json");
        std::fs::read(&path).map_err(|source| RepoError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The key ids of the root holders.
    pub fn root_key_ids(&self) -> Vec<KeyId> {
        self.root_keys.iter().map(|k| k.key_id().clone()).collect()
    }

    /// The private key of one role: `targets`, `snapshot`, `timestamp` or
    /// [`ROLLOUT_ROLE`] (root has several: [`Sandbox::root_keys`]), or of the
    /// roles made by [`Sandbox::delegate`] (`"delegated"`). For tests that play one
    /// key holder, or an attacker who has stolen that key.
    pub fn signer(&self, role: &str) -> Option<&FileKey> {
        match role {
            "targets" => Some(&self.targets_key),
            "snapshot" => Some(&self.snapshot_key),
            "timestamp" => Some(&self.timestamp_key),
            ROLLOUT_ROLE => Some(&self.rollout_key),
            "delegated" => Some(&self.delegated_key),
            _ => None,
        }
    }

    /// Stages `delegation` from targets (a named role or hash bins), with the
    /// sandbox's delegated key as its one key, threshold 1; [`Sandbox::publish`]
    /// signs it. Returns the roles staged.
    ///
    /// # Errors
    /// As [`delegate`].
    pub fn delegate(
        &self,
        delegation: &Delegation,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, RepoError> {
        delegate(
            &self.project,
            delegation,
            &[self.delegated_key.public_key().clone()],
            1,
            now,
        )
    }

    /// The root holders' private keys (root's threshold is 2 of these 3).
    pub fn root_keys(&self) -> &[FileKey] {
        &self.root_keys
    }

    /// Stages, signs and publishes a release.
    ///
    /// # Errors
    /// As [`add_release`] and [`Sandbox::publish`].
    pub fn release(
        &self,
        info: &ReleaseInfo,
        file_name: &str,
        content: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, RepoError> {
        let path = add_release(&self.project, info, file_name, content, now)?;
        self.publish(now)?;
        Ok(path)
    }

    /// [`Sandbox::release`] with deltas from earlier releases (see
    /// [`crate::delta::add_release_with_deltas`]).
    ///
    /// # Errors
    /// As [`crate::delta::add_release_with_deltas`] and [`Sandbox::publish`].
    pub fn release_with_deltas(
        &self,
        info: &ReleaseInfo,
        file_name: &str,
        content: &[u8],
        options: crate::delta::DeltaOptions,
        now: OffsetDateTime,
    ) -> Result<(String, Vec<crate::delta::MadeDelta>), RepoError> {
        let made = crate::delta::add_release_with_deltas(
            &self.project,
            info,
            file_name,
            content,
            options,
            now,
        )?;
        self.publish(now)?;
        Ok(made)
    }

    /// Stages, signs and publishes a plain target (a hook program, a document).
    ///
    /// # Errors
    /// As [`ops::add_target`] and [`Sandbox::publish`].
    pub fn add_file(
        &self,
        path: &str,
        content: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), RepoError> {
        ops::add_target(&self.project, path, content, None, now)?;
        self.publish(now)
    }

    /// Stages, signs (with the rollout key) and publishes the plan of one release.
    ///
    /// # Errors
    /// As [`set_rollout`] and [`Sandbox::publish`].
    pub fn rollout(
        &self,
        app: &str,
        version: &Version,
        plan: ReleaseRollout,
        now: OffsetDateTime,
    ) -> Result<(), RepoError> {
        set_rollout(&self.project, ROLLOUT_ROLE, app, version, plan, now)?;
        self.publish(now)
    }

    /// Signs every staged role with its key and publishes (snapshot and timestamp
    /// with the online keys).
    ///
    /// # Errors
    /// Signing and IO errors.
    pub fn publish(&self, now: OffsetDateTime) -> Result<(), RepoError> {
        for role in self.project.staged_roles()? {
            let key: &dyn Signer = match role.as_str() {
                "root" => continue,
                "targets" => &self.targets_key,
                ROLLOUT_ROLE => &self.rollout_key,
                _ => &self.delegated_key,
            };
            ops::sign(&self.project, &role, key)?;
        }
        publish(
            &self.project,
            &[&self.snapshot_key],
            &[&self.timestamp_key],
            now,
        )
    }
}
