//! Installing a whole application directory from a verified bundle archive, with the
//! same journal, start-up resolution, confirmation and rollback as an executable.
//!
//! ## Layout (all in the application directory's parent, so renames stay atomic)
//!
//! ```text
//! APP/                 the installed tree (what the application runs from)
//! .APP.next/           the new tree while it is staged; for a moment after an
//!                      exchange, the old tree on its way to .APP.previous
//! .APP.previous/       the tree before the last install, kept for rollback
//! .APP.trash-*/        trees being removed (renamed first, so removal is atomic)
//! ```
//!
//! ## An install ([`DirectoryInstaller::install`])
//!
//! 1. The archive is extracted into `.APP.next` ([`crate::bundle::extract_verified`]:
//!    hashed against its signed length and hashes first, every entry checked, the
//!    signed entry count and size enforced, everything flushed).
//! 2. The preserved paths ([`BundleSpec::preserve`]) are copied from `APP` into it,
//!    and it gets `APP`'s permission bits.
//! 3. The digests of both trees ([`crate::bundle::tree::digest`], preserved paths left
//!    out) are journaled with the state `installing`.
//! 4. The older `.APP.previous` is removed; then `.APP.next` and `APP` are swapped
//!    (see `swap`), and the old tree becomes `.APP.previous`. The journal then says
//!    `awaiting_confirmation`.
//!
//! Files in `APP` that the new release does not ship and that are not preserved are
//! not carried over: they are logged by name and stay in `.APP.previous` until the
//! next install. List what the application keeps in its directory in `preserve`.
//!
//! Start-up, confirmation and rollback decide exactly as for an executable (the
//! journal's state plus the digest of what is on disk); a rollback swaps
//! `.APP.previous` back in, carrying the preserved paths along.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::journal::{self, InstalledKind, Journal, JournalRecord, JournalState};
use super::resolve::{resolve, Resolution, RollbackRequest};
use super::swap::swap_in;
use super::types::io_err;
use super::{hidden_name, InstallError, InstallReceipt, InstallStep, RolledBack, StartupOutcome};
use crate::bundle::{self, tree, BundleSpec, EntryPath};
use crate::metadata::TargetFile;
use crate::store::{parent_dir, sync_dir};

/// Installs verified bundle archives over one application directory (see the module
/// docs for the layout). Cheap to create; holds no open files and no state between
/// calls.
#[derive(Debug, Clone)]
pub struct DirectoryInstaller {
    dir: PathBuf,
    data_dir: PathBuf,
}

/// The paths a directory install works with.
#[derive(Debug)]
struct DirLayout {
    dir: PathBuf,
    parent: PathBuf,
    next: PathBuf,
    previous: PathBuf,
    trash_prefix: OsString,
}

impl DirLayout {
    fn trash(&self) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut name = self.trash_prefix.clone();
        name.push(format!("{}-{nanos}", std::process::id()));
        self.parent.join(name)
    }
}

fn preserved_of(record: &JournalRecord) -> Vec<EntryPath> {
    record
        .preserve
        .iter()
        .filter_map(|p| EntryPath::parse(p.as_bytes()).ok())
        .collect()
}

fn digest_if_exists(dir: &Path, preserved: &[EntryPath]) -> Result<Option<String>, InstallError> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => tree::digest(dir, preserved)
            .map(Some)
            .map_err(io_err("reading the tree", dir)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("reading", dir)(e)),
    }
}

