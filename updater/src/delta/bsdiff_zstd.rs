//! `bsdiff-zstd`: bsdiff's three streams, each compressed with zstd.
//!
//! bsdiff (Colin Percival's, as the `bsdiff` crate writes it) describes the new file
//! as records of `(mix_len, copy_len, seek)`: add `mix_len` diff bytes to as many
//! bytes of the old file (wrapping), copy `copy_len` extra bytes, then move the old
//! position by `seek`. bsdiff 4 compresses the controls, the diff bytes (mostly
//! zeros) and the extra bytes as three bzip2 streams; this format does the same with
//! zstd. The file is:
//!
//! ```text
//! "UPBSDZ01"  magic, 8 bytes
//! new_len     u64 LE: the length of the rebuilt file
//! control_len u64 LE: the compressed length of the control stream
//! diff_len    u64 LE: the compressed length of the diff stream
//! control     zstd: 24 bytes per record, three sign-magnitude LE 64-bit numbers
//! diff        zstd: the mix bytes of every record, in order
//! extra       zstd: the copied bytes of every record, in order (to the end)
//! ```
//!
//! Applying it streams: the three streams are decoded side by side with windows of
//! at most 2^[`WINDOW_LOG`] bytes each, and the old file is read where each record
//! says, so memory stays constant (three windows and two 64 KiB buffers) whatever the
//! file sizes. Every number is checked: a record may not read outside the old file
//! or write past `new_len`, and every stream must end exactly where the last record
//! does.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::DeltaError;

/// The file's first 8 bytes.
pub const MAGIC: &[u8; 8] = b"UPBSDZ01";

/// The largest zstd window the streams may use: 2^23 bytes (8 MiB) each.
pub const WINDOW_LOG: u32 = 23;

const HEADER_LEN: u64 = 32;
const RECORD_LEN: usize = 24;
const CHUNK: usize = 64 * 1024;

/// Reads a sign-magnitude little-endian 64-bit number, as bsdiff writes them.
fn offtin(bytes: &[u8]) -> i64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[..8]);
    let y = u64::from_le_bytes(raw);
    let magnitude = (y & !(1 << 63)) as i64;
    if y & (1 << 63) == 0 {
        magnitude
    } else {
        -magnitude
    }
}

/// One bsdiff record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    mix_len: u64,
    copy_len: u64,
    seek: i64,
}

impl Record {
    fn parse(bytes: &[u8]) -> Result<Record, DeltaError> {
        let (mix, copy, seek) = (
            offtin(&bytes[0..8]),
            offtin(&bytes[8..16]),
            offtin(&bytes[16..24]),
        );
        let (Ok(mix_len), Ok(copy_len)) = (u64::try_from(mix), u64::try_from(copy)) else {
            return Err(DeltaError::corrupt("a record with a negative length"));
        };
        Ok(Record {
            mix_len,
            copy_len,
            seek,
        })
    }
}

