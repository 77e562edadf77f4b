//! An in-memory TUF repository for tests: real ed25519 keys and signatures, metadata
//! built from the crate's own model, served through a [`Fetcher`] that records requests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;
use time::OffsetDateTime;

use crate::fetch::{FetchError, Fetcher, ResponseBody};
use crate::integrity::sha256_hex;
use crate::metadata::{
    canonical_bytes, format_expiry, to_envelope_json, Common, DelegatedRole, Delegations, Key,
    MetaFile, RoleKeys, Root, Signature, Snapshot, TargetFile, Targets, Timestamp, SPEC_VERSION,
};

/// An ed25519 key pair with its TUF key entry and id.
pub struct TestKey {
    pair: Ed25519KeyPair,
    pub key: Key,
    pub id: String,
}

impl TestKey {
    pub fn generate() -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let key = Key::ed25519(pair.public_key().as_ref());
        let id = key.key_id().unwrap();
        TestKey { pair, key, id }
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature {
            keyid: self.id.clone(),
            sig: hex::encode(self.pair.sign(message)),
            unrecognized: Default::default(),
        }
    }
}

/// The reference time of tests; metadata expires a year later.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn common(type_: &str) -> Common {
    Common {
        type_: type_.into(),
        spec_version: SPEC_VERSION.into(),
        version: 1,
        expires: format_expiry(now() + time::Duration::days(365)),
    }
}

/// Signs `signed` with `keys` into a metadata file.
pub fn sign_json<T: Serialize>(signed: &T, keys: &[&TestKey]) -> Vec<u8> {
    let canonical = canonical_bytes(signed).unwrap();
    let sigs: Vec<Signature> = keys.iter().map(|k| k.sign(&canonical)).collect();
    to_envelope_json(signed, &sigs).unwrap()
}

/// An in-memory repository. Fields are public so tests can break things on purpose.
pub struct RepoSim {
    pub root: Root,
    pub timestamp: Timestamp,
    pub snapshot: Snapshot,
    pub targets: BTreeMap<String, Targets>,
    /// Signing keys per role name.
    pub signers: BTreeMap<String, Vec<TestKey>>,
    /// Published root versions, index 0 = version 1.
    pub signed_roots: Vec<Vec<u8>>,
    /// Target contents by path.
    pub target_files: BTreeMap<String, Vec<u8>>,
    /// Whether timestamp/snapshot meta entries carry length and hashes.
    pub meta_hashes: bool,
    /// Override of served bytes by URL path, for attacks.
    pub overrides: BTreeMap<String, Vec<u8>>,
    /// Paths requested so far.
    pub requests: Vec<String>,
}

impl RepoSim {
    pub fn new() -> RepoSim {
        let mut sim = RepoSim {
            root: Root {
                common: common("root"),
                consistent_snapshot: true,
                keys: BTreeMap::new(),
                roles: BTreeMap::new(),
                unrecognized: Default::default(),
            },
            timestamp: Timestamp {
                common: common("timestamp"),
                meta: BTreeMap::from([("snapshot.json".into(), meta(1))]),
                unrecognized: Default::default(),
            },
            snapshot: Snapshot {
                common: common("snapshot"),
                meta: BTreeMap::from([("targets.json".into(), meta(1))]),
                unrecognized: Default::default(),
            },
            targets: BTreeMap::from([(
                "targets".into(),
                Targets {
                    common: common("targets"),
                    targets: BTreeMap::new(),
                    delegations: None,
                    unrecognized: Default::default(),
                },
            )]),
            signers: BTreeMap::new(),
            signed_roots: Vec::new(),
            target_files: BTreeMap::new(),
            meta_hashes: false,
            overrides: BTreeMap::new(),
            requests: Vec::new(),
        };
        for role in ["root", "timestamp", "snapshot", "targets"] {
            let key = TestKey::generate();
            sim.root.keys.insert(key.id.clone(), key.key.clone());
            sim.root.roles.insert(
                role.into(),
                RoleKeys {
                    keyids: vec![key.id.clone()],
                    threshold: 1,
                    unrecognized: Default::default(),
                },
            );
            sim.signers.insert(role.into(), vec![key]);
        }
        sim.publish_root();
        sim
    }

