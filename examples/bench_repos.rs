//! Generates the repositories that `scripts/bench.sh` serves and measures.
//!
//! ```text
//! cargo run --release --example bench_repos -- OUT_DIR [--flat N] [--binned N] [--bits B] [--big-mib M]
//! ```
//!
//! Writes, under `OUT_DIR`, three repositories with consistent snapshots, laid out as
//! `repo-tool publish` lays them out (`metadata/N.ROLE.json`, `metadata/timestamp.json`,
//! `targets/DIR/SHA256.NAME`):
//!
//! - `flat/`: `--flat` targets (default 25,000) listed in top-level `targets.json`;
//! - `bins/`: `--binned` targets (default 1,000,000) in `2^--bits` (default 2^14 =
//!   16,384) succinct hash bins (TAP 15), the PEP 458 design;
//! - `big/`: one target of `--big-mib` MiB (default 1,024).
//!
//! Only the target each benchmark downloads is a real file; the others are listed with
//! made-up hashes and lengths (clients never fetch them, and the metadata is what is
//! measured). Metadata is written as compact JSON (signatures cover the canonical
//! form, so whitespace does not matter): `targets.json` of the flat repository is
//! about 3.3 MB. Each role is signed by its own ed25519 key, every bin by one bins key.
//!
//! `OUT_DIR/manifest.json` tells the benchmark driver which target to fetch from each
//! repository and how large the metadata is. The big target's content is
//! deterministic, so a file left by an earlier run is reused (its hash is remembered
//! in `OUT_DIR/big-content.sha256`); all metadata is rewritten on every run, so it
//! never expires under a benchmark.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use repo_tool::publish::sign_metadata;
use repo_tool::signer::{FileKey, KeyKind, Signer};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use updater::integrity::sha256_hex;
use updater::metadata::{
    format_expiry, Common, Delegations, MetaFile, RoleKeys, Root, Snapshot, SuccinctRoles,
    TargetFile, Targets, Timestamp, SPEC_VERSION,
};

/// The content of the small target every cold-start run downloads.
const SMALL_CONTENT: &[u8] = b"a small release artefact for the benchmark\n";

struct Keys {
    root: FileKey,
    targets: FileKey,
    snapshot: FileKey,
    timestamp: FileKey,
    bins: FileKey,
}

impl Keys {
    fn generate() -> Result<Keys> {
        let k = || FileKey::generate(KeyKind::Ed25519).context("generating a key");
        Ok(Keys {
            root: k()?,
            targets: k()?,
            snapshot: k()?,
            timestamp: k()?,
            bins: k()?,
        })
    }
}

struct Options {
    out: PathBuf,
    flat: usize,
    binned: usize,
    bits: u32,
    big_mib: u64,
}

fn parse_args() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        out: PathBuf::new(),
        flat: 25_000,
        binned: 1_000_000,
        bits: 14,
        big_mib: 1024,
    };
    let mut out = None;
    // Bounded by the argument list.
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--flat" => options.flat = value()?.parse()?,
            "--binned" => options.binned = value()?.parse()?,
            "--bits" => options.bits = value()?.parse()?,
            "--big-mib" => options.big_mib = value()?.parse()?,
            _ if arg.starts_with('-') => bail!("unknown option {arg}"),
            _ => out = Some(PathBuf::from(arg)),
        }
    }
    options.out =
        out.context("usage: bench_repos OUT_DIR [--flat N] [--binned N] [--bits B] [--big-mib M]")?;
    if !(1..=32).contains(&options.bits) {
        bail!("--bits must be within 1..=32");
    }
    Ok(options)
}

fn common(role: &str, expires: OffsetDateTime) -> Common {
    Common {
        type_: role.into(),
        spec_version: SPEC_VERSION.into(),
        version: 1,
        expires: format_expiry(expires),
    }
}

fn meta(version: u64) -> MetaFile {
    MetaFile {
        version,
        length: None,
        hashes: None,
        unrecognized: Default::default(),
    }
}

fn target(length: u64, sha256: String) -> TargetFile {
    TargetFile {
        length,
        hashes: updater::metadata::Hashes::from([("sha256".to_string(), sha256)]),
        custom: None,
        unrecognized: Default::default(),
    }
}

/// Signs `signed` and writes it as compact JSON to `dir/name`; returns the bytes.
/// (A macro: this package does not depend on `serde` to name `Serialize`.)
macro_rules! write_signed {
    ($dir:expr, $name:expr, $signed:expr, $signers:expr) => {
        sign_metadata($signed, $signers)
            .with_context(|| format!("signing {}", $name))
            .and_then(|pretty| compact_to($dir, $name, &pretty))
    };
}

