//! Drives the `repo-tool` binary through a whole release: three root key holders,
//! root 2-of-3, holders signing on separate copies, a detached signature merged,
//! publish, serve over HTTP, and the updater client downloading the release. Bad
//! input must leave the repository exactly as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use repo_tool::serve::StaticServer;
use updater::fetch::{DefaultFetcher, HttpOptions};
use updater::{Client, ClientConfig};
use url::Url;

fn repo_tool(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_repo-tool"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = repo_tool(dir, args);
    assert!(
        out.status.success(),
        "repo-tool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let out = repo_tool(dir, args);
    assert_eq!(out.status.code(), Some(1), "repo-tool {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// Every file below `dir` with its content, to prove a command changed nothing.
fn snapshot_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in snapshot_tree(from) {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_holders_sign_separately_and_the_client_installs_the_release() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for key in [
        "holder1",
        "holder2",
        "holder3",
        "targets",
        "snapshot",
        "timestamp",
    ] {
        let id = ok(w, &["keygen", "--out", &format!("{key}.pem")]);
        assert_eq!(id.trim().len(), 64, "keygen prints the key id");
    }
    ok(w, &["keygen", "--out", "ecdsa.pem", "--type", "ecdsa-p256"]);
    // The private key is openssl-compatible PKCS#8 and readable only by its owner.
    let pem = std::fs::read_to_string(w.join("holder1.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    for key in ["holder1.pem", "ecdsa.pem"] {
        let out = Command::new("openssl")
            .args(["pkey", "-in", key, "-pubout", "-outform", "DER"])
            .current_dir(w)
            .output()
            .expect("openssl must be installed (Debian package openssl)");
        assert!(
            out.status.success(),
            "openssl cannot read {key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if key == "holder1.pem" {
            let public: serde_json::Value =
                serde_json::from_slice(&std::fs::read(w.join("holder1.pem.pub")).unwrap()).unwrap();
            let raw = hex::decode(public["keyval"]["public"].as_str().unwrap()).unwrap();
            assert!(
                out.stdout.ends_with(&raw),
                "openssl derives another public key"
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.join("holder1.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    ok(
        w,
        &[
            "init",
            "repo",
            "--root-key",
            "holder1.pem.pub",
            "--root-key",
            "holder2.pem.pub",
            "--root-key",
            "holder3.pem.pub",
            "--root-threshold",
            "2",
            "--targets-key",
            "targets.pem.pub",
            "--snapshot-key",
            "snapshot.pem.pub",
            "--timestamp-key",
            "timestamp.pem.pub",
        ],
    );
    std::fs::write(w.join("app-1.0.0"), b"#!/bin/sh\necho 1.0.0\n").unwrap();
    ok(
        w,
        &[
            "add",
            "repo",
            "app-1.0.0",
            "--path",
            "myapp/app-linux-x86_64",
            "--custom",
            r#"{"version":"1.0.0","channel":"stable"}"#,
        ],
    );

    // Holder 2 signs on a separate copy (an air-gapped machine) and sends a detached signature.
    copy_tree(&w.join("repo"), &w.join("holder2-copy"));
    ok(
        w,
        &[
            "sign",
            "holder2-copy",
            "--role",
            "root",
            "--key",
            "holder2.pem",
            "--detached",
            "holder2.sig",
        ],
    );
    ok(
        w,
        &["sign", "repo", "--role", "root", "--key", "holder1.pem"],
    );
    // One holder is not enough: publishing is refused and writes nothing.
    ok(
        w,
        &["sign", "repo", "--role", "targets", "--key", "targets.pem"],
    );
    let before = snapshot_tree(&w.join("repo"));
    let err = fails(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "snapshot.pem",
            "--timestamp-key",
            "timestamp.pem",
        ],
    );
    assert!(err.contains("root"), "{err}");
    assert_eq!(before, snapshot_tree(&w.join("repo")));
    ok(w, &["merge", "repo", "holder2.sig"]);
    ok(w, &["status", "repo"]);
    ok(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "snapshot.pem",
            "--timestamp-key",
            "timestamp.pem",
        ],
    );
    let status = ok(w, &["status", "repo", "--json"]);
    assert!(status.contains("\"published\""), "{status}");

    // Serve over HTTP; the updater client verifies and downloads.
    let server = StaticServer::start(
        &w.join("repo/published"),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let base = Url::parse(&server.base_url()).unwrap();
    let client_dir = w.join("client");
    Client::init(
        &client_dir,
        &std::fs::read(w.join("repo/published/metadata/1.root.json")).unwrap(),
    )
    .unwrap();
    let config = ClientConfig::new(
        &client_dir,
        base.join("metadata/").unwrap(),
        base.join("targets/").unwrap(),
    );
    let fetcher = Arc::new(DefaultFetcher::new(HttpOptions::default()).unwrap());
    let out = w.join("downloads");
    std::fs::create_dir_all(&out).unwrap();
    let mut client = Client::new(config.clone(), fetcher.clone()).unwrap();
    let info = client.target_info("myapp/app-linux-x86_64").await.unwrap();
    assert_eq!(info.custom.as_ref().unwrap()["version"], "1.0.0");
    let path = client
        .download_target("myapp/app-linux-x86_64", &info, &out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"#!/bin/sh\necho 1.0.0\n");

    // Release 1.1.0 and a cron timestamp refresh; the client follows.
    std::fs::write(w.join("app-1.1.0"), b"#!/bin/sh\necho 1.1.0\n").unwrap();
    ok(
        w,
        &[
            "add",
            "repo",
            "app-1.1.0",
            "--path",
            "myapp/app-linux-x86_64",
            "--custom",
            r#"{"version":"1.1.0"}"#,
        ],
    );
    ok(
        w,
        &["sign", "repo", "--role", "targets", "--key", "targets.pem"],
    );
    ok(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "snapshot.pem",
            "--timestamp-key",
            "timestamp.pem",
        ],
    );
    ok(
        w,
        &["timestamp", "repo", "--timestamp-key", "timestamp.pem"],
    );
    let mut client = Client::new(config.clone(), fetcher.clone()).unwrap();
    let info = client.target_info("myapp/app-linux-x86_64").await.unwrap();
    assert_eq!(info.custom.as_ref().unwrap()["version"], "1.1.0");
    assert_eq!(client.trusted().timestamp().unwrap().common.version, 3);
    let path = client
        .download_target("myapp/app-linux-x86_64", &info, &out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"#!/bin/sh\necho 1.1.0\n");

    // Rotation: holder1's root key is replaced by holder4's, and the timestamp key by
    // a new one. Root v2 must be signed by 2 of the old root keys and 2 of the new.
    ok(w, &["keygen", "--out", "holder4.pem"]);
    ok(
        w,
        &["keygen", "--out", "timestamp2.pem", "--type", "ecdsa-p256"],
    );
    ok(
        w,
        &[
            "rotate",
            "repo",
            "--role",
            "root",
            "--remove-key",
            "holder1.pem.pub",
            "--add-key",
            "holder4.pem.pub",
        ],
    );
    ok(
        w,
        &[
            "rotate",
            "repo",
            "--role",
            "timestamp",
            "--remove-key",
            "timestamp.pem.pub",
            "--add-key",
            "timestamp2.pem.pub",
        ],
    );
    ok(
        w,
        &["sign", "repo", "--role", "root", "--key", "holder4.pem"],
    );
    ok(
        w,
        &["sign", "repo", "--role", "root", "--key", "holder2.pem"],
    );
    // The new keys alone meet the new threshold but not the old root's: refused.
    let err = fails(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "snapshot.pem",
            "--timestamp-key",
            "timestamp2.pem",
        ],
    );
    assert!(err.contains("root v1"), "{err}");
    ok(
        w,
        &["sign", "repo", "--role", "root", "--key", "holder1.pem"],
    );
    // The old timestamp key is no longer the timestamp role's.
    fails(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "snapshot.pem",
            "--timestamp-key",
            "timestamp.pem",
        ],
    );
    ok(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "snapshot.pem",
            "--timestamp-key",
            "timestamp2.pem",
        ],
    );
    let mut client = Client::new(config.clone(), fetcher.clone()).unwrap();
    client.refresh().await.unwrap();
    assert_eq!(client.trusted().root().common.version, 2);
    let ts_keys = &client.trusted().root().roles["timestamp"].keyids;
    let new_ts = std::fs::read_to_string(w.join("timestamp2.pem.pub")).unwrap();
    let new_ts: updater::metadata::Key = serde_json::from_str(&new_ts).unwrap();
    assert_eq!(ts_keys, &vec![new_ts.key_id().unwrap()]);
    // A new client that only has root v1 walks the chain too.
    let fresh = w.join("fresh-client");
    Client::init(
        &fresh,
        &std::fs::read(w.join("repo/published/metadata/1.root.json")).unwrap(),
    )
    .unwrap();
    let fresh_config = ClientConfig::new(
        &fresh,
        base.join("metadata/").unwrap(),
        base.join("targets/").unwrap(),
    );
    let mut client = Client::new(fresh_config, fetcher).unwrap();
    client.target_info("myapp/app-linux-x86_64").await.unwrap();
    assert_eq!(client.trusted().root().common.version, 2);

    // verify: valid (0); the one-day timestamp expires within a 2-day window (3).
    let out = repo_tool(w, &["verify", "repo", "--warn-days", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 target(s) match"));
    assert_eq!(
        repo_tool(w, &["verify", "repo", "--warn-days", "2"])
            .status
            .code(),
        Some(3)
    );
    // A tampered target is caught (1).
    let info = client.target_info("myapp/app-linux-x86_64").await.unwrap();
    let hash = &info.hashes["sha256"];
    std::fs::write(
        w.join(format!(
            "repo/published/targets/myapp/{hash}.app-linux-x86_64"
        )),
        b"evil",
    )
    .unwrap();
    let out = repo_tool(w, &["verify", "repo"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("myapp/app-linux-x86_64"));
}

#[test]
fn bad_input_leaves_the_repository_unchanged() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for key in ["a", "b", "t", "s", "ts"] {
        ok(w, &["keygen", "--out", &format!("{key}.pem")]);
    }
    // A threshold that cannot be met and a duplicated key are refused before anything is written.
    let err = fails(
        w,
        &[
            "init",
            "r0",
            "--root-key",
            "a.pem.pub",
            "--root-threshold",
            "2",
            "--targets-key",
            "t.pem.pub",
            "--snapshot-key",
            "s.pem.pub",
            "--timestamp-key",
            "ts.pem.pub",
        ],
    );
    assert!(err.contains("threshold"), "{err}");
    assert!(!w.join("r0").exists());
    let err = fails(
        w,
        &[
            "init",
            "r0",
            "--root-key",
            "a.pem.pub",
            "--root-key",
            "a.pem.pub",
            "--targets-key",
            "t.pem.pub",
            "--snapshot-key",
            "s.pem.pub",
            "--timestamp-key",
            "ts.pem.pub",
        ],
    );
    assert!(err.contains("twice"), "{err}");
    let err = fails(
        w,
        &[
            "init",
            "r0",
            "--root-key",
            "a.pem.pub",
            "--root-threshold",
            "0",
            "--targets-key",
            "t.pem.pub",
            "--snapshot-key",
            "s.pem.pub",
            "--timestamp-key",
            "ts.pem.pub",
        ],
    );
    assert!(err.contains("threshold"), "{err}");

    ok(
        w,
        &[
            "init",
            "repo",
            "--root-key",
            "a.pem.pub",
            "--targets-key",
            "t.pem.pub",
            "--snapshot-key",
            "s.pem.pub",
            "--timestamp-key",
            "ts.pem.pub",
        ],
    );
    std::fs::write(w.join("f"), b"x").unwrap();
    let before = snapshot_tree(&w.join("repo"));
    // A key that is not the role's, an escaping target path, a missing file,
    // a malformed key file, a tampered detached signature.
    assert!(
        fails(w, &["sign", "repo", "--role", "root", "--key", "b.pem"])
            .contains("not one of the keys")
    );
    assert!(fails(w, &["add", "repo", "f", "--path", "../etc/passwd"]).contains("target path"));
    fails(w, &["add", "repo", "missing-file"]);
    std::fs::write(w.join("garbage.pem"), b"not a key").unwrap();
    fails(
        w,
        &["sign", "repo", "--role", "root", "--key", "garbage.pem"],
    );
    fails(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "s.pem",
            "--timestamp-key",
            "ts.pem",
        ],
    );
    ok(
        w,
        &[
            "sign",
            "repo",
            "--role",
            "root",
            "--key",
            "a.pem",
            "--detached",
            "a.sig",
        ],
    );
    let mut sig: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.join("a.sig")).unwrap()).unwrap();
    sig["signed_sha256"] = serde_json::Value::String("00".repeat(32));
    std::fs::write(w.join("a.sig"), serde_json::to_vec(&sig).unwrap()).unwrap();
    assert!(fails(w, &["merge", "repo", "a.sig"]).contains("other content"));
    assert_eq!(
        before,
        snapshot_tree(&w.join("repo")),
        "a failed command changed the repository"
    );
    // Publishing with the snapshot key given as the timestamp key is refused too.
    ok(w, &["sign", "repo", "--role", "root", "--key", "a.pem"]);
    ok(w, &["sign", "repo", "--role", "targets", "--key", "t.pem"]);
    let before = snapshot_tree(&w.join("repo"));
    fails(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "s.pem",
            "--timestamp-key",
            "s.pem",
        ],
    );
    assert_eq!(before, snapshot_tree(&w.join("repo")));
    ok(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "s.pem",
            "--timestamp-key",
            "ts.pem",
        ],
    );
}

