//! Application releases and staged rollouts, in the convention `updater::release`
//! reads: a release is a target `APP/VERSION/PLATFORM/FILE` carrying an `updater`
//! custom object; every release is also listed in the application's release index,
//! the target `APP/releases.json`, which clients read instead of walking every role
//! (see `updater::release::ReleaseIndex`); the rollout plan is the target
//! `APP/rollout.json`, best listed in a delegated role of its own with a short
//! expiry.

use semver::Version;
use time::OffsetDateTime;
use updater::metadata::{TargetFile, Targets};
use updater::release::{
    IndexEntry, ReleaseIndex, ReleaseInfo, ReleaseRollout, RolloutPolicy, INDEX_FILE, ROLLOUT_FILE,
};

use crate::error::RepoError;
use crate::ops::{add_targets, route, NewTarget};
use crate::project::Project;

/// The conventional target path of a release file.
pub fn release_path(info: &ReleaseInfo, file_name: &str) -> String {
    format!(
        "{}/{}/{}/{file_name}",
        info.app, info.version, info.platform
    )
}

/// The target path of an application's rollout policy.
pub fn rollout_path(app: &str) -> String {
    format!("{app}/{ROLLOUT_FILE}")
}

/// The target path of an application's release index.
pub fn index_path(app: &str) -> String {
    format!("{app}/{INDEX_FILE}")
}

/// One release for [`add_releases`]: its release object, its file name (the last
/// segment of its target path) and its content.
#[derive(Debug, Clone)]
pub struct NewRelease {
    /// The release object.
    pub info: ReleaseInfo,
    /// The file name, one path segment.
    pub file_name: String,
    /// The file's content.
    pub content: Vec<u8>,
}

/// Stages `content` as the release `info` (in the role the repository routes it to),
/// after checking the release object reads back exactly as clients will read it,
/// and lists it in the application's release index (staged in the role its path
/// routes to). Returns the target path.
///
/// # Errors
/// [`RepoError::Invalid`] for an unusable name, version or platform; IO errors.
pub fn add_release(
    project: &Project,
    info: &ReleaseInfo,
    file_name: &str,
    content: &[u8],
    now: OffsetDateTime,
) -> Result<String, RepoError> {
    let release = NewRelease {
        info: info.clone(),
        file_name: file_name.to_string(),
        content: content.to_vec(),
    };
    let mut paths = add_releases(project, std::slice::from_ref(&release), now)?;
    paths
        .pop()
        .ok_or_else(|| RepoError::Invalid("nothing was added".into()))
}

/// [`add_release`] for many releases at once, each application's index rewritten
/// once: all are checked before anything is staged. Returns the target paths, in
/// order.
///
/// # Errors
/// As [`add_release`], for the first release that cannot be added; nothing is
/// staged then.
pub fn add_releases(
    project: &Project,
    releases: &[NewRelease],
    now: OffsetDateTime,
) -> Result<Vec<String>, RepoError> {
    add_releases_with(project, releases, Vec::new(), now)
}

/// [`add_releases`], staging `extra` targets (the releases' deltas, see
/// [`crate::delta`]) in the same step.
///
/// # Errors
/// As [`add_releases`].
pub fn add_releases_with(
    project: &Project,
    releases: &[NewRelease],
    extra: Vec<NewTarget>,
    now: OffsetDateTime,
) -> Result<Vec<String>, RepoError> {
    let mut indexes: std::collections::BTreeMap<String, ReleaseIndex> = Default::default();
    let mut new = Vec::with_capacity(releases.len() + 1);
    let mut paths = Vec::with_capacity(releases.len());
    for NewRelease {
        info,
        file_name,
        content,
    } in releases
    {
        if file_name.is_empty() || file_name.contains('/') {
            return Err(RepoError::Invalid(format!(
                "release file name {file_name:?} must be one path segment"
            )));
        }
        if info.platform.is_empty() || info.platform.contains('/') || info.platform.starts_with('.')
        {
            return Err(RepoError::Invalid(format!(
                "platform {:?} must be one path segment, a target triple such as x86_64-unknown-linux-gnu",
                info.platform
            )));
        }
        let path = release_path(info, file_name);
        if paths.contains(&path) {
            return Err(RepoError::Invalid(format!(
                "release {path:?} is given twice; give each release once"
            )));
        }
        let target = crate::ops::target_file(content, Some(info.to_custom()));
        let read_back = ReleaseInfo::from_target(&path, &target)
            .map_err(|e| RepoError::Invalid(e.to_string()))?;
        if read_back.as_ref() != Some(info) {
            return Err(RepoError::Invalid(format!(
                "release {path:?} would read back as {read_back:?}, not as given; this is a bug in repo-tool"
            )));
        }
        let index = match indexes.entry(info.app.clone()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(current_index(project, &info.app)?)
            }
        };
        index.upsert(IndexEntry::of(&path, info));
        new.push(NewTarget {
            path: path.clone(),
            content: content.clone(),
            custom: target.custom.map(|custom| *custom),
        });
        paths.push(path);
    }
    for (app, index) in &indexes {
        new.push(NewTarget {
            path: index_path(app),
            content: encode_index(index)?,
            custom: None,
        });
    }
    new.extend(extra);
    add_targets(project, new, None, now)?;
    Ok(paths)
}

