//! The release flow over a [`Project`]: init, add targets, sign, merge detached
//! signatures, publish, refresh the timestamp, and report status.
//!
//! Every operation checks its inputs before writing anything, and every write is
//! atomic, so a failed command leaves the repository exactly as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use updater::integrity::sha256_hex;
use updater::metadata::{
    Common, Key, KeyId, RoleKeys, Root, Signature, Snapshot, TargetFile, Targets, Timestamp,
    SPEC_VERSION,
};

use crate::error::RepoError;
use crate::project::{DetachedSignature, Project, Settings, StagedFile};
use crate::signer::Signer;

/// The keys and threshold of one top-level role, for [`init`].
pub struct RoleSetup {
    /// Public keys allowed to sign.
    pub keys: Vec<Key>,
    /// How many of them must sign.
    pub threshold: u64,
}

/// The four top-level roles.
pub(crate) const TOP_LEVEL: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

pub(crate) fn common(role: &str, version: u64, expires: String) -> Common {
    Common {
        type_: role.into(),
        spec_version: SPEC_VERSION.into(),
        version,
        expires,
    }
}

/// Creates a repository in `dir` with staged root and targets (version 1, unsigned).
///
/// Refuses dangerous setups: a threshold of 0 or above the number of distinct keys,
/// the same key listed twice for a role.
///
/// # Errors
/// [`RepoError::Invalid`] naming the role at fault; IO errors.
pub fn init(
    dir: &Path,
    roles: &BTreeMap<String, RoleSetup>,
    settings: Settings,
    now: OffsetDateTime,
) -> Result<Project, RepoError> {
    let mut root = Root {
        common: common("root", 1, settings.expiry("root", now)),
        consistent_snapshot: settings.consistent_snapshot,
        keys: BTreeMap::new(),
        roles: BTreeMap::new(),
        unrecognized: Default::default(),
    };
    for role in TOP_LEVEL {
        let setup = roles
            .get(role)
            .ok_or_else(|| RepoError::Invalid(format!("no keys given for the {role} role")))?;
        let mut ids = Vec::new();
        for key in &setup.keys {
            let id = usable_key_id(key, &format!("a {role} key"))?;
            if ids.contains(&id) {
                return Err(RepoError::Invalid(format!(
                    "the {role} role lists key {id} twice"
                )));
            }
            root.keys.insert(id.clone(), key.clone());
            ids.push(id);
        }
        if setup.threshold == 0 || setup.threshold > ids.len() as u64 {
            return Err(RepoError::Invalid(format!(
                "the {role} threshold {} cannot be met by {} key(s); it must be between 1 and the number of keys",
                setup.threshold,
                ids.len()
            )));
        }
        root.roles.insert(
            role.into(),
            RoleKeys {
                keyids: ids,
                threshold: setup.threshold,
                unrecognized: Default::default(),
            },
        );
    }
    let project = Project::create(dir, settings)?;
    project.stage(
        "root",
        &StagedFile {
            signed: root,
            signatures: vec![],
        },
    )?;
    let targets = Targets {
        common: common("targets", 1, project.settings.expiry("targets", now)),
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: Default::default(),
    };
    project.stage(
        "targets",
        &StagedFile {
            signed: targets,
            signatures: vec![],
        },
    )?;
    Ok(project)
}

/// A targets role ready for a change: the staged copy if there is one, else the
/// published one with its version bumped and signatures cleared, else (for a role
/// that targets delegates to but that was never published) an empty version 1.
pub(crate) fn targets_for_change(
    project: &Project,
    role: &str,
    now: OffsetDateTime,
) -> Result<StagedFile<Targets>, RepoError> {
    if let Some(staged) = project.staged::<Targets>(role)? {
        return Ok(staged);
    }
    let signed = match project.published::<Targets>(role)? {
        Some(published) => {
            let mut signed = published.signed;
            signed.common.version += 1;
            signed.common.expires = project.settings.expiry(role, now);
            signed
        }
        None if role != "targets" && project.role_keys(role).is_ok() => Targets {
            common: common("targets", 1, project.settings.expiry(role, now)),
            targets: BTreeMap::new(),
            delegations: None,
            unrecognized: Default::default(),
        },
        None => {
            return Err(RepoError::Invalid(format!(
                "no {role} metadata is staged or published, and targets does not delegate to it"
            )))
        }
    };
    Ok(StagedFile {
        signed,
        signatures: vec![],
    })
}

