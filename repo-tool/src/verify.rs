//! `verify`: check a published repository exactly as a new client would, and warn
//! about metadata that expires soon, with an exit status cron jobs and CI act on.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use time::{Duration, OffsetDateTime};
use updater::fetch::FileFetcher;
use updater::integrity::IntegrityCheck;
use updater::{Client, ClientConfig};
use url::Url;

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// (role, version, expiry) of each top-level role a client trusts.
    pub roles: Vec<(String, u64, String)>,
    /// Targets checked against their length and hashes.
    pub targets_checked: usize,
    /// Roles that expire within the warning window.
    pub expiring_soon: Vec<String>,
}

/// Verifies the published tree `published` (with `metadata/` and `targets/`) as a
/// client starting from `1.root.json` would at `now`: the whole root chain,
/// timestamp, snapshot and targets, then every top-level target file's length and
/// hashes. Roles expiring before `now + warn` are listed in the report.
///
/// # Errors
/// A description of the first thing a client would refuse.
pub async fn verify(
    published: &Path,
    now: OffsetDateTime,
    warn: Duration,
) -> Result<VerifyReport, String> {
    let metadata = published.join("metadata");
    let first_root = std::fs::read(metadata.join("1.root.json"))
        .map_err(|e| format!("{}: {e}", metadata.join("1.root.json").display()))?;
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    Client::init(scratch.path(), &first_root).map_err(|e| e.to_string())?;
    let url = |dir: &Path| {
        Url::from_directory_path(dir)
            .map_err(|()| format!("{} is not an absolute path", dir.display()))
    };
    let config = ClientConfig::new(
        scratch.path(),
        url(&metadata)?,
        url(&published.join("targets"))?,
    );
    let mut client = Client::with_reference_time(config, Arc::new(FileFetcher), now)
        .map_err(|e| e.to_string())?;
    client.refresh().await.map_err(|e| e.to_string())?;
    let trusted = client.trusted();
    let mut roles = vec![(
        "root".to_string(),
        trusted.root().common.version,
        trusted.root().common.expires.clone(),
    )];
    let mut expiring_soon = Vec::new();
    let horizon = now + warn;
    if trusted.root().common.is_expired(horizon) {
        expiring_soon.push("root".to_string());
    }
    let mut note = |name: &str, common: &updater::metadata::Common| {
        roles.push((name.to_string(), common.version, common.expires.clone()));
        if common.is_expired(horizon) {
            expiring_soon.push(name.to_string());
        }
    };
    if let Some(t) = trusted.timestamp() {
        note("timestamp", &t.common);
    }
    if let Some(s) = trusted.snapshot() {
        note("snapshot", &s.common);
    }
    let targets = trusted.targets("targets").cloned();
    if let Some(t) = &targets {
        note("targets", &t.common);
    }
    // Every target of every role the snapshot lists. The published role files only
    // say which paths to look up; each is then found through the client's own
    // delegation search, so what is checked is what a client would trust.
    let mut paths: Vec<String> = targets
        .iter()
        .flat_map(|t| t.targets.keys().cloned())
        .collect();
    let delegated: Vec<String> = trusted
        .snapshot()
        .map(|s| {
            s.meta
                .keys()
                .filter(|f| *f != "targets.json")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for file in delegated {
        let role = file.trim_end_matches(".json");
        let path = metadata.join(format!("{role}.json"));
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let listed = updater::metadata::Envelope::<updater::metadata::Targets>::from_slice(&bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        paths.extend(listed.signed.targets.into_keys());
    }
    paths.sort();
    paths.dedup();
    let mut targets_checked = 0;
    for path in &paths {
        let info = client.target_info(path).await.map_err(|e| e.to_string())?;
        let info = &info;
        let url = client.target_url(path, info).map_err(|e| e.to_string())?;
        let file = url
            .to_file_path()
            .map_err(|()| format!("{url} is not a local file"))?;
        let bytes = std::fs::read(&file)
            .map_err(|e| format!("target {path:?}: {}: {e}", file.display()))?;
        IntegrityCheck::check_bytes(&bytes, Some(info.length), Some(&info.hashes))
            .map_err(|e| format!("target {path:?} ({}): {e}", file.display()))?;
        targets_checked += 1;
    }
    Ok(VerifyReport {
        roles,
        targets_checked,
        expiring_soon,
    })
}
