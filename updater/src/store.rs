//! Trusted state on disk. Every write is atomic and durable: a temporary file in the
//! same directory, `fsync`, rename over the old file, `fsync` of the directory. A
//! crash at any point leaves either the old or the new file, never a mix, and the
//! temporary file is removed on error.

use crate::names::{local_file_name, CASE_INSENSITIVE_FILE_SYSTEMS};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Characters left as they are when a role name or target path becomes a file name
/// or URL component: those Python's `urllib.parse.quote(name, safe="")` leaves, so
/// names match other TUF implementations.
pub const NAME_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Percent-encodes a role name into one path or URL component, exactly as Python's
/// `urllib.parse.quote(name, safe="")` does: `/` and every other special character is
/// encoded, so `NAME.json` never escapes its directory.
pub fn encode_name(name: &str) -> String {
    utf8_percent_encode(name, NAME_ENCODE_SET).to_string()
}

/// The local file name of a target path: [`encode_name`], with `.`, `..` and the empty
/// path (which would name a directory) encoded further, and made safe on Windows and
/// case-insensitive file systems by [`local_file_name`] (no device names such as
/// `CON`, no trailing dot, capitals encoded where case is ignored).
pub fn target_file_name(target_path: &str) -> String {
    match target_path {
        "" => "%00".into(),
        "." | ".." => target_path.replace('.', "%2E"),
        _ => local_file_name(&encode_name(target_path), CASE_INSENSITIVE_FILE_SYSTEMS),
    }
}

/// Writes `bytes` to `path` atomically and durably.
///
/// # Errors
/// Any IO error, with the path; the old file at `path` is then untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".part")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_after_rename(path, dir)
}

/// Makes a rename into `dir` durable. Unix: `fsync` of the directory. Windows: the
/// renamed file is flushed again (`FlushFileBuffers`), which on NTFS forces the metadata
/// journal holding the rename to disk; directories cannot be flushed themselves.
#[cfg(unix)]
fn sync_after_rename(_path: &Path, dir: &Path) -> std::io::Result<()> {
    sync_dir(dir)
}

#[cfg(windows)]
fn sync_after_rename(path: &Path, _dir: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .sync_all()
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `fsync`s a directory so that renames and removals in it are durable.
///
/// On Windows a directory cannot be flushed (opening one as a file is refused, and
/// `FlushFileBuffers` does not take directory handles): NTFS journals renames and
/// removals in its metadata log, so after a crash the directory holds the old entry or
/// the new one, never a torn one; this then only checks that `dir` is a directory.
///
/// # Errors
/// Any IO error opening or syncing the directory.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// See the unix version: on Windows, checks that `dir` is a directory.
///
/// # Errors
/// `dir` is missing or not a directory.
#[cfg(windows)]
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    if std::fs::metadata(dir)?.is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a directory", dir.display()),
        ))
    }
}

/// Trusted metadata files, one per role, named `ENCODED_ROLE.json` in one directory.
///
/// Holds only bytes that [`crate::trust`] accepted, exactly as they were received.
#[derive(Debug, Clone)]
pub struct MetadataStore {
    dir: PathBuf,
}

impl MetadataStore {
    /// A store in `dir`, which must exist.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        MetadataStore { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `role`.
    pub fn path(&self, role: &str) -> PathBuf {
        let name = format!("{}.json", encode_name(role));
        self.dir
            .join(local_file_name(&name, CASE_INSENSITIVE_FILE_SYSTEMS))
    }

    /// The stored bytes of `role`, or `None` if there is no such file.
    ///
    /// # Errors
    /// Any IO error other than "not found".
    pub fn load(&self, role: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(role)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores the verified bytes of `role`, atomically and durably.
    ///
    /// # Errors
    /// Any IO error; the previous file is then untouched.
    pub fn save(&self, role: &str, bytes: &[u8]) -> std::io::Result<()> {
        write_atomic(&self.path(role), bytes)
    }

    /// Removes the file of `role`, if any, durably.
    ///
    /// # Errors
    /// Any IO error other than "not found".
    pub fn remove(&self, role: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(role)) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_like_python_quote() {
        assert_eq!(encode_name("registry.npmjs.org"), "registry.npmjs.org");
        assert_eq!(encode_name("../delegatedrole"), "..%2Fdelegatedrole");
        assert_eq!(encode_name("/x"), "%2Fx");
        assert_eq!(encode_name("?"), "%3F");
        assert_eq!(encode_name("#"), "%23");
        assert_eq!(encode_name("a b~c"), "a%20b~c");
        assert_eq!(encode_name("é"), "%C3%A9");
    }

    #[test]
    fn target_file_names_never_name_a_directory() {
        assert_eq!(target_file_name("a/b.txt"), "a%2Fb.txt");
        for p in ["", ".", ".."] {
            let name = target_file_name(p);
            assert!(
                !["", ".", ".."].contains(&name.as_str()),
                "{p:?} -> {name:?}"
            );
        }
    }

    /// Target paths an attacker may sign (or a careless publisher may choose) that mean
    /// something else as Windows file names: each stays one file of its own, directly
    /// in the directory, and reads back as itself.
    #[test]
    fn hostile_target_paths_are_distinct_files_in_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "CON",
            "nul.txt",
            "con.json",
            "LPT1",
            "App.exe",
            "app.exe",
            "..\\..\\evil.exe",
            "C:\\Windows\\evil.exe",
            "a:stream",
            "x.",
            "x",
            "x ",
            "dir/sub/file",
        ];
        for n in names {
            write_atomic(&dir.path().join(target_file_name(n)), n.as_bytes()).unwrap();
        }
        for n in names {
            let bytes = std::fs::read(dir.path().join(target_file_name(n))).unwrap();
            assert_eq!(bytes, n.as_bytes(), "{n:?}");
        }
        let entries: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(entries.len(), names.len(), "{entries:?}");
        assert!(entries.iter().all(|e| e.file_type().unwrap().is_file()));
    }

    /// Deeper than Windows' old 260-character limit (std switches to `\\?\` paths).
    #[test]
    fn a_store_deeper_than_max_path_works() {
        let dir = tempfile::tempdir().unwrap();
        let mut deep = dir.path().to_path_buf();
        while deep.as_os_str().len() < 320 {
            deep.push("a-directory-name-of-forty-characters-xx");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let store = MetadataStore::new(&deep);
        store.save("root", b"deep").unwrap();
        assert_eq!(store.load("root").unwrap().unwrap(), b"deep");
        assert!(store.path("root").as_os_str().len() > 260);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::new(dir.path());
        store.save("root", b"one").unwrap();
        store.save("root", b"two").unwrap();
        assert_eq!(store.load("root").unwrap().unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["root.json"]);
        store.remove("root").unwrap();
        assert!(store.load("root").unwrap().is_none());
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = MetadataStore::new(dir.path());
        store.save("root", b"old").unwrap();
        // A directory in the way of the rename makes the write fail.
        std::fs::create_dir(dir.path().join("targets.json")).unwrap();
        assert!(store.save("targets", b"new").is_err());
        assert_eq!(store.load("root").unwrap().unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
