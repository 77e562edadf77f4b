//! Choosing the release an installation should move to.

use std::fmt;

use semver::Version;
use time::OffsetDateTime;

use super::{bucket, Exposure, InstallId, Release, ReleaseInfo, RolloutPolicy};
use crate::metadata::TargetFile;

/// What the installation is and what it accepts.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// Application name (the directory its releases live in).
    pub app: &'a str,
    /// The running version.
    pub current: &'a Version,
    /// The channel this installation follows.
    pub channel: &'a str,
    /// The platform triple it runs on.
    pub platform: &'a str,
    /// The highest version ever installed here (a floor for downgrades).
    pub highest_installed: Option<&'a Version>,
    /// Versions that were installed here and rolled back: never offered again.
    pub rolled_back: &'a [Version],
    /// Offer releases older than `current` (only when no newer one qualifies).
    pub allow_downgrade: bool,
    /// With `allow_downgrade`, also offer versions below `highest_installed`.
    pub allow_below_highest: bool,
    /// Only this version, if set.
    pub pin: Option<&'a Version>,
}

/// Why a release was not chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Its release object is malformed (the message says how).
    Malformed(String),
    /// Another application's release.
    OtherApp,
    /// Built for another platform.
    OtherPlatform,
    /// Not published to this installation's channel.
    OtherChannel,
    /// Not the pinned version.
    NotPinned,
    /// The running version.
    Current,
    /// Older than the running version, and downgrades were not asked for.
    Downgrade,
    /// Below the highest version ever installed here, and that was not overridden.
    BelowHighestInstalled,
    /// It was installed here before and rolled back.
    RolledBackBefore,
    /// Its rollout is halted.
    Halted,
    /// Its first rollout wave has not started.
    WaveNotStarted,
    /// This installation's bucket is not in the waves started so far.
    NotInWave {
        /// The installation's bucket for this release.
        bucket: u32,
        /// Buckets below this number are in.
        reached: u32,
    },
    /// A better release was chosen.
    Superseded,
    /// Listed in the release index, but not looked up: the lookups allowed for one
    /// check were spent on better candidates that turned out not to qualify.
    NotLookedUp,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Malformed(m) => write!(f, "malformed release: {m}"),
            Reason::OtherApp => f.write_str("another application"),
            Reason::OtherPlatform => f.write_str("another platform"),
            Reason::OtherChannel => f.write_str("another channel"),
            Reason::NotPinned => f.write_str("not the requested version"),
            Reason::Current => f.write_str("the running version"),
            Reason::Downgrade => f.write_str("older than the running version (a downgrade)"),
            Reason::BelowHighestInstalled => {
                f.write_str("below the highest version ever installed here")
            }
            Reason::RolledBackBefore => f.write_str("rolled back here before"),
            Reason::Halted => f.write_str("rollout halted"),
            Reason::WaveNotStarted => f.write_str("rollout not started"),
            Reason::NotInWave { bucket, reached } => write!(
                f,
                "staged rollout: bucket {bucket} is not among the first {reached} of {}",
                super::BUCKETS
            ),
            Reason::Superseded => f.write_str("a newer eligible release was chosen"),
            Reason::NotLookedUp => f.write_str(
                "not looked up: the lookups allowed for one check went to better candidates",
            ),
        }
    }
}

/// A release passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    /// Target path.
    pub target_path: String,
    /// Version, when it could be read.
    pub version: Option<Version>,
    /// Why.
    pub reason: Reason,
}

/// The outcome of [`select`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The release to move to, if any.
    pub release: Option<Release>,
    /// Every other release of the application, with the reason it was not chosen
    /// (targets that are not releases at all are not listed).
    pub passed_over: Vec<PassedOver>,
}

