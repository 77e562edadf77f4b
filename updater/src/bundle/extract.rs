//! Extraction of a verified archive into an empty staging directory.
//!
//! The archive is hashed in full against its trusted length and hashes before any
//! byte of it is parsed. Entries then go through one gate, [`Extractor::add`],
//! whatever the format: a path check ([`EntryPath`]), a duplicate and
//! case-collision check, the signed budgets (entries and bytes), and kind rules (no
//! hard links, devices, FIFOs or set-id bits; links only to targets inside the tree;
//! nothing extracted through a link or under a file). Files are created with
//! `O_EXCL` (never opened through something already there) and written with a
//! fixed buffer, so memory does not grow with the archive.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::entry_path::{check_link_target, EntryPath};
use super::tree::Durability;
use super::{formats, ArchiveFormat, BundleSpec};
use crate::integrity::{IntegrityCheck, IntegrityError};
use crate::metadata::TargetFile;

/// Why an archive was not extracted. Every variant names the archive; on any error
/// the staging directory holds a partial tree that the caller must remove, and
/// nothing outside it was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The release's `bundle` declaration itself is unusable.
    #[error("the bundle metadata of {archive} is invalid: {reason}; fix the release's custom metadata and republish")]
    Spec {
        /// The archive.
        archive: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The archive does not match its trusted length and hashes.
    #[error("{archive} does not match its signed length and hashes ({source}); nothing was extracted; download it again")]
    Recheck {
        /// The archive.
        archive: PathBuf,
        /// The mismatch.
        source: IntegrityError,
    },
    /// An entry breaks a rule (path, kind, mode, link target, duplicate, budget).
    #[error("{archive} is refused: entry {entry:?} {reason}; nothing outside the staging directory was written")]
    Refused {
        /// The archive.
        archive: PathBuf,
        /// The entry's name as the archive spells it (lossily decoded).
        entry: String,
        /// The rule it breaks.
        reason: String,
    },
    /// The archive as a whole differs from its signed declaration.
    #[error("{archive} is refused: {reason}; nothing outside the staging directory was written")]
    Mismatch {
        /// The archive.
        archive: PathBuf,
        /// How it differs.
        reason: String,
    },
    /// The archive cannot be read in its declared format.
    #[error("{archive} cannot be read as {format} ({source}); it is corrupt or not in the format its metadata declares")]
    Corrupt {
        /// The archive.
        archive: PathBuf,
        /// The declared format.
        format: ArchiveFormat,
        /// The decoder's error.
        source: io::Error,
    },
    /// A file operation failed.
    #[error("{action} {path}: {source}; check that the directory is writable and that the disk has space")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The IO error.
        source: io::Error,
    },
}

/// What an extraction produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extracted {
    /// Regular files written.
    pub files: u64,
    /// Directories created (explicit entries and the parents they imply).
    pub dirs: u64,
    /// Symbolic links created.
    pub links: u64,
    /// Bytes written into regular files.
    pub bytes: u64,
}

/// Extracts `archive` (described by `target`, the trusted metadata it was verified
/// against, and by `spec`, its release's signed bundle declaration) into `staging`,
/// an existing empty directory.
///
/// Guarantees:
/// - no byte of the archive is parsed before the whole file matched `target`'s length
///   and every hash; the tar formats are hashed again while they are read, and the
///   result is refused if the bytes read differ from those verified;
/// - nothing is created outside `staging`, and nothing inside it is written through
///   a symbolic link or over an existing file;
/// - the tree holds exactly the declared number of entries and of file bytes, or an
///   error is returned;
/// - on success every file, link and directory in `staging` is on disk (`syncfs` on
///   Linux; an `fsync` of each file and directory elsewhere);
/// - memory stays bounded: fixed buffers, decoders with bounded windows, tar headers
///   of at most 1 MiB, and bookkeeping that grows with the entry count only.
///
/// # Errors
/// [`BundleError`]; `staging` then holds a partial tree for the caller to remove.
pub fn extract_verified(
    archive: &Path,
    target: &TargetFile,
    spec: &BundleSpec,
    staging: &Path,
) -> Result<Extracted, BundleError> {
    extract(archive, target, spec, staging, true).map(|(extracted, _)| extracted)
}

