//! End to end: repo-tool signs and publishes, a real HTTP server on loopback serves,
//! the updater client refreshes, downloads and verifies, follows a new release, and
//! refuses tampered content.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures: a failed setup is a failed test

use std::net::SocketAddr;
use std::sync::Arc;

use repo_tool::project::Settings;
use repo_tool::sandbox::{Sandbox, SandboxKeys};
use repo_tool::serve::StaticServer;
use repo_tool::signer::{FileKey, KeyKind};
use time::OffsetDateTime;
use updater::fetch::{DefaultFetcher, HttpOptions};
use updater::{Client, ClientConfig, Error};
use url::Url;

#[tokio::test]
async fn client_follows_releases_published_by_repo_tool_and_refuses_tampering() {
    let work = tempfile::tempdir().unwrap();
    let mut keys: Vec<FileKey> = (0..6)
        .map(|i| {
            FileKey::generate(if i % 2 == 0 {
                KeyKind::Ed25519
            } else {
                KeyKind::EcdsaP256
            })
            .unwrap()
        })
        .collect();
    // Root 2-of-3 with ed25519 and ECDSA P-256 keys mixed.
    let keys = SandboxKeys {
        timestamp: keys.pop().unwrap(),
        snapshot: keys.pop().unwrap(),
        targets: keys.pop().unwrap(),
        root: keys,
        root_threshold: 2,
    };
    let now = OffsetDateTime::now_utc();
    let repo = Sandbox::create_with_keys(
        &work.path().join("repo"),
        &[],
        keys,
        Settings::default(),
        now,
    )
    .unwrap();
    repo.add_file("app/v1.bin", b"release one", now).unwrap();
    let repo_dir = repo.published_dir();

    let server = StaticServer::start(&repo_dir, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = Url::parse(&server.base_url()).unwrap();
    let metadata_dir = work.path().join("client");
    Client::init(
        &metadata_dir,
        &std::fs::read(repo_dir.join("metadata/1.root.json")).unwrap(),
    )
    .unwrap();
    let config = ClientConfig::new(
        &metadata_dir,
        base.join("metadata/").unwrap(),
        base.join("targets/").unwrap(),
    );
    let fetcher = Arc::new(DefaultFetcher::new(HttpOptions::default()).unwrap());
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();

    let mut client = Client::new(config.clone(), fetcher.clone()).unwrap();
    let info = client.target_info("app/v1.bin").await.unwrap();
    let path = client
        .download_target("app/v1.bin", &info, &out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"release one");

    let before = client.trusted().targets("targets").unwrap().common.version;
    repo.add_file("app/v2.bin", b"release two", now).unwrap();
    let mut client = Client::new(config.clone(), fetcher.clone()).unwrap();
    let info = client.target_info("app/v2.bin").await.unwrap();
    assert_eq!(
        client.trusted().targets("targets").unwrap().common.version,
        before + 1
    );
    let path = client
        .download_target("app/v2.bin", &info, &out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"release two");

    // An attacker with access to the server swaps the bytes of a new release.
    repo.add_file("app/v3.bin", b"release three", now).unwrap();
    let mut client = Client::new(config, fetcher).unwrap();
    let info = client.target_info("app/v3.bin").await.unwrap();
    for hash in info.hashes.values() {
        std::fs::write(
            repo_dir.join(format!("targets/app/{hash}.v3.bin")),
            b"release evil!",
        )
        .unwrap();
    }
    let err = client
        .download_target("app/v3.bin", &info, &out, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Target { .. }), "{err}");
    assert!(!Client::local_target_path(&out, "app/v3.bin").exists());
}
