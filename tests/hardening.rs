//! Hardening of the self-update path: corrupted local state, disk faults and two
//! updater processes at once. Each test damages something real (files in the data
//! directory, a full or read-only tmpfs, a second process) and asserts a clean
//! recovery or a clear error, with the installed executable intact.
//!
//! The disk-fault tests mount small tmpfs file systems, which needs root or
//! CAP_SYS_ADMIN (CI runs as root in its container).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

#[path = "self_update/world.rs"]
mod world;

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/mod.rs"]
mod support;

use updater::install::StartupOutcome;
use updater::{Error, Updater};
use world::{binary, set_mode, World, APP};

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    support::read_tree(dir)
        .into_keys()
        .map(PathBuf::from)
        .collect()
}

/// Something done to the metadata directory (given as argument).
type Damage = Box<dyn Fn(&Path)>;

#[tokio::test]
async fn corrupted_metadata_and_state_recover_from_the_embedded_root() {
    let world = World::new().await;
    world.release("2.0.0");
    let metadata = world.data.join("metadata");
    // Populate the data directory once.
    let mut first = world.updater("1.0.0");
    assert!(first.check().await.unwrap().is_some());
    drop(first);
    let damages: Vec<(&str, Damage)> = vec![
        (
            "truncated root",
            Box::new(|p: &Path| truncate(&p.join("root.json"))),
        ),
        (
            "garbled root",
            Box::new(|p: &Path| garble(&p.join("root.json"))),
        ),
        (
            "deleted root",
            Box::new(|p: &Path| std::fs::remove_file(p.join("root.json")).unwrap()),
        ),
        (
            "garbled timestamp",
            Box::new(|p: &Path| garble(&p.join("timestamp.json"))),
        ),
        (
            "truncated snapshot",
            Box::new(|p: &Path| truncate(&p.join("snapshot.json"))),
        ),
        (
            "garbled targets",
            Box::new(|p: &Path| garble(&p.join("targets.json"))),
        ),
        (
            "empty files",
            Box::new(|p: &Path| {
                for role in ["root", "timestamp", "snapshot", "targets", "rollout"] {
                    let _ = std::fs::write(p.join(format!("{role}.json")), b"");
                }
            }),
        ),
        (
            "state file garbled",
            Box::new(|p: &Path| garble(&p.parent().unwrap().join("state.json"))),
        ),
        (
            "journal garbled",
            Box::new(|p: &Path| {
                std::fs::write(
                    p.parent().unwrap().join("install-journal.json"),
                    b"{\"state\": 7",
                )
                .unwrap()
            }),
        ),
        (
            "metadata directory deleted",
            Box::new(|p: &Path| std::fs::remove_dir_all(p).unwrap()),
        ),
    ];
    for (name, damage) in damages {
        damage(&metadata);
        let mut updater = world.updater("1.0.0");
        assert!(
            matches!(updater.startup().unwrap(), StartupOutcome::Clean),
            "{name}: start-up must not crash or roll anything back"
        );
        let release = updater
            .check()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            release.map(|r| r.version().to_string()).as_deref(),
            Some("2.0.0"),
            "{name}"
        );
        assert_eq!(
            world.run_exe(),
            "1.0.0",
            "{name}: the executable is untouched"
        );
    }
}

#[tokio::test]
async fn a_rolled_back_cache_is_not_trusted_over_the_repository() {
    let world = World::new().await;
    world.release("2.0.0");
    let metadata = world.data.join("metadata");
    let mut updater = world.updater("1.0.0");
    updater.check().await.unwrap();
    let old: Vec<(PathBuf, Vec<u8>)> = files(&metadata)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(metadata.join(&f)).unwrap()))
        .collect();
    world.release("3.0.0");
    let mut updater = world.updater("1.0.0");
    assert_eq!(
        updater
            .check()
            .await
            .unwrap()
            .unwrap()
            .version()
            .to_string(),
        "3.0.0"
    );
    // An attacker (or a restored backup) puts the older, validly signed files back.
    for (file, bytes) in &old {
        std::fs::write(metadata.join(file), bytes).unwrap();
    }
    let mut updater = world.updater("1.0.0");
    assert_eq!(
        updater
            .check()
            .await
            .unwrap()
            .unwrap()
            .version()
            .to_string(),
        "3.0.0"
    );
}

