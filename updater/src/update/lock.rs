//! One updater at a time per data directory: an advisory lock on `DATA_DIR/lock`.
//!
//! Every [`Updater`](super::Updater) operation that reads or writes the data
//! directory holds the lock for its duration, so two processes (an application and
//! `updater-cli`, or two instances of one application) never interleave writes to
//! the trusted metadata, the state file or the install journal. The lock is the
//! operating system's (`flock` on unix, `LockFileEx` on Windows, through
//! [`std::fs::File::try_lock`]): it is released when the holder exits, however it
//! exits, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Error;

/// How long an operation waits for another process to release the lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The held lock; released on drop.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// The lock file of `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("lock")
    }

    /// Takes the lock of `data_dir` (created if missing), waiting up to `wait` for
    /// another holder to finish.
    ///
    /// # Errors
    /// [`Error::Busy`] when another process still holds it after `wait`;
    /// [`Error::Storage`] when the lock file cannot be opened.
    pub fn acquire(data_dir: &Path, wait: Duration) -> Result<DataDirLock, Error> {
        std::fs::create_dir_all(data_dir).map_err(Error::storage("creating", data_dir))?;
        let path = DataDirLock::path(data_dir);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::storage("opening", &path))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DataDirLock { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => return Err(Error::Busy { path, waited: wait }),
                Err(TryLockError::Error(e)) => return Err(Error::storage("locking", &path)(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_and_then_gives_up_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), LOCK_WAIT).unwrap();
        // flock locks belong to the open file, so a second open conflicts even in
        // the same process, as another process would.
        let error = DataDirLock::acquire(dir.path(), Duration::from_millis(120)).unwrap_err();
        assert!(matches!(error, Error::Busy { .. }), "{error}");
        assert!(error.to_string().contains("another updater"), "{error}");
        drop(first);
        DataDirLock::acquire(dir.path(), Duration::ZERO).unwrap();
    }

    #[test]
    fn a_waiting_holder_gets_the_lock_when_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), LOCK_WAIT).unwrap();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || DataDirLock::acquire(&path, LOCK_WAIT).is_ok());
        std::thread::sleep(Duration::from_millis(150));
        drop(first);
        assert!(waiter.join().unwrap());
    }
}
