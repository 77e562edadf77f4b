//! The [`Updater`]: what an application links this crate for.
//!
//! It composes the parts below it: [`Client`] finds and verifies, [`release`] picks,
//! [`install`](crate::install) swaps and rolls back. One updater serves one application and one data
//! directory, laid out as:
//!
//! ```text
//! DATA_DIR/metadata/            trusted TUF metadata (root.json from the embedded root)
//! DATA_DIR/downloads/           verified downloads (a release is installed from here)
//! DATA_DIR/hooks/               verified post-install hooks, executable
//! DATA_DIR/state.json           installation id, downgrade floor, rolled-back versions
//! DATA_DIR/install-journal.json the install in progress or awaiting confirmation
//! ```
//!
//! A program's life with the updater:
//!
//! 1. At start, [`Updater::startup`] completes or undoes an interrupted install and
//!    rolls back a new version that did not confirm by its second start.
//! 2. Once healthy, [`Updater::confirm`] makes an install final.
//! 3. Any time: [`Updater::check`], [`Updater::download`], [`Updater::install`], then
//!    restart into the new version.
//!
//! [`blocking::Updater`](crate::blocking::Updater) offers the same without a runtime.

mod delta_download;
mod discovery;
mod hook;
mod lock;
mod state;

pub use delta_download::DeltaUsed;
pub use discovery::MAX_RELEASE_LOOKUPS;
pub use hook::{DEFAULT_HOOK_TIMEOUT, MAX_HOOK_TIMEOUT};
pub use lock::{DataDirLock, LOCK_WAIT};
pub use state::InstallState;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::Version;
use time::OffsetDateTime;
use url::Url;

use crate::client::{Client, ClientConfig, Limits, Mirror, Progress};
use crate::error::Error;
#[cfg(feature = "http")]
use crate::fetch::HttpOptions;
use crate::fetch::{Fetcher, TransferLimits};
use crate::install::{
    DirectoryInstaller, InstallReceipt, InstallStep, InstallTarget, Installer, StartupOutcome,
};
use crate::release::{self, Query, Release, Selection};

/// Everything an [`Updater`] needs; build it with [`Updater::builder`].
#[derive(Clone)]
#[non_exhaustive]
pub struct UpdaterConfig {
    /// Application name: the repository directory its releases live in.
    pub app: String,
    /// The running version.
    pub current_version: Version,
    /// The channel followed (default `stable`).
    pub channel: String,
    /// The platform triple releases must be built for (default: this build's).
    pub platform: String,
    /// Where the repository is served, in the order to try.
    pub mirrors: Vec<Mirror>,
    /// The trust anchor shipped with the application (`include_bytes!("root.json")`).
    pub trusted_root: Vec<u8>,
    /// The updater's data directory.
    pub data_dir: PathBuf,
    /// The executable to replace (default: the running one).
    pub executable: PathBuf,
    /// The application directory to replace from bundle releases, when the
    /// application ships as a directory (see [`UpdaterBuilder::install_dir`]).
    pub install_dir: Option<PathBuf>,
    /// TLS and HTTP options.
    #[cfg(feature = "http")]
    pub http: HttpOptions,
    /// Metadata size and count limits.
    pub limits: Limits,
    /// Timeouts, minimum rate and retries.
    pub transfer: TransferLimits,
    /// Fetch the timestamp while the root chain is probed (see
    /// [`ClientConfig::prefetch_timestamp`]); on by default here.
    pub prefetch_timestamp: bool,
}

/// Builds an [`Updater`]; see [`Updater::builder`].
pub struct UpdaterBuilder {
    app: String,
    current_version: String,
    channel: String,
    platform: String,
    mirrors: Vec<(String, String)>,
    trusted_root: Option<Vec<u8>>,
    data_dir: Option<PathBuf>,
    executable: Option<PathBuf>,
    install_dir: Option<PathBuf>,
    #[cfg(feature = "http")]
    http: HttpOptions,
    limits: Limits,
    transfer: TransferLimits,
    prefetch_timestamp: bool,
    fetcher: Option<Arc<dyn Fetcher>>,
}

