//! Crash safety of `DirectoryInstaller::install` under SIGKILL (on Windows,
//! `TerminateProcess`).
//!
//! The parent re-executes this test binary, running only [`bundle_crash_child`],
//! which installs a verified tar.zst of a "v2" tree (a few hundred files, about
//! 16 MB, a symbolic link, an executable) over a "v1" tree, printing each install
//! step. The parent kills it at a pseudo-random moment: during extraction (up to
//! 400 ms after staging starts) or 0-2000 µs after any other step. After each kill:
//!
//! (a) on Linux and macOS, where the swap is one exchange, the application directory
//!     is exactly the v1 tree or exactly the v2 tree (every path, kind, mode, link
//!     target and file hash), and the installation's own file (preserved) is there;
//!     on Windows, where the swap is two renames, this holds after start-up;
//! (b) `on_startup` resolves the state: the tree is unchanged by it (or, on Windows,
//!     restored), no staging or trash directory remains, and the journal agrees with
//!     the tree; then the new version is confirmed or rolled back by its second start,
//!     or (when v1 is still there) a fresh install succeeds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use updater::bundle::pack::{pack_dir, PackOptions};
use updater::bundle::{tree, ArchiveFormat, BundleSpec, EntryPath};
use updater::install::{DirectoryInstaller, InstallStep, JournalState, StartupOutcome};
use updater::integrity::sha256_hex;
use updater::metadata::{Hashes, TargetFile};

const CHILD_ENV: &str = "BUNDLE_CRASH_CHILD";
const CHILD_TEST: &str = "bundle_crash_child";
/// Kill runs in total: 200 natively; under Wine, where every run starts a Windows
/// process and the swap is the two-rename fallback, 20.
const RUNS: usize = if cfg!(windows) { 20 } else { 200 };
/// The installation's own file, which every release preserves.
const PRESERVED: &str = "settings.json";

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "STEP {line}").unwrap();
    out.flush().unwrap();
}

/// The installing process. Does nothing unless started by the parent test.
#[test]
fn bundle_crash_child() {
    let Some(root) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
    let info: TargetFile =
        serde_json::from_slice(&fs::read(root.join("info.json")).unwrap()).unwrap();
    let spec: BundleSpec =
        serde_json::from_slice(&fs::read(root.join("spec.json")).unwrap()).unwrap();
    let installer = DirectoryInstaller::new(root.join("apps/app"), root.join("data"));
    say("ready");
    installer
        .install(
            &root.join("app.tar.zst"),
            &info,
            &spec,
            "1.0.0",
            "2.0.0",
            &mut |step| say(step.name()),
        )
        .unwrap();
    say("done");
}

/// A deterministic pseudo-random byte stream (xorshift), so trees compress poorly
/// and every file differs.
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

/// A tree of 300 files in 12 directories (about 16 MB), a link and an executable;
/// `version` changes every file's content and which files exist.
fn build_tree(dir: &Path, version: u64) {
    for i in 0..300u64 {
        // v2 drops files 0-9 and adds 300-309 (as 0-9 renamed).
        let n = if version == 2 && i < 10 { i + 300 } else { i };
        let sub = dir.join(format!("lib/part{:02}", n % 12));
        fs::create_dir_all(&sub).unwrap();
        let len = 20_000 + ((n * 7919) % 90_000) as usize;
        fs::write(
            sub.join(format!("file{n:03}.dat")),
            noise(n * 31 + version, len),
        )
        .unwrap();
    }
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::write(dir.join("bin/app"), format!("#!/bin/sh\necho v{version}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.join("bin/app"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("../lib/part01", dir.join("bin/lib")).unwrap();
    }
    fs::write(dir.join("VERSION"), format!("{version}\n")).unwrap();
}

fn preserved() -> Vec<EntryPath> {
    vec![EntryPath::parse(PRESERVED.as_bytes()).unwrap()]
}

struct Fixture {
    v1_dir: PathBuf,
    v1: String,
    v2: String,
    archive: Vec<u8>,
    archive_path: PathBuf,
    info: Vec<u8>,
    spec: BundleSpec,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (v1_dir, v2_dir) = (dir.path().join("v1"), dir.path().join("v2"));
    build_tree(&v1_dir, 1);
    build_tree(&v2_dir, 2);
    let archive_path = dir.path().join("v2.tar.zst");
    let summary = pack_dir(
        &v2_dir,
        PackOptions {
            format: ArchiveFormat::TarZstd,
            level: Some(1),
        },
        &archive_path,
    )
    .unwrap();
    let archive = fs::read(&archive_path).unwrap();
    let info = TargetFile {
        length: archive.len() as u64,
        hashes: Hashes::from([("sha256".to_string(), sha256_hex(&archive))]),
        custom: None,
        unrecognized: Default::default(),
    };
    Fixture {
        v1: tree::manifest(&v1_dir, &preserved()).unwrap(),
        v2: tree::manifest(&v2_dir, &preserved()).unwrap(),
        v1_dir,
        archive,
        archive_path,
        info: serde_json::to_vec(&info).unwrap(),
        spec: BundleSpec {
            format: ArchiveFormat::TarZstd,
            unpacked_size: summary.unpacked_size,
            entries: summary.entries,
            preserve: vec![PRESERVED.to_string()],
        },
        _dir: dir,
    }
}

/// Puts a tree of files, directories and links at `to`: files are hard links to
/// `from`'s (an install never writes a file in place, it swaps whole trees), or copies
/// where links are refused.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(fs::read_link(&source).unwrap(), &dest).unwrap();
        } else if kind.is_dir() {
            copy_tree(&source, &dest);
        } else if fs::hard_link(&source, &dest).is_err() {
            fs::copy(&source, &dest).unwrap();
        }
    }
}

