//! The reproducible packer: a directory into a bundle archive, the same bytes every
//! time for the same tree.
//!
//! Entries go in the order of [`super::tree::digest`] (depth first, names sorted
//! bytewise), directories before what they hold. Every entry gets the modification
//! time 0 (zip: 1980-01-01, its earliest), owner and group 0 with no names, and its
//! permission bits; symbolic links are stored as links. Nothing about the machine
//! that packs (user, time, order of `readdir`) reaches the archive.
//!
//! The packer does not judge the tree: the archive is checked afterwards by
//! extracting it exactly as a client would ([`super::extract_verified`]), which
//! `repo-tool release` does before it publishes.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::tree::{walk, with_path};
use super::ArchiveFormat;

/// How to pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackOptions {
    /// The archive format.
    pub format: ArchiveFormat,
    /// The compression level: zstd 1–22 (default 19), gzip and zip's deflate 0–9
    /// (default 9). Out-of-range levels are clamped.
    pub level: Option<i32>,
}

/// What a packed archive holds: the figures its release's `bundle` metadata declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackSummary {
    /// Entries (files, directories, links).
    pub entries: u64,
    /// The sum of the regular files' sizes.
    pub unpacked_size: u64,
}

/// Packs the tree under `dir` (not `dir` itself: its entries are the archive's top
/// level) into a new archive at `out`.
///
/// Guarantee: the same tree (paths, kinds, permission bits, contents, link targets)
/// gives byte-identical archives.
///
/// # Errors
/// An IO error naming the path; a FIFO, socket or device in the tree is an error.
pub fn pack_dir(dir: &Path, options: PackOptions, out: &Path) -> io::Result<PackSummary> {
    let file = fs::File::create(out).map_err(|e| with_path(e, "creating", out))?;
    let writer = BufWriter::with_capacity(1 << 20, file);
    let summary = match options.format {
        ArchiveFormat::TarZstd => {
            let level = options.level.unwrap_or(19).clamp(1, 22);
            let mut encoder = zstd::stream::write::Encoder::new(writer, level)?;
            encoder.include_checksum(true)?;
            let (summary, encoder) = pack_tar(dir, encoder)?;
            encoder.finish()?.flush()?;
            summary
        }
        ArchiveFormat::TarGzip => {
            let level = options.level.unwrap_or(9).clamp(0, 9) as u32;
            let encoder = flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(writer, flate2::Compression::new(level));
            let (summary, encoder) = pack_tar(dir, encoder)?;
            encoder.finish()?.flush()?;
            summary
        }
        ArchiveFormat::Zip => {
            let level = options.level.unwrap_or(9).clamp(0, 9);
            let (summary, mut writer) = pack_zip(dir, writer, i64::from(level))?;
            writer.flush()?;
            summary
        }
    };
    Ok(summary)
}

fn unsupported(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is not a file, directory or symbolic link; bundles hold only those",
            path.display()
        ),
    )
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

/// Windows has no permission bits: directories and `.exe`-like files get 0o755,
/// other files 0o644.
#[cfg(windows)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    if meta.is_dir() {
        0o755
    } else {
        0o644
    }
}

fn pack_tar<W: Write>(dir: &Path, writer: W) -> io::Result<(PackSummary, W)> {
    let mut builder = tar::Builder::new(writer);
    let mut summary = PackSummary::default();
    walk(dir, dir, &[], &mut |rel, path, meta| {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(mode_of(meta));
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            let target = fs::read_link(path).map_err(|e| with_path(e, "reading the link", path))?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            builder.append_link(&mut header, rel, &target)?;
        } else if file_type.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            builder.append_data(&mut header, format!("{rel}/"), io::empty())?;
        } else if file_type.is_file() {
            let file = fs::File::open(path).map_err(|e| with_path(e, "opening", path))?;
            let size = file.metadata()?.len();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(size);
            builder.append_data(&mut header, rel, io::Read::take(file, size))?;
            summary.unpacked_size += size;
        } else {
            return Err(unsupported(path));
        }
        summary.entries += 1;
        Ok(())
    })?;
    let writer = builder.into_inner()?;
    Ok((summary, writer))
}

fn pack_zip<W: Write + io::Seek>(
    dir: &Path,
    writer: W,
    level: i64,
) -> io::Result<(PackSummary, W)> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(writer);
    let mut summary = PackSummary::default();
    let base = SimpleFileOptions::default()
        .last_modified_time(zip::DateTime::default())
        .system(zip::System::Unix);
    walk(dir, dir, &[], &mut |rel, path, meta| {
        let options = base.unix_permissions(mode_of(meta));
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            let target = fs::read_link(path).map_err(|e| with_path(e, "reading the link", path))?;
            zip.add_symlink(rel, target.to_string_lossy(), options)
                .map_err(io::Error::other)?;
        } else if file_type.is_dir() {
            zip.add_directory(format!("{rel}/"), options)
                .map_err(io::Error::other)?;
        } else if file_type.is_file() {
            let mut file = fs::File::open(path).map_err(|e| with_path(e, "opening", path))?;
            let size = file.metadata()?.len();
            let options = options
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(level))
                .large_file(size >= u32::MAX as u64);
            zip.start_file(rel, options).map_err(io::Error::other)?;
            io::copy(&mut file, &mut zip)?;
            summary.unpacked_size += size;
        } else {
            return Err(unsupported(path));
        }
        summary.entries += 1;
        Ok(())
    })?;
    let writer = zip.finish().map_err(io::Error::other)?;
    Ok((summary, writer))
}
