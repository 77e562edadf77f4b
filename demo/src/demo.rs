//! `updater-demo`: the whole loop on a built-in local setup, with no input.
//!
//! Creates keys and a signed repository (repo-tool's sandbox: root 2-of-3, a
//! short-expiry rollout role), stamps two versions of the example application (this
//! executable running as `demo-app`, see [`crate::demo_app`]), serves the repository
//! over HTTPS on loopback with a fresh certificate authority, installs version 1,
//! lets it update itself to version 2 (progress bar, every verification step), runs
//! the new binary, which confirms its health, and finally shows a tampered release
//! being refused while the installed version keeps running. Exits non-zero if any
//! step does not behave as it must.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use repo_tool::sandbox::Sandbox;
use repo_tool::serve::StaticServer;
use semver::Version;
use time::OffsetDateTime;
use updater::release::{current_platform, ReleaseInfo};

use crate::demo_app::{self, APP, SETTINGS_FILE};

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

fn release_info(version: &str, notes: &str) -> Result<ReleaseInfo> {
    Ok(ReleaseInfo {
        channels: vec!["stable".into()],
        notes: Some(notes.into()),
        ..ReleaseInfo::new(APP, Version::parse(version)?, current_platform())
    })
}

/// A certificate authority and a server certificate for 127.0.0.1, made fresh.
fn tls(dir: &Path) -> Result<(Arc<rustls::ServerConfig>, PathBuf)> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "updater demo CA");
    let ca = ca_params.self_signed(&ca_key)?;
    let server_key = KeyPair::generate()?;
    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let server = server_params.signed_by(&server_key, &issuer)?;
    let ca_file = dir.join("demo-ca.pem");
    std::fs::write(&ca_file, ca.pem())?;
    let key = rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der())
        .map_err(|e| anyhow::anyhow!("server key: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![server.der().clone(), ca.der().clone()], key)?;
    Ok((Arc::new(config), ca_file))
}

/// Runs the installed demo app with `args`, echoing its output; returns its stdout.
/// The wait happens off the runtime's thread so the server keeps serving.
async fn run_app(exe: &Path, args: &[&str]) -> Result<(bool, String)> {
    let mut command = Command::new(exe);
    command.args(args).stderr(std::process::Stdio::inherit());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .context("waiting for the demo app")?
        .with_context(|| format!("running {}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    for line in stdout.lines() {
        println!("    | {line}");
    }
    Ok((output.status.success(), stdout))
}

/// Runs the demo in a temporary directory.
///
/// # Errors
/// When any step fails or an attack is not refused.
pub async fn run() -> Result<()> {
    let work = tempfile::tempdir().context("creating a temporary directory")?;
    let now = OffsetDateTime::now_utc();

    step(1, "Generating keys and a signed repository: root 2-of-3, targets, snapshot, timestamp, and a rollout role that expires after 6 hours");
    let sandbox = Sandbox::create(&work.path().join("repository"), &[APP], now)?;
    for (i, id) in sandbox.root_key_ids().iter().enumerate() {
        println!("    root key {}: {id}", i + 1);
    }

    step(
        2,
        "Stamping versions 1.0.0 and 2.0.0 of the example application and signing 1.0.0",
    );
    let me = std::env::current_exe().context("finding this executable")?;
    let original = std::fs::read(&me).with_context(|| format!("reading {}", me.display()))?;
    let v1 = demo_app::stamp(&original, "1.0.0")?;
    let v2 = demo_app::stamp(&original, "2.0.0")?;
    let path = sandbox.release(&release_info("1.0.0", "first release")?, APP, &v1, now)?;
    println!("    signed {path} ({} bytes)", v1.len());

    step(
        3,
        "Serving the repository over HTTPS on loopback (a fresh CA; the app trusts only it)",
    );
    let (tls, ca_file) = tls(work.path())?;
    let server = StaticServer::start_tls(
        &sandbox.published_dir(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        tls,
    )
    .await?;
    println!("    {}", server.base_url());

    step(
        4,
        "Installing version 1.0.0 with the repository's root embedded as its trust anchor",
    );
    let bin = work.path().join("install/bin");
    std::fs::create_dir_all(&bin)?;
    let exe = bin.join(APP);
    std::fs::write(&exe, &v1)?;
    make_executable(&exe)?;
    let root_file = work.path().join("install/root.json");
    std::fs::write(&root_file, sandbox.root_json()?)?;
    let settings = serde_json::json!({
        "repository": server.base_url(),
        "ca_file": ca_file,
        "trusted_root": root_file,
        "data_dir": work.path().join("install/data"),
    });
    std::fs::write(
        bin.join(SETTINGS_FILE),
        serde_json::to_vec_pretty(&settings)?,
    )?;
    let (ok, out) = run_app(&exe, &[]).await?;
    if !ok || !out.contains("demo-app 1.0.0") {
        bail!("the installed version 1.0.0 does not run");
    }

    step(5, "Signing and publishing release 2.0.0");
    let path = sandbox.release(
        &release_info("2.0.0", "faster start-up")?,
        APP,
        &v2,
        OffsetDateTime::now_utc(),
    )?;
    println!("    signed {path}; snapshot and timestamp refreshed");

    step(
        6,
        "demo-app 1.0.0 updates itself: refresh, select, download, verify, install",
    );
    let (ok, out) = run_app(&exe, &["update"]).await?;
    if !ok || !out.contains("2.0.0 installed") {
        bail!("the update to 2.0.0 failed");
    }

    step(
        7,
        "Running the new binary: it starts, checks its health and confirms the update",
    );
    let (ok, out) = run_app(&exe, &[]).await?;
    if !ok || !out.contains("demo-app 2.0.0") || !out.contains("confirmed") {
        bail!("the new version did not start and confirm");
    }
    if std::fs::read(&exe)? != v2 {
        bail!("the installed executable is not exactly release 2.0.0");
    }

    step(
        8,
        "Attack: the server is compromised and serves a malicious 3.0.0 in place of the signed one",
    );
    let path = sandbox.release(
        &release_info("3.0.0", "signed release")?,
        APP,
        &demo_app::stamp(&original, "3.0.0")?,
        OffsetDateTime::now_utc(),
    )?;
    let evil = b"#!/bin/sh\necho 'owned: attacker code runs'\n";
    replace_served_copies(&sandbox.published_dir().join("targets"), &path, evil)?;
    let (ok, out) = run_app(&exe, &["update"]).await?;
    if ok || out.contains("installed") {
        bail!("the tampered release was not refused");
    }
    println!("    refused: the bytes do not match the length and hashes the targets role signed");
    let (ok, out) = run_app(&exe, &[]).await?;
    if !ok || !out.contains("demo-app 2.0.0") {
        bail!("the installed version changed after the attack");
    }

    println!("\nDemo complete: only what a threshold of keys signed was installed; the attack changed nothing.");
    drop(server);
    Ok(())
}

/// Overwrites every hash-prefixed copy of target `path` on the server.
fn replace_served_copies(targets_dir: &Path, path: &str, bytes: &[u8]) -> Result<()> {
    let (dir, name) = path
        .rsplit_once('/')
        .context("release path has no directory")?;
    let dir = targets_dir.join(dir);
    let mut replaced = 0;
    for entry in std::fs::read_dir(&dir)? {
        let file = entry?.path();
        let is_copy = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(&format!(".{name}")));
        if is_copy {
            std::fs::write(&file, bytes)?;
            replaced += 1;
        }
    }
    if replaced == 0 {
        bail!("no served copy of {path} found");
    }
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}