/// Re-encodes a raw patch of the `bsdiff` crate (records with their mix and extra
/// bytes inline) as `bsdiff-zstd`, compressing each stream with zstd at `level`.
///
/// # Errors
/// [`DeltaError::Corrupt`] when `raw` is not a whole number of well-formed records
/// or does not make `new_len` bytes.
pub fn encode(raw: &[u8], new_len: u64, level: i32) -> Result<Vec<u8>, DeltaError> {
    let (mut control, mut diff, mut extra) = (Vec::new(), Vec::new(), Vec::new());
    let mut rest = raw;
    let mut made: u64 = 0;
    while !rest.is_empty() {
        let header = rest
            .get(..RECORD_LEN)
            .ok_or_else(|| DeltaError::corrupt("a partial record"))?;
        let record = Record::parse(header)?;
        control.extend_from_slice(header);
        rest = &rest[RECORD_LEN..];
        let (mix_len, copy_len) = (to_usize(record.mix_len)?, to_usize(record.copy_len)?);
        let mix = rest
            .get(..mix_len)
            .ok_or_else(|| DeltaError::corrupt("a record longer than the patch"))?;
        diff.extend_from_slice(mix);
        rest = &rest[mix_len..];
        let copy = rest
            .get(..copy_len)
            .ok_or_else(|| DeltaError::corrupt("a record longer than the patch"))?;
        extra.extend_from_slice(copy);
        rest = &rest[copy_len..];
        made = made
            .checked_add(record.mix_len)
            .and_then(|m| m.checked_add(record.copy_len))
            .ok_or_else(|| DeltaError::corrupt("lengths overflow"))?;
    }
    if made != new_len {
        return Err(DeltaError::corrupt(format!(
            "the patch makes {made} bytes, not {new_len}"
        )));
    }
    let control = compress(&control, level)?;
    let diff = compress(&diff, level)?;
    let extra = compress(&extra, level)?;
    let mut out = Vec::with_capacity(32 + control.len() + diff.len() + extra.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&new_len.to_le_bytes());
    out.extend_from_slice(&(control.len() as u64).to_le_bytes());
    out.extend_from_slice(&(diff.len() as u64).to_le_bytes());
    out.extend_from_slice(&control);
    out.extend_from_slice(&diff);
    out.extend_from_slice(&extra);
    Ok(out)
}

fn to_usize(n: u64) -> Result<usize, DeltaError> {
    usize::try_from(n).map_err(|_| DeltaError::corrupt("a record longer than memory"))
}

fn compress(data: &[u8], level: i32) -> Result<Vec<u8>, DeltaError> {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), level)?;
    encoder.window_log(WINDOW_LOG)?;
    encoder.long_distance_matching(true)?;
    encoder.include_contentsize(true)?;
    encoder.set_pledged_src_size(Some(data.len() as u64))?;
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// One of the three streams: a zstd decoder over a slice of the delta file.
type Stream = zstd::stream::read::Decoder<'static, BufReader<io::Take<File>>>;

fn open_stream(delta: &Path, offset: u64, len: u64) -> Result<Stream, DeltaError> {
    let mut file = File::open(delta)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut decoder = zstd::stream::read::Decoder::new(file.take(len))?;
    decoder.window_log_max(WINDOW_LOG)?;
    Ok(decoder)
}

/// Reads exactly `buf.len()` bytes of `stream`, or says which stream ended early.
fn fill(stream: &mut Stream, buf: &mut [u8], name: &str) -> Result<(), DeltaError> {
    stream.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            DeltaError::corrupt(format!("the {name} stream ends early"))
        }
        _ => DeltaError::corrupt(format!("the {name} stream: {e}")),
    })
}

/// Fails unless `stream` has nothing more to give.
fn expect_end(stream: &mut Stream, name: &str) -> Result<(), DeltaError> {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => Ok(()),
        Ok(_) => Err(DeltaError::corrupt(format!(
            "the {name} stream goes on after the last record"
        ))),
        Err(e) => Err(DeltaError::corrupt(format!("the {name} stream: {e}"))),
    }
}

