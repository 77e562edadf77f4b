//! Application trees on disk: their digest (how an installed tree is identified),
//! making them durable, carrying preserved paths over, and removing them.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ring::digest;

use super::EntryPath;

/// The digest of a directory tree: hex SHA-256 over its manifest, one line per entry
/// below `root` (the root itself is not included), in a fixed order (depth first,
/// names sorted bytewise). Each line gives the kind (`d`, `f`, `l`), the permission
/// bits (0 on Windows), the size and SHA-256 of a file or the target of a link, and
/// the path relative to `root` as hex bytes. Symbolic links are never followed.
///
/// Entries at or under a path in `skip` (the bundle's preserved paths) are left out,
/// so user data does not change a tree's identity.
///
/// Guarantee: two trees have the same digest exactly when they hold the same paths,
/// kinds, permission bits, file contents and link targets outside `skip` (up to
/// SHA-256 collisions).
///
/// # Errors
/// The first IO error, naming the path.
pub fn digest(root: &Path, skip: &[EntryPath]) -> io::Result<String> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    walk(root, root, skip, &mut |_, path, meta| {
        let line = manifest_line(root, path, meta, &mut buf)?;
        ctx.update(line.as_bytes());
        Ok(())
    })?;
    Ok(hex::encode(ctx.finish()))
}

/// The manifest [`digest()`] hashes, as text: for tests, and for people comparing two
/// trees.
///
/// # Errors
/// As [`digest()`].
pub fn manifest(root: &Path, skip: &[EntryPath]) -> io::Result<String> {
    let mut out = String::new();
    let mut buf = vec![0u8; 256 * 1024];
    walk(root, root, skip, &mut |_, path, meta| {
        out.push_str(&manifest_line(root, path, meta, &mut buf)?);
        Ok(())
    })?;
    Ok(out)
}

pub(crate) type Visit<'a> = dyn FnMut(&str, &Path, &fs::Metadata) -> io::Result<()> + 'a;

/// Calls `visit(relative path, path, metadata)` for every entry below `dir`, depth
/// first, names sorted bytewise, links not followed, entries in `skip` left out.
pub(crate) fn walk(
    root: &Path,
    dir: &Path,
    skip: &[EntryPath],
    visit: &mut Visit<'_>,
) -> io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| with_path(e, "listing", dir))?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<io::Result<_>>()
        .map_err(|e| with_path(e, "listing", dir))?;
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in names {
        let path = dir.join(&name);
        let rel = relative(root, &path);
        if skip.iter().any(|s| is_within(&rel, s.as_str())) {
            continue;
        }
        let meta = fs::symlink_metadata(&path).map_err(|e| with_path(e, "reading", &path))?;
        visit(&rel, &path, &meta)?;
        if meta.is_dir() {
            walk(root, &path, skip, visit)?;
        }
    }
    Ok(())
}

fn is_within(rel: &str, prefix: &str) -> bool {
    rel == prefix || (rel.starts_with(prefix) && rel.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// `path` relative to `root`, `/`-separated (lossy only for names that are not
/// Unicode, which no bundle installs).
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

fn manifest_line(
    root: &Path,
    path: &Path,
    meta: &fs::Metadata,
    buf: &mut [u8],
) -> io::Result<String> {
    let mode = permission_bits(meta);
    let name = hex::encode(raw_relative(root, path));
    let file_type = meta.file_type();
    Ok(if file_type.is_symlink() {
        let target = fs::read_link(path).map_err(|e| with_path(e, "reading the link", path))?;
        let target = hex::encode(target.as_os_str().as_encoded_bytes());
        format!("l {mode:o} 0 {target} {name}\n")
    } else if file_type.is_dir() {
        format!("d {mode:o} 0 - {name}\n")
    } else if file_type.is_file() {
        let (size, sha) = hash_file(path, buf)?;
        format!("f {mode:o} {size} {sha} {name}\n")
    } else {
        format!("o {mode:o} 0 - {name}\n")
    })
}

/// `path` relative to `root` as its exact bytes, `/`-separated: names that are not
/// Unicode stay distinct in the digest.
fn raw_relative(root: &Path, path: &Path) -> Vec<u8> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = Vec::new();
    for (i, part) in rel.components().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(part.as_os_str().as_encoded_bytes());
    }
    out
}

