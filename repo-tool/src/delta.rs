//! Making deltas for a new release: from each of the previous N releases of the same
//! application and platform, in the format that comes out smallest (see
//! `updater::delta`). Every delta is applied back with the client's own code and
//! must rebuild the new file exactly before it is staged: a delta clients cannot
//! apply is never published.
//!
//! A delta is a target of its own at `APP/VERSION/PLATFORM/FILE.from-OLD.FORMAT`, so
//! its length and hashes are signed; the release object lists it with its source's
//! target path, length and hashes ([`updater::delta::DeltaSpec`]).

use std::io::Write;

use updater::delta::{DeltaFormat, DeltaSource, DeltaSpec};
use updater::release::ReleaseInfo;

use crate::error::RepoError;
use crate::ops::NewTarget;
use crate::project::Project;
use crate::release::{add_releases_with, current_index, listed_target, release_path, NewRelease};

/// Which formats to make: all of them, keeping the smallest, or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatChoice {
    /// Make every format the files allow and keep the smallest.
    #[default]
    Auto,
    /// Only this one.
    Only(DeltaFormat),
}

impl std::str::FromStr for FormatChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(FormatChoice::Auto),
            other => other.parse().map(FormatChoice::Only),
        }
    }
}

/// How [`make_deltas`] works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaOptions {
    /// Deltas from this many previous releases (newest first); 0 makes none.
    pub previous: usize,
    /// Which formats.
    pub format: FormatChoice,
    /// zstd level for the delta streams (1 to 22).
    pub level: i32,
}

impl Default for DeltaOptions {
    fn default() -> Self {
        DeltaOptions {
            previous: 0,
            format: FormatChoice::Auto,
            level: 19,
        }
    }
}

/// A delta made for a release: its listing in the release object, and the target to
/// stage beside the release.
#[derive(Debug, Clone)]
pub struct MadeDelta {
    /// What the release object lists.
    pub spec: DeltaSpec,
    /// The delta file, as a target.
    pub target: NewTarget,
    /// The version it applies to.
    pub from_version: semver::Version,
}

/// Makes the delta from `source` to `target` in `choice`, checked by applying it
/// back with the client's code. Returns the format kept and the delta's bytes.
///
/// # Errors
/// [`RepoError::Invalid`] when no format takes the files, or a delta does not
/// rebuild `target` (a bug, reported rather than published).
pub fn make_delta(
    source: &[u8],
    target: &[u8],
    choice: FormatChoice,
    level: i32,
) -> Result<(DeltaFormat, Vec<u8>), RepoError> {
    let formats: Vec<DeltaFormat> = match choice {
        FormatChoice::Only(format) => vec![format],
        FormatChoice::Auto => DeltaFormat::ALL
            .into_iter()
            .filter(|f| *f != DeltaFormat::ZstdPatch || fits_zstd_patch(source, target))
            .collect(),
    };
    let mut best: Option<(DeltaFormat, Vec<u8>)> = None;
    for format in formats {
        let delta = encode(format, source, target, level)?;
        check_round_trip(format, source, target, &delta)?;
        if best.as_ref().is_none_or(|(_, b)| delta.len() < b.len()) {
            best = Some((format, delta));
        }
    }
    best.ok_or_else(|| RepoError::Invalid("no delta format was chosen".into()))
}

fn fits_zstd_patch(source: &[u8], target: &[u8]) -> bool {
    let max = updater::delta::zstd_patch::MAX_FILE;
    source.len() as u64 <= max && target.len() as u64 <= max
}

fn encode(
    format: DeltaFormat,
    source: &[u8],
    target: &[u8],
    level: i32,
) -> Result<Vec<u8>, RepoError> {
    let raw = match format {
        DeltaFormat::BsdiffZstd => {
            let mut raw = Vec::new();
            bsdiff::diff(source, target, &mut raw)
                .map_err(|e| RepoError::Invalid(format!("bsdiff failed: {e}")))?;
            Some(raw)
        }
        _ => None,
    };
    updater::delta::encode(format, source, target, raw.as_deref(), level)
        .map_err(|e| RepoError::Invalid(format!("making a {format} delta: {e}")))
}

/// Applies `delta` to `source` with the client's code and compares with `target`.
fn check_round_trip(
    format: DeltaFormat,
    source: &[u8],
    target: &[u8],
    delta: &[u8],
) -> Result<(), RepoError> {
    let io = |source| RepoError::Io {
        path: "a temporary file for checking a delta".into(),
        source,
    };
    let dir = tempfile::tempdir().map_err(io)?;
    let (source_path, delta_path) = (dir.path().join("source"), dir.path().join("delta"));
    std::fs::write(&source_path, source).map_err(io)?;
    std::fs::write(&delta_path, delta).map_err(io)?;
    let mut rebuilt = Vec::with_capacity(target.len());
    updater::delta::apply(
        format,
        &source_path,
        &delta_path,
        &mut rebuilt,
        target.len() as u64,
    )
    .map_err(|e| {
        RepoError::Invalid(format!(
            "the {format} delta does not apply ({e}); this is a bug"
        ))
    })?;
    rebuilt.flush().map_err(io)?;
    if rebuilt != target {
        return Err(RepoError::Invalid(format!(
            "the {format} delta does not rebuild the release; this is a bug"
        )));
    }
    Ok(())
}

