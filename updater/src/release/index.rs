//! The release index: which releases an application has, in one signed file.
//!
//! Listing an application's directory walks every role that may list a path in it,
//! and hash-bin delegations put any path in any bin: with 16,384 bins that is 16,384
//! fetches. The target `APP/releases.json` (maintained by `repo-tool release`) lists
//! each release's target path with the facts needed to order and filter releases,
//! so a client looks up only the releases it may move to, newest first, and finds
//! the next release with a handful of fetches whatever the delegation layout:
//!
//! ```json
//! {
//!   "app": "my-app",
//!   "releases": [
//!     { "target": "my-app/2.1.0/x86_64-unknown-linux-gnu/my-app",
//!       "version": "2.1.0", "platform": "x86_64-unknown-linux-gnu", "channels": ["stable"] }
//!   ]
//! }
//! ```
//!
//! The index is a target like any other: its length and hashes are signed by the role
//! the delegation search trusts for its path, and it is verified before a byte of it
//! is parsed. It is a guide, not an authority: every release it names is then looked
//! up through the normal delegation search, and its own signed `updater` object must
//! say what the index says (version, platform, channels); an entry that does not
//! resolve, or says something else, fails the check with [`crate::Error::ReleaseIndex`]
//! (entries no release backs could otherwise push real releases past the lookup
//! limit, and a silent "up to date" is a freeze). So the index can neither add a
//! release nor change one; a holder of the key that signs it can at most hide
//! releases by leaving them out, as a holder of the releases' own role can. In the
//! layouts `repo-tool` writes, one role (or one bins key) signs both.

use semver::Version;
use serde::{Deserialize, Serialize};

use super::{PassedOver, Query, Reason, ReleaseInfo};

/// The file name, inside the application's directory, of its release index.
pub const INDEX_FILE: &str = "releases.json";

/// The content of `APP/releases.json` (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseIndex {
    /// The application the index is for.
    pub app: String,
    /// Every release, in any order.
    #[serde(default)]
    pub releases: Vec<IndexEntry>,
}

/// One release in the index: where it is and what its signed release object says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// The release's target path.
    pub target: String,
    /// Its version.
    pub version: Version,
    /// Its platform.
    pub platform: String,
    /// Its channels, as its release object lists them (empty: the default channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

impl IndexEntry {
    /// The entry describing the release `info` at `target`.
    pub fn of(target: &str, info: &ReleaseInfo) -> IndexEntry {
        IndexEntry {
            target: target.to_string(),
            version: info.version.clone(),
            platform: info.platform.clone(),
            channels: info.channels.clone(),
        }
    }

    /// `None` when the release's signed release object says what this entry says;
    /// otherwise what differs, for the reason the release is passed over.
    pub fn disagreement(&self, info: &ReleaseInfo) -> Option<String> {
        let listed = IndexEntry::of(&self.target, info);
        let same = listed.version == self.version
            && listed.platform == self.platform
            && channel_set(&listed.channels) == channel_set(&self.channels);
        (!same).then(|| {
            format!(
                "the release index lists {} {} for {:?} in channels {:?}, its signed metadata says {} {} in channels {:?}",
                self.version, self.platform, self.target, self.channels,
                listed.version, listed.platform, listed.channels
            )
        })
    }
}

/// The channels a release is published to, as a set: an empty list means the
/// default channel, and order and repetition mean nothing.
fn channel_set(channels: &[String]) -> std::collections::BTreeSet<&str> {
    if channels.is_empty() {
        [super::DEFAULT_CHANNEL].into()
    } else {
        channels.iter().map(String::as_str).collect()
    }
}

impl ReleaseIndex {
    /// Parses the index of `app`.
    ///
    /// # Errors
    /// What is wrong: not JSON of this shape, for another application, an entry
    /// outside `app/`, or a target listed twice.
    pub fn parse(bytes: &[u8], app: &str) -> Result<ReleaseIndex, String> {
        let index: ReleaseIndex = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if index.app != app {
            return Err(format!("the index is for {:?}, not {app:?}", index.app));
        }
        let mut targets = std::collections::HashSet::new();
        for entry in &index.releases {
            if !entry.target.starts_with(&format!("{app}/")) {
                return Err(format!("{:?} is outside {app}/", entry.target));
            }
            if let Some(why) = super::unrequestable(&entry.target) {
                return Err(why);
            }
            if !targets.insert(entry.target.as_str()) {
                return Err(format!("{:?} is listed twice", entry.target));
            }
        }
        Ok(index)
    }