fn compact_to(dir: &Path, name: &str, pretty: &[u8]) -> Result<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(pretty)?;
    let bytes = serde_json::to_vec(&value)?;
    let path = dir.join(name);
    std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(bytes)
}

/// The place of target `path` (listed with `sha256`) under a consistent-snapshot
/// targets directory: `DIR/SHA256.NAME`.
fn target_file_path(targets_dir: &Path, path: &str, sha256: &str) -> PathBuf {
    match path.rsplit_once('/') {
        Some((dir, name)) => targets_dir.join(dir).join(format!("{sha256}.{name}")),
        None => targets_dir.join(format!("{sha256}.{path}")),
    }
}

fn write_small_target(repo: &Path, path: &str) -> Result<TargetFile> {
    let sha256 = sha256_hex(SMALL_CONTENT);
    let dest = target_file_path(&repo.join("targets"), path, &sha256);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&dest, SMALL_CONTENT)?;
    Ok(target(SMALL_CONTENT.len() as u64, sha256))
}

/// What a repository's top level needs besides its targets role.
struct TopLevel<'a> {
    keys: &'a Keys,
    now: OffsetDateTime,
}

impl TopLevel<'_> {
    /// Writes root (as `1.root.json` and `root.json`), `targets`, snapshot (listing
    /// `targets.json` and `extra_meta`) and timestamp into `repo/metadata`. Returns the
    /// size of `1.targets.json` and of the snapshot.
    fn write(
        &self,
        repo: &Path,
        targets: &Targets,
        extra_meta: BTreeMap<String, MetaFile>,
    ) -> Result<(usize, usize)> {
        let metadata = repo.join("metadata");
        std::fs::create_dir_all(&metadata)?;
        let k = self.keys;
        let mut root = Root {
            common: common("root", self.now + Duration::days(365)),
            consistent_snapshot: true,
            keys: BTreeMap::new(),
            roles: BTreeMap::new(),
            unrecognized: Default::default(),
        };
        for (role, key) in [
            ("root", &k.root),
            ("targets", &k.targets),
            ("snapshot", &k.snapshot),
            ("timestamp", &k.timestamp),
        ] {
            root.keys
                .insert(key.key_id().clone(), key.public_key().clone());
            root.roles.insert(
                role.into(),
                RoleKeys {
                    keyids: vec![key.key_id().clone()],
                    threshold: 1,
                    unrecognized: Default::default(),
                },
            );
        }
        let root_bytes = write_signed!(&metadata, "1.root.json", &root, &[&k.root])?;
        std::fs::write(metadata.join("root.json"), &root_bytes)?;
        let targets_bytes = write_signed!(&metadata, "1.targets.json", targets, &[&k.targets])?;
        let mut snapshot_meta = extra_meta;
        snapshot_meta.insert("targets.json".into(), meta(1));
        let snapshot = Snapshot {
            common: common("snapshot", self.now + Duration::days(7)),
            meta: snapshot_meta,
            unrecognized: Default::default(),
        };
        let snapshot_bytes =
            write_signed!(&metadata, "1.snapshot.json", &snapshot, &[&k.snapshot])?;
        let timestamp = Timestamp {
            common: common("timestamp", self.now + Duration::days(1)),
            meta: BTreeMap::from([(
                "snapshot.json".into(),
                repo_tool::publish::meta_entry(1, &snapshot_bytes, true),
            )]),
            unrecognized: Default::default(),
        };
        write_signed!(&metadata, "timestamp.json", &timestamp, &[&k.timestamp])?;
        Ok((targets_bytes.len(), snapshot_bytes.len()))
    }
}

/// A made-up (but well-formed) description for listed targets nobody downloads.
fn fake_target(path: &str, i: usize) -> TargetFile {
    target(1_000 + (i as u64 % 100_000), sha256_hex(path.as_bytes()))
}

fn flat(top: &TopLevel<'_>, repo: &Path, count: usize) -> Result<serde_json::Value> {
    let real = count / 2;
    let path_of = |i: usize| format!("pkg/{:02}/app-{i:05}-1.0.0.tar.gz", i % 100);
    let mut targets = Targets {
        common: common("targets", top.now + Duration::days(90)),
        targets: BTreeMap::new(),
        delegations: None,
        unrecognized: Default::default(),
    };
    for i in 0..count {
        let path = path_of(i);
        let info = if i == real {
            write_small_target(repo, &path)?
        } else {
            fake_target(&path, i)
        };
        targets.targets.insert(path, info);
    }
    let (targets_len, snapshot_len) = top.write(repo, &targets, BTreeMap::new())?;
    Ok(json!({
        "target": path_of(real),
        "target_bytes": SMALL_CONTENT.len(),
        "targets": count,
        "targets_json_bytes": targets_len,
        "snapshot_json_bytes": snapshot_len,
    }))
}

