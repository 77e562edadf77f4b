//! Tests of the client workflow against the in-memory repository of `crate::testing`.
//!
//! Every test runs a real [`Client`] over a [`RepoSim`] (real ed25519 signatures),
//! a temporary metadata directory and, for downloads, a temporary target directory,
//! and checks what was requested, what was trusted and what ended up on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use url::Url;

use crate::client::{Client, ClientConfig};
use crate::error::Error;
use crate::fetch::{ChunkFuture, ChunkSource, FetchError, FetchFuture, Fetcher, ResponseBody};
use crate::integrity::{sha256_hex, IntegrityError};
use crate::metadata::{DelegatedRole, Delegations, Key, TargetFile};
use crate::testing::{now, sign_json, RepoSim, SimFetcher, TestKey, BASE};
use crate::trust::TrustError;

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// A repository simulator, a metadata directory initialised with root version 1,
/// and clients over both.
struct Harness {
    sim: Arc<Mutex<RepoSim>>,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new(sim: RepoSim) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        Client::init(dir.path(), &sim.root_bytes(1).unwrap()).unwrap();
        Harness {
            sim: Arc::new(Mutex::new(sim)),
            dir,
        }
    }

    fn sim(&self) -> MutexGuard<'_, RepoSim> {
        self.sim.lock().unwrap()
    }

    fn config(&self) -> ClientConfig {
        ClientConfig::new(
            self.dir.path(),
            Url::parse(&format!("{BASE}metadata/")).unwrap(),
            Url::parse(&format!("{BASE}targets/")).unwrap(),
        )
    }

    fn client(&self) -> Client {
        self.client_with(self.config())
    }

    fn client_with(&self, config: ClientConfig) -> Client {
        Client::with_reference_time(config, Arc::new(SimFetcher(self.sim.clone())), now()).unwrap()
    }

    /// A client whose fetcher serves bodies in chunks of `chunk` bytes, with or
    /// without a declared length.
    fn chunked_client(&self, chunk: usize, declare_length: bool) -> Client {
        let fetcher = ChunkedFetcher {
            sim: self.sim.clone(),
            chunk,
            declare_length,
        };
        Client::with_reference_time(self.config(), Arc::new(fetcher), now()).unwrap()
    }

    /// The paths requested since the last call.
    fn take_requests(&self) -> Vec<String> {
        std::mem::take(&mut self.sim().requests)
    }

    /// Sorted names of the files in the metadata directory.
    fn files(&self) -> Vec<String> {
        dir_names(self.dir.path())
    }

    /// The bytes of `name` in the metadata directory, if it exists.
    fn stored(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.path().join(name)).ok()
    }
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Serves the simulator's bytes in fixed-size chunks, optionally without a
/// declared length (as a chunked HTTP response would).
struct ChunkedFetcher {
    sim: Arc<Mutex<RepoSim>>,
    chunk: usize,
    declare_length: bool,
}

struct Chunks(VecDeque<Bytes>);

impl ChunkSource for Chunks {
    fn next_chunk(&mut self) -> ChunkFuture<'_> {
        let next = self.0.pop_front();
        Box::pin(async move { Ok(next) })
    }
}

impl Fetcher for ChunkedFetcher {
    fn fetch<'a>(&'a self, url: &'a Url, _max_length: u64) -> FetchFuture<'a> {
        Box::pin(async move {
            let not_found = || FetchError::NotFound {
                url: url.to_string(),
            };
            let path = url
                .as_str()
                .strip_prefix(BASE)
                .ok_or_else(not_found)?
                .to_string();
            let served = self.sim.lock().unwrap().serve(&path);
            let bytes = served.ok_or_else(not_found)?;
            let declared = self.declare_length.then_some(bytes.len() as u64);
            let chunks = bytes
                .chunks(self.chunk)
                .map(Bytes::copy_from_slice)
                .collect();
            Ok(ResponseBody::new(declared, Box::new(Chunks(chunks))))
        })
    }
}

/// Adds to `delegator` a delegation to `name` trusting `key` (which must then sign).
fn add_delegation_entry(
    sim: &mut RepoSim,
    delegator: &str,
    name: &str,
    key_id: &str,
    key: &Key,
    paths: &[&str],
    terminating: bool,
) {
    let d = sim
        .targets
        .get_mut(delegator)
        .unwrap()
        .delegations
        .get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(vec![]),
            succinct_roles: None,
            unrecognized: Default::default(),
        });
    d.keys.insert(key_id.to_string(), key.clone());
    d.roles.get_or_insert_with(Vec::new).push(DelegatedRole {
        name: name.into(),
        keyids: vec![key_id.to_string()],
        threshold: 1,
        terminating,
        paths: Some(paths.iter().map(|p| p.to_string()).collect()),
        path_hash_prefixes: None,
        unrecognized: Default::default(),
    });
}

