//! Unit tests of the installer's crash resolution: the journal and the executable
//! are put, by hand, in each state a crash can leave, and start-up must resolve it.
//! Real files in temporary directories; the executables are shell scripts that print
//! their version (`.cmd` batch files on Windows). (The public workflow is tested in
//! `tests/install_rollback.rs`, and real crashes in `tests/install_crash.rs`.)

use super::*;
use crate::integrity::sha256_hex;
use std::process::Command;

/// The executable's file name: Windows runs a batch file by its extension.
const APP: &str = if cfg!(windows) { "app.cmd" } else { "app" };

fn script(version: &str) -> Vec<u8> {
    if cfg!(windows) {
        format!("@echo off\r\necho {version}\r\nexit /b 0\r\n").into_bytes()
    } else {
        format!("#!/bin/sh\necho {version}\nexit 0\n").into_bytes()
    }
}

/// `.app.previous` (`.app.cmd.previous` on Windows) and the like: the installer's names
/// next to the executable.
fn hidden(suffix: &str) -> String {
    format!(".{APP}{suffix}")
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Windows has no execute bit: a batch file runs by its extension.
#[cfg(windows)]
fn make_executable(_path: &Path) {}

fn target_file(bytes: &[u8]) -> TargetFile {
    TargetFile {
        length: bytes.len() as u64,
        hashes: crate::metadata::Hashes::from([("sha256".to_string(), sha256_hex(bytes))]),
        custom: None,
        unrecognized: Default::default(),
    }
}

/// Runs a script, retrying on ETXTBSY (another test thread's fork may briefly hold a
/// write descriptor of a file that was just written).
fn run(exe: &Path) -> String {
    for _ in 0..50 {
        match Command::new(exe).output() {
            Ok(out) => {
                assert!(out.status.success(), "{} failed", exe.display());
                return String::from_utf8(out.stdout).unwrap().trim().to_string();
            }
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("running {}: {e}", exe.display()),
        }
    }
    panic!("{} stayed busy", exe.display())
}

struct Fixture {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    exe: PathBuf,
    verified: PathBuf,
    installer: Installer,
    v2: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let exe = bin.join(APP);
    fs::write(&exe, script("v1")).unwrap();
    make_executable(&exe);
    let verified = dir.path().join("app-v2");
    let v2 = script("v2");
    fs::write(&verified, &v2).unwrap();
    let installer = Installer::new(&exe, dir.path().join("data"));
    Fixture {
        _dir: dir,
        bin,
        exe,
        verified,
        installer,
        v2,
    }
}

impl Fixture {
    fn install(&self) -> InstallReceipt {
        self.installer
            .install(
                &self.verified,
                &target_file(&self.v2),
                "1.0.0",
                "2.0.0",
                &mut |_| {},
            )
            .unwrap()
    }

    fn record(&self) -> JournalRecord {
        self.installer.status().unwrap().unwrap()
    }

    fn set_state(&self, state: JournalState, starts: u32) {
        let mut record = self.record();
        record.state = state;
        record.starts = starts;
        self.installer.journal().save_record(&record).unwrap();
    }

    fn previous(&self) -> PathBuf {
        self.bin.join(hidden(".previous"))
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(&self.bin)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

#[test]
fn reports_every_step_in_order_with_readable_text() {
    let f = fixture();
    let mut steps = Vec::new();
    f.installer
        .install(
            &f.verified,
            &target_file(&f.v2),
            "1.0.0",
            "2.0.0",
            &mut |s| steps.push(s),
        )
        .unwrap();
    let names: Vec<_> = steps.iter().map(InstallStep::name).collect();
    assert_eq!(names, InstallStep::NAMES);
    assert!(
        steps[0].to_string().starts_with("staging as "),
        "{}",
        steps[0]
    );
    assert!(steps[0].to_string().contains(&hidden(".staged-")));
    assert_eq!(
        steps[7].to_string(),
        "version 2.0.0 installed, awaiting confirmation"
    );
}

#[test]
fn install_interrupted_before_the_swap_is_undone() {
    let f = fixture();
    f.install();
    // Put the world back as a crash after "previous kept" leaves it: old binary in
    // place, previous = a link to it, a staged file and a temporary link around.
    fs::remove_file(&f.exe).unwrap();
    fs::hard_link(f.previous(), &f.exe).unwrap();
    fs::write(f.bin.join(hidden(".staged-abc123")), &f.v2).unwrap();
    fs::write(f.bin.join(hidden(".previous-77.link")), b"x").unwrap();
    f.set_state(JournalState::Installing, 0);

    let outcome = f.installer.on_startup().unwrap();
    assert_eq!(
        outcome,
        StartupOutcome::InterruptedInstallUndone {
            to_version: "2.0.0".into()
        }
    );
    assert_eq!(run(&f.exe), "v1");
    assert_eq!(f.names(), [APP]);
    assert_eq!(f.installer.status().unwrap(), None);
    assert_eq!(f.installer.rollback().unwrap(), None);
}

#[test]
fn install_interrupted_after_the_swap_is_completed_and_counts_a_start() {
    let f = fixture();
    f.install();
    f.set_state(JournalState::Installing, 0);
    assert_eq!(
        f.installer.on_startup().unwrap(),
        StartupOutcome::AwaitingConfirmation {
            version: "2.0.0".into(),
            start: 1
        }
    );
    let record = f.record();
    assert_eq!(
        (record.state, record.starts),
        (JournalState::AwaitingConfirmation, 1)
    );
    assert_eq!(run(&f.exe), "v2");
}

#[test]
fn rollback_interrupted_before_its_rename_is_resumed() {
    let f = fixture();
    f.install();
    f.set_state(JournalState::RollingBack, 1);
    match f.installer.on_startup().unwrap() {
        StartupOutcome::RolledBack(r) => {
            assert_eq!(
                (r.from_version.as_str(), r.to_version.as_str()),
                ("2.0.0", "1.0.0")
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(run(&f.exe), "v1");
    assert_eq!(f.record().state, JournalState::RolledBack);
}

/// Windows' replace of a running executable is two renames (aside, then in): a crash
/// between them leaves no executable, and start-up renames the aside file back.
#[test]
fn a_replace_interrupted_between_its_two_renames_is_undone() {
    let f = fixture();
    f.install();
    f.set_state(JournalState::Installing, 0);
    fs::remove_file(&f.exe).unwrap();
    let aside = f.bin.join(hidden(".replaced-77-1"));
    fs::write(&aside, script("v1")).unwrap();
    make_executable(&aside);
    // An older aside file of another content is not taken for the executable.
    fs::write(f.bin.join(hidden(".replaced-12-9")), script("v0")).unwrap();
    let outcome = f.installer.on_startup().unwrap();
    assert!(
        matches!(outcome, StartupOutcome::InterruptedInstallUndone { .. }),
        "{outcome:?}"
    );
    assert_eq!(run(&f.exe), "v1");
    assert_eq!(f.names(), [APP]);
}

#[test]
fn rollback_interrupted_after_its_rename_is_recorded() {
    let f = fixture();
    f.install();
    f.set_state(JournalState::RollingBack, 1);
    fs::rename(f.previous(), &f.exe).unwrap();
    assert!(matches!(
        f.installer.on_startup().unwrap(),
        StartupOutcome::RolledBack(_)
    ));
    assert_eq!(run(&f.exe), "v1");
    let record = f.record();
    assert_eq!(record.state, JournalState::RolledBack);
    assert!(record.reason.is_some());
    assert_eq!(f.installer.on_startup().unwrap(), StartupOutcome::Clean);
}

#[test]
fn an_executable_replaced_outside_the_updater_is_left_alone() {
    let f = fixture();
    f.install();
    fs::write(&f.exe, script("v3")).unwrap();
    assert_eq!(
        f.installer.on_startup().unwrap(),
        StartupOutcome::ReplacedOutside { exe: f.exe.clone() }
    );
    assert_eq!(run(&f.exe), "v3");
    assert_eq!(f.installer.status().unwrap(), None);
}

#[test]
fn a_failure_before_the_swap_leaves_exe_journal_and_directory_as_they_were() {
    let f = fixture();
    // A directory where the previous binary goes makes keeping it fail.
    fs::create_dir(f.previous()).unwrap();
    let err = f
        .installer
        .install(
            &f.verified,
            &target_file(&f.v2),
            "1.0.0",
            "2.0.0",
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, InstallError::Io { .. }), "{err}");
    assert!(err.to_string().contains(&hidden(".previous")), "{err}");
    assert_eq!(run(&f.exe), "v1");
    assert_eq!(f.names(), [hidden(".previous"), APP.to_string()]);
    assert_eq!(f.installer.status().unwrap(), None);
}

#[test]
fn a_failure_before_the_swap_restores_the_earlier_journal_record() {
    let f = fixture();
    f.install();
    f.set_state(JournalState::Confirmed, 1);
    let confirmed = f.record();
    // Replace the previous binary by a directory so that the next install fails.
    fs::remove_file(f.previous()).unwrap();
    fs::create_dir(f.previous()).unwrap();
    let v3 = script("v3");
    fs::write(&f.verified, &v3).unwrap();
    assert!(f
        .installer
        .install(
            &f.verified,
            &target_file(&v3),
            "2.0.0",
            "3.0.0",
            &mut |_| {}
        )
        .is_err());
    assert_eq!(f.record(), confirmed);
    assert_eq!(run(&f.exe), "v2");
}

#[test]
fn an_unresolved_install_blocks_the_next_one() {
    let f = fixture();
    f.install();
    let v3 = script("v3");
    fs::write(&f.verified, &v3).unwrap();
    let err = f
        .installer
        .install(
            &f.verified,
            &target_file(&v3),
            "2.0.0",
            "3.0.0",
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        matches!(&err, InstallError::Pending { to_version, .. } if to_version == "2.0.0"),
        "{err}"
    );
    assert!(err.to_string().contains("on_startup"), "{err}");
    assert_eq!(run(&f.exe), "v2");
}

#[test]
fn confirm_before_the_new_version_started_does_nothing() {
    let f = fixture();
    f.install();
    // The old process, still running after the install, must not confirm for it.
    f.installer.confirm().unwrap();
    assert_eq!(f.record().state, JournalState::AwaitingConfirmation);
    f.installer.on_startup().unwrap();
    f.installer.confirm().unwrap();
    assert_eq!(f.record().state, JournalState::Confirmed);
}

#[test]
fn an_altered_previous_binary_is_not_rolled_back_to() {
    let f = fixture();
    f.install();
    f.installer.on_startup().unwrap();
    fs::remove_file(f.previous()).unwrap();
    fs::write(f.previous(), script("evil")).unwrap();
    let err = f.installer.on_startup().unwrap_err();
    assert!(
        matches!(err, InstallError::PreviousUnusable { .. }),
        "{err}"
    );
    assert_eq!(run(&f.exe), "v2");
    fs::remove_file(f.previous()).unwrap();
    let err = f.installer.on_startup().unwrap_err();
    assert!(err.to_string().contains("is missing"), "{err}");
    assert_eq!(run(&f.exe), "v2");
}

// Unix only: Windows has no permission bits to keep (the copy's content is checked by
// the other tests that roll back).
#[cfg(unix)]
#[test]
fn the_copy_fallback_keeps_content_and_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let layout = f.installer.layout().unwrap();
    f.installer.copy_previous(&layout).unwrap();
    assert_eq!(fs::read(f.previous()).unwrap(), script("v1"));
    let mode = fs::metadata(f.previous()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(!platform::same_file(&f.previous(), &f.exe).unwrap());
    assert_eq!(f.names(), [hidden(".previous"), APP.to_string()]);
}

// Unix only: creating a symbolic link on Windows needs a privilege (or developer mode)
// that an installer cannot assume; executables there are not reached through links.
#[cfg(unix)]
#[test]
fn a_symlinked_executable_is_replaced_behind_its_link() {
    let f = fixture();
    let link = f._dir.path().join("app-link");
    std::os::unix::fs::symlink(&f.exe, &link).unwrap();
    let installer = Installer::new(&link, f._dir.path().join("data"));
    let receipt = installer
        .install(
            &f.verified,
            &target_file(&f.v2),
            "1.0.0",
            "2.0.0",
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(receipt.exe, fs::canonicalize(&f.exe).unwrap());
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(run(&link), "v2");
    assert_eq!(run(&f.exe), "v2");
}
