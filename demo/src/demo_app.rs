//! The demo's example application: a copy of this very executable, stamped with a
//! release version, that runs as `demo-app` and updates itself with the
//! [`updater::Updater`].
//!
//! When the executable's file name is `demo-app`, `main` hands over to [`run`]. The
//! app reads `demo-app.json` next to itself (repository URL, CA file, trusted root,
//! data directory), the way an installed application reads its packaged settings.
//!
//! - `demo-app`: start (finish or roll back an install), print the version, confirm.
//! - `demo-app update`: check, download with a progress bar, verify, install.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use updater::install::StartupOutcome;
use updater::Updater;

use cli_support::bar_for;

/// The executable name that switches this binary into the demo application.
pub const APP: &str = "demo-app";

/// The settings file next to the installed executable.
pub const SETTINGS_FILE: &str = "demo-app.json";

const SLOT_LEN: usize = 48;
const MARKER_LEN: usize = 28;

/// The version slot, patched in copies of the binary by [`stamp`]. Its marker is
/// written backwards everywhere else in this file, so the only forward copy in the
/// executable is this one.
#[used]
static VERSION_SLOT: [u8; SLOT_LEN] =
    *b"@@updater-demo-app-version@@0.0.0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

fn marker() -> Vec<u8> {
    // black_box keeps the compiler from folding the forward marker into a constant.
    let reversed: &[u8] = std::hint::black_box(b"@@noisrev-ppa-omed-retadpu@@");
    reversed.iter().rev().copied().collect()
}

/// The version this copy of the executable was stamped with ("0.0.0" unstamped).
pub fn stamped_version() -> String {
    let slot: &[u8; SLOT_LEN] = std::hint::black_box(&VERSION_SLOT);
    let value = &slot[MARKER_LEN..];
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

/// A copy of `binary` (this executable's bytes) whose version slot says `version`,
/// like a build that stamps its version at link time.
///
/// # Errors
/// When the slot is not found exactly once or the version does not fit.
pub fn stamp(binary: &[u8], version: &str) -> Result<Vec<u8>> {
    let marker = marker();
    let found: Vec<usize> = binary
        .windows(MARKER_LEN)
        .enumerate()
        .filter(|(_, w)| *w == marker.as_slice())
        .map(|(i, _)| i)
        .collect();
    let [at] = found[..] else {
        bail!(
            "the version slot appears {} times in the executable, expected once",
            found.len()
        );
    };
    if version.len() >= SLOT_LEN - MARKER_LEN {
        bail!("version {version:?} is too long for the slot");
    }
    let mut out = binary.to_vec();
    let slot = &mut out[at + MARKER_LEN..at + SLOT_LEN];
    slot.fill(0);
    slot[..version.len()].copy_from_slice(version.as_bytes());
    Ok(out)
}

/// Settings of an installed demo app.
struct Settings {
    repository: String,
    ca_file: PathBuf,
    root: PathBuf,
    data_dir: PathBuf,
}

fn settings(exe: &Path) -> Result<Settings> {
    let path = exe.with_file_name(SETTINGS_FILE);
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: Value =
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
    let field = |name: &str| -> Result<String> {
        json[name]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("{} has no {name:?}", path.display()))
    };
    Ok(Settings {
        repository: field("repository")?,
        ca_file: field("ca_file")?.into(),
        root: field("trusted_root")?.into(),
        data_dir: field("data_dir")?.into(),
    })
}

fn updater(exe: &Path) -> Result<Updater> {
    let settings = settings(exe)?;
    let root = std::fs::read(&settings.root)
        .with_context(|| format!("reading {}", settings.root.display()))?;
    let http = updater::fetch::HttpOptions {
        ca_file: Some(settings.ca_file.clone()),
        ..Default::default()
    };
    let base = settings.repository.trim_end_matches('/');
    Ok(Updater::builder(APP, &stamped_version())
        .repository(&format!("{base}/metadata/"), &format!("{base}/targets/"))
        .trusted_root(root)
        .data_dir(&settings.data_dir)
        .executable(exe)
        .http_options(http)
        .build()?)
}

/// Runs the demo application (`args` without the program name).
///
/// # Errors
/// Any failure; the caller prints it and exits non-zero.
pub async fn run(args: &[String]) -> Result<()> {
    let exe = std::env::current_exe().context("finding the running executable")?;
    let mut updater = updater(&exe)?;
    let version = stamped_version();
    match updater.startup()? {
        StartupOutcome::RolledBack(rolled) => {
            println!(
                "demo-app: version {} did not confirm; rolled back to {} ({})",
                rolled.from_version, rolled.to_version, rolled.reason
            );
            return Ok(());
        }
        StartupOutcome::AwaitingConfirmation { .. } => {
            println!("demo-app {version}: first start after an update; checking health");
            updater.confirm()?;
            println!("demo-app {version}: healthy; update confirmed (no rollback now)");
        }
        other => tracing::debug!(?other, "startup"),
    }
    match args.first().map(String::as_str) {
        None => {
            println!("demo-app {version}: running, verified by TUF before it ever ran");
            Ok(())
        }
        Some("update") => update(&mut updater, &version).await,
        Some(other) => bail!("unknown demo-app command {other:?}; use no argument or `update`"),
    }
}

async fn update(updater: &mut Updater, version: &str) -> Result<()> {
    println!(
        "demo-app {version}: checking {}",
        updater.config().mirrors[0].metadata_base_url
    );
    let Some(release) = updater.check().await? else {
        println!("demo-app {version}: up to date");
        return Ok(());
    };
    print_trusted(&updater.data_dir().join("metadata"));
    println!(
        "    release {} for {} on channel {} selected ({})",
        release.version(),
        release.info.platform,
        updater.config().channel,
        release.info.notes.as_deref().unwrap_or("no notes")
    );
    let bar = bar_for(&release.target_path, release.target.length);
    let mut progress = |done: u64, _total: u64| bar.set_position(done);
    let downloaded = updater.download(&release, Some(&mut progress)).await?;
    bar.finish_and_clear();
    let hashes: Vec<&str> = release.target.hashes.keys().collect();
    println!(
        "    downloaded {} bytes; length and {} match the signed targets metadata",
        release.target.length,
        hashes.join(" and ")
    );
    updater
        .install(&downloaded, |step| println!("    install: {step}"))
        .await?;
    println!(
        "demo-app: {} installed; it runs at the next start",
        release.version()
    );
    Ok(())
}

/// Prints the version of each trusted top-level role, as stored after the refresh.
fn print_trusted(dir: &Path) {
    for role in ["root", "timestamp", "snapshot", "targets"] {
        let version = std::fs::read(dir.join(format!("{role}.json")))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["signed"]["version"].as_u64());
        if let Some(version) = version {
            println!("    trusted {role} v{version}: signatures meet its threshold, not expired, no rollback");
        }
    }
}
