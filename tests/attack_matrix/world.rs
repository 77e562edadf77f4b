//! The attack-matrix world: an honest repository (repo-tool's sandbox), a copy of it
//! on a web server the attacker controls (`www/`, served by the adversarial server
//! on loopback), an installed executable at version 1.0.0, and its data directory.
//!
//! The attacker's tools work on `www/` only, so the honest repository stays as its
//! key holders published it: the attacker rewrites, replays and forges files there,
//! signing with whatever keys the test hands over ([`Sandbox::signer`]) or with keys
//! of their own.

#![allow(dead_code)] // each test uses part of the world

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use repo_tool::publish::sign_metadata;
use repo_tool::sandbox::Sandbox;
use repo_tool::signer::Signer;
use semver::Version;
use serde_json::{json, Value};
use time::OffsetDateTime;
use updater::fetch::HttpOptions;
use updater::integrity::sha256_hex;
use updater::release::{current_platform, ReleaseInfo};
use updater::Updater;

use super::server::{Adversary, TestCa};

pub const APP: &str = "demo-app";

/// The installed program at `version`: a shell script that prints it.
pub fn binary(version: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho {version}\n").into_bytes()
}

pub fn info(app: &str, version: &str) -> ReleaseInfo {
    ReleaseInfo::new(app, Version::parse(version).unwrap(), current_platform())
}

/// Everything in the data directory but the lock file, and the executable's
/// directory: what an attack must leave as it found it.
#[derive(Debug, PartialEq, Eq)]
pub struct LocalState {
    pub data: BTreeMap<String, Vec<u8>>,
    pub bin: BTreeMap<String, Vec<u8>>,
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub sandbox: Sandbox,
    /// The attacker-controlled server's document root.
    pub www: PathBuf,
    pub server: Adversary,
    pub exe: PathBuf,
    pub data: PathBuf,
    pub ca_file: Option<PathBuf>,
}

impl World {
    /// Version 1.0.0 of [`APP`] published and installed; served over plain HTTP.
    pub async fn new() -> World {
        World::build(&[APP], None, None).await
    }

    /// As [`World::new`], for the applications `apps` (the first is the one installed).
    pub async fn with_apps(apps: &[&str]) -> World {
        World::build(apps, None, None).await
    }

    /// As [`World::new`] over TLS with `server_ca`'s certificate for `localhost`; the
    /// updater trusts only the CA whose certificate is `client_ca_pem`.
    pub async fn with_tls(server_ca: &TestCa, client_ca_pem: &str) -> World {
        World::build(&[APP], Some(server_ca), Some(client_ca_pem)).await
    }

    async fn build(apps: &[&str], tls: Option<&TestCa>, client_ca: Option<&str>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let sandbox = Sandbox::create(&dir.path().join("repo"), apps, now).unwrap();
        sandbox
            .release(&info(APP, "1.0.0"), APP, &binary("1.0.0"), now)
            .unwrap();
        let www = dir.path().join("www");
        let server = Adversary::start(www.clone(), tls.map(|ca| ca.acceptor.clone())).await;
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join(APP);
        std::fs::write(&exe, binary("1.0.0")).unwrap();
        set_mode(&exe, 0o755);
        let ca_file = client_ca.map(|pem| {
            let path = dir.path().join("ca.pem");
            std::fs::write(&path, pem).unwrap();
            path
        });
        let world = World {
            data: dir.path().join("data"),
            dir,
            sandbox,
            www,
            server,
            exe,
            ca_file,
        };
        world.sync();
        world
    }

    /// The server catches up with the honest repository (an honest mirror sync).
    pub fn sync(&self) {
        copy_tree(&self.sandbox.published_dir(), &self.www);
    }

    /// Publishes `version` of [`APP`] honestly and syncs the server; the release's
    /// target path.
    pub fn release(&self, version: &str) -> String {
        self.release_of(APP, version, &binary(version))
    }

    /// Publishes `version` of `app` with `content` and syncs the server.
    pub fn release_of(&self, app: &str, version: &str, content: &[u8]) -> String {
        let path = self
            .sandbox
            .release(&info(app, version), app, content, OffsetDateTime::now_utc())
            .unwrap();
        self.sync();
        path
    }

    /// The updater of the installed program at `version`, talking to the attacker's
    /// server with short transfer limits (so that slow attacks end within seconds).
    pub fn updater(&self, version: &str) -> Updater {
        self.updater_at(version, &[self.server.base.as_str()])
    }

    /// As [`World::updater`], with the mirrors at `bases` in this order.
    pub fn updater_at(&self, version: &str, bases: &[&str]) -> Updater {
        let mut builder = Updater::builder(APP, version)
            .trusted_root(self.sandbox.root_json().unwrap())
            .data_dir(&self.data)
            .executable(&self.exe)
            .transfer_limits(updater::fetch::TransferLimits {
                read_timeout: std::time::Duration::from_secs(2),
                min_bytes_per_second: 1024,
                rate_grace: std::time::Duration::from_secs(2),
                retries: 1,
                retry_delay: std::time::Duration::from_millis(100),
            })
            .http_options(HttpOptions {
                ca_file: self.ca_file.clone(),
                ..HttpOptions::default()
            });
        for base in bases {
            builder = builder.repository(&format!("{base}metadata/"), &format!("{base}targets/"));
        }
        builder.build().unwrap()
    }