/// Removes the release at target path `path` from the role that lists it and from
/// its application's release index.
///
/// # Errors
/// [`RepoError::Invalid`] when no such target is listed; IO errors.
pub fn remove_release(project: &Project, path: &str, now: OffsetDateTime) -> Result<(), RepoError> {
    crate::ops::remove_target(project, path, now)?;
    let app = path.split('/').next().unwrap_or_default();
    let mut index = current_index(project, app)?;
    let before = index.releases.len();
    index.releases.retain(|e| e.target != path);
    if index.releases.len() != before {
        add_targets(
            project,
            vec![NewTarget {
                path: index_path(app),
                content: encode_index(&index)?,
                custom: None,
            }],
            None,
            now,
        )?;
    }
    Ok(())
}

fn encode_index(index: &ReleaseIndex) -> Result<Vec<u8>, RepoError> {
    let mut bytes = serde_json::to_vec_pretty(index)
        .map_err(|e| RepoError::Invalid(format!("encoding the release index: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The release index of `app` as the repository currently lists it (staged or
/// published), or an empty one.
///
/// # Errors
/// IO errors; [`RepoError::Invalid`] when the stored index is not valid.
pub fn current_index(project: &Project, app: &str) -> Result<ReleaseIndex, RepoError> {
    let path = index_path(app);
    let role = route(project, &path)?;
    match listed_file(project, &role, &path)? {
        Some((file, bytes)) => ReleaseIndex::parse(&bytes, app)
            .map_err(|e| RepoError::Invalid(format!("{}: {e}", file.display()))),
        None => Ok(ReleaseIndex {
            app: app.into(),
            releases: Vec::new(),
        }),
    }
}

/// The target `path` as the role it routes to currently lists it (staged or
/// published): its description and its stored content, checked against that
/// description; `None` when it is not listed.
///
/// # Errors
/// IO errors; [`RepoError::Invalid`] when the stored file is not what the role lists.
pub fn listed_target(
    project: &Project,
    path: &str,
) -> Result<Option<(TargetFile, Vec<u8>)>, RepoError> {
    let role = route(project, path)?;
    Ok(listed_entry(project, &role, path)?.map(|(_, entry, bytes)| (entry, bytes)))
}

/// The stored content of the target `path` as `role` currently lists it, with the
/// file it was read from; `None` when `role` does not list it.
fn listed_file(
    project: &Project,
    role: &str,
    path: &str,
) -> Result<Option<(std::path::PathBuf, Vec<u8>)>, RepoError> {
    Ok(listed_entry(project, role, path)?.map(|(file, _, bytes)| (file, bytes)))
}

fn listed_entry(
    project: &Project,
    role: &str,
    path: &str,
) -> Result<Option<(std::path::PathBuf, TargetFile, Vec<u8>)>, RepoError> {
    let Some(entry) = listed_in(project, role)?.and_then(|t| t.targets.get(path).cloned()) else {
        return Ok(None);
    };
    let hash = entry
        .hashes
        .get("sha256")
        .ok_or_else(|| RepoError::Invalid(format!("{path} in {role} has no sha256 hash")))?;
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let file = project
        .targets_dir()
        .join(dir)
        .join(format!("{hash}.{name}"));
    let bytes = std::fs::read(&file).map_err(|source| RepoError::Io {
        path: file.display().to_string(),
        source,
    })?;
    // The file is reused to write the next version: it must be what the role lists,
    // not whatever is on disk under that name.
    updater::integrity::IntegrityCheck::check_bytes(
        &bytes,
        Some(entry.length),
        Some(&entry.hashes),
    )
    .map_err(|e| {
        RepoError::Invalid(format!(
            "{} is not the {path} that {role} lists ({e}); restore it from the release files",
            file.display()
        ))
    })?;
    Ok(Some((file, entry, bytes)))
}

/// Refuses to stage `path` as a plain target (`repo-tool add`) when it belongs to
/// the release flow: an application's release index, a release the index lists,
/// or a target carrying a release object (`custom` with an `updater` key). Those
/// go through [`add_release`] and [`remove_release`], which keep the index and
/// the releases in agreement; clients refuse an index that disagrees.
///
/// # Errors
/// [`RepoError::Invalid`] saying which command to use; IO errors.
pub fn check_plain_target(
    project: &Project,
    path: &str,
    custom: Option<&serde_json::Value>,
) -> Result<(), RepoError> {
    check_plain_targets(project, [(path, custom)])
}

/// [`check_plain_target`] for many targets, reading each application's index once.
///
/// # Errors
/// As [`check_plain_target`], for the first target refused.
pub fn check_plain_targets<'a>(
    project: &Project,
    targets: impl IntoIterator<Item = (&'a str, Option<&'a serde_json::Value>)>,
) -> Result<(), RepoError> {
    let mut indexes: std::collections::BTreeMap<String, ReleaseIndex> = Default::default();
    for (path, custom) in targets {
        if custom
            .and_then(|c| c.get(updater::release::CUSTOM_KEY))
            .is_some()
        {
            return Err(RepoError::Invalid(format!(
                "{path}: a target with an \"{}\" release object is a release; stage it with `repo-tool release`, which also lists it in the release index",
                updater::release::CUSTOM_KEY
            )));
        }
        let app = path.split('/').next().unwrap_or_default();
        if path == index_path(app) {
            return Err(RepoError::Invalid(format!(
                "{path} is the release index of {app}; `repo-tool release` and `repo-tool remove` keep it"
            )));
        }
        let index = match indexes.entry(app.to_string()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(current_index(project, app)?),
        };
        if index.releases.iter().any(|e| e.target == path) {
            return Err(RepoError::Invalid(format!(
                "{path} is a release of {app}; replace it with `repo-tool release` or remove it with `repo-tool remove`"
            )));
        }
    }
    Ok(())
}

fn listed_in(project: &Project, role: &str) -> Result<Option<Targets>, RepoError> {
    if let Some(staged) = project.staged::<Targets>(role)? {
        return Ok(Some(staged.signed));
    }
    Ok(project.published::<Targets>(role)?.map(|p| p.signed))
}

/// The rollout policy of `app` as `role` currently lists it (staged or published),
/// or an empty one.
///
/// # Errors
/// IO errors; [`RepoError::Invalid`] when the stored policy is not valid.
pub fn current_rollout(
    project: &Project,
    role: &str,
    app: &str,
) -> Result<RolloutPolicy, RepoError> {
    let path = rollout_path(app);
    match listed_file(project, role, &path)? {
        Some((file, bytes)) => RolloutPolicy::parse(&bytes, app)
            .map_err(|e| RepoError::Invalid(format!("{}: {e}", file.display()))),
        None => Ok(RolloutPolicy {
            app: app.into(),
            releases: Default::default(),
        }),
    }
}

/// Sets the plan of one release in `app`'s rollout policy (listed in `role`) and
/// stages the new policy; publish to make it reach clients.
///
/// # Errors
/// [`RepoError::Invalid`] for a percentage outside 0..=100 or a role targets does
/// not delegate to; IO errors.
pub fn set_rollout(
    project: &Project,
    role: &str,
    app: &str,
    version: &Version,
    plan: ReleaseRollout,
    now: OffsetDateTime,
) -> Result<RolloutPolicy, RepoError> {
    let mut policy = current_rollout(project, role, app)?;
    policy.releases.insert(version.clone(), plan);
    let bytes = serde_json::to_vec_pretty(&policy)
        .map_err(|e| RepoError::Invalid(format!("encoding the rollout policy: {e}")))?;
    RolloutPolicy::parse(&bytes, app).map_err(RepoError::Invalid)?;
    add_targets(
        project,
        vec![NewTarget {
            path: rollout_path(app),
            content: bytes,
            custom: None,
        }],
        Some(role),
        now,
    )?;
    Ok(policy)
}
