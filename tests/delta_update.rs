//! Deltas end to end: releases published with repo-tool's delta maker, served over
//! HTTP on loopback, and the `Updater` rebuilding the new executable from the
//! installed one, or falling back to the full download, saying why in the log, when
//! anything about the delta is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

#[path = "self_update/world.rs"]
mod world;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use repo_tool::delta::{make_delta, DeltaOptions, FormatChoice};
use repo_tool::ops::NewTarget;
use repo_tool::release::{add_releases_with, release_path, NewRelease};
use time::OffsetDateTime;
use updater::delta::{DeltaFormat, DeltaSource, DeltaSpec};
use updater::integrity::{sha256_hex, sha512_hex};
use updater::update::Downloaded;
use world::{binary, info, set_mode, World, APP};

/// A program printing `version`, followed by a body that does not run (after the
/// exit) and changes a little from version to version, as a real binary does: the
/// size where a delta pays.
fn program(version: &str) -> Vec<u8> {
    let mut bytes = binary(version);
    let (comment, exit, eol) = if cfg!(windows) {
        ("rem", "exit /b 0", "\r\n")
    } else {
        ("#", "exit 0", "\n")
    };
    bytes.extend_from_slice(format!("{exit}{eol}").as_bytes());
    for line in 0..3000u32 {
        let word = sha256_hex(&line.to_le_bytes());
        let tag = if line % 500 == 0 { version } else { "same" };
        bytes.extend_from_slice(format!("{comment} {line} {word} {tag}{eol}").as_bytes());
    }
    bytes
}

/// The log of everything the test does, as a string.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn capture() -> (Log, tracing::subscriber::DefaultGuard) {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        (log.clone(), tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The world with [`program`] 1.0.0 published and installed.
async fn installed_1_0_0() -> World {
    let world = World::new().await;
    world
        .sandbox
        .release(
            &info("1.0.0"),
            APP,
            &program("1.0.0"),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    std::fs::write(&world.exe, program("1.0.0")).unwrap();
    set_mode(&world.exe, 0o755);
    world
}

/// Publishes 2.0.0 with the deltas given as (spec, bytes), as a repository that
/// made them, right or wrong, would.
fn publish_2_0_0_with(world: &World, deltas: Vec<(DeltaSpec, Vec<u8>)>) {
    let mut release = info("2.0.0");
    release.deltas = deltas.iter().map(|(spec, _)| spec.clone()).collect();
    let extra = deltas
        .into_iter()
        .map(|(spec, content)| NewTarget {
            path: spec.target,
            content,
            custom: None,
        })
        .collect();
    let new = NewRelease {
        info: release,
        file_name: APP.into(),
        content: program("2.0.0"),
    };
    let now = OffsetDateTime::now_utc();
    add_releases_with(world.sandbox.project(), &[new], extra, now).unwrap();
    world.sandbox.publish(now).unwrap();
}

/// A delta listing that says it applies to the published 1.0.0.
fn spec_from_1_0_0(format: DeltaFormat, name: &str) -> DeltaSpec {
    let source = program("1.0.0");
    DeltaSpec {
        target: format!("{}.{name}", release_path(&info("2.0.0"), APP)),
        format,
        source: DeltaSource {
            target: release_path(&info("1.0.0"), APP),
            length: source.len() as u64,
            hashes: [
                ("sha256".to_string(), sha256_hex(&source)),
                ("sha512".to_string(), sha512_hex(&source)),
            ]
            .into_iter()
            .collect(),
        },
    }
}

/// Checks for 2.0.0 and downloads it.
async fn download_2_0_0(world: &World) -> Downloaded {
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    let release = app.check().await.unwrap().expect("2.0.0 is offered");
    app.download(&release, None).await.unwrap()
}

/// Installs what was downloaded and runs it: it must be the signed 2.0.0.
async fn install_and_run(world: &World, downloaded: &Downloaded) {
    assert_eq!(std::fs::read(&downloaded.path).unwrap(), program("2.0.0"));
    let mut app = world.updater("1.0.0");
    app.install(downloaded, |_| {}).await.unwrap();
    assert_eq!(world.run_exe(), "2.0.0");
    assert_eq!(std::fs::read(&world.exe).unwrap(), program("2.0.0"));
}

/// Nothing of a delta is left in the downloads directory.
fn assert_no_delta_left(world: &World) {
    let downloads = world.data.join("downloads");
    let names: Vec<String> = std::fs::read_dir(&downloads)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("from-") && !n.contains("delta")),
        "left in {}: {names:?}",
        downloads.display()
    );
}