/// The role a new target goes to when none is named: with succinct hash-bin
/// delegations, its bin; otherwise the top-level targets role.
///
/// # Errors
/// IO or parse errors.
pub fn route(project: &Project, path: &str) -> Result<String, RepoError> {
    let succinct = project
        .current_targets()?
        .and_then(|t| t.delegations)
        .and_then(|d| d.succinct_roles);
    Ok(match succinct {
        Some(bins) => bins.role_for_target(path),
        None => "targets".into(),
    })
}

/// Refuses to list a path in a delegated `role` that targets does not trust for it:
/// clients would never find it there (their search only enters roles delegated the
/// path), so a rollout halt or a release staged that way would silently not count.
///
/// # Errors
/// [`RepoError::Invalid`] naming the role and the first path it is not trusted for.
pub fn check_delegated<'a>(
    project: &Project,
    role: &str,
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<(), RepoError> {
    let delegations = project.current_targets()?.and_then(|t| t.delegations);
    let Some(delegations) = delegations else {
        return Err(RepoError::Invalid(format!(
            "targets delegates to no role; delegate paths to {role:?} first"
        )));
    };
    for path in paths {
        let trusted = delegations
            .roles_for_target(path)
            .iter()
            .any(|(name, _)| name == role);
        if !trusted {
            return Err(RepoError::Invalid(format!(
                "role {role:?} is not delegated the path {path:?}, so clients would never look for it there; \
                 delegate a matching path pattern to {role:?} or use another role"
            )));
        }
    }
    Ok(())
}

/// Refuses target paths that could escape the targets directory or name nothing.
///
/// # Errors
/// [`RepoError::Invalid`] for empty, absolute, `.`/`..` or empty-segment paths.
pub fn check_target_path(path: &str) -> Result<(), RepoError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        return Err(RepoError::Invalid(format!(
            "target path {path:?} must be relative, with no empty, '.' or '..' segments"
        )));
    }
    Ok(())
}

pub use crate::target_files::target_file;

/// One target to add: its path, content and custom metadata.
#[derive(Debug, Clone)]
pub struct NewTarget {
    /// The target path clients ask for.
    pub path: String,
    /// The file's content.
    pub content: Vec<u8>,
    /// Custom metadata (version, channel, ...).
    pub custom: Option<Value>,
}