impl DirectoryInstaller {
    /// An installer for the application directory `dir` that keeps its journal at
    /// `data_dir/install-journal.json`. Touches nothing on disk. The data directory
    /// must not be inside `dir` (it would be swapped away with the tree); a symbolic
    /// link at `dir` is resolved when installing.
    pub fn new(dir: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> DirectoryInstaller {
        DirectoryInstaller {
            dir: dir.into(),
            data_dir: data_dir.into(),
        }
    }

    /// The application directory this installer replaces.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The journal file.
    pub fn journal_path(&self) -> PathBuf {
        self.journal().path().to_path_buf()
    }

    pub(super) fn journal(&self) -> Journal {
        Journal::in_dir(&self.data_dir)
    }

    fn layout(&self) -> Result<DirLayout, InstallError> {
        let dir = match fs::symlink_metadata(&self.dir) {
            Ok(m) if m.file_type().is_symlink() => {
                fs::canonicalize(&self.dir).map_err(io_err("resolving the link", &self.dir))?
            }
            _ => self.dir.clone(),
        };
        let Some(name) = dir.file_name().map(OsStr::to_os_string) else {
            return Err(InstallError::AppDirMissing { dir });
        };
        let parent = parent_dir(&dir).to_path_buf();
        Ok(DirLayout {
            next: parent.join(hidden_name(&name, ".next")),
            previous: parent.join(hidden_name(&name, ".previous")),
            trash_prefix: hidden_name(&name, ".trash-"),
            parent,
            dir,
        })
    }

    /// Installs the verified bundle archive `archive` (described by `info`, the
    /// trusted metadata it was verified against, and `spec`, its release's signed
    /// bundle declaration) over the application directory, replacing
    /// `from_version` by `to_version`. `observer` is told each step (a directory
    /// install reports `swapped` before `previous_kept`: the swap is what keeps the
    /// previous tree).
    ///
    /// Guarantees: nothing outside the staging directory `.APP.next` is written until
    /// the archive has been verified and extracted in full; on Linux the application
    /// directory names, at every instant, the complete old tree or the complete new
    /// one (elsewhere see the module docs); the old tree is kept as `.APP.previous`;
    /// a crash at any point is resolved by [`DirectoryInstaller::on_startup`]. On error
    /// the application directory is unchanged and the staging directory is removed.
    ///
    /// # Errors
    /// [`InstallError::AppDirMissing`], [`InstallError::Archive`] (the archive was
    /// refused), [`InstallError::DirNotWritable`], [`InstallError::AlreadyInstalled`],
    /// [`InstallError::Pending`], [`InstallError::Io`].
    pub fn install(
        &self,
        archive: &Path,
        info: &TargetFile,
        spec: &BundleSpec,
        from_version: &str,
        to_version: &str,
        observer: &mut dyn FnMut(InstallStep),
    ) -> Result<InstallReceipt, InstallError> {
        let layout = self.layout()?;
        let dir_meta = match fs::metadata(&layout.dir) {
            Ok(m) if m.is_dir() => m,
            _ => return Err(InstallError::AppDirMissing { dir: layout.dir }),
        };
        let journal = self.journal();
        let prior = journal.load_or_set_aside()?;
        if let Some(record) = prior.as_ref().filter(|r| r.state.is_pending()) {
            return Err(journal.pending_error(&layout.dir, record));
        }
        tracing::info!(dir = %layout.dir.display(), from = from_version, to = to_version, "installing a bundle");
        self.remove_leftovers(&layout);

        fs::create_dir(&layout.next).map_err(|source| match source.kind() {
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                InstallError::DirNotWritable {
                    dir: layout.parent.clone(),
                    source,
                }
            }
            _ => io_err("creating", &layout.next)(source),
        })?;
        let staged = match self.stage(archive, info, spec, &layout, &dir_meta, observer) {
            Ok(staged) => staged,
            Err(e) => {
                self.discard_quietly(&layout, &layout.next);
                return Err(e);
            }
        };
        if staged.old_digest == staged.new_digest {
            self.discard_quietly(&layout, &layout.next);
            return Err(InstallError::AlreadyInstalled {
                file: archive.to_path_buf(),
                exe: layout.dir.clone(),
            });
        }
        self.report_left_behind(&layout, &staged.preserved);

        let mut record = JournalRecord {
            format: journal::FORMAT,
            exe: layout.dir.clone(),
            from_version: from_version.to_string(),
            to_version: to_version.to_string(),
            old_sha256: staged.old_digest,
            new_sha256: staged.new_digest,
            previous: layout.previous.clone(),
            state: JournalState::Installing,
            starts: 0,
            reason: None,
            kind: InstalledKind::Directory,
            preserve: spec.preserve.clone(),
        };
        if let Err(e) = journal.save_record(&record) {
            self.discard_quietly(&layout, &layout.next);
            return Err(e);
        }
        observer(InstallStep::JournalWritten {
            journal: self.journal_path(),
        });
        if let Err(e) = self.swap(&layout) {
            // Decided by content: only when the old tree is still in place is the
            // install undone here. Otherwise the journal (`installing`) and the old
            // tree under `.APP.next` stay for start-up, which completes the install.
            let current = digest_if_exists(&layout.dir, &staged.preserved)
                .ok()
                .flatten();
            if current.as_deref() == Some(record.old_sha256.as_str()) {
                journal.restore(prior.as_ref());
                self.discard_quietly(&layout, &layout.next);
            } else {
                tracing::error!(dir = %layout.dir.display(), error = %e, "the swap failed part-way; the next start completes or undoes the install");
            }
            return Err(e);
        }
        observer(InstallStep::Swapped {
            exe: layout.dir.clone(),
        });
        observer(InstallStep::PreviousKept {
            previous: layout.previous.clone(),
        });
        record.state = JournalState::AwaitingConfirmation;
        if let Err(e) = journal.save_record(&record) {
            tracing::warn!(error = %e, "installed, but could not update the journal; the next start completes it");
        }
        observer(InstallStep::Recorded {
            version: to_version.to_string(),
        });
        tracing::info!(dir = %layout.dir.display(), version = to_version, "bundle installed; awaiting confirmation");
        Ok(InstallReceipt {
            from_version: from_version.to_string(),
            to_version: to_version.to_string(),
            exe: layout.dir.clone(),
            previous: layout.previous.clone(),
        })
    }

