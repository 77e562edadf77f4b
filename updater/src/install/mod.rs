//! Atomic self-install: put an already-verified binary in place of the running
//! executable, keep the previous one, and roll back when the new version does not
//! confirm that it is healthy.
//!
//! This module knows files, not TUF. It is handed a file that
//! [`Client::download_target`](crate::Client) already verified, and the
//! [`TargetFile`] it was verified against.
//!
//! ## How an install proceeds ([`Installer::install`])
//!
//! 1. **Stage**: copy the verified file into a hidden `.{name}.staged-XXXX` file *in
//!    the executable's directory* (same filesystem, so the final rename is atomic),
//!    close it, re-open it and re-check its length and every hash with
//!    [`IntegrityCheck`] (the file may have changed since it was verified). Only then
//!    does it get the executable's permission bits (and with them the execute bit);
//!    then it is `fsync`ed.
//! 2. **Journal**: `{data_dir}/install-journal.json` records the versions, the
//!    SHA-256 of the old and the new binary and the state `installing`, written
//!    atomically *before* anything at the executable's path changes.
//! 3. **Keep the previous binary** as `.{name}.previous`: a hard link to the current
//!    executable (a copy where hard links are not allowed), moved into place by rename.
//! 4. **Swap**: `rename(staged, exe)`, then `fsync` the directory. The executable is
//!    never written in place. The journal then says `awaiting_confirmation`.
//!
//! ## Start-up ([`Installer::on_startup`]) and confirmation
//!
//! Decisions rest on the journal *and* on what the executable actually holds (its
//! SHA-256), so a crash at any point is resolved: an install interrupted before the
//! swap is undone, one interrupted after it is completed. The new version's first
//! start is counted; if it starts a second time without having called
//! [`Installer::confirm`], the previous binary is renamed back over the executable
//! and the failed version is reported ([`StartupOutcome::RolledBack`]) so that it is
//! not offered again. A corrupt journal is set aside and never leads to touching the
//! executable.
//!
//! Platform notes are in one place, the `platform` submodule: Linux is tested;
//! other unix systems use the same POSIX calls but are untested; Windows is written
//! but untested.
//!
//! Not handled: two processes installing into the same executable at the same time
//! (there is no lock; the loser's rename fails or start-up resolves the result by
//! content), and power loss on filesystems that do not honour `fsync`.

mod directory;
mod journal;
mod platform;
mod replaced;
mod resolve;
mod swap;
mod target;
mod types;

#[cfg(test)]
mod directory_tests;
#[cfg(test)]
mod tests;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ring::digest;

use crate::integrity::IntegrityCheck;
use crate::metadata::TargetFile;
use crate::store::parent_dir;
use journal::Journal;
use resolve::{resolve, Resolution, RollbackRequest};

pub use directory::DirectoryInstaller;
pub use journal::{InstalledKind, JournalRecord, JournalState, JOURNAL_FILE};
pub use target::InstallTarget;
use types::io_err;
pub use types::{InstallError, InstallReceipt, InstallStep, RolledBack, StartupOutcome};

/// Installs verified binaries over one executable and keeps the journal that makes
/// the install crash-safe and reversible. Cheap to create; holds no open files and no
/// state between calls (everything lives on disk).
#[derive(Debug, Clone)]
pub struct Installer {
    exe: PathBuf,
    data_dir: PathBuf,
}

/// The paths an install works with, all in the executable's directory.
#[derive(Debug)]
struct Layout {
    /// The executable, with a symbolic link resolved.
    exe: PathBuf,
    dir: PathBuf,
    previous: PathBuf,
    /// `.{name}.staged-`
    staged_prefix: OsString,
    /// `.{name}.previous-` (temporary names on the way to `previous`)
    previous_tmp_prefix: OsString,
    /// `.{name}.replaced-` (a running executable renamed aside, on Windows)
    replaced_prefix: OsString,
}

fn hidden_name(name: &OsStr, suffix: &str) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(suffix);
    s
}

const CHUNK: usize = 64 * 1024;

/// Hex SHA-256 of a file, streamed: the identity of a binary in the journal. (Checking
/// bytes against TUF metadata is [`IntegrityCheck`]'s job alone.)
fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex::encode(ctx.finish()))
}

