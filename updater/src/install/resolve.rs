//! What executable and directory installs share: the journal operations that do not
//! depend on what is installed, and the start-up decision, which rests on the
//! journal's state and on which digest the installed thing has.

use std::path::Path;

use super::journal::{Journal, JournalRecord, JournalState, Loaded};
use super::types::io_err;
use super::{InstallError, RolledBack};

/// What start-up must do about a pending record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Resolution {
    /// The install stopped before the swap: the old version is in place.
    Undo,
    /// The new version is in place and may start (again) unconfirmed.
    CountStart,
    /// The new version is in place and must go, for this reason.
    RollBack(String),
    /// A rollback whose swap is done: only the journal is left to update.
    FinishRollback,
    /// Neither the old nor the new version is in place.
    ReplacedOutside,
}

/// Decides what start-up does about `record` (which must be pending), given whether
/// the installed executable or tree holds the old or the new version.
pub(super) fn resolve(record: &JournalRecord, holds_old: bool, holds_new: bool) -> Resolution {
    match record.state {
        JournalState::Installing if holds_old => Resolution::Undo,
        JournalState::Installing | JournalState::AwaitingConfirmation if holds_new => {
            if record.state == JournalState::AwaitingConfirmation && record.starts >= 1 {
                Resolution::RollBack(format!(
                    "version {} started {} time(s) without confirming that it is healthy",
                    record.to_version,
                    record.starts.saturating_add(1)
                ))
            } else {
                Resolution::CountStart
            }
        }
        JournalState::RollingBack if holds_new => Resolution::RollBack(
            record
                .reason
                .clone()
                .unwrap_or_else(|| "an interrupted rollback was resumed".to_string()),
        ),
        JournalState::AwaitingConfirmation | JournalState::RollingBack if holds_old => {
            Resolution::FinishRollback
        }
        _ => Resolution::ReplacedOutside,
    }
}

/// Where a requested rollback stands once the journal and what is installed agree
/// that one is possible (see [`Journal::request_rollback`]).
pub(super) enum RollbackRequest {
    /// Nothing to do, or only the journal was left to update: the result.
    Done(Option<RolledBack>),
    /// The new version is installed: swap the kept previous one back in.
    Swap(JournalRecord),
}

impl Journal {
    /// The decision of a manual rollback, shared by both installers: nothing after a
    /// rollback or with no record, refused while an install is pending, completed when
    /// an interrupted rollback already put the old version back, refused when
    /// `installed` holds neither version; else the swap is due. `identify` gives the
    /// digest of what `installed` holds now (it needs the record, for a directory's
    /// preserved paths).
    pub(super) fn request_rollback(
        &self,
        installed: &Path,
        identify: impl FnOnce(&JournalRecord) -> Result<Option<String>, InstallError>,
    ) -> Result<RollbackRequest, InstallError> {
        let Some(record) = self.load_or_set_aside()? else {
            return Ok(RollbackRequest::Done(None));
        };
        match record.state {
            JournalState::RolledBack => return Ok(RollbackRequest::Done(None)),
            JournalState::Installing => return Err(self.pending_error(installed, &record)),
            _ => {}
        }
        let current = identify(&record)?;
        if current.as_deref() == Some(record.old_sha256.as_str())
            && record.state != JournalState::Confirmed
        {
            // A rollback that was interrupted after its swap (as on_startup does).
            return Ok(RollbackRequest::Done(Some(self.finish_rollback(record)?)));
        }
        if current.as_deref() != Some(record.new_sha256.as_str()) {
            return Err(InstallError::ExeChanged {
                exe: installed.to_path_buf(),
                journal: self.path().to_path_buf(),
                version: record.to_version,
            });
        }
        Ok(RollbackRequest::Swap(record))
    }

