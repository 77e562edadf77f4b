//! Every platform-specific operation of the installer, and nothing else.
//!
//! - **Linux: tested** (the unit tests and the SIGKILL crash test run here).
//! - **Windows: tested under Wine 8** (`scripts/windows-test.sh`: the unit tests, the
//!   install, rollback and crash tests, replacing a running executable, and the
//!   end-to-end self-update). A running executable cannot be overwritten or deleted
//!   there, only renamed, so [`replace_exe`] renames it aside and the new file into its
//!   place: two renames, not one. A crash between them leaves no file at the
//!   executable's path; the next start-up renames the aside file back
//!   (`Installer::restore_replaced`). Windows has no execute bit, so no permissions are
//!   copied, and directories cannot be flushed (NTFS journals renames; see
//!   [`crate::store::sync_dir`]).
//! - **Other unix (macOS, the BSDs): written on the same POSIX calls** (`rename(2)`,
//!   `link(2)`, `fsync(2)` on a directory, `chmod(2)`); macOS is type-checked in CI,
//!   never run.

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

/// Moves `new` over `exe`; `new` no longer exists afterwards, and `exe` is never left
/// missing.
///
/// Windows cannot overwrite or delete an executable while a process runs it (this one
/// or another), but it can rename it. So when the plain rename is refused as "in use"
/// (after a few retries: antivirus and indexers hold files briefly), the running file is
/// renamed aside to `.{name}.replaced-…` and `new` into its place; if that second rename
/// fails, the old file is renamed back. The aside file is deleted at once when nothing
/// runs it any more, else by the next start-up's clean-up (`remove_leftovers`).
#[cfg(windows)]
pub(super) fn replace_exe(new: &Path, exe: &Path) -> io::Result<()> {
    match rename_with_retries(new, exe) {
        Ok(()) => return Ok(()),
        Err(e) if !in_use(&e) => return Err(e),
        Err(_) => {}
    }
    let aside = aside_name(exe)?;
    rename_with_retries(exe, &aside)?;
    if let Err(e) = rename_with_retries(new, exe) {
        return match rename_with_retries(&aside, exe) {
            Ok(()) => Err(e),
            Err(back) => Err(io::Error::new(
                e.kind(),
                format!(
                    "{e}; moving the old executable back from {} failed too ({back}): rename it to {} by hand",
                    aside.display(),
                    exe.display()
                ),
            )),
        };
    }
    if let Err(e) = fs::remove_file(&aside) {
        tracing::debug!(file = %aside.display(), error = %e, "the replaced executable is still in use; removed at the next start");
    }
    Ok(())
}

/// The name prefix of executables renamed aside while running (see [`replace_exe`]).
pub(super) const REPLACED_SUFFIX: &str = ".replaced-";

#[cfg(windows)]
fn aside_name(exe: &Path) -> io::Result<std::path::PathBuf> {
    let name = exe
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut aside = std::ffi::OsString::from(".");
    aside.push(name);
    aside.push(format!("{REPLACED_SUFFIX}{}-{nanos}", std::process::id()));
    Ok(exe.with_file_name(aside))
}

/// Windows: access denied (5) or sharing violation (32), the file is open or running.
/// Never on unix, where an open file does not stop a rename.
fn in_use(e: &io::Error) -> bool {
    cfg!(windows) && matches!(e.raw_os_error(), Some(5 | 32))
}

/// `fs::rename`, retried up to 5 times over about half a second while the file is in
/// use on Windows (a scanner holding it for a moment); other errors, and every error
/// on unix, are returned at once.
pub(super) fn rename_with_retries(from: &Path, to: &Path) -> io::Result<()> {
    let mut wait = std::time::Duration::from_millis(20);
    for _ in 0..4 {
        match fs::rename(from, to) {
            Err(e) if in_use(&e) => std::thread::sleep(wait),
            other => return other,
        }
        wait *= 2;
    }
    fs::rename(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unix only: Windows has no mode bits to copy (`copy_permissions` does nothing there).
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

    /// The rollback of a Windows replace: the running file is moved aside, the new one
    /// cannot be moved in (held open without delete sharing), and the old one is moved
    /// back, so the executable is never missing.
    #[cfg(windows)]
    #[test]
    fn a_failed_second_rename_puts_the_old_executable_back() {
        use std::os::windows::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (exe, new) = (dir.path().join("app.exe"), dir.path().join("new.exe"));
        fs::write(&exe, b"old").unwrap();
        fs::write(&new, b"new").unwrap();
        // Held with no sharing at all: neither renamed nor opened by anyone else.
        let held = fs::OpenOptions::new()
            .read(true)
            .share_mode(0)
            .open(&new)
            .unwrap();
        let err = replace_exe(&new, &exe).unwrap_err();
        assert!(in_use(&err), "{err}");
        assert_eq!(fs::read(&exe).unwrap(), b"old");
        drop(held);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "nothing renamed aside is left: {names:?}");
        replace_exe(&new, &exe).unwrap();
        assert_eq!(fs::read(&exe).unwrap(), b"new");
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
