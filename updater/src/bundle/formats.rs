//! The format readers: they turn tar (zstd or gzip) and zip archives into entries
//! for [`Extractor::add`], and decide nothing else.

use std::cell::Cell;
use std::fs;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use super::extract::{BundleError, EntryKind, Extractor};
use super::ArchiveFormat;

/// The most bytes one step of the tar reader may consume between two entries: the
/// end of the previous entry, its padding, and the next entry's headers (PAX and GNU
/// long names included, which the `tar` crate reads into memory).
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// zstd frames may ask for a window of at most 2^27 bytes (128 MiB), the decoder's
/// default limit, stated here so it cannot change under us.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// The most PAX global headers a tar archive may hold (git archive writes one); they
/// are skipped, not placed, so they are limited apart from the entries.
const MAX_GLOBAL_HEADERS: u32 = 4;

/// The longest symbolic link target read from a zip entry.
const MAX_LINK_TARGET: u64 = 4096;

/// Reads a tar archive compressed as `format` from `source`.
pub(super) fn read_tar<R: Read>(
    source: R,
    format: ArchiveFormat,
    extractor: &mut Extractor<'_>,
) -> Result<(), BundleError> {
    match format {
        ArchiveFormat::TarZstd => {
            let mut decoder =
                zstd::stream::read::Decoder::new(source).map_err(|e| extractor.corrupt(e))?;
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|e| extractor.corrupt(e))?;
            walk_tar(decoder, extractor)
        }
        ArchiveFormat::TarGzip => walk_tar(flate2::read::GzDecoder::new(source), extractor),
        ArchiveFormat::Zip => {
            Err(extractor.corrupt(io::Error::other("a zip archive is not a tar stream")))
        }
    }
}

/// A reader that refuses to hand out more than a set number of bytes while a window
/// is open (see [`MAX_HEADER_BYTES`]).
struct Metered<R> {
    inner: R,
    window: Rc<Cell<Option<u64>>>,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(left) = self.window.get() else {
            return self.inner.read(buf);
        };
        if left == 0 {
            self.exceeded.set(true);
            return Err(io::Error::other("tar headers larger than 1 MiB"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.window.set(Some(left - n as u64));
        Ok(n)
    }
}

fn walk_tar<R: Read>(decoded: R, extractor: &mut Extractor<'_>) -> Result<(), BundleError> {
    let window = Rc::new(Cell::new(None));
    let exceeded = Rc::new(Cell::new(false));
    let mut archive = tar::Archive::new(Metered {
        inner: decoded,
        window: Rc::clone(&window),
        exceeded: Rc::clone(&exceeded),
    });
    let mut entries = archive.entries().map_err(|e| extractor.corrupt(e))?;
    let mut global_headers = 0u32;
    loop {
        window.set(Some(MAX_HEADER_BYTES));
        let next = entries.next();
        window.set(None);
        let Some(entry) = next else {
            return Ok(());
        };
        let mut entry = entry.map_err(|e| {
            if exceeded.get() {
                BundleError::Mismatch {
                    archive: extractor.archive().to_path_buf(),
                    reason: format!(
                        "an entry's headers, or the data skipped before them, take more than {MAX_HEADER_BYTES} bytes"
                    ),
                }
            } else {
                extractor.corrupt(e)
            }
        })?;
        let raw = entry.path_bytes().into_owned();
        let header = entry.header();
        let mode = header.mode().map_err(|e| extractor.corrupt(e))?;
        let kind = match header.entry_type() {
            tar::EntryType::Regular => EntryKind::File {
                mode,
                size: entry.size(),
            },
            tar::EntryType::Directory => EntryKind::Dir { mode },
            tar::EntryType::Symlink => EntryKind::Symlink {
                target: entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default(),
            },
            // A PAX global header describes the archive, not an entry (git archive
            // writes one); it is not placed or counted.
            tar::EntryType::XGlobalHeader => {
                global_headers += 1;
                if global_headers > MAX_GLOBAL_HEADERS {
                    return Err(extractor.refused(
                        &raw,
                        format!("is a PAX global header past the {MAX_GLOBAL_HEADERS} allowed"),
                    ));
                }
                continue;
            }
            tar::EntryType::Link => EntryKind::Refused("is a hard link; ship the file itself"),
            tar::EntryType::Char | tar::EntryType::Block => EntryKind::Refused("is a device"),
            tar::EntryType::Fifo => EntryKind::Refused("is a FIFO"),
            tar::EntryType::GNUSparse => EntryKind::Refused("is a sparse file"),
            _ => EntryKind::Refused("has a tar entry type that bundles do not install"),
        };
        extractor.add(&raw, kind, &mut entry)?;
    }
}

/// Reads a zip archive (stored or deflated entries) from `file`, by its central
/// directory.
pub(super) fn read_zip(file: fs::File, extractor: &mut Extractor<'_>) -> Result<(), BundleError> {
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| extractor.corrupt(io::Error::other(e)))?;
    if let Some(declared) = extractor
        .declared_entries()
        .filter(|d| *d != zip.len() as u64)
    {
        return Err(BundleError::Mismatch {
            archive: extractor.archive().to_path_buf(),
            reason: format!(
                "it has {} entries, the signed metadata declares {declared}",
                zip.len()
            ),
        });
    }
    for index in 0..zip.len() {
        let mut entry = zip
            .by_index(index)
            .map_err(|e| extractor.corrupt(io::Error::other(e)))?;
        let raw = entry.name_raw().to_vec();
        if entry.encrypted() {
            return Err(extractor.refused(&raw, "is encrypted"));
        }
        let unix = entry.unix_mode();
        let perms = |default: u32| match unix.map(|m| m & 0o7777) {
            Some(0) | None => default,
            Some(bits) => bits,
        };
        let kind = match unix.map(|m| m & 0o170000) {
            Some(0o120000) => {
                let mut target = Vec::new();
                (&mut entry)
                    .take(MAX_LINK_TARGET + 1)
                    .read_to_end(&mut target)
                    .map_err(|e| extractor.corrupt(e))?;
                EntryKind::Symlink { target }
            }
            Some(0o040000) => EntryKind::Dir { mode: perms(0o755) },
            Some(0o100000) | Some(0) | None if entry.is_dir() => {
                EntryKind::Dir { mode: perms(0o755) }
            }
            Some(0o100000) | Some(0) | None => EntryKind::File {
                mode: perms(0o644),
                size: entry.size(),
            },
            Some(_) => EntryKind::Refused("is a device, FIFO or socket"),
        };
        extractor.add(&raw, kind, &mut entry)?;
    }
    Ok(())
}
