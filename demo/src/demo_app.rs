//! The demo's example application: a whole application directory, updated as one
//! bundle by the [`updater::Updater`].
//!
//! ```text
//! demo-app/demo-app                this very executable, copied
//! demo-app/resources/version.txt   the application's version: it runs as this version
//! demo-app/resources/banner.txt    what it prints when it starts
//! demo-app/demo-app.json           the installation's settings (preserved by updates)
//! ```
//!
//! When the executable's file name is `demo-app`, `main` hands over to [`run`]. The
//! app reads its version and banner from its own resources and `demo-app.json`
//! (repository URL, CA file, trusted root, data directory) from its directory, the way
//! an installed application reads its packaged settings. A release replaces the whole
//! directory atomically, except `demo-app.json`.
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

/// The settings file in the application directory.
pub const SETTINGS_FILE: &str = "demo-app.json";

/// The application's version, inside its directory.
pub const VERSION_FILE: &str = "resources/version.txt";

/// The banner it prints, inside its directory.
pub const BANNER_FILE: &str = "resources/banner.txt";

/// Writes the application directory of `version` at `dir`: this executable, its
/// version and a banner (not the settings, which belong to an installation).
///
/// # Errors
/// IO errors.
pub fn build_tree(dir: &Path, executable: &[u8], version: &str, banner: &str) -> Result<()> {
    std::fs::create_dir_all(dir.join("resources"))?;
    let exe = dir.join(APP);
    std::fs::write(&exe, executable)?;
    crate::demo::make_executable(&exe)?;
    std::fs::write(dir.join(VERSION_FILE), format!("{version}\n"))?;
    std::fs::write(dir.join(BANNER_FILE), format!("{banner}\n"))?;
    Ok(())
}

/// The version the application directory holding `exe` says it is.
fn own_version(exe: &Path) -> Result<String> {
    let file = app_dir(exe)?.join(VERSION_FILE);
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    Ok(text.trim().to_string())
}

fn app_dir(exe: &Path) -> Result<&Path> {
    exe.parent().context("the executable has no directory")
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
    Ok(Updater::builder(APP, &own_version(exe)?)
        .repository(&format!("{base}/metadata/"), &format!("{base}/targets/"))
        .trusted_root(root)
        .data_dir(&settings.data_dir)
        .install_dir(app_dir(exe)?)
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
    let version = own_version(&exe)?;
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
            let banner = app_dir(&exe)?.join(BANNER_FILE);
            let banner = std::fs::read_to_string(&banner)
                .with_context(|| format!("reading {}", banner.display()))?;
            println!("demo-app {version}: running, verified by TUF before it ever ran");
            println!("demo-app {version}: {}", banner.trim());
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
    if let Some(bundle) = &release.info.bundle {
        println!(
            "    a {} bundle of {} entries, {} bytes unpacked (signed figures, enforced while unpacking)",
            bundle.format, bundle.entries, bundle.unpacked_size
        );
    }
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
