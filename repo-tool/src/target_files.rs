//! Target files in a repository's `targets/` directory: each under every
//! hash-prefixed name its metadata gives it, written in bulk and made durable once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use updater::integrity::{sha256_hex, sha512_hex};
use updater::metadata::TargetFile;

use crate::error::RepoError;

/// Describes `content` as a target with sha256 and sha512 hashes.
pub fn target_file(content: &[u8], custom: Option<Value>) -> TargetFile {
    TargetFile {
        length: content.len() as u64,
        hashes: updater::metadata::Hashes::from([
            ("sha256".into(), sha256_hex(content)),
            ("sha512".into(), sha512_hex(content)),
        ]),
        custom: custom.map(Box::new),
        unrecognized: Default::default(),
    }
}

/// Writes the files of many targets under every hash-prefixed name of their paths
/// (`DIR/HASH.NAME`, one file hard-linked under each name) in `targets_dir`, then
/// makes them durable together: one `syncfs` on Linux (elsewhere an `fsync` of each
/// file as it is written and of each directory at the end), instead of three
/// `fsync`s per target. The caller stages metadata that refers to the files only
/// after this returns, so a crash before the sync leaves unreferenced files only.
/// Every name is replaced atomically (a new copy or link is made under a temporary
/// name and renamed over it), and a file already in place is kept only when its
/// content matches its hash-prefixed name.
///
/// # Errors
/// IO errors, naming the file or directory; write-back errors are reported too.
pub fn write_many<'a>(
    targets_dir: &Path,
    targets: impl Iterator<Item = (&'a str, &'a [u8], &'a TargetFile)>,
) -> Result<(), RepoError> {
    std::fs::create_dir_all(targets_dir).map_err(io(targets_dir))?;
    let durability = Durability::begin(targets_dir)?;
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
            if holds(&dest, info).map_err(io(&dest))? {
                first.get_or_insert(dest);
                continue;
            }
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            let staged = match &first {
                // Another name of the same bytes: a hard link, under a temporary name.
                Some(copy) => link_in(&dir, copy)
                    .map(tempfile::NamedTempFile::into_temp_path)
                    .or_else(|_| write_in(&dir, content).map(|t| t.into_temp_path())),
                None => write_in(&dir, content).map(|t| t.into_temp_path()),
            }
            .map_err(io(&dir))?;
            staged.persist(&dest).map_err(|e| io(&dest)(e.error))?;
            dirs.insert(dir);
            first.get_or_insert(dest);
        }
    }
    durability.finish(&dirs)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RepoError {
    let path = path.display().to_string();
    move |source| RepoError::Io { path, source }
}

/// `content` in a new temporary file in `dir` (synced at once where there is no
/// `syncfs`).
fn write_in(dir: &Path, content: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".part")
        .tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, content)?;
    #[cfg(not(target_os = "linux"))]
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// A hard link to `copy` under a new temporary name in `dir`.
fn link_in(dir: &Path, copy: &Path) -> std::io::Result<tempfile::NamedTempFile<()>> {
    tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".link")
        .make_in(dir, |name| std::fs::hard_link(copy, name))
}

/// True when `path` holds exactly the content `info` describes; false when there
/// is no such file or its content differs.
fn holds(path: &Path, info: &TargetFile) -> std::io::Result<bool> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(updater::integrity::IntegrityCheck::check_bytes(
            &bytes,
            Some(info.length),
            Some(&info.hashes),
        )
        .is_ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// What makes a batch of writes durable. On Linux, the directory is opened before
/// anything is written, so that `syncfs` through it reports write-back errors that
/// happen during the batch (Linux 5.8 and later).
struct Durability {
    #[cfg(target_os = "linux")]
    dir: std::fs::File,
    #[cfg(target_os = "linux")]
    path: PathBuf,
}

impl Durability {
    fn begin(targets_dir: &Path) -> Result<Durability, RepoError> {
        #[cfg(target_os = "linux")]
        {
            let dir = std::fs::File::open(targets_dir).map_err(io(targets_dir))?;
            Ok(Durability {
                dir,
                path: targets_dir.to_path_buf(),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = targets_dir;
            Ok(Durability {})
        }
    }

    /// Makes every file written since [`Durability::begin`], and the renames in
    /// `dirs`, durable.
    fn finish(self, dirs: &BTreeSet<PathBuf>) -> Result<(), RepoError> {
        if dirs.is_empty() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            rustix::fs::syncfs(&self.dir).map_err(|e| io(&self.path)(e.into()))
        }
        #[cfg(not(target_os = "linux"))]
        {
            for dir in dirs {
                updater::store::sync_dir(dir).map_err(io(dir))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            same_file::is_same_file(&a_names[0], &a_names[1]).unwrap(),
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
        // A link to the good file tells whether it is still the same file afterwards.
        let probe = dir.path().join("probe");
        std::fs::hard_link(&a_names[0], &probe).unwrap();
        write_many(dir.path(), [("x/a.bin", &b"alpha"[..], &a)].into_iter()).unwrap();
        assert_eq!(std::fs::read(&a_names[1]).unwrap(), b"alpha");
        assert!(same_file::is_same_file(&a_names[0], &probe).unwrap());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("x"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