/// What a release engineer's archive holds, found by extracting it into a temporary
/// directory through the very checks a client applies ([`extract_verified`]), with
/// no declared totals: the entry count and unpacked size to declare.
///
/// # Errors
/// The [`BundleError`] a client would report for this archive.
pub fn survey(
    archive: &Path,
    format: ArchiveFormat,
) -> Result<super::pack::PackSummary, BundleError> {
    let bytes_of = |e| io_err("reading", archive)(e);
    let mut file = fs::File::open(archive).map_err(io_err("opening", archive))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut length = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(bytes_of)?;
        if n == 0 {
            break;
        }
        length += n as u64;
        ctx.update(&buf[..n]);
    }
    let target = TargetFile {
        length,
        hashes: crate::metadata::Hashes::from([("sha256".to_string(), hex::encode(ctx.finish()))]),
        custom: None,
        unrecognized: Default::default(),
    };
    let spec = BundleSpec {
        format,
        unpacked_size: u64::MAX,
        entries: super::MAX_ENTRIES,
        preserve: Vec::new(),
    };
    let staging = tempfile::tempdir().map_err(io_err(
        "creating a temporary directory in",
        &std::env::temp_dir(),
    ))?;
    let (extracted, entries) = extract(archive, &target, &spec, staging.path(), false)?;
    Ok(super::pack::PackSummary {
        entries,
        unpacked_size: extracted.bytes,
    })
}

/// [`extract_verified`]; `exact` checks the totals against `spec` at the end. Also
/// returns the entry count.
fn extract(
    archive: &Path,
    target: &TargetFile,
    spec: &BundleSpec,
    staging: &Path,
    exact: bool,
) -> Result<(Extracted, u64), BundleError> {
    spec.validate().map_err(|reason| BundleError::Spec {
        archive: archive.to_path_buf(),
        reason,
    })?;
    let mut file = fs::File::open(archive).map_err(io_err("opening", archive))?;
    verify_whole(&mut file, archive, target)?;
    let durability = Durability::start(staging).map_err(io_err("opening", staging))?;
    let mut extractor = Extractor::new(archive, staging, spec, exact);
    match spec.format {
        ArchiveFormat::Zip => formats::read_zip(file, &mut extractor)?,
        format => {
            let check = new_check(archive, target)?;
            let mut source = HashingReader::new(file, check);
            formats::read_tar(&mut source, format, &mut extractor)?;
            source
                .finish()
                .map_err(io_err("reading", archive))?
                .map_err(|source| BundleError::Recheck {
                    archive: archive.to_path_buf(),
                    source,
                })?;
        }
    }
    let entries = extractor.entries;
    let extracted = extractor.finish()?;
    durability.finish().map_err(io_err("flushing", staging))?;
    Ok((extracted, entries))
}

fn new_check(archive: &Path, target: &TargetFile) -> Result<IntegrityCheck, BundleError> {
    if target.hashes.is_empty() {
        return Err(BundleError::Spec {
            archive: archive.to_path_buf(),
            reason: "its target lists no hashes, so the archive cannot be checked".into(),
        });
    }
    IntegrityCheck::new(Some(target.length), Some(&target.hashes)).map_err(|source| {
        BundleError::Recheck {
            archive: archive.to_path_buf(),
            source,
        }
    })
}

/// Hashes the whole file, then rewinds it.
fn verify_whole(
    file: &mut fs::File,
    archive: &Path,
    target: &TargetFile,
) -> Result<(), BundleError> {
    use std::io::Seek;
    let mut check = new_check(archive, target)?;
    let recheck = |source| BundleError::Recheck {
        archive: archive.to_path_buf(),
        source,
    };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io_err("reading", archive))?;
        if n == 0 {
            break;
        }
        check.update(&buf[..n]).map_err(recheck)?;
    }
    check.finish().map_err(recheck)?;
    file.rewind().map_err(io_err("reading", archive))
}

