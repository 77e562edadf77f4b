//! Interoperability with the reference implementation, python-tuf (the `tuf` package
//! from PyPI): `updater` reads a repository written by python-tuf's Metadata API
//! (succinct hash bins, ECDSA and ed25519 keys), and python-tuf's ngclient refreshes
//! and downloads from a repository published by repo-tool and served over HTTP.
//!
//! Needs a Python with `tuf` installed, named by `UPDATER_INTEROP_PYTHON`;
//! `bash scripts/test.sh` creates one. These tests fail (never skip) without it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures: a failed setup is a failed test

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use repo_tool::serve::StaticServer;
use repo_tool::signer::{FileKey, KeyKind};
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

/// Target names that canonical JSON encoders have got wrong: names that are
/// prefixes of one another followed by bytes below and above `"`, and precomposed
/// and decomposed twins (accented Latin, Hangul, kana with a voicing mark).
#[path = "support/mod.rs"]
mod support;

const TRICKY_NAMES: &[&str] = &[
    "report",
    "report (old)",
    "report!",
    "report$1",
    "r\u{e9}sum\u{e9}.txt",
    "re\u{301}sume\u{301}.txt",
    "\u{d55c}\u{ad6d}\u{c5b4}.txt",
    "\u{1112}\u{1161}\u{11ab}\u{1100}\u{116e}\u{11a8}\u{110b}\u{1165}.txt",
    "\u{304c}\u{3063}\u{3053}\u{3046}.txt",
    "\u{304b}\u{3099}\u{3063}\u{3053}\u{3046}.txt",
];

/// Names with URL syntax in them (`#` starts a fragment, `?` a query, `%` an
/// escape): python-tuf writes them, though its own client requests them unencoded
/// and cannot download them; ours encodes each segment and can.
const URL_SYNTAX_NAMES: &[&str] = &["report#1", "50%41off", "what?.txt"];

/// The content the tests give the tricky target `name`.
fn tricky_content(name: &str) -> String {
    format!("tricky {name}")
}

/// Runs python-tuf's ngclient (`ngclient_download.py`) against the repository at
/// `base`, trusting `root`, for `names`; asserts that it succeeds and returns the
/// content of each downloaded file, in order.
async fn ngclient_download(base: &str, root: &Path, names: &[String]) -> Vec<Vec<u8>> {
    let work = tempfile::tempdir().unwrap();
    let metadata_dir = work.path().join("py-client");
    let out = work.path().join("py-out");
    std::fs::create_dir_all(&metadata_dir).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(root, metadata_dir.join("root.json")).unwrap();
    let mut args = vec![
        script("ngclient_download.py").into_os_string(),
        metadata_dir.into_os_string(),
        format!("{base}metadata/").into(),
        format!("{base}targets/").into(),
        out.into_os_string(),
    ];
    args.extend(names.iter().map(Into::into));
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
    let contents: Vec<Vec<u8>> = printed.lines().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(contents.len(), names.len());
    contents
}

fn file_url(path: &Path) -> Url {
    Url::from_directory_path(path).unwrap()
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "runs python-tuf in the Linux venv, which the Wine process cannot start"
)]
async fn updater_reads_a_hash_binned_repository_written_by_python_tuf() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    let output = Command::new(python())
        .arg(script("make_repo.py"))
        .arg(&repo)
        .args(["300", "6"])
        .args(TRICKY_NAMES)
        .args(URL_SYNTAX_NAMES)
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
    let bins_before_tricky = count_bins(&metadata_dir);
    assert!(
        (1..=3).contains(&bins_before_tricky),
        "{bins_before_tricky} bins loaded"
    );
    // Names python-tuf signed in its (indented) top-level targets and in its bins.
    for dir in ["top", "files"] {
        for name in TRICKY_NAMES.iter().chain(URL_SYNTAX_NAMES) {
            let path = format!("{dir}/{name}");
            let info = client.target_info(&path).await.unwrap();
            let file = client
                .download_target(&path, &info, &out, None)
                .await
                .unwrap();
            assert_eq!(
                std::fs::read_to_string(file).unwrap(),
                tricky_content(name),
                "{path}"
            );
        }
    }
    let err = client.target_info("files/file-300.txt").await.unwrap_err();
    assert!(
        matches!(err, updater::Error::TargetNotFound { .. }),
        "{err}"
    );
}

