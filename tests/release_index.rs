//! Finding the next release over hash bins: through the release index that
//! `repo-tool release` keeps, with a handful of metadata fetches whatever the number
//! of bins; without an index, a listing that cannot see every bin is refused instead
//! of reporting "up to date"; and a delegation to more bins than the client allows is
//! refused before any bin is named.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

use std::net::SocketAddr;
use std::path::Path;

use repo_tool::delegate::Delegation;
use repo_tool::ops;
use repo_tool::project::Settings;
use repo_tool::sandbox::Sandbox;
use repo_tool::serve::StaticServer;
use semver::Version;
use time::OffsetDateTime;
use updater::release::{current_platform, ReleaseIndex, ReleaseInfo};
use updater::{Error, Limits, Updater};

#[path = "support/mod.rs"]
mod support;

const APP: &str = "my-app";

struct Repo {
    dir: tempfile::TempDir,
    fx: Sandbox,
}

/// A repository whose targets delegate every path to `2^bits` hash bins.
fn binned_repo(bits: u32) -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let fx = Sandbox::create_with(&dir.path().join("repo"), &[], Settings::default(), now).unwrap();
    let bins = Delegation::HashBins {
        bits,
        prefix: "bin".into(),
    };
    fx.delegate(&bins, now).unwrap();
    Repo { dir, fx }
}

impl Repo {
    fn release(&self, version: &str) {
        let info = ReleaseInfo::new(APP, Version::parse(version).unwrap(), current_platform());
        let now = OffsetDateTime::now_utc();
        repo_tool::release::add_release(self.fx.project(), &info, APP, version.as_bytes(), now)
            .unwrap();
    }

    fn publish(&self) {
        self.fx.publish(OffsetDateTime::now_utc()).unwrap();
    }

    fn published(&self) -> std::path::PathBuf {
        self.fx.published_dir()
    }

