//! Delegations from the top-level targets role: path-scoped roles (patterns or path
//! hash prefixes) and succinct hash-bin delegations (TAP 15), which spread many
//! targets over `2^bits` small roles so that one new target rewrites one small bin.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use updater::metadata::{DelegatedRole, Delegations, Key, SuccinctRoles};

use crate::error::RepoError;
use crate::ops::targets_for_change;
use crate::project::Project;

/// What to delegate.
#[derive(Debug, Clone)]
pub enum Delegation {
    /// One named role trusted for target paths matching `paths` (or hash prefixes).
    Role {
        /// The role name.
        name: String,
        /// Shell-style path patterns (`*` and `?` do not match `/`).
        paths: Vec<String>,
        /// Hex prefixes of SHA-256(target path), instead of `paths`.
        path_hash_prefixes: Vec<String>,
        /// Stop the client's search here even when the target is not found below.
        terminating: bool,
    },
    /// `2^bits` hash bins named `{prefix}-{hex}` sharing one set of keys.
    HashBins {
        /// Leading bits of SHA-256(target path) that select the bin, 1..=16 here.
        bits: u32,
        /// Name prefix of the bins.
        prefix: String,
    },
}

/// Adds `delegation` with `keys` and `threshold` to the staged top-level targets and
/// stages an empty version 1 of every new role, ready for targets and signatures.
/// Returns the names of the roles created.
///
/// # Errors
/// [`RepoError::Invalid`] for reserved or duplicate names, a threshold that cannot be
/// be met, mixing hash bins with named roles, or an empty path scope. Nothing is
/// written then.
pub fn delegate(
    project: &Project,
    delegation: &Delegation,
    keys: &[Key],
    threshold: u64,
    now: OffsetDateTime,
) -> Result<Vec<String>, RepoError> {
    let mut ids = Vec::new();
    let mut key_map = BTreeMap::new();
    for key in keys {
        let id = crate::ops::usable_key_id(key, "a delegated key")?;
        if ids.contains(&id) {
            return Err(RepoError::Invalid(format!("key {id} is listed twice")));
        }
        key_map.insert(id.clone(), key.clone());
        ids.push(id);
    }
    if threshold == 0 || threshold > ids.len() as u64 {
        return Err(RepoError::Invalid(format!(
            "threshold {threshold} cannot be met by {} key(s)",
            ids.len()
        )));
    }
    let mut targets = targets_for_change(project, "targets", now)?;
    let existing = targets.signed.delegations.take();
    let mut delegations = existing.unwrap_or(Delegations {
        keys: BTreeMap::new(),
        roles: None,
        succinct_roles: None,
        unrecognized: Default::default(),
    });
    let created = match delegation {
        Delegation::Role {
            name,
            paths,
            path_hash_prefixes,
            terminating,
        } => {
            check_role_name(name)?;
            if delegations.succinct_roles.is_some() {
                return Err(RepoError::Invalid("targets already delegates to hash bins; it cannot also delegate to named roles".into()));
            }
            if paths.is_empty() == path_hash_prefixes.is_empty() {
                return Err(RepoError::Invalid(
                    "give either --path patterns or --path-hash-prefix values".into(),
                ));
            }
            let roles = delegations.roles.get_or_insert_with(Vec::new);
            if let Some(same) = roles
                .iter()
                .find(|r| r.name.to_lowercase() == name.to_lowercase())
            {
                return Err(RepoError::Invalid(format!(
                    "targets already delegates to {:?}; {name:?} would share its metadata file on case-insensitive file systems (macOS, Windows): choose another name",
                    same.name
                )));
            }
            roles.push(DelegatedRole {
                name: name.clone(),
                keyids: ids,
                threshold,
                terminating: *terminating,
                paths: (!paths.is_empty()).then(|| paths.clone()),
                path_hash_prefixes: (!path_hash_prefixes.is_empty())
                    .then(|| path_hash_prefixes.clone()),
                unrecognized: Default::default(),
            });
            vec![name.clone()]
        }
        Delegation::HashBins { bits, prefix } => {
            if !(1..=16).contains(bits) {
                return Err(RepoError::Invalid(format!(
                    "--hash-bins {bits}: use 1 to 16 bits (2 to 65,536 bins)"
                )));
            }
            check_role_name(prefix).map_err(|e| {
                RepoError::Invalid(format!("{prefix:?} cannot prefix bin names: {e}"))
            })?;
            if delegations.roles.as_ref().is_some_and(|r| !r.is_empty())
                || delegations.succinct_roles.is_some()
            {
                return Err(RepoError::Invalid(
                    "targets already has delegations; hash bins must be the only ones".into(),
                ));
            }
            delegations.roles = None;
            let bins = SuccinctRoles {
                keyids: ids,
                threshold,
                bit_length: *bits,
                name_prefix: prefix.clone(),
                unrecognized: Default::default(),
            };
            let names = (0..bins.bin_count()).map(|b| bins.bin_name(b)).collect();
            delegations.succinct_roles = Some(bins);
            names
        }
    };
    delegations.keys.extend(key_map);
    targets.signed.delegations = Some(delegations);
    targets.signatures.clear();
    project.stage("targets", &targets)?;
    for role in &created {
        let empty = targets_for_change(project, role, now)?;
        project.stage(role, &empty)?;
    }
    Ok(created)
}

/// Refuses a delegated role name that a client on some platform would store over
/// another file: a top-level role's name in any letter case (`Root` is `root.json` on
/// macOS and Windows), or a name that is not one portable file name (its metadata is
/// published as `VERSION.NAME.json`, so `/`, `\\` or `NUL` would leave or break the
/// metadata directory).
///
/// # Errors
/// [`RepoError::Invalid`] saying why.
pub fn check_role_name(name: &str) -> Result<(), RepoError> {
    if updater::metadata::is_top_level_name(name) {
        return Err(RepoError::Invalid(format!(
            "{name:?} cannot name a delegated role: it is a top-level role's name in some letter case, and would overwrite that role's file on case-insensitive file systems"
        )));
    }
    updater::names::check_file_name(name).map_err(|problem| {
        RepoError::Invalid(format!(
            "{name:?} cannot name a delegated role: {problem}; its metadata is published as VERSION.NAME.json"
        ))
    })
}