/// "v1" or "v2": what the application directory holds, exactly; the preserved file
/// must be there too.
fn version_of(fx: &Fixture, app: &Path, ctx: &str) -> &'static str {
    let manifest = tree::manifest(app, &preserved()).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let version = if manifest == fx.v1 {
        "v1"
    } else if manifest == fx.v2 {
        "v2"
    } else {
        panic!("{ctx}: the application directory is neither v1 nor v2")
    };
    assert_eq!(
        fs::read(app.join(PRESERVED)).unwrap_or_default(),
        b"{\"user\": true}",
        "{ctx}: the preserved file"
    );
    version
}

/// Names next to the application directory other than the directory and its kept
/// previous tree: staging and trash leftovers.
fn leftovers(apps: &Path) -> Vec<String> {
    fs::read_dir(apps)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "app" && n != ".app.previous")
        .collect()
}

struct Run {
    killed: bool,
    last_step: String,
    version: &'static str,
}

fn one_run(i: usize, point: &str, fx: &Fixture) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (apps, app) = (dir.path().join("apps"), dir.path().join("apps/app"));
    copy_tree(&fx.v1_dir, &app);
    fs::write(app.join(PRESERVED), b"{\"user\": true}").unwrap();
    if fs::hard_link(&fx.archive_path, dir.path().join("app.tar.zst")).is_err() {
        fs::write(dir.path().join("app.tar.zst"), &fx.archive).unwrap();
    }
    fs::write(dir.path().join("info.json"), &fx.info).unwrap();
    fs::write(
        dir.path().join("spec.json"),
        serde_json::to_vec(&fx.spec).unwrap(),
    )
    .unwrap();
    let seed = (i as u64).wrapping_mul(7919) + 13;
    let delay = if point == "staging" {
        Duration::from_micros(seed % 400_000)
    } else {
        Duration::from_micros(seed % 2001)
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut steps = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(step) = line
            .find("STEP ")
            .map(|at| line[at + 5..].trim().to_string())
        {
            let hit = step == point;
            steps.push(step);
            if hit {
                spin(delay);
                child.kill().unwrap();
                break;
            }
        }
    }
    for rest in reader.lines() {
        let rest = rest.unwrap();
        if let Some(at) = rest.find("STEP ") {
            steps.push(rest[at + 5..].trim().to_string());
        }
    }
    let status = child.wait().unwrap();
    let killed = was_killed(status);
    if !killed {
        assert!(
            status.success(),
            "run {i}: the child failed: {status:?}, {steps:?}"
        );
    }
    let last_step = steps.last().cloned().unwrap_or_else(|| "-".into());
    let ctx = format!("run {i} (kill after {point} + {delay:?}, last step {last_step})");

    // (a) One exchange: the tree is whole at every instant.
    let atomic = cfg!(any(target_os = "linux", target_os = "macos"));
    let before = atomic.then(|| version_of(fx, &app, &ctx));

    // (b) Start-up resolves, without changing which tree is installed.
    let installer = DirectoryInstaller::new(&app, dir.path().join("data"));
    let outcome = installer.on_startup().unwrap();
    let version = version_of(fx, &app, &ctx);
    if let Some(before) = before {
        assert_eq!(before, version, "{ctx}: on_startup swapped");
    }
    assert!(
        leftovers(&apps).is_empty(),
        "{ctx}: leftovers {:?}",
        leftovers(&apps)
    );
    let record = installer.status().unwrap();
    if version == "v2" {
        assert_eq!(
            outcome,
            StartupOutcome::AwaitingConfirmation {
                version: "2.0.0".into(),
                start: 1
            },
            "{ctx}"
        );
        assert_eq!(
            record.unwrap().state,
            JournalState::AwaitingConfirmation,
            "{ctx}"
        );
        assert_eq!(
            tree::manifest(&apps.join(".app.previous"), &preserved()).unwrap(),
            fx.v1,
            "{ctx}: the kept previous tree"
        );
        if i.is_multiple_of(2) {
            installer.confirm().unwrap();
            assert_eq!(
                installer.on_startup().unwrap(),
                StartupOutcome::Clean,
                "{ctx}"
            );
            assert_eq!(version_of(fx, &app, &ctx), "v2");
        } else {
            assert!(
                matches!(
                    installer.on_startup().unwrap(),
                    StartupOutcome::RolledBack(_)
                ),
                "{ctx}"
            );
            assert_eq!(version_of(fx, &app, &ctx), "v1", "{ctx}: rolled back");
            assert!(
                leftovers(&apps).is_empty(),
                "{ctx}: leftovers after rollback"
            );
        }
    } else {
        assert!(
            matches!(
                outcome,
                StartupOutcome::Clean | StartupOutcome::InterruptedInstallUndone { .. }
            ),
            "{ctx}: {outcome:?}"
        );
        assert_eq!(record, None, "{ctx}");
        if i.is_multiple_of(4) {
            // Nothing is stuck: installing again works.
            let info: TargetFile = serde_json::from_slice(&fx.info).unwrap();
            installer
                .install(
                    &dir.path().join("app.tar.zst"),
                    &info,
                    &fx.spec,
                    "1.0.0",
                    "2.0.0",
                    &mut |_| {},
                )
                .unwrap();
            assert_eq!(version_of(fx, &app, &ctx), "v2", "{ctx}: installed again");
        }
    }
    Run {
        killed,
        last_step,
        version,
    }
}

