//! Delegated role names as they travel from repo-tool through a static server to
//! the client: a name with spaces, parentheses and non-ASCII text is published under
//! its own name and found; names that would overwrite another file somewhere are
//! refused when delegated.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

use std::net::SocketAddr;
use std::sync::Arc;

use repo_tool::delegate::{delegate, Delegation};
use repo_tool::ops;
use repo_tool::project::Settings;
use repo_tool::sandbox::Sandbox;
use repo_tool::serve::StaticServer;
use repo_tool::signer::Signer;
use time::OffsetDateTime;
use updater::fetch::{DefaultFetcher, HttpOptions};
use updater::{Client, ClientConfig};

struct Repo {
    dir: tempfile::TempDir,
    fx: Sandbox,
}

fn repo() -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let fx = Sandbox::create_with(
        &dir.path().join("repo"),
        &[],
        Settings::default(),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    Repo { dir, fx }
}

fn role(name: &str) -> Delegation {
    Delegation::Role {
        name: name.into(),
        paths: vec!["docs/*".into()],
        path_hash_prefixes: Vec::new(),
        terminating: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_name_with_special_characters_is_published_and_found_under_its_name() {
    let r = repo();
    let now = OffsetDateTime::now_utc();
    let name = "docs (en) & r\u{e9}sum\u{e9}s #1";
    r.fx.delegate(&role(name), now).unwrap();
    ops::add_target(r.fx.project(), "docs/guide.txt", b"the guide", None, now).unwrap();
    r.fx.publish(now).unwrap();
    let published = r.fx.published_dir();
    assert!(published.join(format!("metadata/1.{name}.json")).is_file());

    let server = StaticServer::start(&published, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = server.base_url();
    let metadata_dir = r.dir.path().join("client");
    Client::init(
        &metadata_dir,
        &std::fs::read(published.join("metadata/1.root.json")).unwrap(),
    )
    .unwrap();
    let config = ClientConfig::new(
        &metadata_dir,
        format!("{base}metadata/").parse().unwrap(),
        format!("{base}targets/").parse().unwrap(),
    );
    let fetcher = DefaultFetcher::new(HttpOptions::default()).unwrap();
    let mut client = Client::new(config, Arc::new(fetcher)).unwrap();
    let info = client.target_info("docs/guide.txt").await.unwrap();
    let out = r.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let file = client
        .download_target("docs/guide.txt", &info, &out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(file).unwrap(), b"the guide");
}

#[test]
fn names_that_would_overwrite_another_file_are_refused_when_delegated() {
    let r = repo();
    let now = OffsetDateTime::now_utc();
    let key = r.fx.signer("delegated").unwrap().public_key().clone();
    for bad in [
        "Root",
        "TIMESTAMP",
        "\u{17f}napshot", // upper case: SNAPSHOT
        "a/b",
        "..\\targets",
        "CON",
        "nul.json",
        "",
        ".",
    ] {
        let err = delegate(
            r.fx.project(),
            &role(bad),
            std::slice::from_ref(&key),
            1,
            now,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("cannot name a delegated role"),
            "{bad:?}: {err}"
        );
    }
    delegate(
        r.fx.project(),
        &role("docs"),
        std::slice::from_ref(&key),
        1,
        now,
    )
    .unwrap();
    let err = delegate(r.fx.project(), &role("Docs"), &[key], 1, now).unwrap_err();
    assert!(err.to_string().contains("case-insensitive"), "{err}");
}
