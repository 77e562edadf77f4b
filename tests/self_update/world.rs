//! The self-update test world: a sandbox repository served over HTTP on loopback, an
//! installed executable (a shell script printing its version; a batch file on Windows)
//! and a data directory.

#![allow(dead_code)] // each test file uses part of the fixture

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use repo_tool::sandbox::Sandbox;
use repo_tool::serve::StaticServer;
use semver::Version;
use time::OffsetDateTime;
use updater::release::{current_platform, ReleaseInfo};
use updater::Updater;

pub const APP: &str = "demo-app";

/// The installed executable's file name: Windows runs a batch file by its extension.
pub const EXE: &str = if cfg!(windows) {
    "demo-app.cmd"
} else {
    "demo-app"
};

/// A program printing `text` (`#!/bin/sh`; a batch file on Windows).
pub fn binary(text: &str) -> Vec<u8> {
    if cfg!(windows) {
        format!("@echo off\r\necho {text}\r\n").into_bytes()
    } else {
        format!("#!/bin/sh\necho {text}\n").into_bytes()
    }
}

/// A hook program writing `UPDATER_VERSION` to `file` in its working directory, and its
/// file name (Windows runs a batch file by its extension).
pub fn version_hook(file: &str) -> (&'static str, Vec<u8>) {
    if cfg!(windows) {
        (
            "migrate.cmd",
            format!("@echo off\r\necho %UPDATER_VERSION%> {file}\r\n").into_bytes(),
        )
    } else {
        (
            "migrate",
            format!("#!/bin/sh\necho \"$UPDATER_VERSION\" > {file}\n").into_bytes(),
        )
    }
}

pub fn info(version: &str) -> ReleaseInfo {
    ReleaseInfo {
        notes: Some(format!("release {version}")),
        ..ReleaseInfo::new(APP, Version::parse(version).unwrap(), current_platform())
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub sandbox: Sandbox,
    pub server: StaticServer,
    pub exe: PathBuf,
    pub data: PathBuf,
}

impl World {
    pub async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let sandbox = Sandbox::create(&dir.path().join("repo"), &[APP], now).unwrap();
        sandbox
            .release(&info("1.0.0"), APP, &binary("1.0.0"), now)
            .unwrap();
        let server = StaticServer::start(
            &sandbox.published_dir(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join(EXE);
        std::fs::write(&exe, binary("1.0.0")).unwrap();
        set_mode(&exe, 0o755);
        let data = dir.path().join("data");
        World {
            dir,
            sandbox,
            server,
            exe,
            data,
        }
    }

    /// An updater as the program at `version` would build it.
    pub fn updater(&self, version: &str) -> Updater {
        let base = self.server.base_url();
        Updater::builder(APP, version)
            .repository(&format!("{base}metadata/"), &format!("{base}targets/"))
            .trusted_root(self.sandbox.root_json().unwrap())
            .data_dir(&self.data)
            .executable(&self.exe)
            .build()
            .unwrap()
    }

    pub fn release(&self, version: &str) {
        self.release_info(&info(version));
    }

    pub fn release_info(&self, info: &ReleaseInfo) {
        let content = binary(&info.version.to_string());
        self.sandbox
            .release(info, APP, &content, OffsetDateTime::now_utc())
            .unwrap();
    }

    pub fn run_exe(&self) -> String {
        let out = Command::new(&self.exe).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

/// Sets a file's mode (Windows has none: a no-op there).
pub fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

pub async fn update(updater: &mut Updater) -> Option<String> {
    let release = updater.check().await.unwrap()?;
    let mut seen = 0;
    let mut progress = |done: u64, _total: u64| seen = done;
    let downloaded = updater
        .download(&release, Some(&mut progress))
        .await
        .unwrap();
    assert_eq!(seen, release.target.length);
    updater.install(&downloaded, |_| {}).await.unwrap();
    Some(release.version().to_string())
}

/// The path of an example program, (re)built in this test's profile (a no-op when
/// `cargo test --all-targets` already built it). On Windows (under Wine) cargo cannot be
/// run from the test: the examples must have been built for the target already.
pub fn example(name: &str) -> PathBuf {
    let profile_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf();
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if cfg!(windows) {
        assert!(
            path.exists(),
            "{} is missing: build the examples for this target first (cargo test --all-targets)",
            path.display()
        );
        return path;
    }
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-q", "-p", "updater-workspace", "--example", name]);
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    assert!(build.status().unwrap().success(), "building example {name}");
    path
}
