//! A long-running agent that checks for updates on an interval, installs them in the
//! background and restarts itself into the new version (async API).
//!
//! ```text
//! cargo run --example agent -- --repository https://updates.example.com/ \
//!     --root root.json --data-dir /var/lib/agent [--interval-secs 3600] [--once]
//! ```
//!
//! The agent confirms a fresh update after its first successful check (its notion
//! of "healthy": it can still reach and verify its repository). If the new version
//! crashes before that, its second start rolls back to the previous one. On unix the
//! restart replaces the process image (`exec`) so a service manager keeps tracking
//! the same process id.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use updater::install::StartupOutcome;
use updater::Updater;

const APP: &str = "agent";

struct Args {
    repository: String,
    root: PathBuf,
    data_dir: PathBuf,
    ca_file: Option<PathBuf>,
    interval: Duration,
    once: bool,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        repository: String::new(),
        root: PathBuf::new(),
        data_dir: PathBuf::new(),
        ca_file: None,
        interval: Duration::from_secs(3600),
        once: false,
    };
    while let Some(flag) = args.next() {
        if flag == "--once" {
            parsed.once = true;
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--repository" => parsed.repository = value,
            "--root" => parsed.root = value.into(),
            "--data-dir" => parsed.data_dir = value.into(),
            "--ca-file" => parsed.ca_file = Some(value.into()),
            "--interval-secs" => parsed.interval = Duration::from_secs(value.parse()?),
            other => bail!("unknown argument {other:?}"),
        }
    }
    if parsed.repository.is_empty()
        || parsed.root.as_os_str().is_empty()
        || parsed.data_dir.as_os_str().is_empty()
    {
        bail!("usage: agent --repository URL --root ROOT.json --data-dir DIR [--interval-secs N] [--once]");
    }
    Ok(parsed)
}

/// Replaces this process with the executable now at `exe` (the new version). The
/// path comes from the updater's configuration, resolved at start: once the file is
/// replaced, `current_exe()` names the deleted old inode on Linux.
fn restart(exe: &std::path::Path) -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = std::process::Command::new(exe).args(&args).exec();
        Err(error).context("restarting into the new version")
    }
    #[cfg(not(unix))]
    {
        std::process::Command::new(exe).args(&args).spawn()?;
        std::process::exit(0);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let version = env!("CARGO_PKG_VERSION");
    let base = args.repository.trim_end_matches('/');
    let mut updater = Updater::builder(APP, version)
        .repository(&format!("{base}/metadata/"), &format!("{base}/targets/"))
        .trusted_root(std::fs::read(&args.root).context("reading the trusted root")?)
        .data_dir(&args.data_dir)
        .http_options(updater::fetch::HttpOptions {
            ca_file: args.ca_file.clone(),
            ..Default::default()
        })
        .build()?;

    let mut awaiting_confirmation = false;
    match updater.startup()? {
        StartupOutcome::RolledBack(rolled) => {
            eprintln!(
                "{APP}: {} did not confirm; back to {}",
                rolled.from_version, rolled.to_version
            );
            return restart(&updater.config().executable);
        }
        StartupOutcome::AwaitingConfirmation { .. } => awaiting_confirmation = true,
        _ => {}
    }
    eprintln!("{APP} {version}: started");
    loop {
        match updater.check().await {
            Ok(found) => {
                if awaiting_confirmation {
                    updater.confirm()?;
                    awaiting_confirmation = false;
                    eprintln!("{APP} {version}: healthy; update confirmed");
                }
                if let Some(release) = found {
                    eprintln!("{APP}: installing {}", release.version());
                    let downloaded = updater.download(&release, None).await?;
                    updater.install(&downloaded, |_| {}).await?;
                    return restart(&updater.config().executable);
                }
            }
            // A failed check is logged and retried; it never installs anything.
            Err(e) => eprintln!("{APP}: update check failed: {e}"),
        }
        if args.once {
            return Ok(());
        }
        tokio::time::sleep(args.interval).await;
    }
}
