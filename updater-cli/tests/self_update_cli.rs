//! Drives the real `updater-cli` binary's `check`, `update` and `rollback` against a
//! sandbox repository served over HTTP on loopback, with a shell script as the
//! executable to update.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use repo_tool::sandbox::Sandbox;
use repo_tool::serve::StaticServer;
use semver::Version;
use serde_json::Value;
use time::OffsetDateTime;
use updater::release::{current_platform, ReleaseInfo};

const APP: &str = "demo-app";
/// A platform no test machine is: releases for it are passed over.
const OTHER_PLATFORM: &str = "powerpc64-unknown-openbsd";

/// A program printing `text` (`#!/bin/sh`; a batch file on Windows).
fn binary(text: &str) -> Vec<u8> {
    if cfg!(windows) {
        format!("@echo off\r\necho {text}\r\n").into_bytes()
    } else {
        format!("#!/bin/sh\necho {text}\n").into_bytes()
    }
}

/// The installed executable's file name: Windows runs a batch file by its extension.
const EXE: &str = if cfg!(windows) {
    "demo-app.cmd"
} else {
    "demo-app"
};

fn info(version: &str, platform: &str, channels: &[&str]) -> ReleaseInfo {
    ReleaseInfo {
        app: APP.into(),
        version: Version::parse(version).unwrap(),
        platform: platform.into(),
        channels: channels.iter().map(ToString::to_string).collect(),
        critical: false,
        minimum_version: None,
        notes: Some(format!("release {version}")),
        post_install: None,
        bundle: None,
        deltas: Vec::new(),
    }
}

fn target_path(version: &str, platform: &str) -> String {
    format!("{APP}/{version}/{platform}/{APP}")
}

/// A repository with release 1.0.0, served on loopback; the executable (1.0.0),
/// the trusted root file and the data directory the CLI is pointed at.
struct World {
    dir: tempfile::TempDir,
    sandbox: Sandbox,
    server: StaticServer,
    root: PathBuf,
    exe: PathBuf,
    data: PathBuf,
}

