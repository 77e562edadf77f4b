//! Generates the repositories for the release-discovery benchmark of
//! `scripts/bench.sh`: the same releases, made by `repo-tool`'s own library calls,
//! once flat and once in hash bins.
//!
//! ```text
//! cargo run --release --example bench_releases -- OUT_DIR [--releases N] [--bits B]
//! ```
//!
//! Writes two `repo-tool` projects under `OUT_DIR`, each published in `published/`:
//!
//! - `releases-flat/`: `--releases` releases (default 1,000) of `my-app`, listed in
//!   top-level `targets.json` with the application's release index;
//! - `releases-bins/`: the same releases in `2^--bits` (default 2^14 = 16,384)
//!   succinct hash bins, as `repo-tool delegate --hash-bins` makes them;
//! - `releases-bins-versions/`: the same, published with `--no-snapshot-hashes`
//!   (the snapshot lists only the version of each bin), to measure what listing
//!   each bin's length and hash costs.
//!
//! Releases are versions `1.0.0` to `1.(N-1).0` for this build's platform; the
//! benchmark checks from `1.0.0`, so the newest is offered. `OUT_DIR/releases.json`
//! tells the driver the application, the versions, and where each repository is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use repo_tool::delegate::Delegation;
use repo_tool::project::Settings;
use repo_tool::release::{add_releases, NewRelease};
use repo_tool::sandbox::Sandbox;
use semver::Version;
use serde_json::json;
use time::OffsetDateTime;
use updater::release::{current_platform, ReleaseInfo};

const APP: &str = "my-app";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let (mut releases, mut bits) = (1000usize, 14u32);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--releases" => releases = value("--releases")?.parse()?,
            "--bits" => bits = value("--bits")?.parse()?,
            flag if flag.starts_with("--") => bail!("unknown option {flag}"),
            dir => out = Some(PathBuf::from(dir)),
        }
    }
    let out = out.context("usage: bench_releases OUT_DIR [--releases N] [--bits B]")?;
    if releases == 0 {
        bail!("--releases must be at least 1");
    }
    std::fs::create_dir_all(&out)?;
    let mut manifest = BTreeMap::new();
    for (name, bins, snapshot_hashes) in [
        ("releases-flat", None, true),
        ("releases-bins", Some(bits), true),
        ("releases-bins-versions", Some(bits), false),
    ] {
        let started = Instant::now();
        let dir = out.join(name);
        make_repository(&dir, releases, bins, snapshot_hashes)
            .with_context(|| format!("making {}", dir.display()))?;
        eprintln!(
            "{name}: {releases} releases{} in {:.1} s",
            bins.map_or(String::new(), |b| format!(" in {} bins", 1u64 << b)),
            started.elapsed().as_secs_f64()
        );
        manifest.insert(
            name,
            json!({
                "published": format!("{name}/published"),
                "bins": bins.map_or(0, |b| 1u64 << b),
                "snapshot_hashes": snapshot_hashes,
                "snapshot_bytes": std::fs::metadata(dir.join("published/metadata/snapshot.json"))?.len(),
            }),
        );
    }
    let manifest = json!({
        "app": APP,
        "releases": releases,
        "current": "1.0.0",
        "newest": format!("1.{}.0", releases - 1),
        "repositories": manifest,
    });
    std::fs::write(
        out.join("releases.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok(())
}

/// A fresh project at `dir` with `releases` releases, flat or in `2^bits` bins,
/// signed and published.
fn make_repository(
    dir: &Path,
    releases: usize,
    bits: Option<u32>,
    snapshot_hashes: bool,
) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let now = OffsetDateTime::now_utc();
    let settings = Settings {
        snapshot_hashes,
        ..Settings::default()
    };
    let fx = Sandbox::create_with(dir, &[], settings, now)?;
    if let Some(bits) = bits {
        let bins = Delegation::HashBins {
            bits,
            prefix: "bin".into(),
        };
        fx.delegate(&bins, now)?;
    }
    let new: Vec<NewRelease> = (0..releases)
        .map(|minor| NewRelease {
            info: release_info(Version::new(1, minor as u64, 0)),
            file_name: APP.into(),
            content: format!("{APP} 1.{minor}.0\n").into_bytes(),
        })
        .collect();
    add_releases(fx.project(), &new, now)?;
    fx.publish(now)?;
    Ok(())
}

fn release_info(version: Version) -> ReleaseInfo {
    ReleaseInfo::new(APP, version, current_platform())
}