impl UpdaterBuilder {
    /// Adds a repository location: the base URLs of its `metadata/` and `targets/`.
    /// Locations are tried in the order given (the first is the primary).
    pub fn repository(mut self, metadata_url: &str, targets_url: &str) -> Self {
        self.mirrors.push((metadata_url.into(), targets_url.into()));
        self
    }

    /// The trusted root shipped inside the application. Used to initialise the data
    /// directory the first time (and again if its stored root is destroyed); after
    /// that the client follows the repository's signed root rotations.
    pub fn trusted_root(mut self, root_json: impl Into<Vec<u8>>) -> Self {
        self.trusted_root = Some(root_json.into());
        self
    }

    /// The data directory (required).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The channel to follow (default `stable`).
    pub fn channel(mut self, channel: &str) -> Self {
        self.channel = channel.into();
        self
    }

    /// The platform triple to look for (default [`release::current_platform`]).
    pub fn platform(mut self, platform: &str) -> Self {
        self.platform = platform.into();
        self
    }

    /// The application directory to replace: releases are then bundles (archives of
    /// the whole directory, see [`crate::bundle`]), installed with
    /// [`DirectoryInstaller`]. The executable ([`UpdaterBuilder::executable`]) may
    /// still be named, usually as a file inside this directory; the data directory
    /// must be outside it.
    pub fn install_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.install_dir = Some(dir.into());
        self
    }

    /// The executable to replace (default `std::env::current_exe()`).
    pub fn executable(mut self, path: impl Into<PathBuf>) -> Self {
        self.executable = Some(path.into());
        self
    }

    /// HTTP and TLS options (CA file, proxy, plain `http://`).
    #[cfg(feature = "http")]
    pub fn http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Transfer limits (timeouts, minimum rate, retries).
    pub fn transfer_limits(mut self, transfer: TransferLimits) -> Self {
        self.transfer = transfer;
        self
    }

    /// Metadata limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether `timestamp.json` travels while the root chain is probed, so that a
    /// check of an unchanged repository costs one round trip instead of two (on by
    /// default; trust still decides in the specification's order). Off gives the
    /// strictly sequential requests of the specification's workflow.
    pub fn prefetch_timestamp(mut self, prefetch: bool) -> Self {
        self.prefetch_timestamp = prefetch;
        self
    }

    /// A custom transport instead of the built-in HTTPS and `file://` one.
    pub fn fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Checks the configuration, initialises the data directory with the embedded
    /// root if it has none (or if its stored root is unreadable), and returns the
    /// updater. Does no network IO.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing root, data directory or repository, an
    /// invalid version or URL; [`Error::Metadata`] when the embedded root is not a
    /// valid self-signed root; [`Error::Storage`] for the data directory.
    pub fn build(self) -> Result<Updater, Error> {
        let current_version = Version::parse(&self.current_version).map_err(|e| {
            Error::Config(format!(
                "current version {:?} is not semver: {e}",
                self.current_version
            ))
        })?;
        if self.app.is_empty() || self.app.contains('/') {
            return Err(Error::Config(format!(
                "application name {:?} must be one non-empty path segment",
                self.app
            )));
        }
        let trusted_root = self.trusted_root.ok_or_else(|| {
            Error::Config(
                "no trusted root: embed the repository's root.json and pass it to trusted_root()"
                    .into(),
            )
        })?;
        let data_dir = self
            .data_dir
            .ok_or_else(|| Error::Config("no data directory configured".into()))?;
        if self.mirrors.is_empty() {
            return Err(Error::Config("no repository configured".into()));
        }
        let parse = |text: &str| {
            Url::parse(text).map_err(|e| Error::Config(format!("invalid URL {text:?}: {e}")))
        };
        let mut mirrors = Vec::new();
        for (metadata, targets) in &self.mirrors {
            mirrors.push(Mirror::new(parse(metadata)?, parse(targets)?));
        }
        let executable = match self.executable {
            Some(path) => path,
            None => std::env::current_exe()
                .map_err(|e| Error::Config(format!("cannot find the running executable: {e}")))?,
        };
        if let Some(dir) = &self.install_dir {
            check_data_dir_outside(dir, &data_dir)?;
        }
        #[cfg(feature = "http")]
        let fetcher = match self.fetcher {
            Some(fetcher) => fetcher,
            None => Arc::new(crate::fetch::DefaultFetcher::new(self.http.clone())?),
        };
        #[cfg(not(feature = "http"))]
        let fetcher = self.fetcher.ok_or_else(|| {
            Error::Config(
                "no fetcher: give UpdaterBuilder::fetcher, or enable the `http` feature for the built-in one".into(),
            )
        })?;
        let config = UpdaterConfig {
            app: self.app,
            current_version,
            channel: self.channel,
            platform: self.platform,
            mirrors,
            trusted_root,
            data_dir,
            executable,
            install_dir: self.install_dir,
            #[cfg(feature = "http")]
            http: self.http,
            limits: self.limits,
            transfer: self.transfer,
            prefetch_timestamp: self.prefetch_timestamp,
        };
        let _lock = DataDirLock::acquire(&config.data_dir, LOCK_WAIT)?;
        init_metadata(&config)?;
        let state = InstallState::load_or_create(&config.data_dir, &config.current_version)?;
        Ok(Updater {
            installer: install_target(&config),
            config,
            fetcher,
            state,
        })
    }
}