/// Makes deltas to the new release `info` (file `file_name`, bytes `content`) from
/// the previous `options.previous` releases of the same application and platform
/// that the repository lists, newest first. Bundle releases and sources that are
/// bundles are skipped (deltas are made for single-file releases). A delta that is
/// not smaller than the release itself is left out.
///
/// # Errors
/// IO errors; [`RepoError::Invalid`] when a source's stored file is not what its
/// role lists, or a delta cannot be made.
pub fn make_deltas(
    project: &Project,
    info: &ReleaseInfo,
    file_name: &str,
    content: &[u8],
    options: DeltaOptions,
) -> Result<Vec<MadeDelta>, RepoError> {
    if options.previous == 0 || info.bundle.is_some() {
        return Ok(Vec::new());
    }
    let mut earlier: Vec<_> = current_index(project, &info.app)?
        .releases
        .into_iter()
        .filter(|e| e.platform == info.platform && e.version < info.version)
        .collect();
    earlier.sort_by(|a, b| b.version.cmp(&a.version));
    let new_path = release_path(info, file_name);
    let mut made = Vec::new();
    for entry in earlier {
        if made.len() == options.previous {
            break;
        }
        let Some((listed, bytes)) = listed_target(project, &entry.target)? else {
            continue;
        };
        let source_info = ReleaseInfo::from_target(&entry.target, &listed)
            .map_err(|e| RepoError::Invalid(e.to_string()))?;
        if source_info.is_none_or(|s| s.bundle.is_some()) {
            continue;
        }
        let (format, delta) = make_delta(&bytes, content, options.format, options.level)?;
        if delta.len() >= content.len() {
            continue;
        }
        let path = format!("{new_path}.from-{}.{}", entry.version, format.name());
        made.push(MadeDelta {
            spec: DeltaSpec {
                target: path.clone(),
                format,
                source: DeltaSource {
                    target: entry.target.clone(),
                    length: listed.length,
                    hashes: listed.hashes.clone(),
                },
            },
            target: NewTarget {
                path,
                content: delta,
                custom: None,
            },
            from_version: entry.version.clone(),
        });
    }
    Ok(made)
}

/// Stages the release `info` with deltas made as `options` says ([`make_deltas`]),
/// listed in its release object and staged beside it in one step. Returns the
/// release's target path and the deltas made.
///
/// # Errors
/// As [`make_deltas`] and [`crate::release::add_releases`].
pub fn add_release_with_deltas(
    project: &Project,
    info: &ReleaseInfo,
    file_name: &str,
    content: &[u8],
    options: DeltaOptions,
    now: time::OffsetDateTime,
) -> Result<(String, Vec<MadeDelta>), RepoError> {
    let made = make_deltas(project, info, file_name, content, options)?;
    let mut info = info.clone();
    info.deltas = made.iter().map(|d| d.spec.clone()).collect();
    let release = NewRelease {
        info,
        file_name: file_name.to_string(),
        content: content.to_vec(),
    };
    let extra = made.iter().map(|d| d.target.clone()).collect();
    let path = add_releases_with(project, std::slice::from_ref(&release), extra, now)?
        .pop()
        .ok_or_else(|| RepoError::Invalid("nothing was staged".into()))?;
    Ok((path, made))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Vec<u8>, Vec<u8>) {
        let old: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
            .collect();
        let mut new = old.clone();
        new[50_000..50_020].fill(7);
        new.extend_from_slice(b"version 2");
        (old, new)
    }

    #[test]
    fn auto_keeps_the_smaller_format_and_both_round_trip() {
        let (old, new) = pair();
        let (auto_format, auto) = make_delta(&old, &new, FormatChoice::Auto, 19).unwrap();
        for format in DeltaFormat::ALL {
            let (kept, delta) = make_delta(&old, &new, FormatChoice::Only(format), 19).unwrap();
            assert_eq!(kept, format);
            assert!(auto.len() <= delta.len(), "{auto_format} vs {format}");
        }
        assert!(auto.len() < 2_000, "{} bytes", auto.len());
    }

    #[test]
    fn format_choices_parse() {
        assert_eq!("auto".parse(), Ok(FormatChoice::Auto));
        assert_eq!(
            "bsdiff-zstd".parse(),
            Ok(FormatChoice::Only(DeltaFormat::BsdiffZstd))
        );
        assert!("xdelta".parse::<FormatChoice>().is_err());
    }
}
