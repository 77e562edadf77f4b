//! Releases from verified targets: the convention for a target's custom metadata, and
//! the pure policy that picks the release an installation should move to.
//!
//! Everything here works on descriptions the [`trust`](crate::trust) module already
//! accepted; it decides, it does no IO and reads no clock (the time is an argument).
//!
//! # The convention
//!
//! A release of application `APP` is a target under the directory `APP/`, by
//! convention `APP/VERSION/PLATFORM/FILE`, whose custom metadata carries an `updater`
//! object:
//!
//! ```json
//! "my-app/2.1.0/x86_64-unknown-linux-gnu/my-app": {
//!   "length": 4912384,
//!   "hashes": { "sha256": "…" },
//!   "custom": {
//!     "updater": {
//!       "app": "my-app",
//!       "version": "2.1.0",
//!       "platform": "x86_64-unknown-linux-gnu",
//!       "channels": ["stable", "beta"],
//!       "critical": false,
//!       "minimum_version": "1.4.0",
//!       "notes": "Faster start-up; fixes the proxy bug.",
//!       "post_install": { "target": "my-app/2.1.0/hooks/migrate", "args": ["--quiet"], "timeout_secs": 60 }
//!     }
//!   }
//! }
//! ```
//!
//! - `app` must equal the first path segment; `version` is semver; `platform` is a Rust
//!   target triple (see [`current_platform`]).
//! - `channels` defaults to `["stable"]`. An installation follows exactly one channel.
//! - `critical: true` skips staged-rollout waves (a halt still applies).
//! - `minimum_version`: installations older than it treat this release as critical.
//! - `post_install` names a hook that must itself be a target of the repository
//!   (verified like the release); see [`HookSpec`].
//!
//! Targets without an `updater` object are not releases and are ignored.
//!
//! # Staged rollouts
//!
//! The plan lives in signed metadata, so a static server is enough and an attacker
//! cannot hide a change of plan: the target `APP/rollout.json` is a [`RolloutPolicy`]
//! file. Delegate `APP/rollout.json` to a role of its own with a short expiry (hours)
//! and its own key: a halt then reaches every client within that expiry, and the
//! rollout key can stop or widen a rollout but never sign a binary. A release the
//! policy does not mention is offered to everyone.

mod index;
mod rollout;
mod select;

pub use index::{IndexEntry, ReleaseIndex, INDEX_FILE};
pub use rollout::{bucket, Exposure, InstallId, ReleaseRollout, RolloutPolicy, Wave, BUCKETS};
pub use select::{select, PassedOver, Query, Reason, Selection};

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::metadata::TargetFile;

/// The key of the release object inside a target's `custom` metadata.
pub const CUSTOM_KEY: &str = "updater";

/// The channel an installation follows when none is configured, and the channel of a
/// release that lists none.
pub const DEFAULT_CHANNEL: &str = "stable";

/// The file name, inside the application's directory, of its rollout policy.
pub const ROLLOUT_FILE: &str = "rollout.json";

/// The release facts a target's custom metadata declares (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInfo {
    /// Application name; equal to the first segment of the target path.
    pub app: String,
    /// The release's version.
    pub version: Version,
    /// Rust target triple the binary runs on.
    pub platform: String,
    /// Channels the release is published to; empty means [`DEFAULT_CHANNEL`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Skip the rollout waves: everyone gets it as soon as it is published.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub critical: bool,
    /// Installations older than this treat the release as critical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_version: Option<Version>,
    /// Release notes for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// A program to run once the release is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_install: Option<HookSpec>,
    /// Set when the release is an archive of a whole application directory (see
    /// [`crate::bundle`]): its format, unpacked size, entry count and preserved paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<crate::bundle::BundleSpec>,
    /// Deltas that rebuild this release's file from earlier ones (see
    /// [`crate::delta`]); the client uses one only when the installed file is its
    /// exact source, and downloads the full file otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<crate::delta::DeltaSpec>,
}

/// A post-install hook: a target of the same repository, run by path with no shell.
///
/// The hook file is downloaded and verified like any target before it is made
/// executable; it runs with a minimal environment and a time limit, and a command line
/// that hands inline code to an interpreter (`sh -c`, `python -c`, `node -e`, …) is
/// refused (see `pipeline_guard::detect::scan_argv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    /// Target path of the hook program (inside the application's directory).
    pub target: String,
    /// Arguments passed to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Time limit in seconds (default 60, at most 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

impl HookSpec {
    /// The file name the hook is stored and run under: the last `/` segment of its
    /// target path, which must be one portable file name (see
    /// [`crate::names::check_file_name`]), so that it cannot leave the hooks
    /// directory on any platform (a `\\` on Windows) or open a device (`NUL`).
    ///
    /// # Errors
    /// What is wrong with the name.
    pub fn file_name(&self) -> Result<&str, String> {
        let name = self.target.rsplit('/').next().unwrap_or_default();
        crate::names::check_file_name(name)
            .map_err(|problem| format!("post_install target {:?}: {problem}", self.target))?;
        Ok(name)
    }
}

