//! Application releases and staged rollouts, in the convention `updater::release`
//! reads: a release is a target `APP/VERSION/PLATFORM/FILE` carrying an `updater`
//! custom object; the rollout plan is the target `APP/rollout.json`, best listed in a
//! delegated role of its own with a short expiry.

use semver::Version;
use time::OffsetDateTime;
use updater::metadata::Targets;
use updater::release::{ReleaseInfo, ReleaseRollout, RolloutPolicy, ROLLOUT_FILE};

use crate::ops::{add_targets, NewTarget};
use crate::project::Project;
use crate::repository::RepoError;

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

/// Stages `content` as the release `info` (in the role the repository routes it to),
/// after checking the release object reads back exactly as clients will read it.
/// Returns the target path.
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
    if file_name.is_empty() || file_name.contains('/') {
        return Err(RepoError::Invalid(format!(
            "release file name {file_name:?} must be one path segment"
        )));
    }
    if info.platform.is_empty() || info.platform.contains('/') || info.platform.starts_with('.') {
        return Err(RepoError::Invalid(format!(
            "platform {:?} must be one path segment, a target triple such as x86_64-unknown-linux-gnu",
            info.platform
        )));
    }
    let path = release_path(info, file_name);
    let target = crate::ops::target_file(content, Some(info.to_custom()));
    ReleaseInfo::from_target(&path, &target).map_err(|e| RepoError::Invalid(e.to_string()))?;
    add_targets(
        project,
        vec![NewTarget {
            path: path.clone(),
            content: content.to_vec(),
            custom: target.custom.map(|custom| *custom),
        }],
        None,
        now,
    )?;
    Ok(path)
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
    let Some(entry) = listed_in(project, role)?.and_then(|t| t.targets.get(&path).cloned()) else {
        return Ok(RolloutPolicy {
            app: app.into(),
            releases: Default::default(),
        });
    };
    let hash = entry
        .hashes
        .get("sha256")
        .ok_or_else(|| RepoError::Invalid(format!("{path} in {role} has no sha256 hash")))?;
    let file = project
        .targets_dir()
        .join(app)
        .join(format!("{hash}.{ROLLOUT_FILE}"));
    let bytes = std::fs::read(&file).map_err(|source| RepoError::Io {
        path: file.display().to_string(),
        source,
    })?;
    RolloutPolicy::parse(&bytes, app)
        .map_err(|e| RepoError::Invalid(format!("{}: {e}", file.display())))
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