fn truncate(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

fn garble(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    for b in bytes.iter_mut().step_by(7) {
        *b = b.wrapping_add(13);
    }
    std::fs::write(path, bytes).unwrap();
}

/// A tmpfs of `size` mounted at `dir` (created), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, options: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root or CAP_SYS_ADMIN: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A release big enough not to fit on the small file systems below.
fn big_release(world: &World, version: &str) {
    let mut content = binary(version);
    content.extend(std::iter::repeat_n(b'#', 300 * 1024));
    content.push(b'\n');
    world
        .sandbox
        .release(
            &world::info(version),
            APP,
            &content,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
}

#[tokio::test]
#[cfg_attr(windows, ignore = "mounts a tmpfs with mount(8): Linux only")]
async fn a_full_disk_during_download_keeps_nothing_and_changes_nothing() {
    let world = World::new().await;
    big_release(&world, "2.0.0");
    // The data directory gets room for metadata, not for the release.
    let _fs = Tmpfs::mount(&world.data, "size=160k");
    let mut updater = world.updater("1.0.0");
    let release = updater.check().await.unwrap().unwrap();
    let error = updater.download(&release, None).await.unwrap_err();
    assert!(matches!(error, Error::Storage { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains(&world.data.display().to_string()),
        "{error}"
    );
    let downloads = files(&world.data.join("downloads"));
    assert!(downloads.is_empty(), "partial files left: {downloads:?}");
    assert_eq!(world.run_exe(), "1.0.0");
    // The trusted state is still usable.
    let mut again = world.updater("1.0.0");
    assert!(again.check().await.unwrap().is_some());
}

#[tokio::test]
#[cfg_attr(windows, ignore = "mounts a tmpfs with mount(8): Linux only")]
async fn a_full_disk_during_install_leaves_the_old_executable_running() {
    let world = World::new().await;
    big_release(&world, "2.0.0");
    let mut updater = world.updater("1.0.0");
    let release = updater.check().await.unwrap().unwrap();
    let downloaded = updater.download(&release, None).await.unwrap();
    // Move the executable onto a file system with no room for the new one.
    let bin = world.dir.path().join("small-bin");
    let _fs = Tmpfs::mount(&bin, "size=64k");
    let exe = bin.join(APP);
    std::fs::write(&exe, binary("1.0.0")).unwrap();
    set_mode(&exe, 0o755);
    let base = world.server.base_url();
    let mut updater = Updater::builder(APP, "1.0.0")
        .repository(&format!("{base}metadata/"), &format!("{base}targets/"))
        .trusted_root(world.sandbox.root_json().unwrap())
        .data_dir(&world.data)
        .executable(&exe)
        .build()
        .unwrap();
    let error = updater.install(&downloaded, |_| {}).await.unwrap_err();
    assert!(matches!(error, Error::Install(_)), "{error}");
    let out = Command::new(&exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.0.0");
    assert_eq!(files(&bin), vec![PathBuf::from(APP)], "no staged leftovers");
    assert!(matches!(updater.startup().unwrap(), StartupOutcome::Clean));
}

#[tokio::test]
#[cfg_attr(windows, ignore = "mounts a tmpfs with mount(8): Linux only")]
async fn a_read_only_data_directory_or_a_missing_executable_directory_is_a_clear_error() {
    let world = World::new().await;
    let _fs = Tmpfs::mount(&world.data, "size=64k,ro");
    let base = world.server.base_url();
    let error = Updater::builder(APP, "1.0.0")
        .repository(&format!("{base}metadata/"), &format!("{base}targets/"))
        .trusted_root(world.sandbox.root_json().unwrap())
        .data_dir(&world.data)
        .executable(&world.exe)
        .build()
        .err()
        .unwrap();
    assert!(matches!(error, Error::Storage { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains(&world.data.display().to_string()),
        "{error}"
    );
    drop(_fs);

    world.release("2.0.0");
    let mut updater = Updater::builder(APP, "1.0.0")
        .repository(&format!("{base}metadata/"), &format!("{base}targets/"))
        .trusted_root(world.sandbox.root_json().unwrap())
        .data_dir(world.dir.path().join("data2"))
        .executable(world.dir.path().join("no-such-dir").join(APP))
        .build()
        .unwrap();
    let release = updater.check().await.unwrap().unwrap();
    let downloaded = updater.download(&release, None).await.unwrap();
    let error = updater.install(&downloaded, |_| {}).await.unwrap_err();
    assert!(error.to_string().contains("no-such-dir"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_updaters_at_once_never_corrupt_the_data_directory() {
    let world = World::new().await;
    // Two processes of the self_updating example, started together on one data
    // directory and one executable.
    let example = world::example("self_updating");
    let exe = world
        .dir
        .path()
        .join("bin")
        .join(format!("self_updating{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(&example, &exe).unwrap();
    let root = world.dir.path().join("root.json");
    std::fs::write(&root, world.sandbox.root_json().unwrap()).unwrap();
    // A real executable: Windows runs nothing else in the example's place.
    let next = std::fs::read(world::example("next_version")).unwrap();
    let mut info = world::info("9.0.0");
    info.app = "self_updating".into();
    let sandbox_dir = world.dir.path().join("repo2");
    let sandbox = repo_tool::sandbox::Sandbox::create(
        &sandbox_dir,
        &["self_updating"],
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    sandbox
        .release(
            &info,
            "self_updating",
            &next,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let server = repo_tool::serve::StaticServer::start(
        &sandbox.published_dir(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    std::fs::write(&root, sandbox.root_json().unwrap()).unwrap();
    let spawn = || {
        Command::new(&exe)
            .args(["--repository", &server.base_url(), "--root"])
            .arg(&root)
            .arg("--data-dir")
            .arg(world.dir.path().join("shared-data"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outputs = tokio::task::spawn_blocking(move || {
        [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()]
    })
    .await
    .unwrap();
    let succeeded = outputs.iter().filter(|o| o.status.success()).count();
    let texts: Vec<String> = outputs
        .iter()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect();
    assert!(succeeded >= 1, "{texts:#?}");
    for (output, text) in outputs.iter().zip(&texts) {
        // The loser waited for the lock and then found the update installed (up to
        // date), or had selected it too and was refused a second identical install.
        assert!(
            output.status.success() || text.contains("identical to the installed executable"),
            "{text}"
        );
    }
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        next,
        "exactly the new release is installed"
    );
    let out = Command::new(&exe)
        .env("NEXT_VERSION_SAYS", "self_updating 9.0.0")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "self_updating 9.0.0"
    );
    let journal: serde_json::Value = serde_json::from_slice(
        &std::fs::read(world.dir.path().join("shared-data/install-journal.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(journal["to_version"], "9.0.0", "{journal}");
}
