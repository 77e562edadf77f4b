//! Deltas: a release file rebuilt from the installed one and a small patch.
//!
//! A release may list deltas in its signed custom metadata ([`DeltaSpec`]). Each
//! delta is a target of its own, so its length and hashes are signed like any
//! target's, and it names the exact source it applies to by that source's target
//! path, length and hashes. The client ([`crate::Updater::download`]) uses a delta
//! only in this order, and falls back to the full download at any failure:
//!
//! 1. the installed file is hashed and must be the delta's source exactly;
//! 2. the delta is downloaded and verified against its own signed length and hashes
//!    before any patch code reads a byte of it;
//! 3. it is applied into a staging file through an
//!    [`IntegrityWriter`](crate::integrity::IntegrityWriter) holding the release's
//!    signed length and hashes: output past that length is refused as it is made, and
//!    the result is used only when it matches.
//!
//! So a delta can never get anything installed that the full target's signed hashes
//! would refuse: the patch code only ever sees verified input, and its output is
//! checked by the same length-and-hashes check as a download.
//!
//! Two formats ([`DeltaFormat`]):
//!
//! - `bsdiff-zstd`: bsdiff's control, diff and extra streams, each compressed with
//!   zstd (see [`bsdiff_zstd`]). Applied streaming, seeking in the source file:
//!   memory stays constant whatever the file sizes.
//! - `zstd-patch`: one zstd frame compressed with the source as its reference
//!   prefix, as `zstd --patch-from` makes (see [`zstd_patch`]). Applying it holds the
//!   source and a window as large as the output in memory, so it is limited to
//!   files of at most [`zstd_patch::MAX_FILE`] bytes.

pub mod bsdiff_zstd;
pub mod zstd_patch;

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::metadata::Hashes;

/// How a delta is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeltaFormat {
    /// A zstd frame made with the source as reference prefix ([`zstd_patch`]).
    #[serde(rename = "zstd-patch")]
    ZstdPatch,
    /// bsdiff with zstd-compressed streams ([`bsdiff_zstd`]).
    #[serde(rename = "bsdiff-zstd")]
    BsdiffZstd,
}

impl DeltaFormat {
    /// The name used in metadata and file names.
    pub fn name(self) -> &'static str {
        match self {
            DeltaFormat::ZstdPatch => "zstd-patch",
            DeltaFormat::BsdiffZstd => "bsdiff-zstd",
        }
    }

    /// Every format, in the order `auto` tries them.
    pub const ALL: [DeltaFormat; 2] = [DeltaFormat::BsdiffZstd, DeltaFormat::ZstdPatch];
}

impl std::fmt::Display for DeltaFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DeltaFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        DeltaFormat::ALL
            .into_iter()
            .find(|format| format.name() == s)
            .ok_or_else(|| format!("unknown delta format {s:?} (known: zstd-patch, bsdiff-zstd)"))
    }
}

/// One delta a release lists: where it is, how it is encoded, and the exact file it
/// applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaSpec {
    /// Target path of the delta file, in the same role as the release (its length
    /// and hashes come from there).
    pub target: String,
    /// Its encoding.
    pub format: DeltaFormat,
    /// The file the delta turns into the release's file.
    pub source: DeltaSource,
}

/// The exact file a delta applies to: an earlier release's target, by path, length
/// and hashes (signed here, so the source need not still be listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaSource {
    /// The earlier release's target path.
    pub target: String,
    /// Its length in bytes.
    pub length: u64,
    /// Its hashes; every one is checked against the installed file.
    pub hashes: Hashes,
}

/// Why a delta could not be applied. Every case means: download the full file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeltaError {
    /// The delta's bytes do not follow its format, or do not fit the source or the
    /// declared output.
    #[error("corrupt delta: {0}")]
    Corrupt(String),
    /// The files are too large for this format (see [`zstd_patch::MAX_FILE`]).
    #[error("{0}")]
    TooLarge(String),
    /// Reading the source or the delta, or writing the output, failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl DeltaError {
    pub(crate) fn corrupt(why: impl std::fmt::Display) -> DeltaError {
        DeltaError::Corrupt(why.to_string())
    }
}

/// Applies the delta at `delta` (already verified against its signed length and
/// hashes) to the file at `source`, writing the rebuilt file to `output`, which must
/// be exactly `output_len` bytes long. Memory is bounded as each format's module
/// says. The output is not trusted by this function: the caller checks it against
/// the release's signed hashes (an [`IntegrityWriter`](crate::integrity::IntegrityWriter)).
///
/// # Errors
/// [`DeltaError`]: the caller falls back to the full download.
pub fn apply(
    format: DeltaFormat,
    source: &Path,
    delta: &Path,
    output: &mut dyn Write,
    output_len: u64,
) -> Result<(), DeltaError> {
    let source_file = File::open(source)?;
    match format {
        DeltaFormat::BsdiffZstd => bsdiff_zstd::apply(source_file, delta, output, output_len),
        DeltaFormat::ZstdPatch => {
            zstd_patch::apply(source_file, File::open(delta)?, output, output_len)
        }
    }
}

/// Makes a delta from `source` to `target` in `format`, with zstd at `level`
/// (1 to 22). For repository tools; `diff` is the bsdiff patch of the two files in
/// the `bsdiff` crate's raw format when `format` is
/// [`DeltaFormat::BsdiffZstd`] (this crate does not compute diffs).
///
/// # Errors
/// [`DeltaError::TooLarge`] for files a format does not take, [`DeltaError::Corrupt`]
/// for a malformed raw diff.
pub fn encode(
    format: DeltaFormat,
    source: &[u8],
    target: &[u8],
    raw_bsdiff: Option<&[u8]>,
    level: i32,
) -> Result<Vec<u8>, DeltaError> {
    match format {
        DeltaFormat::ZstdPatch => zstd_patch::make(source, target, level),
        DeltaFormat::BsdiffZstd => {
            let raw = raw_bsdiff.ok_or_else(|| {
                DeltaError::corrupt("a bsdiff-zstd delta needs the raw bsdiff patch")
            })?;
            bsdiff_zstd::encode(raw, target.len() as u64, level)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_through_their_names() {
        for format in DeltaFormat::ALL {
            assert_eq!(format.name().parse::<DeltaFormat>(), Ok(format));
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{}\"", format.name()));
        }
        assert!("bsdiff".parse::<DeltaFormat>().is_err());
    }

    #[test]
    fn a_spec_with_an_unknown_field_is_refused() {
        let json = r#"{"target":"a/d","format":"zstd-patch","source":{"target":"a/s","length":3,"hashes":{"sha256":"00"}},"extra":1}"#;
        assert!(serde_json::from_str::<DeltaSpec>(json).is_err());
    }
}