/// Adds (or replaces) targets: each file is stored under its hash-prefixed names
/// (invisible to clients until published) and listed in `role`, or in the role
/// [`route`] picks. Each affected role is loaded and staged once, with its previous
/// signatures dropped. Returns (role, description) per target.
///
/// # Errors
/// [`RepoError::Invalid`] for unsafe paths or roles targets does not delegate to
/// (checked before anything is written); IO errors.
pub fn add_targets(
    project: &Project,
    targets: Vec<NewTarget>,
    role: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<(String, TargetFile)>, RepoError> {
    let mut by_role: BTreeMap<String, Vec<(String, TargetFile)>> = BTreeMap::new();
    let mut out = Vec::new();
    for t in &targets {
        check_target_path(&t.path)?;
    }
    if let Some(role) = role.filter(|r| *r != "targets") {
        check_delegated(project, role, targets.iter().map(|t| t.path.as_str()))?;
    }
    let mut staged: BTreeMap<String, StagedFile<Targets>> = BTreeMap::new();
    for t in &targets {
        let role = match role {
            Some(r) => r.to_string(),
            None => route(project, &t.path)?,
        };
        if !staged.contains_key(&role) {
            staged.insert(role.clone(), targets_for_change(project, &role, now)?);
        }
        let info = target_file(&t.content, t.custom.clone());
        by_role
            .entry(role.clone())
            .or_default()
            .push((t.path.clone(), info.clone()));
        out.push((role, info));
    }
    crate::target_files::write_many(
        &project.targets_dir(),
        targets
            .iter()
            .zip(&out)
            .map(|(t, (_, info))| (t.path.as_str(), t.content.as_slice(), info)),
    )?;
    for (role, entries) in by_role {
        if let Some(mut file) = staged.remove(&role) {
            file.signed.targets.extend(entries);
            file.signatures.clear();
            project.stage(&role, &file)?;
        }
    }
    Ok(out)
}

/// Adds (or replaces) one target in the role [`route`] picks; see [`add_targets`].
///
/// # Errors
/// As [`add_targets`].
pub fn add_target(
    project: &Project,
    path: &str,
    content: &[u8],
    custom: Option<Value>,
    now: OffsetDateTime,
) -> Result<TargetFile, RepoError> {
    let new = NewTarget {
        path: path.into(),
        content: content.to_vec(),
        custom,
    };
    let mut added = add_targets(project, vec![new], None, now)?;
    added
        .pop()
        .map(|(_, info)| info)
        .ok_or_else(|| RepoError::Invalid("nothing was added".into()))
}

/// Removes target `path` from the role that lists it ([`route`]'s choice).
///
/// # Errors
/// [`RepoError::Invalid`] when no such target is listed.
pub fn remove_target(project: &Project, path: &str, now: OffsetDateTime) -> Result<(), RepoError> {
    let role = route(project, path)?;
    let mut staged = targets_for_change(project, &role, now)?;
    if staged.signed.targets.remove(path).is_none() {
        return Err(RepoError::Invalid(format!(
            "{role} lists no target {path:?}"
        )));
    }
    staged.signatures.clear();
    project.stage(&role, &staged)
}

/// Signs every staged role that `signer` is one of the keys of (e.g. all hash bins
/// with their shared key). Returns the roles signed.
///
/// # Errors
/// [`RepoError::Invalid`] when the key may sign none of the staged roles.
pub fn sign_all(project: &Project, signer: &dyn Signer) -> Result<Vec<String>, RepoError> {
    let mut signed = Vec::new();
    for role in project.staged_roles()? {
        if authorised(project, &role, signer).is_ok() {
            sign(project, &role, signer)?;
            signed.push(role);
        }
    }
    if signed.is_empty() {
        return Err(RepoError::Invalid(format!(
            "key {} is not a key of any staged role; nothing was signed",
            signer.key_id()
        )));
    }
    Ok(signed)
}

fn authorised(project: &Project, role: &str, signer: &dyn Signer) -> Result<(), RepoError> {
    let allowed: BTreeSet<String> = project
        .signing_requirements(role)?
        .into_iter()
        .flat_map(|r| r.role_keys.keyids)
        .collect();
    if !allowed.contains(signer.key_id()) {
        return Err(RepoError::Invalid(format!(
            "key {} is not one of the keys of the {role} role; nothing was signed",
            signer.key_id()
        )));
    }
    Ok(())
}

/// Staged metadata of any role: root is a [`Root`], every other role [`Targets`].
enum AnyStaged {
    Root(StagedFile<Root>),
    Targets(StagedFile<Targets>),
}

impl AnyStaged {
    /// The staged metadata of `role`.
    fn load(project: &Project, role: &str) -> Result<AnyStaged, RepoError> {
        let staged = if role == "root" {
            project.staged::<Root>(role)?.map(AnyStaged::Root)
        } else {
            project.staged::<Targets>(role)?.map(AnyStaged::Targets)
        };
        staged.ok_or_else(|| RepoError::Invalid(format!("nothing is staged for the {role} role")))
    }

    fn save(&self, project: &Project, role: &str) -> Result<(), RepoError> {
        match self {
            AnyStaged::Root(s) => project.stage(role, s),
            AnyStaged::Targets(s) => project.stage(role, s),
        }
    }

    fn canonical(&self) -> Result<Vec<u8>, RepoError> {
        match self {
            AnyStaged::Root(s) => s.canonical(),
            AnyStaged::Targets(s) => s.canonical(),
        }
    }

    fn version(&self) -> u64 {
        match self {
            AnyStaged::Root(s) => s.signed.common.version,
            AnyStaged::Targets(s) => s.signed.common.version,
        }
    }

    fn sign(&mut self, signer: &dyn Signer) -> Result<Signature, RepoError> {
        match self {
            AnyStaged::Root(s) => s.sign(signer),
            AnyStaged::Targets(s) => s.sign(signer),
        }
    }

    fn add_signature(&mut self, signature: Signature) {
        match self {
            AnyStaged::Root(s) => s.add_signature(signature),
            AnyStaged::Targets(s) => s.add_signature(signature),
        }
    }
}

/// Signs the staged metadata of `role` in place with `signer`, which must be one of
/// the role's keys.
///
/// # Errors
/// [`RepoError::Invalid`] when nothing is staged or the key is not the role's.
pub fn sign(project: &Project, role: &str, signer: &dyn Signer) -> Result<(), RepoError> {
    authorised(project, role, signer)?;
    let mut staged = AnyStaged::load(project, role)?;
    staged.sign(signer)?;
    staged.save(project, role)
}

/// Signs the staged metadata of `role` without changing the repository, for a key
/// holder on another machine; merge the result with [`merge`].
///
/// # Errors
/// As [`sign`].
pub fn sign_detached(
    project: &Project,
    role: &str,
    signer: &dyn Signer,
) -> Result<DetachedSignature, RepoError> {
    authorised(project, role, signer)?;
    let staged = AnyStaged::load(project, role)?;
    let canonical = staged.canonical()?;
    let signature = signer.sign(&canonical)?;
    Ok(detached(
        role,
        &canonical,
        staged.version(),
        signer.key_id(),
        &signature,
    ))
}

/// A detached signature by `keyid` over `canonical`, the bytes of `role` version `version`.
fn detached(
    role: &str,
    canonical: &[u8],
    version: u64,
    keyid: &str,
    signature: &[u8],
) -> DetachedSignature {
    DetachedSignature {
        role: role.into(),
        version,
        signed_sha256: sha256_hex(canonical),
        signature: Signature {
            keyid: keyid.into(),
            sig: hex::encode(signature),
            unrecognized: Default::default(),
        },
    }
}

/// The canonical bytes of staged `role`: what an external signer (HSM, KMS) signs.
///
/// # Errors
/// When nothing is staged.
pub fn canonical(project: &Project, role: &str) -> Result<Vec<u8>, RepoError> {
    AnyStaged::load(project, role)?.canonical()
}

/// Wraps a raw signature made outside repo-tool (an HSM, a cloud KMS, `openssl
/// pkeyutl`) over the bytes [`canonical`] printed, for [`merge`], which verifies it.
///
/// # Errors
/// When nothing is staged for `role`.
pub fn external_signature(
    project: &Project,
    role: &str,
    keyid: &str,
    signature: &[u8],
) -> Result<DetachedSignature, RepoError> {
    let staged = AnyStaged::load(project, role)?;
    Ok(detached(
        role,
        &staged.canonical()?,
        staged.version(),
        keyid,
        signature,
    ))
}

/// Merges a detached signature after checking that it is over exactly the staged
/// content and valid for a key of the role.
///
/// # Errors
/// [`RepoError::Invalid`] when the signature is for other content, another version,
/// an unauthorised key, or does not verify.
pub fn merge(project: &Project, detached: &DetachedSignature) -> Result<(), RepoError> {
    let role = detached.role.as_str();
    let keys: BTreeMap<String, Key> = project
        .signing_requirements(role)?
        .into_iter()
        .flat_map(|r| {
            let keys = r.keys;
            r.role_keys
                .keyids
                .into_iter()
                .filter_map(move |id| keys.get(&id).map(|k| (id, k.clone())))
        })
        .collect();
    let check = |canonical: &[u8], version: u64| -> Result<(), RepoError> {
        if version != detached.version || sha256_hex(canonical) != detached.signed_sha256 {
            return Err(RepoError::Invalid(format!(
                "the signature is over other content than the staged {role} (version {version}); re-sign the current one"
            )));
        }
        let key = keys.get(&detached.signature.keyid).ok_or_else(|| {
            RepoError::Invalid(format!(
                "key {} is not one of the keys of the {role} role",
                detached.signature.keyid
            ))
        })?;
        let sig = hex::decode(&detached.signature.sig)
            .map_err(|_| RepoError::Invalid("signature is not hex".into()))?;
        let verifier = key
            .verifying_key()
            .map_err(|e| RepoError::Invalid(e.to_string()))?;
        if !verifier.verify(canonical, &sig) {
            return Err(RepoError::Invalid(format!(
                "the signature by key {} does not verify over the staged {role}",
                detached.signature.keyid
            )));
        }
        Ok(())
    };
    let mut staged = AnyStaged::load(project, role)?;
    check(&staged.canonical()?, staged.version())?;
    staged.add_signature(detached.signature.clone());
    staged.save(project, role)
}

/// Signatures a staged role has, against one requirement.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCount {
    /// Whose keys were counted.
    pub who: String,
    /// Distinct valid signatures.
    pub valid: u64,
    /// How many are needed.
    pub threshold: u64,
}