/// The bin of `path`: the first `bits` bits of SHA-256(path) (TAP 15).
fn bin_of(path: &str, bits: u32) -> Result<u64> {
    let hex = sha256_hex(path.as_bytes());
    let first = u32::from_str_radix(&hex[..8], 16)?;
    Ok(u64::from(first) >> (32 - bits))
}

fn binned(top: &TopLevel<'_>, repo: &Path, count: usize, bits: u32) -> Result<serde_json::Value> {
    let real = count / 2;
    let path_of = |i: usize| {
        format!(
            "packages/{:02x}/{:02x}/project-{i}-1.0.tar.gz",
            i % 256,
            (i / 256) % 256
        )
    };
    let bins_key = &top.keys.bins;
    let succinct = SuccinctRoles {
        keyids: vec![bins_key.key_id().clone()],
        threshold: 1,
        bit_length: bits,
        name_prefix: "bins".into(),
        unrecognized: Default::default(),
    };
    let bin_count = succinct.bin_count();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); usize::try_from(bin_count)?];
    for i in 0..count {
        let bin = usize::try_from(bin_of(&path_of(i), bits)?)?;
        members[bin].push(u32::try_from(i)?);
    }
    let real_bin = succinct.role_for_target(&path_of(real));
    if real_bin != succinct.bin_name(bin_of(&path_of(real), bits)?) {
        bail!(
            "bin computation disagrees with the library's for {}",
            path_of(real)
        );
    }
    let metadata = repo.join("metadata");
    std::fs::create_dir_all(&metadata)?;
    // Bins are signed and written on every core: (total bytes, largest) per thread.
    let write_bins = |first: usize, part: &[Vec<u32>]| -> Result<(usize, usize)> {
        let (mut total, mut largest) = (0usize, 0usize);
        for (j, indexes) in part.iter().enumerate() {
            let name = succinct.bin_name((first + j) as u64);
            let mut targets = BTreeMap::new();
            for &i in indexes {
                let i = i as usize;
                let path = path_of(i);
                let info = if i == real {
                    write_small_target(repo, &path)?
                } else {
                    fake_target(&path, i)
                };
                targets.insert(path, info);
            }
            let role = Targets {
                common: common("targets", top.now + Duration::days(90)),
                targets,
                delegations: None,
                unrecognized: Default::default(),
            };
            let bytes = write_signed!(&metadata, &format!("1.{name}.json"), &role, &[bins_key])?;
            total += bytes.len();
            largest = largest.max(bytes.len());
        }
        Ok((total, largest))
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = members.len().div_ceil(threads).max(1);
    let outcomes: Vec<Result<(usize, usize)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = members
            .chunks(per_thread)
            .enumerate()
            .map(|(t, part)| scope.spawn(move || write_bins(t * per_thread, part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a thread panicked")))
            })
            .collect()
    });
    let (mut bin_bytes, mut largest_bin) = (0usize, 0usize);
    for outcome in outcomes {
        let (total, largest) = outcome?;
        bin_bytes += total;
        largest_bin = largest_bin.max(largest);
    }
    let extra_meta: BTreeMap<String, MetaFile> = (0..bin_count)
        .map(|bin| (format!("{}.json", succinct.bin_name(bin)), meta(1)))
        .collect();
    let top_targets = Targets {
        common: common("targets", top.now + Duration::days(90)),
        targets: BTreeMap::new(),
        delegations: Some(Delegations {
            keys: BTreeMap::from([(bins_key.key_id().clone(), bins_key.public_key().clone())]),
            roles: None,
            succinct_roles: Some(succinct),
            unrecognized: Default::default(),
        }),
        unrecognized: Default::default(),
    };
    let (targets_len, snapshot_len) = top.write(repo, &top_targets, extra_meta)?;
    Ok(json!({
        "target": path_of(real),
        "target_bytes": SMALL_CONTENT.len(),
        "targets": count,
        "bins": bin_count,
        "bit_length": bits,
        "target_bin": real_bin,
        "targets_json_bytes": targets_len,
        "snapshot_json_bytes": snapshot_len,
        "all_bins_bytes": bin_bytes,
        "largest_bin_bytes": largest_bin,
    }))
}

