//! `updater-cli`: try a TUF repository by hand.
//!
//! Its `init`, `refresh` and `download` commands implement the client CLI protocol of
//! the tuf-conformance suite: options before the command, exit status 0 on success
//! and 1 on any failure, and a metadata directory holding `root.json`,
//! `timestamp.json`, `snapshot.json`, `targets.json` and `ROLE.json` for delegated roles.

mod selfupdate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use updater::fetch::{DefaultFetcher, HttpOptions};
use updater::{Client, ClientConfig};
use url::Url;

/// Try a TUF repository: initialise trust, refresh metadata, download verified targets.
#[derive(Parser, Debug)]
#[command(name = "updater-cli", version, about)]
struct Cli {
    // The tuf-conformance client protocol (CLIENT-CLI.md) puts these before the
    // subcommand: `updater-cli --metadata-dir D --metadata-url U refresh`. They apply
    // to init, refresh and download only, so they are not repeated in the help of
    // the other subcommands.
    /// Directory of trusted metadata (init, refresh, download).
    #[arg(long, help_heading = "Trying a repository (init, refresh, download)")]
    metadata_dir: Option<PathBuf>,
    /// Base URL of the repository's metadata (refresh, download).
    #[arg(long, help_heading = "Trying a repository (init, refresh, download)")]
    metadata_url: Option<Url>,
    /// Target to download (repeat for several, downloaded in order).
    #[arg(
        long = "target-name",
        help_heading = "Trying a repository (init, refresh, download)"
    )]
    target_names: Vec<String>,
    /// Base URL of the repository's targets (download).
    #[arg(long, help_heading = "Trying a repository (init, refresh, download)")]
    target_base_url: Option<Url>,
    /// Directory to download targets into (download).
    #[arg(long, help_heading = "Trying a repository (init, refresh, download)")]
    target_dir: Option<PathBuf>,
    /// Trust only the CA certificates in this PEM file (default: $SSL_CERT_FILE, else web PKI roots).
    #[arg(long, global = true, env = "SSL_CERT_FILE")]
    ca_file: Option<PathBuf>,
    /// Allow plain http:// to hosts other than loopback.
    #[arg(long, global = true)]
    allow_http: bool,
    /// More log output (repeat for debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Install a trusted root into the metadata directory (checks that it is self-signed).
    Init {
        /// The trusted root metadata file, obtained through a trusted channel.
        root: PathBuf,
    },
    /// Update trusted metadata from the repository.
    Refresh,
    /// Refresh, then download and verify each --target-name into --target-dir.
    Download,
    /// Show which release an installed application would update to, and why the
    /// others are passed over.
    Check(selfupdate::AppArgs),
    /// Check, download, verify and install the next release over --executable.
    Update(selfupdate::AppArgs),
    /// Print the man page or shell completions (see the README).
    #[command(subcommand)]
    Generate(cli_support::Generate),
    /// Put back the previous executable kept by the last install.
    Rollback(selfupdate::AppArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(cli.verbose);
    // The conformance protocol demands exit status 1 for every failure, panics included.
    match std::panic::catch_unwind(|| run(&cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", cli_support::describe(&e));
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(1),
    }
}

fn http_options(cli: &Cli) -> HttpOptions {
    HttpOptions {
        allow_http: cli.allow_http,
        ca_file: cli.ca_file.clone(),
        ..HttpOptions::default()
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "updater=info,updater_cli=info",
        1 => "updater=debug,updater_cli=debug",
        _ => "trace",
    };
    cli_support::init_logging(default);
}

fn run(cli: &Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match &cli.command {
            Command::Init { root } => init(cli, root),
            Command::Refresh => {
                let mut client = open_client(cli)?;
                client.refresh().await?;
                let root = client.trusted().root().common.version;
                tracing::info!(root, "metadata is up to date");
                exit_soon(client);
                Ok(())
            }
            Command::Download => download(cli).await,
            Command::Check(args) => selfupdate::check(args, http_options(cli)).await,
            Command::Update(args) => selfupdate::update(args, http_options(cli)).await,
            Command::Rollback(args) => selfupdate::rollback(args, http_options(cli)),
            Command::Generate(what) => cli_support::generate::<Cli>(what, "updater-cli")
                .context("writing to standard output"),
        }
    })
}

fn metadata_dir(cli: &Cli) -> Result<&Path> {
    cli.metadata_dir
        .as_deref()
        .context("--metadata-dir is required")
}

fn init(cli: &Cli, root: &Path) -> Result<()> {
    let dir = metadata_dir(cli)?;
    let bytes = std::fs::read(root).with_context(|| format!("reading {}", root.display()))?;
    Client::init(dir, &bytes)
        .with_context(|| format!("{} is not a usable trusted root", root.display()))?;
    tracing::info!(dir = %dir.display(), "trusted root installed");
    Ok(())
}

fn open_client(cli: &Cli) -> Result<Client> {
    let dir = metadata_dir(cli)?;
    let Some(metadata_url) = cli.metadata_url.clone() else {
        bail!("--metadata-url is required");
    };
    let targets_url = match &cli.target_base_url {
        Some(url) => url.clone(),
        None => metadata_url
            .join("../targets/")
            .unwrap_or_else(|_| metadata_url.clone()),
    };
    let fetcher = DefaultFetcher::new(http_options(cli))?;
    let config = ClientConfig::new(dir, metadata_url, targets_url);
    Ok(Client::new(config, Arc::new(fetcher))?)
}

async fn download(cli: &Cli) -> Result<()> {
    if cli.target_names.is_empty() {
        bail!("give at least one --target-name");
    }
    let Some(target_dir) = &cli.target_dir else {
        bail!("--target-dir is required");
    };
    if cli.target_base_url.is_none() {
        bail!("--target-base-url is required");
    }
    std::fs::create_dir_all(target_dir)
        .with_context(|| format!("creating {}", target_dir.display()))?;
    let mut client = open_client(cli)?;
    client.refresh().await?;
    for name in &cli.target_names {
        let info = client.target_info(name).await?;
        let bar = cli_support::bar_for(name, info.length);
        let mut report = |done: u64, _total: u64| bar.set_position(done);
        let path = client
            .download_target(name, &info, target_dir, Some(&mut report))
            .await;
        bar.finish_and_clear();
        let path = path?;
        tracing::info!(target = %name, path = %path.display(), "verified");
    }
    exit_soon(client);
    Ok(())
}

/// Leaves `client` to the operating system instead of freeing it: the process ends
/// right after this, and freeing the trusted metadata of a large repository entry by
/// entry (25,000 targets: about 2 ms) would only delay the exit. Everything it
/// stored is already durable; sockets and files close when the process ends.
fn exit_soon(client: Client) {
    std::mem::forget(client);
}
