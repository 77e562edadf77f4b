//! The bundle benchmark's workhorse (driven by `scripts/bench-bundle.sh`).
//!
//! ```text
//! bench_bundle prepare WORK [--files N] [--mib M]   tree, tar.zst, metadata in WORK
//! bench_bundle install WORK                          one install into WORK/apps/app
//! ```
//!
//! `prepare` writes a tree of N files (default 10,000) totalling M MiB (default 1,024)
//! in 100 directories, half of each file pseudo-random and half text (so it compresses
//! the way programs and resources do), packs it with the release packer (tar.zst,
//! zstd level 3) and writes its trusted description. `install` puts a one-file "v1"
//! tree at WORK/apps/app and installs the archive over it with
//! `DirectoryInstaller::install`: hash the archive, extract with every check, flush
//! (`syncfs`), digest both trees, swap. It prints the seconds the install took.

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use updater::bundle::pack::{pack_dir, PackOptions};
use updater::bundle::{ArchiveFormat, BundleSpec};
use updater::install::DirectoryInstaller;
use updater::integrity::sha256_hex;
use updater::metadata::{Hashes, TargetFile};

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn prepare(work: &Path, files: u64, mib: u64) -> Result<()> {
    let tree = work.join("tree");
    if tree.exists() {
        fs::remove_dir_all(&tree)?;
    }
    let per_file = (mib << 20) / files;
    for i in 0..files {
        let dir = tree.join(format!("lib/d{:03}", i % 100));
        fs::create_dir_all(&dir)?;
        let half = (per_file / 2) as usize;
        let mut data = noise(i + 1, half);
        let text = format!("resource {i}: the quick brown fox jumps over the lazy dog\n");
        while data.len() < per_file as usize {
            data.extend_from_slice(text.as_bytes());
        }
        data.truncate(per_file as usize);
        fs::write(dir.join(format!("f{i:05}.bin")), data)?;
    }
    let archive = work.join("app.tar.zst");
    let started = Instant::now();
    let summary = pack_dir(
        &tree,
        PackOptions {
            format: ArchiveFormat::TarZstd,
            level: Some(3),
        },
        &archive,
    )?;
    let packed = started.elapsed();
    let bytes = fs::read(&archive)?;
    let info = TargetFile {
        length: bytes.len() as u64,
        hashes: Hashes::from([("sha256".to_string(), sha256_hex(&bytes))]),
        custom: None,
        unrecognized: Default::default(),
    };
    let spec = BundleSpec {
        format: ArchiveFormat::TarZstd,
        unpacked_size: summary.unpacked_size,
        entries: summary.entries,
        preserve: Vec::new(),
    };
    fs::write(work.join("info.json"), serde_json::to_vec(&info)?)?;
    fs::write(work.join("spec.json"), serde_json::to_vec(&spec)?)?;
    println!(
        "prepared: {} entries, {} bytes unpacked, archive {} bytes, packed in {:.1} s",
        summary.entries,
        summary.unpacked_size,
        bytes.len(),
        packed.as_secs_f64()
    );
    Ok(())
}

fn install(work: &Path) -> Result<()> {
    let info: TargetFile = serde_json::from_slice(&fs::read(work.join("info.json"))?)?;
    let spec: BundleSpec = serde_json::from_slice(&fs::read(work.join("spec.json"))?)?;
    let apps = work.join("apps");
    if apps.exists() {
        fs::remove_dir_all(&apps)?;
    }
    let data = work.join("data");
    if data.exists() {
        fs::remove_dir_all(&data)?;
    }
    fs::create_dir_all(apps.join("app"))?;
    fs::write(apps.join("app/VERSION"), b"1\n")?;
    let installer = DirectoryInstaller::new(apps.join("app"), &data);
    let started = Instant::now();
    installer
        .install(
            &work.join("app.tar.zst"),
            &info,
            &spec,
            "1.0.0",
            "2.0.0",
            &mut |_| {},
        )
        .context("installing")?;
    println!("install_seconds {:.3}", started.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: u64| -> Result<u64> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).context("a value")?.parse()?),
            None => Ok(default),
        }
    };
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("prepare"), Some(work)) => {
            fs::create_dir_all(work)?;
            prepare(
                Path::new(work),
                flag("--files", 10_000)?,
                flag("--mib", 1024)?,
            )
        }
        (Some("install"), Some(work)) => install(Path::new(work)),
        _ => bail!(
            "usage: bench_bundle prepare WORK [--files N] [--mib M] | bench_bundle install WORK"
        ),
    }
}