    /// Steps 1 and 2: the new tree in `.APP.next`, complete and on disk, and both
    /// digests.
    fn stage(
        &self,
        archive: &Path,
        info: &TargetFile,
        spec: &BundleSpec,
        layout: &DirLayout,
        dir_meta: &fs::Metadata,
        observer: &mut dyn FnMut(InstallStep),
    ) -> Result<Staged, InstallError> {
        observer(InstallStep::Staging {
            staged: layout.next.clone(),
        });
        bundle::extract_verified(archive, info, spec, &layout.next)?;
        observer(InstallStep::Rechecked {
            staged: layout.next.clone(),
        });
        let preserved = spec.preserved();
        tree::copy_preserved(&layout.dir, &layout.next, &preserved)
            .map_err(io_err("carrying preserved paths into", &layout.next))?;
        fs::set_permissions(&layout.next, dir_meta.permissions())
            .map_err(io_err("setting the permissions of", &layout.next))?;
        observer(InstallStep::PermissionsCopied {
            exe: layout.dir.clone(),
        });
        sync_dir(&layout.next).map_err(io_err("flushing", &layout.next))?;
        sync_dir(&layout.parent).map_err(io_err("flushing", &layout.parent))?;
        observer(InstallStep::Synced {
            staged: layout.next.clone(),
        });
        let new_digest = tree::digest(&layout.next, &preserved)
            .map_err(io_err("reading the tree", &layout.next))?;
        let old_digest = tree::digest(&layout.dir, &preserved)
            .map_err(io_err("reading the tree", &layout.dir))?;
        Ok(Staged {
            preserved,
            old_digest,
            new_digest,
        })
    }

