//! Interoperability with the reference implementation, python-tuf (the `tuf` package
//! from PyPI): `updater` reads a repository written by python-tuf's Metadata API
//! (succinct hash bins, ECDSA and ed25519 keys), and python-tuf's ngclient refreshes
//! and downloads from a repository published by repo-tool and served over HTTP.
//!
//! Needs a Python with `tuf` installed, named by `UPDATER_INTEROP_PYTHON`;
//! `bash scripts/test.sh` creates one. These tests fail (never skip) without it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures: a failed setup is a failed test

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use repo_tool::repository::{Repository, RoleSigners};
use repo_tool::serve::StaticServer;
use repo_tool::signer::{FileKey, KeyKind, Signer};
use time::OffsetDateTime;
use updater::fetch::FileFetcher;
use updater::{Client, ClientConfig};
use url::Url;

fn python() -> PathBuf {
    let python = std::env::var_os("UPDATER_INTEROP_PYTHON").expect(
        "UPDATER_INTEROP_PYTHON must name a Python with python-tuf installed; `bash scripts/test.sh` sets it up",
    );
    PathBuf::from(python)
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

fn file_url(path: &Path) -> Url {
    Url::from_directory_path(path).unwrap()
}

#[tokio::test]
async fn updater_reads_a_hash_binned_repository_written_by_python_tuf() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    let output = Command::new(python())
        .arg(script("make_repo.py"))
        .arg(&repo)
        .args(["300", "6"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "make_repo.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let metadata_dir = work.path().join("client");
    Client::init(
        &metadata_dir,
        &std::fs::read(repo.join("metadata/1.root.json")).unwrap(),
    )
    .unwrap();
    let config = ClientConfig::new(
        &metadata_dir,
        file_url(&repo.join("metadata")),
        file_url(&repo.join("targets")),
    );
    let mut client = Client::new(config, Arc::new(FileFetcher)).unwrap();
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    for (name, content) in [
        ("top.txt", "top-level target".to_string()),
        ("files/file-0.txt", "content 0".to_string()),
        ("files/file-299.txt", "content 299".to_string()),
        ("files/file-123.txt", "content 123".to_string()),
    ] {
        let info = client.target_info(name).await.unwrap();
        let path = client
            .download_target(name, &info, &out, None)
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), content);
    }
    // Only the bins holding the requested targets were fetched: 64 bins exist.
    let bins = std::fs::read_dir(&metadata_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("bins-")
        })
        .count();
    assert!((1..=3).contains(&bins), "{bins} bins loaded");
    let err = client.target_info("files/file-300.txt").await.unwrap_err();
    assert!(
        matches!(err, updater::Error::TargetNotFound { .. }),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_tuf_client_downloads_from_a_repository_published_by_repo_tool() {
    let work = tempfile::tempdir().unwrap();
    let repo_dir = work.path().join("repo");
    let keys: Vec<FileKey> = [
        KeyKind::Ed25519,
        KeyKind::EcdsaP256,
        KeyKind::Ed25519,
        KeyKind::EcdsaP256,
        KeyKind::Ed25519,
    ]
    .into_iter()
    .map(|k| FileKey::generate(k).unwrap())
    .collect();
    let signers = RoleSigners {
        root: vec![&keys[0] as &dyn Signer, &keys[1]],
        targets: vec![&keys[2]],
        snapshot: vec![&keys[3]],
        timestamp: vec![&keys[4]],
    };
    let now = OffsetDateTime::now_utc();
    let mut repo = Repository::create(&signers, &BTreeMap::from([("root", 2)]), now).unwrap();
    repo.add_target(
        "app/app-1.0.0.tar.gz",
        b"release 1.0.0".to_vec(),
        Some(serde_json::json!({"version": "1.0.0"})),
    )
    .unwrap();
    repo.add_target("README", b"readme".to_vec(), None).unwrap();
    repo.publish(&repo_dir, &signers, now).unwrap();
    let server = StaticServer::start(&repo_dir, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();

    let metadata_dir = work.path().join("py-client");
    let out = work.path().join("py-out");
    std::fs::create_dir_all(&metadata_dir).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(
        repo_dir.join("metadata/1.root.json"),
        metadata_dir.join("root.json"),
    )
    .unwrap();
    let base = server.base_url();
    let args = vec![
        script("ngclient_download.py").into_os_string(),
        metadata_dir.clone().into_os_string(),
        format!("{base}metadata/").into(),
        format!("{base}targets/").into(),
        out.clone().into_os_string(),
        "app/app-1.0.0.tar.gz".into(),
        "README".into(),
    ];
    let interpreter = python();
    let output =
        tokio::task::spawn_blocking(move || Command::new(interpreter).args(args).output().unwrap())
            .await
            .unwrap();
    assert!(
        output.status.success(),
        "python-tuf refused the repository: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    let paths: Vec<&str> = printed.lines().collect();
    assert_eq!(paths.len(), 2);
    assert_eq!(std::fs::read(paths[0]).unwrap(), b"release 1.0.0");
    assert_eq!(std::fs::read(paths[1]).unwrap(), b"readme");

    // A second release: python-tuf follows it too.
    repo.add_target("app/app-1.1.0.tar.gz", b"release 1.1.0".to_vec(), None)
        .unwrap();
    repo.publish(&repo_dir, &signers, now).unwrap();
    let args = vec![
        script("ngclient_download.py").into_os_string(),
        metadata_dir.into_os_string(),
        format!("{base}metadata/").into(),
        format!("{base}targets/").into(),
        out.into_os_string(),
        "app/app-1.1.0.tar.gz".into(),
    ];
    let interpreter = python();
    let output =
        tokio::task::spawn_blocking(move || Command::new(interpreter).args(args).output().unwrap())
            .await
            .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(std::fs::read(printed.trim()).unwrap(), b"release 1.1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_tuf_client_downloads_from_hash_bins_published_by_repo_tool() {
    use repo_tool::delegate::{delegate, Delegation};
    use repo_tool::ops::{self, NewTarget, RoleSetup};
    use repo_tool::project::Settings;

    let work = tempfile::tempdir().unwrap();
    let keys: Vec<FileKey> = (0..5)
        .map(|_| FileKey::generate(KeyKind::Ed25519).unwrap())
        .collect();
    let setup = |k: &FileKey| RoleSetup {
        keys: vec![k.public_key().clone()],
        threshold: 1,
    };
    let roles = BTreeMap::from([
        ("root".to_string(), setup(&keys[0])),
        ("targets".to_string(), setup(&keys[1])),
        ("snapshot".to_string(), setup(&keys[2])),
        ("timestamp".to_string(), setup(&keys[3])),
    ]);
    let now = OffsetDateTime::now_utc();
    let project = ops::init(&work.path().join("repo"), &roles, Settings::default(), now).unwrap();
    let bins = Delegation::HashBins {
        bits: 5,
        prefix: "bin".into(),
    };
    delegate(&project, &bins, &[keys[4].public_key().clone()], 1, now).unwrap();
    let new: Vec<NewTarget> = (0..100)
        .map(|i| NewTarget {
            path: format!("pkg/file-{i}.txt"),
            content: format!("content {i}").into_bytes(),
            custom: None,
        })
        .collect();
    ops::add_targets(&project, new, None, now).unwrap();
    ops::sign(&project, "root", &keys[0]).unwrap();
    ops::sign(&project, "targets", &keys[1]).unwrap();
    ops::sign_all(&project, &keys[4]).unwrap();
    repo_tool::publish::publish(&project, &[&keys[2]], &[&keys[3]], now).unwrap();

    let published = work.path().join("repo/published");
    let server = StaticServer::start(&published, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let metadata_dir = work.path().join("py-client");
    let out = work.path().join("py-out");
    std::fs::create_dir_all(&metadata_dir).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(
        published.join("metadata/1.root.json"),
        metadata_dir.join("root.json"),
    )
    .unwrap();
    let base = server.base_url();
    let args = vec![
        script("ngclient_download.py").into_os_string(),
        metadata_dir.into_os_string(),
        format!("{base}metadata/").into(),
        format!("{base}targets/").into(),
        out.into_os_string(),
        "pkg/file-0.txt".into(),
        "pkg/file-57.txt".into(),
        "pkg/file-99.txt".into(),
    ];
    let interpreter = python();
    let output =
        tokio::task::spawn_blocking(move || Command::new(interpreter).args(args).output().unwrap())
            .await
            .unwrap();
    assert!(
        output.status.success(),
        "python-tuf refused the hash-binned repository: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap();
    let contents: Vec<String> = printed
        .lines()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(contents, ["content 0", "content 57", "content 99"]);
}
