//! Bundle releases: a directory packed reproducibly, or an archive a release
//! engineer brings, checked exactly as clients will check it before it is staged.

use std::path::Path;

use updater::bundle::pack::{pack_dir, PackOptions};
use updater::bundle::{survey, ArchiveFormat, BundleSpec};

use crate::error::RepoError;

/// An archive ready to be released, with the declaration its release carries.
#[derive(Debug, Clone)]
pub struct PreparedBundle {
    /// The file name of the release target (`NAME.tar.zst`, …).
    pub file_name: String,
    /// The archive.
    pub content: Vec<u8>,
    /// The `bundle` object of the release's metadata.
    pub spec: BundleSpec,
}

/// The format an archive's file name suggests (`.tar.zst`/`.tzst`, `.tar.gz`/`.tgz`,
/// `.zip`). Only the release tool guesses; clients take the format from signed
/// metadata.
pub fn format_from_name(name: &str) -> Option<ArchiveFormat> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tar.zst") || lower.ends_with(".tzst") {
        Some(ArchiveFormat::TarZstd)
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Some(ArchiveFormat::TarGzip)
    } else if lower.ends_with(".zip") {
        Some(ArchiveFormat::Zip)
    } else {
        None
    }
}

/// Prepares `source` as a bundle: a directory is packed (`format`, default tar.zst,
/// at `level`) into `NAME.EXT`; a file is taken as a ready archive in `format` (or
/// the format its name suggests). Either way the archive is then extracted into a
/// temporary directory by the client's own extractor, so an archive clients would
/// refuse (traversal, links out of the tree, devices, duplicates…) is refused here,
/// and the entry count and size it declares are the ones clients will find.
///
/// # Errors
/// [`RepoError::Invalid`] naming the file and what a client would say;
/// [`RepoError::Io`].
pub fn prepare_bundle(
    source: &Path,
    format: Option<ArchiveFormat>,
    level: Option<i32>,
    preserve: Vec<String>,
) -> Result<PreparedBundle, RepoError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| RepoError::Io { path, source }
    };
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| RepoError::Invalid(format!("{} has no file name", source.display())))?;
    let scratch = tempfile::tempdir().map_err(io(&std::env::temp_dir()))?;
    let (archive, format, file_name) = if source.is_dir() {
        let format = format.unwrap_or(ArchiveFormat::TarZstd);
        let file_name = format!("{name}.{}", format.name());
        let archive = scratch.path().join(&file_name);
        pack_dir(source, PackOptions { format, level }, &archive).map_err(io(source))?;
        (archive, format, file_name)
    } else {
        let format = format.or_else(|| format_from_name(&name)).ok_or_else(|| {
            RepoError::Invalid(format!(
                "cannot tell the archive format of {}; pass --format tar.zst, tar.gz or zip",
                source.display()
            ))
        })?;
        (source.to_path_buf(), format, name)
    };
    let summary = survey(&archive, format)
        .map_err(|e| RepoError::Invalid(format!("clients would refuse this bundle: {e}")))?;
    let spec = BundleSpec {
        format,
        unpacked_size: summary.unpacked_size,
        entries: summary.entries,
        preserve,
    };
    spec.validate()
        .map_err(|why| RepoError::Invalid(format!("bundle of {}: {why}", source.display())))?;
    let content = std::fs::read(&archive).map_err(io(&archive))?;
    Ok(PreparedBundle {
        file_name,
        content,
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_packed_and_declared_and_a_hostile_archive_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("my-app");
        std::fs::create_dir_all(app.join("res")).unwrap();
        std::fs::write(app.join("my-app"), b"binary").unwrap();
        std::fs::write(app.join("res/version.txt"), b"2.0.0").unwrap();
        let bundle = prepare_bundle(&app, None, Some(3), vec!["data".into()]).unwrap();
        assert_eq!(bundle.file_name, "my-app.tar.zst");
        assert_eq!(bundle.spec.entries, 3);
        assert_eq!(bundle.spec.unpacked_size, 11);
        assert_eq!(bundle.spec.preserve, ["data"]);

        // A ready zip whose entry climbs out of the tree.
        let evil = dir.path().join("evil.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
        zip.start_file("../escape", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, b"x").unwrap();
        zip.finish().unwrap();
        let err = prepare_bundle(&evil, None, None, vec![]).unwrap_err();
        assert!(err.to_string().contains("clients would refuse"), "{err}");
        assert!(prepare_bundle(&dir.path().join("my-app/my-app"), None, None, vec![]).is_err());
    }
}