/// Adds to `delegator` a delegation to the existing role `name`, with that role's
/// own signing key (for cycles and second delegators).
fn delegate_to_existing(
    sim: &mut RepoSim,
    delegator: &str,
    name: &str,
    paths: &[&str],
    terminating: bool,
) {
    let (id, key) = {
        let k = &sim.signers[name][0];
        (k.id.clone(), k.key.clone())
    };
    add_delegation_entry(sim, delegator, name, &id, &key, paths, terminating);
}

/// Publishes a new root: bumps the version, replaces the root key with a new one
/// and signs with both the old and the new key (a proper key rotation).
fn rotate_root_key_and_publish(sim: &mut RepoSim) {
    let old = sim.signers.remove("root").unwrap();
    sim.rotate_keys("root");
    sim.root.common.version += 1;
    let new = sim.signers.remove("root").unwrap();
    sim.publish_root_signed_by(&[&old[0], &new[0]]);
    sim.signers.insert("root".into(), new);
}

/// The metadata request paths of a whole first refresh of a fresh repository.
fn first_refresh_requests() -> Vec<String> {
    strings(&[
        "metadata/2.root.json",
        "metadata/timestamp.json",
        "metadata/1.snapshot.json",
        "metadata/1.targets.json",
    ])
}

/// Runs `f` on another thread and returns its result, failing the test if it takes
/// longer than `limit` (an endless loop) and re-raising its panic if it panicked.
fn finishes_within<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}: endless loop?")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends before it ends"),
        },
    }
}

fn no_temp_files(dir: &Path) {
    let names = dir_names(dir);
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with(".tmp-") && !n.ends_with(".part")),
        "temporary files left behind: {names:?}"
    );
}

// ---------------------------------------------------------------------------------
// Refresh: requests and cache reuse
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn first_refresh_requests_root_probe_timestamp_snapshot_targets_in_order() {
    let mut sim = RepoSim::new();
    // Snapshot 3 and targets 2, so that the version in each file name is checked.
    sim.publish_targets("targets");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    client.refresh().await.unwrap();
    assert_eq!(
        h.take_requests(),
        strings(&[
            "metadata/2.root.json",
            "metadata/timestamp.json",
            "metadata/3.snapshot.json",
            "metadata/2.targets.json",
        ])
    );
    assert_eq!(
        h.files(),
        strings(&[
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ])
    );
    assert_eq!(client.trusted().snapshot().unwrap().common.version, 3);
    assert_eq!(
        client.trusted().targets("targets").unwrap().common.version,
        2
    );
}

#[tokio::test]
async fn unchanged_repository_costs_only_root_probe_and_timestamp() {
    let h = Harness::new(RepoSim::new());
    h.client().refresh().await.unwrap();
    assert_eq!(h.take_requests(), first_refresh_requests());

    let mut second = h.client();
    second.refresh().await.unwrap();
    assert_eq!(
        h.take_requests(),
        strings(&["metadata/2.root.json", "metadata/timestamp.json"])
    );
    // Everything was trusted from the cache.
    assert_eq!(second.trusted().snapshot().unwrap().common.version, 1);
    assert!(second.trusted().targets("targets").is_some());
}

#[tokio::test]
async fn only_changed_metadata_is_fetched_again() {
    let h = Harness::new(RepoSim::new());
    h.client().refresh().await.unwrap();
    h.take_requests();
    h.sim().publish_targets("targets");
    let mut second = h.client();
    second.refresh().await.unwrap();
    assert_eq!(
        h.take_requests(),
        strings(&[
            "metadata/2.root.json",
            "metadata/timestamp.json",
            "metadata/2.snapshot.json",
            "metadata/2.targets.json",
        ])
    );
    assert_eq!(
        h.stored("targets.json").unwrap(),
        h.sim().targets_bytes("targets")
    );
}

#[tokio::test]
async fn second_refresh_on_the_same_client_does_nothing() {
    let h = Harness::new(RepoSim::new());
    let mut client = h.client();
    client.refresh().await.unwrap();
    h.take_requests();
    client.refresh().await.unwrap();
    assert!(h.take_requests().is_empty());
}