/// What the configuration installs over.
fn install_target(config: &UpdaterConfig) -> InstallTarget {
    match &config.install_dir {
        Some(dir) => InstallTarget::Directory(DirectoryInstaller::new(dir, &config.data_dir)),
        None => InstallTarget::Executable(Installer::new(&config.executable, &config.data_dir)),
    }
}

/// The data directory must not lie inside the application directory: a swap would
/// take the journal and the trusted metadata away with the old tree.
fn check_data_dir_outside(install_dir: &Path, data_dir: &Path) -> Result<(), Error> {
    if resolved(data_dir).starts_with(resolved(install_dir)) {
        return Err(Error::Config(format!(
            "the data directory {} is inside the application directory {}; keep it outside (a swap replaces the whole directory)",
            data_dir.display(),
            install_dir.display()
        )));
    }
    Ok(())
}

/// `path` with its longest existing ancestor canonicalised (links resolved, and on
/// Windows the `\\?\` form), the rest appended: comparable whether or not the path
/// exists yet.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut base = absolute.as_path();
    loop {
        if let Ok(canonical) = std::fs::canonicalize(base) {
            return rest
                .iter()
                .rev()
                .fold(canonical, |acc, part| acc.join(part));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                base = parent;
            }
            _ => return absolute,
        }
    }
}

/// Makes sure `DATA_DIR/metadata/root.json` holds a usable trusted root: the stored
/// one if it parses and verifies, else the embedded one.
fn init_metadata(config: &UpdaterConfig) -> Result<(), Error> {
    let dir = config.data_dir.join("metadata");
    let stored = dir.join("root.json");
    if let Ok(bytes) = std::fs::read(&stored) {
        match crate::trust::TrustedMetadata::new(&bytes, OffsetDateTime::now_utc()) {
            Ok(_) => return Ok(()),
            Err(e) => tracing::warn!(
                path = %stored.display(),
                error = %e,
                "stored trusted root is unusable; starting again from the embedded root"
            ),
        }
    }
    Client::init(&dir, &config.trusted_root)
}

/// A release downloaded and verified, ready for [`Updater::install`].
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// The release.
    pub release: Release,
    /// The verified file.
    pub path: PathBuf,
    /// The verified post-install hook, if the release has one: where it is, and
    /// its signed description (it is hashed again before it is made executable).
    pub hook: Option<(PathBuf, crate::metadata::TargetFile)>,
    /// Set when the file was rebuilt from a delta instead of downloaded whole.
    pub delta: Option<DeltaUsed>,
}

