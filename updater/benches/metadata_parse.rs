//! Where the time of accepting a large `targets.json` goes.
//!
//! `cargo bench -p updater --bench metadata_parse [-- DIR]`. Without DIR it signs a
//! repository of 25,000 targets (as `bash scripts/bench.sh` serves, about 3.4 MB of
//! targets metadata) in a temporary directory; DIR may instead hold a repository's
//! `1.root.json`, `timestamp.json`, `1.snapshot.json` and `1.targets.json`. Under
//! `cargo test` it runs once on 3,000 targets, to show that it works.
//!
//! Prints the median of each phase, and each as a share of the sequential
//! parse-then-verify, so that runs on noisy machines compare: the trusted set's
//! `update_targets` (which parses and checks signatures side by side for large
//! documents) against parsing then verifying one after the other.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use time::OffsetDateTime;
use updater::metadata::{
    canonical_bytes, format_expiry, is_canonical, BorrowedEnvelope, Envelope, Key, RoleType, Root,
    Targets, SPEC_VERSION,
};
use updater::trust::{verify_threshold, Origin, TrustedMetadata};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs `f` `runs` times and returns the median wall time.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(f());
        times.push(start.elapsed());
    }
    median(times)
}

/// `signed` signed by `key`, written compactly with a canonical `signed` part (as
/// repo-tool writes metadata).
fn signed_file(signed: &Value, key: &Ed25519KeyPair, keyid: &str) -> Result<Vec<u8>> {
    let canonical = canonical_bytes(signed)?;
    let sig = hex::encode(key.sign(&canonical));
    let mut file =
        format!(r#"{{"signatures":[{{"keyid":"{keyid}","sig":"{sig}"}}],"signed":"#).into_bytes();
    file.extend_from_slice(&canonical);
    file.push(b'}');
    Ok(file)
}

/// A repository whose top-level targets role lists `targets` targets, one ed25519
/// key for every role.
fn generate(dir: &Path, targets: usize) -> Result<()> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .map_err(|_| "cannot generate an ed25519 key")?;
    let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| e.to_string())?;
    let public = Key::ed25519(key.public_key().as_ref());
    let keyid = public.key_id()?;
    let common = |role: &str| {
        json!({
            "_type": role,
            "spec_version": SPEC_VERSION,
            "version": 1,
            "expires": format_expiry(OffsetDateTime::now_utc() + time::Duration::days(7)),
        })
    };
    let with = |mut base: Value, fields: Value| {
        if let (Some(base), Some(fields)) = (base.as_object_mut(), fields.as_object()) {
            base.extend(fields.clone());
        }
        base
    };
    let role = json!({"keyids": [keyid], "threshold": 1});
    let root = with(
        common("root"),
        json!({
            "consistent_snapshot": true,
            "keys": {keyid.as_str(): public},
            "roles": {"root": role, "timestamp": role, "snapshot": role, "targets": role},
        }),
    );
    let listed: serde_json::Map<String, Value> = (0..targets)
        .map(|i| {
            let digest = hex::encode(ring::digest::digest(
                &ring::digest::SHA256,
                i.to_string().as_bytes(),
            ));
            let path = format!("pkg/{:02}/app-{i:05}-1.0.0.tar.gz", i % 100);
            (
                path,
                json!({"length": 1000 + i, "hashes": {"sha256": digest}}),
            )
        })
        .collect();
    let files = [
        ("1.root.json", root),
        (
            "timestamp.json",
            with(
                common("timestamp"),
                json!({"meta": {"snapshot.json": {"version": 1}}}),
            ),
        ),
        (
            "1.snapshot.json",
            with(
                common("snapshot"),
                json!({"meta": {"targets.json": {"version": 1}}}),
            ),
        ),
        (
            "1.targets.json",
            with(common("targets"), json!({ "targets": listed })),
        ),
    ];
    for (name, signed) in files {
        std::fs::write(dir.join(name), signed_file(&signed, &key, &keyid)?)?;
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct SignedPart<'a> {
    #[serde(borrow)]
    signed: &'a serde_json::value::RawValue,
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test` runs this once, small.
    let benching = std::env::args().any(|a| a == "--bench");
    let (targets, runs) = if benching { (25_000, 21) } else { (3_000, 3) };
    let generated = tempfile::tempdir()?;
    let dir: PathBuf = match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(dir) => dir.into(),
        None => {
            generate(generated.path(), targets)?;
            generated.path().to_path_buf()
        }
    };
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
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
    let now = OffsetDateTime::now_utc();

    let sequential = time(runs, || -> Result<()> {
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
    let mut trusted_sets = Vec::with_capacity(runs);
    let mut accept = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut set = TrustedMetadata::new(&root, now)?;
        set.update_timestamp(&timestamp, Origin::Repository)?;
        set.update_snapshot(&snapshot, Origin::Repository)?;
        let start = Instant::now();
        set.update_targets("targets", "root", &targets, Origin::Repository)?;
        accept.push(start.elapsed());
        trusted_sets.push(set);
    }
    let accept = median(accept);
    let mut drops = Vec::with_capacity(runs);
    for set in trusted_sets {
        let start = Instant::now();
        drop(set);
        drops.push(start.elapsed());
    }

    let parse = time(runs, || {
        BorrowedEnvelope::<Targets>::from_slice(&targets).map(|e| e.signed)
    });
    let check = time(runs, || is_canonical(signed.as_bytes()));
    let scan = time(runs, || {
        serde_json::from_slice::<SignedPart>(&targets).map(|p| p.signed.get().len())
    });
    let digest = time(runs, || {
        ring::digest::digest(&ring::digest::SHA512, signed.as_bytes())
    });

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
    row("  parse alone (and freeing it)", parse);
    row("    of which the envelope scan", scan);
    row("    of which the canonical-form check", check);
    row("  SHA-512 over signed (per ed25519 signature)", digest);
    row("freeing the trusted set", median(drops));
    Ok(())
}
