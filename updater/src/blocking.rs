//! The [`Updater`] for programs without an async runtime: the same operations,
//! each run to completion on a private single-threaded tokio runtime.

use crate::client::Progress;
use crate::error::Error;
use crate::install::{InstallReceipt, InstallStep, RolledBack, StartupOutcome};
use crate::release::{Release, Selection};
use crate::update::{CheckOptions, Downloaded, InstallState, UpdaterBuilder, UpdaterConfig};

/// A blocking [`crate::Updater`]. Do not call it from inside an async runtime (use
/// the async one there).
///
/// ```no_run
/// # fn example() -> Result<(), updater::Error> {
/// # const ROOT_JSON: &[u8] = b"{}";
/// let builder = updater::Updater::builder("my-app", env!("CARGO_PKG_VERSION"))
///     .repository("https://updates.example.com/metadata/", "https://updates.example.com/targets/")
///     .trusted_root(ROOT_JSON)
///     .data_dir("/var/lib/my-app/updater");
/// let mut updater = updater::blocking::Updater::new(builder)?;
/// updater.startup()?;
/// if let Some(release) = updater.check()? {
///     let downloaded = updater.download(&release, None)?;
///     updater.install(&downloaded, |step| eprintln!("{step}"))?;
/// }
/// # Ok(())
/// # }
/// ```
pub struct Updater {
    inner: crate::Updater,
    runtime: tokio::runtime::Runtime,
}

impl Updater {
    /// Builds the updater (see [`UpdaterBuilder::build`]) with its own runtime.
    ///
    /// # Errors
    /// As [`UpdaterBuilder::build`]; [`Error::Config`] when the runtime cannot start.
    pub fn new(builder: UpdaterBuilder) -> Result<Updater, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start a tokio runtime: {e}")))?;
        let inner = runtime.block_on(async { builder.build() })?;
        Ok(Updater { inner, runtime })
    }

    /// See [`crate::Updater::config`].
    pub fn config(&self) -> &UpdaterConfig {
        self.inner.config()
    }

    /// See [`crate::Updater::state`].
    pub fn state(&self) -> &InstallState {
        self.inner.state()
    }

    /// See [`crate::Updater::startup`].
    ///
    /// # Errors
    /// As there.
    pub fn startup(&mut self) -> Result<StartupOutcome, Error> {
        self.inner.startup()
    }

    /// See [`crate::Updater::confirm`].
    ///
    /// # Errors
    /// As there.
    pub fn confirm(&mut self) -> Result<(), Error> {
        self.inner.confirm()
    }

    /// See [`crate::Updater::rollback`].
    ///
    /// # Errors
    /// As there.
    pub fn rollback(&mut self) -> Result<Option<RolledBack>, Error> {
        self.inner.rollback()
    }

    /// See [`crate::Updater::check`].
    ///
    /// # Errors
    /// As there.
    pub fn check(&mut self) -> Result<Option<Release>, Error> {
        self.runtime.block_on(self.inner.check())
    }

    /// See [`crate::Updater::check_with`].
    ///
    /// # Errors
    /// As there.
    pub fn check_with(&mut self, options: &CheckOptions) -> Result<Selection, Error> {
        self.runtime.block_on(self.inner.check_with(options))
    }

    /// See [`crate::Updater::download`].
    ///
    /// # Errors
    /// As there.
    pub fn download(
        &mut self,
        release: &Release,
        progress: Option<Progress<'_>>,
    ) -> Result<Downloaded, Error> {
        self.runtime
            .block_on(self.inner.download(release, progress))
    }

    /// See [`crate::Updater::install`].
    ///
    /// # Errors
    /// As there.
    pub fn install<F>(
        &mut self,
        downloaded: &Downloaded,
        observer: F,
    ) -> Result<InstallReceipt, Error>
    where
        F: FnMut(InstallStep) + Send + 'static,
    {
        self.runtime
            .block_on(self.inner.install(downloaded, observer))
    }
}
