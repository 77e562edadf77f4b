//! Tests of mirrors: a bad mirror is skipped, never trusted, and never hides a root
//! rotation that another mirror has.
//!
//! The honest mirror is the [`RepoSim`] at `https://repo.test/`; hostile mirrors at
//! other hosts serve the same repository through a [`Hostile`] behaviour.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use url::Url;

use crate::client::{Client, ClientConfig, Mirror};
use crate::error::Error;
use crate::fetch::{FetchError, FetchFuture, Fetcher, ResponseBody};
use crate::testing::{now, RepoSim, SimFetcher, BASE};

const TARGET: &str = "dir/file.bin";
const DATA: &[u8] = b"the honest target";

/// What a hostile mirror does.
#[derive(Clone, Copy)]
enum Hostile {
    /// Every request fails with a connection error.
    Down,
    /// Serves metadata with a broken signature, and targets with a flipped byte.
    Tampers,
    /// Answers "not found" for every root version file; honest otherwise.
    HidesRoots,
}

/// Routes `https://repo.test/` to the honest simulator and other hosts to a hostile
/// view of the same repository; records the hostile requests.
struct Mirrors {
    sim: Arc<Mutex<RepoSim>>,
    hostile: BTreeMap<String, Hostile>,
    hostile_requests: Mutex<Vec<String>>,
}

impl Fetcher for Mirrors {
    fn fetch<'a>(&'a self, url: &'a Url, max_length: u64) -> FetchFuture<'a> {
        Box::pin(async move {
            let host = url.host_str().unwrap_or_default().to_string();
            let Some(behaviour) = self.hostile.get(&host).copied() else {
                return SimFetcher(self.sim.clone()).fetch(url, max_length).await;
            };
            self.hostile_requests.lock().unwrap().push(url.to_string());
            let path = url.path().trim_start_matches('/').to_string();
            let not_found = || FetchError::NotFound {
                url: url.to_string(),
            };
            match behaviour {
                Hostile::Down => Err(FetchError::Transport {
                    url: url.to_string(),
                    message: "connection refused".into(),
                }),
                Hostile::HidesRoots if path.ends_with(".root.json") => Err(not_found()),
                Hostile::HidesRoots => {
                    let bytes = self
                        .sim
                        .lock()
                        .unwrap()
                        .serve(&path)
                        .ok_or_else(not_found)?;
                    Ok(ResponseBody::from_bytes(bytes))
                }
                Hostile::Tampers => {
                    let bytes = self
                        .sim
                        .lock()
                        .unwrap()
                        .serve(&path)
                        .ok_or_else(not_found)?;
                    Ok(ResponseBody::from_bytes(tamper(bytes)))
                }
            }
        })
    }
}

/// Metadata: one hex digit of the first signature changed. Anything else: one byte
/// flipped. Either way the length stays the same.
fn tamper(mut bytes: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if let Some(at) = text.find("\"sig\"") {
        let quote = text[at + 5..].find('"').unwrap() + at + 5 + 1;
        bytes[quote] = if bytes[quote] == b'0' { b'1' } else { b'0' };
    } else {
        bytes[0] ^= 0xff;
    }
    bytes
}

struct Setup {
    sim: Arc<Mutex<RepoSim>>,
    dir: tempfile::TempDir,
    out: tempfile::TempDir,
    fetcher: Arc<Mirrors>,
}

