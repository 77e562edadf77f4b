//! Drives the `repo-tool` binary through a whole release: three root key holders,
//! root 2-of-3, holders signing on separate copies, a detached signature merged,
//! publish, serve over HTTP, and the updater client downloading the release. Bad
//! input must leave the repository exactly as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

#[path = "release_flow/fixture.rs"]
mod fixture;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use fixture::{copy_tree, fails, ok, repo_tool, snapshot_tree};
use repo_tool::serve::StaticServer;
use updater::fetch::{DefaultFetcher, HttpOptions};
use updater::{Client, ClientConfig};
use url::Url;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    windows,
    ignore = "runs openssl, a Linux program the Wine process cannot start"
)]
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
