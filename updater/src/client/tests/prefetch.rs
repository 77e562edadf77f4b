//! The timestamp travels while the root chain is probed, and trust still sees the
//! files in the order of the specification.

use super::*;
use tokio::sync::Notify;

/// Holds back its answer for the first root probe (`2.root.json`) until `timestamp.json` has been asked
/// for (at most 5 s), and records what was asked and when answered.
struct GateFetcher {
    sim: SimFetcher,
    timestamp_asked: Notify,
    events: Mutex<Vec<String>>,
}

impl GateFetcher {
    fn new(sim: Arc<Mutex<RepoSim>>) -> GateFetcher {
        GateFetcher {
            sim: SimFetcher(sim),
            timestamp_asked: Notify::new(),
            events: Mutex::new(Vec::new()),
        }
    }

    fn log(&self, event: String) {
        self.events.lock().unwrap().push(event);
    }
}

impl Fetcher for GateFetcher {
    fn fetch<'a>(&'a self, url: &'a Url, max_length: u64) -> FetchFuture<'a> {
        Box::pin(async move {
            let name = url
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            self.log(format!("asked {name}"));
            if name == "timestamp.json" {
                self.timestamp_asked.notify_one();
            }
            if name == "2.root.json" {
                let waited =
                    tokio::time::timeout(Duration::from_secs(5), self.timestamp_asked.notified())
                        .await;
                self.log(format!(
                    "answered {name} {}",
                    if waited.is_ok() {
                        "after the timestamp was asked"
                    } else {
                        "after 5 s"
                    }
                ));
            }
            self.sim.fetch(url, max_length).await
        })
    }
}

/// The first events: the root probe, the timestamp asked while the probe's answer
/// is held back, then the probe answered.
fn assert_timestamp_asked_while_root_held(events: &[String]) {
    assert_eq!(
        events[..3],
        strings(&[
            "asked 2.root.json",
            "asked timestamp.json",
            "answered 2.root.json after the timestamp was asked",
        ]),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_timestamp_is_fetched_while_the_root_is_probed() {
    let h = Harness::new(RepoSim::new());
    let fetcher = Arc::new(GateFetcher::new(h.sim.clone()));
    let config = ClientConfig {
        prefetch_timestamp: true,
        ..h.config()
    };
    let mut client = Client::with_reference_time(config, fetcher.clone(), now()).unwrap();
    client.refresh().await.unwrap();
    let events = fetcher.events.lock().unwrap().clone();
    assert_timestamp_asked_while_root_held(&events);
    // One transfer of the timestamp: the prefetched one is the one trusted.
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "asked timestamp.json")
            .count(),
        1,
        "{events:?}"
    );
    assert!(client.trusted().timestamp().is_some());
    assert!(h.stored("timestamp.json").is_some());
}

#[tokio::test]
async fn after_a_root_rotation_the_prefetched_timestamp_is_fetched_again() {
    let mut sim = RepoSim::new();
    // Root 2 rotates the timestamp key; the repository's timestamp is signed by the
    // new key only. The copy that travelled beside the root probe is set aside, and
    // the timestamp is asked for again once root 2 is trusted.
    sim.rotate_keys("timestamp");
    sim.bump_root();
    let h = Harness::new(sim);
    let fetcher = Arc::new(GateFetcher::new(h.sim.clone()));
    let config = ClientConfig {
        prefetch_timestamp: true,
        ..h.config()
    };
    let mut client = Client::with_reference_time(config, fetcher.clone(), now()).unwrap();
    client.refresh().await.unwrap();
    assert_eq!(client.trusted().root().common.version, 2);
    assert!(client.trusted().timestamp().is_some());
    let events = fetcher.events.lock().unwrap().clone();
    assert_timestamp_asked_while_root_held(&events);
    let root_3 = events
        .iter()
        .position(|e| e == "asked 3.root.json")
        .unwrap();
    let timestamps: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| *e == "asked timestamp.json")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(timestamps.len(), 2, "{events:?}");
    assert!(
        timestamps[1] > root_3,
        "asked again after the root walk: {events:?}"
    );
}

#[tokio::test]
async fn without_prefetch_the_root_is_answered_before_the_timestamp_is_asked() {
    tokio::time::pause();
    let h = Harness::new(RepoSim::new());
    let fetcher = Arc::new(GateFetcher::new(h.sim.clone()));
    let config = h.config();
    assert!(!config.prefetch_timestamp, "off by default");
    let mut client = Client::with_reference_time(config, fetcher.clone(), now()).unwrap();
    client.refresh().await.unwrap();
    let events = fetcher.events.lock().unwrap().clone();
    assert_eq!(
        events[..3],
        strings(&[
            "asked 2.root.json",
            "answered 2.root.json after 5 s",
            "asked timestamp.json",
        ]),
        "{events:?}"
    );
}
