//! A repository with a fresh key per role, for tests, examples and benchmarks.
//!
//! Real keys (ed25519, generated in memory and never written), a real project on
//! disk and the real publishing code: only the key ceremony is skipped. Not for
//! production repositories, whose root and targets keys belong offline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::delegate::{delegate, Delegation};
use crate::ops::{self, RoleSetup};
use crate::project::{Project, Settings};
use crate::repository::RepoError;
use crate::signer::{FileKey, KeyKind, Signer};

/// One in-memory ed25519 key per top-level role, and one for delegated roles.
pub struct FixtureKeys {
    /// The root key.
    pub root: FileKey,
    /// The top-level targets key.
    pub targets: FileKey,
    /// The online snapshot key.
    pub snapshot: FileKey,
    /// The online timestamp key.
    pub timestamp: FileKey,
    /// The key [`Fixture::delegate`] gives delegated roles (every hash bin shares it).
    pub delegated: FileKey,
}

/// A `repo-tool` project whose every role has threshold 1 and a key in
/// [`FixtureKeys`], so that [`Fixture::publish`] can sign and publish whatever is
/// staged.
pub struct Fixture {
    /// The project.
    pub project: Project,
    /// Its keys.
    pub keys: FixtureKeys,
}

impl Fixture {
    /// Initialises a project at `dir` (which must not hold one) with fresh keys.
    ///
    /// # Errors
    /// Key generation and IO errors.
    pub fn init(dir: &Path, settings: Settings, now: OffsetDateTime) -> Result<Fixture, RepoError> {
        let key = || FileKey::generate(KeyKind::Ed25519);
        let keys = FixtureKeys {
            root: key()?,
            targets: key()?,
            snapshot: key()?,
            timestamp: key()?,
            delegated: key()?,
        };
        let setup = |k: &FileKey| RoleSetup {
            keys: vec![k.public_key().clone()],
            threshold: 1,
        };
        let roles = BTreeMap::from([
            ("root".to_string(), setup(&keys.root)),
            ("targets".to_string(), setup(&keys.targets)),
            ("snapshot".to_string(), setup(&keys.snapshot)),
            ("timestamp".to_string(), setup(&keys.timestamp)),
        ]);
        let project = ops::init(dir, &roles, settings, now)?;
        Ok(Fixture { project, keys })
    }

    /// Delegates with [`FixtureKeys::delegated`] as the one key, threshold 1.
    /// Returns the roles staged, as [`delegate`] does.
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
            &[self.keys.delegated.public_key().clone()],
            1,
            now,
        )
    }

    /// Signs every staged role with its key and publishes, as the holders of all
    /// the keys would.
    ///
    /// # Errors
    /// As [`crate::publish::publish`].
    pub fn publish(&self, now: OffsetDateTime) -> Result<(), RepoError> {
        for role in self.project.staged_roles()? {
            let key: &dyn Signer = match role.as_str() {
                "root" => &self.keys.root,
                "targets" => &self.keys.targets,
                _ => &self.keys.delegated,
            };
            ops::sign(&self.project, &role, key)?;
        }
        crate::publish::publish(
            &self.project,
            &[&self.keys.snapshot],
            &[&self.keys.timestamp],
            now,
        )
    }

    /// The published tree (`metadata/` and `targets/`), as a static server serves it.
    pub fn published(&self) -> PathBuf {
        self.project.dir().join("published")
    }

    /// The first root, the one an application ships with.
    ///
    /// # Errors
    /// IO errors, naming the file.
    pub fn first_root(&self) -> Result<Vec<u8>, RepoError> {
        let path = self.published().join("metadata/1.root.json");
        std::fs::read(&path).map_err(|source| RepoError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}
