//! Early writeback of a large file while it is being written.
//!
//! A target is written to a temporary file as it arrives and made durable with one
//! fsync at the end. Left alone, the kernel keeps the whole file as dirty pages in
//! memory and writes most of it out only at that fsync, which then waits for all of
//! it: for a 1 GiB target on a virtual disk, a third of the download's time, and a
//! gigabyte of page cache taken from the rest of the machine meanwhile. Instead, each
//! step of [`Writeback::STEP`] bytes is handed to the disk as soon as it is written
//! (`posix_fadvise(POSIX_FADV_DONTNEED)` starts writeback of dirty pages), and steps
//! written out earlier are dropped from the page cache. The fsync at the end still
//! decides durability; this is only a hint, and its failure is ignored.
//!
//! On systems without `posix_fadvise` support here (anything but Linux) it does
//! nothing.

use std::fs::File;

/// Tracks how much of a file being written has been handed to the disk.
#[derive(Debug, Default)]
pub(crate) struct Writeback {
    /// Bytes from the start of the file already handed to the disk.
    advised: u64,
}

impl Writeback {
    /// Bytes handed to the disk at a time.
    pub(crate) const STEP: u64 = 16 << 20;

    /// Starts with nothing written.
    pub(crate) fn new() -> Writeback {
        Writeback::default()
    }

    /// Called after each write: `written` bytes of `file`, from its start, are now
    /// written. Hands every complete new step to the disk, and drops from the page
    /// cache the step before the previous one (written out by now, usually).
    pub(crate) fn wrote(&mut self, file: &File, written: u64) {
        while written >= self.advised + Self::STEP {
            advise_dont_need(file, self.advised, Self::STEP);
            if let Some(older) = self.advised.checked_sub(2 * Self::STEP) {
                advise_dont_need(file, older, Self::STEP);
            }
            self.advised += Self::STEP;
        }
    }

    /// The file was emptied to be written again from its start.
    pub(crate) fn restart(&mut self) {
        self.advised = 0;
    }

    /// Bytes from the start already handed to the disk.
    #[cfg(test)]
    pub(crate) fn advised(&self) -> u64 {
        self.advised
    }
}

#[cfg(target_os = "linux")]
fn advise_dont_need(file: &File, offset: u64, len: u64) {
    let advice = rustix::fs::Advice::DontNeed;
    if let Err(error) = rustix::fs::fadvise(file, offset, std::num::NonZeroU64::new(len), advice) {
        tracing::debug!(%error, "posix_fadvise failed; the final fsync writes everything");
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_dont_need(_file: &File, _offset: u64, _len: u64) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom, Write};

    #[test]
    fn hands_over_whole_steps_and_keeps_the_content() {
        let mut file = tempfile::tempfile().unwrap();
        let mut writeback = Writeback::new();
        let chunk: Vec<u8> = (0..=255u8).cycle().take(3 << 20).collect();
        let mut written = 0u64;
        while written < 2 * Writeback::STEP + 5 {
            file.write_all(&chunk).unwrap();
            written += chunk.len() as u64;
            writeback.wrote(&file, written);
            assert_eq!(
                writeback.advised(),
                written / Writeback::STEP * Writeback::STEP
            );
        }
        file.sync_all().unwrap();
        // Dropping pages from the cache never changes what the file holds.
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back.len() as u64, written);
        assert!(back.chunks(chunk.len()).all(|c| c == &chunk[..c.len()]));
        writeback.restart();
        assert_eq!(writeback.advised(), 0);
    }
}