/// One line of [`status`].
#[derive(Debug, Clone, Serialize)]
pub struct RoleStatus {
    /// The role.
    pub role: String,
    /// Published version and expiry, if published.
    pub published: Option<(u64, String)>,
    /// Staged version, if staged.
    pub staged: Option<u64>,
    /// For staged roles: signatures present and needed, per requirement.
    pub signatures: Vec<SignatureCount>,
}

fn staged_status<T: Serialize + serde::de::DeserializeOwned + updater::metadata::SignedCommon>(
    project: &Project,
    role: &str,
) -> Result<(Option<u64>, Vec<SignatureCount>), RepoError> {
    let Some(staged) = project.staged::<T>(role)? else {
        return Ok((None, vec![]));
    };
    let mut sigs = Vec::new();
    for r in project.signing_requirements(role)? {
        let valid = match staged.check_threshold(role, &r.keys, &r.role_keys) {
            Ok(()) => r.role_keys.threshold,
            Err(updater::trust::TrustError::ThresholdNotMet { valid, .. }) => valid,
            Err(e) => return Err(RepoError::Invalid(e.to_string())),
        };
        sigs.push(SignatureCount {
            who: r.who,
            valid,
            threshold: r.role_keys.threshold,
        });
    }
    Ok((Some(staged.signed.common().version), sigs))
}

