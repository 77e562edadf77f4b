//! Finding the release an installation should move to: through the application's
//! signed release index when the repository has one, by listing its directory
//! otherwise.
//!
//! With an index (`APP/releases.json`, see [`ReleaseIndex`]) a check costs the
//! metadata of the roles trusted for the index, the rollout policy and the releases
//! looked up, newest first until one qualifies: with hash bins, a few bins whatever
//! their number. Without one (repositories not written by repo-tool), the directory
//! is listed, which visits every role that may hold a path in it.

use std::path::Path;

use time::OffsetDateTime;

use crate::client::Client;
use crate::error::Error;
use crate::metadata::TargetFile;
use crate::release::{
    self, Exposure, InstallId, PassedOver, Query, Reason, ReleaseIndex, ReleaseInfo, RolloutPolicy,
    Selection, INDEX_FILE, ROLLOUT_FILE,
};

/// How many releases one check may look up through the index before it stops
/// (each lookup may fetch a role's metadata). Reached only when that many newer
/// releases in a row do not qualify (halted, or rollout waves that exclude this
/// installation).
pub const MAX_RELEASE_LOOKUPS: usize = 16;

/// What a check needs besides the client: the installation and the moment.
pub(super) struct Check<'a> {
    /// The installation's query.
    pub query: &'a Query<'a>,
    /// Its id, for rollout buckets.
    pub install: &'a InstallId,
    /// Now.
    pub now: OffsetDateTime,
    /// A directory for scratch space (the data directory): the index and the
    /// policy are verified into a temporary directory there, read, and removed.
    pub scratch: &'a Path,
}

/// Selects the release `check.query`'s installation should move to (see the module
/// docs for how releases are found).
///
/// # Errors
/// Refused metadata, transfer failures, [`Error::Rollout`] and
/// [`Error::ReleaseIndex`] for unusable signed files, [`Error::ListingIncomplete`]
/// when a repository without an index has too many roles to list.
pub(super) async fn select_release(
    client: &mut Client,
    check: &Check<'_>,
) -> Result<Selection, Error> {
    let app = check.query.app;
    let policy_path = format!("{app}/{ROLLOUT_FILE}");
    let policy = match verified_target(client, &policy_path, check.scratch).await? {
        Some(bytes) => {
            Some(
                RolloutPolicy::parse(&bytes, app).map_err(|reason| Error::Rollout {
                    path: policy_path.clone(),
                    reason,
                })?,
            )
        }
        None => None,
    };
    let index_path = format!("{app}/{INDEX_FILE}");
    let Some(bytes) = verified_target(client, &index_path, check.scratch).await? else {
        tracing::debug!(app, "no release index; listing the application's directory");
        let targets = client.targets_under(&format!("{app}/")).await?;
        return Ok(release::select(
            &targets,
            check.query,
            policy.as_ref(),
            check.install,
            check.now,
        ));
    };
    let index = ReleaseIndex::parse(&bytes, app).map_err(|reason| Error::ReleaseIndex {
        path: index_path,
        reason,
    })?;
    through_index(client, &index, policy.as_ref(), check).await
}

/// The selection among the releases the index names, each looked up and checked
/// against its own signed release object, newest first, stopping at the first
/// that qualifies (and the others of its version, so that ties break as `select`
/// breaks them).
///
/// # Errors
/// [`Error::ReleaseIndex`] when an entry looked up is not backed by a release that
/// says what the entry says: the index is then not trusted for anything.
async fn through_index(
    client: &mut Client,
    index: &ReleaseIndex,
    policy: Option<&RolloutPolicy>,
    check: &Check<'_>,
) -> Result<Selection, Error> {
    let (candidates, mut passed_over) = index.screen(check.query);
    let mut resolved: Vec<(String, TargetFile)> = Vec::new();
    let mut chosen = None;
    let mut lookups = 0;
    for entry in candidates {
        let passed = |reason| PassedOver {
            target_path: entry.target.clone(),
            version: Some(entry.version.clone()),
            reason,
        };
        if chosen.as_ref().is_some_and(|v| *v != entry.version) {
            passed_over.push(passed(Reason::Superseded));
            continue;
        }
        // A halt applies whatever the release object says (critical or not), so
        // it is decided here without a lookup: halted releases never use up the
        // lookup limit.
        if policy.is_some_and(|p| p.exposure(&entry.version, check.now) == Exposure::Halted) {
            passed_over.push(passed(Reason::Halted));
            continue;
        }
        if lookups == MAX_RELEASE_LOOKUPS {
            passed_over.push(passed(Reason::NotLookedUp));
            continue;
        }
        lookups += 1;
        // An entry that does not resolve to the release it describes means the index
        // and the releases were not published together, or someone who holds the
        // index's key wrote entries no release backs (for example to push the real
        // releases past the lookup limit). Either way the check fails loudly instead
        // of reporting "up to date".
        let refuse = |reason: String| Error::ReleaseIndex {
            path: format!("{}/{INDEX_FILE}", check.query.app),
            reason,
        };
        let target = match client.target_info(&entry.target).await {
            Ok(target) => target,
            Err(Error::TargetNotFound { .. }) => {
                return Err(refuse(format!(
                    "it lists {:?} ({}), but no role trusted for that path lists it",
                    entry.target, entry.version
                )))
            }
            Err(e) => return Err(e),
        };
        let disagreement = match ReleaseInfo::from_target(&entry.target, &target) {
            Ok(Some(info)) => entry.disagreement(&info),
            Ok(None) => Some(format!(
                "it lists {:?}, but that target has no release object",
                entry.target
            )),
            Err(e) => Some(format!(
                "it lists {:?}, whose release object is invalid: {}",
                entry.target, e.reason
            )),
        };
        if let Some(why) = disagreement {
            return Err(refuse(why));
        }
        let alone = [(entry.target.clone(), target)];
        let qualifies = release::select(&alone, check.query, policy, check.install, check.now)
            .release
            .is_some();
        if qualifies && chosen.is_none() {
            chosen = Some(entry.version.clone());
        }
        let [found] = alone;
        resolved.push(found);
    }
    if lookups == MAX_RELEASE_LOOKUPS && chosen.is_none() {
        tracing::warn!(
            app = check.query.app,
            max = MAX_RELEASE_LOOKUPS,
            "stopped looking up releases from the index at the limit"
        );
    }
    let mut selection = release::select(&resolved, check.query, policy, check.install, check.now);
    selection.passed_over.extend(passed_over);
    Ok(selection)
}

/// The verified bytes of the target `path`, or `None` when no role trusted for it
/// lists it. The file is verified into a temporary directory in `scratch`, read and
/// removed: nothing of it stays on disk.
async fn verified_target(
    client: &mut Client,
    path: &str,
    scratch: &Path,
) -> Result<Option<Vec<u8>>, Error> {
    let info = match client.target_info(path).await {
        Ok(info) => info,
        Err(Error::TargetNotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let dir = tempfile::Builder::new()
        .prefix(".verified-")
        .tempdir_in(scratch)
        .map_err(Error::storage("creating a temporary directory in", scratch))?;
    let file = client
        .download_target(path, &info, dir.path(), None)
        .await?;
    let bytes = std::fs::read(&file).map_err(Error::storage("reading", &file))?;
    Ok(Some(bytes))
}