/// Options of [`Updater::check_with`].
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Offer an older release when no newer one qualifies.
    pub allow_downgrade: bool,
    /// With `allow_downgrade`, go below the highest version ever installed here.
    pub allow_below_highest: bool,
    /// Only this version.
    pub pin: Option<Version>,
}

/// Checks for, downloads, installs and confirms releases of one application.
///
/// ```no_run
/// # async fn example() -> Result<(), updater::Error> {
/// use updater::Updater;
///
/// # const ROOT_JSON: &[u8] = b"{}";
/// // In the application: const ROOT_JSON: &[u8] = include_bytes!("root.json");
/// let mut updater = Updater::builder("my-app", "1.4.2")
///     .repository("https://updates.example.com/metadata/", "https://updates.example.com/targets/")
///     .trusted_root(ROOT_JSON)
///     .data_dir("/var/lib/my-app/updater")
///     .channel("stable")
///     .build()?;
///
/// // At every start: finish or undo an interrupted install, roll back a bad one.
/// updater.startup()?;
/// // ... once the program is healthy:
/// updater.confirm()?;
///
/// if let Some(release) = updater.check().await? {
///     println!("updating to {}", release.version());
///     let downloaded = updater.download(&release, None).await?;
///     updater.install(&downloaded, |step| println!("  {step}")).await?;
///     // restart into the new version
/// }
/// # Ok(())
/// # }
/// ```
pub struct Updater {
    config: UpdaterConfig,
    fetcher: Arc<dyn Fetcher>,
    installer: InstallTarget,
    state: InstallState,
}