/// Applies the `bsdiff-zstd` delta at `delta` to `old`, writing exactly
/// `output_len` bytes to `output` (see the module docs for the checks).
///
/// # Errors
/// [`DeltaError::Corrupt`] for any inconsistency, [`DeltaError::Io`] for a failed
/// read or write.
pub fn apply(
    mut old: File,
    delta: &Path,
    output: &mut dyn Write,
    output_len: u64,
) -> Result<(), DeltaError> {
    let delta_len = std::fs::metadata(delta)?.len();
    let mut header = [0u8; HEADER_LEN as usize];
    File::open(delta)?
        .read_exact(&mut header)
        .map_err(|_| DeltaError::corrupt("shorter than its header"))?;
    if &header[..8] != MAGIC {
        return Err(DeltaError::corrupt("not a bsdiff-zstd delta (wrong magic)"));
    }
    let field = |at: usize| {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(raw)
    };
    let (new_len, control_len, diff_len) = (field(8), field(16), field(24));
    if new_len != output_len {
        return Err(DeltaError::corrupt(format!(
            "makes {new_len} bytes, the release is {output_len}"
        )));
    }
    let diff_at = HEADER_LEN
        .checked_add(control_len)
        .ok_or_else(|| DeltaError::corrupt("stream lengths overflow"))?;
    let extra_at = diff_at
        .checked_add(diff_len)
        .filter(|&end| end <= delta_len)
        .ok_or_else(|| DeltaError::corrupt("stream lengths run past the end of the file"))?;
    let mut control = open_stream(delta, HEADER_LEN, control_len)?;
    let mut diff = open_stream(delta, diff_at, diff_len)?;
    let mut extra = open_stream(delta, extra_at, delta_len - extra_at)?;

    let old_len = old.metadata()?.len();
    let (mut old_pos, mut old_file_pos, mut new_pos) = (0u64, 0u64, 0u64);
    let mut mix_buf = vec![0u8; CHUNK];
    let mut old_buf = vec![0u8; CHUNK];
    let mut record_bytes = [0u8; RECORD_LEN];
    // Bounded: at most `new_len + 1` records (a record that makes no byte only moves
    // the old position; more of them than bytes is not a patch but a bomb).
    let mut records: u64 = 0;
    loop {
        let n = read_record(&mut control, &mut record_bytes)?;
        if n == 0 {
            break;
        }
        records += 1;
        if records > new_len.saturating_add(1) {
            return Err(DeltaError::corrupt("more records than output bytes"));
        }
        let record = Record::parse(&record_bytes)?;
        let record_end = new_pos
            .checked_add(record.mix_len)
            .and_then(|p| p.checked_add(record.copy_len))
            .filter(|&end| end <= new_len)
            .ok_or_else(|| DeltaError::corrupt("a record writes past the declared length"))?;
        let old_end = old_pos
            .checked_add(record.mix_len)
            .filter(|&end| end <= old_len)
            .ok_or_else(|| DeltaError::corrupt("a record reads outside the old file"))?;
        if old_file_pos != old_pos {
            old.seek(SeekFrom::Start(old_pos))?;
        }
        let mut left = record.mix_len;
        while left > 0 {
            let take = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
            fill(&mut diff, &mut mix_buf[..take], "diff")?;
            old.read_exact(&mut old_buf[..take]).map_err(|e| {
                DeltaError::corrupt(format!("the old file changed while read: {e}"))
            })?;
            for (n, o) in mix_buf[..take].iter_mut().zip(&old_buf[..take]) {
                *n = n.wrapping_add(*o);
            }
            output.write_all(&mix_buf[..take])?;
            left -= take as u64;
        }
        old_file_pos = old_end;
        let mut left = record.copy_len;
        while left > 0 {
            let take = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
            fill(&mut extra, &mut mix_buf[..take], "extra")?;
            output.write_all(&mix_buf[..take])?;
            left -= take as u64;
        }
        new_pos = record_end;
        old_pos = i64::try_from(old_end)
            .ok()
            .and_then(|p| p.checked_add(record.seek))
            .and_then(|p| u64::try_from(p).ok())
            .ok_or_else(|| DeltaError::corrupt("a record seeks before the old file"))?;
    }
    if new_pos != new_len {
        return Err(DeltaError::corrupt(format!(
            "the records make {new_pos} bytes, not the declared {new_len}"
        )));
    }
    expect_end(&mut diff, "diff")?;
    expect_end(&mut extra, "extra")?;
    Ok(())
}

/// Reads the next record into `buf`: 0 at the clean end of the control stream,
/// 24 for a record; a partial record is corrupt.
fn read_record(control: &mut Stream, buf: &mut [u8; RECORD_LEN]) -> Result<usize, DeltaError> {
    let mut have = 0;
    while have < RECORD_LEN {
        match control.read(&mut buf[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DeltaError::corrupt(format!("the control stream: {e}"))),
        }
    }
    match have {
        0 | RECORD_LEN => Ok(have),
        _ => Err(DeltaError::corrupt(
            "the control stream ends inside a record",
        )),
    }
}

#[cfg(test)]
#[path = "bsdiff_zstd_tests.rs"]
mod tests;