impl ReleaseInfo {
    /// A release of `app` at `version` for `platform` on the default channel: not
    /// critical, no minimum version, notes or hook (set the public fields for those).
    pub fn new(
        app: impl Into<String>,
        version: Version,
        platform: impl Into<String>,
    ) -> ReleaseInfo {
        ReleaseInfo {
            app: app.into(),
            version,
            platform: platform.into(),
            channels: Vec::new(),
            critical: false,
            minimum_version: None,
            notes: None,
            post_install: None,
            bundle: None,
            deltas: Vec::new(),
        }
    }

    /// Reads the release object of the target `path`. `Ok(None)` when the target has
    /// no `updater` object (it is not a release).
    ///
    /// # Errors
    /// [`ReleaseError`] naming the target when the object is malformed, the
    /// application does not match the path's first segment, or the platform is empty.
    pub fn from_target(
        path: &str,
        target: &TargetFile,
    ) -> Result<Option<ReleaseInfo>, ReleaseError> {
        let Some(value) = target.custom.as_ref().and_then(|c| c.get(CUSTOM_KEY)) else {
            return Ok(None);
        };
        let invalid = |reason: String| ReleaseError {
            path: path.to_string(),
            reason,
        };
        if let Some(why) = unrequestable(path) {
            return Err(invalid(why));
        }
        let info: ReleaseInfo =
            serde_json::from_value(value.clone()).map_err(|e| invalid(e.to_string()))?;
        let first = path.split('/').next().unwrap_or_default();
        if info.app.is_empty() || info.app != first {
            return Err(invalid(format!(
                "declares app {:?} but lives under {first:?}/",
                info.app
            )));
        }
        if info.platform.is_empty() {
            return Err(invalid("has an empty platform".into()));
        }
        if let Some(hook) = &info.post_install {
            if !hook.target.starts_with(&format!("{}/", info.app)) {
                return Err(invalid(format!(
                    "post_install target {:?} is outside {}/",
                    hook.target, info.app
                )));
            }
            if let Some(why) = unrequestable(&hook.target) {
                return Err(invalid(format!("post_install target: {why}")));
            }
            hook.file_name().map_err(invalid)?;
        }
        if let Some(bundle) = &info.bundle {
            bundle
                .validate()
                .map_err(|why| invalid(format!("bundle: {why}")))?;
        }
        Ok(Some(info))
    }

    /// True when the release is published to `channel`.
    pub fn in_channel(&self, channel: &str) -> bool {
        lists_channel(&self.channels, channel)
    }

    /// True when an installation at `running` must treat this release as critical.
    pub fn is_critical_for(&self, running: &Version) -> bool {
        self.critical
            || self
                .minimum_version
                .as_ref()
                .is_some_and(|min| running < min)
    }

    /// This release as `custom` metadata (`{"updater": {…}}`), for publishing tools.
    pub fn to_custom(&self) -> serde_json::Value {
        serde_json::json!({ CUSTOM_KEY: self })
    }
}

/// Why a release (or its hook) at target path `path` could never be downloaded as
/// itself, or `None`: an empty, `.` or `..` segment, which URL resolution and
/// servers fold into another path (see [`crate::Error::UnrequestableTarget`]).
/// Such a release is malformed, so it is passed over instead of being chosen and
/// then failing every download.
pub(crate) fn unrequestable(path: &str) -> Option<String> {
    (path.split('/').any(str::is_empty) || crate::names::has_dot_segment(path)).then(|| {
        format!("{path:?} has an empty, `.` or `..` segment, which no URL names as itself")
    })
}

/// True when a release listing `channels` (empty: [`DEFAULT_CHANNEL`]) is
/// published to `channel`.
pub(crate) fn lists_channel(channels: &[String], channel: &str) -> bool {
    if channels.is_empty() {
        channel == DEFAULT_CHANNEL
    } else {
        channels.iter().any(|c| c == channel)
    }
}

/// A target's release object is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target {path:?} has an invalid \"updater\" release object: {reason}; fix the custom metadata and republish")]
pub struct ReleaseError {
    /// The target path.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// A release chosen for this installation: the verified target and its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Target path in the repository.
    pub target_path: String,
    /// Its trusted description (length, hashes, custom).
    pub target: TargetFile,
    /// The release facts.
    pub info: ReleaseInfo,
    /// Critical for this installation (critical, or below its minimum version).
    pub critical: bool,
}

impl Release {
    /// The release's version.
    pub fn version(&self) -> &Version {
        &self.info.version
    }
}

/// The Rust target triple this library was built for, as releases name platforms
/// (for example `x86_64-unknown-linux-gnu`). Built from the compile-time
/// architecture, OS and environment; override it in the updater's configuration when
/// your releases use another naming.
pub fn current_platform() -> String {
    let arch = std::env::consts::ARCH;
    let os = std::env::consts::OS;
    match os {
        "linux" => {
            let env = if cfg!(target_env = "musl") {
                "musl"
            } else {
                "gnu"
            };
            format!("{arch}-unknown-linux-{env}")
        }
        "macos" => format!("{arch}-apple-darwin"),
        "windows" => {
            let env = if cfg!(target_env = "gnu") {
                "gnu"
            } else {
                "msvc"
            };
            format!("{arch}-pc-windows-{env}")
        }
        other => format!("{arch}-unknown-{other}"),
    }
}

#[cfg(test)]
mod tests;