impl World {
    async fn new() -> World {
        assert_ne!(current_platform(), OTHER_PLATFORM);
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let sandbox = Sandbox::create(&dir.path().join("repo"), &[APP], now).unwrap();
        let server = StaticServer::start(
            &sandbox.published_dir(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .unwrap();
        let root = dir.path().join("root.json");
        std::fs::write(&root, sandbox.root_json().unwrap()).unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join(EXE);
        std::fs::write(&exe, binary("1.0.0")).unwrap();
        set_mode(&exe, 0o755);
        let data = dir.path().join("data");
        let world = World {
            dir,
            sandbox,
            server,
            root,
            exe,
            data,
        };
        world.release("1.0.0", &current_platform(), &[]);
        world
    }

    fn release(&self, version: &str, platform: &str, channels: &[&str]) {
        self.sandbox
            .release(
                &info(version, platform, channels),
                APP,
                &binary(version),
                OffsetDateTime::now_utc(),
            )
            .unwrap();
    }

    /// `updater-cli COMMAND` with this world's application arguments, then `extra`.
    fn args(&self, command: &str, current: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            command.into(),
            "--app".into(),
            APP.into(),
            "--current-version".into(),
            current.into(),
            "--repository".into(),
            self.server.base_url(),
            "--root".into(),
            path_arg(&self.root),
            "--data-dir".into(),
            path_arg(&self.data),
            "--executable".into(),
            path_arg(&self.exe),
        ];
        args.extend(extra.iter().map(ToString::to_string));
        args
    }

    async fn cli(&self, command: &str, current: &str, extra: &[&str]) -> Output {
        updater_cli(self.args(command, current, extra)).await
    }

    /// Runs the command, asserts it succeeded, and returns its stdout.
    async fn ok(&self, command: &str, current: &str, extra: &[&str]) -> String {
        let out = self.cli(command, current, extra).await;
        assert!(
            out.status.success(),
            "updater-cli {command} {extra:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    async fn check_json(&self, current: &str, extra: &[&str]) -> Value {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let stdout = self.ok("check", current, &args).await;
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    fn run_exe(&self) -> String {
        let out = Command::new(&self.exe).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn exe_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.exe).unwrap()
    }
}

fn path_arg(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// Sets a file's mode (Windows has none: a no-op there).
fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

/// Runs the binary off the runtime's thread, so the server on this runtime answers.
async fn updater_cli(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_updater-cli"))
            .args(&args)
            .env_remove("SSL_CERT_FILE")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The `passed_over` entries as sorted (version, reason) pairs.
fn passed_over(report: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = report["passed_over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let version = p["version"].as_str().unwrap().to_string();
            let target = p["target"].as_str().unwrap();
            assert!(
                target.starts_with(&format!("{APP}/{version}/")),
                "{target} is not the target of {version}"
            );
            (version, p["reason"].as_str().unwrap().to_string())
        })
        .collect();
    pairs.sort();
    pairs
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(v, r)| (v.to_string(), r.to_string()))
        .collect()
}

#[tokio::test]
async fn check_reports_the_chosen_release_and_why_the_others_were_passed_over() {
    let world = World::new().await;
    let here = current_platform();
    world.release("2.0.0", &here, &[]);
    world.release("2.5.0", &here, &["beta"]);
    world.release("3.0.0", OTHER_PLATFORM, &[]);

    let report = world.check_json("1.0.0", &[]).await;
    assert_eq!(report["app"], APP);
    assert_eq!(report["current"], "1.0.0");
    let chosen = &report["release"];
    assert_eq!(chosen["version"], "2.0.0");
    assert_eq!(chosen["target"], target_path("2.0.0", &here));
    assert_eq!(chosen["length"], binary("2.0.0").len() as u64);
    assert_eq!(chosen["critical"], false);
    assert_eq!(chosen["notes"], "release 2.0.0");
    assert_eq!(
        passed_over(&report),
        pairs(&[
            ("1.0.0", "the running version"),
            ("2.5.0", "another channel"),
            ("3.0.0", "another platform"),
        ])
    );
    let other = report["passed_over"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["version"] == "3.0.0")
        .unwrap();
    assert_eq!(other["target"], target_path("3.0.0", OTHER_PLATFORM));

    // The beta release is chosen only on the beta channel.
    let report = world.check_json("1.0.0", &["--channel", "beta"]).await;
    assert_eq!(report["release"]["version"], "2.5.0");
    assert_eq!(report["release"]["target"], target_path("2.5.0", &here));
    assert_eq!(
        passed_over(&report),
        pairs(&[
            ("1.0.0", "another channel"),
            ("2.0.0", "another channel"),
            ("3.0.0", "another platform"),
        ])
    );

    // Claiming the other platform picks its release.
    let report = world
        .check_json("1.0.0", &["--platform", OTHER_PLATFORM])
        .await;
    assert_eq!(report["release"]["version"], "3.0.0");
    assert_eq!(
        report["release"]["target"],
        target_path("3.0.0", OTHER_PLATFORM)
    );

    // A pin to a version the channel does not have offers nothing.
    let report = world.check_json("1.0.0", &["--pin", "2.5.0"]).await;
    assert_eq!(report["release"], Value::Null);
    assert!(passed_over(&report).contains(&("2.0.0".into(), "not the requested version".into())));

    // The human-readable form says the same.
    let text = world.ok("check", "1.0.0", &[]).await;
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "{APP} 1.0.0 -> 2.0.0 ({}, {} bytes)",
            target_path("2.0.0", &here),
            binary("2.0.0").len()
        )
    );
    assert!(
        text.contains(&format!(
            "passed over 3.0.0 ({}): another platform",
            target_path("3.0.0", OTHER_PLATFORM)
        )),
        "{text}"
    );
    assert!(text.contains("passed over 2.5.0"), "{text}");

