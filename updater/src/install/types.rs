//! The installer's public types: the steps it reports, what it returns, and its
//! errors.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::integrity::IntegrityError;

use super::JournalState;
/// One step of [`Installer::install`](super::Installer::install), reported to the observer as it completes
/// (except [`InstallStep::Staging`], reported as copying begins). `Display` gives one
/// line of human text; [`InstallStep::name`] a stable machine name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstallStep {
    /// Copying the verified file into a hidden file next to the executable.
    Staging {
        /// The staged file.
        staged: PathBuf,
    },
    /// The staged copy was re-read and matches the metadata's length and hashes.
    Rechecked {
        /// The staged file.
        staged: PathBuf,
    },
    /// The staged copy got the executable's permission bits.
    PermissionsCopied {
        /// The executable whose permissions were copied.
        exe: PathBuf,
    },
    /// The staged copy is on disk (`fsync`).
    Synced {
        /// The staged file.
        staged: PathBuf,
    },
    /// The journal records the install as in progress.
    JournalWritten {
        /// The journal file.
        journal: PathBuf,
    },
    /// The current executable is kept for a rollback.
    PreviousKept {
        /// Where it is kept.
        previous: PathBuf,
    },
    /// The staged file replaced the executable (one atomic rename).
    Swapped {
        /// The executable.
        exe: PathBuf,
    },
    /// The journal records the new version as awaiting confirmation.
    Recorded {
        /// The version installed.
        version: String,
    },
}

impl InstallStep {
    /// Every step name, in the order the steps happen.
    pub const NAMES: [&'static str; 8] = [
        "staging",
        "rechecked",
        "permissions_copied",
        "synced",
        "journal_written",
        "previous_kept",
        "swapped",
        "recorded",
    ];

    /// A stable machine-readable name (snake case, one of [`InstallStep::NAMES`]).
    pub fn name(&self) -> &'static str {
        let index = match self {
            InstallStep::Staging { .. } => 0,
            InstallStep::Rechecked { .. } => 1,
            InstallStep::PermissionsCopied { .. } => 2,
            InstallStep::Synced { .. } => 3,
            InstallStep::JournalWritten { .. } => 4,
            InstallStep::PreviousKept { .. } => 5,
            InstallStep::Swapped { .. } => 6,
            InstallStep::Recorded { .. } => 7,
        };
        Self::NAMES[index]
    }
}

impl fmt::Display for InstallStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallStep::Staging { staged } => write!(f, "staging as {}", staged.display()),
            InstallStep::Rechecked { staged } => {
                write!(f, "re-checked length and hashes of {}", staged.display())
            }
            InstallStep::PermissionsCopied { exe } => {
                write!(f, "copied the permissions of {}", exe.display())
            }
            InstallStep::Synced { staged } => write!(f, "flushed {} to disk", staged.display()),
            InstallStep::JournalWritten { journal } => {
                write!(f, "recorded the install in {}", journal.display())
            }
            InstallStep::PreviousKept { previous } => {
                write!(f, "kept the previous version as {}", previous.display())
            }
            InstallStep::Swapped { exe } => write!(f, "replaced {}", exe.display()),
            InstallStep::Recorded { version } => {
                write!(f, "version {version} installed, awaiting confirmation")
            }
        }
    }
}

/// A finished install: the executable now holds `to_version`, and `previous` holds
/// the binary of `from_version` until the next install or a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallReceipt {
    /// The version that was replaced.
    pub from_version: String,
    /// The version now installed.
    pub to_version: String,
    /// The executable that was replaced.
    pub exe: PathBuf,
    /// Where the previous binary is kept.
    pub previous: PathBuf,
}

/// A rollback that happened: the executable holds `to_version` again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    /// The version abandoned (it failed to confirm, or a rollback was asked for);
    /// do not offer it again.
    pub from_version: String,
    /// The version restored.
    pub to_version: String,
    /// Why.
    pub reason: String,
}

/// What [`Installer::on_startup`](super::Installer::on_startup) found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartupOutcome {
    /// Nothing to do: no journal, the last install is final (confirmed or rolled
    /// back), or the journal was corrupt (it was set aside; the executable was not
    /// touched).
    Clean,
    /// The executable holds a new version that has not confirmed yet; this is its
    /// `start`-th start (1 on the first). Call [`Installer::confirm`](super::Installer::confirm) once it is
    /// healthy, or the next start rolls it back.
    AwaitingConfirmation {
        /// The unconfirmed version.
        version: String,
        /// How many times it has started, this start included.
        start: u32,
    },
    /// A new version is installed and awaits its first start, but the process
    /// calling is an older version (a second instance started before the install):
    /// the start was not counted, and this process cannot confirm the new version.
    /// Reported by [`crate::Updater::startup`], which knows the running version.
    UpdatePending {
        /// The installed, unconfirmed version.
        version: String,
    },
    /// An install was interrupted before the swap; its leftovers were removed and the
    /// executable still holds the old version.
    InterruptedInstallUndone {
        /// The version whose install was abandoned.
        to_version: String,
    },
    /// The executable holds the previous version again (the new one did not confirm
    /// by its second start, or an interrupted rollback was finished). The *running*
    /// process may still be the failed version: exit or re-execute the executable.
    RolledBack(RolledBack),
    /// The journal describes a pending install, but the executable holds neither the
    /// old nor the new binary: something outside the updater replaced it. The journal
    /// was cleared; the executable was left alone.
    ReplacedOutside {
        /// The executable.
        exe: PathBuf,
    },
}

