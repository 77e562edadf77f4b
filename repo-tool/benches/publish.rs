//! How long repo-tool takes to add and publish many targets, flat and in 1,024
//! hash bins, and what adding one target to the published repository costs.
//!
//! `cargo bench -p repo-tool --bench publish [-- SIZES]` (default `10000 100000`).
//! Prints one table; times are wall clock on this machine, so compare rows of the
//! same run rather than runs on different machines.

#![allow(clippy::expect_used)] // a benchmark: any failure ends the run

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use repo_tool::delegate::{delegate, Delegation};
use repo_tool::ops::{self, NewTarget, RoleSetup};
use repo_tool::project::{Project, Settings};
use repo_tool::signer::{FileKey, KeyKind, Signer};
use time::OffsetDateTime;

struct Keys {
    root: FileKey,
    targets: FileKey,
    snapshot: FileKey,
    timestamp: FileKey,
    bins: FileKey,
}

fn keys() -> Keys {
    let k = || FileKey::generate(KeyKind::Ed25519).expect("key generation");
    Keys {
        root: k(),
        targets: k(),
        snapshot: k(),
        timestamp: k(),
        bins: k(),
    }
}

fn targets(range: std::ops::Range<usize>) -> Vec<NewTarget> {
    range
        .map(|i| NewTarget {
            path: format!("pkg/{}/file-{i}.bin", i % 100),
            content: format!("target content {i}").into_bytes(),
            custom: None,
        })
        .collect()
}

fn sign_everything(project: &Project, keys: &Keys) {
    for (key, role) in [(&keys.root, "root"), (&keys.targets, "targets")] {
        if project
            .staged_roles()
            .expect("staged")
            .iter()
            .any(|r| r == role)
        {
            ops::sign(project, role, key).expect("sign");
        }
    }
    if project
        .staged_roles()
        .expect("staged")
        .iter()
        .any(|r| r.starts_with("bins-"))
    {
        ops::sign_all(project, &keys.bins).expect("sign bins");
    }
}

fn publish(project: &Project, keys: &Keys, now: OffsetDateTime) {
    repo_tool::publish::publish(project, &[&keys.snapshot], &[&keys.timestamp], now)
        .expect("publish");
}

fn files_in(dir: &Path) -> BTreeMap<String, std::time::SystemTime> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().and_then(|m| m.modified()).expect("mtime"),
            )
        })
        .collect()
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

fn run(count: usize, binned: bool) {
    let work = tempfile::tempdir().expect("tempdir");
    let keys = keys();
    let now = OffsetDateTime::now_utc();
    let setup = |k: &FileKey| RoleSetup {
        keys: vec![k.public_key().clone()],
        threshold: 1,
    };
    let roles = BTreeMap::from([
        ("root".to_string(), setup(&keys.root)),
        ("targets".to_string(), setup(&keys.targets)),
        ("snapshot".to_string(), setup(&keys.snapshot)),
        ("timestamp".to_string(), setup(&keys.timestamp)),
    ]);
    let project =
        ops::init(&work.path().join("repo"), &roles, Settings::default(), now).expect("init");
    if binned {
        let bins = Delegation::HashBins {
            bits: 10,
            prefix: "bins".into(),
        };
        delegate(&project, &bins, &[keys.bins.public_key().clone()], 1, now).expect("delegate");
    }
    let started = Instant::now();
    ops::add_targets(&project, targets(0..count), None, now).expect("add");
    let added = started.elapsed();
    let started = Instant::now();
    sign_everything(&project, &keys);
    publish(&project, &keys, now);
    let published = started.elapsed();

    let metadata = project.metadata_dir();
    let before = files_in(&metadata);
    let started = Instant::now();
    ops::add_targets(&project, targets(count..count + 1), None, now).expect("add one");
    sign_everything(&project, &keys);
    publish(&project, &keys, now);
    let one = started.elapsed();
    let after = files_in(&metadata);
    let rewritten: Vec<&String> = after
        .iter()
        .filter(|(n, t)| before.get(*n) != Some(t))
        .map(|(n, _)| n)
        .collect();
    let biggest = after
        .keys()
        .map(|n| {
            std::fs::metadata(metadata.join(n))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    println!(
        "| {count:>7} | {:<11} | {:>7} | {:>11} | {:>10} | {:>2} ({}) | {:>6.1} |",
        if binned { "1,024 bins" } else { "flat" },
        secs(added),
        secs(published),
        secs(one),
        rewritten.len(),
        rewritten
            .iter()
            .filter(|n| !n.starts_with(|c: char| c.is_ascii_digit()))
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        biggest as f64 / 1e6,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary
    // without it, as a smoke test: one small size, so the test suite stays fast.
    let benchmarking = args.iter().any(|a| a == "--bench");
    let sizes = match (sizes.is_empty(), benchmarking) {
        (false, _) => sizes,
        (true, true) => vec![10_000, 100_000],
        (true, false) => vec![500],
    };
    println!("| targets | layout      | add (s) | publish (s) | add one (s) | files rewritten by add one | largest metadata (MB) |");
    println!("|---------|-------------|---------|-------------|-------------|----------------------------|-----------------------|");
    for count in sizes {
        for binned in [false, true] {
            run(count, binned);
        }
    }
}