fn hash_file(path: &Path, buf: &mut [u8]) -> io::Result<(u64, String)> {
    let mut file = fs::File::open(path).map_err(|e| with_path(e, "opening", path))?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut size = 0u64;
    loop {
        let n = file.read(buf).map_err(|e| with_path(e, "reading", path))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        ctx.update(&buf[..n]);
    }
    Ok((size, hex::encode(ctx.finish())))
}

#[cfg(unix)]
fn permission_bits(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(windows)]
fn permission_bits(_meta: &fs::Metadata) -> u32 {
    0
}

pub(crate) fn with_path(e: io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{action} {}: {e}", path.display()))
}

/// Makes everything written under a directory durable at the end of a batch: one
/// `syncfs(2)` on Linux (the directory is opened first, so write-back errors during
/// the batch are reported, Linux 5.8 and later); elsewhere the writer `fsync`s each
/// file and [`Durability::finish`] each directory.
pub(crate) struct Durability {
    root: PathBuf,
    #[cfg(target_os = "linux")]
    handle: fs::File,
}

impl Durability {
    /// Starts a batch of writes under `root`.
    pub(crate) fn start(root: &Path) -> io::Result<Durability> {
        Ok(Durability {
            root: root.to_path_buf(),
            #[cfg(target_os = "linux")]
            handle: fs::File::open(root)?,
        })
    }

    /// Flushes the batch (files, links and directories) to disk.
    pub(crate) fn finish(self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            let _ = &self.root;
            rustix::fs::syncfs(&self.handle).map_err(io::Error::from)
        }
        #[cfg(not(target_os = "linux"))]
        sync_dirs(&self.root)
    }
}

/// `fsync` of every directory under and including `dir` (files are flushed as they
/// are written).
#[cfg(not(target_os = "linux"))]
fn sync_dirs(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_dirs(&entry.path())?;
        }
    }
    crate::store::sync_dir(dir)
}

/// Copies each preserved path that exists in `from` into `to`, replacing what `to`
/// holds there (the installed copy wins over the one a release ships). Files keep
/// their contents and permission bits (never set-user-ID, set-group-ID or sticky
/// bits), links are copied as links, directories recursively; as root, copies keep
/// their owner and group. Everything copied is flushed.
///
/// A preserved path is copied only when every directory above it is a real directory
/// (not a link) in both trees: nothing is read or written through a link, and no
/// directory is created for it. On Linux and macOS the copy goes through descriptors
/// (`O_NOFOLLOW`), so a directory swapped for a link during the copy is not followed
/// either. A path that cannot be carried over is logged.
///
/// # Errors
/// The first IO error, naming the path.
pub fn copy_preserved(from: &Path, to: &Path, preserved: &[EntryPath]) -> io::Result<u64> {
    let mut copied = 0;
    for path in preserved {
        let source = from.join(path.to_path());
        match fs::symlink_metadata(&source) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(with_path(e, "reading", &source)),
        }
        if !real_dirs_above(from, path) || !real_dirs_above(to, path) {
            tracing::warn!(path = %path, from = %from.display(), to = %to.display(),
                "a preserved path lies under a link or a missing directory; it is not carried over");
            continue;
        }
        let dest = to.join(path.to_path());
        if fs::symlink_metadata(&dest).is_ok() {
            remove(&dest)?;
        }
        copied += copy_entry(&source, &dest)?;
        if let Some(parent) = dest.parent() {
            crate::store::sync_dir(parent).map_err(|e| with_path(e, "flushing", parent))?;
        }
    }
    Ok(copied)
}

/// Whether every directory above `path` in `root` exists and is a real directory.
fn real_dirs_above(root: &Path, path: &EntryPath) -> bool {
    let mut dir = root.to_path_buf();
    let segments: Vec<&str> = path.segments().collect();
    for segment in &segments[..segments.len().saturating_sub(1)] {
        dir.push(segment);
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return false;
        }
    }
    true
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
fn copy_entry(source: &Path, dest: &Path) -> io::Result<u64> {
    super::tree_fd::copy_entry(source, dest)
}