pub(super) fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BundleError {
    let path = path.to_path_buf();
    move |source| BundleError::Io {
        action,
        path,
        source,
    }
}

/// A reader that feeds every byte it hands out to an [`IntegrityCheck`].
pub(super) struct HashingReader<R> {
    inner: R,
    check: IntegrityCheck,
    failed: Option<IntegrityError>,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R, check: IntegrityCheck) -> Self {
        HashingReader {
            inner,
            check,
            failed: None,
        }
    }

    /// Reads what the decoders left, then completes the check.
    fn finish(mut self) -> io::Result<Result<(), IntegrityError>> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(match self.failed {
            Some(e) => Err(e),
            None => self.check.finish(),
        })
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.failed.is_none() {
            if let Err(e) = self.check.update(&buf[..n]) {
                self.failed = Some(e);
            }
        }
        if self.failed.is_some() {
            return Err(io::Error::other(
                "the archive changed after it was verified",
            ));
        }
        Ok(n)
    }
}

/// The kind of an entry, as a format reader found it.
pub(super) enum EntryKind {
    /// A regular file of `size` bytes with permission bits `mode`.
    File { mode: u32, size: u64 },
    /// A directory with permission bits `mode`.
    Dir { mode: u32 },
    /// A symbolic link to `target`.
    Symlink { target: Vec<u8> },
    /// Anything else (hard link, device, FIFO, sparse file…): always refused.
    Refused(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    File,
    Link,
    /// A directory; `explicit` when the archive has an entry for it (not only
    /// entries inside it).
    Dir {
        explicit: bool,
    },
}

/// The one gate every entry of every format goes through.
pub(super) struct Extractor<'a> {
    archive: &'a Path,
    root: &'a Path,
    spec: &'a BundleSpec,
    placed: HashMap<String, Placed>,
    folded: HashMap<String, String>,
    dir_modes: Vec<(usize, PathBuf, u32)>,
    entries: u64,
    done: Extracted,
    buf: Vec<u8>,
    exact: bool,
    name_bytes: usize,
    implicit_dirs: u64,
}

/// Permission bits an entry is installed with: never a set-user-ID, set-group-ID or
/// sticky bit (those are refused), and never write for others (it is dropped), so a
/// release packed under a careless umask does not give every local user the
/// installed program.
const PERMISSION_BITS: u32 = 0o775;

/// The most bytes of entry names one extraction keeps track of (names are kept to
/// find duplicates and collisions): bounds its memory whatever the entry count.
const MAX_NAME_BYTES: usize = 64 << 20;

impl<'a> Extractor<'a> {
    fn new(archive: &'a Path, root: &'a Path, spec: &'a BundleSpec, exact: bool) -> Self {
        Extractor {
            archive,
            root,
            spec,
            placed: HashMap::new(),
            folded: HashMap::new(),
            dir_modes: Vec::new(),
            entries: 0,
            done: Extracted::default(),
            buf: vec![0u8; 256 * 1024],
            exact,
            name_bytes: 0,
            implicit_dirs: 0,
        }
    }

    pub(super) fn archive(&self) -> &Path {
        self.archive
    }

    pub(super) fn refused(&self, raw: &[u8], reason: impl Into<String>) -> BundleError {
        BundleError::Refused {
            archive: self.archive.to_path_buf(),
            entry: String::from_utf8_lossy(raw).into_owned(),
            reason: reason.into(),
        }
    }

    /// The number of entries the declaration allows.
    pub(super) fn declared_entries(&self) -> Option<u64> {
        self.exact.then_some(self.spec.entries)
    }