impl Updater {
    /// Starts building an updater for `app` running at `current_version` (semver,
    /// usually `env!("CARGO_PKG_VERSION")`).
    pub fn builder(app: &str, current_version: &str) -> UpdaterBuilder {
        UpdaterBuilder {
            app: app.into(),
            current_version: current_version.into(),
            channel: release::DEFAULT_CHANNEL.into(),
            platform: release::current_platform(),
            mirrors: Vec::new(),
            trusted_root: None,
            data_dir: None,
            executable: None,
            install_dir: None,
            #[cfg(feature = "http")]
            http: HttpOptions::default(),
            limits: Limits::default(),
            transfer: TransferLimits::default(),
            prefetch_timestamp: true,
            fetcher: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &UpdaterConfig {
        &self.config
    }

    /// The version of an install awaiting confirmation, when the running process is
    /// another version (it must neither count as that version's start nor confirm it).
    fn pending_other_version(&self) -> Result<Option<String>, Error> {
        // A journal that cannot be read is on_startup's to resolve (it sets it aside).
        let Ok(Some(record)) = self.installer.awaiting_confirmation() else {
            return Ok(None);
        };
        let running = self.config.current_version.to_string();
        Ok((record.to_version != running).then_some(record.to_version))
    }

    /// Holds the data directory for one operation.
    fn lock(&self) -> Result<DataDirLock, Error> {
        DataDirLock::acquire(&self.config.data_dir, LOCK_WAIT)
    }

    /// What this installation remembers (id, downgrade floor, rolled-back versions).
    pub fn state(&self) -> &InstallState {
        &self.state
    }

    /// Call first thing at every start. Completes or undoes an install that was
    /// interrupted, counts the starts of a new version that has not confirmed yet,
    /// and rolls back to the previous version when the new one did not confirm by its
    /// second start. After [`StartupOutcome::RolledBack`] the executable on disk is
    /// the previous version again: the running process should exit or re-execute it.
    ///
    /// # Errors
    /// [`Error::Install`] when the executable or journal cannot be handled.
    pub fn startup(&mut self) -> Result<StartupOutcome, Error> {
        let _lock = self.lock()?;
        if let Some(version) = self.pending_other_version()? {
            tracing::info!(%version, running = %self.config.current_version, "an installed update awaits its first start");
            return Ok(StartupOutcome::UpdatePending { version });
        }
        let outcome = self.installer.on_startup()?;
        if let StartupOutcome::RolledBack(rolled) = &outcome {
            tracing::warn!(from = %rolled.from_version, to = %rolled.to_version, reason = %rolled.reason, "rolled back");
            if let Ok(failed) = Version::parse(&rolled.from_version) {
                self.state.note_rolled_back(failed);
                self.state.save(&self.config.data_dir)?;
            }
        }
        Ok(outcome)
    }

    /// The running version is healthy: the last install is final.
    ///
    /// # Errors
    /// [`Error::Install`] when the journal cannot be written.
    pub fn confirm(&mut self) -> Result<(), Error> {
        let _lock = self.lock()?;
        if let Some(version) = self.pending_other_version()? {
            tracing::warn!(%version, running = %self.config.current_version, "not confirming: this process is not the installed new version");
            return Ok(());
        }
        Ok(self.installer.confirm()?)
    }

    /// Goes back to the previous executable kept by the last install, and never
    /// offers the abandoned version again. `None` when there is nothing to go back to.
    ///
    /// # Errors
    /// [`Error::Install`] when the swap fails (the executable is then unchanged).
    pub fn rollback(&mut self) -> Result<Option<crate::install::RolledBack>, Error> {
        let _lock = self.lock()?;
        self.rollback_locked()
    }

    /// [`Updater::rollback`] for a caller that holds the lock.
    fn rollback_locked(&mut self) -> Result<Option<crate::install::RolledBack>, Error> {
        let rolled = self.installer.rollback()?;
        if let Some(rolled) = &rolled {
            if let Ok(failed) = Version::parse(&rolled.from_version) {
                self.state.note_rolled_back(failed);
                self.state.save(&self.config.data_dir)?;
            }
        }
        Ok(rolled)
    }

    fn client(&self) -> Result<Client, Error> {
        let mut config = ClientConfig::new(
            self.config.data_dir.join("metadata"),
            self.config.mirrors[0].metadata_base_url.clone(),
            self.config.mirrors[0].targets_base_url.clone(),
        );
        config.mirrors = self.config.mirrors.clone();
        config.limits = self.config.limits;
        config.transfer = self.config.transfer;
        config.prefetch_timestamp = self.config.prefetch_timestamp;
        Client::new(config, self.fetcher.clone())
    }

    fn downloads_dir(&self) -> Result<PathBuf, Error> {
        let dir = self.config.data_dir.join("downloads");
        // The updater removes its own files from here, so it must be its own
        // directory, not a link to somebody else's.
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::Config(format!(
                "{} is a symbolic link; the updater keeps (and removes) its own downloads there, so it must be a plain directory",
                dir.display()
            )));
        }
        std::fs::create_dir_all(&dir).map_err(Error::storage("creating", &dir))?;
        Ok(dir)
    }

    /// The newest release this installation should move to, or `None`. See
    /// [`Updater::check_with`].
    ///
    /// # Errors
    /// As [`Updater::check_with`].
    pub async fn check(&mut self) -> Result<Option<Release>, Error> {
        Ok(self.check_with(&CheckOptions::default()).await?.release)
    }

    /// Refreshes the trusted metadata, lists the application's releases, reads its
    /// signed rollout policy and selects (see [`release::select`]), returning the
    /// choice and why every other release was passed over. Never offers a downgrade
    /// unless `options` ask for one.
    ///
    /// # Errors
    /// Any refusal of the repository's metadata ([`Error::Metadata`]), transfer
    /// failures, [`Error::Rollout`] for an unusable rollout policy.
    pub async fn check_with(&mut self, options: &CheckOptions) -> Result<Selection, Error> {
        let _lock = self.lock()?;
        let mut client = self.client()?;
        // An install awaiting its first start counts as the current version: it is
        // not offered again to an older instance still running.
        let pending = self
            .installer
            .awaiting_confirmation()
            .ok()
            .flatten()
            .and_then(|r| Version::parse(&r.to_version).ok())
            .filter(|v| v > &self.config.current_version);
        let current = pending.as_ref().unwrap_or(&self.config.current_version);
        let query = Query {
            app: &self.config.app,
            current,
            channel: &self.config.channel,
            platform: &self.config.platform,
            highest_installed: self.state.highest_installed.as_ref(),
            rolled_back: &self.state.rolled_back,
            allow_downgrade: options.allow_downgrade,
            allow_below_highest: options.allow_below_highest,
            pin: options.pin.as_ref(),
        };
        let check = discovery::Check {
            query: &query,
            install: &self.state.install_id(),
            now: OffsetDateTime::now_utc(),
            scratch: &self.config.data_dir,
        };
        let selection = discovery::select_release(&mut client, &check).await?;
        for passed in &selection.passed_over {
            tracing::debug!(target = %passed.target_path, reason = %passed.reason, "release passed over");
        }
        Ok(selection)
    }

