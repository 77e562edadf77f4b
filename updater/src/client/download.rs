//! Target download (spec 5.7): stream to a temporary file while checking length and
//! every hash, then move into place. A cached file that matches is not fetched again.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::mirrors::{into_error, is_mirror_fault, Mirror};
use super::{join_url, Client};
use crate::error::{Error, MirrorFailure};
use crate::fetch::BoundedBody;
use crate::integrity::{BackgroundCheck, IntegrityCheck};
use crate::metadata::TargetFile;
use crate::store::{encode_name, sync_dir, target_file_name};
use crate::writeback::Writeback;

/// Called as a download progresses with (bytes so far, total bytes).
pub type Progress<'a> = &'a mut (dyn FnMut(u64, u64) + Send);

impl Client {
    /// The local path where [`Client::download_target`] puts `target_path` in `dir`:
    /// one flat, percent-encoded file name that depends only on the target path.
    pub fn local_target_path(dir: &Path, target_path: &str) -> PathBuf {
        dir.join(target_file_name(target_path))
    }

    /// The URL of a target on the first mirror: with consistent snapshots, the file
    /// name is prefixed with one of its hashes (`dir/HASH.name`, spec 5.7.3).
    ///
    /// # Errors
    /// [`Error::Config`] when the URL cannot be built, or no mirror is configured;
    /// [`Error::UnrequestableTarget`] for a path with a `.` or `..` segment.
    pub fn target_url(&self, target_path: &str, info: &TargetFile) -> Result<url::Url, Error> {
        let mirror = self
            .config
            .mirrors
            .first()
            .ok_or_else(|| Error::Config("no mirror configured".into()))?;
        self.target_url_on(mirror, target_path, info)
    }

    /// The URL of a target on `mirror` (see [`Client::target_url`]).
    fn target_url_on(
        &self,
        mirror: &Mirror,
        target_path: &str,
        info: &TargetFile,
    ) -> Result<url::Url, Error> {
        // URL resolution (RFC 3986 §5.2.4, and the URL Standard even for `%2E`)
        // and servers fold `.` and `..` segments into another path: such a target
        // cannot be requested as itself.
        if crate::names::has_dot_segment(target_path) {
            return Err(Error::UnrequestableTarget {
                path: target_path.to_string(),
            });
        }
        let rest = if self.trusted.root().consistent_snapshot {
            let hash = info
                .hashes
                .get("sha256")
                .or_else(|| info.hashes.values().next())
                .cloned()
                .unwrap_or_default();
            match target_path.rsplit_once('/') {
                Some((dir, name)) => format!("{dir}/{hash}.{name}"),
                None => format!("{hash}.{target_path}"),
            }
        } else {
            target_path.to_string()
        };
        // Each segment percent-encoded on its own (`/` stays the separator): a name
        // holding `#`, `?` or `%` must reach the server as itself, not as a fragment,
        // a query or another name.
        let encoded: Vec<String> = rest.split('/').map(encode_name).collect();
        join_url(&mirror.targets_base_url, &encoded.join("/"))
    }

    /// If `dir` already holds `target_path` with the right length and hashes, its path.
    ///
    /// # Errors
    /// [`Error::Target`] when a listed hash algorithm is not supported.
    pub fn cached_target(
        &self,
        dir: &Path,
        target_path: &str,
        info: &TargetFile,
    ) -> Result<Option<PathBuf>, Error> {
        let path = Client::local_target_path(dir, target_path);
        let Ok(file) = std::fs::File::open(&path) else {
            return Ok(None);
        };
        // Unsupported hashes fail up front, not as a cache miss.
        IntegrityCheck::new(Some(info.length), Some(&info.hashes)).map_err(|source| {
            Error::Target {
                path: target_path.into(),
                url: path.display().to_string(),
                source,
            }
        })?;
        let matches = IntegrityCheck::check_reader(file, Some(info.length), Some(&info.hashes));
        Ok(matches!(matches, Ok(Ok(()))).then_some(path))
    }

