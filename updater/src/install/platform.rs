//! Every platform-specific operation of the installer, and nothing else.
//!
//! - **Linux: tested** (the unit tests and the SIGKILL crash test run here).
//! - **Other unix (macOS, the BSDs): written on the same POSIX calls** (`rename(2)`,
//!   `link(2)`, `fsync(2)` on a directory, `chmod(2)`) **but untested.**
//! - **Windows: written but untested** (it is not even compiled in this project's CI).
//!   A running executable cannot be replaced or deleted there, only renamed, so
//!   replacing the *running* executable goes through the `self-replace` crate, which
//!   moves it aside, schedules its deletion at exit and moves the new file into its
//!   place. That is two renames, not one: a crash between them leaves no file at the
//!   executable's path. Windows has no execute bit, so no permissions are copied, and
//!   directories cannot be `fsync`ed through `std`, so that step is skipped (NTFS
//!   journals its metadata).

use std::fs::{self, Metadata};
use std::io;
use std::path::Path;

/// Gives `to` the permission bits of the executable whose metadata is `exe`: read,
/// write and execute for owner, group and others. Set-user-ID, set-group-ID and
/// sticky bits are deliberately not carried over, and ownership is not copied (the
/// new file belongs to whoever runs the install).
#[cfg(unix)]
pub(super) fn copy_permissions(exe: &Metadata, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = exe.permissions().mode() & 0o777;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))
}

/// Windows has no execute bit and the new file inherits the directory's ACL; nothing
/// to copy.
#[cfg(windows)]
pub(super) fn copy_permissions(_exe: &Metadata, _to: &Path) -> io::Result<()> {
    Ok(())
}

/// Flushes a file's data and metadata (including its mode) to disk.
#[cfg(unix)]
pub(super) fn sync_file(path: &Path) -> io::Result<()> {
    // fsync(2) works on a read-only descriptor, which also works when the copied
    // permissions leave the file read-only.
    fs::File::open(path)?.sync_all()
}

/// Flushes a file's data and metadata to disk (`FlushFileBuffers` needs write access).
#[cfg(windows)]
pub(super) fn sync_file(path: &Path) -> io::Result<()> {
    fs::OpenOptions::new().write(true).open(path)?.sync_all()
}

/// Makes renames and removals in `dir` durable ([`crate::store::sync_dir`]: `fsync` of
/// the directory on unix; on Windows NTFS's metadata journal).
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    crate::store::sync_dir(dir)
}

/// Whether two paths name the same file: same device and inode on unix, same volume
/// serial number and file index on Windows (the `same-file` crate), so hard links count.
pub(super) fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    same_file::is_same_file(a, b)
}

/// Moves `new` over `exe` in one atomic `rename(2)`: at every instant `exe` names
/// either the old file or the new one. `new` must be in the same directory. The old
/// file's inode lives on for a process still running it.
#[cfg(unix)]
pub(super) fn replace_exe(new: &Path, exe: &Path) -> io::Result<()> {
    fs::rename(new, exe)
}

/// Moves `new` over `exe`. For the running executable this uses `self-replace`
/// (see the module docs); otherwise `MoveFileExW(MOVEFILE_REPLACE_EXISTING)` through
/// `fs::rename`. Either way `new` no longer exists afterwards.
#[cfg(windows)]
pub(super) fn replace_exe(new: &Path, exe: &Path) -> io::Result<()> {
    if is_current_exe(exe) {
        // self-replace copies `new` next to the executable and renames the copy into
        // place; remove the source, as rename would have.
        self_replace::self_replace(new)?;
        fs::remove_file(new)
    } else {
        fs::rename(new, exe)
    }
}

#[cfg(windows)]
fn is_current_exe(path: &Path) -> bool {
    match (
        std::env::current_exe().and_then(fs::canonicalize),
        fs::canonicalize(path),
    ) {
        (Ok(current), Ok(path)) => current == path,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn copies_rwx_bits_but_not_setuid() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"a").unwrap();
        fs::write(&b, b"b").unwrap();
        fs::set_permissions(&a, fs::Permissions::from_mode(0o4750)).unwrap();
        copy_permissions(&fs::metadata(&a).unwrap(), &b).unwrap();
        assert_eq!(
            fs::metadata(&b).unwrap().permissions().mode() & 0o7777,
            0o750
        );
        sync_file(&b).unwrap();
        sync_dir(dir.path()).unwrap();
    }

    #[test]
    fn hard_links_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        fs::write(&a, b"x").unwrap();
        fs::hard_link(&a, &b).unwrap();
        fs::write(&c, b"x").unwrap();
        assert!(same_file(&a, &b).unwrap());
        assert!(!same_file(&a, &c).unwrap());
        replace_exe(&c, &a).unwrap();
        assert!(!c.exists());
        assert!(!same_file(&a, &b).unwrap());
    }
}
