//! The TUF client workflow (specification section 5): refresh the trusted metadata,
//! look up a target through delegations, download and verify it.
//!
//! The client decides *what* to fetch and *where* to keep it. Whether to trust what
//! it fetched is decided by [`crate::trust`] (metadata) and [`crate::integrity`]
//! (targets). Metadata is persisted, byte for byte as received, only after it has
//! been accepted; a target reaches its final path only after its length and every
//! hash matched.

mod download;
mod listing;
mod mirrors;
mod step;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;
use url::Url;

use crate::error::Error;
use crate::fetch::{read_bounded, FetchError, Fetcher, TransferLimits};
use crate::metadata::{RoleType, Root, TargetFile};
use crate::store::{encode_name, MetadataStore};
use crate::trust::{
    role_keys_changed, Origin, TimestampUpdate, TrustError, TrustedMetadata, ROOT_DELEGATOR,
};
use mirrors::{any_not_found, into_error, Fetched, Update};
use step::Step;

/// The timestamp role's file name (never version-prefixed, spec 5.4.1).
const TIMESTAMP_FILE: &str = "timestamp.json";

pub use download::Progress;
pub use mirrors::Mirror;

/// Upper bounds that keep a hostile repository from exhausting the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of a root metadata file.
    pub root_max_length: u64,
    /// Maximum size of timestamp metadata.
    pub timestamp_max_length: u64,
    /// Maximum size of snapshot metadata when timestamp does not list its length.
    pub snapshot_max_length: u64,
    /// Maximum size of targets metadata when snapshot does not list its length.
    pub targets_max_length: u64,
    /// How many root versions one refresh may walk (spec 5.3.3).
    pub max_root_rotations: u64,
    /// How many targets roles one target lookup, or one directory listing, may
    /// visit (spec 5.6.7).
    pub max_delegations: usize,
    /// The most hash bins (as `bit_length`, TAP 15) a delegation may have for this
    /// client to use it; TAP 15 allows up to 32. A role delegating to more is
    /// refused with [`Error::TooManyBins`] before any bin is named.
    pub max_hash_bin_bits: u32,
    /// The most bytes of any one metadata file, even when the timestamp or snapshot
    /// lists a greater length: metadata is held in memory to be verified, so this
    /// bounds what a holder of the online keys can make the client allocate.
    pub max_metadata_length: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            root_max_length: 512_000,
            timestamp_max_length: 16_384,
            snapshot_max_length: 2_000_000,
            targets_max_length: 5_000_000,
            max_root_rotations: 256,
            max_delegations: 32,
            max_hash_bin_bits: 20,
            max_metadata_length: 256 << 20,
        }
    }
}

/// Where the client keeps its state and where the repository is.
///
/// The repository may be served by several [`Mirror`]s, tried in order for every
/// file: a mirror that fails, or serves a file that the trust rules or the target's
/// hashes refuse, is skipped and the next one asked (see [`Mirror`] and the module
/// `client::mirrors`). Mirrors are never trusted; only what they serve is verified.
///
/// ```
/// # use updater::{ClientConfig, client::Mirror};
/// # fn main() -> Result<(), url::ParseError> {
/// let config = ClientConfig::new(
///     "/var/lib/app/tuf",
///     "https://updates.example.com/metadata/".parse()?,
///     "https://updates.example.com/targets/".parse()?,
/// )
/// .with_mirror(Mirror::new(
///     "https://mirror.example.net/app/metadata/".parse()?,
///     "https://mirror.example.net/app/targets/".parse()?,
/// ));
/// assert_eq!(config.mirrors.len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Directory of trusted metadata; must hold `root.json` (see [`Client::init`]).
    pub metadata_dir: PathBuf,
    /// Where the repository is served, in the order to try; at least one.
    pub mirrors: Vec<Mirror>,
    /// Size and count limits.
    pub limits: Limits,
    /// Timeouts and minimum transfer rate.
    pub transfer: TransferLimits,
    /// Fetch `timestamp.json` from the first mirror while the root chain is probed,
    /// so that an unchanged repository costs one round trip instead of two. The
    /// bytes are only held until the root is final (spec 5.3 before 5.4); trust
    /// decides nothing earlier. Off by default, which keeps the requests in the
    /// specification's order (the conformance suite checks that order); the
    /// [`crate::Updater`] turns it on.
    pub prefetch_timestamp: bool,
}

