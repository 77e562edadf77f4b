//! Shared by `install_rollback.rs` and `install_crash.rs`: executables that are shell
//! scripts (batch files on Windows) printing their version, the metadata describing
//! them, and running them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use updater::integrity::sha256_hex;
use updater::metadata::TargetFile;

/// The executable's file name: Windows runs a batch file by its extension.
pub const APP: &str = if cfg!(windows) { "app.cmd" } else { "app" };

/// `.app.previous` (`.app.cmd.previous` on Windows) and the like.
pub fn hidden(suffix: &str) -> String {
    format!(".{APP}{suffix}")
}

/// A script that prints `version` (`#!/bin/sh`; a batch file on Windows), padded with
/// comments to about `pad` bytes (neither shell reads past its `exit`).
pub fn script(version: &str, pad: usize) -> Vec<u8> {
    let (mut s, line) = if cfg!(windows) {
        (
            format!("@echo off\r\necho {version}\r\nexit /b 0\r\n"),
            format!("rem padding of {version} .......................................................\r\n"),
        )
    } else {
        (
            format!("#!/bin/sh\necho {version}\nexit 0\n"),
            format!("# padding of {version} .........................................................\n"),
        )
    };
    while s.len() < pad {
        s.push_str(&line);
    }
    s.into_bytes()
}

/// The trusted metadata of `bytes`: length and SHA-256 (and SHA-512).
pub fn target_file(bytes: &[u8]) -> TargetFile {
    TargetFile {
        length: bytes.len() as u64,
        hashes: updater::metadata::Hashes::from([
            ("sha256".to_string(), sha256_hex(bytes)),
            ("sha512".to_string(), updater::integrity::sha512_hex(bytes)),
        ]),
        custom: None,
        unrecognized: Default::default(),
    }
}

/// Writes an executable (or not) file with `mode` (ignored on Windows, which has no
/// mode bits).
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
}

/// Runs a script and returns its trimmed output. Retries on ETXTBSY: a fork in
/// another test thread may briefly hold a write descriptor of a just-written file.
pub fn run(exe: &Path) -> String {
    for _ in 0..100 {
        match Command::new(exe).output() {
            Ok(out) => {
                assert!(out.status.success(), "{} failed: {out:?}", exe.display());
                return String::from_utf8(out.stdout).unwrap().trim().to_string();
            }
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("running {}: {e}", exe.display()),
        }
    }
    panic!("{} stayed busy", exe.display())
}

/// The mode bits of a file.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Names of the hidden files the installer may leave next to `exe` (sorted).
pub fn hidden_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    names
}

/// A directory layout: `bin/app` (v1, mode 0755), `download/app` (the verified v2,
/// mode 0600) and `data/`.
pub struct Layout {
    pub root: PathBuf,
    pub bin: PathBuf,
    pub exe: PathBuf,
    pub verified: PathBuf,
    pub data: PathBuf,
    pub v1: Vec<u8>,
    pub v2: Vec<u8>,
}

impl Layout {
    pub fn create(root: &Path, v1: Vec<u8>, v2: Vec<u8>) -> Layout {
        let layout = Layout {
            root: root.to_path_buf(),
            bin: root.join("bin"),
            exe: root.join("bin").join(APP),
            verified: root.join("download").join(APP),
            data: root.join("data"),
            v1,
            v2,
        };
        std::fs::create_dir_all(&layout.bin).unwrap();
        std::fs::create_dir_all(layout.verified.parent().unwrap()).unwrap();
        write_file(&layout.exe, &layout.v1, 0o755);
        write_file(&layout.verified, &layout.v2, 0o600);
        layout
    }

    pub fn previous(&self) -> PathBuf {
        self.bin.join(hidden(".previous"))
    }
}
