//! Real repositories, as served on the web by real TUF implementations, read through
//! the public API with `file://` URLs: refresh at the moment the metadata was valid,
//! download the target they name, and check that later the metadata has expired.
//!
//! The test data in `shared/testdata` is read-only; everything written goes to
//! temporary directories.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use updater::fetch::FileFetcher;
use updater::trust::TrustError;
use updater::{Client, ClientConfig, Error};
use url::Url;

const REPOSITORIES: [&str; 2] = ["sigstore-root-signing", "tuf-on-ci-0.11"];

fn testdata(repo: &str) -> PathBuf {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata"
    ))
    .join(repo);
    std::fs::canonicalize(&dir)
        .unwrap_or_else(|e| panic!("test data {} is missing: {e}", dir.display()))
}

fn read_text(repo: &str, name: &str) -> String {
    let path = testdata(repo).join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// `faketime` holds e.g. `2025-02-09 12:02:08+00:00`.
fn faketime(repo: &str) -> OffsetDateTime {
    let text = read_text(repo, "faketime");
    let rfc3339 = text.replacen(' ', "T", 1);
    OffsetDateTime::parse(&rfc3339, &Rfc3339)
        .unwrap_or_else(|e| panic!("{repo}/faketime {text:?}: {e}"))
}

fn at(rfc3339: &str) -> OffsetDateTime {
    OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap()
}

/// A client over `repo` with a fresh metadata directory (inside `state`) holding
/// the repository's initial root.
fn client(repo: &str, state: &Path, now: OffsetDateTime) -> Client {
    let data = testdata(repo);
    let metadata_dir = state.join("metadata");
    let root = std::fs::read(data.join("initial_root.json")).unwrap();
    Client::init(&metadata_dir, &root).unwrap();
    let config = ClientConfig::new(
        &metadata_dir,
        Url::from_directory_path(data.join("metadata")).unwrap(),
        Url::from_directory_path(data.join("targets")).unwrap(),
    );
    Client::with_reference_time(config, Arc::new(FileFetcher), now).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

async fn refresh_and_download(repo: &str) {
    let state = tempfile::tempdir().unwrap();
    let mut client = client(repo, state.path(), faketime(repo));
    client
        .refresh()
        .await
        .unwrap_or_else(|e| panic!("{repo}: refresh failed: {e}"));

    let target_path = read_text(repo, "targetpath");
    let info = client
        .target_info(&target_path)
        .await
        .unwrap_or_else(|e| panic!("{repo}: target {target_path:?}: {e}"));

    let out = state.path().join("targets");
    std::fs::create_dir(&out).unwrap();
    let path = client
        .download_target(&target_path, &info, &out, None)
        .await
        .unwrap_or_else(|e| panic!("{repo}: download of {target_path:?}: {e}"));
    assert_eq!(path, Client::local_target_path(&out, &target_path));

    let downloaded = std::fs::read(&path).unwrap();
    let expected_sha256 = info.hashes.get("sha256").expect("sha256 listed");
    assert_eq!(&sha256_hex(&downloaded), expected_sha256, "{repo}");
    assert_eq!(downloaded.len() as u64, info.length, "{repo}");

    // The bytes are those of the file the repository serves (consistent snapshot:
    // `DIR/HASH.NAME`).
    let served_name = match target_path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/{expected_sha256}.{name}"),
        None => format!("{expected_sha256}.{target_path}"),
    };
    let served = std::fs::read(testdata(repo).join("targets").join(served_name)).unwrap();
    assert_eq!(downloaded, served, "{repo}");

    // What was trusted is on disk, and a second client reuses it.
    let metadata_dir = state.path().join("metadata");
    for file in [
        "root.json",
        "timestamp.json",
        "snapshot.json",
        "targets.json",
    ] {
        assert!(
            metadata_dir.join(file).is_file(),
            "{repo}: {file} not stored"
        );
    }
    let config = client.config().clone();
    let mut again =
        Client::with_reference_time(config, Arc::new(FileFetcher), faketime(repo)).unwrap();
    let info_again = again.target_info(&target_path).await.unwrap();
    assert_eq!(info_again, info, "{repo}");
}

#[tokio::test]
async fn sigstore_root_signing_refreshes_and_downloads_its_target() {
    refresh_and_download(REPOSITORIES[0]).await;
}

#[tokio::test]
async fn tuf_on_ci_refreshes_and_downloads_its_target() {
    refresh_and_download(REPOSITORIES[1]).await;
}

#[tokio::test]
async fn sigstore_root_signing_has_walked_to_the_last_root() {
    let repo = REPOSITORIES[0];
    let state = tempfile::tempdir().unwrap();
    let mut client = client(repo, state.path(), faketime(repo));
    client.refresh().await.unwrap();
    let last = std::fs::read_dir(testdata(repo).join("metadata"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".root.json")?.parse::<u64>().ok()
        })
        .max()
        .unwrap();
    assert_eq!(client.trusted().root().common.version, last);
}

/// Refreshing long after the metadata was published fails: the repository looks
/// frozen. (tuf-on-ci's metadata in the test data expires in 2044, so a later time
/// is used for it.)
#[tokio::test]
async fn refresh_at_a_later_time_fails_with_an_expiry_error() {
    for (repo, later) in [
        (REPOSITORIES[0], "2030-01-01T00:00:00Z"),
        (REPOSITORIES[1], "2045-01-01T00:00:00Z"),
    ] {
        let state = tempfile::tempdir().unwrap();
        let mut client = client(repo, state.path(), at(later));
        let err = client.refresh().await.unwrap_err();
        assert!(
            matches!(err, Error::Metadata(TrustError::Expired { .. })),
            "{repo} at {later}: {err:?}"
        );
    }
}
