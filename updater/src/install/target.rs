//! What an [`Updater`](crate::Updater) installs over: one executable or a whole
//! application directory, behind one set of calls.

use std::path::Path;

use super::{
    DirectoryInstaller, InstallError, InstallReceipt, InstallStep, Installer, JournalRecord,
    RolledBack, StartupOutcome,
};
use crate::bundle::BundleSpec;
use crate::metadata::TargetFile;

/// An [`Installer`] or a [`DirectoryInstaller`]; releases must match (a bundle for a
/// directory, a plain file for an executable).
#[derive(Debug, Clone)]
pub enum InstallTarget {
    /// Replaces one executable.
    Executable(Installer),
    /// Replaces an application directory from bundle archives.
    Directory(DirectoryInstaller),
}

impl InstallTarget {
    /// The executable or directory replaced.
    pub fn path(&self) -> &Path {
        match self {
            InstallTarget::Executable(i) => i.exe(),
            InstallTarget::Directory(d) => d.dir(),
        }
    }

    /// Installs `verified`: a plain file over the executable, or, when `bundle` is
    /// the release's bundle declaration, an archive over the directory.
    ///
    /// # Errors
    /// [`InstallError::WrongKind`] when the release does not fit the target; else as
    /// [`Installer::install`] or [`DirectoryInstaller::install`].
    pub fn install(
        &self,
        verified: &Path,
        info: &TargetFile,
        bundle: Option<&BundleSpec>,
        from_version: &str,
        to_version: &str,
        observer: &mut dyn FnMut(InstallStep),
    ) -> Result<InstallReceipt, InstallError> {
        match (self, bundle) {
            (InstallTarget::Executable(i), None) => {
                i.install(verified, info, from_version, to_version, observer)
            }
            (InstallTarget::Directory(d), Some(spec)) => {
                d.install(verified, info, spec, from_version, to_version, observer)
            }
            (InstallTarget::Executable(i), Some(_)) => Err(InstallError::WrongKind {
                path: i.exe().to_path_buf(),
                problem: format!("version {to_version} is a bundle (an archive of an application directory) but this updater replaces one executable; configure the install directory (UpdaterBuilder::install_dir)"),
            }),
            (InstallTarget::Directory(d), None) => Err(InstallError::WrongKind {
                path: d.dir().to_path_buf(),
                problem: format!("version {to_version} is a single file, not a bundle, but this updater replaces an application directory; publish the release as a bundle"),
            }),
        }
    }

    /// See [`Installer::on_startup`] and [`DirectoryInstaller::on_startup`].
    ///
    /// # Errors
    /// As those.
    pub fn on_startup(&self) -> Result<StartupOutcome, InstallError> {
        match self {
            InstallTarget::Executable(i) => i.on_startup(),
            InstallTarget::Directory(d) => d.on_startup(),
        }
    }

    /// See [`Installer::confirm`].
    ///
    /// # Errors
    /// As that.
    pub fn confirm(&self) -> Result<(), InstallError> {
        match self {
            InstallTarget::Executable(i) => i.confirm(),
            InstallTarget::Directory(d) => d.confirm(),
        }
    }

    /// See [`Installer::rollback`] and [`DirectoryInstaller::rollback`].
    ///
    /// # Errors
    /// As those.
    pub fn rollback(&self) -> Result<Option<RolledBack>, InstallError> {
        match self {
            InstallTarget::Executable(i) => i.rollback(),
            InstallTarget::Directory(d) => d.rollback(),
        }
    }

    /// See [`Installer::awaiting_confirmation`].
    ///
    /// # Errors
    /// As that.
    pub fn awaiting_confirmation(&self) -> Result<Option<JournalRecord>, InstallError> {
        match self {
            InstallTarget::Executable(i) => i.awaiting_confirmation(),
            InstallTarget::Directory(d) => d.awaiting_confirmation(),
        }
    }

    /// See [`Installer::status`].
    ///
    /// # Errors
    /// As that.
    pub fn status(&self) -> Result<Option<JournalRecord>, InstallError> {
        match self {
            InstallTarget::Executable(i) => i.status(),
            InstallTarget::Directory(d) => d.status(),
        }
    }
}