impl ClientConfig {
    /// A configuration with default limits and one mirror: the repository's
    /// metadata and targets base URLs (a trailing `/` is added if missing).
    pub fn new(
        metadata_dir: impl Into<PathBuf>,
        metadata_base_url: Url,
        targets_base_url: Url,
    ) -> Self {
        ClientConfig {
            metadata_dir: metadata_dir.into(),
            mirrors: vec![Mirror::new(metadata_base_url, targets_base_url)],
            limits: Limits::default(),
            transfer: TransferLimits::default(),
            prefetch_timestamp: false,
        }
    }

    /// Adds `mirror` after the ones already configured (tried when they fail).
    pub fn with_mirror(mut self, mirror: Mirror) -> Self {
        self.mirrors.push(mirror);
        self
    }
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// A TUF client over one repository and one metadata directory.
///
/// The reference time for expiry is read once, when the client is created, and
/// used for every check of its refresh.
pub struct Client {
    config: ClientConfig,
    fetcher: Arc<dyn Fetcher>,
    store: MetadataStore,
    trusted: TrustedMetadata,
    refresh: RefreshState,
    /// A file fetched ahead from the first mirror, and how that went; taken by the
    /// first [`Client::fetch_accepted`] of that file.
    prefetched: Option<(String, Result<Vec<u8>, FetchError>)>,
}

/// Whether this client's one refresh has run, and how it went.
#[derive(Debug, Clone)]
enum RefreshState {
    NotYet,
    Done,
    Failed(String),
}

impl Client {
    /// Installs `root_bytes` as the trusted root of a new metadata directory (created
    /// if missing), after checking that it is a root signed by a threshold of its own
    /// keys. This is the trust anchor: it must come from a trusted channel (shipped
    /// with the application), never from the network.
    ///
    /// # Errors
    /// [`Error::Metadata`] when the root is malformed or not self-signed;
    /// [`Error::Storage`] when it cannot be written.
    pub fn init(metadata_dir: &Path, root_bytes: &[u8]) -> Result<(), Error> {
        TrustedMetadata::new(root_bytes, OffsetDateTime::now_utc())?;
        std::fs::create_dir_all(metadata_dir).map_err(Error::storage("creating", metadata_dir))?;
        let store = MetadataStore::new(metadata_dir);
        store
            .save("root", root_bytes)
            .map_err(Error::storage("writing", store.path("root")))
    }

    /// Opens the metadata directory and loads its trusted root, with the current time
    /// as reference time.
    ///
    /// # Errors
    /// [`Error::Config`] when the directory has no `root.json` or no mirror is
    /// configured; [`Error::Metadata`] when the root is not a valid self-signed root.
    pub fn new(config: ClientConfig, fetcher: Arc<dyn Fetcher>) -> Result<Client, Error> {
        Client::with_reference_time(config, fetcher, OffsetDateTime::now_utc())
    }

    /// As [`Client::new`] with an explicit reference time (for tests and replays).
    ///
    /// # Errors
    /// As [`Client::new`].
    pub fn with_reference_time(
        config: ClientConfig,
        fetcher: Arc<dyn Fetcher>,
        now: OffsetDateTime,
    ) -> Result<Client, Error> {
        if config.mirrors.is_empty() {
            return Err(Error::Config(
                "no mirror configured: give the client at least one repository URL".into(),
            ));
        }
        let store = MetadataStore::new(&config.metadata_dir);
        let root_path = store.path("root");
        let root = store
            .load("root")
            .map_err(Error::storage("reading", &root_path))?
            .ok_or_else(|| {
                Error::Config(format!(
                    "{} does not exist: initialise the metadata directory with a trusted root first",
                    root_path.display()
                ))
            })?;
        let trusted = TrustedMetadata::new(&root, now)?;
        Ok(Client {
            config,
            fetcher,
            store,
            trusted,
            refresh: RefreshState::NotYet,
            prefetched: None,
        })
    }