    /// Downloads `release` (and its post-install hook, if any) into the data
    /// directory, checking length and every hash while streaming; resumes
    /// interrupted transfers; reuses a verified file already there. `progress`
    /// receives (bytes so far, total).
    ///
    /// # Errors
    /// [`Error::Target`] when the bytes do not match the signed description (nothing
    /// is kept), transfer and storage failures.
    pub async fn download(
        &mut self,
        release: &Release,
        progress: Option<Progress<'_>>,
    ) -> Result<Downloaded, Error> {
        let _lock = self.lock()?;
        let mut client = self.client()?;
        // The description must still be the trusted one: a check older than a
        // repository change must not install a superseded file.
        let current = client.target_info(&release.target_path).await?;
        if current != release.target {
            return Err(Error::Config(format!(
                "release {} ({}) changed in the repository since the check; check again",
                release.version(),
                release.target_path
            )));
        }
        let dir = self.downloads_dir()?;
        let hook_path = release
            .info
            .post_install
            .as_ref()
            .map(|spec| spec.target.as_str());
        let keep: Vec<PathBuf> = std::iter::once(release.target_path.as_str())
            .chain(hook_path)
            .map(|target| Client::local_target_path(&dir, target))
            .collect();
        prune_downloads(&dir, &self.config.app, &keep);
        let cached = client.cached_target(&dir, &release.target_path, &release.target)?;
        // A delta only for a single executable: the installed file is its source.
        let by_delta = match (&cached, &release.info.bundle, &self.config.install_dir) {
            (None, None, None) => {
                delta_download::fetch_by_delta(&mut client, release, &self.config.executable, &dir)
                    .await
            }
            _ => None,
        };
        let (path, delta) = match (cached, by_delta) {
            (Some(path), _) => (path, None),
            (None, Some((path, used))) => (path, Some(used)),
            (None, None) => {
                let path = client
                    .download_target(&release.target_path, &release.target, &dir, progress)
                    .await?;
                (path, None)
            }
        };
        let hook = match &release.info.post_install {
            Some(spec) => {
                let program = spec.file_name().map_err(|reason| Error::Hook {
                    target: spec.target.clone(),
                    reason,
                })?;
                hook::check_command_line(spec, program)?;
                let info = client.target_info(&spec.target).await?;
                let path = client
                    .download_target(&spec.target, &info, &dir, None)
                    .await?;
                Some((path, info))
            }
            None => None,
        };
        Ok(Downloaded {
            release: release.clone(),
            path,
            hook,
            delta,
        })
    }

