//! Key rotation: stage root N+1 with keys added to or removed from a role, or its
//! threshold changed. The new root must then be signed by a threshold of the previous
//! root's keys *and* of its own (spec 5.3.4), which `sign` and `publish` enforce, so
//! clients walk the chain from any root they trust.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use updater::metadata::{Key, Root};

use crate::error::RepoError;
use crate::project::{Project, StagedFile};

/// A change to one top-level role's keys.
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    /// The role: root, targets, snapshot or timestamp.
    pub role: String,
    /// Keys to add.
    pub add: Vec<Key>,
    /// Key ids to remove.
    pub remove: Vec<String>,
    /// The new threshold, if it changes.
    pub threshold: Option<u64>,
}

/// Stages a root with `rotation` applied: the staged root if there is one, else the
/// published root with its version bumped. Previous signatures are dropped.
///
/// # Errors
/// [`RepoError::Invalid`] for an unknown role, removing a key the role does not have,
/// adding one it has, or a threshold outside 1..=number of keys. Nothing is written then.
pub fn rotate(
    project: &Project,
    rotation: &Rotation,
    now: OffsetDateTime,
) -> Result<Root, RepoError> {
    let mut root = match project.staged::<Root>("root")? {
        Some(staged) => staged.signed,
        None => {
            let mut root = project
                .published::<Root>("root")?
                .ok_or_else(|| {
                    RepoError::Invalid(
                        "nothing is published yet: rotate keys with `init` instead".into(),
                    )
                })?
                .signed;
            root.common.version += 1;
            root
        }
    };
    root.common.expires = project.settings.expiry("root", now);
    let role = rotation.role.as_str();
    let role_keys = root.roles.get_mut(role).ok_or_else(|| {
        RepoError::Invalid(format!(
            "{role:?} is not a top-level role (root, targets, snapshot, timestamp)"
        ))
    })?;
    for id in &rotation.remove {
        let before = role_keys.keyids.len();
        role_keys.keyids.retain(|k| k != id);
        if role_keys.keyids.len() == before {
            return Err(RepoError::Invalid(format!(
                "the {role} role has no key {id}"
            )));
        }
    }
    for key in &rotation.add {
        let id = crate::ops::usable_key_id(key, &format!("the new {role} key"))?;
        if role_keys.keyids.contains(&id) {
            return Err(RepoError::Invalid(format!(
                "the {role} role already has key {id}"
            )));
        }
        role_keys.keyids.push(id.clone());
        root.keys.insert(id, key.clone());
    }
    if let Some(threshold) = rotation.threshold {
        role_keys.threshold = threshold;
    }
    let count = role_keys.keyids.len() as u64;
    if role_keys.threshold == 0 || role_keys.threshold > count {
        return Err(RepoError::Invalid(format!(
            "the {role} threshold {} cannot be met by {count} key(s)",
            role_keys.threshold
        )));
    }
    // Keys no role uses any more are dropped from the root.
    let used: BTreeSet<String> = root
        .roles
        .values()
        .flat_map(|r| r.keyids.iter().cloned())
        .collect();
    root.keys.retain(|id, _| used.contains(id));
    project.stage(
        "root",
        &StagedFile {
            signed: root.clone(),
            signatures: vec![],
        },
    )?;
    Ok(root)
}