#[tokio::test]
async fn expired_timestamp_fails_the_refresh_with_an_expiry_error() {
    let h = Harness::new(RepoSim::new());
    let late = now() + time::Duration::days(400);
    let mut client =
        Client::with_reference_time(h.config(), Arc::new(SimFetcher(h.sim.clone())), late).unwrap();
    let err = client.refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::Expired { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn expired_cached_timestamp_is_not_revived_by_an_unchanged_repository() {
    let mut sim = RepoSim::new();
    sim.timestamp.common.expires = crate::metadata::format_expiry(now() + time::Duration::days(1));
    let h = Harness::new(sim);
    h.client().refresh().await.unwrap();
    // Two days later the repository still serves the same, now expired, timestamp.
    let later = now() + time::Duration::days(2);
    let mut client =
        Client::with_reference_time(h.config(), Arc::new(SimFetcher(h.sim.clone())), later)
            .unwrap();
    let err = client.refresh().await.unwrap_err();
    match err {
        Error::Metadata(TrustError::Expired { role, .. }) => assert_eq!(role, "timestamp"),
        other => panic!("expected an expired timestamp, got {other:?}"),
    }
}

#[tokio::test]
async fn timestamp_larger_than_its_limit_is_cut_off() {
    let mut sim = RepoSim::new();
    let mut huge = sim.timestamp_bytes();
    huge.resize(100_000, b' ');
    sim.overrides.insert("metadata/timestamp.json".into(), huge);
    let h = Harness::new(sim);
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Fetch(FetchError::TooLarge { limit: 16_384, .. })
        ),
        "{err:?}"
    );
    assert_eq!(h.files(), strings(&["root.json"]));
}

#[tokio::test]
async fn snapshot_length_listed_in_timestamp_bounds_the_fetch_and_hashes_are_checked() {
    let mut sim = RepoSim::new();
    sim.meta_hashes = true;
    sim.publish_snapshot(); // snapshot 2, timestamp lists its length and hash
    let listed = sim.snapshot_bytes();
    let mut longer = listed.clone();
    longer.push(b' ');
    sim.overrides
        .insert("metadata/2.snapshot.json".into(), longer);
    let h = Harness::new(sim);
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Fetch(FetchError::TooLarge { limit, .. }) if limit == listed.len() as u64),
        "{err:?}"
    );

    // Same length, different bytes (still validly signed): the hash check refuses it.
    let mut other = listed.clone();
    let last = other.len() - 1;
    other[last] = b' '; // the trailing newline becomes a space
    assert_ne!(other, listed);
    h.sim()
        .overrides
        .insert("metadata/2.snapshot.json".into(), other);
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::Integrity { .. })),
        "{err:?}"
    );
    assert_eq!(h.files(), strings(&["root.json", "timestamp.json"]));
}

#[tokio::test]
async fn target_lookup_after_a_failed_refresh_names_the_original_cause() {
    let mut sim = RepoSim::new();
    sim.add_target("targets", "file", b"data");
    sim.timestamp.common.version = 2;
    sim.timestamp.meta.get_mut("snapshot.json").unwrap().version = 9;
    let h = Harness::new(sim);
    let mut client = h.client();
    let first = client.refresh().await.unwrap_err();
    assert!(
        matches!(first, Error::Fetch(FetchError::NotFound { .. })),
        "{first}"
    );
    h.take_requests();
    for _ in 0..2 {
        match client.target_info("file").await {
            Err(Error::RefreshFailed { cause }) => assert_eq!(cause, first.to_string()),
            other => panic!("expected RefreshFailed, got {other:?}"),
        }
    }
    assert!(
        h.take_requests().is_empty(),
        "a failed client must not fetch again"
    );
}

// ---------------------------------------------------------------------------------
// Root rotation (spec 5.3)
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn root_rotation_walks_every_version_and_persists_the_last() {
    let mut sim = RepoSim::new();
    for _ in 0..3 {
        rotate_root_key_and_publish(&mut sim);
    }
    let h = Harness::new(sim);
    let mut client = h.client();
    client.refresh().await.unwrap();
    assert_eq!(client.trusted().root().common.version, 4);
    assert_eq!(h.stored("root.json").unwrap(), h.sim().latest_root());
    let requests = h.take_requests();
    assert_eq!(
        requests[..5],
        strings(&[
            "metadata/2.root.json",
            "metadata/3.root.json",
            "metadata/4.root.json",
            "metadata/5.root.json",
            "metadata/timestamp.json",
        ])
    );
    // A new client starts from the persisted root 4.
    let mut again = h.client();
    assert_eq!(again.trusted().root().common.version, 4);
    again.refresh().await.unwrap();
    assert_eq!(h.take_requests()[0], "metadata/5.root.json");
}