/// The served copy of the target whose path ends with `suffix`.
fn served(world: &World, suffix: &str) -> PathBuf {
    let dir = world
        .sandbox
        .published_dir()
        .join("targets")
        .join(release_path(&info("2.0.0"), APP))
        .parent()
        .unwrap()
        .to_path_buf();
    find(&dir, suffix).unwrap_or_else(|| panic!("no served file ends with {suffix}"))
}

fn find(dir: &Path, suffix: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
}

#[tokio::test]
async fn the_update_is_rebuilt_from_a_delta_in_each_format() {
    for format in DeltaFormat::ALL {
        let world = installed_1_0_0().await;
        let options = DeltaOptions {
            previous: 1,
            format: FormatChoice::Only(format),
            ..Default::default()
        };
        let (_, made) = world
            .sandbox
            .release_with_deltas(
                &info("2.0.0"),
                APP,
                &program("2.0.0"),
                options,
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        assert_eq!(made.len(), 1, "{format}: one delta, from 1.0.0");
        let (log, _guard) = Log::capture();
        let downloaded = download_2_0_0(&world).await;
        let used = downloaded.delta.clone().expect("the delta was used");
        assert_eq!(used.format, format);
        assert_eq!(used.from, release_path(&info("1.0.0"), APP));
        assert_eq!(used.full_length, program("2.0.0").len() as u64);
        assert!(
            used.delta_length * 10 < used.full_length,
            "{format}: {} of {} bytes",
            used.delta_length,
            used.full_length
        );
        assert!(
            log.text()
                .contains("release rebuilt from a delta and verified"),
            "{}",
            log.text()
        );
        assert_no_delta_left(&world);
        install_and_run(&world, &downloaded).await;
    }
}

#[tokio::test]
async fn the_maker_takes_deltas_from_the_previous_releases_of_the_platform_only() {
    let world = installed_1_0_0().await;
    let now = OffsetDateTime::now_utc();
    world
        .sandbox
        .release(&info("1.1.0"), APP, &program("1.1.0"), now)
        .unwrap();
    let mut other = info("1.2.0");
    other.platform = "riscv64gc-unknown-linux-gnu".into();
    world
        .sandbox
        .release(&other, APP, &program("1.2.0"), now)
        .unwrap();
    let options = DeltaOptions {
        previous: 2,
        ..Default::default()
    };
    let (_, made) = world
        .sandbox
        .release_with_deltas(&info("2.0.0"), APP, &program("2.0.0"), options, now)
        .unwrap();
    let froms: Vec<String> = made.iter().map(|d| d.from_version.to_string()).collect();
    assert_eq!(froms, ["1.1.0", "1.0.0"], "newest first, same platform");
    // 1.0.0 is installed: the client picks the delta made from it.
    let downloaded = download_2_0_0(&world).await;
    assert_eq!(
        downloaded.delta.as_ref().map(|d| d.from.clone()),
        Some(release_path(&info("1.0.0"), APP))
    );
    install_and_run(&world, &downloaded).await;
}

/// Publishes 2.0.0 with one wrong delta; the update falls back to the full file,
/// installs the signed 2.0.0, and the log says why.
async fn falls_back(delta: Vec<u8>, format: DeltaFormat, reason: &str) {
    let world = installed_1_0_0().await;
    publish_2_0_0_with(&world, vec![(spec_from_1_0_0(format, "bad"), delta)]);
    let (log, _guard) = Log::capture();
    let downloaded = download_2_0_0(&world).await;
    assert_eq!(downloaded.delta, None);
    let text = log.text();
    assert!(
        text.contains("delta failed; downloading the full file"),
        "{text}"
    );
    assert!(text.contains(reason), "expected {reason:?} in:\n{text}");
    assert_no_delta_left(&world);
    install_and_run(&world, &downloaded).await;
}

fn delta(from: &[u8], to: &[u8], format: DeltaFormat) -> Vec<u8> {
    make_delta(from, to, FormatChoice::Only(format), 3)
        .unwrap()
        .1
}

#[tokio::test]
async fn a_corrupt_delta_falls_back_to_the_full_download() {
    for format in DeltaFormat::ALL {
        let mut bytes = delta(&program("1.0.0"), &program("2.0.0"), format);
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle..middle + 8] {
            *b ^= 0x55;
        }
        // The repository signed these bytes: the delta downloads, and then fails to
        // decode or makes something other than the release.
        falls_back(bytes, format, "").await;
    }
    falls_back(
        b"not a delta at all, though long enough for a header".to_vec(),
        DeltaFormat::BsdiffZstd,
        "wrong magic",
    )
    .await;
}

