//! Target files in a repository's `targets/` directory: each under every
//! hash-prefixed name its metadata gives it, written in bulk and made durable once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use updater::metadata::TargetFile;

use crate::repository::RepoError;

/// Writes the files of many targets under every hash-prefixed name of their paths
/// (`DIR/HASH.NAME`, one file hard-linked under each name) in `targets_dir`. The
/// files are written and renamed into place, then one `syncfs` (Linux; elsewhere an `fsync` of
/// every file and directory) makes them all durable, instead of three `fsync`s per
/// target. The caller stages metadata that refers to them only after this returns,
/// so a crash before the sync can leave unreferenced files only; a file already in
/// place is kept only when its content matches its hash-prefixed name.
///
/// # Errors
/// IO errors, naming the file or directory.
pub fn write_many<'a>(
    targets_dir: &Path,
    targets: impl Iterator<Item = (&'a str, &'a [u8], &'a TargetFile)>,
) -> Result<(), RepoError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| RepoError::Io { path, source }
    };
    let mut written = Vec::new();
    let mut dirs = BTreeSet::new();
    for (path, content, info) in targets {
        let mut first: Option<PathBuf> = None;
        for hash in info.hashes.values() {
            let file = match path.rsplit_once('/') {
                Some((dir, name)) => format!("{dir}/{hash}.{name}"),
                None => format!("{hash}.{path}"),
            };
            let dest = targets_dir.join(file);
            let dir = updater::store::parent_dir(&dest).to_path_buf();
            if holds(&dest, info) {
                first.get_or_insert(dest);
                continue;
            }
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            let linked = first.as_ref().is_some_and(|f| {
                let _ = std::fs::remove_file(&dest);
                std::fs::hard_link(f, &dest).is_ok()
            });
            if !linked {
                let mut tmp = tempfile::Builder::new()
                    .prefix(".tmp-")
                    .suffix(".part")
                    .tempfile_in(&dir)
                    .map_err(io(&dir))?;
                std::io::Write::write_all(&mut tmp, content).map_err(io(tmp.path()))?;
                tmp.persist(&dest).map_err(|e| io(&dest)(e.error))?;
                written.push(dest.clone());
            }
            dirs.insert(dir);
            first.get_or_insert(dest);
        }
    }
    sync_all_written(targets_dir, &written, &dirs)
}

/// True when `path` holds exactly the content `info` describes.
fn holds(path: &Path, info: &TargetFile) -> bool {
    std::fs::read(path).is_ok_and(|bytes| {
        updater::integrity::IntegrityCheck::check_bytes(
            &bytes,
            Some(info.length),
            Some(&info.hashes),
        )
        .is_ok()
    })
}

/// Makes `files` and the renames in `dirs` durable.
#[cfg(target_os = "linux")]
fn sync_all_written(
    targets_dir: &Path,
    files: &[PathBuf],
    dirs: &BTreeSet<PathBuf>,
) -> Result<(), RepoError> {
    if files.is_empty() && dirs.is_empty() {
        return Ok(());
    }
    let io = |source: std::io::Error| RepoError::Io {
        path: targets_dir.display().to_string(),
        source,
    };
    let dir = std::fs::File::open(targets_dir).map_err(io)?;
    rustix::fs::syncfs(&dir).map_err(|e| io(e.into()))
}

/// Makes `files` and the renames in `dirs` durable.
#[cfg(not(target_os = "linux"))]
fn sync_all_written(
    _targets_dir: &Path,
    files: &[PathBuf],
    dirs: &BTreeSet<PathBuf>,
) -> Result<(), RepoError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| RepoError::Io { path, source }
    };
    for file in files {
        std::fs::File::open(file)
            .and_then(|f| f.sync_all())
            .map_err(io(file))?;
    }
    for dir in dirs {
        updater::store::sync_dir(dir).map_err(io(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::target_file;
    use std::os::unix::fs::MetadataExt;

    fn names(dir: &Path, path: &str, info: &TargetFile) -> Vec<PathBuf> {
        let (sub, name) = path.rsplit_once('/').unwrap();
        info.hashes
            .values()
            .map(|h| dir.join(sub).join(format!("{h}.{name}")))
            .collect()
    }

    #[test]
    fn writes_every_name_as_one_file_and_repairs_a_damaged_one() {
        let dir = tempfile::tempdir().unwrap();
        let a = target_file(b"alpha", None);
        let b = target_file(b"bravo", None);
        write_many(
            dir.path(),
            [
                ("x/a.bin", &b"alpha"[..], &a),
                ("y/b.bin", &b"bravo"[..], &b),
            ]
            .into_iter(),
        )
        .unwrap();
        let a_names = names(dir.path(), "x/a.bin", &a);
        assert_eq!(a_names.len(), 2, "sha256 and sha512 names");
        for name in &a_names {
            assert_eq!(std::fs::read(name).unwrap(), b"alpha");
        }
        let inode = |p: &PathBuf| std::fs::metadata(p).unwrap().ino();
        assert_eq!(
            inode(&a_names[0]),
            inode(&a_names[1]),
            "hard links to one copy"
        );
        assert_eq!(
            std::fs::read(&names(dir.path(), "y/b.bin", &b)[0]).unwrap(),
            b"bravo"
        );

        // A file left damaged (as by a crash before the sync) is written again; a
        // good one is kept as it is.
        std::fs::remove_file(&a_names[1]).unwrap();
        std::fs::write(&a_names[1], b"").unwrap();
        let kept = inode(&a_names[0]);
        write_many(dir.path(), [("x/a.bin", &b"alpha"[..], &a)].into_iter()).unwrap();
        assert_eq!(std::fs::read(&a_names[1]).unwrap(), b"alpha");
        assert_eq!(inode(&a_names[0]), kept);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("x"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
