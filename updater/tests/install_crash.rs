//! Crash safety of `Installer::install` under SIGKILL (on Windows, `TerminateProcess`,
//! which ends the process as abruptly).
//!
//! The parent test re-executes this test binary, running only [`crash_child`], which
//! installs a large shell-script "v2" over "v1" and prints each install step as it
//! completes. The parent kills the child with SIGKILL a pseudo-random 0-2000 µs after
//! a chosen step (cycling over "ready", i.e. before any step, and every step), so
//! kills land in every phase, including in the middle of copying and hashing
//! megabytes. After each kill:
//!
//! (a) the executable exists, is executable, holds exactly the old or the new bytes,
//!     and running it prints exactly "v1" or "v2";
//! (b) `on_startup` resolves the state: the executable is unchanged, no staged or
//!     temporary files remain, and the journal agrees with the executable's content;
//!     then the new version is either confirmed or rolled back by its second start,
//!     or (when the old version is still there) a fresh install succeeds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod install_support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[cfg(unix)]
use install_support::mode;
use install_support::{hidden, hidden_files, run, script, target_file, Layout, APP};
use updater::install::{InstallStep, Installer, JournalState, StartupOutcome};
use updater::metadata::TargetFile;

/// Set (to the run's directory) only in the child process.
const CHILD_ENV: &str = "INSTALL_CRASH_CHILD";
/// The name of the child test function, for `--exact`.
const CHILD_TEST: &str = "crash_child";
/// How many kill runs in total: 25 for each kill point natively; 5 under Wine, where
/// every run starts a Windows process (225 runs take two minutes there).
const RUNS: usize = if cfg!(windows) { 45 } else { 225 };
/// Sizes of the two scripts: large enough that copying and hashing take a while.
const V1_SIZE: usize = 2 << 20;
const V2_SIZE: usize = 3 << 20;

fn kill_points() -> Vec<&'static str> {
    let mut points = vec!["ready"];
    points.extend(InstallStep::NAMES);
    points
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "STEP {line}").unwrap();
    out.flush().unwrap();
}

/// The installing process. Does nothing unless started by the parent test.
#[test]
fn crash_child() {
    let Some(root) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
    let info: TargetFile =
        serde_json::from_slice(&fs::read(root.join("info.json")).unwrap()).unwrap();
    let installer = Installer::new(root.join("bin").join(APP), root.join("data"));
    say("ready");
    installer
        .install(
            &root.join("download").join(APP),
            &info,
            "1.0.0",
            "2.0.0",
            &mut |step| say(step.name()),
        )
        .unwrap();
    say("done");
}

/// What one run saw.
struct Run {
    killed: bool,
    last_step: String,
    exe_version: &'static str,
    outcome: &'static str,
}

