//! The installer's public workflow on real files: install, start-up counting,
//! confirmation, automatic and manual rollback, the re-check of the verified file,
//! refusals, a corrupt journal and permissions. The executables are shell scripts
//! that print their version (batch files on Windows), so every test runs what is
//! installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod install_support;

use std::fs;

#[cfg(unix)]
use install_support::mode;
use install_support::{hidden, hidden_files, run, script, target_file, write_file, Layout};
use updater::install::{InstallError, Installer, JournalState, StartupOutcome};
use updater::integrity::IntegrityError;

fn setup() -> (tempfile::TempDir, Layout, Installer) {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path(), script("v1", 0), script("v2", 0));
    let installer = Installer::new(&layout.exe, &layout.data);
    (dir, layout, installer)
}

fn install(layout: &Layout, installer: &Installer) {
    installer
        .install(
            &layout.verified,
            &target_file(&layout.v2),
            "1.0.0",
            "2.0.0",
            &mut |_| {},
        )
        .unwrap();
}

#[test]
fn installed_executable_runs_the_new_version_and_keeps_the_old_one() {
    let (_dir, layout, installer) = setup();
    assert_eq!(run(&layout.exe), "v1");
    let receipt = installer
        .install(
            &layout.verified,
            &target_file(&layout.v2),
            "1.0.0",
            "2.0.0",
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(run(&layout.exe), "v2");
    assert_eq!(receipt.exe, layout.exe);
    assert_eq!(receipt.previous, layout.previous());
    assert_eq!(
        (receipt.from_version.as_str(), receipt.to_version.as_str()),
        ("1.0.0", "2.0.0")
    );
    assert_eq!(fs::read(layout.previous()).unwrap(), layout.v1);
    assert_eq!(hidden_files(&layout.bin), [hidden(".previous")]);
    // The verified download is left as it was.
    assert_eq!(fs::read(&layout.verified).unwrap(), layout.v2);
    let record = installer.status().unwrap().unwrap();
    assert_eq!(record.state, JournalState::AwaitingConfirmation);
    assert_eq!(record.starts, 0);
    assert!(layout.data.join("install-journal.json").is_file());
}

#[test]
fn a_confirmed_version_stays() {
    let (_dir, layout, installer) = setup();
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
    installer.confirm().unwrap(); // nothing pending: fine
    install(&layout, &installer);
    assert_eq!(
        installer.on_startup().unwrap(),
        StartupOutcome::AwaitingConfirmation {
            version: "2.0.0".into(),
            start: 1
        }
    );
    installer.confirm().unwrap();
    installer.confirm().unwrap(); // idempotent
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
    assert_eq!(run(&layout.exe), "v2");
    assert_eq!(
        installer.status().unwrap().unwrap().state,
        JournalState::Confirmed
    );
    // The previous binary is kept for a manual rollback.
    assert_eq!(fs::read(layout.previous()).unwrap(), layout.v1);
}

#[test]
fn a_version_that_does_not_confirm_by_its_second_start_is_rolled_back() {
    let (_dir, layout, installer) = setup();
    install(&layout, &installer);
    assert!(matches!(
        installer.on_startup().unwrap(),
        StartupOutcome::AwaitingConfirmation { start: 1, .. }
    ));
    assert_eq!(run(&layout.exe), "v2");
    // No confirm: the second start rolls back.
    let rolled = match installer.on_startup().unwrap() {
        StartupOutcome::RolledBack(rolled) => rolled,
        other => panic!("{other:?}"),
    };
    assert_eq!(rolled.from_version, "2.0.0");
    assert_eq!(rolled.to_version, "1.0.0");
    assert!(
        rolled.reason.contains("without confirming"),
        "{}",
        rolled.reason
    );
    assert_eq!(run(&layout.exe), "v1");
    assert_eq!(fs::read(&layout.exe).unwrap(), layout.v1);
    #[cfg(unix)]
    assert_eq!(mode(&layout.exe), 0o755);
    // The failed binary is kept nowhere.
    assert_eq!(hidden_files(&layout.bin), Vec::<String>::new());
    let record = installer.status().unwrap().unwrap();
    assert_eq!(record.state, JournalState::RolledBack);
    assert_eq!(record.to_version, "2.0.0");
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
    assert_eq!(installer.rollback().unwrap(), None);
    installer.confirm().unwrap();
    assert_eq!(run(&layout.exe), "v1");
    // A later install works again.
    install(&layout, &installer);
    assert_eq!(run(&layout.exe), "v2");
}

#[test]
fn manual_rollback_after_confirmation_restores_the_previous_version() {
    let (_dir, layout, installer) = setup();
    assert_eq!(installer.rollback().unwrap(), None);
    install(&layout, &installer);
    installer.on_startup().unwrap();
    installer.confirm().unwrap();
    let rolled = installer.rollback().unwrap().unwrap();
    assert_eq!(
        (rolled.from_version.as_str(), rolled.to_version.as_str()),
        ("2.0.0", "1.0.0")
    );
    assert_eq!(run(&layout.exe), "v1");
    assert_eq!(installer.rollback().unwrap(), None);
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
    assert_eq!(run(&layout.exe), "v1");
}

#[test]
fn manual_rollback_right_after_install_works_before_any_start() {
    // The facade does this when a post-install hook fails.
    let (_dir, layout, installer) = setup();
    install(&layout, &installer);
    assert!(installer.rollback().unwrap().is_some());
    assert_eq!(run(&layout.exe), "v1");
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
}

#[test]
fn manual_rollback_refuses_an_executable_replaced_outside_the_updater() {
    let (_dir, layout, installer) = setup();
    install(&layout, &installer);
    installer.on_startup().unwrap();
    installer.confirm().unwrap();
    fs::remove_file(&layout.exe).unwrap();
    write_file(&layout.exe, &script("v9", 0), 0o755);
    let err = installer.rollback().unwrap_err();
    assert!(matches!(err, InstallError::ExeChanged { .. }), "{err}");
    assert_eq!(run(&layout.exe), "v9");
}

#[test]
fn a_file_modified_after_verification_is_refused_and_nothing_changes() {
    let (_dir, layout, installer) = setup();
    let info = target_file(&layout.v2); // computed from the original bytes
    let mut tampered = layout.v2.clone();
    tampered[12] ^= 0x01; // "echo v2" becomes "echo w2"
    fs::write(&layout.verified, &tampered).unwrap();
    let mut steps = Vec::new();
    let err = installer
        .install(&layout.verified, &info, "1.0.0", "2.0.0", &mut |s| {
            steps.push(s.name())
        })
        .unwrap_err();
    match &err {
        InstallError::Recheck { file, source } => {
            assert_eq!(file, &layout.verified);
            assert!(matches!(source, IntegrityError::HashMismatch { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("download it again"), "{err}");
    assert_eq!(steps, ["staging"]);
    assert_eq!(fs::read(&layout.exe).unwrap(), layout.v1);
    assert_eq!(run(&layout.exe), "v1");
    assert_eq!(hidden_files(&layout.bin), Vec::<String>::new());
    assert_eq!(installer.status().unwrap(), None);
}

#[test]
fn a_file_that_grew_after_verification_is_refused() {
    let (_dir, layout, installer) = setup();
    let info = target_file(&layout.v2);
    let mut longer = layout.v2.clone();
    longer.extend_from_slice(b"rm -rf ~\n");
    fs::write(&layout.verified, &longer).unwrap();
    let err = installer
        .install(&layout.verified, &info, "1.0.0", "2.0.0", &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(
            err,
            InstallError::Recheck {
                source: IntegrityError::TooLong { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(run(&layout.exe), "v1");
    assert_eq!(hidden_files(&layout.bin), Vec::<String>::new());
}

#[test]
fn a_corrupt_journal_is_set_aside_and_the_executable_left_alone() {
    let (_dir, layout, installer) = setup();
    install(&layout, &installer);
    let journal = layout.data.join("install-journal.json");
    fs::write(&journal, b"{\"format\": 1, \"state\": \"installi").unwrap();
    let err = installer.status().unwrap_err();
    assert!(matches!(err, InstallError::JournalCorrupt { .. }), "{err}");
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
    assert!(layout.data.join("install-journal.json.corrupt").is_file());
    assert!(!journal.exists());
    assert_eq!(run(&layout.exe), "v2");
    assert_eq!(installer.status().unwrap(), None);
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
    // Installing again works.
    let v3 = script("v3", 0);
    fs::write(&layout.verified, &v3).unwrap();
    installer
        .install(
            &layout.verified,
            &target_file(&v3),
            "2.0.0",
            "3.0.0",
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(run(&layout.exe), "v3");
}

// Unix only: Windows has no mode bits (the new file inherits the directory's ACL).
#[cfg(unix)]
#[test]
fn the_new_executable_gets_the_old_ones_permissions() {
    let (_dir, layout, installer) = setup();
    fs::set_permissions(
        &layout.exe,
        std::os::unix::fs::PermissionsExt::from_mode(0o751),
    )
    .unwrap();
    assert_eq!(mode(&layout.verified), 0o600);
    install(&layout, &installer);
    assert_eq!(mode(&layout.exe), 0o751);
    assert_eq!(run(&layout.exe), "v2");
    // The verified download keeps its own mode: it never becomes executable.
    assert_eq!(mode(&layout.verified), 0o600);
}

#[test]
fn refuses_to_install_the_executable_over_itself() {
    let (_dir, layout, installer) = setup();
    let info = target_file(&layout.v1);
    let err = installer
        .install(&layout.exe, &info, "1.0.0", "1.0.0", &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, InstallError::SameFile { .. }), "{err}");
    // Also through a hard link.
    let link = layout.root.join("link");
    fs::hard_link(&layout.exe, &link).unwrap();
    let err = installer
        .install(&link, &info, "1.0.0", "1.0.0", &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, InstallError::SameFile { .. }), "{err}");
    // An identical copy is "already installed".
    let copy = layout.root.join("copy");
    fs::write(&copy, &layout.v1).unwrap();
    let err = installer
        .install(&copy, &info, "1.0.0", "1.0.0", &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(err, InstallError::AlreadyInstalled { .. }),
        "{err}"
    );
    assert_eq!(hidden_files(&layout.bin), Vec::<String>::new());
    assert_eq!(installer.status().unwrap(), None);
}

#[test]
fn refuses_a_missing_executable() {
    let (_dir, layout, _) = setup();
    let installer = Installer::new(layout.bin.join("nope"), &layout.data);
    let err = installer
        .install(
            &layout.verified,
            &target_file(&layout.v2),
            "1.0.0",
            "2.0.0",
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, InstallError::ExeMissing { .. }), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn refuses_metadata_without_hashes() {
    let (_dir, layout, installer) = setup();
    let mut info = target_file(&layout.v2);
    info.hashes.clear();
    let err = installer
        .install(&layout.verified, &info, "1.0.0", "2.0.0", &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, InstallError::NoHashes { .. }), "{err}");
    assert_eq!(run(&layout.exe), "v1");
}

// Unix only: a read-only mode on a directory; on Windows the read-only attribute of a
// directory does not stop writes into it (an ACL would, which std cannot set).
#[cfg(unix)]
#[test]
fn refuses_a_directory_it_cannot_write_and_says_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, layout, installer) = setup();
    fs::set_permissions(&layout.bin, fs::Permissions::from_mode(0o555)).unwrap();
    if fs::write(layout.bin.join("probe"), b"").is_ok() {
        // Running as root: permissions are not enforced; nothing to test here.
        fs::remove_file(layout.bin.join("probe")).unwrap();
        fs::set_permissions(&layout.bin, fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("skipped: directory permissions are not enforced for this user");
        return;
    }
    let err = installer
        .install(
            &layout.verified,
            &target_file(&layout.v2),
            "1.0.0",
            "2.0.0",
            &mut |_| {},
        )
        .unwrap_err();
    fs::set_permissions(&layout.bin, fs::Permissions::from_mode(0o755)).unwrap();
    match &err {
        InstallError::DirNotWritable { dir, .. } => assert_eq!(dir, &layout.bin),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("run the update with rights"),
        "{err}"
    );
    assert_eq!(run(&layout.exe), "v1");
}