    // Downgrades: only when asked, and below the highest version run here only with
    // --allow-below-highest (running 3.0.0 makes it the floor).
    let report = world.check_json("3.0.0", &[]).await;
    assert_eq!(report["release"], Value::Null);
    assert!(passed_over(&report).contains(&(
        "2.0.0".into(),
        "older than the running version (a downgrade)".into()
    )));
    let report = world.check_json("3.0.0", &["--allow-downgrade"]).await;
    assert_eq!(report["release"], Value::Null);
    assert!(passed_over(&report).contains(&(
        "2.0.0".into(),
        "below the highest version ever installed here".into()
    )));
    let report = world
        .check_json("3.0.0", &["--allow-downgrade", "--allow-below-highest"])
        .await;
    assert_eq!(report["release"]["version"], "2.0.0");

    // Checking never touches the executable.
    assert_eq!(world.exe_bytes(), binary("1.0.0"));
}

#[tokio::test]
async fn update_installs_the_newest_release_and_rollback_puts_back_the_previous_one() {
    let world = World::new().await;
    world.release("2.0.0", &current_platform(), &[]);
    assert_eq!(world.run_exe(), "1.0.0");

    let out = world.ok("update", "1.0.0", &[]).await;
    assert!(
        out.contains(&format!(
            "{APP}: 2.0.0 installed over {}",
            world.exe.display()
        )),
        "{out}"
    );
    assert_eq!(world.run_exe(), "2.0.0");
    assert_eq!(world.exe_bytes(), binary("2.0.0"));

    // The new version finds nothing newer.
    let out = world.ok("update", "2.0.0", &[]).await;
    assert_eq!(out.trim(), format!("{APP} 2.0.0: up to date"));
    assert_eq!(world.run_exe(), "2.0.0");

    // Rolling back restores 1.0.0, byte for byte.
    let out = world.ok("rollback", "2.0.0", &[]).await;
    assert_eq!(
        out.trim(),
        format!("{APP}: rolled back from 2.0.0 to 1.0.0")
    );
    assert_eq!(world.run_exe(), "1.0.0");
    assert_eq!(world.exe_bytes(), binary("1.0.0"));

    // The rolled-back version is not offered again.
    let report = world.check_json("1.0.0", &[]).await;
    assert_eq!(report["release"], Value::Null, "{report}");
    assert!(
        passed_over(&report).contains(&("2.0.0".into(), "rolled back here before".into())),
        "{report}"
    );
    let out = world.ok("update", "1.0.0", &[]).await;
    assert_eq!(out.trim(), format!("{APP} 1.0.0: up to date"));
    assert_eq!(world.exe_bytes(), binary("1.0.0"));
    let out = world.ok("rollback", "1.0.0", &[]).await;
    assert_eq!(out.trim(), format!("{APP}: nothing to roll back to"));
    assert_eq!(world.exe_bytes(), binary("1.0.0"));

    // A fixed release is.
    world.release("2.0.1", &current_platform(), &[]);
    let out = world.ok("update", "1.0.0", &[]).await;
    assert!(
        out.contains(&format!("{APP}: 2.0.1 installed over")),
        "{out}"
    );
    assert_eq!(world.run_exe(), "2.0.1");
}