    fn keys_for(&self, role: &str) -> Vec<&TestKey> {
        self.signers
            .get(role)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }

    /// Signs the current root and appends it to the published versions.
    pub fn publish_root(&mut self) {
        let bytes = sign_json(&self.root, &self.keys_for("root"));
        self.signed_roots.push(bytes);
    }

    /// Signs the current root with the given keys (e.g. old and new) and publishes it.
    pub fn publish_root_signed_by(&mut self, keys: &[&TestKey]) {
        let bytes = sign_json(&self.root, keys);
        self.signed_roots.push(bytes);
    }

    /// Bumps root's version and publishes it.
    pub fn bump_root(&mut self) {
        self.root.common.version += 1;
        self.publish_root();
    }

    /// Replaces all keys of `role` with one new key (updates root; caller publishes).
    pub fn rotate_keys(&mut self, role: &str) {
        let key = TestKey::generate();
        self.root.keys.insert(key.id.clone(), key.key.clone());
        let rk = self.root.roles.get_mut(role).unwrap();
        rk.keyids = vec![key.id.clone()];
        self.signers.insert(role.into(), vec![key]);
    }

    pub fn root_bytes(&self, version: u64) -> Option<Vec<u8>> {
        self.signed_roots
            .get((version as usize).checked_sub(1)?)
            .cloned()
    }

    pub fn latest_root(&self) -> Vec<u8> {
        self.signed_roots.last().unwrap().clone()
    }

    pub fn timestamp_bytes(&self) -> Vec<u8> {
        sign_json(&self.timestamp, &self.keys_for("timestamp"))
    }

    pub fn snapshot_bytes(&self) -> Vec<u8> {
        sign_json(&self.snapshot, &self.keys_for("snapshot"))
    }

    pub fn targets_bytes(&self, role: &str) -> Vec<u8> {
        sign_json(&self.targets[role], &self.keys_for(role))
    }

    /// Adds a target to `role` (default "targets").
    pub fn add_target(&mut self, role: &str, path: &str, data: &[u8]) {
        let file = TargetFile {
            length: data.len() as u64,
            hashes: crate::metadata::Hashes::from([("sha256".into(), sha256_hex(data))]),
            custom: None,
            unrecognized: Default::default(),
        };
        self.targets
            .get_mut(role)
            .unwrap()
            .targets
            .insert(path.into(), file);
        self.target_files.insert(path.into(), data.to_vec());
    }

    /// Delegates from `delegator` to a new role `name` with one new key.
    pub fn add_delegation(
        &mut self,
        delegator: &str,
        name: &str,
        paths: &[&str],
        terminating: bool,
    ) {
        let key = TestKey::generate();
        let d = self
            .targets
            .get_mut(delegator)
            .unwrap()
            .delegations
            .get_or_insert_with(|| Delegations {
                keys: BTreeMap::new(),
                roles: Some(vec![]),
                succinct_roles: None,
                unrecognized: Default::default(),
            });
        d.keys.insert(key.id.clone(), key.key.clone());
        d.roles.get_or_insert_with(Vec::new).push(DelegatedRole {
            name: name.into(),
            keyids: vec![key.id.clone()],
            threshold: 1,
            terminating,
            paths: Some(paths.iter().map(|p| p.to_string()).collect()),
            path_hash_prefixes: None,
            unrecognized: Default::default(),
        });
        self.signers.insert(name.into(), vec![key]);
        self.targets.insert(
            name.into(),
            Targets {
                common: common("targets"),
                targets: BTreeMap::new(),
                delegations: None,
                unrecognized: Default::default(),
            },
        );
    }

    /// Recomputes snapshot from the current targets roles, bumps its version, and the
    /// timestamp with it.
    pub fn publish_snapshot(&mut self) {
        let mut meta_map = BTreeMap::new();
        for (name, t) in &self.targets {
            let mut m = MetaFile {
                version: t.common.version,
                length: None,
                hashes: None,
                unrecognized: Default::default(),
            };
            if self.meta_hashes {
                let bytes = self.targets_bytes(name);
                m.length = Some(bytes.len() as u64);
                m.hashes = Some(crate::metadata::Hashes::from([(
                    "sha256".into(),
                    sha256_hex(&bytes),
                )]));
            }
            meta_map.insert(format!("{name}.json"), m);
        }
        self.snapshot.meta = meta_map;
        self.snapshot.common.version += 1;
        self.publish_timestamp();
    }

