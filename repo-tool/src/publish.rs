//! Publishing: staged roles that meet their thresholds, then a new snapshot and
//! timestamp signed by the online keys, written in the order targets, root,
//! snapshot, timestamp so clients never see a half-published release.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use updater::integrity::sha256_hex;
use updater::metadata::{canonical_bytes, to_envelope_json, Signature};
use updater::metadata::{MetaFile, Root, Snapshot, Targets, Timestamp};
use updater::store::write_atomic;

use crate::error::RepoError;
use crate::ops::common;
use crate::project::{Project, StagedFile};
use crate::signer::Signer;

/// Signs a `signed` object with every signer, into a metadata file.
///
/// # Errors
/// [`RepoError::Key`] when a signer fails.
pub fn sign_metadata<T: Serialize>(
    signed: &T,
    signers: &[&dyn Signer],
) -> Result<Vec<u8>, RepoError> {
    let canonical =
        canonical_bytes(signed).map_err(|e| RepoError::Invalid(format!("canonical JSON: {e}")))?;
    let signatures = signers
        .iter()
        .map(|s| {
            Ok(Signature {
                keyid: s.key_id().clone(),
                sig: hex::encode(s.sign(&canonical)?),
                unrecognized: Default::default(),
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    to_envelope_json(signed, &signatures).map_err(|e| RepoError::Invalid(e.to_string()))
}

fn require_threshold<T>(
    project: &Project,
    role: &str,
    staged: &StagedFile<T>,
) -> Result<(), RepoError>
where
    T: Serialize,
{
    for r in project.signing_requirements(role)? {
        staged
            .check_threshold(role, &r.keys, &r.role_keys)
            .map_err(|e| {
                RepoError::Invalid(format!(
                    "cannot publish {role}: {e} ({}); collect more signatures",
                    r.who
                ))
            })?;
    }
    Ok(())
}

fn write_metadata(
    project: &Project,
    role: &str,
    version: u64,
    bytes: &[u8],
    versioned: bool,
) -> Result<(), RepoError> {
    let dir = project.metadata_dir();
    // Published under the role's own name: clients percent-encode it in the URL and
    // every static server decodes it back, so this is the file they ask for.
    if !crate::ops::TOP_LEVEL.contains(&role) {
        crate::delegate::check_role_name(role)?;
    }
    let mut names = vec![format!("{role}.json")];
    if versioned {
        names.insert(0, format!("{version}.{role}.json"));
    }
    for name in names {
        let path = dir.join(name);
        write_atomic(&path, bytes).map_err(|source| RepoError::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Publishes staged delegated roles, targets and root (each must meet its
/// thresholds), then a new snapshot and timestamp signed by the online keys, in the
/// order delegated roles, targets, root, snapshot, timestamp. Nothing is written
/// unless every threshold is met. Only staged roles are rewritten: adding one target
/// to a hash-binned repository rewrites its bin, snapshot and timestamp.
///
/// # Errors
/// [`RepoError::Invalid`] naming the role whose signatures are short; signer and IO errors.
pub fn publish(
    project: &Project,
    snapshot_signers: &[&dyn Signer],
    timestamp_signers: &[&dyn Signer],
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    let staged_root = project.staged::<Root>("root")?;
    let staged_targets = project.staged::<Targets>("targets")?;
    let mut delegated = Vec::new();
    for role in project.staged_roles()? {
        if role == "root" || role == "targets" {
            continue;
        }
        let staged = project
            .staged::<Targets>(&role)?
            .ok_or_else(|| RepoError::Invalid(format!("staged {role} vanished")))?;
        require_threshold(project, &role, &staged)?;
        delegated.push((role, staged));
    }
    if let Some(s) = &staged_root {
        require_threshold(project, "root", s)?;
    }
    if let Some(s) = &staged_targets {
        require_threshold(project, "targets", s)?;
    }
    let root = project.current_root()?;
    check_online_signers(&root, "snapshot", snapshot_signers)?;
    check_online_signers(&root, "timestamp", timestamp_signers)?;
    let consistent = root.consistent_snapshot;

    let hashes = project.settings.snapshot_hashes;
    let mut updated = Vec::new();
    for (role, s) in &delegated {
        let bytes = updater::metadata::to_envelope_json(&s.signed, &s.signatures)
            .map_err(|e| RepoError::Invalid(e.to_string()))?;
        write_metadata(project, role, s.signed.common.version, &bytes, consistent)?;
        updated.push((
            format!("{role}.json"),
            meta_entry(s.signed.common.version, &bytes, hashes),
        ));
    }
    if let Some(s) = &staged_targets {
        let bytes = updater::metadata::to_envelope_json(&s.signed, &s.signatures)
            .map_err(|e| RepoError::Invalid(e.to_string()))?;
        write_metadata(
            project,
            "targets",
            s.signed.common.version,
            &bytes,
            consistent,
        )?;
        updated.push((
            "targets.json".into(),
            meta_entry(s.signed.common.version, &bytes, hashes),
        ));
    }
    if let Some(s) = &staged_root {
        let bytes = updater::metadata::to_envelope_json(&s.signed, &s.signatures)
            .map_err(|e| RepoError::Invalid(e.to_string()))?;
        // Root is always versioned: clients walk N.root.json whatever the setting.
        write_metadata(project, "root", s.signed.common.version, &bytes, true)?;
    }
    write_snapshot_and_timestamp(
        project,
        &root,
        Some(&updated),
        snapshot_signers,
        timestamp_signers,
        now,
    )?;
    for (role, _) in &delegated {
        project.unstage(role)?;
    }
    if staged_targets.is_some() {
        project.unstage("targets")?;
    }
    if staged_root.is_some() {
        project.unstage("root")?;
    }
    Ok(())
}

fn check_online_signers(root: &Root, role: &str, signers: &[&dyn Signer]) -> Result<(), RepoError> {
    let rk = root
        .roles
        .get(role)
        .ok_or_else(|| RepoError::Invalid(format!("root defines no {role} role")))?;
    let valid = signers
        .iter()
        .filter(|s| rk.keyids.contains(s.key_id()))
        .count() as u64;
    if valid < rk.threshold {
        return Err(RepoError::ThresholdNotMet {
            role: role.into(),
            threshold: rk.threshold,
            available: valid as usize,
        });
    }
    Ok(())
}

/// The entry, in a snapshot or timestamp, for a metadata file of `version` whose
/// published bytes are `bytes`: the version, and the length and sha256 when
/// `hashes` (always for the timestamp's snapshot entry).
pub fn meta_entry(version: u64, bytes: &[u8], hashes: bool) -> MetaFile {
    MetaFile {
        version,
        length: hashes.then_some(bytes.len() as u64),
        hashes: hashes
            .then(|| updater::metadata::Hashes::from([("sha256".into(), sha256_hex(bytes))])),
        unrecognized: Default::default(),
    }
}

/// Writes a new timestamp, and before it a new snapshot when `updated` is given (the
/// snapshot entries of the targets metadata just published, by file name; the others
/// keep their entries).
fn write_snapshot_and_timestamp(
    project: &Project,
    root: &Root,
    updated: Option<&[(String, MetaFile)]>,
    snapshot_signers: &[&dyn Signer],
    timestamp_signers: &[&dyn Signer],
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    let consistent = root.consistent_snapshot;
    let previous = project.published::<Snapshot>("snapshot")?;
    let snapshot_bytes = if updated.is_some() || previous.is_none() {
        let mut meta = previous
            .as_ref()
            .map(|p| p.signed.meta.clone())
            .unwrap_or_default();
        for (file, entry) in updated.unwrap_or_default() {
            meta.insert(file.clone(), entry.clone());
        }
        // Top-level targets not just published keeps the entry the last snapshot
        // signed: the file on disk is read only for the very first snapshot, so a
        // targets.json written by an interrupted publish (or by anyone who can
        // write the served tree) is never endorsed by a later refresh.
        if !meta.contains_key("targets.json") {
            let path = project.metadata_dir().join("targets.json");
            let bytes = std::fs::read(&path).map_err(|_| {
                RepoError::Invalid("targets must be published before snapshot".into())
            })?;
            let targets = updater::metadata::Envelope::<Targets>::from_slice(&bytes)
                .map_err(|e| RepoError::Invalid(format!("{}: {e}", path.display())))?;
            meta.insert(
                "targets.json".into(),
                meta_entry(
                    targets.signed.common.version,
                    &bytes,
                    project.settings.snapshot_hashes,
                ),
            );
        }
        let version = previous.as_ref().map_or(1, |p| p.signed.common.version + 1);
        let snapshot = Snapshot {
            common: common(
                "snapshot",
                version,
                project.settings.expiry("snapshot", now),
            ),
            meta,
            unrecognized: Default::default(),
        };
        let bytes = sign_metadata(&snapshot, snapshot_signers)?;
        write_metadata(project, "snapshot", version, &bytes, consistent)?;
        bytes
    } else {
        let path = project.metadata_dir().join("snapshot.json");
        std::fs::read(&path).map_err(|source| RepoError::Io {
            path: path.display().to_string(),
            source,
        })?
    };
    let snapshot_version = updater::metadata::Envelope::<Snapshot>::from_slice(&snapshot_bytes)
        .map_err(|e| RepoError::Invalid(e.to_string()))?
        .signed
        .common
        .version;
    let version = project
        .published::<Timestamp>("timestamp")?
        .map_or(1, |p| p.signed.common.version + 1);
    let timestamp = Timestamp {
        common: common(
            "timestamp",
            version,
            project.settings.expiry("timestamp", now),
        ),
        meta: BTreeMap::from([(
            "snapshot.json".into(),
            meta_entry(snapshot_version, &snapshot_bytes, true),
        )]),
        unrecognized: Default::default(),
    };
    let bytes = sign_metadata(&timestamp, timestamp_signers)?;
    write_metadata(project, "timestamp", version, &bytes, false)
}

/// Refreshes the timestamp (for a cron job, with only the online key), and the
/// snapshot too when `snapshot_signers` are given.
///
/// # Errors
/// When the repository has not been published, or signers are not the role's keys.
pub fn refresh_timestamp(
    project: &Project,
    snapshot_signers: Option<&[&dyn Signer]>,
    timestamp_signers: &[&dyn Signer],
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    let root = project
        .published::<Root>("root")?
        .ok_or_else(|| {
            RepoError::Invalid("nothing is published yet; run `repo-tool publish` first".into())
        })?
        .signed;
    check_online_signers(&root, "timestamp", timestamp_signers)?;
    if let Some(s) = snapshot_signers {
        check_online_signers(&root, "snapshot", s)?;
    }
    write_snapshot_and_timestamp(
        project,
        &root,
        snapshot_signers.map(|_| &[][..]),
        snapshot_signers.unwrap_or(&[]),
        timestamp_signers,
        now,
    )
}
