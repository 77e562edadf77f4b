//! Staged rollouts: the signed policy file, and the bucket an installation falls in.

use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How many buckets installations are spread over; a wave's percentage covers
/// `percentage * BUCKETS / 100` of them.
pub const BUCKETS: u32 = 10_000;

/// The rollout plan of one application: the content of the target `APP/rollout.json`.
///
/// ```json
/// {
///   "app": "my-app",
///   "releases": {
///     "2.1.0": {
///       "waves": [
///         { "start": "2026-11-20T09:00:00Z", "percentage": 5 },
///         { "start": "2026-11-22T09:00:00Z", "percentage": 50 },
///         { "start": "2026-11-24T09:00:00Z", "percentage": 100 }
///       ]
///     },
///     "2.0.3": { "halted": true }
///   }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutPolicy {
    /// The application the plan is for.
    pub app: String,
    /// Plan per release version.
    #[serde(default)]
    pub releases: BTreeMap<Version, ReleaseRollout>,
}

/// The plan for one release.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRollout {
    /// Stop offering the release to installations that do not have it yet.
    #[serde(default)]
    pub halted: bool,
    /// Waves in any order; the widest started wave applies. No waves: everyone.
    #[serde(default)]
    pub waves: Vec<Wave>,
}

/// From `start` on, `percentage` of installations are offered the release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    /// When the wave begins (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Share of installations, 0 to 100 (fractions allowed, to 0.01).
    pub percentage: f64,
}

/// Who is offered a release at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Every installation.
    Everyone,
    /// Installations whose bucket is below this many of [`BUCKETS`].
    Buckets(u32),
    /// No wave has started yet.
    NotStarted,
    /// The rollout is halted.
    Halted,
}

impl RolloutPolicy {
    /// Parses a policy file and checks it is for `app` with sane waves.
    ///
    /// # Errors
    /// A message naming the problem (JSON error, other application, percentage out
    /// of 0..=100).
    pub fn parse(bytes: &[u8], app: &str) -> Result<RolloutPolicy, String> {
        let policy: RolloutPolicy = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if policy.app != app {
            return Err(format!("the policy is for {:?}, not {app:?}", policy.app));
        }
        for (version, plan) in &policy.releases {
            for wave in &plan.waves {
                if !(0.0..=100.0).contains(&wave.percentage) {
                    return Err(format!(
                        "release {version}: wave percentage {} is outside 0..=100",
                        wave.percentage
                    ));
                }
            }
        }
        Ok(policy)
    }

    /// Who is offered `version` at `now`.
    pub fn exposure(&self, version: &Version, now: OffsetDateTime) -> Exposure {
        let Some(plan) = self.releases.get(version) else {
            return Exposure::Everyone;
        };
        if plan.halted {
            return Exposure::Halted;
        }
        if plan.waves.is_empty() {
            return Exposure::Everyone;
        }
        let widest = plan
            .waves
            .iter()
            .filter(|w| w.start <= now)
            .map(|w| w.percentage)
            .fold(None, |acc: Option<f64>, p| {
                Some(acc.map_or(p, |a| a.max(p)))
            });
        match widest {
            None => Exposure::NotStarted,
            Some(p) if p >= 100.0 => Exposure::Everyone,
            // In 0..100 after parse, so the product fits a u32.
            Some(p) => Exposure::Buckets((p * f64::from(BUCKETS) / 100.0).round() as u32),
        }
    }
}

/// A random, stable identifier of one installation, kept in its data directory. It
/// leaves the machine never; it only places the installation in rollout buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallId(pub String);

impl InstallId {
    /// A fresh random id (128 bits, hex) from the system's secure random source.
    ///
    /// # Errors
    /// When the system random source fails.
    pub fn generate() -> Result<InstallId, ring::error::Unspecified> {
        let bytes: [u8; 16] = ring::rand::generate(&ring::rand::SystemRandom::new())?.expose();
        Ok(InstallId(hex::encode(bytes)))
    }
}

/// The bucket, in `0..BUCKETS`, of `install` for one release of `app`. Hashing the
/// release in spreads the canaries: the first wave of each release reaches a
/// different set of installations.
pub fn bucket(install: &InstallId, app: &str, version: &Version) -> u32 {
    let mut input = Vec::with_capacity(install.0.len() + app.len() + 24);
    for part in [
        install.0.as_bytes(),
        app.as_bytes(),
        version.to_string().as_bytes(),
    ] {
        input.extend_from_slice(part);
        input.push(0);
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    (u64::from_be_bytes(first) % u64::from(BUCKETS)) as u32
}