    /// Installs a downloaded release over the executable: re-checks the file,
    /// stages it next to the executable, keeps the previous binary, swaps atomically
    /// and journals the install (see [`Installer::install`]); or, for a bundle
    /// release and an updater built with [`UpdaterBuilder::install_dir`], extracts it
    /// next to the application directory and swaps the whole tree (see
    /// [`DirectoryInstaller::install`]). Then it runs the
    /// release's post-install hook, if any, and rolls back if the hook fails.
    /// `observer` is told each step. The new version runs at the next start, and must
    /// [`confirm`](Updater::confirm) by its second start or be rolled back.
    ///
    /// # Errors
    /// [`Error::Install`], or [`Error::Target`] / [`Error::Hook`] when the hook file
    /// no longer matches its signed hashes or is missing (the executable is then
    /// unchanged); [`Error::Hook`] when the hook ran and failed (the install was
    /// rolled back).
    pub async fn install<F>(
        &mut self,
        downloaded: &Downloaded,
        observer: F,
    ) -> Result<InstallReceipt, Error>
    where
        F: FnMut(InstallStep) + Send + 'static,
    {
        let _lock = self.lock()?;
        // The hook is checked (hashed again) and put in place before anything is
        // swapped: a hook that cannot be prepared fails the install with the
        // executable unchanged, never after it with the hook skipped.
        let hook_program = match (&downloaded.release.info.post_install, &downloaded.hook) {
            (Some(spec), Some((verified, info))) => {
                let hooks_dir = self.config.data_dir.join("hooks");
                Some((spec.clone(), hook::prepare(spec, verified, info, &hooks_dir)?))
            }
            (Some(spec), None) => {
                return Err(Error::Hook {
                    target: spec.target.clone(),
                    reason: "the release has a post-install hook, but the download carries none; download the release with Updater::download".into(),
                })
            }
            (None, _) => None,
        };
        let installer = self.installer.clone();
        let from = self.config.current_version.to_string();
        let job = downloaded.clone();
        let mut observer = observer;
        let receipt = tokio::task::spawn_blocking(move || {
            installer.install(
                &job.path,
                &job.release.target,
                job.release.info.bundle.as_ref(),
                &from,
                &job.release.info.version.to_string(),
                &mut observer,
            )
        })
        .await
        .map_err(|e| Error::Config(format!("the install task failed: {e}")))??;
        self.state.note_installed(downloaded.release.version());
        self.state.save(&self.config.data_dir)?;
        if let Some((spec, program)) = hook_program {
            let work_dir = self.config.data_dir.clone();
            let app = self.config.app.clone();
            let version = downloaded.release.info.version.to_string();
            let outcome = tokio::task::spawn_blocking(move || {
                hook::run(&spec, &program, &work_dir, &app, &version)
            })
            .await
            .map_err(|e| Error::Config(format!("the hook task failed: {e}")))?;
            if let Err(e) = outcome {
                tracing::error!(error = %e, "post-install hook failed; rolling back");
                self.rollback_locked()?;
                remove_download(downloaded, &self.config.data_dir);
                return Err(e);
            }
        }
        remove_download(downloaded, &self.config.data_dir);
        Ok(receipt)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }
}

/// Removes from `downloads/` the updater's own files of `app` other than `keep`:
/// releases downloaded and never installed (their names are the encoded target
/// paths `APP%2F…`), and temporary files a killed process left (`.tmp-*.part`).
/// Nothing else is touched. Best effort: a file that cannot be removed now is
/// removed by a later download.
fn prune_downloads(dir: &Path, app: &str, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let ours = crate::names::local_file_name(
        &crate::store::encode_name(&format!("{app}/")),
        crate::names::CASE_INSENSITIVE_FILE_SYSTEMS,
    );
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_ours =
            name.starts_with(&ours) || (name.starts_with(".tmp-") && name.ends_with(".part"));
        if is_ours && !keep.contains(&path) && entry.file_type().is_ok_and(|t| t.is_file()) {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::debug!(path = %path.display(), error = %e, "could not remove a stale download");
            }
        }
    }
}

/// Removes a release's files from `downloads/` once it is installed: the executable
/// is the new version and `.previous` the rollback, so a third copy serves nothing.
/// Only files in `DATA_DIR/downloads` are removed (a `Downloaded` a program built
/// around a file of its own keeps that file).
fn remove_download(downloaded: &Downloaded, data_dir: &Path) {
    let downloads = data_dir.join("downloads");
    let hook = downloaded.hook.as_ref().map(|(path, _)| path);
    for path in std::iter::once(&downloaded.path)
        .chain(hook)
        .filter(|p| p.parent() == Some(downloads.as_path()))
    {
        if let Err(e) = std::fs::remove_file(path) {
            tracing::debug!(path = %path.display(), error = %e, "could not remove the installed download");
        }
    }
}