/// Deterministic pseudo-random bytes (xorshift64*), so the big target is the same
/// file on every run and can be reused.
fn fill(buf: &mut [u8], state: &mut u64) {
    for chunk in buf.chunks_mut(8) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let v = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

/// Writes the big target (streaming, 1 MiB at a time) and returns its SHA-256.
///
/// The bytes are hashed as they are written by piping them through `sha256sum`
/// (coreutils): the library exposes no streaming hasher to this package, and one pass
/// over the data is all it takes either way.
fn write_big_content(dest: &Path, mib: u64) -> Result<String> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(dest)?);
    let mut hasher = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running sha256sum (coreutils)")?;
    let mut pipe = hasher.stdin.take().context("sha256sum stdin")?;
    let mut buf = vec![0u8; 1 << 20];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..mib {
        fill(&mut buf, &mut state);
        file.write_all(&buf)?;
        pipe.write_all(&buf)?;
    }
    file.flush()?;
    drop(pipe);
    let output = hasher.wait_with_output()?;
    if !output.status.success() {
        bail!("sha256sum failed");
    }
    let text = String::from_utf8(output.stdout)?;
    let hash = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    if hash.len() != 64 {
        bail!("unexpected sha256sum output {text:?}");
    }
    Ok(hash)
}

fn big(top: &TopLevel<'_>, out: &Path, repo: &Path, mib: u64) -> Result<serde_json::Value> {
    let path = "big/payload.bin";
    let length = mib << 20;
    let remembered = out.join("big-content.sha256");
    let targets_dir = repo.join("targets");
    let cached = std::fs::read_to_string(&remembered).ok().and_then(|s| {
        let (hash, len) = s.trim().split_once(' ')?;
        let file = target_file_path(&targets_dir, path, hash);
        let on_disk = std::fs::metadata(&file).ok()?.len();
        (len.parse::<u64>().ok()? == length && on_disk == length).then(|| hash.to_string())
    });
    let sha256 = match cached {
        Some(hash) => hash,
        None => {
            let _ = std::fs::remove_dir_all(&targets_dir);
            let staging = targets_dir.join("big");
            std::fs::create_dir_all(&staging)?;
            let tmp = staging.join(".payload.tmp");
            let hash = write_big_content(&tmp, mib)?;
            std::fs::rename(&tmp, target_file_path(&targets_dir, path, &hash))?;
            std::fs::write(&remembered, format!("{hash} {length}\n"))?;
            hash
        }
    };
    let targets = Targets {
        common: common("targets", top.now + Duration::days(90)),
        targets: BTreeMap::from([(path.to_string(), target(length, sha256))]),
        delegations: None,
        unrecognized: Default::default(),
    };
    let (targets_len, snapshot_len) = top.write(repo, &targets, BTreeMap::new())?;
    Ok(json!({
        "target": path,
        "target_bytes": length,
        "targets_json_bytes": targets_len,
        "snapshot_json_bytes": snapshot_len,
    }))
}

fn main() -> Result<()> {
    let options = parse_args()?;
    let keys = Keys::generate()?;
    let top = TopLevel {
        keys: &keys,
        now: OffsetDateTime::now_utc(),
    };
    let out = &options.out;
    std::fs::create_dir_all(out)?;
    let mut manifest = serde_json::Map::new();
    for name in ["flat", "bins"] {
        let _ = std::fs::remove_dir_all(out.join(name));
    }
    let _ = std::fs::remove_dir_all(out.join("big").join("metadata"));

    let started = Instant::now();
    manifest.insert("flat".into(), flat(&top, &out.join("flat"), options.flat)?);
    eprintln!(
        "flat: {} targets in {:.1?}",
        options.flat,
        started.elapsed()
    );

    let started = Instant::now();
    manifest.insert(
        "bins".into(),
        binned(&top, &out.join("bins"), options.binned, options.bits)?,
    );
    eprintln!(
        "bins: {} targets in {} bins in {:.1?}",
        options.binned,
        1u64 << options.bits,
        started.elapsed()
    );

    let started = Instant::now();
    manifest.insert(
        "big".into(),
        big(&top, out, &out.join("big"), options.big_mib)?,
    );
    eprintln!("big: {} MiB in {:.1?}", options.big_mib, started.elapsed());

    let manifest = serde_json::Value::Object(manifest);
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&manifest)?);
    Ok(())
}
