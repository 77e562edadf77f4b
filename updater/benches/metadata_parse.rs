//! Where the time of accepting a large `targets.json` goes.
//!
//! `cargo bench -p updater --bench metadata_parse -- DIR`, where DIR holds a
//! repository's `1.root.json`, `timestamp.json`, `1.snapshot.json` and
//! `1.targets.json` (default: the flat 25,000-target repository that
//! `bash scripts/bench.sh` generates in `target/bench/repos/flat/metadata`).
//!
//! Prints the median of 21 runs of each phase, and each as a share of the
//! sequential parse-then-verify, so that runs on noisy machines compare: the
//! trusted set's `update_targets` (which parses and checks signatures side by side
//! for large documents) against parsing then verifying one after the other.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use updater::metadata::{is_canonical, BorrowedEnvelope, Envelope, RoleType, Root, Targets};
use updater::trust::{verify_threshold, Origin, TrustedMetadata};

const RUNS: usize = 21;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs `f` [`RUNS`] times and returns the median wall time.
fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        std::hint::black_box(f());
        times.push(start.elapsed());
    }
    median(times)
}

#[derive(serde::Deserialize)]
struct SignedPart<'a> {
    #[serde(borrow)]
    signed: &'a serde_json::value::RawValue,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir: PathBuf = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench/repos/flat/metadata")
        });
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| {
            format!(
                "{}: {e} (run `bash scripts/bench.sh --quick` first, or pass a directory)",
                dir.join(name).display()
            )
        })
    };
    let (root, timestamp, snapshot, targets) = (
        read("1.root.json")?,
        read("timestamp.json")?,
        read("1.snapshot.json")?,
        read("1.targets.json")?,
    );
    let root_signed = Envelope::<Root>::from_slice(&root)?.signed;
    let targets_keys = root_signed
        .role(RoleType::Targets)
        .ok_or("root lists no targets role")?
        .clone();
    let signed = serde_json::from_slice::<SignedPart>(&targets)?.signed.get();
    let now = time::OffsetDateTime::now_utc();

    let sequential = time(|| -> Result<(), Box<dyn std::error::Error>> {
        let envelope = BorrowedEnvelope::<Targets>::from_slice(&targets)?;
        verify_threshold(
            "targets",
            &envelope.canonical_signed,
            &envelope.signatures,
            &root_signed.keys,
            &targets_keys,
        )?;
        Ok(())
    });
    let mut trusted_sets = Vec::with_capacity(RUNS);
    let mut accept = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut set = TrustedMetadata::new(&root, now)?;
        set.update_timestamp(&timestamp, Origin::Repository)?;
        set.update_snapshot(&snapshot, Origin::Repository)?;
        let start = Instant::now();
        set.update_targets("targets", "root", &targets, Origin::Repository)?;
        accept.push(start.elapsed());
        trusted_sets.push(set);
    }
    let accept = median(accept);
    let mut drops = Vec::with_capacity(RUNS);
    for set in trusted_sets {
        let start = Instant::now();
        drop(set);
        drops.push(start.elapsed());
    }

    let parse = time(|| BorrowedEnvelope::<Targets>::from_slice(&targets).map(|e| e.signed));
    let check = time(|| is_canonical(signed.as_bytes()));
    let scan =
        time(|| serde_json::from_slice::<SignedPart>(&targets).map(|p| p.signed.get().len()));
    let digest = time(|| ring::digest::digest(&ring::digest::SHA512, signed.as_bytes()));

    println!(
        "{} ({} bytes)",
        dir.join("1.targets.json").display(),
        targets.len()
    );
    let row = |name: &str, took: Duration| {
        let share = took.as_secs_f64() / sequential.as_secs_f64();
        println!(
            "{name:<48} {:>8.2} ms {:>6.2}",
            took.as_secs_f64() * 1e3,
            share
        );
    };
    row("parse, then verify (one thread)", sequential);
    row("trusted set update_targets (side by side)", accept);
    row("  parse alone", parse);
    row("    of which the envelope scan", scan);
    row("    of which the canonical-form check", check);
    row("  SHA-512 over signed (per ed25519 signature)", digest);
    row("freeing the trusted set", median(drops));
    Ok(())
}
