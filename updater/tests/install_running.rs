//! Replacing an executable while another process runs it (an agent updating a helper
//! program that is running, or a second instance of the app). On unix the rename leaves
//! the running process on its old inode; on Windows a running image cannot be
//! overwritten or deleted, only renamed, so the installer moves it aside first.
//!
//! The running program is a copy of this test binary, started with only
//! [`running_child`], which sleeps until the parent is done.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod install_support;

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use install_support::{hidden_files, target_file};
use updater::install::{Installer, StartupOutcome};

const CHILD_ENV: &str = "INSTALL_RUNNING_CHILD";

/// The running program. Does nothing unless started by the parent test.
#[test]
fn running_child() {
    if std::env::var_os(CHILD_ENV).is_some() {
        std::thread::sleep(Duration::from_secs(30));
    }
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(exe: &PathBuf) -> Running {
    let child = Command::new(exe)
        .args(["--exact", "running_child", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let it map its image.
    std::thread::sleep(Duration::from_millis(500));
    Running(child)
}

#[test]
fn a_running_executable_is_replaced_and_rolled_back_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let exe = bin.join(format!("helper{}", std::env::consts::EXE_SUFFIX));
    let v1 = fs::read(std::env::current_exe().unwrap()).unwrap();
    fs::write(&exe, &v1).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut v2 = v1.clone();
    v2.extend_from_slice(b"\0version 2");
    let verified = dir.path().join("helper-v2");
    fs::write(&verified, &v2).unwrap();

    let mut running = start(&exe);
    let installer = Installer::new(&exe, dir.path().join("data"));
    installer
        .install(&verified, &target_file(&v2), "1.0.0", "2.0.0", &mut |_| {})
        .unwrap();
    assert_eq!(fs::read(&exe).unwrap(), v2, "the new version is in place");
    assert!(
        running.0.try_wait().unwrap().is_none(),
        "the running process is untouched"
    );
    // Rolled back while the (old) process still runs: v2 is not running, v1 is.
    installer.rollback().unwrap();
    assert_eq!(fs::read(&exe).unwrap(), v1);
    assert!(running.0.try_wait().unwrap().is_none());
    drop(running);

    // Nothing is left behind once the old process is gone and the app starts again.
    assert!(matches!(
        installer.on_startup().unwrap(),
        StartupOutcome::Clean
    ));
    let left: Vec<String> = hidden_files(&bin)
        .into_iter()
        .filter(|n| !n.ends_with(".previous"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