/// A repository with `TARGET`, a metadata directory with root version 1, and the
/// hostile mirrors `hostile` (by host name).
fn setup(sim: RepoSim, hostile: &[(&str, Hostile)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    Client::init(dir.path(), &sim.root_bytes(1).unwrap()).unwrap();
    let sim = Arc::new(Mutex::new(sim));
    let fetcher = Arc::new(Mirrors {
        sim: sim.clone(),
        hostile: hostile.iter().map(|(h, b)| (h.to_string(), *b)).collect(),
        hostile_requests: Mutex::new(Vec::new()),
    });
    Setup {
        sim,
        dir,
        out: tempfile::tempdir().unwrap(),
        fetcher,
    }
}

fn with_target() -> RepoSim {
    let mut sim = RepoSim::new();
    sim.add_target("targets", TARGET, DATA);
    sim
}

fn mirror(base: &str) -> Mirror {
    let base = Url::parse(base).unwrap();
    Mirror::new(
        base.join("metadata").unwrap(),
        base.join("targets").unwrap(),
    )
}

impl Setup {
    /// A client over the mirrors at `bases`, in this order.
    fn client(&self, bases: &[&str]) -> Client {
        let mut config = ClientConfig::new(
            self.dir.path(),
            mirror(bases[0]).metadata_base_url,
            mirror(bases[0]).targets_base_url,
        );
        for base in &bases[1..] {
            config = config.with_mirror(mirror(base));
        }
        self.client_with(config)
    }

    /// A client over `config`, without retries (a down mirror fails at once).
    fn client_with(&self, mut config: ClientConfig) -> Client {
        config.transfer.retries = 0;
        Client::with_reference_time(config, self.fetcher.clone(), now()).unwrap()
    }

    fn hostile_requests(&self) -> Vec<String> {
        std::mem::take(&mut self.fetcher.hostile_requests.lock().unwrap())
    }

    fn stored(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).unwrap()
    }

    /// Refreshes, looks up and downloads `TARGET`; checks the file.
    async fn update(&self, client: &mut Client) {
        let info = client.target_info(TARGET).await.unwrap();
        let path = client
            .download_target(TARGET, &info, self.out.path(), None)
            .await
            .unwrap();
        assert_eq!(std::fs::read(path).unwrap(), DATA);
    }
}

const BAD: &str = "https://bad.test/";
const WORSE: &str = "https://worse.test/";

#[tokio::test]
async fn tampered_metadata_on_the_first_mirror_is_skipped_for_the_next() {
    let s = setup(with_target(), &[("bad.test", Hostile::Tampers)]);
    let mut client = s.client(&[BAD, BASE]);
    s.update(&mut client).await;
    assert!(!client.trusted().is_poisoned());
    // Every metadata file was asked of the bad mirror first, and refused.
    let asked = s.hostile_requests();
    for file in ["timestamp.json", "1.snapshot.json", "1.targets.json"] {
        assert!(
            asked.contains(&format!("{BAD}metadata/{file}")),
            "{file} not asked: {asked:?}"
        );
    }
    // What was persisted is the honest bytes.
    let sim = s.sim.lock().unwrap();
    assert_eq!(s.stored("timestamp.json"), sim.timestamp_bytes());
    assert_eq!(s.stored("snapshot.json"), sim.snapshot_bytes());
    assert_eq!(s.stored("targets.json"), sim.targets_bytes("targets"));
}

#[tokio::test]
async fn tampered_target_on_the_first_mirror_is_refused_and_fetched_from_the_next() {
    let s = setup(with_target(), &[("bad.test", Hostile::Tampers)]);
    // Metadata from the honest mirror first; the target from the bad one first.
    let mut config = ClientConfig::new(
        s.dir.path(),
        mirror(BASE).metadata_base_url,
        mirror(BAD).targets_base_url,
    );
    config = config.with_mirror(mirror(BASE));
    let mut client = s.client_with(config);
    s.update(&mut client).await;
    let asked = s.hostile_requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].starts_with(&format!("{BAD}targets/dir/")),
        "{asked:?}"
    );
    // Only the verified file is left.
    let left: Vec<_> = std::fs::read_dir(s.out.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[tokio::test]
async fn mirror_that_is_down_is_skipped() {
    let s = setup(with_target(), &[("bad.test", Hostile::Down)]);
    let mut client = s.client(&[BAD, BASE]);
    s.update(&mut client).await;
    assert!(!s.hostile_requests().is_empty());
}

#[tokio::test]
async fn new_root_hidden_by_one_mirror_is_found_on_the_next() {
    let mut sim = with_target();
    sim.bump_root();
    let s = setup(sim, &[("bad.test", Hostile::HidesRoots)]);
    let mut client = s.client(&[BAD, BASE]);
    s.update(&mut client).await;
    assert_eq!(client.trusted().root().common.version, 2);
    assert_eq!(
        s.stored("root.json"),
        s.sim.lock().unwrap().root_bytes(2).unwrap()
    );
    // Root 3 was asked of both mirrors before concluding there is none.
    let asked = s.hostile_requests();
    assert!(asked.contains(&format!("{BAD}metadata/2.root.json")));
    assert!(asked.contains(&format!("{BAD}metadata/3.root.json")));
    assert!(s
        .sim
        .lock()
        .unwrap()
        .requests
        .contains(&"metadata/3.root.json".to_string()));
}

#[tokio::test]
async fn every_mirror_failing_is_an_error_naming_each_mirror() {
    let s = setup(
        with_target(),
        &[
            ("bad.test", Hostile::Down),
            ("worse.test", Hostile::Tampers),
        ],
    );
    let mut client = s.client(&[BAD, WORSE]);
    let err = client.refresh().await.unwrap_err();
    let Error::Mirrors { file, failures } = &err else {
        panic!("not a mirrors error: {err}");
    };
    assert_eq!(file, "timestamp.json");
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].mirror, format!("{BAD}metadata/"));
    assert!(matches!(
        *failures[0].error,
        Error::Fetch(FetchError::Transport { .. })
    ));
    assert_eq!(failures[1].mirror, format!("{WORSE}metadata/"));
    assert!(matches!(*failures[1].error, Error::Metadata(_)));
    let message = err.to_string();
    assert!(
        message.contains(BAD) && message.contains(WORSE),
        "{message}"
    );
    // Nothing from either mirror was persisted.
    assert!(!s.dir.path().join("timestamp.json").exists());
}