    /// The trusted metadata so far.
    pub fn trusted(&self) -> &TrustedMetadata {
        &self.trusted
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Updates root, timestamp, snapshot and top-level targets (spec 5.3 to 5.6),
    /// persisting each file as soon as it is trusted. Cached files are used when they
    /// are still current, so an unchanged repository costs a root probe and a
    /// timestamp. Runs once per client: later calls return the first outcome (to
    /// retry after a failure, create a new client).
    ///
    /// # Errors
    /// The first rule broken or transfer failed; metadata trusted before the failure
    /// stays persisted, nothing untrusted is. After a failure, later calls (and
    /// lookups) fail with [`Error::RefreshFailed`].
    pub async fn refresh(&mut self) -> Result<(), Error> {
        match &self.refresh {
            RefreshState::Done => return Ok(()),
            RefreshState::Failed(cause) => {
                return Err(Error::RefreshFailed {
                    cause: cause.clone(),
                })
            }
            RefreshState::NotYet => {}
        }
        let result = self.refresh_once().await;
        self.refresh = match &result {
            Ok(()) => RefreshState::Done,
            Err(e) => RefreshState::Failed(e.to_string()),
        };
        result
    }

    async fn refresh_once(&mut self) -> Result<(), Error> {
        match self.timestamp_prefetch() {
            Some(prefetch) => {
                let root_before = self.trusted.root().common.version;
                let (root, timestamp) = tokio::join!(self.load_root(), prefetch);
                root?;
                // After a rotation the timestamp may have been re-signed at the same
                // moment; fetch it afresh rather than judge a copy from before.
                if self.trusted.root().common.version == root_before {
                    self.prefetched = Some((TIMESTAMP_FILE.into(), timestamp));
                }
            }
            None => self.load_root().await?,
        }
        self.load_timestamp().await?;
        self.load_snapshot().await?;
        self.load_targets(RoleType::Targets.as_str(), ROOT_DELEGATOR)
            .await
    }

    /// The transfer of `timestamp.json` from the first mirror, independent of
    /// `self` so that it runs beside the root probe; `None` when switched off.
    fn timestamp_prefetch(
        &self,
    ) -> Option<impl std::future::Future<Output = Result<Vec<u8>, FetchError>> + use<>> {
        if !self.config.prefetch_timestamp {
            return None;
        }
        let url = join_url(
            &self.config.mirrors.first()?.metadata_base_url,
            TIMESTAMP_FILE,
        )
        .ok()?;
        let fetcher = Arc::clone(&self.fetcher);
        let (max, transfer) = (
            self.config.limits.timestamp_max_length,
            self.config.transfer,
        );
        Some(async move { read_bounded(fetcher.as_ref(), &url, max, transfer).await })
    }

    /// The prefetched transfer of `file`, if there is one (taken: used once).
    fn take_prefetched(&mut self, file: &str) -> Option<Result<Vec<u8>, FetchError>> {
        self.prefetched
            .take_if(|(name, _)| name == file)
            .map(|(_, result)| result)
    }

    /// Offers `step` to the trusted set.
    fn apply(&mut self, step: Step<'_>) -> Result<TimestampUpdate, TrustError> {
        step.run(&mut self.trusted)
    }

    /// Metadata `file` as accepted by `trust` from the first mirror that serves an
    /// acceptable copy.
    async fn fetch_trusted(
        &mut self,
        file: &str,
        max_length: u64,
        update: Update<'_>,
    ) -> Result<(Vec<u8>, TimestampUpdate), Error> {
        match self.fetch_accepted(file, max_length, update).await? {
            Fetched::Accepted(bytes, outcome) => Ok((bytes, outcome)),
            Fetched::Failed(failures) => Err(into_error(file, failures)),
        }
    }

    fn persist(&self, role: &str, bytes: &[u8]) -> Result<(), Error> {
        self.store
            .save(role, bytes)
            .map_err(Error::storage("writing", self.store.path(role)))
    }

    fn cached(&self, role: &str) -> Option<Vec<u8>> {
        match self.store.load(role) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(role, error = %e, "cannot read cached metadata; fetching it again");
                None
            }
        }
    }

