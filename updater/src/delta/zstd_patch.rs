//! `zstd-patch`: the new file as one zstd frame compressed with the old file as its
//! reference prefix, as `zstd --patch-from=OLD --long` makes it.
//!
//! Long-distance matching finds the old file's content however far back it is, and
//! the window covers the old and the new file together, so the frame refers back into
//! the old file instead of carrying the bytes. Applying it needs the whole old file in
//! memory (the reference prefix) and a decoding window the size of the new file, so
//! memory grows with the sum of both: this format is only made and used for files of
//! at most [`MAX_FILE`] bytes each (48 MiB with both at the limit). Larger files use
//! `bsdiff-zstd`, which applies in constant memory.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};

use super::DeltaError;

/// The largest old or new file this format takes: 24 MiB.
pub const MAX_FILE: u64 = 24 << 20;

/// The largest window a frame may ask for: enough for two files of [`MAX_FILE`].
const WINDOW_LOG_MAX: u32 = 26;

/// The window that spans `source` and `target` together.
fn window_log(source: u64, target: u64) -> u32 {
    let span = source.saturating_add(target).max(1 << 10);
    (64 - (span - 1).leading_zeros()).clamp(10, WINDOW_LOG_MAX)
}

fn check_sizes(source: u64, target: u64) -> Result<(), DeltaError> {
    if source > MAX_FILE || target > MAX_FILE {
        return Err(DeltaError::TooLarge(format!(
            "zstd-patch takes files of at most {MAX_FILE} bytes (old {source}, new {target}); use bsdiff-zstd"
        )));
    }
    Ok(())
}

/// Compresses `target` with `source` as reference prefix at zstd `level`.
///
/// # Errors
/// [`DeltaError::TooLarge`] when either file is over [`MAX_FILE`].
pub fn make(source: &[u8], target: &[u8], level: i32) -> Result<Vec<u8>, DeltaError> {
    check_sizes(source.len() as u64, target.len() as u64)?;
    let mut encoder = zstd::stream::write::Encoder::with_ref_prefix(Vec::new(), level, source)?;
    encoder.long_distance_matching(true)?;
    encoder.window_log(window_log(source.len() as u64, target.len() as u64))?;
    encoder.include_contentsize(true)?;
    encoder.set_pledged_src_size(Some(target.len() as u64))?;
    encoder.write_all(target)?;
    Ok(encoder.finish()?)
}

/// Applies the `zstd-patch` delta read from `delta` to `old`, writing at most
/// `output_len` bytes to `output` (more is corrupt; fewer is caught by the caller's
/// length check).
///
/// # Errors
/// [`DeltaError::TooLarge`] for files over [`MAX_FILE`]; [`DeltaError::Corrupt`]
/// when the frame does not decode against this source.
pub fn apply(
    old: File,
    delta: File,
    output: &mut dyn Write,
    output_len: u64,
) -> Result<(), DeltaError> {
    let old_len = old.metadata()?.len();
    check_sizes(old_len, output_len)?;
    let mut source = Vec::with_capacity(usize::try_from(old_len).unwrap_or(0));
    old.take(MAX_FILE + 1).read_to_end(&mut source)?;
    check_sizes(source.len() as u64, output_len)?;
    let mut decoder = zstd::stream::read::Decoder::with_ref_prefix(BufReader::new(delta), &source)
        .map_err(DeltaError::corrupt)?;
    decoder
        .window_log_max(WINDOW_LOG_MAX)
        .map_err(DeltaError::corrupt)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut written: u64 = 0;
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DeltaError::corrupt(e)),
        };
        written += n as u64;
        if written > output_len {
            return Err(DeltaError::corrupt(format!(
                "makes more than the release's {output_len} bytes"
            )));
        }
        output.write_all(&buf[..n])?;
    }
    if written != output_len {
        return Err(DeltaError::corrupt(format!(
            "makes {written} bytes, the release is {output_len}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_bytes(source: &[u8], delta: &[u8], len: u64) -> Result<Vec<u8>, DeltaError> {
        let dir = tempfile::tempdir().unwrap();
        let (s, d) = (dir.path().join("s"), dir.path().join("d"));
        std::fs::write(&s, source).unwrap();
        std::fs::write(&d, delta).unwrap();
        let mut out = Vec::new();
        apply(
            File::open(&s).unwrap(),
            File::open(&d).unwrap(),
            &mut out,
            len,
        )?;
        Ok(out)
    }

    fn pair() -> (Vec<u8>, Vec<u8>) {
        let old: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut new = old.clone();
        new[1000..1010].copy_from_slice(b"0123456789");
        new.extend_from_slice(b"appended");
        (old, new)
    }

    #[test]
    fn round_trips_and_is_small() {
        let (old, new) = pair();
        let delta = make(&old, &new, 19).unwrap();
        assert!(delta.len() < 2000, "delta is {} bytes", delta.len());
        assert_eq!(apply_bytes(&old, &delta, new.len() as u64).unwrap(), new);
    }

    #[test]
    fn a_wrong_source_or_length_is_refused() {
        let (old, new) = pair();
        let delta = make(&old, &new, 3).unwrap();
        let other: Vec<u8> = old.iter().map(|b| b ^ 0xff).collect();
        // The frame decodes against any prefix; what it makes is then wrong, and
        // the caller's hash check refuses it. A wrong declared length fails here.
        if let Ok(out) = apply_bytes(&other, &delta, new.len() as u64) {
            assert!(out != new, "a different source made the same file");
        }
        assert!(apply_bytes(&old, &delta, new.len() as u64 - 1).is_err());
        assert!(apply_bytes(&old, &delta, new.len() as u64 + 1).is_err());
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let (old, new) = pair();
        let mut delta = make(&old, &new, 3).unwrap();
        for i in (0..delta.len()).step_by(7) {
            delta[i] ^= 0x5a;
        }
        assert!(apply_bytes(&old, &delta, new.len() as u64).is_err());
        assert!(apply_bytes(&old, b"", new.len() as u64).is_err());
    }

    #[test]
    fn files_over_the_limit_are_refused_up_front() {
        assert!(matches!(
            check_sizes(MAX_FILE + 1, 1),
            Err(DeltaError::TooLarge(_))
        ));
        assert!(matches!(
            check_sizes(1, MAX_FILE + 1),
            Err(DeltaError::TooLarge(_))
        ));
        assert_eq!(window_log(1, 1), 10);
        assert_eq!(window_log(MAX_FILE, MAX_FILE), 26);
    }
}