    /// Places one entry; `content` yields a regular file's bytes.
    pub(super) fn add(
        &mut self,
        raw: &[u8],
        kind: EntryKind,
        content: &mut dyn Read,
    ) -> Result<(), BundleError> {
        self.entries += 1;
        if self.entries > self.spec.entries {
            return Err(self.refused(
                raw,
                format!(
                    "is one more than the {} entries the signed metadata declares",
                    self.spec.entries
                ),
            ));
        }
        if let EntryKind::Refused(what) = kind {
            return Err(self.refused(raw, what));
        }
        let path = EntryPath::parse(raw).map_err(|why| self.refused(raw, why))?;
        let is_dir = matches!(kind, EntryKind::Dir { .. });
        match self.placed.get(path.as_str()) {
            Some(Placed::Dir { explicit: false }) if is_dir => {}
            Some(_) => return Err(self.refused(raw, "appears twice in the archive")),
            None => self.claim_name(raw, &path)?,
        }
        self.make_parents(raw, &path)?;
        let dest = self.root.join(path.to_path());
        match kind {
            EntryKind::Dir { mode } => {
                self.check_mode(raw, mode)?;
                if !self.placed.contains_key(path.as_str()) {
                    fs::create_dir(&dest).map_err(io_err("creating the directory", &dest))?;
                    self.done.dirs += 1;
                }
                self.placed
                    .insert(path.as_str().to_string(), Placed::Dir { explicit: true });
                self.dir_modes.push((path.depth(), dest, mode));
            }
            EntryKind::File { mode, size } => {
                self.check_mode(raw, mode)?;
                let budget = self.spec.unpacked_size - self.done.bytes;
                if size > budget {
                    return Err(self.refused(
                        raw,
                        format!(
                            "is {size} bytes, more than the {budget} left of the {} the signed metadata declares",
                            self.spec.unpacked_size
                        ),
                    ));
                }
                self.write_file(raw, &dest, mode, size, content)?;
                self.placed.insert(path.as_str().to_string(), Placed::File);
                self.done.files += 1;
                self.done.bytes += size;
            }
            EntryKind::Symlink { target } => {
                let target =
                    check_link_target(&path, &target).map_err(|why| self.refused(raw, why))?;
                make_symlink(&target, &dest).map_err(io_err("creating the link", &dest))?;
                self.placed.insert(path.as_str().to_string(), Placed::Link);
                self.done.links += 1;
            }
            EntryKind::Refused(what) => return Err(self.refused(raw, what)),
        }
        Ok(())
    }

    /// Records `path` under its case-folded key, refusing a second name that differs
    /// only in case.
    fn claim_name(&mut self, raw: &[u8], path: &EntryPath) -> Result<(), BundleError> {
        self.name_bytes += 2 * path.as_str().len();
        if self.name_bytes > MAX_NAME_BYTES {
            return Err(self.refused(
                raw,
                format!("brings the entry names past {MAX_NAME_BYTES} bytes in all"),
            ));
        }
        let key = path.fold_key();
        if let Some(other) = self.folded.get(&key) {
            if other != path.as_str() {
                return Err(self.refused(
                    raw,
                    format!("differs from {other:?} only in case; on Windows and macOS both would be one file"),
                ));
            }
        }
        self.folded.insert(key, path.as_str().to_string());
        Ok(())
    }

    /// Creates the directories above `path` that are not there yet; refuses a path
    /// under a file or a link.
    fn make_parents(&mut self, raw: &[u8], path: &EntryPath) -> Result<(), BundleError> {
        for ancestor in path.ancestors() {
            match self.placed.get(ancestor) {
                Some(Placed::Dir { .. }) => continue,
                Some(Placed::File) => {
                    return Err(
                        self.refused(raw, format!("lies under {ancestor:?}, which is a file"))
                    )
                }
                Some(Placed::Link) => {
                    return Err(self.refused(
                        raw,
                        format!("lies under {ancestor:?}, which is a symbolic link"),
                    ))
                }
                None => {}
            }
            self.implicit_dirs += 1;
            if self.implicit_dirs > self.spec.entries {
                return Err(self.refused(
                    raw,
                    format!(
                        "implies more directories than the {} entries the signed metadata declares",
                        self.spec.entries
                    ),
                ));
            }
            let ancestor_path =
                EntryPath::parse(ancestor.as_bytes()).map_err(|why| self.refused(raw, why))?;
            self.claim_name(raw, &ancestor_path)?;
            let dest = self.root.join(ancestor_path.to_path());
            fs::create_dir(&dest).map_err(io_err("creating the directory", &dest))?;
            self.placed
                .insert(ancestor.to_string(), Placed::Dir { explicit: false });
            self.done.dirs += 1;
        }
        Ok(())
    }