#[tokio::test]
async fn root_rotation_stops_at_max_root_rotations() {
    let mut sim = RepoSim::new();
    for _ in 0..4 {
        sim.bump_root();
    }
    let h = Harness::new(sim);
    let mut config = h.config();
    config.limits.max_root_rotations = 2;
    let mut client = h.client_with(config);
    client.refresh().await.unwrap();
    assert_eq!(client.trusted().root().common.version, 3);
    assert_eq!(
        h.stored("root.json").unwrap(),
        h.sim().root_bytes(3).unwrap()
    );
    let requests = h.take_requests();
    assert_eq!(
        requests[..3],
        strings(&[
            "metadata/2.root.json",
            "metadata/3.root.json",
            "metadata/timestamp.json",
        ])
    );
    assert!(!requests.contains(&"metadata/4.root.json".to_string()));
}

#[tokio::test]
async fn root_not_signed_by_the_trusted_root_keys_is_refused_and_not_persisted() {
    let mut sim = RepoSim::new();
    sim.root.common.version = 2;
    let forged = sign_json(&sim.root, &[&TestKey::generate()]);
    sim.signed_roots.push(forged);
    let h = Harness::new(sim);
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::ThresholdNotMet { .. })),
        "{err:?}"
    );
    assert_eq!(h.files(), strings(&["root.json"]));
    assert_eq!(
        h.stored("root.json").unwrap(),
        h.sim().root_bytes(1).unwrap()
    );
}

// ---------------------------------------------------------------------------------
// Spec 5.3.11: fast-forward attack recovery
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn timestamp_key_rotation_accepts_a_lower_timestamp_version() {
    let mut sim = RepoSim::new();
    for _ in 0..4 {
        sim.publish_timestamp(); // timestamp 5, as after a fast-forward attack
    }
    let h = Harness::new(sim);
    h.client().refresh().await.unwrap();
    let old_timestamp = h.stored("timestamp.json").unwrap();
    {
        let mut sim = h.sim();
        sim.rotate_keys("timestamp");
        sim.bump_root();
        sim.timestamp.common.version = 1;
    }
    h.take_requests();
    let mut client = h.client();
    client.refresh().await.unwrap();
    assert_eq!(client.trusted().root().common.version, 2);
    assert_eq!(client.trusted().timestamp().unwrap().common.version, 1);
    let new_timestamp = h.stored("timestamp.json").unwrap();
    assert_ne!(new_timestamp, old_timestamp);
    assert_eq!(new_timestamp, h.sim().timestamp_bytes());
    // The snapshot was discarded too and fetched again; targets came from the cache.
    assert_eq!(
        h.take_requests(),
        strings(&[
            "metadata/2.root.json",
            "metadata/3.root.json",
            "metadata/timestamp.json",
            "metadata/1.snapshot.json",
        ])
    );
}

#[tokio::test]
async fn timestamp_key_rotation_removes_cached_timestamp_and_snapshot() {
    let h = Harness::new(RepoSim::new());
    h.client().refresh().await.unwrap();
    {
        let mut sim = h.sim();
        sim.rotate_keys("timestamp");
        sim.bump_root();
        // The refresh fails right after the root update.
        sim.overrides
            .insert("metadata/timestamp.json".into(), b"not json".to_vec());
    }
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::Malformed { .. })),
        "{err:?}"
    );
    assert_eq!(h.files(), strings(&["root.json", "targets.json"]));
    assert_eq!(
        h.stored("root.json").unwrap(),
        h.sim().root_bytes(2).unwrap()
    );
}

#[tokio::test]
async fn snapshot_key_rotation_accepts_a_lower_snapshot_version() {
    let mut sim = RepoSim::new();
    sim.publish_snapshot();
    sim.publish_snapshot(); // snapshot 3, timestamp 3
    let h = Harness::new(sim);
    h.client().refresh().await.unwrap();
    {
        let mut sim = h.sim();
        sim.rotate_keys("snapshot");
        sim.bump_root();
        sim.snapshot.common.version = 1;
        sim.publish_timestamp(); // timestamp 4 lists snapshot 1
    }
    let mut client = h.client();
    client.refresh().await.unwrap();
    assert_eq!(client.trusted().snapshot().unwrap().common.version, 1);
    assert_eq!(h.stored("snapshot.json").unwrap(), h.sim().snapshot_bytes());
}