#[cfg(unix)]
fn was_killed(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

#[cfg(windows)]
fn was_killed(status: ExitStatus) -> bool {
    status.code() == Some(1)
}

fn spin(delay: Duration) {
    let start = Instant::now();
    while start.elapsed() < delay {
        std::hint::spin_loop();
    }
}

#[test]
fn a_bundle_install_survives_sigkill_during_extraction_and_swap() {
    let fx = fixture();
    let mut points = vec!["ready"];
    points.extend(InstallStep::NAMES);
    let started = Instant::now();
    let (mut killed, mut finished) = (0, 0);
    let mut last_steps: BTreeMap<String, usize> = BTreeMap::new();
    let mut versions: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..RUNS {
        // Every third run is killed during extraction; the rest cycle over the steps.
        let point = if i.is_multiple_of(3) {
            "staging"
        } else {
            points[i % points.len()]
        };
        let run = one_run(i, point, &fx);
        if run.killed {
            killed += 1;
            *last_steps.entry(run.last_step).or_default() += 1;
        } else {
            finished += 1;
        }
        *versions.entry(run.version).or_default() += 1;
    }
    let summary = format!(
        "bundle_crash: {RUNS} runs of a {} entry, {} byte tree in {:.1?}: {killed} killed, {finished} finished first; last step before the kill: {last_steps:?}; tree after start-up: {versions:?}",
        fx.spec.entries,
        fx.spec.unpacked_size,
        started.elapsed()
    );
    println!("{summary}");
    assert!(versions.get("v1").copied().unwrap_or(0) > 0, "{summary}");
    assert!(versions.get("v2").copied().unwrap_or(0) > 0, "{summary}");
    assert!(killed >= RUNS / 2, "{summary}");
    assert!(
        last_steps.get("staging").copied().unwrap_or(0) > 0,
        "{summary}: no kill during extraction"
    );
}