#[tokio::test]
async fn root_walk_fails_when_no_mirror_answers_not_found() {
    let s = setup(
        with_target(),
        &[("bad.test", Hostile::Down), ("worse.test", Hostile::Down)],
    );
    let mut client = s.client(&[BAD, WORSE]);
    let err = client.refresh().await.unwrap_err();
    assert!(
        matches!(&err, Error::Mirrors { file, .. } if file == "2.root.json"),
        "{err}"
    );
}

#[tokio::test]
async fn every_mirror_serving_a_bad_target_is_an_error_naming_each_mirror() {
    let s = setup(
        with_target(),
        &[
            ("bad.test", Hostile::Tampers),
            ("worse.test", Hostile::Down),
        ],
    );
    let mut config = ClientConfig::new(
        s.dir.path(),
        mirror(BASE).metadata_base_url,
        mirror(BAD).targets_base_url,
    );
    config = config.with_mirror(Mirror::new(
        mirror(BASE).metadata_base_url,
        mirror(WORSE).targets_base_url,
    ));
    let mut client = s.client_with(config);
    let info = client.target_info(TARGET).await.unwrap();
    let err = client
        .download_target(TARGET, &info, s.out.path(), None)
        .await
        .unwrap_err();
    let Error::Mirrors { file, failures } = &err else {
        panic!("not a mirrors error: {err}");
    };
    assert_eq!(file, TARGET);
    assert!(matches!(*failures[0].error, Error::Target { .. }));
    assert!(matches!(*failures[1].error, Error::Fetch(_)));
    assert_eq!(std::fs::read_dir(s.out.path()).unwrap().count(), 0);
}

#[test]
fn a_client_without_mirrors_is_a_configuration_error() {
    let s = setup(with_target(), &[]);
    let mut config = ClientConfig::new(
        s.dir.path(),
        mirror(BASE).metadata_base_url,
        mirror(BASE).targets_base_url,
    );
    config.mirrors.clear();
    let result = Client::with_reference_time(config, s.fetcher.clone(), now());
    assert!(matches!(result, Err(Error::Config(_))));
}

#[tokio::test]
async fn falling_back_to_another_mirror_keeps_the_cached_rollback_reference() {
    let s = setup(with_target(), &[("bad.test", Hostile::Tampers)]);
    // An honest refresh caches snapshot v2, which lists targets v2.
    s.sim.lock().unwrap().publish_targets("targets");
    s.client(&[BASE]).refresh().await.unwrap();
    // Then snapshot v3 rolls targets back to v1. The cached snapshot no longer
    // matches the new timestamp, but it still serves as the rollback reference; the
    // tampering first mirror makes the client fall back to the second, and the
    // rollback must be refused there too.
    {
        let mut sim = s.sim.lock().unwrap();
        sim.targets.get_mut("targets").unwrap().common.version = 1;
        sim.publish_snapshot();
    }
    let err = s.client(&[BAD, BASE]).refresh().await.unwrap_err();
    assert!(err.to_string().contains("rollback refused"), "{err}");
    assert!(
        !s.hostile_requests().is_empty(),
        "the bad mirror was asked first"
    );
    let snapshot: serde_json::Value = serde_json::from_slice(&s.stored("snapshot.json")).unwrap();
    assert_eq!(snapshot["signed"]["meta"]["targets.json"]["version"], 2);
}
