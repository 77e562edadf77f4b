//! Getting a release's file through a delta (see [`crate::delta`]), or saying why
//! not so that the caller downloads the full file.
//!
//! In order, for the first delta whose source is the installed file:
//! 1. the installed file is hashed against the source's signed length and hashes;
//! 2. the delta is downloaded and verified like any target
//!    ([`Client::download_target`]: its own signed length and hashes);
//! 3. it is applied into a staging file in the downloads directory through an
//!    [`IntegrityWriter`] holding the release's signed length and hashes;
//! 4. only a result that matched is renamed to where the full download would have
//!    been stored, so the install that follows re-checks it as it would any download.
//!
//! Any failure is logged as a warning and leaves nothing behind; the caller then
//! downloads the full file.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::client::Client;
use crate::delta::{DeltaError, DeltaFormat, DeltaSpec};
use crate::error::Error;
use crate::integrity::{IntegrityCheck, IntegrityError, IntegrityWriter};
use crate::release::Release;
use crate::store::sync_dir;

/// A release file rebuilt from a delta: what was fetched instead of the full file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaUsed {
    /// The delta's target path.
    pub target: String,
    /// Its format.
    pub format: DeltaFormat,
    /// The target path of the release it applied to (the installed one).
    pub from: String,
    /// The delta's length: the bytes fetched.
    pub delta_length: u64,
    /// The full file's length: the bytes a full download would have fetched.
    pub full_length: u64,
}

impl DeltaUsed {
    /// Bytes not downloaded thanks to the delta.
    pub fn bytes_saved(&self) -> u64 {
        self.full_length.saturating_sub(self.delta_length)
    }
}

/// Why a delta was not used.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Client(#[from] Error),
    #[error("{0}")]
    Delta(#[from] DeltaError),
    #[error("the rebuilt file is not the release: {0}")]
    Mismatch(#[from] IntegrityError),
    #[error("{what} {path}: {source}")]
    Storage {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the applying thread failed: {0}")]
    Thread(String),
}

fn storage<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Failure + 'a {
    move |source| Failure::Storage {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `installed` is exactly `spec`'s source, by its length and every hash.
fn is_source(installed: &Path, spec: &DeltaSpec) -> Result<bool, Failure> {
    let source = &spec.source;
    if source.hashes.is_empty() {
        return Err(Failure::Delta(DeltaError::Corrupt(format!(
            "the release lists delta {} with a source without hashes",
            spec.target
        ))));
    }
    let file = match std::fs::File::open(installed) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(storage("opening", installed)(e)),
    };
    let verdict = IntegrityCheck::check_reader(file, Some(source.length), Some(&source.hashes))
        .map_err(storage("reading", installed))?;
    match verdict {
        Ok(()) => Ok(true),
        Err(
            e @ (IntegrityError::UnsupportedAlgorithm { .. }
            | IntegrityError::MalformedDigest { .. }),
        ) => Err(Failure::Mismatch(e)),
        Err(_) => Ok(false),
    }
}

/// Tries the release's deltas against `installed`; the stored, verified release
/// file and what was used, or `None` (after saying why in the log) when the caller
/// must download the full file.
pub(super) async fn fetch_by_delta(
    client: &mut Client,
    release: &Release,
    installed: &Path,
    dir: &Path,
) -> Option<(PathBuf, DeltaUsed)> {
    if release.info.deltas.is_empty() {
        return None;
    }
    let mut sourced = false;
    for spec in &release.info.deltas {
        match is_source(installed, spec) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(delta = %spec.target, %error, "delta not usable; trying the next one");
                continue;
            }
        }
        sourced = true;
        match apply_delta(client, release, spec, installed, dir).await {
            Ok(found) => return Some(found),
            Err(error) => tracing::warn!(
                delta = %spec.target,
                release = %release.target_path,
                %error,
                "delta failed; downloading the full file"
            ),
        }
    }
    if !sourced {
        tracing::info!(
            release = %release.target_path,
            installed = %installed.display(),
            "no delta applies to the installed file (it is none of the deltas' sources); downloading the full file"
        );
    }
    None
}

async fn apply_delta(
    client: &mut Client,
    release: &Release,
    spec: &DeltaSpec,
    installed: &Path,
    dir: &Path,
) -> Result<(PathBuf, DeltaUsed), Failure> {
    let info = client.target_info(&spec.target).await?;
    if info.hashes.is_empty() {
        return Err(Failure::Delta(DeltaError::Corrupt(format!(
            "delta {} is listed without hashes",
            spec.target
        ))));
    }
    let delta_path = client
        .download_target(&spec.target, &info, dir, None)
        .await?;
    let (format, installed_path, delta_file) =
        (spec.format, installed.to_path_buf(), delta_path.clone());
    let (target, dir_owned) = (release.target.clone(), dir.to_path_buf());
    let rebuilt = tokio::task::spawn_blocking(move || {
        rebuild(format, &installed_path, &delta_file, &target, &dir_owned)
    })
    .await
    .map_err(|e| Failure::Thread(e.to_string()));
    // The delta served its purpose either way; it is never installed.
    let _ = std::fs::remove_file(&delta_path);
    let staged = rebuilt??;
    let dest = Client::local_target_path(dir, &release.target_path);
    staged
        .persist(&dest)
        .map_err(|e| storage("renaming into", &dest)(e.error))?;
    sync_dir(dir).map_err(storage("syncing", dir))?;
    let used = DeltaUsed {
        target: spec.target.clone(),
        format: spec.format,
        from: spec.source.target.clone(),
        delta_length: info.length,
        full_length: release.target.length,
    };
    tracing::info!(
        release = %release.target_path,
        delta = %used.target,
        bytes_saved = used.bytes_saved(),
        "release rebuilt from a delta and verified"
    );
    Ok((dest, used))
}

/// Applies the verified delta into a staging file in `dir`, through the check of
/// the release's signed length and hashes; the synced staging file when it matched.
fn rebuild(
    format: DeltaFormat,
    installed: &Path,
    delta: &Path,
    target: &crate::metadata::TargetFile,
    dir: &Path,
) -> Result<tempfile::NamedTempFile, Failure> {
    let check = IntegrityCheck::new(Some(target.length), Some(&target.hashes))?;
    let staged = tempfile::Builder::new()
        .prefix(".tmp-delta-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(storage("creating a staging file in", dir))?;
    let file = staged.reopen().map_err(storage("opening", staged.path()))?;
    let mut out = IntegrityWriter::new(BufWriter::with_capacity(256 * 1024, file), check);
    crate::delta::apply(format, installed, delta, &mut out, target.length)?;
    let file = out
        .finish()
        .map_err(storage("writing", staged.path()))??
        .into_inner()
        .map_err(|e| storage("writing", staged.path())(e.into_error()))?;
    file.sync_all().map_err(storage("syncing", staged.path()))?;
    Ok(staged)
}
