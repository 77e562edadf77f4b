//! `updater-cli demo`: the whole loop on a built-in local repository, with no input.
//!
//! Creates keys and a signed repository, serves it over HTTP on loopback, refreshes
//! and downloads release 1.0.0 with full verification, publishes 2.0.0 and updates to
//! it, then shows an attacker's tampered release being refused. Exits non-zero if any
//! step does not behave as it must.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use repo_tool::repository::{Repository, RoleSigners};
use repo_tool::serve::StaticServer;
use repo_tool::signer::{FileKey, KeyKind, Signer};
use time::OffsetDateTime;
use updater::fetch::{DefaultFetcher, HttpOptions};
use updater::{Client, ClientConfig, Error};
use url::Url;

const TARGET: &str = "demo-app/app-linux-x86_64";

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

fn release_binary(version: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho \"demo-app {version}: verified by TUF before it ever ran\"\n")
        .into_bytes()
}

/// Runs the demo in a temporary directory.
///
/// # Errors
/// When any step fails or an attack is not refused.
pub async fn run() -> Result<()> {
    let work = tempfile::tempdir().context("creating a temporary directory")?;
    let repo_dir = work.path().join("repository");
    let metadata_dir = work.path().join("client-metadata");
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads)?;
    let now = OffsetDateTime::now_utc();

    step(
        1,
        "Generating keys: root 2-of-3, targets, snapshot (ed25519), timestamp (ecdsa P-256)",
    );
    let root_keys: Vec<FileKey> = (0..3)
        .map(|_| FileKey::generate(KeyKind::Ed25519))
        .collect::<Result<_, _>>()?;
    let targets_key = FileKey::generate(KeyKind::Ed25519)?;
    let snapshot_key = FileKey::generate(KeyKind::Ed25519)?;
    let timestamp_key = FileKey::generate(KeyKind::EcdsaP256)?;
    for (i, k) in root_keys.iter().enumerate() {
        println!("    root key {}: {}", i + 1, k.key_id());
    }
    // Two of the three root holders sign; the third stays in the safe.
    let signers = RoleSigners {
        root: root_keys.iter().take(2).map(|k| k as &dyn Signer).collect(),
        targets: vec![&targets_key],
        snapshot: vec![&snapshot_key],
        timestamp: vec![&timestamp_key],
    };
    let all_root: RoleSigners = RoleSigners {
        root: root_keys.iter().map(|k| k as &dyn Signer).collect(),
        targets: vec![&targets_key],
        snapshot: vec![&snapshot_key],
        timestamp: vec![&timestamp_key],
    };
    let mut repo = Repository::create(&all_root, &BTreeMap::from([("root", 2)]), now)?;

    step(2, "Signing release 1.0.0 and publishing the repository");
    repo.add_target(
        TARGET,
        release_binary("1.0.0"),
        Some(serde_json::json!({"version": "1.0.0"})),
    )?;
    repo.publish(&repo_dir, &signers, now)?;
    println!("    published to {}", repo_dir.display());

    step(3, "Serving the repository over HTTP on loopback");
    let server = StaticServer::start(&repo_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base = Url::parse(&server.base_url())?;
    println!("    {base}");

    step(
        4,
        "Client: installing the trusted root shipped with the app",
    );
    let root_bytes = std::fs::read(repo_dir.join("metadata/1.root.json"))?;
    Client::init(&metadata_dir, &root_bytes)?;
    println!("    root v1 is self-signed by 2 of 3 root keys: accepted");

    let fetcher = Arc::new(DefaultFetcher::new(HttpOptions::default())?);
    let config = ClientConfig::new(
        &metadata_dir,
        base.join("metadata/")?,
        base.join("targets/")?,
    );

    step(
        5,
        "Client: refresh and download 1.0.0, verifying every byte",
    );
    let mut client = Client::new(config.clone(), fetcher.clone())?;
    client.refresh().await?;
    describe(&client);
    let path = download(&client_lookup(&mut client).await?, &client, &downloads).await?;
    println!("    {} -> {}", TARGET, path.display());
    println!(
        "    content: {}",
        String::from_utf8_lossy(&std::fs::read(&path)?)
            .lines()
            .last()
            .unwrap_or("")
    );

    step(6, "Signing and publishing release 2.0.0; client updates");
    repo.add_target(
        TARGET,
        release_binary("2.0.0"),
        Some(serde_json::json!({"version": "2.0.0"})),
    )?;
    repo.publish(&repo_dir, &signers, OffsetDateTime::now_utc())?;
    let mut client = Client::new(config.clone(), fetcher.clone())?;
    client.refresh().await?;
    describe(&client);
    let info = client_lookup(&mut client).await?;
    let path = download(&info, &client, &downloads).await?;
    let content = std::fs::read(&path)?;
    if content != release_binary("2.0.0") {
        bail!("the downloaded release is not 2.0.0");
    }
    println!(
        "    content: {}",
        String::from_utf8_lossy(&content)
            .lines()
            .last()
            .unwrap_or("")
    );

    step(
        7,
        "Attack: the server's copy of 2.0.0 is replaced by a same-length malicious file",
    );
    let mut tampered = release_binary("2.0.0");
    let n = tampered.len();
    tampered[n - 3] = b'!';
    for hash in info.hashes.values() {
        let served = repo_dir.join(format!("targets/demo-app/{hash}.app-linux-x86_64"));
        std::fs::write(&served, &tampered)?;
    }
    let fresh_downloads = work.path().join("downloads-2");
    std::fs::create_dir_all(&fresh_downloads)?;
    let mut client = Client::new(config, fetcher)?;
    let info = client_lookup(&mut client).await?;
    match client
        .download_target(TARGET, &info, &fresh_downloads, None)
        .await
    {
        Err(e @ Error::Target { .. }) => println!("    refused: {e}"),
        Err(e) => bail!("the tampered release failed for the wrong reason: {e}"),
        Ok(_) => bail!("the tampered release was accepted: this must never happen"),
    }
    if std::fs::read_dir(&fresh_downloads)?.next().is_some() {
        bail!("a refused download left a file behind");
    }
    println!("    nothing was written to the download directory");
    println!(
        "\ndemo complete: sign -> serve -> update -> verify, and the tampered release was refused"
    );
    Ok(())
}

fn describe(client: &Client) {
    let t = client.trusted();
    let v = |r: Option<u64>| r.map_or("-".to_string(), |v| v.to_string());
    println!(
        "    trusted: root v{}, timestamp v{}, snapshot v{}, targets v{} (signatures, thresholds, versions, expiry checked)",
        t.root().common.version,
        v(t.timestamp().map(|x| x.common.version)),
        v(t.snapshot().map(|x| x.common.version)),
        v(t.targets("targets").map(|x| x.common.version)),
    );
}

async fn client_lookup(client: &mut Client) -> Result<updater::metadata::TargetFile> {
    let info = client.target_info(TARGET).await?;
    println!(
        "    {TARGET}: {} bytes, sha256 {}",
        info.length,
        info.hashes.get("sha256").map_or("?", String::as_str)
    );
    Ok(info)
}

async fn download(
    info: &updater::metadata::TargetFile,
    client: &Client,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf> {
    let path = client.download_target(TARGET, info, dir, None).await?;
    println!("    length and sha256 + sha512 match the signed targets metadata");
    Ok(path)
}