fn one_run(i: usize, point: &str, v1: &[u8], v2: &[u8], info: &[u8]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path(), v1.to_vec(), v2.to_vec());
    fs::write(dir.path().join("info.json"), info).unwrap();
    let delay = Duration::from_micros((i as u64 * 7919 + 13) % 2001);

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
            break; // the child finished before the kill point
        }
        if let Some(step) = step_of(&line) {
            steps.push(step.to_string());
            if step == point {
                spin(delay);
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    // Steps the child reported before it died.
    for rest in reader.lines() {
        if let Some(step) = step_of(&rest.unwrap()) {
            steps.push(step.to_string());
        }
    }
    let status = child.wait().unwrap();
    let killed = was_killed(status);
    if !killed {
        assert!(
            status.success(),
            "run {i}: the child failed: {status:?}, steps {steps:?}"
        );
        assert_eq!(steps.last().map(String::as_str), Some("done"), "run {i}");
    }
    let last_step = steps.last().cloned().unwrap_or_else(|| "-".into());
    let ctx = format!("run {i} (kill after {point} + {delay:?}, last step {last_step})");

    // (a) The executable is whole: old or new, executable, and it runs.
    let exe_version = check_exe(&layout, &ctx);

    // (b) Start-up resolves the state consistently with the executable.
    let installer = Installer::new(&layout.exe, &layout.data);
    let outcome = installer.on_startup().unwrap();
    assert_eq!(
        check_exe(&layout, &ctx),
        exe_version,
        "{ctx}: on_startup swapped"
    );
    let leftovers: Vec<_> = hidden_files(&layout.bin)
        .into_iter()
        .filter(|n| *n != hidden(".previous"))
        .collect();
    assert!(leftovers.is_empty(), "{ctx}: leftovers {leftovers:?}");
    let record = installer.status().unwrap();
    let outcome = if exe_version == "v2" {
        assert_eq!(
            outcome,
            StartupOutcome::AwaitingConfirmation {
                version: "2.0.0".into(),
                start: 1
            },
            "{ctx}"
        );
        let record = record.unwrap();
        assert_eq!(
            (record.state, record.starts),
            (JournalState::AwaitingConfirmation, 1),
            "{ctx}"
        );
        assert_eq!(fs::read(layout.previous()).unwrap(), v1, "{ctx}");
        if i.is_multiple_of(2) {
            installer.confirm().unwrap();
            assert_eq!(
                installer.on_startup().unwrap(),
                StartupOutcome::Clean,
                "{ctx}"
            );
            assert_eq!(run(&layout.exe), "v2", "{ctx}");
        } else {
            assert!(
                matches!(
                    installer.on_startup().unwrap(),
                    StartupOutcome::RolledBack(_)
                ),
                "{ctx}"
            );
            assert_eq!(check_exe(&layout, &ctx), "v1", "{ctx}");
        }
        "awaiting_confirmation"
    } else {
        let name = match outcome {
            StartupOutcome::Clean => "clean",
            StartupOutcome::InterruptedInstallUndone { .. } => "undone",
            other => panic!("{ctx}: {other:?}"),
        };
        assert_eq!(record, None, "{ctx}");
        assert!(
            !layout.previous().exists(),
            "{ctx}: a stale previous binary"
        );
        // Nothing is stuck: installing again works.
        installer
            .install(
                &layout.verified,
                &target_file(v2),
                "1.0.0",
                "2.0.0",
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(check_exe(&layout, &ctx), "v2", "{ctx}");
        name
    };
    Run {
        killed,
        last_step,
        exe_version,
        outcome,
    }
}

/// The step a line of the child's output reports. libtest may print
/// "test crash_child ... " on the same line before the first one.
fn step_of(line: &str) -> Option<&str> {
    line.find("STEP ").map(|at| line[at + 5..].trim())
}

/// Whether the child died of the parent's kill: SIGKILL on unix; on Windows
/// `Child::kill` is `TerminateProcess` with exit code 1 (a panic exits with 101).
#[cfg(unix)]
fn was_killed(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

#[cfg(windows)]
fn was_killed(status: ExitStatus) -> bool {
    status.code() == Some(1)
}

/// Busy-waits: `sleep` rounds tiny delays up to the scheduler's tick.
fn spin(delay: Duration) {
    let start = Instant::now();
    while start.elapsed() < delay {
        std::hint::spin_loop();
    }
}

/// Asserts that the executable is exactly one of the two binaries, executable, and
/// that running it prints its version; returns "v1" or "v2".
fn check_exe(layout: &Layout, ctx: &str) -> &'static str {
    let bytes = fs::read(&layout.exe).unwrap_or_else(|e| panic!("{ctx}: reading exe: {e}"));
    let version = if bytes == layout.v1 {
        "v1"
    } else if bytes == layout.v2 {
        "v2"
    } else {
        panic!(
            "{ctx}: the executable is neither v1 nor v2 ({} bytes)",
            bytes.len()
        )
    };
    #[cfg(unix)]
    assert_eq!(mode(&layout.exe), 0o755, "{ctx}");
    assert_eq!(run(&layout.exe), version, "{ctx}");
    version
}

fn count(map: &mut BTreeMap<String, usize>, key: impl Into<String>) {
    *map.entry(key.into()).or_default() += 1;
}

#[test]
fn install_survives_sigkill_at_every_step() {
    let v1 = script("v1", V1_SIZE);
    let v2 = script("v2", V2_SIZE);
    let info = serde_json::to_vec(&target_file(&v2)).unwrap();
    let points = kill_points();
    let started = Instant::now();
    let (mut killed, mut finished) = (0, 0);
    let mut last_steps = BTreeMap::new();
    let mut versions = BTreeMap::new();
    let mut outcomes = BTreeMap::new();
    let mut by_point: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for i in 0..RUNS {
        let point = points[i % points.len()];
        let run = one_run(i, point, &v1, &v2, &info);
        if run.killed {
            killed += 1;
            count(&mut last_steps, run.last_step.clone());
            count(by_point.entry(point).or_default(), run.last_step);
        } else {
            finished += 1;
        }
        count(&mut versions, run.exe_version);
        count(&mut outcomes, run.outcome);
    }
    let summary = format!(
        "install_crash: {RUNS} runs in {:.1?}: {killed} killed, {finished} finished first; \
         last step before the kill: {last_steps:?}; executable after the kill: {versions:?}; \
         first on_startup: {outcomes:?}",
        started.elapsed()
    );
    println!("{summary}");
    for point in &points {
        println!(
            "install_crash: killed after {point:<18} + 0-2000 µs -> last step printed: {:?}",
            by_point.get(point).cloned().unwrap_or_default()
        );
    }
    assert_eq!(killed + finished, RUNS);
    // Kills must land both before and after the swap, and inside the install.
    assert!(versions.get("v1").copied().unwrap_or(0) > 0, "{summary}");
    assert!(versions.get("v2").copied().unwrap_or(0) > 0, "{summary}");
    assert!(killed >= RUNS / 2, "{summary}");
}
