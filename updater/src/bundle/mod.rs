//! Application bundles: a release that is an archive of a whole application directory
//! (the executable with its libraries, resources and helpers, or a macOS `.app`).
//!
//! This module knows archives and trees, not TUF and not installs:
//!
//! - [`BundleSpec`]: what a release's *signed* custom metadata declares about its
//!   archive: the format, the unpacked size, the entry count and the paths the
//!   application keeps for itself ([`BundleSpec::preserve`]). Nothing is ever taken
//!   from the file name.
//! - `extract`: unpacks an archive whose length and hashes were already verified
//!   into an empty staging directory, refusing everything that could write outside
//!   it or that the metadata does not declare (see [`extract_verified`]).
//! - [`tree`]: the manifest of a directory (every path, kind, mode, link target and
//!   file hash) and its digest, which is how an installed tree is identified, and
//!   making a tree durable.
//! - [`pack`]: the reproducible packer `repo-tool release` uses.
//!
//! Installing an extracted tree (the swap, the journal, rollback) is
//! [`crate::install::DirectoryInstaller`]'s job.
//!
//! # The convention
//!
//! A bundle release is an ordinary release target (see [`crate::release`]) whose
//! `updater` object has a `bundle` member:
//!
//! ```json
//! "updater": {
//!   "app": "my-app", "version": "2.0.0", "platform": "x86_64-unknown-linux-gnu",
//!   "bundle": {
//!     "format": "tar.zst",
//!     "unpacked_size": 48213504,
//!     "entries": 412,
//!     "preserve": ["config/local.toml", "cache"]
//!   }
//! }
//! ```
//!
//! `unpacked_size` is the sum of the sizes of the archive's regular files, `entries`
//! the number of its entries (files, directories and symbolic links). An archive
//! with more bytes or entries than declared is refused as soon as it exceeds them,
//! and one with fewer at its end.

#[cfg(test)]
mod archive_tests;
mod entry_path;
mod extract;
mod formats;
pub mod pack;
pub mod tree;
#[cfg(any(target_os = "linux", target_os = "macos"))]
mod tree_fd;

use serde::{Deserialize, Serialize};

pub use entry_path::EntryPath;
pub use extract::{extract_verified, survey, BundleError, Extracted};

/// The most entries a bundle may declare: more than any application ships, and few
/// enough that the bookkeeping of one extraction (a few hundred bytes per entry)
/// stays bounded.
pub const MAX_ENTRIES: u64 = 1_000_000;

/// An archive format a bundle can be published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArchiveFormat {
    /// A POSIX tar archive compressed with zstd (`.tar.zst`): the default.
    #[serde(rename = "tar.zst")]
    TarZstd,
    /// A POSIX tar archive compressed with gzip (`.tar.gz`).
    #[serde(rename = "tar.gz")]
    TarGzip,
    /// A zip archive with stored or deflated entries (`.zip`), as Windows users expect.
    #[serde(rename = "zip")]
    Zip,
}

impl ArchiveFormat {
    /// Every format, in the order `repo-tool` lists them.
    pub const ALL: [ArchiveFormat; 3] = [
        ArchiveFormat::TarZstd,
        ArchiveFormat::TarGzip,
        ArchiveFormat::Zip,
    ];

    /// The format's name in metadata and on the command line (`tar.zst`, `tar.gz`,
    /// `zip`), which is also the file extension `repo-tool` gives archives.
    pub fn name(self) -> &'static str {
        match self {
            ArchiveFormat::TarZstd => "tar.zst",
            ArchiveFormat::TarGzip => "tar.gz",
            ArchiveFormat::Zip => "zip",
        }
    }

    /// The format named `name` (see [`ArchiveFormat::name`]).
    ///
    /// # Errors
    /// The list of known names when `name` is not one of them.
    pub fn from_name(name: &str) -> Result<ArchiveFormat, String> {
        ArchiveFormat::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| format!("unknown archive format {name:?}; use tar.zst, tar.gz or zip"))
    }
}

impl std::fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a bundle release's signed metadata declares about its archive (see the
/// module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSpec {
    /// How the archive is packed.
    pub format: ArchiveFormat,
    /// The sum of the sizes of the archive's regular files, in bytes.
    pub unpacked_size: u64,
    /// The number of entries (files, directories, symbolic links) in the archive.
    pub entries: u64,
    /// Paths, relative to the application directory, that belong to the installed
    /// application rather than to a release: user data, settings, caches. They are
    /// carried over from the installed tree into the new one on every install (the
    /// installed copy wins over one the archive ships), and they are left out of the
    /// tree digests that tell the old tree from the new one. A path names a file or a
    /// whole directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preserve: Vec<String>,
}

impl BundleSpec {
    /// Checks the declaration itself: entry count within [`MAX_ENTRIES`], and every
    /// `preserve` path a valid relative path (see [`EntryPath::parse`]), listed once.
    ///
    /// # Errors
    /// What is wrong, for an error message.
    pub fn validate(&self) -> Result<(), String> {
        if self.entries == 0 {
            return Err("declares no entries".into());
        }
        if self.entries > MAX_ENTRIES {
            return Err(format!(
                "declares {} entries, more than the {MAX_ENTRIES} a bundle may have",
                self.entries
            ));
        }
        let mut seen: Vec<EntryPath> = Vec::new();
        for path in &self.preserve {
            let parsed = EntryPath::parse(path.as_bytes())
                .map_err(|why| format!("preserve path {path:?}: {why}"))?;
            if let Some(other) = seen
                .iter()
                .find(|o| parsed.is_within(o) || o.is_within(&parsed))
            {
                return Err(format!(
                    "preserve path {path:?} is {other:?} or lies inside it (or around it); list each preserved path once"
                ));
            }
            seen.push(parsed);
        }
        Ok(())
    }

    /// The `preserve` paths, parsed. Call [`BundleSpec::validate`] first; invalid
    /// paths are skipped here.
    pub fn preserved(&self) -> Vec<EntryPath> {
        self.preserve
            .iter()
            .filter_map(|p| EntryPath::parse(p.as_bytes()).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_spelt_as_its_extension() {
        for format in ArchiveFormat::ALL {
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{}\"", format.name()));
            assert_eq!(ArchiveFormat::from_name(format.name()).unwrap(), format);
        }
        assert!(ArchiveFormat::from_name("tar.xz").is_err());
    }

    #[test]
    fn a_spec_with_bad_preserve_paths_or_counts_is_invalid() {
        let spec = |entries, preserve: &[&str]| BundleSpec {
            format: ArchiveFormat::TarZstd,
            unpacked_size: 1,
            entries,
            preserve: preserve.iter().map(|s| s.to_string()).collect(),
        };
        assert!(spec(3, &["data", "config/local.toml"]).validate().is_ok());
        assert!(spec(0, &[]).validate().is_err());
        assert!(spec(MAX_ENTRIES + 1, &[]).validate().is_err());
        for bad in ["../x", "/etc", "a/../b", "", "C:x", "a\\b"] {
            assert!(spec(1, &[bad]).validate().is_err(), "{bad}");
        }
        assert!(spec(1, &["data", "./data"]).validate().is_err());
        assert!(spec(1, &["data", "data/x"]).validate().is_err());
        assert!(spec(1, &["data/x", "data"]).validate().is_err());
        assert!(spec(1, &["data", "database"]).validate().is_ok());
        let unknown = r#"{"format":"zip","unpacked_size":1,"entries":1,"extra":1}"#;
        assert!(serde_json::from_str::<BundleSpec>(unknown).is_err());
    }
}