    /// Step 4: the older previous tree goes, the new tree comes in, the old one is
    /// kept.
    fn swap(&self, layout: &DirLayout) -> Result<(), InstallError> {
        if fs::symlink_metadata(&layout.previous).is_ok() {
            self.discard(layout, &layout.previous)?;
        }
        swap_in(&layout.next, &layout.dir, &layout.previous)
            .map_err(io_err("swapping the new tree in at", &layout.dir))?;
        if let Err(e) = sync_dir(&layout.parent) {
            tracing::warn!(dir = %layout.parent.display(), error = %e, "could not fsync the directory after the swap");
        }
        Ok(())
    }

    /// Logs the entries of the installed tree that the new tree lacks and that are
    /// not preserved: they stay in `.APP.previous` only.
    fn report_left_behind(&self, layout: &DirLayout, preserved: &[EntryPath]) {
        let mut names = Vec::new();
        let mut count = 0u64;
        let walked = tree::walk(&layout.dir, &layout.dir, preserved, &mut |rel, _, _| {
            if fs::symlink_metadata(layout.next.join(rel)).is_err() {
                count += 1;
                if names.len() < 5 {
                    names.push(rel.to_string());
                }
            }
            Ok(())
        });
        if let Err(e) = walked {
            tracing::warn!(dir = %layout.dir.display(), error = %e, "could not list the installed tree");
        } else if count > 0 {
            tracing::warn!(
                dir = %layout.dir.display(), previous = %layout.previous.display(), count, first = ?names,
                "entries of the installed application are in no release and not preserved; they stay in the previous tree until the next install (list them in the release's bundle.preserve to keep them)"
            );
        }
    }

    /// Renames `path` to a trash name, then removes it.
    fn discard(&self, layout: &DirLayout, path: &Path) -> Result<(), InstallError> {
        let trash = layout.trash();
        fs::rename(path, &trash).map_err(io_err("moving aside", path))?;
        sync_dir(&layout.parent).map_err(io_err("flushing", &layout.parent))?;
        if let Err(e) = tree::remove(&trash) {
            tracing::warn!(path = %trash.display(), error = %e, "could not remove an old tree; the next start tries again");
        }
        Ok(())
    }

    fn discard_quietly(&self, layout: &DirLayout, path: &Path) {
        if fs::symlink_metadata(path).is_ok() {
            if let Err(e) = self.discard(layout, path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a staged tree");
            }
        }
    }

    /// Removes trash trees; with no install pending, also a stale `.APP.next`.
    fn remove_leftovers(&self, layout: &DirLayout) {
        self.discard_quietly(layout, &layout.next);
        self.remove_trash(layout);
    }