/// By path, links not followed at the entry itself (no descriptor-relative calls
/// here: see `tree_fd` for Linux and macOS).
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn copy_entry(source: &Path, dest: &Path) -> io::Result<u64> {
    let meta = fs::symlink_metadata(source).map_err(|e| with_path(e, "reading", source))?;
    let file_type = meta.file_type();
    if file_type.is_symlink() {
        let target = fs::read_link(source).map_err(|e| with_path(e, "reading the link", source))?;
        copy_link(&target, dest)?;
        Ok(1)
    } else if file_type.is_dir() {
        fs::create_dir(dest).map_err(|e| with_path(e, "creating", dest))?;
        let mut copied = 1;
        for entry in fs::read_dir(source).map_err(|e| with_path(e, "listing", source))? {
            let entry = entry.map_err(|e| with_path(e, "listing", source))?;
            copied += copy_entry(&entry.path(), &dest.join(entry.file_name()))?;
        }
        crate::store::sync_dir(dest).map_err(|e| with_path(e, "flushing", dest))?;
        Ok(copied)
    } else if file_type.is_file() {
        fs::copy(source, dest).map_err(|e| with_path(e, "copying", source))?;
        strip_set_id(dest, &meta)?;
        fs::OpenOptions::new()
            .write(true)
            .open(dest)
            .and_then(|f| f.sync_all())
            .map_err(|e| with_path(e, "flushing", dest))?;
        Ok(1)
    } else {
        // Sockets and FIFOs an application left behind are not data to carry over.
        Ok(0)
    }
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
fn strip_set_id(dest: &Path, meta: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(
        dest,
        fs::Permissions::from_mode(meta.permissions().mode() & 0o777),
    )
    .map_err(|e| with_path(e, "setting the mode of", dest))
}

#[cfg(windows)]
fn strip_set_id(_dest: &Path, _meta: &fs::Metadata) -> io::Result<()> {
    Ok(())
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
fn copy_link(target: &Path, dest: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, dest).map_err(|e| with_path(e, "creating the link", dest))
}

#[cfg(windows)]
fn copy_link(target: &Path, dest: &Path) -> io::Result<()> {
    std::os::windows::fs::symlink_file(target, dest)
        .map_err(|e| with_path(e, "creating the link", dest))
}

/// Removes a file, link or whole tree at `path` without following links, first
/// giving directories their owner's write and search bits so that a read-only
/// directory (as a release may ship) does not stop the removal.
///
/// # Errors
/// The first IO error, naming the path.
pub fn remove(path: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(path).map_err(|e| with_path(e, "reading", path))?;
    if meta.is_dir() {
        make_writable(path)?;
        fs::remove_dir_all(path).map_err(|e| with_path(e, "removing", path))
    } else {
        fs::remove_file(path).map_err(|e| with_path(e, "removing", path))
    }
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
fn make_writable(dir: &Path) -> io::Result<()> {
    super::tree_fd::make_writable(dir)
}

/// By path (see `tree_fd` for the race-free version on Linux and macOS).
#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
fn make_writable(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::symlink_metadata(dir).map_err(|e| with_path(e, "reading", dir))?;
    if !meta.is_dir() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o700 != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o700))
            .map_err(|e| with_path(e, "making writable", dir))?;
    }
    for entry in fs::read_dir(dir).map_err(|e| with_path(e, "listing", dir))? {
        let entry = entry.map_err(|e| with_path(e, "listing", dir))?;
        if entry
            .file_type()
            .map_err(|e| with_path(e, "reading", &entry.path()))?
            .is_dir()
        {
            make_writable(&entry.path())?;
        }
    }
    Ok(())
}

