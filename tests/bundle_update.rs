//! End to end: an application shipped as a directory, released as bundles with
//! repo-tool's packer, served over HTTP on loopback, and updated with the `Updater`
//! built with `install_dir`: update, confirm, preserved data, manual rollback, a
//! tampered archive, and a release of the wrong kind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use repo_tool::bundle::prepare_bundle;
use repo_tool::sandbox::Sandbox;
use repo_tool::serve::StaticServer;
use semver::Version;
use time::OffsetDateTime;
use updater::bundle::{tree, ArchiveFormat, EntryPath};
use updater::install::StartupOutcome;
use updater::release::{current_platform, ReleaseInfo};
use updater::{Error, Updater};

const APP: &str = "bundle-app";
const USER_FILE: &str = "user/settings.toml";

fn build_tree(dir: &Path, version: &str) {
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::create_dir_all(dir.join("resources/icons")).unwrap();
    fs::write(dir.join("bin/app"), format!("#!/bin/sh\necho {version}\n")).unwrap();
    fs::write(dir.join("resources/version.txt"), version).unwrap();
    for i in 0..20 {
        fs::write(
            dir.join(format!("resources/icons/{i}.png")),
            format!("{version} icon {i}").repeat(100),
        )
        .unwrap();
    }
    if version == "1.0.0" {
        fs::write(dir.join("resources/obsolete.txt"), b"only in 1.0.0").unwrap();
    }
}