    /// Downloads `target_path`, described by trusted `info`, into `dir` and returns
    /// its path. The bytes go to a hidden temporary file in `dir` while length and
    /// every listed hash are checked; only a file that matched is renamed into place
    /// (atomically, durably). A file already in place with the right length and
    /// hashes is reused without a request. A transfer interrupted by a transient
    /// failure (see [`crate::fetch::FetchError::is_transient`]) resumes where it
    /// stopped with a range request, at most `transfer.retries` times; the length and
    /// hashes are still checked over the whole file. When a mirror fails the transfer
    /// or serves bytes that do not match, the file is fetched afresh from the next
    /// mirror (see [`Mirror`]).
    ///
    /// # Errors
    /// [`Error::Target`] for a mismatch or an unsupported hash algorithm (nothing is
    /// left behind), [`Error::Fetch`] for transfer failures, [`Error::Storage`] for
    /// disk failures; with several mirrors, [`Error::Mirrors`] when every mirror
    /// failed, naming each one's failure.
    pub async fn download_target(
        &self,
        target_path: &str,
        info: &TargetFile,
        dir: &Path,
        progress: Option<Progress<'_>>,
    ) -> Result<PathBuf, Error> {
        if let Some(path) = self.cached_target(dir, target_path, info)? {
            tracing::debug!(target_path, "cached target matches; not downloading");
            return Ok(path);
        }
        // Checked before any byte is fetched: an unverifiable hash fails up front.
        let first_url = self.target_url(target_path, info)?;
        IntegrityCheck::new(Some(info.length), Some(&info.hashes)).map_err(|source| {
            Error::Target {
                path: target_path.into(),
                url: first_url.to_string(),
                source,
            }
        })?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(Error::storage("creating a temporary file in", dir))?;
        let mut progress = progress;
        let mirrors = &self.config.mirrors;
        let mut failures = Vec::new();
        // Bounded: one attempt per configured mirror.
        for (index, mirror) in mirrors.iter().enumerate() {
            let url = self.target_url_on(mirror, target_path, info)?;
            let attempt = self
                .download_from(&url, target_path, info, &mut tmp, &mut progress)
                .await;
            match attempt {
                Ok(()) => return self.put_in_place(tmp, dir, target_path),
                Err(error) if is_mirror_fault(&error) => {
                    if index + 1 < mirrors.len() {
                        tracing::warn!(%url, %error, "mirror failed; trying the next mirror");
                    }
                    failures.push(MirrorFailure {
                        mirror: mirror.targets_base_url.to_string(),
                        error: Box::new(error),
                    });
                }
                Err(error) => return Err(error),
            }
        }
        Err(into_error(target_path, failures))
    }

    /// Streams `url` into `tmp` (emptied first) while checking the length and hashes
    /// of `info`; resumes an interrupted transfer with range requests.
    async fn download_from<'p>(
        &self,
        url: &url::Url,
        target_path: &str,
        info: &TargetFile,
        tmp: &mut tempfile::NamedTempFile,
        progress: &mut Option<Progress<'p>>,
    ) -> Result<(), Error> {
        let refused = |source| Error::Target {
            path: target_path.into(),
            url: url.to_string(),
            source,
        };
        // Hashing runs beside the writing (two cores for one large file).
        let tmp_path = tmp.path().to_path_buf();
        let new_check = || -> Result<BackgroundCheck, Error> {
            let check =
                IntegrityCheck::new(Some(info.length), Some(&info.hashes)).map_err(refused)?;
            BackgroundCheck::start(check)
                .map_err(Error::storage("starting the thread that hashes", &tmp_path))
        };
        let mut check = new_check()?;
        rewind(tmp)?;
        let mut writeback = Writeback::new();
        let limits = self.config.transfer;
        let fetcher = self.fetcher.as_ref();
        let mut body = BoundedBody::start(fetcher, url, info.length, limits).await?;
        let mut resumes = 0u32;
        // Bounded: every turn consumes a chunk (at most `info.length` bytes in all, per
        // body) or one of at most `limits.retries` resumes.
        loop {
            let chunk = match body.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // An interrupted transfer resumes where it stopped. The bytes kept were
                // already fed to `check`, which goes on with the rest: the hashes are
                // still computed over the whole file.
                Err(e) if e.is_transient() && resumes < limits.retries => {
                    resumes += 1;
                    let have = check.seen();
                    tracing::warn!(%url, error = %e, have, "transfer interrupted; resuming");
                    tokio::time::sleep(limits.retry_delay).await;
                    body = BoundedBody::resume(fetcher, url, info.length, have, limits).await?;
                    if body.offset() != have {
                        // The server sent the whole file again: start over.
                        check = new_check()?;
                        rewind(tmp)?;
                        writeback.restart();
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            tmp.write_all(&chunk)
                .map_err(Error::storage("writing", tmp.path()))?;
            check.update(chunk).map_err(refused)?;
            writeback.wrote(tmp.as_file(), check.seen());
            if let Some(report) = progress.as_mut() {
                report(check.seen(), info.length);
            }
        }
        check.finish().map_err(refused)
    }

    /// Makes the verified `tmp` durable and renames it into place in `dir`.
    fn put_in_place(
        &self,
        tmp: tempfile::NamedTempFile,
        dir: &Path,
        target_path: &str,
    ) -> Result<PathBuf, Error> {
        tmp.as_file()
            .sync_all()
            .map_err(Error::storage("syncing", tmp.path()))?;
        let dest = Client::local_target_path(dir, target_path);
        tmp.persist(&dest)
            .map_err(|e| Error::storage("renaming into", &dest)(e.error))?;
        sync_dir(dir).map_err(Error::storage("syncing", dir))?;
        tracing::info!(target_path, path = %dest.display(), "target verified and stored");
        Ok(dest)
    }
}

/// Empties `tmp` and moves to its start (before a new or restarted transfer).
fn rewind(tmp: &mut tempfile::NamedTempFile) -> Result<(), Error> {
    tmp.as_file()
        .set_len(0)
        .map_err(Error::storage("truncating", tmp.path()))?;
    tmp.seek(SeekFrom::Start(0))
        .map_err(Error::storage("rewinding", tmp.path()))?;
    Ok(())
}