    fn remove_trash(&self, layout: &DirLayout) {
        let Ok(entries) = fs::read_dir(&layout.parent) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name
                .as_encoded_bytes()
                .starts_with(layout.trash_prefix.as_encoded_bytes())
            {
                match tree::remove(&entry.path()) {
                    Ok(()) => {
                        tracing::info!(path = %entry.path().display(), "removed a leftover tree")
                    }
                    Err(e) => {
                        tracing::warn!(path = %entry.path().display(), error = %e, "cannot remove a leftover tree")
                    }
                }
            }
        }
    }

    /// A crash between the two renames of a fallback swap (install or rollback) left
    /// no tree at the application's path: the kept previous tree, which is the old
    /// version in both cases, is renamed back.
    fn restore_missing(&self, layout: &DirLayout, record: &JournalRecord) {
        if fs::symlink_metadata(&layout.dir).is_ok()
            || fs::symlink_metadata(&layout.previous).is_err()
        {
            return;
        }
        let previous = digest_if_exists(&layout.previous, &preserved_of(record))
            .ok()
            .flatten();
        if previous.as_deref() != Some(record.old_sha256.as_str()) {
            tracing::warn!(dir = %layout.dir.display(), previous = %layout.previous.display(),
                "the application directory is missing and the previous tree is not the recorded old version; left as it is");
            return;
        }
        match fs::rename(&layout.previous, &layout.dir) {
            Ok(()) => {
                tracing::warn!(dir = %layout.dir.display(), "a swap was interrupted; the previous tree was renamed back")
            }
            Err(e) => {
                tracing::warn!(dir = %layout.dir.display(), error = %e, "cannot rename the previous tree back; rename it to the application's name by hand")
            }
        }
    }

    /// Call at every program start, before anything else: the directory counterpart
    /// of [`crate::install::Installer::on_startup`], with the same guarantees. The
    /// application directory is only ever changed by a swap with the kept previous
    /// tree, after that tree's digest matched the journal.
    ///
    /// # Errors
    /// [`InstallError::PreviousUnusable`]; [`InstallError::Io`].
    pub fn on_startup(&self) -> Result<StartupOutcome, InstallError> {
        let layout = self.layout()?;
        let journal = self.journal();
        let pending = journal
            .load_or_set_aside()?
            .filter(|r| r.state.is_pending());
        if let Some(record) = &pending {
            self.restore_missing(&layout, record);
        }
        let Some(record) = pending else {
            self.remove_leftovers(&layout);
            return Ok(StartupOutcome::Clean);
        };
        let preserved = preserved_of(&record);
        let current = digest_if_exists(&layout.dir, &preserved)?;
        let holds_new = current.as_deref() == Some(record.new_sha256.as_str());
        let holds_old = current.as_deref() == Some(record.old_sha256.as_str());
        if fs::symlink_metadata(&layout.next).is_ok() {
            let next_is_old = holds_new
                && digest_if_exists(&layout.next, &preserved)?.as_deref()
                    == Some(record.old_sha256.as_str());
            if next_is_old {
                // The exchange happened; `.APP.next` is the old tree on its way to
                // `.APP.previous` (checked by its digest: nothing else replaces a
                // kept tree).
                if fs::symlink_metadata(&layout.previous).is_ok() {
                    self.discard(&layout, &layout.previous)?;
                }
                fs::rename(&layout.next, &layout.previous)
                    .map_err(io_err("keeping the previous tree at", &layout.previous))?;
                sync_dir(&layout.parent).map_err(io_err("flushing", &layout.parent))?;
            } else {
                self.discard_quietly(&layout, &layout.next);
            }
        }
        self.remove_trash(&layout);
        match resolve(&record, holds_old, holds_new) {
            Resolution::Undo => {
                journal.clear_record()?;
                tracing::warn!(dir = %layout.dir.display(), version = %record.to_version, "an interrupted install was undone");
                Ok(StartupOutcome::InterruptedInstallUndone {
                    to_version: record.to_version,
                })
            }
            Resolution::CountStart => {
                let (version, start) = journal.count_start(record)?;
                Ok(StartupOutcome::AwaitingConfirmation { version, start })
            }
            Resolution::RollBack(reason) => match self.roll_back(&layout, record.clone(), reason) {
                Ok(rolled) => Ok(StartupOutcome::RolledBack(rolled)),
                // The previous tree changed (something wrote into it after the swap):
                // it cannot be swapped back. Reported once; the journal then keeps the
                // installed version, so later starts are not refused for ever.
                Err(e @ InstallError::PreviousUnusable { .. }) => {
                    let mut kept = record;
                    kept.state = JournalState::Confirmed;
                    kept.reason = Some(format!("rollback impossible: {e}"));
                    journal.save_record(&kept)?;
                    tracing::error!(error = %e, "cannot roll back; the installed version is kept");
                    Err(e)
                }
                Err(e) => Err(e),
            },
            Resolution::FinishRollback => {
                Ok(StartupOutcome::RolledBack(journal.finish_rollback(record)?))
            }
            Resolution::ReplacedOutside => {
                tracing::warn!(
                    dir = %layout.dir.display(), journal = %journal.path().display(), state = %record.state,
                    "the application directory holds neither the old nor the new tree of the recorded install; it was replaced outside the updater; clearing the journal"
                );
                journal.clear_record()?;
                Ok(StartupOutcome::ReplacedOutside {
                    exe: layout.dir.clone(),
                })
            }
        }
    }

    /// Swaps the kept previous tree back in, journaling `rolling_back` before and
    /// `rolled_back` after. Preserved paths go back with it.
    fn roll_back(
        &self,
        layout: &DirLayout,
        mut record: JournalRecord,
        reason: String,
    ) -> Result<RolledBack, InstallError> {
        let preserved = preserved_of(&record);
        let unusable = |problem: String| InstallError::PreviousUnusable {
            exe: layout.dir.clone(),
            previous: layout.previous.clone(),
            problem,
        };
        match digest_if_exists(&layout.previous, &preserved)? {
            None => return Err(unusable("is missing".into())),
            Some(h) if h != record.old_sha256 => {
                return Err(unusable(format!(
                    "does not hold version {} (its tree digest differs from the journal's)",
                    record.from_version
                )))
            }
            Some(_) => {}
        }
        record.state = JournalState::RollingBack;
        record.reason = Some(reason);
        self.journal().save_record(&record)?;
        tree::copy_preserved(&layout.dir, &layout.previous, &preserved)
            .map_err(io_err("carrying preserved paths into", &layout.previous))?;
        let trash = layout.trash();
        swap_in(&layout.previous, &layout.dir, &trash)
            .map_err(io_err("swapping the previous tree back in at", &layout.dir))?;
        sync_dir(&layout.parent).map_err(io_err("flushing", &layout.parent))?;
        if let Err(e) = tree::remove(&trash) {
            tracing::warn!(path = %trash.display(), error = %e, "could not remove the abandoned tree; the next start tries again");
        }
        self.journal().finish_rollback(record)
    }

    /// The running new version declares itself healthy (see
    /// [`crate::install::Installer::confirm`]).
    ///
    /// # Errors
    /// [`InstallError::Io`] when the journal cannot be read or written.
    pub fn confirm(&self) -> Result<(), InstallError> {
        self.journal().confirm()
    }

    /// Manual rollback to the kept previous tree (see
    /// [`crate::install::Installer::rollback`]). `None` when there is nothing to roll
    /// back to.
    ///
    /// # Errors
    /// [`InstallError::Pending`], [`InstallError::ExeChanged`],
    /// [`InstallError::PreviousUnusable`], [`InstallError::Io`].
    pub fn rollback(&self) -> Result<Option<RolledBack>, InstallError> {
        let layout = self.layout()?;
        let journal = self.journal();
        let record = match journal.request_rollback(&layout.dir, |record| {
            digest_if_exists(&layout.dir, &preserved_of(record))
        })? {
            RollbackRequest::Done(done) => return Ok(done),
            RollbackRequest::Swap(record) => record,
        };
        if fs::symlink_metadata(&layout.previous).is_err() {
            tracing::warn!(previous = %layout.previous.display(), "the previous tree is gone; nothing to roll back to");
            return Ok(None);
        }
        let reason = format!("rollback from version {} was requested", record.to_version);
        self.roll_back(&layout, record, reason).map(Some)
    }

    /// The journal's current record, if any.
    ///
    /// # Errors
    /// [`InstallError::JournalCorrupt`]; [`InstallError::Io`].
    pub fn status(&self) -> Result<Option<JournalRecord>, InstallError> {
        self.journal().status()
    }

    /// The journal's record when it says an install awaits confirmation *and* the
    /// application directory holds the tree that install put there.
    ///
    /// # Errors
    /// As [`DirectoryInstaller::status`].
    pub fn awaiting_confirmation(&self) -> Result<Option<JournalRecord>, InstallError> {
        Ok(self.status()?.filter(|record| {
            record.state == JournalState::AwaitingConfirmation
                && tree::digest(&record.exe, &preserved_of(record))
                    .is_ok_and(|h| h == record.new_sha256)
        }))
    }
}

/// A staged tree and the digests that tell the two trees apart.
struct Staged {
    preserved: Vec<EntryPath>,
    old_digest: String,
    new_digest: String,
}