#[tokio::test]
async fn a_delta_made_for_another_source_falls_back_to_the_full_download() {
    for format in DeltaFormat::ALL {
        // Another program entirely: the same lines in another order.
        let other: Vec<u8> = program("1.0.0").into_iter().rev().collect();
        let bytes = delta(&other, &program("2.0.0"), format);
        falls_back(bytes, format, "").await;
    }
}

#[tokio::test]
async fn a_delta_whose_output_differs_by_one_byte_falls_back_to_the_full_download() {
    for format in DeltaFormat::ALL {
        let mut wrong = program("2.0.0");
        let at = wrong.len() / 3;
        wrong[at] ^= 1;
        let bytes = delta(&program("1.0.0"), &wrong, format);
        falls_back(bytes, format, "the rebuilt file is not the release: sha").await;
    }
}

#[tokio::test]
async fn a_source_modified_on_disk_gets_the_full_download() {
    let world = installed_1_0_0().await;
    let options = DeltaOptions {
        previous: 1,
        ..Default::default()
    };
    world
        .sandbox
        .release_with_deltas(
            &info("2.0.0"),
            APP,
            &program("2.0.0"),
            options,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    // Someone patched the installed program: a journal would still say 1.0.0.
    let mut patched = program("1.0.0");
    patched[20] ^= 1;
    std::fs::write(&world.exe, &patched).unwrap();
    let (log, _guard) = Log::capture();
    let downloaded = download_2_0_0(&world).await;
    assert_eq!(downloaded.delta, None);
    assert!(
        log.text()
            .contains("no delta applies to the installed file"),
        "{}",
        log.text()
    );
    install_and_run(&world, &downloaded).await;
}

#[tokio::test]
async fn a_served_delta_longer_than_signed_is_cut_off_at_its_length() {
    let world = installed_1_0_0().await;
    let options = DeltaOptions {
        previous: 1,
        format: FormatChoice::Only(DeltaFormat::BsdiffZstd),
        ..Default::default()
    };
    let (_, made) = world
        .sandbox
        .release_with_deltas(
            &info("2.0.0"),
            APP,
            &program("2.0.0"),
            options,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    let signed = made[0].target.content.len();
    // The server appends a megabyte to the delta it serves.
    let file = served(&world, ".from-1.0.0.bsdiff-zstd");
    let mut longer = std::fs::read(&file).unwrap();
    longer.extend(std::iter::repeat_n(0u8, 1 << 20));
    std::fs::write(&file, &longer).unwrap();
    let (log, _guard) = Log::capture();
    let downloaded = download_2_0_0(&world).await;
    assert_eq!(downloaded.delta, None);
    let text = log.text();
    assert!(
        text.contains(&format!(
            "more than the {signed} bytes allowed for this file"
        )),
        "{text}"
    );
    assert_no_delta_left(&world);
    install_and_run(&world, &downloaded).await;
}

#[tokio::test]
async fn a_delta_replaced_on_the_server_is_refused_before_it_is_parsed() {
    let world = installed_1_0_0().await;
    let options = DeltaOptions {
        previous: 1,
        format: FormatChoice::Only(DeltaFormat::ZstdPatch),
        ..Default::default()
    };
    world
        .sandbox
        .release_with_deltas(
            &info("2.0.0"),
            APP,
            &program("2.0.0"),
            options,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    let file = served(&world, ".from-1.0.0.zstd-patch");
    let signed_len = std::fs::metadata(&file).unwrap().len() as usize;
    let mut other = delta(&program("1.0.0"), &program("6.6.6"), DeltaFormat::ZstdPatch);
    other.resize(signed_len, 0);
    std::fs::write(&file, &other).unwrap();
    let (log, _guard) = Log::capture();
    let downloaded = download_2_0_0(&world).await;
    assert_eq!(downloaded.delta, None);
    assert!(
        log.text().contains("sha256 hash does not match"),
        "{}",
        log.text()
    );
    install_and_run(&world, &downloaded).await;
}