/// Why an install, start-up resolution, confirmation or rollback failed. Every
/// variant names the file or directory involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The executable to replace does not exist or is not a regular file.
    #[error("the executable {exe} does not exist or is not a regular file; pass the path of the installed program")]
    ExeMissing {
        /// The executable.
        exe: PathBuf,
    },
    /// The application directory to replace does not exist or is not a directory.
    #[error("the application directory {dir} does not exist or is not a directory; pass the directory the application is installed in")]
    AppDirMissing {
        /// The directory.
        dir: PathBuf,
    },
    /// A bundle's archive was refused or could not be extracted; the installed
    /// application was not touched.
    #[error(transparent)]
    Archive(#[from] crate::bundle::BundleError),
    /// The release does not fit what is installed (a bundle for an executable, or a
    /// single file for an application directory).
    #[error("cannot install over {path}: {problem}")]
    WrongKind {
        /// The executable or directory.
        path: PathBuf,
        /// Why, and what to do.
        problem: String,
    },
    /// The verified file is the executable itself.
    #[error("the verified file {verified} is the executable {exe} itself; download the update to a separate file")]
    SameFile {
        /// The verified file.
        verified: PathBuf,
        /// The executable.
        exe: PathBuf,
    },
    /// The executable's directory does not let this process create files.
    #[error("cannot create files in {dir}, the directory of the executable ({source}); run the update with rights to that directory, or install the program in a directory you can write")]
    DirNotWritable {
        /// The directory.
        dir: PathBuf,
        /// The IO error.
        source: io::Error,
    },
    /// The metadata lists no hash, so the file cannot be re-checked.
    #[error("the metadata for {file} lists no hashes, so it cannot be re-checked; nothing was installed")]
    NoHashes {
        /// The verified file.
        file: PathBuf,
    },
    /// The verified file no longer matches its metadata when re-checked next to the
    /// executable: it changed after it was downloaded and verified.
    #[error("{file} does not match its trusted metadata on re-check ({source}); it changed after it was verified; nothing was installed; download it again")]
    Recheck {
        /// The verified file.
        file: PathBuf,
        /// The mismatch.
        source: IntegrityError,
    },
    /// The verified file is byte for byte the installed executable.
    #[error("{file} is identical to the installed executable {exe}; nothing to install")]
    AlreadyInstalled {
        /// The verified file.
        file: PathBuf,
        /// The executable.
        exe: PathBuf,
    },
    /// An earlier install or rollback is not resolved yet.
    #[error("the install of version {to_version} over {exe} is unresolved (journal {journal} says {state}); call on_startup at the start of the program (and confirm the new version) first")]
    Pending {
        /// The executable.
        exe: PathBuf,
        /// The journal.
        journal: PathBuf,
        /// The version of the unresolved install.
        to_version: String,
        /// Its state.
        state: JournalState,
    },
    /// The kept previous binary is missing or is not the binary the journal recorded.
    #[error("cannot roll back {exe}: the previous binary {previous} {problem}; the executable was left as it is; reinstall the previous version by hand if it is needed")]
    PreviousUnusable {
        /// The executable.
        exe: PathBuf,
        /// The kept previous binary.
        previous: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The executable does not hold the version the journal records; it was replaced
    /// outside the updater.
    #[error("{exe} no longer holds version {version} recorded in {journal}; it was replaced outside the updater, so nothing was rolled back")]
    ExeChanged {
        /// The executable.
        exe: PathBuf,
        /// The journal.
        journal: PathBuf,
        /// The version the journal expected.
        version: String,
    },
    /// The journal cannot be read ([`Installer::on_startup`](super::Installer::on_startup) sets it aside).
    #[error("the install journal {journal} is unusable ({reason}); the next start of the program sets it aside")]
    JournalCorrupt {
        /// The journal.
        journal: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file operation failed.
    #[error("{action} {path}: {source}; check that the path exists, is writable and that the disk has space")]
    Io {
        /// What was being done, e.g. "reading".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The IO error.
        source: io::Error,
    },
}

pub(super) fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> InstallError {
    let path = path.to_path_buf();
    move |source| InstallError::Io {
        action,
        path,
        source,
    }
}