struct World {
    dir: tempfile::TempDir,
    sandbox: Sandbox,
    server: StaticServer,
    app: PathBuf,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let sandbox =
            Sandbox::create(&dir.path().join("repo"), &[APP], OffsetDateTime::now_utc()).unwrap();
        let server = StaticServer::start(
            &sandbox.published_dir(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .unwrap();
        let app = dir.path().join("apps").join(APP);
        build_tree(&app, "1.0.0");
        fs::create_dir_all(app.join("user")).unwrap();
        fs::write(app.join(USER_FILE), b"theme = \"dark\"").unwrap();
        World {
            dir,
            sandbox,
            server,
            app,
        }
    }

    /// Packs the tree of `version` as `format` and publishes it as a bundle release.
    fn release(&self, version: &str, format: ArchiveFormat) -> (PathBuf, String) {
        let tree_dir = self.dir.path().join("builds").join(version).join(APP);
        build_tree(&tree_dir, version);
        let bundle = prepare_bundle(&tree_dir, Some(format), Some(3), vec!["user".into()]).unwrap();
        let info = ReleaseInfo {
            bundle: Some(bundle.spec.clone()),
            deltas: Vec::new(),
            ..ReleaseInfo::new(APP, Version::parse(version).unwrap(), current_platform())
        };
        let path = self
            .sandbox
            .release(
                &info,
                &bundle.file_name,
                &bundle.content,
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        (tree_dir, path)
    }

    fn updater(&self, version: &str) -> Updater {
        let base = self.server.base_url();
        Updater::builder(APP, version)
            .repository(&format!("{base}metadata/"), &format!("{base}targets/"))
            .trusted_root(self.sandbox.root_json().unwrap())
            .data_dir(self.dir.path().join("data"))
            .install_dir(&self.app)
            .executable(self.app.join("bin/app"))
            .build()
            .unwrap()
    }

    fn manifest(&self, dir: &Path) -> String {
        tree::manifest(dir, &[EntryPath::parse(b"user").unwrap()]).unwrap()
    }
}

async fn update(updater: &mut Updater) -> Result<String, Error> {
    let release = updater.check().await?.expect("a release to install");
    let downloaded = updater.download(&release, None).await?;
    updater.install(&downloaded, |_| {}).await?;
    Ok(release.version().to_string())
}

#[tokio::test]
async fn a_directory_updates_as_one_confirms_keeps_user_data_and_rolls_back() {
    for format in ArchiveFormat::ALL {
        let world = World::new().await;
        let (v1_tree, _) = world.release("1.0.0", format);
        let (v2_tree, _) = world.release("2.0.0", format);
        let v1 = world.manifest(&v1_tree);

        let mut updater = world.updater("1.0.0");
        assert_eq!(updater.startup().unwrap(), StartupOutcome::Clean);
        assert_eq!(update(&mut updater).await.unwrap(), "2.0.0", "{format}");
        assert_eq!(
            world.manifest(&world.app),
            world.manifest(&v2_tree),
            "{format}"
        );
        assert_eq!(
            fs::read(world.app.join(USER_FILE)).unwrap(),
            b"theme = \"dark\""
        );
        assert!(!world.app.join("resources/obsolete.txt").exists());
        let previous = world.app.with_file_name(format!(".{APP}.previous"));
        assert_eq!(
            world.manifest(&previous),
            v1,
            "{format}: the previous tree is kept"
        );

        // The new version starts and confirms.
        let mut updater = world.updater("2.0.0");
        assert!(matches!(
            updater.startup().unwrap(),
            StartupOutcome::AwaitingConfirmation { start: 1, .. }
        ));
        updater.confirm().unwrap();
        // User data written by 2.0.0 goes back with a rollback.
        fs::write(world.app.join(USER_FILE), b"theme = \"light\"").unwrap();
        let rolled = updater.rollback().unwrap().expect("a rollback");
        assert_eq!(
            (rolled.from_version.as_str(), rolled.to_version.as_str()),
            ("2.0.0", "1.0.0")
        );
        assert_eq!(world.manifest(&world.app), v1, "{format}: rolled back");
        assert_eq!(
            fs::read(world.app.join(USER_FILE)).unwrap(),
            b"theme = \"light\""
        );
        // 2.0.0 is not offered again.
        let mut updater = world.updater("1.0.0");
        assert!(updater.check().await.unwrap().is_none(), "{format}");
    }
}

#[tokio::test]
async fn a_tampered_archive_is_refused_and_the_directory_is_untouched() {
    let world = World::new().await;
    world.release("1.0.0", ArchiveFormat::TarZstd);
    let (_, path) = world.release("2.0.0", ArchiveFormat::TarZstd);
    let before = world.manifest(&world.app);
    // The attacker controls the server: a well-formed archive of another tree.
    let evil_tree = world.dir.path().join("evil").join(APP);
    build_tree(&evil_tree, "6.6.6");
    let evil = prepare_bundle(&evil_tree, Some(ArchiveFormat::TarZstd), Some(3), vec![]).unwrap();
    let (dir, name) = path.rsplit_once('/').unwrap();
    for entry in fs::read_dir(world.sandbox.published_dir().join("targets").join(dir)).unwrap() {
        let file = entry.unwrap().path();
        if file.to_string_lossy().ends_with(&format!(".{name}")) {
            fs::write(&file, &evil.content).unwrap();
        }
    }
    let mut updater = world.updater("1.0.0");
    let err = update(&mut updater).await.unwrap_err();
    assert!(
        matches!(err, Error::Target { .. } | Error::Mirrors { .. }),
        "{err}"
    );
    assert_eq!(world.manifest(&world.app), before);
    let names: Vec<_> = fs::read_dir(world.app.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [APP], "nothing staged next to the application");
}

#[tokio::test]
async fn a_release_of_the_wrong_kind_is_refused_with_what_to_do() {
    let world = World::new().await;
    world.release("1.0.0", ArchiveFormat::Zip);
    // A plain file release for an application that ships as a directory.
    world
        .sandbox
        .release(
            &ReleaseInfo::new(APP, Version::new(2, 0, 0), current_platform()),
            "app",
            b"#!/bin/sh\necho 2\n",
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    let before = world.manifest(&world.app);
    let mut updater = world.updater("1.0.0");
    let err = update(&mut updater).await.unwrap_err();
    assert!(
        err.to_string().contains("publish the release as a bundle"),
        "{err}"
    );
    assert_eq!(world.manifest(&world.app), before);

    // And the data directory may not live inside the application directory.
    let base = world.server.base_url();
    let inside = Updater::builder(APP, "1.0.0")
        .repository(&format!("{base}metadata/"), &format!("{base}targets/"))
        .trusted_root(world.sandbox.root_json().unwrap())
        .data_dir(world.app.join("data"))
        .install_dir(&world.app)
        .build();
    assert!(
        matches!(inside, Err(Error::Config(ref m)) if m.contains("inside the application directory"))
    );
}