    /// Reads the journal; a corrupt one is logged and set aside (and counts as none).
    pub(super) fn load_or_set_aside(&self) -> Result<Option<JournalRecord>, InstallError> {
        match self.load().map_err(io_err("reading", self.path()))? {
            Loaded::Missing => Ok(None),
            Loaded::Record(record) => Ok(Some(record)),
            Loaded::Corrupt(reason) => {
                match self.set_aside() {
                    Ok(aside) => tracing::warn!(
                        journal = %self.path().display(), moved_to = %aside.display(), %reason,
                        "install journal is corrupt; set it aside, the installed program is left as it is"
                    ),
                    Err(e) => tracing::warn!(
                        journal = %self.path().display(), %reason, error = %e,
                        "install journal is corrupt and could not be set aside; ignoring it"
                    ),
                }
                Ok(None)
            }
        }
    }

    /// Writes `record`, as an [`InstallError`] naming the journal.
    pub(super) fn save_record(&self, record: &JournalRecord) -> Result<(), InstallError> {
        self.save(record)
            .map_err(io_err("writing the install journal", self.path()))
    }

    /// Removes the journal, as an [`InstallError`] naming it.
    pub(super) fn clear_record(&self) -> Result<(), InstallError> {
        self.clear().map_err(io_err("removing", self.path()))
    }

    /// Puts `prior` back (or removes the journal when there was none): an install
    /// failed before its swap. Failures are logged; start-up resolves by content.
    pub(super) fn restore(&self, prior: Option<&JournalRecord>) {
        let restored = match prior {
            Some(p) => self.save(p),
            None => self.clear(),
        };
        if let Err(e) = restored {
            tracing::warn!(error = %e, "could not restore the install journal; the next start resolves it");
        }
    }

    /// The error for an install refused because `record` is unresolved.
    pub(super) fn pending_error(&self, installed: &Path, record: &JournalRecord) -> InstallError {
        InstallError::Pending {
            exe: installed.to_path_buf(),
            journal: self.path().to_path_buf(),
            to_version: record.to_version.clone(),
            state: record.state,
        }
    }

    /// Records a rollback whose swap is done.
    pub(super) fn finish_rollback(
        &self,
        mut record: JournalRecord,
    ) -> Result<RolledBack, InstallError> {
        record.state = JournalState::RolledBack;
        let reason = record
            .reason
            .clone()
            .unwrap_or_else(|| "an interrupted rollback was completed".to_string());
        record.reason = Some(reason.clone());
        self.save_record(&record)?;
        tracing::warn!(from = %record.to_version, to = %record.from_version, %reason, "rolled back");
        Ok(RolledBack {
            from_version: record.to_version,
            to_version: record.from_version,
            reason,
        })
    }

    /// Counts a start of the unconfirmed new version.
    pub(super) fn count_start(
        &self,
        mut record: JournalRecord,
    ) -> Result<(String, u32), InstallError> {
        record.state = JournalState::AwaitingConfirmation;
        record.starts = record.starts.saturating_add(1);
        self.save_record(&record)?;
        tracing::info!(version = %record.to_version, start = record.starts, "new version started; awaiting confirmation");
        Ok((record.to_version, record.starts))
    }

    /// The confirmation of a started new version (see `Installer::confirm`).
    pub(super) fn confirm(&self) -> Result<(), InstallError> {
        let Some(mut record) = self.load_or_set_aside()? else {
            return Ok(());
        };
        if record.state != JournalState::AwaitingConfirmation || record.starts == 0 {
            tracing::debug!(state = %record.state, starts = record.starts, "confirm: nothing to confirm");
            return Ok(());
        }
        record.state = JournalState::Confirmed;
        self.save_record(&record)?;
        tracing::info!(version = %record.to_version, "confirmed");
        Ok(())
    }

    /// The current record; a corrupt journal is an error here (reading never moves it).
    pub(super) fn status(&self) -> Result<Option<JournalRecord>, InstallError> {
        match self.load().map_err(io_err("reading", self.path()))? {
            Loaded::Missing => Ok(None),
            Loaded::Record(record) => Ok(Some(record)),
            Loaded::Corrupt(reason) => Err(InstallError::JournalCorrupt {
                journal: self.path().to_path_buf(),
                reason,
            }),
        }
    }
}
