//! The repository, the client under attack, and the checks every case makes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use repo_tool::sandbox::Sandbox;
use time::OffsetDateTime;
use updater::fetch::{DefaultFetcher, HttpOptions, TransferLimits};
use updater::{Client, ClientConfig, Error};
use url::Url;

use super::server::{Adversary, Attack, TestCa};

pub const TARGET: &str = "app/v1.bin";
pub const TARGET_SUFFIX: &str = "v1.bin";

/// 200 kB that are not all the same byte.
pub fn payload() -> Vec<u8> {
    (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// Short limits so that every attack ends within seconds: 2 s read timeout, 1 KiB/s
/// after 2 s, two retries after 200 ms and 400 ms.
pub fn short_limits() -> TransferLimits {
    TransferLimits {
        read_timeout: Duration::from_secs(2),
        min_bytes_per_second: 1024,
        rate_grace: Duration::from_secs(2),
        retries: 2,
        retry_delay: Duration::from_millis(200),
    }
}

pub struct Fixture {
    pub _work: tempfile::TempDir,
    pub metadata_dir: PathBuf,
    pub out: PathBuf,
    pub repo: Sandbox,
    pub server: Adversary,
    pub ca_file: Option<PathBuf>,
}

impl Fixture {
    /// A published repository with [`TARGET`], served over plain http on loopback.
    pub async fn new() -> Fixture {
        Fixture::build(None, None).await
    }

    /// As [`Fixture::new`] over TLS with `server_ca`'s certificate; the client trusts
    /// only the CA in `client_ca_pem`.
    pub async fn with_tls(server_ca: &TestCa, client_ca_pem: &str) -> Fixture {
        Fixture::build(Some(server_ca.acceptor.clone()), Some(client_ca_pem)).await
    }

    pub async fn build(tls: Option<tokio_rustls::TlsAcceptor>, client_ca: Option<&str>) -> Fixture {
        let work = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let repo = Sandbox::create(&work.path().join("repo"), &[], now).unwrap();
        repo.add_file(TARGET, &payload(), now).unwrap();
        let repo_dir = repo.published_dir();
        let metadata_dir = work.path().join("client");
        Client::init(
            &metadata_dir,
            &std::fs::read(repo_dir.join("metadata/1.root.json")).unwrap(),
        )
        .unwrap();
        let out = work.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let ca_file = client_ca.map(|pem| {
            let path = work.path().join("ca.pem");
            std::fs::write(&path, pem).unwrap();
            path
        });
        let server = Adversary::start(repo_dir, tls).await;
        Fixture {
            _work: work,
            metadata_dir,
            out,
            repo,
            server,
            ca_file,
        }
    }

    pub fn config(&self) -> ClientConfig {
        let base = &self.server.base;
        let mut config = ClientConfig::new(
            &self.metadata_dir,
            base.join("metadata/").unwrap(),
            base.join("targets/").unwrap(),
        );
        config.transfer = short_limits();
        config
    }

    pub fn client(&self) -> Client {
        let options = HttpOptions {
            ca_file: self.ca_file.clone(),
            ..HttpOptions::default()
        };
        let fetcher = Arc::new(DefaultFetcher::new(options).unwrap());
        Client::new(self.config(), fetcher).unwrap()
    }

    /// Signs and publishes one more release, so that an honest refresh would change
    /// every metadata file but root.
    pub fn publish_release(&mut self, path: &str, content: &[u8]) {
        let now = OffsetDateTime::now_utc();
        self.repo.add_file(path, content, now).unwrap();
    }

    /// The refusal `err` of `case` came within `bound` of `started` (reported), and
    /// the trusted metadata is byte for byte what it was (`before`).
    pub fn assert_refused_in_time(
        &self,
        case: &str,
        started: Instant,
        bound: Duration,
        before: &BTreeMap<String, Vec<u8>>,
        err: &Error,
    ) {
        let elapsed = started.elapsed();
        report(case, elapsed, err);
        assert!(elapsed < bound, "{case}: took {elapsed:?}, bound {bound:?}");
        assert_eq!(
            &self.metadata_files(),
            before,
            "{case}: trusted metadata changed"
        );
    }

    /// Every file of the trusted metadata directory, by name.
    pub fn metadata_files(&self) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(&self.metadata_dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }

    /// The target directory holds nothing: no target, no temporary file.
    pub fn assert_out_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left in the target directory: {left:?}");
    }
}

/// Fails the test if `future` has not finished after a minute (a hung client).
pub async fn within_a_minute<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("the client did not give up within 60 s")
}

/// Prints how long the client took to give up, and the peak resident memory of this
/// process so far (`VmHWM`; scripts/attack-figures.sh runs one attack per process).
pub fn report(case: &str, elapsed: Duration, err: &Error) {
    report_outcome(case, "gave up", elapsed, &err.to_string());
}

/// Prints one line per case, `[adversarial] CASE: OUTCOME after TIME; peak RSS N kB:
/// DETAIL`, which scripts/attack-figures.sh reads.
pub fn report_outcome(case: &str, outcome: &str, elapsed: Duration, detail: &str) {
    println!(
        "[adversarial] {case}: {outcome} after {elapsed:.2?}; peak RSS {}: {detail}",
        peak_rss()
    );
}

/// `VmHWM` of /proc/self/status (Linux), e.g. "21364 kB"; "unknown" elsewhere.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// A first honest refresh, then `attack` on the target: the download must fail within
/// `bound`, the metadata stay byte-identical and the target directory stay empty.
pub async fn attack_target(case: &str, attack: Attack, bound: Duration) -> Error {
    let f = Fixture::new().await;
    attack_target_with(&f, case, |_| attack, bound).await
}

/// As [`attack_target`] on fixture `f`, with the attack made from the target's URL.
pub async fn attack_target_with(
    f: &Fixture,
    case: &str,
    make: impl FnOnce(&Url) -> Attack,
    bound: Duration,
) -> Error {
    let mut client = f.client();
    let info = client.target_info(TARGET).await.unwrap();
    let before = f.metadata_files();
    f.server.attack(
        TARGET_SUFFIX,
        make(&client.target_url(TARGET, &info).unwrap()),
    );
    let started = Instant::now();
    let err = within_a_minute(client.download_target(TARGET, &info, &f.out, None))
        .await
        .unwrap_err();
    f.assert_refused_in_time(case, started, bound, &before, &err);
    f.assert_out_empty();
    err
}

/// A first honest refresh, a new release, then `attack` on `timestamp.json`: the
/// refresh must fail within `bound` and the metadata stay byte-identical.
pub async fn attack_timestamp(case: &str, attack: Attack, bound: Duration) -> Error {
    let mut f = Fixture::new().await;
    f.client().refresh().await.unwrap();
    f.publish_release("app/v2.bin", b"release two");
    let before = f.metadata_files();
    f.server.attack("timestamp.json", attack);
    let mut client = f.client();
    let started = Instant::now();
    let err = within_a_minute(client.refresh()).await.unwrap_err();
    f.assert_refused_in_time(case, started, bound, &before, &err);
    err
}

pub const FAST: Duration = Duration::from_secs(5);
pub const SLOW: Duration = Duration::from_secs(10);
