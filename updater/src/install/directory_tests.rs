//! Start-up of directory installs in states a crash or a local writer can leave,
//! built by hand (the real crashes are in `tests/bundle_crash.rs`).

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::bundle::pack::{pack_dir, PackOptions};
use crate::bundle::{tree, ArchiveFormat, BundleSpec};
use crate::integrity::sha256_hex;
use crate::metadata::{Hashes, TargetFile};

struct Case {
    dir: tempfile::TempDir,
    app: PathBuf,
    archive: PathBuf,
    info: TargetFile,
    spec: BundleSpec,
}

fn write_tree(dir: &Path, version: &str) {
    fs::create_dir_all(dir.join("res")).unwrap();
    fs::write(dir.join("res/version"), version).unwrap();
    fs::write(dir.join("program"), format!("program {version}")).unwrap();
}

fn case() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("apps/app");
    write_tree(&app, "1");
    let v2 = dir.path().join("v2");
    write_tree(&v2, "2");
    let archive = dir.path().join("v2.tar.zst");
    let summary = pack_dir(
        &v2,
        PackOptions {
            format: ArchiveFormat::TarZstd,
            level: Some(1),
        },
        &archive,
    )
    .unwrap();
    let bytes = fs::read(&archive).unwrap();
    Case {
        info: TargetFile {
            length: bytes.len() as u64,
            hashes: Hashes::from([("sha256".to_string(), sha256_hex(&bytes))]),
            custom: None,
            unrecognized: Default::default(),
        },
        spec: BundleSpec {
            format: ArchiveFormat::TarZstd,
            unpacked_size: summary.unpacked_size,
            entries: summary.entries,
            preserve: Vec::new(),
        },
        dir,
        app,
        archive,
    }
}

impl Case {
    fn installer(&self) -> DirectoryInstaller {
        DirectoryInstaller::new(&self.app, self.dir.path().join("data"))
    }

    fn install(&self) {
        self.installer()
            .install(
                &self.archive,
                &self.info,
                &self.spec,
                "1.0.0",
                "2.0.0",
                &mut |_| {},
            )
            .unwrap();
    }

    fn version(&self) -> String {
        fs::read_to_string(self.app.join("res/version")).unwrap()
    }

    fn sibling(&self, name: &str) -> PathBuf {
        self.app.with_file_name(name)
    }
}

#[test]
fn a_stray_next_directory_never_replaces_the_kept_previous_tree() {
    let c = case();
    c.install();
    let previous = tree::digest(&c.sibling(".app.previous"), &[]).unwrap();
    fs::create_dir(c.sibling(".app.next")).unwrap();
    assert!(matches!(
        c.installer().on_startup().unwrap(),
        StartupOutcome::AwaitingConfirmation { start: 1, .. }
    ));
    assert!(!c.sibling(".app.next").exists());
    assert_eq!(
        tree::digest(&c.sibling(".app.previous"), &[]).unwrap(),
        previous
    );
    assert!(matches!(
        c.installer().on_startup().unwrap(),
        StartupOutcome::RolledBack(_)
    ));
    assert_eq!(c.version(), "1");
}

#[test]
fn a_previous_tree_written_into_after_the_swap_is_reported_once_not_at_every_start() {
    let c = case();
    c.install();
    let installer = c.installer();
    installer.on_startup().unwrap();
    // The old process, still running, writes a log into its own (now previous) tree.
    fs::write(c.sibling(".app.previous").join("old.log"), b"log").unwrap();
    let err = installer.on_startup().unwrap_err();
    assert!(
        matches!(err, InstallError::PreviousUnusable { .. }),
        "{err}"
    );
    assert_eq!(c.version(), "2");
    assert_eq!(installer.on_startup().unwrap(), StartupOutcome::Clean);
    let record = installer.status().unwrap().unwrap();
    assert_eq!(record.state, JournalState::Confirmed);
    assert!(record.reason.unwrap().contains("rollback impossible"));
}

#[test]
fn a_missing_directory_gets_back_only_the_recorded_old_tree() {
    let c = case();
    c.install();
    // An install that crashed between the two renames of the fallback swap: the
    // directory is missing, the previous tree is the old version.
    fs::rename(&c.app, c.sibling(".app.next")).unwrap();
    let installer = c.installer();
    let mut record = installer.status().unwrap().unwrap();
    record.state = JournalState::Installing;
    installer.journal().save_record(&record).unwrap();
    assert!(matches!(
        installer.on_startup().unwrap(),
        StartupOutcome::InterruptedInstallUndone { .. }
    ));
    assert_eq!(c.version(), "1");
    assert!(!c.sibling(".app.next").exists());

    // The same state with a previous tree that is not the recorded one: left alone.
    c.install();
    fs::rename(&c.app, c.sibling(".app.next")).unwrap();
    fs::write(c.sibling(".app.previous").join("planted"), b"x").unwrap();
    let mut record = installer.status().unwrap().unwrap();
    record.state = JournalState::Installing;
    installer.journal().save_record(&record).unwrap();
    let _ = installer.on_startup();
    assert!(
        !c.app.exists(),
        "an unknown tree was not renamed into place"
    );
}

/// A hostile archive that passes its hash check (its signer is the attacker) is
/// refused while it is extracted: the installed tree stays byte-identical, nothing is
/// left next to it, and nothing is journaled.
#[test]
fn a_hostile_signed_archive_leaves_the_installed_tree_byte_identical() {
    let c = case();
    let before = tree::manifest(&c.app, &[]).unwrap();
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..9].copy_from_slice(b"../escape");
    header.set_size(1);
    header.set_mode(0o644);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, &b"x"[..]).unwrap();
    let bytes = zstd::stream::encode_all(&builder.into_inner().unwrap()[..], 1).unwrap();
    fs::write(&c.archive, &bytes).unwrap();
    let info = TargetFile {
        length: bytes.len() as u64,
        hashes: Hashes::from([("sha256".to_string(), sha256_hex(&bytes))]),
        custom: None,
        unrecognized: Default::default(),
    };
    let spec = BundleSpec {
        entries: 1,
        unpacked_size: 1,
        ..c.spec.clone()
    };
    let err = c
        .installer()
        .install(&c.archive, &info, &spec, "1.0.0", "2.0.0", &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, InstallError::Archive(_)), "{err}");
    assert_eq!(tree::manifest(&c.app, &[]).unwrap(), before);
    let names: Vec<_> = fs::read_dir(c.app.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["app"]);
    assert!(!c.dir.path().join("escape").exists() && !c.dir.path().join("apps/escape").exists());
    assert_eq!(c.installer().status().unwrap(), None);
}
