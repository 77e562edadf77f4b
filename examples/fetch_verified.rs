//! Download one target from a TUF repository, verified, in a dozen lines.
//!
//! ```text
//! cargo run --example fetch_verified -- ROOT.json METADATA_URL TARGETS_URL TARGET_PATH OUT_DIR
//! ```
//! The root file is the trust anchor: ship it with your application.

use std::sync::Arc;

use anyhow::{Context, Result};
use updater::fetch::{DefaultFetcher, HttpOptions};
use updater::{Client, ClientConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, metadata_url, targets_url, target, out] = args.as_slice() else {
        anyhow::bail!(
            "usage: fetch_verified ROOT.json METADATA_URL TARGETS_URL TARGET_PATH OUT_DIR"
        );
    };
    let metadata_dir = std::path::Path::new(out).join(".tuf-metadata");
    if !metadata_dir.join("root.json").exists() {
        Client::init(
            &metadata_dir,
            &std::fs::read(root).with_context(|| format!("reading {root}"))?,
        )?;
    }
    let config = ClientConfig::new(&metadata_dir, metadata_url.parse()?, targets_url.parse()?);
    let mut client = Client::new(
        config,
        Arc::new(DefaultFetcher::new(HttpOptions::default())?),
    )?;
    let info = client.target_info(target).await?;
    let path = client
        .download_target(target, &info, out.as_ref(), None)
        .await?;
    println!("verified {target} -> {}", path.display());
    Ok(())
}
