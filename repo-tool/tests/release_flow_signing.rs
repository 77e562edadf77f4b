//! Drives the `repo-tool` binary through the other ways a release is signed: keys
//! encrypted with a passphrase (and interoperating with openssl), hash bins signed
//! with one key, and a signature made by an external tool over the canonical bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

#[path = "release_flow/fixture.rs"]
mod fixture;

use std::process::Command;

use fixture::{fails, ok, repo_tool, snapshot_tree};

#[test]
#[cfg_attr(
    windows,
    ignore = "runs openssl, a Linux program the Wine process cannot start"
)]
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
#[cfg_attr(
    windows,
    ignore = "runs openssl, a Linux program the Wine process cannot start"
)]
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
