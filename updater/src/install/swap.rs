//! Swapping whole directories: the platform-specific part of a directory install.
//!
//! - **Linux**: `renameat2(RENAME_EXCHANGE)` exchanges the two names in one atomic
//!   step, so the application's path always names a complete tree (tested, and
//!   crash-tested with SIGKILL).
//! - **macOS**: `renamex_np(RENAME_SWAP)` does the same on APFS (type-checked in CI,
//!   never run).
//! - **Elsewhere, and where the file system refuses the exchange** (Windows, some
//!   network file systems): two renames, retried while a file is in use on Windows;
//!   when the second fails, the first is undone. A crash between the two leaves no
//!   tree at the application's path for a moment; start-up renames the kept tree
//!   back (`DirectoryInstaller::restore_missing`). Tested under Wine.

use std::io;
use std::path::Path;

use super::platform::rename_with_retries;

/// How a swap was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Swapped {
    /// One atomic exchange: `b` holds what `a` held and the other way round.
    Exchanged,
    /// Two renames: `b` was moved to its aside name, then `a` to `b`.
    Renamed,
}

/// Exchanges the directories `a` and `b` atomically, or reports
/// [`io::ErrorKind::Unsupported`] when this platform or file system cannot.
#[cfg(any(target_os = "linux", target_os = "macos"))]
pub(super) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        // Not supported by the kernel (ENOSYS), this file system (EINVAL), or the call.
        Err(e)
            if e == rustix::io::Errno::INVAL
                || e == rustix::io::Errno::NOSYS
                || e == rustix::io::Errno::NOTSUP =>
        {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                io::Error::from(e),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// No atomic exchange of directories here.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub(super) fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "this platform cannot exchange two directories atomically",
    ))
}

/// Puts the tree at `new` in place at `current`, and the tree that was at `current`
/// at `aside` (which must not exist): one exchange where possible (then `new` holds
/// the old tree, and it is renamed to `aside`), else two renames with the first one
/// undone if the second fails. `current`, `new` and `aside` must be in one directory.
///
/// Guarantee: on `Ok`, `current` holds the new tree and `aside` the old one; on
/// `Err`, `current` still holds the old tree, unless the undo failed too (the error
/// then says so and names both paths).
pub(super) fn swap_in(new: &Path, current: &Path, aside: &Path) -> io::Result<Swapped> {
    swap_in_with(new, current, aside, exchange)
}

/// An atomic exchange of two directories (see [`exchange`]).
pub(super) type Exchange = fn(&Path, &Path) -> io::Result<()>;

/// [`swap_in`] with the exchange given, so that tests can take the fallback on Linux.
pub(super) fn swap_in_with(
    new: &Path,
    current: &Path,
    aside: &Path,
    exchange: Exchange,
) -> io::Result<Swapped> {
    match exchange(new, current) {
        Ok(()) => {
            // `new` now names the old tree. A crash before this rename is resolved by
            // start-up, which finds the old tree under `new` and keeps it. A failed
            // rename is undone by exchanging back, so that `Err` always means the old
            // tree is in place.
            if let Err(e) = rename_with_retries(new, aside) {
                return match exchange(new, current) {
                    Ok(()) => Err(e),
                    Err(back) => Err(io::Error::new(
                        e.kind(),
                        format!(
                            "{e}; exchanging back failed too ({back}): {} holds the new tree and {} the old one",
                            current.display(),
                            new.display()
                        ),
                    )),
                };
            }
            Ok(Swapped::Exchanged)
        }
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            rename_with_retries(current, aside)?;
            if let Err(e) = rename_with_retries(new, current) {
                return match rename_with_retries(aside, current) {
                    Ok(()) => Err(e),
                    Err(back) => Err(io::Error::new(
                        e.kind(),
                        format!(
                            "{e}; moving the installed tree back from {} failed too ({back}): rename it to {} by hand",
                            aside.display(),
                            current.display()
                        ),
                    )),
                };
            }
            Ok(Swapped::Renamed)
        }
        Err(e) => Err(e),
    }
}

/// The exchange that is never available: forces [`swap_in_with`]'s two renames.
#[cfg(test)]
pub(super) fn no_exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "test: no exchange",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn two_trees(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
        let (current, new, aside) = (
            dir.join("app"),
            dir.join(".app.next"),
            dir.join(".app.previous"),
        );
        fs::create_dir(&current).unwrap();
        fs::write(current.join("version"), b"1").unwrap();
        fs::create_dir(&new).unwrap();
        fs::write(new.join("version"), b"2").unwrap();
        (current, new, aside)
    }

    #[test]
    fn a_swap_puts_the_new_tree_in_place_and_keeps_the_old_one() {
        let atomic = if cfg!(any(target_os = "linux", target_os = "macos")) {
            Swapped::Exchanged
        } else {
            Swapped::Renamed
        };
        let ways: [(Exchange, Swapped); 2] = [(exchange, atomic), (no_exchange, Swapped::Renamed)];
        for (exchange, expected) in ways {
            let dir = tempfile::tempdir().unwrap();
            let (current, new, aside) = two_trees(dir.path());
            let how = swap_in_with(&new, &current, &aside, exchange).unwrap();
            assert_eq!(fs::read(current.join("version")).unwrap(), b"2");
            assert_eq!(fs::read(aside.join("version")).unwrap(), b"1");
            assert!(!new.exists());
            assert_eq!(how, expected);
        }
    }

    /// A rename that fails after the exchange is undone by exchanging back: an error
    /// always leaves the old tree in place and the new one where it was.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    fn a_failed_rename_after_the_exchange_exchanges_back() {
        let dir = tempfile::tempdir().unwrap();
        let (current, new, aside) = two_trees(dir.path());
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join("in the way"), b"").unwrap();
        swap_in(&new, &current, &aside).unwrap_err();
        assert_eq!(fs::read(current.join("version")).unwrap(), b"1");
        assert_eq!(fs::read(new.join("version")).unwrap(), b"2");
    }

    /// The fallback's rollback: the second rename fails (the new tree is missing), and
    /// the installed tree is renamed back, so the application's path is never left
    /// empty.
    #[test]
    fn a_failed_second_rename_puts_the_installed_tree_back() {
        let dir = tempfile::tempdir().unwrap();
        let (current, new, aside) = two_trees(dir.path());
        fs::remove_dir_all(&new).unwrap();
        let err = swap_in_with(&new, &current, &aside, no_exchange).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert_eq!(fs::read(current.join("version")).unwrap(), b"1");
        assert!(!aside.exists());
    }
}