    fn check_mode(&self, raw: &[u8], mode: u32) -> Result<(), BundleError> {
        if mode & 0o7000 != 0 {
            return Err(self.refused(
                raw,
                format!("has mode {mode:o}: set-user-ID, set-group-ID and sticky bits are not installed"),
            ));
        }
        Ok(())
    }

    fn write_file(
        &mut self,
        raw: &[u8],
        dest: &Path,
        mode: u32,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<(), BundleError> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(dest).map_err(io_err("creating", dest))?;
        let mut left = size;
        while left > 0 {
            let want = self
                .buf
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = content
                .read(&mut self.buf[..want])
                .map_err(|e| self.corrupt(e))?;
            if n == 0 {
                return Err(self.refused(
                    raw,
                    format!("ends {left} bytes before the {size} its header declares"),
                ));
            }
            file.write_all(&self.buf[..n])
                .map_err(io_err("writing", dest))?;
            left -= n as u64;
        }
        if content
            .read(&mut self.buf[..1])
            .map_err(|e| self.corrupt(e))?
            != 0
        {
            return Err(self.refused(
                raw,
                format!("holds more than the {size} bytes its header declares"),
            ));
        }
        set_mode(&file, mode & PERMISSION_BITS).map_err(io_err("setting the mode of", dest))?;
        #[cfg(not(target_os = "linux"))]
        file.sync_all().map_err(io_err("flushing", dest))?;
        Ok(())
    }

    pub(super) fn corrupt(&self, source: io::Error) -> BundleError {
        BundleError::Corrupt {
            archive: self.archive.to_path_buf(),
            format: self.spec.format,
            source,
        }
    }

    /// Checks the totals against the declaration and gives directories their modes
    /// (deepest first, so a read-only directory is never written into).
    fn finish(mut self) -> Result<Extracted, BundleError> {
        let mismatch = |reason: String| BundleError::Mismatch {
            archive: self.archive.to_path_buf(),
            reason,
        };
        if self.exact && self.entries != self.spec.entries {
            return Err(mismatch(format!(
                "it has {} entries, the signed metadata declares {}",
                self.entries, self.spec.entries
            )));
        }
        if self.exact && self.done.bytes != self.spec.unpacked_size {
            return Err(mismatch(format!(
                "its files hold {} bytes, the signed metadata declares {}",
                self.done.bytes, self.spec.unpacked_size
            )));
        }
        self.dir_modes.sort_by_key(|d| std::cmp::Reverse(d.0));
        for (_, dir, mode) in &self.dir_modes {
            set_dir_mode(dir, mode & PERMISSION_BITS)
                .map_err(io_err("setting the mode of", dir))?;
        }
        Ok(self.done)
    }
}

#[cfg(unix)]
fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

/// Windows has no mode bits (files inherit the directory's ACL).
#[cfg(windows)]
fn set_mode(_file: &fs::File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn set_dir_mode(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
}

#[cfg(windows)]
fn set_dir_mode(_dir: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &str, dest: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, dest)
}

/// Symbolic links need a privilege ordinary Windows users lack, and their kind (file
/// or directory) must be fixed when they are made: bundles for Windows ship files.
#[cfg(windows)]
fn make_symlink(_target: &str, dest: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{} is a symbolic link, which bundles cannot install on Windows; ship the file itself",
            dest.display()
        ),
    ))
}