#[tokio::test]
async fn lower_timestamp_version_without_key_rotation_is_a_rollback() {
    let mut sim = RepoSim::new();
    for _ in 0..4 {
        sim.publish_timestamp();
    }
    let h = Harness::new(sim);
    h.client().refresh().await.unwrap();
    let old_timestamp = h.stored("timestamp.json").unwrap();
    h.sim().timestamp.common.version = 1;
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Metadata(TrustError::Rollback {
                trusted: 5,
                found: 1,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(h.stored("timestamp.json").unwrap(), old_timestamp);
}

// ---------------------------------------------------------------------------------
// Persistence: byte for byte, only trusted, failures keep earlier state
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn metadata_is_persisted_byte_for_byte_as_served() {
    let mut sim = RepoSim::new();
    sim.bump_root();
    let mut served = BTreeMap::new();
    for (path, bytes) in [
        ("metadata/2.root.json", sim.root_bytes(2).unwrap()),
        ("metadata/timestamp.json", sim.timestamp_bytes()),
        ("metadata/1.snapshot.json", sim.snapshot_bytes()),
        ("metadata/1.targets.json", sim.targets_bytes("targets")),
    ] {
        let mut bytes = bytes;
        bytes.extend_from_slice(b" \n ");
        served.insert(path, bytes.clone());
        sim.overrides.insert(path.into(), bytes);
    }
    let h = Harness::new(sim);
    h.client().refresh().await.unwrap();
    assert_eq!(
        h.stored("root.json").unwrap(),
        served["metadata/2.root.json"]
    );
    assert_eq!(
        h.stored("timestamp.json").unwrap(),
        served["metadata/timestamp.json"]
    );
    assert_eq!(
        h.stored("snapshot.json").unwrap(),
        served["metadata/1.snapshot.json"]
    );
    assert_eq!(
        h.stored("targets.json").unwrap(),
        served["metadata/1.targets.json"]
    );
    // And they are trusted again from the cache by the next client.
    h.take_requests();
    h.client().refresh().await.unwrap();
    assert_eq!(
        h.take_requests(),
        strings(&["metadata/3.root.json", "metadata/timestamp.json"])
    );
}

#[tokio::test]
async fn rejected_snapshot_is_not_persisted_and_no_temp_files_remain() {
    let mut sim = RepoSim::new();
    let forged = sign_json(&sim.snapshot, &[&TestKey::generate()]);
    sim.overrides
        .insert("metadata/1.snapshot.json".into(), forged);
    let h = Harness::new(sim);
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::ThresholdNotMet { .. })),
        "{err:?}"
    );
    assert_eq!(h.files(), strings(&["root.json", "timestamp.json"]));
    no_temp_files(h.dir.path());
}

#[tokio::test]
async fn rejected_targets_is_not_persisted() {
    let mut sim = RepoSim::new();
    let forged = sign_json(&sim.targets["targets"], &[&TestKey::generate()]);
    sim.overrides
        .insert("metadata/1.targets.json".into(), forged);
    let h = Harness::new(sim);
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::ThresholdNotMet { .. })),
        "{err:?}"
    );
    assert_eq!(
        h.files(),
        strings(&["root.json", "snapshot.json", "timestamp.json"])
    );
    no_temp_files(h.dir.path());
}

#[tokio::test]
async fn missing_snapshot_leaves_the_new_timestamp_persisted() {
    let mut sim = RepoSim::new();
    // Timestamp 2 lists snapshot 9, which the server does not have.
    sim.timestamp.common.version = 2;
    sim.timestamp.meta.get_mut("snapshot.json").unwrap().version = 9;
    let h = Harness::new(sim);
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Fetch(FetchError::NotFound { .. })),
        "{err:?}"
    );
    assert_eq!(h.files(), strings(&["root.json", "timestamp.json"]));
    assert_eq!(
        h.stored("timestamp.json").unwrap(),
        h.sim().timestamp_bytes()
    );
}

#[tokio::test]
async fn failed_targets_update_keeps_earlier_trusted_files() {
    let h = Harness::new(RepoSim::new());
    h.client().refresh().await.unwrap();
    let old_targets = h.stored("targets.json").unwrap();
    {
        let mut sim = h.sim();
        sim.publish_targets("targets");
        let forged = sign_json(&sim.targets["targets"], &[&TestKey::generate()]);
        sim.overrides
            .insert("metadata/2.targets.json".into(), forged);
    }
    let err = h.client().refresh().await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::ThresholdNotMet { .. })),
        "{err:?}"
    );
    assert_eq!(
        h.stored("timestamp.json").unwrap(),
        h.sim().timestamp_bytes()
    );
    assert_eq!(h.stored("snapshot.json").unwrap(), h.sim().snapshot_bytes());
    assert_eq!(h.stored("targets.json").unwrap(), old_targets);
    no_temp_files(h.dir.path());
}

mod delegation;
mod download;
mod prefetch;
