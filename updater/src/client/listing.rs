//! Listing the targets inside a directory of the repository, each with the
//! description the normal delegation search trusts for it.

use std::collections::{BTreeSet, HashSet};

use super::{Client, ROOT_DELEGATOR};
use crate::error::Error;
use crate::metadata::{RoleType, RolesUnder, TargetFile};

impl Client {
    /// Every target whose path starts with the directory `prefix` (which must end in
    /// `/`, for example `"my-app/"`), with its trusted description.
    ///
    /// Walks the delegation graph from top-level targets in the search order
    /// (pre-order, depth first), entering only roles that may be trusted for paths
    /// under `prefix`, and visiting at most `limits.max_delegations` roles. Each path
    /// found is then resolved again with [`Client::target_info`], so the description
    /// returned is the one the specification's search order makes authoritative: a
    /// role that lists a path it is not delegated, or that a higher-priority role
    /// shadows, cannot inject a target. Refreshes first if that has not been done.
    ///
    /// A listing is complete or refused: when more roles would have to be visited
    /// than the limit allows (hash bins hold any path, so listing a directory of a
    /// hash-binned repository walks every bin), it fails with
    /// [`Error::ListingIncomplete`] instead of returning what it saw. To find an
    /// application's releases in such a repository, the `Updater` reads its release
    /// index ([`crate::release::ReleaseIndex`]) instead of listing.
    ///
    /// # Errors
    /// [`Error::Config`] for a prefix without a trailing `/`;
    /// [`Error::ListingIncomplete`] at the limit; the failure of loading a role on
    /// the way otherwise.
    pub async fn targets_under(
        &mut self,
        prefix: &str,
    ) -> Result<Vec<(String, TargetFile)>, Error> {
        if !prefix.ends_with('/') || prefix.starts_with('/') {
            return Err(Error::Config(format!(
                "target directory {prefix:?} must be relative and end in '/'"
            )));
        }
        self.refresh().await?;
        let limit = self.config.limits.max_delegations;
        let mut found = BTreeSet::new();
        let mut visited: HashSet<String> = HashSet::new();
        // Each frame: a delegator and the roles it delegates to not yet visited. The
        // roles are named as they are reached, so a delegation to many bins costs
        // only the bins visited.
        let top = RolesUnder::Named(vec![RoleType::Targets.as_str().to_string()].into_iter());
        let mut stack: Vec<(String, RolesUnder)> = vec![(ROOT_DELEGATOR.to_string(), top)];
        while let Some((delegator, children)) = stack.last_mut() {
            let Some(role) = children.next() else {
                stack.pop();
                continue;
            };
            if visited.contains(&role) {
                continue;
            }
            if visited.len() >= limit {
                return Err(Error::ListingIncomplete {
                    prefix: prefix.to_string(),
                    limit,
                });
            }
            let delegator = delegator.clone();
            visited.insert(role.clone());
            self.load_targets(&role, &delegator).await?;
            let Some(targets) = self.trusted.targets(&role) else {
                continue;
            };
            found.extend(
                targets
                    .targets
                    .keys()
                    .filter(|path| path.starts_with(prefix))
                    .cloned(),
            );
            if let Some(delegations) = &targets.delegations {
                stack.push((role, delegations.roles_under(prefix)));
            }
        }
        let mut listed = Vec::with_capacity(found.len());
        for path in found {
            match self.target_info(&path).await {
                Ok(info) => listed.push((path, info)),
                Err(Error::TargetNotFound { .. }) => {
                    tracing::debug!(path, "listed by a role that is not trusted for it; ignored")
                }
                Err(e) => return Err(e),
            }
        }
        Ok(listed)
    }
}