#[tokio::test]
async fn a_tampered_release_is_refused_and_the_executable_is_unchanged() {
    let world = World::new().await;
    let here = current_platform();
    world.release("2.0.0", &here, &[]);
    // The server's every copy of the release file is replaced, with the same length,
    // so that only the hashes can tell.
    let evil = binary("pwned");
    assert_eq!(evil.len(), binary("2.0.0").len());
    let dir = world
        .sandbox
        .published_dir()
        .join("targets")
        .join(APP)
        .join("2.0.0")
        .join(&here);
    let mut replaced = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(entry.unwrap().path(), &evil).unwrap();
        replaced += 1;
    }
    assert!(replaced > 0, "no release file under {}", dir.display());

    let out = world.cli("update", "1.0.0", &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(error.contains(&target_path("2.0.0", &here)), "{error}");
    assert!(error.contains("refused"), "{error}");
    assert!(!stdout.contains("installed"), "{stdout}");
    assert_eq!(world.exe_bytes(), binary("1.0.0"));
    assert_eq!(world.run_exe(), "1.0.0");
    let leftovers: Vec<_> = std::fs::read_dir(world.data.join("downloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(leftovers.is_empty(), "unverified bytes kept: {leftovers:?}");
    // Nothing to roll back: nothing was installed.
    let out = world.ok("rollback", "1.0.0", &[]).await;
    assert_eq!(out.trim(), format!("{APP}: nothing to roll back to"));
    assert_eq!(world.exe_bytes(), binary("1.0.0"));
}

#[tokio::test]
async fn bad_input_exits_1_with_a_message_naming_the_problem() {
    let world = World::new().await;
    world.release("2.0.0", &current_platform(), &[]);
    let fails = |args: Vec<String>| async move {
        let out = updater_cli(args.clone()).await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "updater-cli {args:?} should fail: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let with = |mut args: Vec<String>, flag: &str, value: &str| {
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = value.to_string();
        args
    };

    for command in ["check", "update", "rollback"] {
        // A missing trusted root: the message names the file.
        let missing = world.dir.path().join("no-such-root.json");
        let args = with(
            world.args(command, "1.0.0", &[]),
            "--root",
            &path_arg(&missing),
        );
        let err = fails(args).await;
        assert!(err.contains("error: "), "{err}");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.contains("trusted root"), "{err}");

        // A current version that is not semver.
        let err = fails(world.args(command, "one.two", &[])).await;
        assert!(err.contains("\"one.two\""), "{err}");
        assert!(err.contains("not semver"), "{err}");
    }
    // Nothing was set up for the failed runs.
    assert!(!world.data.exists());

    // A trusted root that is not one.
    let garbage = world.dir.path().join("garbage-root.json");
    std::fs::write(&garbage, b"not json").unwrap();
    let err = fails(with(
        world.args("check", "1.0.0", &[]),
        "--root",
        &path_arg(&garbage),
    ))
    .await;
    // The message names the file and says what is wrong with it.
    assert!(err.contains("error: "), "{err}");
    assert!(err.contains(&garbage.display().to_string()), "{err}");
    assert!(err.contains("root metadata is malformed"), "{err}");

    // A pin that is not semver.
    let err = fails(world.args("check", "1.0.0", &["--pin", "latest"])).await;
    assert!(err.contains("--pin is not semver"), "{err}");

    // --allow-below-highest needs --allow-downgrade.
    let err = fails(world.args("update", "1.0.0", &["--allow-below-highest"])).await;
    assert!(err.contains("--allow-downgrade"), "{err}");

    assert_eq!(world.exe_bytes(), binary("1.0.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    // CI logs and captured output see stderr as a pipe: plain text only.
    let world = World::new().await;
    world.release("2.0.0", &current_platform(), &[]);
    let out = world.cli("update", "1.0.0", &["-v"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("INFO"),
        "the update logged at info level: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, stream) in [("stderr", &out.stderr), ("stdout", &out.stdout)] {
        assert!(
            !stream.contains(&0x1b),
            "escape byte on {name}: {}",
            String::from_utf8_lossy(stream)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_needs_no_executable_and_update_says_it_does() {
    let world = World::new().await;
    let without = |command: &str| {
        let mut args = world.args(command, "1.0.0", &[]);
        let at = args.iter().position(|a| a == "--executable").unwrap();
        args.drain(at..at + 2);
        args
    };
    let out = updater_cli(without("check")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = updater_cli(without("update")).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("update needs --executable"), "{err}");
    assert_eq!(world.run_exe(), "1.0.0", "nothing was replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_goes_away_ends_the_output_quietly() {
    // `updater-cli check --json | head -c 10`: the reader closes the pipe before the
    // report is written. That is not a crash.
    let world = World::new().await;
    let args = world.args("check", "1.0.0", &["--json"]);
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_updater-cli"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