    /// Bumps timestamp to point at the current snapshot.
    pub fn publish_timestamp(&mut self) {
        let mut m = meta(self.snapshot.common.version);
        if self.meta_hashes {
            let bytes = self.snapshot_bytes();
            m.length = Some(bytes.len() as u64);
            m.hashes = Some(crate::metadata::Hashes::from([(
                "sha256".into(),
                sha256_hex(&bytes),
            )]));
        }
        self.timestamp.meta = BTreeMap::from([("snapshot.json".into(), m)]);
        self.timestamp.common.version += 1;
    }

    /// Bumps the version of a targets role and republishes snapshot and timestamp.
    pub fn publish_targets(&mut self, role: &str) {
        self.targets.get_mut(role).unwrap().common.version += 1;
        self.publish_snapshot();
    }

    /// Serves a URL path below the repository base, as a static server would.
    pub fn serve(&mut self, path: &str) -> Option<Vec<u8>> {
        self.requests.push(path.to_string());
        if let Some(bytes) = self.overrides.get(path) {
            return Some(bytes.clone());
        }
        if let Some(name) = path.strip_prefix("metadata/") {
            let name = percent_encoding::percent_decode_str(name)
                .decode_utf8()
                .ok()?
                .into_owned();
            let name = name.strip_suffix(".json")?;
            if name == "timestamp" {
                return Some(self.timestamp_bytes());
            }
            let (version, role) = match name.split_once('.') {
                Some((v, r)) if v.bytes().all(|b| b.is_ascii_digit()) => (v.parse::<u64>().ok(), r),
                _ => (None, name),
            };
            return match (role, version) {
                ("root", Some(v)) => self.root_bytes(v),
                ("snapshot", v) if v.is_none() || v == Some(self.snapshot.common.version) => {
                    Some(self.snapshot_bytes())
                }
                (r, v) if self.targets.contains_key(r) => {
                    let t = &self.targets[r];
                    (v.is_none() || v == Some(t.common.version)).then(|| self.targets_bytes(r))
                }
                _ => None,
            };
        }
        if let Some(name) = path.strip_prefix("targets/") {
            // As a web server does: the request path is percent-decoded.
            let name = percent_encoding::percent_decode_str(name)
                .decode_utf8()
                .ok()?
                .into_owned();
            let name = name.as_str();
            let (dir, file) = name.rsplit_once('/').map_or(("", name), |(d, f)| (d, f));
            let (hash, base) = file.split_once('.')?;
            let full = if dir.is_empty() {
                base.to_string()
            } else {
                format!("{dir}/{base}")
            };
            let data = self.target_files.get(&full)?;
            return (sha256_hex(data) == hash).then(|| data.clone());
        }
        None
    }
}

fn meta(version: u64) -> MetaFile {
    MetaFile {
        version,
        length: None,
        hashes: None,
        unrecognized: Default::default(),
    }
}

/// A [`Fetcher`] over a shared [`RepoSim`] at `https://repo.test/`.
#[derive(Clone)]
pub struct SimFetcher(pub Arc<Mutex<RepoSim>>);

pub const BASE: &str = "https://repo.test/";

impl Fetcher for SimFetcher {
    fn fetch<'a>(&'a self, url: &'a url::Url, _max_length: u64) -> crate::fetch::FetchFuture<'a> {
        Box::pin(async move {
            let path = url
                .as_str()
                .strip_prefix(BASE)
                .ok_or_else(|| FetchError::NotFound {
                    url: url.to_string(),
                })?
                .to_string();
            let served = self.0.lock().unwrap().serve(&path);
            match served {
                Some(bytes) => Ok(ResponseBody::from_bytes(bytes)),
                None => Err(FetchError::NotFound {
                    url: url.to_string(),
                }),
            }
        })
    }
}