    /// Adds `entry`, replacing an entry for the same target; keeps the entries in a
    /// stable order (by target path), so that writing the index is reproducible.
    pub fn upsert(&mut self, entry: IndexEntry) {
        self.releases.retain(|e| e.target != entry.target);
        self.releases.push(entry);
        self.releases.sort_by(|a, b| a.target.cmp(&b.target));
    }

    /// Screens the entries on the index's word alone, as [`super::select`] would
    /// (application, platform, channel, pin, and the version against the running
    /// one unless downgrades are allowed): the entries `query` may move to, in the
    /// order they should be looked up (the order of preference of `select`: any
    /// upgrade before any downgrade, higher versions first, ties by target path), and
    /// the others with the reason they were passed over.
    pub fn screen<'a>(&'a self, query: &Query<'_>) -> (Vec<&'a IndexEntry>, Vec<PassedOver>) {
        let mut candidates = Vec::new();
        let mut passed_over = Vec::new();
        for entry in &self.releases {
            match self.refusal(entry, query) {
                None => candidates.push(entry),
                Some(reason) => passed_over.push(PassedOver {
                    target_path: entry.target.clone(),
                    version: Some(entry.version.clone()),
                    reason,
                }),
            }
        }
        let current = query.current;
        candidates.sort_by(|a, b| {
            let (ua, ub) = (a.version > *current, b.version > *current);
            ub.cmp(&ua)
                .then_with(|| b.version.cmp(&a.version))
                .then_with(|| a.target.cmp(&b.target))
        });
        (candidates, passed_over)
    }

    /// The entries `query` may move to, in lookup order (see [`ReleaseIndex::screen`]).
    pub fn candidates<'a>(&'a self, query: &Query<'_>) -> Vec<&'a IndexEntry> {
        self.screen(query).0
    }

    fn refusal(&self, entry: &IndexEntry, query: &Query<'_>) -> Option<Reason> {
        let in_channel = super::lists_channel(&entry.channels, query.channel);
        if self.app != query.app {
            Some(Reason::OtherApp)
        } else if entry.platform != query.platform {
            Some(Reason::OtherPlatform)
        } else if !in_channel {
            Some(Reason::OtherChannel)
        } else if query.pin.is_some_and(|pin| *pin != entry.version) {
            Some(Reason::NotPinned)
        } else if entry.version == *query.current {
            Some(Reason::Current)
        } else if entry.version < *query.current && !query.allow_downgrade {
            Some(Reason::Downgrade)
        } else if entry.version < *query.current
            && query.highest_installed.is_some_and(|h| entry.version < *h)
            && !query.allow_below_highest
        {
            Some(Reason::BelowHighestInstalled)
        } else if query.rolled_back.contains(&entry.version) {
            Some(Reason::RolledBackBefore)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str, platform: &str, channels: &[&str]) -> IndexEntry {
        IndexEntry {
            target: format!("app/{version}/{platform}/app"),
            version: Version::parse(version).unwrap(),
            platform: platform.into(),
            channels: channels.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn query(current: &Version) -> Query<'_> {
        Query {
            app: "app",
            current,
            channel: "stable",
            platform: "linux",
            highest_installed: None,
            rolled_back: &[],
            allow_downgrade: false,
            allow_below_highest: false,
            pin: None,
        }
    }

    #[test]
    fn candidates_are_filtered_and_ordered_as_select_prefers() {
        let index = ReleaseIndex {
            app: "app".into(),
            releases: vec![
                entry("1.1.0", "linux", &[]),
                entry("2.0.0", "linux", &["beta"]),
                entry("1.3.0", "linux", &["stable", "beta"]),
                entry("1.9.0", "mac", &[]),
                entry("1.0.0", "linux", &[]),
                entry("0.9.0", "linux", &[]),
            ],
        };
        let current = Version::parse("1.0.0").unwrap();
        let versions = |q: &Query<'_>| -> Vec<String> {
            index
                .candidates(q)
                .iter()
                .map(|e| e.version.to_string())
                .collect()
        };
        assert_eq!(versions(&query(&current)), ["1.3.0", "1.1.0"]);
        let (_, passed) = index.screen(&query(&current));
        let reasons: Vec<(String, Reason)> = passed
            .into_iter()
            .map(|p| (p.version.unwrap().to_string(), p.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("2.0.0".to_string(), Reason::OtherChannel),
                ("1.9.0".to_string(), Reason::OtherPlatform),
                ("1.0.0".to_string(), Reason::Current),
                ("0.9.0".to_string(), Reason::Downgrade),
            ]
        );
        let mut down = query(&current);
        down.allow_downgrade = true;
        assert_eq!(versions(&down), ["1.3.0", "1.1.0", "0.9.0"]);
        let pin = Version::parse("1.1.0").unwrap();
        let mut pinned = query(&current);
        pinned.pin = Some(&pin);
        assert_eq!(versions(&pinned), ["1.1.0"]);
        let mut beta = query(&current);
        beta.channel = "beta";
        assert_eq!(versions(&beta), ["2.0.0", "1.3.0"]);
        // Decided without a lookup, so they never use up the lookup limit: versions
        // rolled back here, and downgrades below the highest version installed.
        let rolled_back = [Version::parse("1.3.0").unwrap()];
        let mut after_rollback = query(&current);
        after_rollback.rolled_back = &rolled_back;
        assert_eq!(versions(&after_rollback), ["1.1.0"]);
        let highest = Version::parse("0.9.5").unwrap();
        let mut floor = query(&current);
        floor.allow_downgrade = true;
        floor.highest_installed = Some(&highest);
        assert_eq!(versions(&floor), ["1.3.0", "1.1.0"]);
    }

    #[test]
    fn parse_refuses_what_cannot_be_an_index_of_this_app() {
        let ok = br#"{"app":"app","releases":[{"target":"app/1.0.0/linux/app","version":"1.0.0","platform":"linux"}]}"#;
        assert_eq!(ReleaseIndex::parse(ok, "app").unwrap().releases.len(), 1);
        for (bytes, needle) in [
            (&br#"{"app":"other","releases":[]}"#[..], "not \"app\""),
            (br#"{"app":"app","releases":[{"target":"other/x","version":"1.0.0","platform":"l"}]}"#, "outside"),
            (br#"{"app":"app","releases":[{"target":"app/x","version":"1.0.0","platform":"l"},{"target":"app/x","version":"1.0.0","platform":"l"}]}"#, "twice"),
            (br#"{"app":"app","releases":[],"extra":1}"#, "unknown field"),
            (br#"{"app":"app","releases":[{"target":"app/x","version":"one","platform":"l"}]}"#, ""),
            (br#"{"app":"app","releases":[{"target":"app/../x","version":"1.0.0","platform":"l"}]}"#, "segment"),
            (br#"{"app":"app","releases":[{"target":"app//x","version":"1.0.0","platform":"l"}]}"#, "segment"),
        ] {
            let err = ReleaseIndex::parse(bytes, "app").unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn an_entry_must_say_what_the_release_object_says() {
        let info = ReleaseInfo {
            app: "app".into(),
            version: Version::parse("2.0.0").unwrap(),
            platform: "linux".into(),
            channels: vec!["stable".into()],
            critical: false,
            minimum_version: None,
            notes: None,
            post_install: None,
            bundle: None,
            deltas: Vec::new(),
        };
        let entry = IndexEntry::of("app/2.0.0/linux/app", &info);
        assert_eq!(entry.disagreement(&info), None);
        let mut lying = entry.clone();
        lying.version = Version::parse("9.0.0").unwrap();
        assert!(lying.disagreement(&info).unwrap().contains("9.0.0"));
        let mut lying = entry.clone();
        lying.channels = vec!["beta".into()];
        assert!(lying.disagreement(&info).is_some());
        // The same set of channels, written otherwise, is no disagreement.
        let mut same = entry;
        same.channels = Vec::new();
        assert_eq!(same.disagreement(&info), None);
        let mut info = info;
        info.channels = vec!["beta".into(), "stable".into(), "beta".into()];
        same.channels = vec!["stable".into(), "beta".into()];
        assert_eq!(same.disagreement(&info), None);
    }

    #[test]
    fn upsert_replaces_and_keeps_a_stable_order() {
        let mut index = ReleaseIndex {
            app: "app".into(),
            releases: Vec::new(),
        };
        index.upsert(entry("2.0.0", "linux", &[]));
        index.upsert(entry("1.0.0", "linux", &[]));
        index.upsert(entry("2.0.0", "linux", &["beta"]));
        let targets: Vec<&str> = index.releases.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(targets, ["app/1.0.0/linux/app", "app/2.0.0/linux/app"]);
        assert_eq!(index.releases[1].channels, ["beta"]);
    }
}