#[test]
fn encrypted_keys_need_the_right_passphrase_and_interoperate_with_openssl() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let with_env = |args: &[&str], pass: &str| {
        Command::new(env!("CARGO_BIN_EXE_repo-tool"))
            .current_dir(w)
            .env("RT_PASS", pass)
            .arg("--passphrase-env")
            .arg("RT_PASS")
            .args(args)
            .output()
            .unwrap()
    };
    let out = with_env(
        &["keygen", "--out", "root.pem", "--encrypt"],
        "a long passphrase",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(w.join("root.pem"))
        .unwrap()
        .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(
        !with_env(&["keygen", "--out", "short.pem", "--encrypt"], "short")
            .status
            .success()
    );
    // openssl decrypts it with the passphrase (PBES2, PBKDF2-SHA256, AES-256-CBC).
    let out = Command::new("openssl")
        .args([
            "pkey",
            "-in",
            "root.pem",
            "-passin",
            "pass:a long passphrase",
            "-noout",
        ])
        .current_dir(w)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And repo-tool reads a key openssl encrypted.
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "ed25519",
            "-aes-256-cbc",
            "-pass",
            "pass:openssl passphrase",
            "-out",
            "ossl.pem",
        ])
        .current_dir(w)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for key in ["t", "s", "ts"] {
        ok(w, &["keygen", "--out", &format!("{key}.pem")]);
    }
    ok(
        w,
        &[
            "init",
            "repo",
            "--root-key",
            "root.pem.pub",
            "--targets-key",
            "t.pem.pub",
            "--snapshot-key",
            "s.pem.pub",
            "--timestamp-key",
            "ts.pem.pub",
        ],
    );
    let before = snapshot_tree(&w.join("repo"));
    let out = with_env(
        &["sign", "repo", "--role", "root", "--key", "root.pem"],
        "wrong passphrase",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));
    // Without a passphrase source and no terminal, a clear error, not a hang.
    let out = Command::new(env!("CARGO_BIN_EXE_repo-tool"))
        .current_dir(w)
        .args(["sign", "repo", "--role", "root", "--key", "root.pem"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--passphrase-env"));
    assert_eq!(before, snapshot_tree(&w.join("repo")));
    let out = with_env(
        &["sign", "repo", "--role", "root", "--key", "root.pem"],
        "a long passphrase",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The openssl key is not one of root's keys, but it must decrypt and load: the
    // refusal names the role, not the file format.
    let out = with_env(
        &["sign", "repo", "--role", "root", "--key", "ossl.pem"],
        "openssl passphrase",
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not one of the keys"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Root is signed; targets is not yet, so status still exits 1.
    let out = repo_tool(w, &["status", "repo", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["role"], "root");
    assert_eq!(rows[0]["signatures"][0]["valid"], 1);
}

#[test]
fn adding_a_target_to_hash_bins_rewrites_only_its_bin_snapshot_and_timestamp() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for key in ["r", "t", "s", "ts", "bins"] {
        ok(w, &["keygen", "--out", &format!("{key}.pem")]);
    }
    ok(
        w,
        &[
            "init",
            "repo",
            "--root-key",
            "r.pem.pub",
            "--targets-key",
            "t.pem.pub",
            "--snapshot-key",
            "s.pem.pub",
            "--timestamp-key",
            "ts.pem.pub",
        ],
    );
    ok(
        w,
        &[
            "delegate",
            "repo",
            "--hash-bins",
            "6",
            "--key",
            "bins.pem.pub",
        ],
    );
    std::fs::create_dir_all(w.join("files")).unwrap();
    let mut files = Vec::new();
    for i in 0..200 {
        let name = format!("files/file-{i}.txt");
        std::fs::write(w.join(&name), format!("content {i}")).unwrap();
        files.push(name);
    }
    let mut args = vec!["add", "repo"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--prefix", "files/"]);
    ok(w, &args);
    ok(w, &["sign", "repo", "--role", "root", "--key", "r.pem"]);
    ok(w, &["sign", "repo", "--role", "targets", "--key", "t.pem"]);
    ok(w, &["sign", "repo", "--all", "--key", "bins.pem"]);
    ok(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "s.pem",
            "--timestamp-key",
            "ts.pem",
        ],
    );
    let out = ok(w, &["verify", "repo", "--warn-days", "0"]);
    assert!(out.contains("200 target(s) match"), "{out}");

    let metadata = w.join("repo/published/metadata");
    let before = snapshot_tree(&metadata);
    std::fs::write(w.join("new.txt"), b"one more").unwrap();
    ok(w, &["add", "repo", "new.txt", "--path", "files/new.txt"]);
    // Only the affected bin is staged; the bin key alone signs it.
    let status = String::from_utf8(repo_tool(w, &["status", "repo", "--json"]).stdout).unwrap();
    let rows: serde_json::Value = serde_json::from_str(&status).unwrap();
    let staged: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["staged"].is_null())
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(staged.len(), 1, "{staged:?}");
    let bin = staged[0].to_string();
    assert!(bin.starts_with("bins-"));
    ok(w, &["sign", "repo", "--all", "--key", "bins.pem"]);
    ok(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "s.pem",
            "--timestamp-key",
            "ts.pem",
        ],
    );
    let after = snapshot_tree(&metadata);
    let changed: Vec<&String> = after
        .iter()
        .filter(|(name, bytes)| before.get(*name) != Some(bytes))
        .map(|(name, _)| name)
        .collect();
    let mut expected = vec![
        format!("2.{bin}.json"),
        "2.snapshot.json".to_string(),
        format!("{bin}.json"),
        "snapshot.json".to_string(),
        "timestamp.json".to_string(),
    ];
    expected.sort();
    let mut changed: Vec<String> = changed.into_iter().cloned().collect();
    changed.sort();
    assert_eq!(changed, expected);
    let out = ok(w, &["verify", "repo", "--warn-days", "0"]);
    assert!(out.contains("201 target(s) match"), "{out}");
}

#[test]
fn a_signature_made_by_an_external_tool_over_the_canonical_bytes_is_attached() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for key in ["r", "t", "s", "ts"] {
        ok(w, &["keygen", "--out", &format!("{key}.pem")]);
    }
    ok(
        w,
        &[
            "init",
            "repo",
            "--root-key",
            "r.pem.pub",
            "--targets-key",
            "t.pem.pub",
            "--snapshot-key",
            "s.pem.pub",
            "--timestamp-key",
            "ts.pem.pub",
        ],
    );
    // The "HSM" is openssl: it signs the canonical bytes with the root key.
    let canonical = Command::new(env!("CARGO_BIN_EXE_repo-tool"))
        .current_dir(w)
        .args(["canonical", "repo", "--role", "root"])
        .output()
        .unwrap();
    assert!(canonical.status.success());
    std::fs::write(w.join("root.canonical"), &canonical.stdout).unwrap();
    let out = Command::new("openssl")
        .args([
            "pkeyutl",
            "-sign",
            "-inkey",
            "r.pem",
            "-rawin",
            "-in",
            "root.canonical",
            "-out",
            "root.sig",
        ])
        .current_dir(w)
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keyid = ok(w, &["keygen", "--out", "unused.pem"]); // any id, for the failure case
    let root_key: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.join("r.pem.pub")).unwrap()).unwrap();
    let root_id = updater::metadata::Key::ed25519(
        &hex::decode(root_key["keyval"]["public"].as_str().unwrap()).unwrap(),
    )
    .key_id()
    .unwrap();
    // Wrong key id: refused, nothing merged.
    let before = snapshot_tree(&w.join("repo"));
    fails(
        w,
        &[
            "attach",
            "repo",
            "--role",
            "root",
            "--keyid",
            keyid.trim(),
            "--signature",
            "root.sig",
        ],
    );
    // A signature over other bytes: refused.
    std::fs::write(w.join("bad.sig"), [0u8; 64]).unwrap();
    fails(
        w,
        &[
            "attach",
            "repo",
            "--role",
            "root",
            "--keyid",
            &root_id,
            "--signature",
            "bad.sig",
        ],
    );
    assert_eq!(before, snapshot_tree(&w.join("repo")));
    ok(
        w,
        &[
            "attach",
            "repo",
            "--role",
            "root",
            "--keyid",
            &root_id,
            "--signature",
            "root.sig",
        ],
    );
    ok(w, &["sign", "repo", "--role", "targets", "--key", "t.pem"]);
    ok(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "s.pem",
            "--timestamp-key",
            "ts.pem",
        ],
    );
    ok(w, &["verify", "repo", "--warn-days", "0"]);
}