/// Windows removes read-only files through `remove_dir_all` (std clears the flag).
#[cfg(windows)]
fn make_writable(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) {
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::create_dir_all(root.join("data/cache")).unwrap();
        fs::write(root.join("bin/app"), b"binary").unwrap();
        fs::write(root.join("data/cache/x"), b"cache").unwrap();
        fs::write(root.join("README"), b"read me").unwrap();
    }

    #[test]
    fn the_digest_changes_with_content_and_names_but_not_with_preserved_paths() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        tree(&a);
        tree(&b);
        let none: Vec<EntryPath> = Vec::new();
        let data = vec![EntryPath::parse(b"data").unwrap()];
        assert_eq!(digest(&a, &none).unwrap(), digest(&b, &none).unwrap());
        fs::write(b.join("data/cache/x"), b"other").unwrap();
        assert_ne!(digest(&a, &none).unwrap(), digest(&b, &none).unwrap());
        assert_eq!(digest(&a, &data).unwrap(), digest(&b, &data).unwrap());
        fs::rename(b.join("README"), b.join("README2")).unwrap();
        assert_ne!(digest(&a, &data).unwrap(), digest(&b, &data).unwrap());
        let text = manifest(&a, &data).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.contains(&hex::encode("data")), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn modes_and_links_are_part_of_the_digest_and_links_are_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        tree(&a);
        let none: Vec<EntryPath> = Vec::new();
        let before = digest(&a, &none).unwrap();
        fs::set_permissions(a.join("bin/app"), fs::Permissions::from_mode(0o755)).unwrap();
        let chmodded = digest(&a, &none).unwrap();
        assert_ne!(before, chmodded);
        std::os::unix::fs::symlink("/", a.join("root-link")).unwrap();
        let linked = digest(&a, &none).unwrap();
        assert_ne!(chmodded, linked);
        assert!(manifest(&a, &none).unwrap().lines().count() < 10);
    }

    #[test]
    fn preserved_paths_are_copied_over_and_replace_shipped_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old"), dir.path().join("new"));
        tree(&old);
        fs::create_dir_all(new.join("data")).unwrap();
        fs::write(new.join("data/shipped"), b"default").unwrap();
        fs::write(old.join("settings"), b"mine").unwrap();
        let keep = vec![
            EntryPath::parse(b"data").unwrap(),
            EntryPath::parse(b"settings").unwrap(),
            EntryPath::parse(b"absent/file").unwrap(),
        ];
        assert_eq!(copy_preserved(&old, &new, &keep).unwrap(), 4);
        // A preserved path under a link is not followed, in either tree.
        #[cfg(unix)]
        {
            let outside = dir.path().join("outside");
            fs::create_dir(&outside).unwrap();
            fs::write(outside.join("secret"), b"s").unwrap();
            std::os::unix::fs::symlink(&outside, old.join("linked")).unwrap();
            let through = vec![EntryPath::parse(b"linked/secret").unwrap()];
            fs::create_dir(new.join("linked")).unwrap();
            assert_eq!(copy_preserved(&old, &new, &through).unwrap(), 0);
            assert!(!new.join("linked/secret").exists());
        }
        assert_eq!(fs::read(new.join("data/cache/x")).unwrap(), b"cache");
        assert!(!new.join("data/shipped").exists());
        assert_eq!(fs::read(new.join("settings")).unwrap(), b"mine");
        assert!(!new.join("absent").exists());
    }

    /// As root, a user's set-user-ID file in a preserved directory must not become a
    /// root-owned set-user-ID file: set-id bits are never copied.
    #[cfg(unix)]
    #[test]
    fn preserved_copies_never_carry_set_id_bits() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old"), dir.path().join("new"));
        fs::create_dir_all(old.join("data")).unwrap();
        fs::create_dir_all(&new).unwrap();
        fs::write(old.join("data/shell"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(old.join("data/shell"), fs::Permissions::from_mode(0o4755)).unwrap();
        fs::set_permissions(old.join("data"), fs::Permissions::from_mode(0o2775)).unwrap();
        copy_preserved(&old, &new, &[EntryPath::parse(b"data").unwrap()]).unwrap();
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&new.join("data/shell")), 0o755);
        assert_eq!(mode(&new.join("data")), 0o775);
    }

    #[cfg(unix)]
    #[test]
    fn remove_handles_read_only_directories_and_does_not_follow_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("keep"), b"k").unwrap();
        let t = dir.path().join("t");
        tree(&t);
        std::os::unix::fs::symlink(&outside, t.join("bin/out")).unwrap();
        fs::set_permissions(t.join("bin"), fs::Permissions::from_mode(0o555)).unwrap();
        remove(&t).unwrap();
        assert!(!t.exists());
        assert_eq!(fs::read(outside.join("keep")).unwrap(), b"k");
    }
}
