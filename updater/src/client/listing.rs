//! Listing the targets inside a directory of the repository, each with the
//! description the normal delegation search trusts for it.

use std::collections::{BTreeSet, HashSet};

use super::{Client, ROOT_DELEGATOR};
use crate::error::Error;
use crate::metadata::{RoleType, TargetFile};

impl Client {
    /// Every target whose path starts with the directory `prefix` (which must end in
    /// `/`, for example `"my-app/"`), with its trusted description.
    ///
    /// Walks the delegation graph from top-level targets, entering only roles that
    /// may be trusted for paths under `prefix` and visiting at most
    /// `limits.max_delegations` roles. Each path found is then resolved again with
    /// [`Client::target_info`], so the description returned is the one the
    /// specification's search order makes authoritative: a role that lists a path
    /// it is not delegated, or that a higher-priority role shadows, cannot inject a
    /// target. Refreshes first if that has not been done.
    ///
    /// # Errors
    /// [`Error::Config`] for a prefix without a trailing `/`; the failure of loading
    /// a role on the way otherwise.
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
        let mut found = BTreeSet::new();
        let mut to_visit = vec![(
            RoleType::Targets.as_str().to_string(),
            ROOT_DELEGATOR.to_string(),
        )];
        let mut visited: HashSet<String> = HashSet::new();
        while let Some((role, delegator)) = to_visit.pop() {
            if visited.len() >= self.config.limits.max_delegations {
                tracing::warn!(
                    prefix,
                    max = self.config.limits.max_delegations,
                    "stopped listing at the limit of roles to visit"
                );
                break;
            }
            if !visited.insert(role.clone()) {
                continue;
            }
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
                let children = delegations.roles_under(prefix);
                to_visit.extend(children.into_iter().rev().map(|c| (c, role.clone())));
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
