//! The install journal: one small JSON file in the application's data directory that
//! records the install in progress or the last one finished.
//!
//! It is always written with [`crate::store::write_atomic`] (temporary file, `fsync`,
//! rename, `fsync` of the directory), so a crash leaves either the previous record or
//! the new one, never a torn file. The journal is never trusted alone: every decision
//! at start-up also looks at what the executable actually holds (its SHA-256), which
//! is why the record carries the digests of both the old and the new binary.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

use crate::store::{parent_dir, sync_dir, write_atomic};

/// The journal's file name inside the data directory.
pub const JOURNAL_FILE: &str = "install-journal.json";

/// Where a corrupt journal is moved so that it can be inspected.
pub const CORRUPT_SUFFIX: &str = ".corrupt";

/// The record format this code writes and understands.
pub const FORMAT: u32 = 1;

/// Where an install stands. The first two and `RollingBack` are *pending*: start-up
/// has to finish or undo them; the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JournalState {
    /// Written before the swap: the executable holds the old binary or, if the swap
    /// happened just before a crash, the new one.
    Installing,
    /// The swap is done; the new version has not declared itself healthy yet.
    AwaitingConfirmation,
    /// The new version confirmed; the previous binary is still kept for a manual
    /// rollback.
    Confirmed,
    /// Written before the previous binary is moved back over the executable.
    RollingBack,
    /// The previous binary is back in place; the new version (the record's
    /// `to_version`) failed or was abandoned.
    RolledBack,
}

impl JournalState {
    /// True for the states that start-up must resolve.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            JournalState::Installing
                | JournalState::AwaitingConfirmation
                | JournalState::RollingBack
        )
    }
}

impl fmt::Display for JournalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JournalState::Installing => "installing",
            JournalState::AwaitingConfirmation => "awaiting confirmation",
            JournalState::Confirmed => "confirmed",
            JournalState::RollingBack => "rolling back",
            JournalState::RolledBack => "rolled back",
        })
    }
}

/// One install, as recorded in the journal.
///
/// The paths are informational (the [`Installer`](super::Installer) always works on
/// its own executable path); the digests are what start-up decisions rest on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JournalRecord {
    /// Record format; records of an unknown format are treated as corrupt.
    pub format: u32,
    /// The executable that was replaced.
    #[serde(serialize_with = "lossy_path")]
    pub exe: PathBuf,
    /// The version that was installed before.
    pub from_version: String,
    /// The version being installed (or that was installed).
    pub to_version: String,
    /// Hex SHA-256 of the old binary (the one `from_version` ran).
    pub old_sha256: String,
    /// Hex SHA-256 of the new binary.
    pub new_sha256: String,
    /// Where the old binary is kept for a rollback.
    #[serde(serialize_with = "lossy_path")]
    pub previous: PathBuf,
    /// Where the install stands.
    pub state: JournalState,
    /// How many times the new version has started without confirming.
    pub starts: u32,
    /// Why the install was rolled back (set with `RollingBack` and `RolledBack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was installed: one executable, or a whole application directory (whose
    /// digests are [`crate::bundle::tree::digest`]s).
    #[serde(default, skip_serializing_if = "InstalledKind::is_executable")]
    pub kind: InstalledKind,
    /// For a directory, the preserved paths its digests leave out (the release's
    /// `bundle.preserve`), so that start-up computes the same digests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preserve: Vec<String>,
}

/// What an install replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InstalledKind {
    /// One executable file (digests: SHA-256 of the file).
    #[default]
    Executable,
    /// An application directory (digests: of its tree).
    Directory,
}

impl InstalledKind {
    fn is_executable(&self) -> bool {
        *self == InstalledKind::Executable
    }
}

/// Paths are informational here: a path that is not UTF-8 is recorded lossily rather
/// than failing the install.
fn lossy_path<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// What is on disk.
#[derive(Debug)]
pub(crate) enum Loaded {
    /// No journal.
    Missing,
    /// A journal that cannot be used, and why.
    Corrupt(String),
    /// A usable record.
    Record(JournalRecord),
}

/// The journal file.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    path: PathBuf,
}

