//! A desktop-style program that updates itself, with the blocking API.
//!
//! ```text
//! cargo run --example self_updating -- --repository https://updates.example.com/ \
//!     --root root.json --data-dir ~/.local/share/self_updating [--ca-file ca.pem] \
//!     [--install-dir /opt/self_updating]
//! ```
//!
//! With `--install-dir`, the program ships as a whole directory and its releases are
//! bundles: the updater swaps the directory instead of the executable.
//!
//! At every start it lets the updater finish or roll back an earlier install, confirms
//! a fresh update once it is healthy, then checks for a newer release, downloads and
//! verifies it, installs it over its own executable and asks to be restarted. In a real
//! application the root is embedded (`include_bytes!("root.json")`) rather than read
//! from a file; the argument keeps this example usable with any repository.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use updater::install::StartupOutcome;
use updater::{blocking, Updater};

const APP: &str = "self_updating";

struct Args {
    repository: String,
    root: PathBuf,
    data_dir: PathBuf,
    ca_file: Option<PathBuf>,
    install_dir: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let (mut repository, mut root, mut data_dir, mut ca_file, mut install_dir) =
        (None, None, None, None, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--repository" => repository = Some(value()?),
            "--root" => root = Some(PathBuf::from(value()?)),
            "--data-dir" => data_dir = Some(PathBuf::from(value()?)),
            "--ca-file" => ca_file = Some(PathBuf::from(value()?)),
            "--install-dir" => install_dir = Some(PathBuf::from(value()?)),
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(Args {
        repository: repository.context("--repository is required")?,
        root: root.context("--root is required")?,
        data_dir: data_dir.context("--data-dir is required")?,
        ca_file,
        install_dir,
    })
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let version = env!("CARGO_PKG_VERSION");
    let base = args.repository.trim_end_matches('/');
    let mut builder = Updater::builder(APP, version)
        .repository(&format!("{base}/metadata/"), &format!("{base}/targets/"))
        .trusted_root(std::fs::read(&args.root).context("reading the trusted root")?)
        .data_dir(&args.data_dir)
        .http_options(updater::fetch::HttpOptions {
            ca_file: args.ca_file,
            ..Default::default()
        });
    if let Some(dir) = &args.install_dir {
        builder = builder.install_dir(dir);
    }
    let mut updater = blocking::Updater::new(builder)?;

    match updater.startup()? {
        StartupOutcome::RolledBack(rolled) => {
            println!(
                "{APP}: {} failed to confirm; rolled back to {}. Restart.",
                rolled.from_version, rolled.to_version
            );
            return Ok(());
        }
        StartupOutcome::AwaitingConfirmation { .. } => {
            // A real program checks what "healthy" means for it first.
            updater.confirm()?;
            println!("{APP} {version}: update confirmed");
        }
        _ => {}
    }
    println!("{APP} {version}: running");

    let Some(release) = updater.check()? else {
        println!("{APP} {version}: up to date");
        return Ok(());
    };
    println!(
        "{APP}: {} is available: {}",
        release.version(),
        release.info.notes.as_deref().unwrap_or("")
    );
    let mut last = 0;
    let mut progress = |done: u64, total: u64| {
        let percent = done * 100 / total.max(1);
        if percent >= last + 25 || done == total {
            println!("  downloaded {percent}%");
            last = percent;
        }
    };
    let downloaded = updater.download(&release, Some(&mut progress))?;
    updater.install(&downloaded, |step| println!("  {step}"))?;
    println!("{APP}: {} installed; restart to use it", release.version());
    Ok(())
}