    /// What an attack must not change.
    pub fn local_state(&self) -> LocalState {
        let mut data = read_tree(&self.data);
        data.remove("lock");
        LocalState {
            data,
            bin: read_tree(self.exe.parent().unwrap()),
        }
    }

    /// Asserts that the data directory and the executable's directory are as they
    /// were, and that the installed program is still version 1.0.0.
    pub fn assert_untouched(&self, before: &LocalState) {
        let after = self.local_state();
        assert_eq!(
            after.data.keys().collect::<Vec<_>>(),
            before.data.keys().collect::<Vec<_>>(),
            "files in the data directory"
        );
        for (name, bytes) in &before.data {
            assert!(
                after.data[name] == *bytes,
                "{name} in the data directory changed"
            );
        }
        assert_eq!(
            after.bin.keys().collect::<Vec<_>>(),
            vec![APP],
            "nothing but the executable in its directory"
        );
        assert_eq!(after.bin, before.bin, "the installed executable changed");
        assert_eq!(std::fs::read(&self.exe).unwrap(), binary("1.0.0"));
    }

    /// The trusted copy of one metadata file (`root.json`, `targets.json`, ...).
    pub fn trusted(&self, file: &str) -> Option<Vec<u8>> {
        std::fs::read(self.data.join("metadata").join(file)).ok()
    }

    // The attacker's tools, on the server's copy only.

    /// The path of a metadata file on the attacker's server.
    pub fn www_metadata(&self, name: &str) -> PathBuf {
        self.www.join("metadata").join(name)
    }

    /// The newest version of `role` on the server (from `N.ROLE.json` names).
    pub fn served_version(&self, role: &str) -> u64 {
        let suffix = format!(".{role}.json");
        std::fs::read_dir(self.www.join("metadata"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(&suffix)?.parse::<u64>().ok()
            })
            .max()
            .unwrap()
    }

    /// The file name the client fetches for the newest `role`.
    pub fn served_name(&self, role: &str) -> String {
        match role {
            "timestamp" => "timestamp.json".into(),
            _ => format!("{}.{role}.json", self.served_version(role)),
        }
    }

    /// The `signed` part of a metadata file on the server.
    pub fn served_signed(&self, name: &str) -> Value {
        let bytes = std::fs::read(self.www_metadata(name)).unwrap();
        let mut envelope: Value = serde_json::from_slice(&bytes).unwrap();
        envelope["signed"].take()
    }

    /// Signs `signed` with `keys` and writes it to the server under the name the
    /// client asks for (`timestamp.json`, or `VERSION.ROLE.json`); its bytes.
    pub fn forge(&self, role: &str, signed: &Value, keys: &[&dyn Signer]) -> Vec<u8> {
        let bytes = sign_metadata(signed, keys).unwrap();
        let name = match role {
            "timestamp" => "timestamp.json".to_string(),
            _ => format!("{}.{role}.json", signed["version"]),
        };
        std::fs::write(self.www_metadata(&name), &bytes).unwrap();
        bytes
    }

    /// Forges a snapshot that lists `roles` at their newest versions on the server,
    /// and a timestamp that lists that snapshot, signed with `snapshot_key` and
    /// `timestamp_key` (an attacker who holds the online keys).
    pub fn reseal(&self, roles: &[&str], snapshot_key: &dyn Signer, timestamp_key: &dyn Signer) {
        let mut snapshot = self.served_signed(&self.served_name("snapshot"));
        for role in roles {
            snapshot["meta"][format!("{role}.json")] =
                json!({ "version": self.served_version(role) });
        }
        bump(&mut snapshot);
        let snapshot_bytes = self.forge("snapshot", &snapshot, &[snapshot_key]);
        let mut timestamp = self.served_signed("timestamp.json");
        timestamp["meta"]["snapshot.json"] = json!({
            "version": snapshot["version"],
            "length": snapshot_bytes.len(),
            "hashes": { "sha256": sha256_hex(&snapshot_bytes) },
        });
        bump(&mut timestamp);
        self.forge("timestamp", &timestamp, &[timestamp_key]);
    }

    /// Puts `content` on the server where a consistent-snapshot client looks for the
    /// target `path` with that content's sha256 (`DIR/HASH.NAME`); the hash.
    pub fn plant_target(&self, path: &str, content: &[u8]) -> String {
        let hash = sha256_hex(content);
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let at = self.www.join("targets").join(dir);
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join(format!("{hash}.{name}")), content).unwrap();
        hash
    }

    /// Overwrites every file on the server whose content is `old` with `new`; how many.
    pub fn replace_served(&self, old: &[u8], new: &[u8]) -> usize {
        let mut replaced = 0;
        for (name, bytes) in read_tree(&self.www.join("targets")) {
            if bytes == old {
                let path = self.www.join("targets").join(&name);
                // Hash-prefixed names of one file are hard links: break the link.
                std::fs::remove_file(&path).unwrap();
                std::fs::write(&path, new).unwrap();
                replaced += 1;
            }
        }
        replaced
    }
}

/// Increments `signed.version`.
pub fn bump(signed: &mut Value) {
    signed["version"] = json!(signed["version"].as_u64().unwrap() + 1);
}

pub use crate::support::read_tree;

/// Copies every file under `from` into `to`, replacing what is there.
fn copy_tree(from: &Path, to: &Path) {
    for (name, bytes) in read_tree(from) {
        let path = to.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        std::fs::write(path, bytes).unwrap();
    }
}

/// Sets a file's mode (Windows has none: a no-op there).
pub fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}
