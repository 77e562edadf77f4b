//! The snapshot repo-tool writes lists the length and sha256 of every targets
//! metadata file, not only its version: someone who holds a bin's key (but not the
//! online snapshot key) cannot give clients another bin under the version the
//! snapshot lists. Turned off (`snapshot_hashes: false`), the same forgery is
//! accepted, which is what the setting costs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use repo_tool::delegate::Delegation;
use repo_tool::ops;
use repo_tool::project::Settings;
use repo_tool::publish::sign_metadata;
use repo_tool::sandbox::Sandbox;
use repo_tool::serve::StaticServer;
use time::OffsetDateTime;
use updater::fetch::{DefaultFetcher, HttpOptions};
use updater::integrity::sha256_hex;
use updater::metadata::{Envelope, Snapshot, Targets};
use updater::{Client, ClientConfig, Error};

const FORGED: &str = "my-app/forged.bin";

/// A repository of 16 bins with one real target, published.
fn published_repo(dir: &Path, snapshot_hashes: bool) -> Sandbox {
    let now = OffsetDateTime::now_utc();
    let settings = Settings {
        snapshot_hashes,
        ..Settings::default()
    };
    let fx = Sandbox::create_with(&dir.join("repo"), &[], settings, now).unwrap();
    let bins = Delegation::HashBins {
        bits: 4,
        prefix: "bin".into(),
    };
    fx.delegate(&bins, now).unwrap();
    ops::add_target(fx.project(), "my-app/real.bin", b"real", None, now).unwrap();
    fx.publish(now).unwrap();
    fx
}

/// What a holder of the bins key alone can do: re-sign the bin that `FORGED` routes
/// to, same version, with `FORGED` added, and put it where clients fetch it.
fn forge_bin(fx: &Sandbox) -> String {
    let role = ops::route(fx.project(), FORGED).unwrap();
    let metadata = fx.published_dir().join("metadata");
    let path = metadata.join(format!("1.{role}.json"));
    let mut bin: Envelope<Targets> = Envelope::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    bin.signed
        .targets
        .insert(FORGED.into(), ops::target_file(b"evil", None));
    let bytes = sign_metadata(&bin.signed, &[fx.signer("delegated").unwrap()]).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(metadata.join(format!("{role}.json")), &bytes).unwrap();
    role
}

async fn lookup(fx: &Sandbox, data: &Path) -> Result<(), Error> {
    let server = StaticServer::start(&fx.published_dir(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = server.base_url();
    Client::init(data, &fx.root_json().unwrap()).unwrap();
    let config = ClientConfig::new(
        data,
        format!("{base}metadata/").parse().unwrap(),
        format!("{base}targets/").parse().unwrap(),
    );
    let fetcher = DefaultFetcher::new(HttpOptions::default()).unwrap();
    let mut client = Client::new(config, Arc::new(fetcher)).unwrap();
    client.target_info(FORGED).await.map(|_| ())
}

#[test]
fn every_targets_metadata_file_is_listed_with_its_length_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    let fx = published_repo(dir.path(), true);
    let metadata = fx.published_dir().join("metadata");
    let snapshot: Envelope<Snapshot> =
        Envelope::from_slice(&std::fs::read(metadata.join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(snapshot.signed.meta.len(), 17, "targets and 16 bins");
    for (file, entry) in &snapshot.signed.meta {
        let bytes = std::fs::read(metadata.join(format!("{}.{file}", entry.version))).unwrap();
        assert_eq!(entry.length, Some(bytes.len() as u64), "{file}");
        let hashes = entry.hashes.as_ref().expect("hashes listed");
        assert_eq!(hashes.get("sha256"), Some(&sha256_hex(&bytes)), "{file}");
    }
    // Without the setting, versions only.
    let dir = tempfile::tempdir().unwrap();
    let fx = published_repo(dir.path(), false);
    let snapshot: Envelope<Snapshot> = Envelope::from_slice(
        &std::fs::read(fx.published_dir().join("metadata/snapshot.json")).unwrap(),
    )
    .unwrap();
    assert!(snapshot
        .signed
        .meta
        .values()
        .all(|m| m.length.is_none() && m.hashes.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bin_re_signed_by_its_own_key_alone_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let fx = published_repo(dir.path(), true);
    let role = forge_bin(&fx);
    let err = lookup(&fx, &dir.path().join("client")).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&role), "{text}");
    // The forged file is longer than the listed length, so the download stops
    // there; a forgery of the same length fails the hash.
    assert!(
        text.contains("bytes allowed") || text.contains("hash"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_snapshot_hashes_the_same_forgery_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let fx = published_repo(dir.path(), false);
    forge_bin(&fx);
    lookup(&fx, &dir.path().join("client")).await.unwrap();
}

#[test]
fn a_snapshot_refresh_keeps_what_the_last_snapshot_signed_for_targets() {
    // A targets.json on disk that no publish signed (left by an interrupted publish,
    // or written by someone who can write the served tree) is not endorsed by the
    // cron job that refreshes the snapshot.
    let dir = tempfile::tempdir().unwrap();
    let fx = published_repo(dir.path(), true);
    let metadata = fx.published_dir().join("metadata");
    let read_snapshot = || -> Envelope<Snapshot> {
        Envelope::from_slice(&std::fs::read(metadata.join("snapshot.json")).unwrap()).unwrap()
    };
    let before = read_snapshot().signed.meta["targets.json"].clone();
    let mut forged: Envelope<Targets> =
        Envelope::from_slice(&std::fs::read(metadata.join("targets.json")).unwrap()).unwrap();
    forged.signed.common.version += 1;
    let bytes = sign_metadata(&forged.signed, &[fx.signer("targets").unwrap()]).unwrap();
    std::fs::write(metadata.join("targets.json"), &bytes).unwrap();
    let snapshot_key = fx.signer("snapshot").unwrap();
    let timestamp_key = fx.signer("timestamp").unwrap();
    repo_tool::publish::refresh_timestamp(
        fx.project(),
        Some(&[snapshot_key]),
        &[timestamp_key],
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let after = read_snapshot();
    assert_eq!(after.signed.meta["targets.json"], before);
}
