//! `repo-tool`: keys, signing and publishing for a TUF repository.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// The release engineer's tool for a TUF repository.
#[derive(Parser, Debug)]
#[command(name = "repo-tool", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve a published repository directory over HTTP on loopback, for previews and tests.
    Serve {
        /// The published directory (with metadata/ and targets/).
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { dir, listen } => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(async {
                let server = repo_tool::serve::StaticServer::start(&dir, listen)
                    .await
                    .with_context(|| format!("listening on {listen}"))?;
                println!("serving {} at {}", dir.display(), server.base_url());
                tokio::signal::ctrl_c()
                    .await
                    .context("waiting for Ctrl-C")?;
                Ok(())
            })
        }
    }
}