/// Like [`sha256_file`], `None` when the file does not exist.
fn sha256_if_exists(path: &Path) -> Result<Option<String>, InstallError> {
    match sha256_file(path) {
        Ok(h) => Ok(Some(h)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("reading", path)(e)),
    }
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl Installer {
    /// An installer for `exe` (usually [`std::env::current_exe`]) that keeps its
    /// journal at `data_dir/install-journal.json`. Touches nothing on disk; the data
    /// directory is created when the journal is first written. A symbolic link at
    /// `exe` is resolved when installing: the file it points to is replaced.
    ///
    /// Take `exe` once, at program start: on Linux, once the running executable has
    /// been replaced, `current_exe()` in the still-running old process names a path
    /// ending in `" (deleted)"`.
    pub fn new(exe: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Installer {
        Installer {
            exe: exe.into(),
            data_dir: data_dir.into(),
        }
    }

    /// The executable this installer replaces.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// The journal file.
    pub fn journal_path(&self) -> PathBuf {
        self.journal().path().to_path_buf()
    }

    fn journal(&self) -> Journal {
        Journal::in_dir(&self.data_dir)
    }

    fn layout(&self) -> Result<Layout, InstallError> {
        let exe = match fs::symlink_metadata(&self.exe) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(&self.exe).map_err(io_err("resolving the link", &self.exe))?
            }
            _ => self.exe.clone(),
        };
        let Some(name) = exe.file_name().map(OsStr::to_os_string) else {
            return Err(InstallError::ExeMissing { exe });
        };
        let dir = parent_dir(&exe).to_path_buf();
        Ok(Layout {
            previous: dir.join(hidden_name(&name, ".previous")),
            staged_prefix: hidden_name(&name, ".staged-"),
            previous_tmp_prefix: hidden_name(&name, ".previous-"),
            replaced_prefix: hidden_name(&name, platform::REPLACED_SUFFIX),
            dir,
            exe,
        })
    }

    /// Installs the already-verified file `verified` (described by `info`, the
    /// trusted metadata it was verified against) as the new executable, replacing
    /// `from_version` by `to_version`. `observer` is told each step.
    ///
    /// Guarantees: the executable's path names, at every instant, either the complete
    /// old binary or the complete new one; the new one is exactly the bytes `info`
    /// describes (re-checked after staging, before it gets the execute bit); the old
    /// one is kept as `.{name}.previous`; a crash at any point is resolved by
    /// [`Installer::on_startup`]. On error the executable is unchanged and no staged
    /// file is left behind. `verified` itself is not modified or removed.
    ///
    /// # Errors
    /// [`InstallError::ExeMissing`], [`InstallError::SameFile`],
    /// [`InstallError::DirNotWritable`], [`InstallError::NoHashes`],
    /// [`InstallError::Recheck`] (the file changed since it was verified),
    /// [`InstallError::AlreadyInstalled`], [`InstallError::Pending`] (an earlier
    /// install is not resolved), [`InstallError::Io`].
    pub fn install(
        &self,
        verified: &Path,
        info: &TargetFile,
        from_version: &str,
        to_version: &str,
        observer: &mut dyn FnMut(InstallStep),
    ) -> Result<InstallReceipt, InstallError> {
        let layout = self.layout()?;
        let exe = &layout.exe;
        let exe_meta = match fs::metadata(exe) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Err(InstallError::ExeMissing { exe: exe.clone() }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(InstallError::ExeMissing { exe: exe.clone() })
            }
            Err(e) => return Err(io_err("reading the metadata of", exe)(e)),
        };
        if platform::same_file(verified, exe).map_err(io_err("opening", verified))? {
            return Err(InstallError::SameFile {
                verified: verified.to_path_buf(),
                exe: exe.clone(),
            });
        }
        if info.hashes.is_empty() {
            return Err(InstallError::NoHashes {
                file: verified.to_path_buf(),
            });
        }
        let prior = self.journal().load_or_set_aside()?;
        if let Some(record) = prior.as_ref().filter(|r| r.state.is_pending()) {
            return Err(self.journal().pending_error(&layout.exe, record));
        }
        tracing::info!(exe = %exe.display(), from = from_version, to = to_version, "installing");

        // 1. Stage next to the executable. The temporary file is removed if anything
        // fails before the swap (`TempPath` deletes on drop).
        let staged = self.stage(verified, info, &layout, observer)?;
        let old_sha256 = sha256_file(exe).map_err(io_err("reading", exe))?;
        if old_sha256 == staged.sha256 {
            return Err(InstallError::AlreadyInstalled {
                file: verified.to_path_buf(),
                exe: exe.clone(),
            });
        }
        platform::copy_permissions(&exe_meta, &staged.path)
            .map_err(io_err("setting the permissions of", &staged.path))?;
        observer(InstallStep::PermissionsCopied { exe: exe.clone() });
        platform::sync_file(&staged.path).map_err(io_err("flushing", &staged.path))?;
        observer(InstallStep::Synced {
            staged: staged.path.to_path_buf(),
        });

        // 2. Journal, before anything at the executable's path changes.
        let mut record = JournalRecord {
            format: journal::FORMAT,
            exe: exe.clone(),
            from_version: from_version.to_string(),
            to_version: to_version.to_string(),
            old_sha256,
            new_sha256: staged.sha256.clone(),
            previous: layout.previous.clone(),
            state: JournalState::Installing,
            starts: 0,
            reason: None,
            kind: InstalledKind::Executable,
            preserve: Vec::new(),
        };
        self.journal().save_record(&record)?;
        observer(InstallStep::JournalWritten {
            journal: self.journal_path(),
        });

        // 3. and 4. Keep the previous binary, swap. On failure, put the prior journal
        // record back: the executable is still the old one.
        if let Err(e) = self.keep_previous_and_swap(staged.path, &layout, observer) {
            self.journal().restore(prior.as_ref());
            return Err(e);
        }

        record.state = JournalState::AwaitingConfirmation;
        // The swap is done. Should this write fail, the journal still says
        // `installing` and start-up completes the install from the executable's
        // content, with the same result, so the install is not reported as failed.
        if let Err(e) = self.journal().save_record(&record) {
            tracing::warn!(error = %e, "installed, but could not update the journal; the next start completes it");
        }
        observer(InstallStep::Recorded {
            version: to_version.to_string(),
        });
        tracing::info!(exe = %exe.display(), version = to_version, "installed; awaiting confirmation");
        Ok(InstallReceipt {
            from_version: from_version.to_string(),
            to_version: to_version.to_string(),
            exe: exe.clone(),
            previous: layout.previous.clone(),
        })
    }

    /// Copies `verified` to a hidden temporary file next to the executable, closes
    /// it, and re-checks the copy against `info`, computing its SHA-256 on the way.
    fn stage(
        &self,
        verified: &Path,
        info: &TargetFile,
        layout: &Layout,
        observer: &mut dyn FnMut(InstallStep),
    ) -> Result<Staged, InstallError> {
        let mut source = fs::File::open(verified).map_err(io_err("opening", verified))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(&layout.staged_prefix)
            .tempfile_in(&layout.dir)
            .map_err(|source| match source.kind() {
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                    InstallError::DirNotWritable {
                        dir: layout.dir.clone(),
                        source,
                    }
                }
                _ => io_err("creating a file in", &layout.dir)(source),
            })?;
        let staged_path = tmp.path().to_path_buf();
        observer(InstallStep::Staging {
            staged: staged_path.clone(),
        });
        io::copy(&mut source, tmp.as_file_mut()).map_err(io_err("writing", &staged_path))?;
        drop(source);
        let staged = tmp.into_temp_path(); // closes the file; still removed on drop

        // Re-open: what is checked is what the rename will put in place.
        let mut file = fs::File::open(&staged).map_err(io_err("opening", &staged_path))?;
        let recheck = |source| InstallError::Recheck {
            file: verified.to_path_buf(),
            source,
        };
        let mut check =
            IntegrityCheck::new(Some(info.length), Some(&info.hashes)).map_err(recheck)?;
        let mut ctx = digest::Context::new(&digest::SHA256);
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(io_err("reading", &staged_path))?;
            if n == 0 {
                break;
            }
            check.update(&buf[..n]).map_err(recheck)?;
            ctx.update(&buf[..n]);
        }
        check.finish().map_err(recheck)?;
        observer(InstallStep::Rechecked {
            staged: staged_path,
        });
        Ok(Staged {
            path: staged,
            sha256: hex::encode(ctx.finish()),
        })
    }

    /// Steps 3 and 4: keep the current executable as `previous`, then rename the
    /// staged file over the executable.
    fn keep_previous_and_swap(
        &self,
        staged: tempfile::TempPath,
        layout: &Layout,
        observer: &mut dyn FnMut(InstallStep),
    ) -> Result<(), InstallError> {
        self.keep_previous(layout)?;
        observer(InstallStep::PreviousKept {
            previous: layout.previous.clone(),
        });
        let staged = staged
            .keep()
            .map_err(|e| io_err("keeping", &e.path)(e.error))?;
        if let Err(e) = platform::replace_exe(&staged, &layout.exe) {
            if let Err(re) = remove_if_exists(&staged) {
                tracing::warn!(staged = %staged.display(), error = %re, "could not remove the staged file");
            }
            return Err(io_err("renaming the staged file over", &layout.exe)(e));
        }
        // The rename happened. A failed directory fsync only weakens durability
        // against power loss; start-up resolves either outcome by content.
        if let Err(e) = platform::sync_dir(&layout.dir) {
            tracing::warn!(dir = %layout.dir.display(), error = %e, "could not fsync the directory after the swap");
        }
        observer(InstallStep::Swapped {
            exe: layout.exe.clone(),
        });
        Ok(())
    }

    /// Makes `previous` the current executable: a hard link under a temporary name
    /// (or, where links are refused, a copy), renamed over any older `previous`.
    fn keep_previous(&self, layout: &Layout) -> Result<(), InstallError> {
        let mut tmp_name = layout.previous_tmp_prefix.clone();
        tmp_name.push(format!("{}.link", std::process::id()));
        let tmp = layout.dir.join(tmp_name);
        remove_if_exists(&tmp).map_err(io_err("removing", &tmp))?;
        match fs::hard_link(&layout.exe, &tmp) {
            Ok(()) => {
                if let Err(e) = fs::rename(&tmp, &layout.previous) {
                    if let Err(re) = remove_if_exists(&tmp) {
                        tracing::warn!(file = %tmp.display(), error = %re, "cannot remove a temporary link");
                    }
                    return Err(io_err("renaming over", &layout.previous)(e));
                }
                // rename(2) of one link of a file over another link of the same file
                // does nothing and leaves both names: remove the temporary name.
                remove_if_exists(&tmp).map_err(io_err("removing", &tmp))?;
            }
            Err(e) => {
                tracing::info!(exe = %layout.exe.display(), error = %e, "cannot hard-link the executable; copying it");
                self.copy_previous(layout)?;
            }
        }
        platform::sync_dir(&layout.dir).map_err(io_err("flushing the directory", &layout.dir))
    }

    fn copy_previous(&self, layout: &Layout) -> Result<(), InstallError> {
        let exe = &layout.exe;
        let mut source = fs::File::open(exe).map_err(io_err("opening", exe))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(&layout.previous_tmp_prefix)
            .tempfile_in(&layout.dir)
            .map_err(io_err("creating a file in", &layout.dir))?;
        io::copy(&mut source, tmp.as_file_mut()).map_err(io_err("copying", exe))?;
        tmp.as_file()
            .sync_all()
            .map_err(io_err("flushing", tmp.path()))?;
        let meta = source
            .metadata()
            .map_err(io_err("reading the metadata of", exe))?;
        platform::copy_permissions(&meta, tmp.path())
            .map_err(io_err("setting the permissions of", tmp.path()))?;
        tmp.persist(&layout.previous)
            .map_err(|e| io_err("renaming over", &layout.previous)(e.error))?;
        platform::sync_file(&layout.previous).map_err(io_err("flushing", &layout.previous))
    }

    /// Call at every program start, before anything else: completes or undoes an
    /// interrupted install, counts starts of an unconfirmed new version, and rolls
    /// back to the previous binary when the new version did not confirm by its
    /// second start. Also removes stray staged and temporary files next to the
    /// executable.
    ///
    /// Guarantees: decisions rest on the journal and on the executable's actual
    /// content, so every crash point of [`Installer::install`] and of a rollback is
    /// resolved; the executable is only ever changed by one atomic rename of the kept
    /// previous binary; a missing or corrupt journal never leads to touching it.
    ///
    /// An error here should be logged, not treated as fatal: the program on disk is
    /// intact, and the next start tries again.
    ///
    /// # Errors
    /// [`InstallError::PreviousUnusable`] when a rollback is due but the previous
    /// binary is missing or altered (the executable is left as it is);
    /// [`InstallError::Io`].
    pub fn on_startup(&self) -> Result<StartupOutcome, InstallError> {
        let layout = self.layout()?;
        self.restore_replaced(&layout);
        self.remove_leftovers(&layout);
        let journal = self.journal();
        let Some(record) = journal.load_or_set_aside()? else {
            return Ok(StartupOutcome::Clean);
        };
        if !record.state.is_pending() {
            return Ok(StartupOutcome::Clean);
        }
        let exe_sha256 = sha256_if_exists(&layout.exe)?;
        let holds_new = exe_sha256.as_deref() == Some(record.new_sha256.as_str());
        let holds_old = exe_sha256.as_deref() == Some(record.old_sha256.as_str());
        match resolve(&record, holds_old, holds_new) {
            Resolution::Undo => self.undo_install(&layout, record),
            Resolution::CountStart => {
                let (version, start) = journal.count_start(record)?;
                Ok(StartupOutcome::AwaitingConfirmation { version, start })
            }
            Resolution::RollBack(reason) => Ok(StartupOutcome::RolledBack(
                self.roll_back(&layout, record, reason)?,
            )),
            Resolution::FinishRollback => {
                Ok(StartupOutcome::RolledBack(journal.finish_rollback(record)?))
            }
            Resolution::ReplacedOutside => {
                tracing::warn!(
                    exe = %layout.exe.display(), journal = %self.journal_path().display(), state = %record.state,
                    "the executable holds neither the old nor the new binary of the recorded install; it was replaced outside the updater; clearing the journal"
                );
                journal.clear_record()?;
                Ok(StartupOutcome::ReplacedOutside {
                    exe: layout.exe.clone(),
                })
            }
        }
    }

    /// The install stopped before the swap: the executable is the old binary.
    fn undo_install(
        &self,
        layout: &Layout,
        record: JournalRecord,
    ) -> Result<StartupOutcome, InstallError> {
        // A `previous` made by this install is a copy of the executable: useless.
        if sha256_if_exists(&layout.previous)?.as_deref() == Some(record.old_sha256.as_str()) {
            remove_if_exists(&layout.previous).map_err(io_err("removing", &layout.previous))?;
        }
        self.journal().clear_record()?;
        tracing::warn!(exe = %layout.exe.display(), version = %record.to_version, "an interrupted install was undone");
        Ok(StartupOutcome::InterruptedInstallUndone {
            to_version: record.to_version,
        })
    }

    /// Renames the previous binary back over the executable, journaling
    /// `rolling_back` before and `rolled_back` after.
    fn roll_back(
        &self,
        layout: &Layout,
        mut record: JournalRecord,
        reason: String,
    ) -> Result<RolledBack, InstallError> {
        let unusable = |problem: String| InstallError::PreviousUnusable {
            exe: layout.exe.clone(),
            previous: layout.previous.clone(),
            problem,
        };
        match sha256_if_exists(&layout.previous)? {
            None => return Err(unusable("is missing".into())),
            Some(h) if h != record.old_sha256 => {
                return Err(unusable(format!(
                    "does not hold version {} (its SHA-256 differs from the journal's)",
                    record.from_version
                )))
            }
            Some(_) => {}
        }
        record.state = JournalState::RollingBack;
        record.reason = Some(reason);
        self.journal().save_record(&record)?;
        platform::replace_exe(&layout.previous, &layout.exe)
            .map_err(io_err("renaming the previous binary over", &layout.exe))?;
        platform::sync_dir(&layout.dir).map_err(io_err("flushing the directory", &layout.dir))?;
        self.journal().finish_rollback(record)
    }

    /// Removes `.{name}.staged-*` and `.{name}.previous-*` files left by a crash, and
    /// `.{name}.replaced-*` ones nothing runs any more. Best effort: failures are logged
    /// (a replaced executable still running cannot be deleted on Windows).
    fn remove_leftovers(&self, layout: &Layout) {
        let entries = match fs::read_dir(&layout.dir) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(dir = %layout.dir.display(), error = %e, "cannot list the executable's directory");
                return;
            }
        };
        let prefixes = [
            &layout.staged_prefix,
            &layout.previous_tmp_prefix,
            &layout.replaced_prefix,
        ];
        for entry in entries.flatten() {
            let name = entry.file_name();
            if prefixes
                .iter()
                .any(|p| name.as_encoded_bytes().starts_with(p.as_encoded_bytes()))
            {
                let path = entry.path();
                match fs::remove_file(&path) {
                    Ok(()) => {
                        tracing::info!(file = %path.display(), "removed a leftover of an interrupted install")
                    }
                    Err(e) => {
                        tracing::warn!(file = %path.display(), error = %e, "cannot remove a leftover of an interrupted install")
                    }
                }
            }
        }
    }

    /// The running new version declares itself healthy; the install is final. The
    /// previous binary stays for a manual [`Installer::rollback`].
    ///
    /// Only a version that has started (counted by [`Installer::on_startup`]) can
    /// confirm: a call while the new version has not started yet, or with nothing
    /// pending, does nothing and returns `Ok` (so calling it at every healthy start
    /// is fine).
    ///
    /// # Errors
    /// [`InstallError::Io`] when the journal cannot be read or written.
    pub fn confirm(&self) -> Result<(), InstallError> {
        self.journal().confirm()
    }

    /// Manual rollback to the kept previous binary (which exists after any install,
    /// confirmed or not): renames it back over the executable, atomically. Returns
    /// `None` when there is nothing to roll back to (no install recorded, already
    /// rolled back, or the previous binary is gone).
    ///
    /// # Errors
    /// [`InstallError::Pending`] when an install is still in progress (call
    /// [`Installer::on_startup`] first); [`InstallError::ExeChanged`] when the
    /// executable was replaced outside the updater; [`InstallError::PreviousUnusable`];
    /// [`InstallError::Io`].
    pub fn rollback(&self) -> Result<Option<RolledBack>, InstallError> {
        let layout = self.layout()?;
        let record = match self
            .journal()
            .request_rollback(&layout.exe, |_| sha256_if_exists(&layout.exe))?
        {
            RollbackRequest::Done(done) => return Ok(done),
            RollbackRequest::Swap(record) => record,
        };
        if !layout.previous.exists() {
            tracing::warn!(previous = %layout.previous.display(), "the previous binary is gone; nothing to roll back to");
            return Ok(None);
        }
        let reason = format!("rollback from version {} was requested", record.to_version);
        self.roll_back(&layout, record, reason).map(Some)
    }

    /// The journal's current record, if any (for status displays).
    ///
    /// # Errors
    /// [`InstallError::JournalCorrupt`] (reading never moves the journal);
    /// [`InstallError::Io`].
    pub fn status(&self) -> Result<Option<JournalRecord>, InstallError> {
        self.journal().status()
    }

    /// The journal's record when it says an install awaits confirmation *and* the
    /// executable on disk is the one that install put there (by sha256). An
    /// executable replaced since (by a package manager, by hand) means the record
    /// no longer describes what runs: `None` then, and [`Installer::on_startup`]
    /// sets the record aside.
    ///
    /// # Errors
    /// As [`Installer::status`].
    pub fn awaiting_confirmation(&self) -> Result<Option<JournalRecord>, InstallError> {
        Ok(self.status()?.filter(|record| {
            record.state == JournalState::AwaitingConfirmation
                && sha256_file(&record.exe).is_ok_and(|h| h == record.new_sha256)
        }))
    }
}

/// A staged copy that passed the re-check.
struct Staged {
    /// Removed on drop unless kept.
    path: tempfile::TempPath,
    sha256: String,
}
