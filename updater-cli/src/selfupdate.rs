//! `updater-cli check`, `update` and `rollback`: the self-update steps of the library
//! against any repository that follows the release convention of `updater::release`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use semver::Version;
use serde_json::json;
use updater::fetch::HttpOptions;
use updater::update::CheckOptions;
use updater::Updater;

use cli_support::bar_for;

/// Which application, where its repository is, and where its state lives.
#[derive(Args, Debug, Clone)]
pub struct AppArgs {
    /// Application name (the repository directory of its releases).
    #[arg(long)]
    app: String,
    /// The version installed now (semver).
    #[arg(long)]
    current_version: String,
    /// Repository base URL, serving metadata/ and targets/.
    #[arg(long)]
    repository: String,
    /// The trusted root.json shipped with the application.
    #[arg(long)]
    root: PathBuf,
    /// Updater data directory (trusted metadata, downloads, state, journal).
    #[arg(long)]
    data_dir: PathBuf,
    /// The executable to replace (update, rollback); `check` installs nothing and
    /// does not need it.
    #[arg(long)]
    executable: Option<PathBuf>,
    /// The application directory to replace, for an application released as bundles
    /// (archives of the whole directory); with or instead of --executable.
    #[arg(long)]
    install_dir: Option<PathBuf>,
    /// Channel to follow.
    #[arg(long, default_value = "stable")]
    channel: String,
    /// Platform triple (default: this build's).
    #[arg(long)]
    platform: Option<String>,
    /// Offer an older release when no newer one qualifies.
    #[arg(long)]
    allow_downgrade: bool,
    /// With --allow-downgrade, also go below the highest version ever installed.
    #[arg(long, requires = "allow_downgrade")]
    allow_below_highest: bool,
    /// Only this version.
    #[arg(long)]
    pin: Option<String>,
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

impl AppArgs {
    fn updater(&self, http: HttpOptions) -> Result<Updater> {
        let root = std::fs::read(&self.root)
            .with_context(|| format!("reading the trusted root {}", self.root.display()))?;
        let base = self.repository.trim_end_matches('/');
        let mut builder = Updater::builder(&self.app, &self.current_version)
            .repository(&format!("{base}/metadata/"), &format!("{base}/targets/"))
            .trusted_root(root)
            .data_dir(&self.data_dir)
            .channel(&self.channel)
            .http_options(http);
        if let Some(platform) = &self.platform {
            builder = builder.platform(platform);
        }
        if let Some(executable) = &self.executable {
            builder = builder.executable(executable);
        }
        if let Some(dir) = &self.install_dir {
            builder = builder.install_dir(dir);
        }
        builder.build().map_err(|e| match e {
            updater::Error::Metadata(_) => anyhow::Error::new(e).context(format!(
                "{} is not a usable trusted root",
                self.root.display()
            )),
            other => other.into(),
        })
    }

    /// Commands that replace a file or directory must be told which: never this tool
    /// itself.
    fn require_executable(&self, command: &str) -> Result<()> {
        if self.executable.is_none() && self.install_dir.is_none() {
            anyhow::bail!("{command} needs --executable (the installed program to replace) or --install-dir (its application directory)");
        }
        Ok(())
    }

    fn options(&self) -> Result<CheckOptions> {
        Ok(CheckOptions {
            allow_downgrade: self.allow_downgrade,
            allow_below_highest: self.allow_below_highest,
            pin: self
                .pin
                .as_deref()
                .map(Version::parse)
                .transpose()
                .context("--pin is not semver")?,
        })
    }
}

/// `check`: which release this installation would move to, and why not the others.
///
/// # Errors
/// Any refusal or failure, with the file or URL involved.
pub async fn check(args: &AppArgs, http: HttpOptions) -> Result<()> {
    let mut updater = args.updater(http)?;
    let selection = updater.check_with(&args.options()?).await?;
    if args.json {
        let passed: Vec<_> = selection
            .passed_over
            .iter()
            .map(|p| {
                json!({
                    "target": p.target_path,
                    "version": p.version.as_ref().map(ToString::to_string),
                    "reason": p.reason.to_string(),
                })
            })
            .collect();
        let chosen = selection.release.as_ref().map(|r| {
            json!({
                "target": r.target_path,
                "version": r.version().to_string(),
                "length": r.target.length,
                "critical": r.critical,
                "notes": r.info.notes,
            })
        });
        cli_support::outln!(
            "{}",
            json!({"app": args.app, "current": args.current_version, "release": chosen, "passed_over": passed})
        );
        return Ok(());
    }
    match &selection.release {
        Some(r) => cli_support::outln!(
            "{} {} -> {} ({}, {} bytes{})",
            args.app,
            args.current_version,
            r.version(),
            r.target_path,
            r.target.length,
            if r.critical { ", critical" } else { "" }
        ),
        None => cli_support::outln!("{} {}: up to date", args.app, args.current_version),
    }
    for p in &selection.passed_over {
        let version = p
            .version
            .as_ref()
            .map_or("?".to_string(), ToString::to_string);
        cli_support::outln!("  passed over {version} ({}): {}", p.target_path, p.reason);
    }
    Ok(())
}

/// `update`: check, download with progress, verify and install over --executable.
///
/// # Errors
/// Any refusal or failure; the executable is unchanged then.
pub async fn update(args: &AppArgs, http: HttpOptions) -> Result<()> {
    args.require_executable("update")?;
    let mut updater = args.updater(http)?;
    updater.startup()?;
    let selection = updater.check_with(&args.options()?).await?;
    let Some(release) = selection.release else {
        cli_support::outln!("{} {}: up to date", args.app, args.current_version);
        return Ok(());
    };
    let bar = bar_for(&release.target_path, release.target.length);
    let mut progress = |done: u64, _total: u64| bar.set_position(done);
    let downloaded = updater.download(&release, Some(&mut progress)).await;
    bar.finish_and_clear();
    let downloaded = downloaded?;
    let receipt = updater
        .install(&downloaded, |step| eprintln!("  {step}"))
        .await?;
    cli_support::outln!(
        "{}: {} installed over {} (previous kept at {}); it must confirm by its second start",
        args.app,
        receipt.to_version,
        receipt.exe.display(),
        receipt.previous.display()
    );
    Ok(())
}

/// `rollback`: put back the previous executable kept by the last install.
///
/// # Errors
/// When the swap fails (the executable is unchanged then).
pub fn rollback(args: &AppArgs, http: HttpOptions) -> Result<()> {
    args.require_executable("rollback")?;
    let mut updater = args.updater(http)?;
    match updater.rollback()? {
        Some(rolled) => cli_support::outln!(
            "{}: rolled back from {} to {}",
            args.app,
            rolled.from_version,
            rolled.to_version
        ),
        None => cli_support::outln!("{}: nothing to roll back to", args.app),
    }
    Ok(())
}
