//! `updater-demo`: the whole loop on a built-in local setup, with no input.
//!
//! Creates keys and a signed repository (repo-tool's sandbox: root 2-of-3, a
//! short-expiry rollout role), builds two versions of the example application (a
//! directory: this executable running as `demo-app` and the resources it reads its
//! version from, see [`crate::demo_app`]) and releases each as a bundle (a
//! reproducible tar.zst whose size and entry count are signed), serves the repository
//! over HTTPS on loopback with a fresh certificate authority, installs version 1,
//! lets it update its whole directory to version 2 (progress bar, every verification
//! step, one atomic swap), runs the new version, which confirms its health, and
//! finally shows a tampered release being refused while the installed version keeps
//! running. Exits non-zero if any step does not behave as it must.

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
use repo_tool::bundle::{prepare_bundle, PreparedBundle};
use updater::bundle::tree;

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

fn release_info(version: &str, notes: &str, bundle: &PreparedBundle) -> Result<ReleaseInfo> {
    Ok(ReleaseInfo {
        channels: vec!["stable".into()],
        notes: Some(notes.into()),
        bundle: Some(bundle.spec.clone()),
        deltas: Vec::new(),
        ..ReleaseInfo::new(APP, Version::parse(version)?, current_platform())
    })
}

/// The application directory of `version` under `work/builds/`, and its bundle: a
/// tar.zst at zstd level 3 (quick for a demo; releases default to 19) that keeps the
/// installation's settings file.
fn build(
    work: &Path,
    executable: &[u8],
    version: &str,
    banner: &str,
) -> Result<(PathBuf, PreparedBundle)> {
    let dir = work.join("builds").join(version).join(APP);
    demo_app::build_tree(&dir, executable, version, banner)?;
    let bundle = prepare_bundle(&dir, None, Some(3), vec![SETTINGS_FILE.to_string()])?;
    Ok((dir, bundle))
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
        "Building versions 1.0.0 and 2.0.0 of the example application (a directory: the program and the resources it reads its version from) and releasing 1.0.0 as a bundle",
    );
    let me = std::env::current_exe().context("finding this executable")?;
    let program = std::fs::read(&me).with_context(|| format!("reading {}", me.display()))?;
    let (v1_dir, v1) = build(
        work.path(),
        &program,
        "1.0.0",
        "hello from the first release",
    )?;
    let (v2_dir, v2) = build(
        work.path(),
        &program,
        "2.0.0",
        "hello from release 2.0.0, with new resources",
    )?;
    let path = sandbox.release(
        &release_info("1.0.0", "first release", &v1)?,
        &v1.file_name,
        &v1.content,
        now,
    )?;
    println!(
        "    signed {path}: {} bytes, {} entries, {} bytes unpacked",
        v1.content.len(),
        v1.spec.entries,
        v1.spec.unpacked_size
    );

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
    let app_dir = work.path().join("install").join(APP);
    copy_tree(&v1_dir, &app_dir)?;
    let exe = app_dir.join(APP);
    let root_file = work.path().join("install/root.json");
    std::fs::write(&root_file, sandbox.root_json()?)?;
    let settings = serde_json::json!({
        "repository": server.base_url(),
        "ca_file": ca_file,
        "trusted_root": root_file,
        "data_dir": work.path().join("install/data"),
    });
    std::fs::write(
        app_dir.join(SETTINGS_FILE),
        serde_json::to_vec_pretty(&settings)?,
    )?;
    let (ok, out) = run_app(&exe, &[]).await?;
    if !ok || !out.contains("demo-app 1.0.0") {
        bail!("the installed version 1.0.0 does not run");
    }

    step(
        5,
        "Signing and publishing release 2.0.0 (a bundle of the whole directory)",
    );
    let path = sandbox.release(
        &release_info("2.0.0", "new resources", &v2)?,
        &v2.file_name,
        &v2.content,
        OffsetDateTime::now_utc(),
    )?;
    println!("    signed {path}; snapshot and timestamp refreshed");

    step(
        6,
        "demo-app 1.0.0 updates its directory: refresh, select, download, verify, unpack next to it, swap atomically",
    );
    let (ok, out) = run_app(&exe, &["update"]).await?;
    if !ok || !out.contains("2.0.0 installed") {
        bail!("the update to 2.0.0 failed");
    }

    step(
        7,
        "Running the new version: it reads its new resources, checks its health and confirms the update",
    );
    let (ok, out) = run_app(&exe, &[]).await?;
    if !ok
        || !out.contains("demo-app 2.0.0")
        || !out.contains("confirmed")
        || !out.contains("new resources")
    {
        bail!("the new version did not start and confirm");
    }
    let keep =
        [updater::bundle::EntryPath::parse(SETTINGS_FILE.as_bytes())
            .map_err(anyhow::Error::msg)?];
    if tree::manifest(&app_dir, &keep)? != tree::manifest(&v2_dir, &keep)? {
        bail!("the installed directory is not exactly release 2.0.0");
    }
    if !app_dir.join(SETTINGS_FILE).is_file() {
        bail!("the installation's settings were lost in the update");
    }
    println!(
        "    every path, mode and file hash of {} is release 2.0.0's; {SETTINGS_FILE} was kept",
        app_dir.display()
    );

    step(
        8,
        "Attack: the server is compromised and serves a malicious 3.0.0 in place of the signed one",
    );
    let (_, v3) = build(work.path(), &program, "3.0.0", "signed release")?;
    let path = sandbox.release(
        &release_info("3.0.0", "signed release", &v3)?,
        &v3.file_name,
        &v3.content,
        OffsetDateTime::now_utc(),
    )?;
    // A well-formed bundle of the same name whose program is the attacker's.
    let (_, evil) = build(
        &work.path().join("attacker"),
        b"#!/bin/sh\necho 'owned: attacker code runs'\n",
        "3.0.0",
        "owned",
    )?;
    replace_served_copies(
        &sandbox.published_dir().join("targets"),
        &path,
        &evil.content,
    )?;
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

/// Copies the directory `from` to `to` (files and directories; the demo's trees hold
/// nothing else), keeping permission bits.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
pub fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[cfg(not(unix))]
pub fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}