    /// Spec 5.3: walk root versions N+1, N+2, ... until the repository has no more.
    async fn load_root(&mut self) -> Result<(), Error> {
        let initial: Root = self.trusted.root().clone();
        let limits = self.config.limits;
        for _ in 0..limits.max_root_rotations {
            let next = self.trusted.root().common.version + 1;
            let file = format!("{next}.root.json");
            // Every mirror is asked before concluding there is no newer root: one
            // mirror's "not found" must not hide another's rotation (see `mirrors`).
            let bytes = match self
                .fetch_accepted(&file, limits.root_max_length, Update::Root)
                .await?
            {
                Fetched::Accepted(bytes, _) => bytes,
                Fetched::Failed(failures) if any_not_found(&failures) => break,
                Fetched::Failed(failures) => return Err(into_error(&file, failures)),
            };
            self.persist("root", &bytes)?;
            tracing::info!(version = next, "trusted new root");
        }
        // Spec 5.3.11: after a rotation of timestamp or snapshot keys, the cached
        // timestamp and snapshot are discarded (fast-forward attack recovery).
        let final_root = self.trusted.root();
        if role_keys_changed(&initial, final_root, RoleType::Timestamp)
            || role_keys_changed(&initial, final_root, RoleType::Snapshot)
        {
            for role in ["timestamp", "snapshot"] {
                self.store
                    .remove(role)
                    .map_err(Error::storage("removing", self.store.path(role)))?;
            }
        }
        Ok(())
    }

    /// Spec 5.4.
    async fn load_timestamp(&mut self) -> Result<(), Error> {
        if let Some(bytes) = self.cached("timestamp") {
            if let Err(e) = self.apply(Step::Timestamp(bytes.into(), Origin::Cache)) {
                tracing::debug!(error = %e, "cached timestamp not used as the current one");
            }
        }
        let max = self.config.limits.timestamp_max_length;
        let (bytes, outcome) = self
            .fetch_trusted(TIMESTAMP_FILE, max, Update::Timestamp)
            .await?;
        match outcome {
            TimestampUpdate::Updated => self.persist("timestamp", &bytes),
            TimestampUpdate::Unchanged => Ok(()),
        }
    }

    /// Spec 5.5.
    async fn load_snapshot(&mut self) -> Result<(), Error> {
        if let Some(bytes) = self.cached("snapshot") {
            match self.apply(Step::Snapshot(bytes.into(), Origin::Cache)) {
                Ok(_) => return Ok(()),
                Err(e) => tracing::debug!(error = %e, "cached snapshot is not current"),
            }
        }
        let meta = self
            .trusted
            .timestamp()
            .map(|t| t.snapshot_meta().clone())
            .ok_or(TrustError::OutOfOrder("no timestamp has been loaded"))?;
        let file = if self.trusted.root().consistent_snapshot {
            format!("{}.snapshot.json", meta.version)
        } else {
            "snapshot.json".into()
        };
        let max = meta
            .length
            .unwrap_or(self.config.limits.snapshot_max_length)
            .min(self.config.limits.max_metadata_length);
        let (bytes, _) = self.fetch_trusted(&file, max, Update::Snapshot).await?;
        self.persist("snapshot", &bytes)
    }