/// Picks the release `query`'s installation should move to, from verified targets.
///
/// Guarantees: only releases of `query.app` for its platform and channel are
/// considered; a newer release is always preferred to an older one; an older release
/// than the running one is chosen only with `allow_downgrade` and only when no newer
/// one qualifies, and never below `highest_installed` unless `allow_below_highest`;
/// versions rolled back here are never chosen; non-critical releases obey the
/// rollout `policy` at `now` (halts apply to critical releases too). Pure.
pub fn select(
    targets: &[(String, TargetFile)],
    query: &Query<'_>,
    policy: Option<&RolloutPolicy>,
    install: &InstallId,
    now: OffsetDateTime,
) -> Selection {
    let mut selection = Selection::default();
    let mut best: Option<Release> = None;
    for (path, target) in targets {
        let info = match ReleaseInfo::from_target(path, target) {
            Ok(Some(info)) => info,
            Ok(None) => continue,
            Err(e) => {
                selection.passed_over.push(PassedOver {
                    target_path: path.clone(),
                    version: None,
                    reason: Reason::Malformed(e.reason),
                });
                continue;
            }
        };
        let critical = info.is_critical_for(query.current);
        let release = Release {
            target_path: path.clone(),
            target: target.clone(),
            info,
            critical,
        };
        match refusal(&release, query, policy, install, now) {
            Some(reason) => selection.passed_over.push(PassedOver {
                target_path: path.clone(),
                version: Some(release.info.version.clone()),
                reason,
            }),
            None => {
                let better = best
                    .as_ref()
                    .is_none_or(|b| preferred(&release, b, query.current));
                let loser = if better {
                    best.replace(release)
                } else {
                    Some(release)
                };
                if let Some(loser) = loser {
                    selection.passed_over.push(PassedOver {
                        target_path: loser.target_path,
                        version: Some(loser.info.version),
                        reason: Reason::Superseded,
                    });
                }
            }
        }
    }
    selection.release = best;
    selection
}

/// True when `a` is a better choice than `b`: any upgrade beats any downgrade; among
/// upgrades and among downgrades the higher version wins; ties go to the lexically
/// first path, so the choice does not depend on input order.
fn preferred(a: &Release, b: &Release, current: &Version) -> bool {
    let (va, vb) = (&a.info.version, &b.info.version);
    let (ua, ub) = (va > current, vb > current);
    if ua != ub {
        return ua;
    }
    if va != vb {
        return va > vb;
    }
    a.target_path < b.target_path
}

/// Why `release` may not be offered, or `None` when it may.
fn refusal(
    release: &Release,
    query: &Query<'_>,
    policy: Option<&RolloutPolicy>,
    install: &InstallId,
    now: OffsetDateTime,
) -> Option<Reason> {
    let info = &release.info;
    let version = &info.version;
    if info.app != query.app {
        return Some(Reason::OtherApp);
    }
    if info.platform != query.platform {
        return Some(Reason::OtherPlatform);
    }
    if !info.in_channel(query.channel) {
        return Some(Reason::OtherChannel);
    }
    if query.pin.is_some_and(|pin| pin != version) {
        return Some(Reason::NotPinned);
    }
    if version == query.current {
        return Some(Reason::Current);
    }
    if version < query.current {
        if !query.allow_downgrade {
            return Some(Reason::Downgrade);
        }
        if query.highest_installed.is_some_and(|h| version < h) && !query.allow_below_highest {
            return Some(Reason::BelowHighestInstalled);
        }
    }
    if query.rolled_back.contains(version) {
        return Some(Reason::RolledBackBefore);
    }
    let exposure = policy.map_or(Exposure::Everyone, |p| p.exposure(version, now));
    match exposure {
        Exposure::Halted => Some(Reason::Halted),
        _ if release.critical => None,
        Exposure::Everyone => None,
        Exposure::NotStarted => Some(Reason::WaveNotStarted),
        Exposure::Buckets(reached) => {
            let bucket = bucket(install, &info.app, version);
            (bucket >= reached).then_some(Reason::NotInWave { bucket, reached })
        }
    }
}
