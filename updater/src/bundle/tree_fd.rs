//! Tree operations that must not be raced by whoever can write in the tree (the
//! application's user owns its preserved data, and the updater may run as root):
//! every directory is opened with `O_NOFOLLOW | O_DIRECTORY` and everything below it
//! is reached through that descriptor (`openat`, `fstatat`, `fchmod`, `readlinkat`),
//! so swapping a directory for a symbolic link mid-way never redirects a `chmod`, a
//! read or a listing outside the tree. Linux and macOS (rustix); other platforms use
//! the path-based versions in `tree`.

use std::ffi::CStr;
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{
    fchmod, fchown, fstat, openat, readlinkat, statat, AtFlags, Dir, FileType, Mode, OFlags, CWD,
};

use super::tree::with_path;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

fn open_dir_at<Fd: AsFd>(parent: Fd, name: &CStr) -> io::Result<OwnedFd> {
    Ok(openat(parent, name, DIR_FLAGS, Mode::empty())?)
}

/// Lists a directory's entries (without `.` and `..`).
fn names(dir: &OwnedFd) -> io::Result<Vec<(std::ffi::CString, FileType)>> {
    let mut out = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        out.push((name.to_owned(), entry.file_type()));
    }
    Ok(out)
}

/// Gives every directory under and including `dir` its owner's read, write and
/// search bits, through descriptors: a directory swapped for a link is skipped, never
/// followed.
pub(super) fn make_writable(dir: &Path) -> io::Result<()> {
    let fd = openat(CWD, dir, DIR_FLAGS, Mode::empty())
        .map_err(|e| with_path(e.into(), "opening", dir))?;
    writable(fd).map_err(|e| with_path(e, "making writable", dir))
}

fn writable(fd: OwnedFd) -> io::Result<()> {
    let mode = fstat(&fd)?.st_mode as u32 & 0o7777;
    if mode & 0o700 != 0o700 {
        fchmod(&fd, Mode::from_bits_truncate((mode | 0o700) as _))?;
    }
    for (name, kind) in names(&fd)? {
        if kind != FileType::Directory {
            continue;
        }
        match open_dir_at(&fd, &name) {
            Ok(child) => writable(child)?,
            // Replaced by a link or a file since it was listed: not followed.
            Err(e) if is_gone_or_not_a_dir(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `ELOOP` (a link where a directory was), `ENOTDIR` or `ENOENT`.
fn is_gone_or_not_a_dir(e: &io::Error) -> bool {
    use rustix::io::Errno;
    let raw = e.raw_os_error();
    [Errno::LOOP, Errno::NOTDIR, Errno::NOENT]
        .iter()
        .any(|errno| raw == Some(errno.raw_os_error()))
}

/// Copies the entry `source` (not followed if it is a link) to the new path `dest`:
/// files keep their contents and permission bits without set-id bits, links are
/// copied as links, directories recursively; when running as root, the copies keep
/// the source's owner and group. Returns the entries copied.
pub(super) fn copy_entry(source: &Path, dest: &Path) -> io::Result<u64> {
    let parent = source.parent().unwrap_or(Path::new("."));
    let name = source
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    // The parent is opened by path: callers check that no component of it is a link.
    let parent_fd = openat(CWD, parent, DIR_FLAGS, Mode::empty())
        .map_err(|e| with_path(e.into(), "opening", parent))?;
    let name = std::ffi::CString::new(name.as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a file name"))?;
    copy_at(&parent_fd, &name, dest).map_err(|e| with_path(e, "copying", source))
}

fn copy_at(parent: &OwnedFd, name: &CStr, dest: &Path) -> io::Result<u64> {
    let stat = statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let kind = FileType::from_raw_mode(stat.st_mode as _);
    let mode = stat.st_mode as u32 & 0o777;
    let owner = (stat.st_uid, stat.st_gid);
    match kind {
        FileType::Symlink => {
            let target = readlinkat(parent, name, Vec::new())?;
            let target = std::ffi::OsStr::from_bytes_compat(target.to_bytes());
            std::os::unix::fs::symlink(target, dest)?;
            keep_owner_of_link(dest, owner);
            Ok(1)
        }
        FileType::Directory => {
            let fd = open_dir_at(parent, name)?;
            fs::create_dir(dest)?;
            let mut copied = 1;
            for (child, _) in names(&fd)? {
                let child_dest = dest.join(std::ffi::OsStr::from_bytes_compat(child.to_bytes()));
                copied += copy_at(&fd, &child, &child_dest)?;
            }
            let made = fs::File::open(dest)?;
            fchmod(&made, Mode::from_bits_truncate(mode as _))?;
            keep_owner(&made, owner);
            made.sync_all()?;
            Ok(copied)
        }
        FileType::RegularFile => {
            let from = openat(
                parent,
                name,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let mut from = fs::File::from(from);
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut to = options.open(dest)?;
            io::copy(&mut from, &mut to)?;
            fchmod(&to, Mode::from_bits_truncate(mode as _))?;
            keep_owner(&to, owner);
            to.sync_all()?;
            Ok(1)
        }
        // Sockets, FIFOs and devices an application left behind are not data.
        _ => Ok(0),
    }
}

/// Gives a copy the source's owner when running as root (otherwise the copy is the
/// caller's own, as it must be). Best effort: a failure is logged.
fn keep_owner(file: &fs::File, (uid, gid): (u32, u32)) {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let (uid, gid) = (
        rustix::fs::Uid::from_raw(uid as _),
        rustix::fs::Gid::from_raw(gid as _),
    );
    if let Err(e) = fchown(file, Some(uid), Some(gid)) {
        tracing::warn!(error = %e, "could not keep the owner of a preserved file");
    }
}

fn keep_owner_of_link(path: &Path, (uid, gid): (u32, u32)) {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    if let Err(e) = std::os::unix::fs::lchown(path, Some(uid), Some(gid)) {
        tracing::warn!(path = %path.display(), error = %e, "could not keep the owner of a preserved link");
    }
}

/// `OsStr` from raw bytes on unix.
trait FromBytesCompat {
    fn from_bytes_compat(bytes: &[u8]) -> &std::ffi::OsStr;
}

impl FromBytesCompat for std::ffi::OsStr {
    fn from_bytes_compat(bytes: &[u8]) -> &std::ffi::OsStr {
        std::os::unix::ffi::OsStrExt::from_bytes(bytes)
    }
}