impl Journal {
    pub(crate) fn in_dir(data_dir: &Path) -> Journal {
        Journal {
            path: data_dir.join(JOURNAL_FILE),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the journal. Unparsable content or an unknown format is `Corrupt`,
    /// never an error: a damaged journal must not stop the application.
    pub(crate) fn load(&self) -> io::Result<Loaded> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(e) => return Err(e),
        };
        Ok(parse(&bytes))
    }

    /// Writes `record` atomically and durably, creating the data directory if needed.
    pub(crate) fn save(&self, record: &JournalRecord) -> io::Result<()> {
        std::fs::create_dir_all(parent_dir(&self.path))?;
        let mut bytes = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes)
    }

    /// Removes the journal durably; no journal is not an error.
    pub(crate) fn clear(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => sync_dir(parent_dir(&self.path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Moves a corrupt journal to `install-journal.json.corrupt` (replacing an older
    /// one) and returns that path.
    pub(crate) fn set_aside(&self) -> io::Result<PathBuf> {
        let mut aside = self.path.clone().into_os_string();
        aside.push(CORRUPT_SUFFIX);
        let aside = PathBuf::from(aside);
        std::fs::rename(&self.path, &aside)?;
        sync_dir(parent_dir(&self.path))?;
        Ok(aside)
    }
}

fn parse(bytes: &[u8]) -> Loaded {
    match serde_json::from_slice::<JournalRecord>(bytes) {
        Ok(record) if record.format == FORMAT => Loaded::Record(record),
        Ok(record) => Loaded::Corrupt(format!(
            "record format {} is not the supported format {FORMAT}",
            record.format
        )),
        Err(e) => Loaded::Corrupt(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> JournalRecord {
        JournalRecord {
            format: FORMAT,
            exe: "/opt/app/bin/app".into(),
            from_version: "1.0.0".into(),
            to_version: "2.0.0".into(),
            old_sha256: "aa".repeat(32),
            new_sha256: "bb".repeat(32),
            previous: "/opt/app/bin/.app.previous".into(),
            state: JournalState::AwaitingConfirmation,
            starts: 1,
            reason: None,
            kind: InstalledKind::Executable,
            preserve: Vec::new(),
        }
    }

    #[test]
    fn a_saved_record_loads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_dir(&dir.path().join("not-yet-created"));
        assert!(matches!(journal.load().unwrap(), Loaded::Missing));
        journal.save(&record()).unwrap();
        match journal.load().unwrap() {
            Loaded::Record(r) => assert_eq!(r, record()),
            other => panic!("{other:?}"),
        }
        let text = std::fs::read_to_string(journal.path()).unwrap();
        assert!(
            text.contains("\"state\": \"awaiting_confirmation\""),
            "{text}"
        );
        journal.clear().unwrap();
        journal.clear().unwrap();
        assert!(matches!(journal.load().unwrap(), Loaded::Missing));
    }

    #[test]
    fn garbage_and_unknown_formats_are_corrupt_not_errors() {
        assert!(matches!(
            parse(b"{\"format\": 1, \"exe\""),
            Loaded::Corrupt(_)
        ));
        assert!(matches!(parse(b"\0\0\0"), Loaded::Corrupt(_)));
        let mut future = record();
        future.format = FORMAT + 1;
        let bytes = serde_json::to_vec(&future).unwrap();
        assert!(matches!(parse(&bytes), Loaded::Corrupt(_)));
    }

    #[test]
    fn a_corrupt_journal_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::in_dir(dir.path());
        std::fs::write(journal.path(), b"not json").unwrap();
        let aside = journal.set_aside().unwrap();
        assert!(aside.ends_with("install-journal.json.corrupt"));
        assert_eq!(std::fs::read(&aside).unwrap(), b"not json");
        assert!(matches!(journal.load().unwrap(), Loaded::Missing));
    }

    #[test]
    fn only_unfinished_states_are_pending() {
        assert!(JournalState::Installing.is_pending());
        assert!(JournalState::AwaitingConfirmation.is_pending());
        assert!(JournalState::RollingBack.is_pending());
        assert!(!JournalState::Confirmed.is_pending());
        assert!(!JournalState::RolledBack.is_pending());
    }
}