    /// Stages `index` as the application's release index as it stands (signed by
    /// the bins key, as an attacker holding only that key could), publishes, serves.
    async fn publish_index_and_serve(&self, index: &ReleaseIndex) -> StaticServer {
        let bytes = serde_json::to_vec_pretty(index).unwrap();
        let now = OffsetDateTime::now_utc();
        let path = repo_tool::release::index_path(APP);
        ops::add_target(self.fx.project(), &path, &bytes, None, now).unwrap();
        self.publish();
        StaticServer::start(&self.published(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap()
    }
}

fn updater(repo: &Repo, base: &str, data: &Path, limits: Limits) -> Updater {
    let root = repo.fx.root_json().unwrap();
    Updater::builder(APP, "1.0.0")
        .repository(&format!("{base}metadata/"), &format!("{base}targets/"))
        .trusted_root(root)
        .data_dir(data)
        .executable(data.join("bin").join(APP))
        .limits(limits)
        .build()
        .unwrap()
}

/// How many bin metadata files the client fetched and keeps.
fn bins_fetched(data: &Path) -> usize {
    support::count_starting_with(&data.join("metadata"), "bin-")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_release_among_1024_bins_costs_a_few_bins_through_the_index() {
    let repo = binned_repo(10);
    for version in ["1.0.0", "1.1.0", "2.0.0", "1.5.0"] {
        repo.release(version);
    }
    repo.publish();
    let server = StaticServer::start(&repo.published(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let data = repo.dir.path().join("data");
    let mut app = updater(&repo, &server.base_url(), &data, Limits::default());
    let release = app
        .check()
        .await
        .unwrap()
        .expect("a newer release is offered");
    assert_eq!(release.version().to_string(), "2.0.0");
    // The index's bin, the rollout policy's bin (absent: still looked up), and the
    // chosen release's bin: at most three of the 1,024.
    let fetched = bins_fetched(&data);
    assert!((1..=3).contains(&fetched), "{fetched} bins fetched");
    // Nothing of the index stays on disk: only metadata and the lock.
    assert!(
        !data.join("downloads").exists()
            || std::fs::read_dir(data.join("downloads"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_index_a_listing_that_cannot_see_every_bin_is_refused() {
    let repo = binned_repo(6);
    repo.release("2.0.0");
    // The release stays, its index goes: as a repository written by another tool.
    let index = repo_tool::release::index_path(APP);
    ops::remove_target(repo.fx.project(), &index, OffsetDateTime::now_utc()).unwrap();
    repo.publish();
    let server = StaticServer::start(&repo.published(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let data = repo.dir.path().join("data");
    let mut app = updater(&repo, &server.base_url(), &data, Limits::default());
    let err = app.check().await.unwrap_err();
    assert!(
        matches!(err, Error::ListingIncomplete { limit: 32, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("release index"), "{err}");
    // With a limit that covers every bin, the listing finds the release.
    let limits = Limits {
        max_delegations: 100,
        ..Limits::default()
    };
    let mut app = updater(&repo, &server.base_url(), &data, limits);
    let release = app.check().await.unwrap().expect("found by listing");
    assert_eq!(release.version().to_string(), "2.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_bins_than_the_client_allows_are_refused_naming_the_role() {
    let repo = binned_repo(6);
    repo.release("2.0.0");
    repo.publish();
    let server = StaticServer::start(&repo.published(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let data = repo.dir.path().join("data");
    let limits = Limits {
        max_hash_bin_bits: 5,
        ..Limits::default()
    };
    let mut app = updater(&repo, &server.base_url(), &data, limits);
    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::TooManyBins { role, bit_length: 6, limit: 5 } if role == "targets"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_padded_with_releases_nobody_signed_fails_the_check_loudly() {
    // A holder of the index's key (not of the releases') lists twenty newer
    // releases that do not exist, to push the real 2.0.0 past the lookup limit. The
    // check must not report "up to date": it refuses the index, naming it.
    let repo = binned_repo(6);
    repo.release("2.0.0");
    let mut index = repo_tool::release::current_index(repo.fx.project(), APP).unwrap();
    let real = index.releases[0].clone();
    for minor in 0..20 {
        let mut fake = real.clone();
        fake.version = Version::new(3, minor, 0);
        fake.target = format!("{APP}/3.{minor}.0/{}/{APP}", real.platform);
        index.upsert(fake);
    }
    let server = repo.publish_index_and_serve(&index).await;
    let data = repo.dir.path().join("data");
    let mut app = updater(&repo, &server.base_url(), &data, Limits::default());
    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::ReleaseIndex { path, .. } if path == "my-app/releases.json"),
        "{err:?}"
    );
    assert!(err.to_string().contains("3.19.0"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_entry_that_says_otherwise_than_its_release_fails_the_check() {
    let repo = binned_repo(4);
    repo.release("2.0.0");
    let mut index = repo_tool::release::current_index(repo.fx.project(), APP).unwrap();
    index.releases[0].channels = vec!["beta".into()];
    let server = repo.publish_index_and_serve(&index).await;
    let data = repo.dir.path().join("data");
    // The default channel does not see a "beta" entry, so the lie is only looked up
    // by a beta installation; the default one still finds nothing wrong to act on.
    let root = repo.fx.root_json().unwrap();
    let base = server.base_url();
    let mut beta = Updater::builder(APP, "1.0.0")
        .repository(&format!("{base}metadata/"), &format!("{base}targets/"))
        .trusted_root(root)
        .data_dir(&data)
        .executable(data.join("bin").join(APP))
        .channel("beta")
        .build()
        .unwrap();
    let err = beta.check().await.unwrap_err();
    assert!(matches!(&err, Error::ReleaseIndex { .. }), "{err:?}");
    assert!(err.to_string().contains("beta"), "{err}");
}

#[test]
fn plain_add_refuses_the_index_releases_and_release_objects() {
    // `repo-tool add` of these would leave the index and the releases disagreeing,
    // which clients refuse; the release commands keep them together.
    let repo = binned_repo(2);
    repo.release("2.0.0");
    let project = repo.fx.project();
    let index = repo_tool::release::index_path(APP);
    let release = repo_tool::release::current_index(project, APP)
        .unwrap()
        .releases[0]
        .target
        .clone();
    let object = serde_json::json!({"updater": {"app": APP}});
    for (path, custom, needle) in [
        (index.as_str(), None, "release index"),
        (release.as_str(), None, "repo-tool remove"),
        ("my-app/other", Some(&object), "repo-tool release"),
    ] {
        let err = repo_tool::release::check_plain_target(project, path, custom).unwrap_err();
        assert!(err.to_string().contains(needle), "{path}: {err}");
    }
    repo_tool::release::check_plain_target(project, "my-app/docs/readme.txt", None).unwrap();
}