    /// Spec 5.6: loads `role` as delegated by `delegator`, from the cache when current.
    async fn load_targets(&mut self, role: &str, delegator: &str) -> Result<(), Error> {
        if self.trusted.targets(role).is_some() {
            self.apply(Step::Delegation {
                role: role.into(),
                delegator: delegator.into(),
            })?;
            return self.check_bins(role);
        }
        let meta = self.trusted.targets_meta(role)?.clone();
        if let Some(bytes) = self.cached(role) {
            match self.apply(Step::Targets {
                role: role.into(),
                delegator: delegator.into(),
                bytes: bytes.into(),
                origin: Origin::Cache,
            }) {
                Ok(_) => return self.check_bins(role),
                Err(e) => {
                    tracing::debug!(role, error = %e, "cached targets metadata is not current")
                }
            }
        }
        let name = encode_name(role);
        let file = if self.trusted.root().consistent_snapshot {
            format!("{}.{name}.json", meta.version)
        } else {
            format!("{name}.json")
        };
        let max = meta
            .length
            .unwrap_or(self.config.limits.targets_max_length)
            .min(self.config.limits.max_metadata_length);
        let update = Update::Targets { role, delegator };
        let (bytes, _) = self.fetch_trusted(&file, max, update).await?;
        self.check_bins(role)?;
        self.persist(role, &bytes)
    }

    /// Refuses a trusted role that delegates to more hash bins than
    /// `limits.max_hash_bin_bits`.
    fn check_bins(&self, role: &str) -> Result<(), Error> {
        let bins = self
            .trusted
            .targets(role)
            .and_then(|t| t.delegations.as_ref())
            .and_then(|d| d.succinct_roles.as_ref());
        match bins {
            Some(bins) if bins.bit_length > self.config.limits.max_hash_bin_bits => {
                Err(Error::TooManyBins {
                    role: role.to_string(),
                    bit_length: bins.bit_length,
                    limit: self.config.limits.max_hash_bin_bits,
                })
            }
            _ => Ok(()),
        }
    }

    /// Finds the trusted description of `target_path` (spec 5.6.7): a pre-order
    /// depth-first search of the delegation graph from top-level targets, following
    /// only delegations whose paths match, stopping at terminating delegations, never
    /// visiting a role twice, and visiting at most `max_delegations` roles. Refreshes
    /// first if that has not been done.
    ///
    /// # Errors
    /// [`Error::TargetNotFound`] when no role that may list the target lists it;
    /// [`Error::SearchLimit`] when roles that may list it were left unvisited at the
    /// limit; otherwise the failure of loading a role on the way.
    pub async fn target_info(&mut self, target_path: &str) -> Result<TargetFile, Error> {
        self.refresh().await?;
        let mut to_visit = vec![(
            RoleType::Targets.as_str().to_string(),
            ROOT_DELEGATOR.to_string(),
        )];
        let mut visited: HashSet<String> = HashSet::new();
        while let Some((role, delegator)) = to_visit.pop() {
            if visited.contains(&role) {
                continue;
            }
            if visited.len() >= self.config.limits.max_delegations {
                // Not "not found": roles past the limit may list it, and a caller
                // that treats absence as meaning something (no rollout policy, so
                // no halt) must not be told it is absent.
                return Err(Error::SearchLimit {
                    path: target_path.to_string(),
                    limit: self.config.limits.max_delegations,
                });
            }
            self.load_targets(&role, &delegator).await?;
            let Some(targets) = self.trusted.targets(&role) else {
                break;
            };
            if let Some(info) = targets.targets.get(target_path) {
                tracing::debug!(target_path, role, "target found");
                return Ok(info.clone());
            }
            visited.insert(role.clone());
            if let Some(delegations) = &targets.delegations {
                let mut children = Vec::new();
                for (child, terminating) in delegations.roles_for_target(target_path) {
                    children.push((child, role.clone()));
                    if terminating {
                        to_visit.clear();
                        break;
                    }
                }
                to_visit.extend(children.into_iter().rev());
            }
        }
        Err(Error::TargetNotFound {
            path: target_path.to_string(),
        })
    }
}

/// Appends `rest` to `base` (which ends in `/`) without re-encoding what `base` holds.
pub(crate) fn join_url(base: &Url, rest: &str) -> Result<Url, Error> {
    let joined = format!("{}{}", base.as_str(), rest);
    Url::parse(&joined).map_err(|e| Error::Config(format!("invalid URL {joined:?}: {e}")))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod mirror_tests;