/// Version, expiry and signature state of every top-level role.
///
/// # Errors
/// IO or parse errors.
pub fn status(project: &Project) -> Result<Vec<RoleStatus>, RepoError> {
    let mut out = Vec::new();
    for role in TOP_LEVEL {
        let published = match role {
            "root" => project
                .published::<Root>(role)?
                .map(|e| crate::project::version_and_expiry(&e.signed)),
            "targets" => project
                .published::<Targets>(role)?
                .map(|e| crate::project::version_and_expiry(&e.signed)),
            "snapshot" => project
                .published::<Snapshot>(role)?
                .map(|e| crate::project::version_and_expiry(&e.signed)),
            _ => project
                .published::<Timestamp>(role)?
                .map(|e| crate::project::version_and_expiry(&e.signed)),
        };
        let (staged, signatures) = match role {
            "root" => staged_status::<Root>(project, role)?,
            "targets" => staged_status::<Targets>(project, role)?,
            _ => (None, vec![]),
        };
        out.push(RoleStatus {
            role: role.into(),
            published,
            staged,
            signatures,
        });
    }
    for role in project.staged_roles()? {
        if TOP_LEVEL.contains(&role.as_str()) {
            continue;
        }
        let published = project
            .published::<Targets>(&role)?
            .map(|e| crate::project::version_and_expiry(&e.signed));
        let (staged, signatures) = staged_status::<Targets>(project, &role)?;
        out.push(RoleStatus {
            role,
            published,
            staged,
            signatures,
        });
    }
    Ok(out)
}

/// The key id of `key`, once it is known to verify signatures (a key of an unknown
/// scheme, or one whose public part does not parse, is refused before any role
/// trusts it); `what` names it in the error ("a targets key", "the new root key").
///
/// # Errors
/// [`RepoError::Invalid`] saying why the key cannot be used.
pub fn usable_key_id(key: &Key, what: &str) -> Result<KeyId, RepoError> {
    key.verifying_key()
        .map_err(|e| RepoError::Invalid(format!("{what} cannot verify signatures: {e}")))?;
    key.key_id().map_err(|e| RepoError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escaping_target_paths() {
        for p in ["", "/abs", "a/../b", "./a", "a//b", "..", "a\\b"] {
            assert!(check_target_path(p).is_err(), "{p}");
        }
        check_target_path("dir/app-1.0.0.tar.gz").unwrap();
    }
}
