//! What an installation remembers between runs: its rollout id, the highest version
//! it ever installed, and the versions it rolled back.

use std::path::{Path, PathBuf};

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::release::InstallId;
use crate::store::write_atomic;

/// The state file, `DATA_DIR/state.json`. Written atomically and durably.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallState {
    /// Random installation id for rollout buckets.
    pub install_id: String,
    /// Highest version ever installed or run here.
    pub highest_installed: Option<Version>,
    /// Versions installed here that were rolled back; never offered again.
    #[serde(default)]
    pub rolled_back: Vec<Version>,
}

impl InstallState {
    /// The state file's path inside `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("state.json")
    }

    /// Loads the state, creating it (with a fresh id) when missing. A corrupt file is
    /// moved aside to `state.json.corrupt` and replaced, keeping nothing from it but
    /// a warning in the log: the only loss is a new rollout bucket and a forgotten
    /// downgrade floor, which the running version re-establishes at once.
    ///
    /// # Errors
    /// [`Error::Storage`] when the file cannot be read or written;
    /// [`Error::Config`] when the system random source fails.
    pub fn load_or_create(data_dir: &Path, running: &Version) -> Result<InstallState, Error> {
        let path = InstallState::path(data_dir);
        let existing = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<InstallState>(&bytes) {
                Ok(state) => Some(state),
                Err(e) => {
                    let aside = path.with_extension("json.corrupt");
                    tracing::warn!(path = %path.display(), error = %e, "state file is corrupt; starting a new one");
                    std::fs::rename(&path, &aside)
                        .map_err(Error::storage("moving aside", &path))?;
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::storage("reading", &path)(e)),
        };
        let mut state = match existing {
            Some(state) => state,
            None => InstallState {
                install_id: InstallId::generate()
                    .map_err(|_| Error::Config("the system random source failed".into()))?
                    .0,
                highest_installed: None,
                rolled_back: Vec::new(),
            },
        };
        let before = state.clone();
        state.note_installed(running);
        if before != state || !path.exists() {
            state.save(data_dir)?;
        }
        Ok(state)
    }

    /// Raises the downgrade floor to `version` if it is higher.
    pub fn note_installed(&mut self, version: &Version) {
        if self.highest_installed.as_ref().is_none_or(|h| version > h) {
            self.highest_installed = Some(version.clone());
        }
    }

    /// Remembers that `version` was rolled back here.
    pub fn note_rolled_back(&mut self, version: Version) {
        if !self.rolled_back.contains(&version) {
            self.rolled_back.push(version);
        }
    }

    /// The installation id.
    pub fn install_id(&self) -> InstallId {
        InstallId(self.install_id.clone())
    }

    /// Writes the state atomically and durably.
    ///
    /// # Errors
    /// [`Error::Storage`] naming the file.
    pub fn save(&self, data_dir: &Path) -> Result<(), Error> {
        let path = InstallState::path(data_dir);
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Config(format!("encoding {}: {e}", path.display())))?;
        write_atomic(&path, &bytes).map_err(Error::storage("writing", &path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_created_kept_and_recovered_from_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = Version::new(1, 0, 0);
        let first = InstallState::load_or_create(dir.path(), &v1).unwrap();
        assert_eq!(first.highest_installed, Some(v1.clone()));
        let again = InstallState::load_or_create(dir.path(), &v1).unwrap();
        assert_eq!(first.install_id, again.install_id, "the id is stable");

        let mut state = again;
        state.note_installed(&Version::new(2, 0, 0));
        state.note_installed(&Version::new(1, 5, 0));
        state.note_rolled_back(Version::new(2, 0, 0));
        state.note_rolled_back(Version::new(2, 0, 0));
        state.save(dir.path()).unwrap();
        let loaded = InstallState::load_or_create(dir.path(), &v1).unwrap();
        assert_eq!(loaded.highest_installed, Some(Version::new(2, 0, 0)));
        assert_eq!(loaded.rolled_back, vec![Version::new(2, 0, 0)]);

        std::fs::write(InstallState::path(dir.path()), b"{ not json").unwrap();
        let fresh = InstallState::load_or_create(dir.path(), &v1).unwrap();
        assert_ne!(fresh.install_id, first.install_id);
        assert!(dir.path().join("state.json.corrupt").exists());
        assert_eq!(fresh.highest_installed, Some(v1));
    }
}