fn count_bins(metadata_dir: &Path) -> usize {
    support::count_starting_with(metadata_dir, "bins-")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    windows,
    ignore = "runs python-tuf in the Linux venv, which the Wine process cannot start"
)]
async fn python_tuf_client_downloads_from_a_repository_published_by_repo_tool() {
    use repo_tool::ops::{self, NewTarget};
    use repo_tool::project::Settings;
    use repo_tool::sandbox::{Sandbox, SandboxKeys};

    let work = tempfile::tempdir().unwrap();
    let key = |kind| FileKey::generate(kind).unwrap();
    // Root 2-of-2 with an ed25519 and an ECDSA P-256 key; ECDSA for snapshot too.
    let keys = SandboxKeys {
        root: vec![key(KeyKind::Ed25519), key(KeyKind::EcdsaP256)],
        root_threshold: 2,
        targets: key(KeyKind::Ed25519),
        snapshot: key(KeyKind::EcdsaP256),
        timestamp: key(KeyKind::Ed25519),
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
    let mut new = vec![
        NewTarget {
            path: "app/app-1.0.0.tar.gz".into(),
            content: b"release 1.0.0".to_vec(),
            custom: Some(serde_json::json!({"version": "1.0.0"})),
        },
        NewTarget {
            path: "README".into(),
            content: b"readme".to_vec(),
            custom: None,
        },
    ];
    new.extend(TRICKY_NAMES.iter().map(|name| NewTarget {
        path: format!("docs/{name}"),
        content: tricky_content(name).into_bytes(),
        custom: None,
    }));
    ops::add_targets(repo.project(), new, None, now).unwrap();
    repo.publish(now).unwrap();
    let repo_dir = repo.published_dir();
    let server = StaticServer::start(&repo_dir, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = server.base_url();
    let root = repo_dir.join("metadata/1.root.json");

    let mut names = vec!["app/app-1.0.0.tar.gz".to_string(), "README".to_string()];
    names.extend(TRICKY_NAMES.iter().map(|n| format!("docs/{n}")));
    let contents = ngclient_download(base.as_str(), &root, &names).await;
    assert_eq!(contents[0], b"release 1.0.0");
    assert_eq!(contents[1], b"readme");
    for (name, content) in TRICKY_NAMES.iter().zip(&contents[2..]) {
        assert_eq!(content, tricky_content(name).as_bytes(), "docs/{name}");
    }

    // A second release: python-tuf follows it too.
    repo.add_file("app/app-1.1.0.tar.gz", b"release 1.1.0", now)
        .unwrap();
    let contents =
        ngclient_download(base.as_str(), &root, &["app/app-1.1.0.tar.gz".to_string()]).await;
    assert_eq!(contents, [b"release 1.1.0".to_vec()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    windows,
    ignore = "runs python-tuf in the Linux venv, which the Wine process cannot start"
)]
async fn python_tuf_client_downloads_from_hash_bins_published_by_repo_tool() {
    use repo_tool::delegate::Delegation;
    use repo_tool::ops::{self, NewTarget};
    use repo_tool::project::Settings;
    use repo_tool::sandbox::Sandbox;

    let work = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let fx =
        Sandbox::create_with(&work.path().join("repo"), &[], Settings::default(), now).unwrap();
    let bins = Delegation::HashBins {
        bits: 5,
        prefix: "bin".into(),
    };
    fx.delegate(&bins, now).unwrap();
    let mut new: Vec<NewTarget> = (0..100)
        .map(|i| NewTarget {
            path: format!("pkg/file-{i}.txt"),
            content: format!("content {i}").into_bytes(),
            custom: None,
        })
        .collect();
    new.extend(TRICKY_NAMES.iter().map(|name| NewTarget {
        path: format!("pkg/{name}"),
        content: tricky_content(name).into_bytes(),
        custom: None,
    }));
    ops::add_targets(fx.project(), new, None, now).unwrap();
    fx.publish(now).unwrap();

    let published = fx.published_dir();
    let server = StaticServer::start(&published, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let mut names: Vec<String> = ["pkg/file-0.txt", "pkg/file-57.txt", "pkg/file-99.txt"]
        .map(String::from)
        .to_vec();
    names.extend(TRICKY_NAMES.iter().map(|n| format!("pkg/{n}")));
    let contents = ngclient_download(
        server.base_url().as_str(),
        &published.join("metadata/1.root.json"),
        &names,
    )
    .await;
    assert_eq!(
        &contents[..3],
        [
            b"content 0".to_vec(),
            b"content 57".to_vec(),
            b"content 99".to_vec()
        ]
    );
    for (name, content) in TRICKY_NAMES.iter().zip(&contents[3..]) {
        assert_eq!(content, tricky_content(name).as_bytes(), "pkg/{name}");
    }
}
