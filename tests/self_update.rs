//! Self-update end to end: a repository built with repo-tool's release and rollout
//! commands, served over HTTP on loopback, and the `Updater` facade checking,
//! downloading, installing, confirming and rolling back a real executable.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

#[path = "self_update/world.rs"]
mod world;

use std::net::SocketAddr;
use std::process::Command;

use repo_tool::sandbox::Sandbox;
use repo_tool::serve::StaticServer;
use semver::Version;
use time::{Duration, OffsetDateTime};
use updater::install::StartupOutcome;
use updater::release::{HookSpec, ReleaseRollout, Wave};
use updater::update::CheckOptions;
use updater::Error;
use world::{binary, info, update, version_hook, World, APP};

#[tokio::test]
async fn update_confirm_and_rollback_of_a_real_executable() {
    let world = World::new().await;
    let mut v1 = world.updater("1.0.0");
    assert!(matches!(v1.startup().unwrap(), StartupOutcome::Clean));
    assert_eq!(v1.check().await.unwrap(), None, "nothing newer yet");

    world.release("2.0.0");
    assert_eq!(update(&mut v1).await.as_deref(), Some("2.0.0"));
    assert_eq!(world.run_exe(), "2.0.0");

    // The new version starts, confirms, and the install is final.
    let mut v2 = world.updater("2.0.0");
    assert!(matches!(
        v2.startup().unwrap(),
        StartupOutcome::AwaitingConfirmation { .. }
    ));
    v2.confirm().unwrap();
    assert!(matches!(v2.startup().unwrap(), StartupOutcome::Clean));
    assert_eq!(world.run_exe(), "2.0.0");

    // 3.0.0 never confirms: its second start rolls back to 2.0.0.
    world.release("3.0.0");
    assert_eq!(update(&mut v2).await.as_deref(), Some("3.0.0"));
    let mut v3 = world.updater("3.0.0");
    assert!(matches!(
        v3.startup().unwrap(),
        StartupOutcome::AwaitingConfirmation { .. }
    ));
    let mut v3_again = world.updater("3.0.0");
    match v3_again.startup().unwrap() {
        StartupOutcome::RolledBack(rolled) => {
            assert_eq!(rolled.from_version, "3.0.0");
            assert_eq!(rolled.to_version, "2.0.0");
        }
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_eq!(world.run_exe(), "2.0.0");

    // The rolled-back version is not offered again; a fixed one is.
    let mut back = world.updater("2.0.0");
    assert!(matches!(back.startup().unwrap(), StartupOutcome::Clean));
    assert_eq!(back.state().rolled_back, vec![Version::new(3, 0, 0)]);
    assert_eq!(back.check().await.unwrap(), None);
    world.release("3.0.1");
    assert_eq!(update(&mut back).await.as_deref(), Some("3.0.1"));
    assert_eq!(world.run_exe(), "3.0.1");
}

#[tokio::test]
async fn downgrades_only_when_asked_and_never_below_the_floor_by_default() {
    let world = World::new().await;
    world.release("1.5.0");
    // Running 2.0.0 (installed by other means), the repository only has older ones.
    let mut updater = world.updater("2.0.0");
    assert_eq!(updater.check().await.unwrap(), None);
    let asked = CheckOptions {
        allow_downgrade: true,
        ..CheckOptions::default()
    };
    let selection = updater.check_with(&asked).await.unwrap();
    // 2.0.0 ran here, so it is the floor: no downgrade below it without the override.
    assert_eq!(selection.release, None);
    let forced = CheckOptions {
        allow_downgrade: true,
        allow_below_highest: true,
        pin: Some(Version::new(1, 0, 0)),
    };
    let selection = updater.check_with(&forced).await.unwrap();
    assert_eq!(selection.release.unwrap().version(), &Version::new(1, 0, 0));
}

#[tokio::test]
async fn staged_rollout_halt_and_critical_release_follow_signed_metadata() {
    let world = World::new().await;
    let now = OffsetDateTime::now_utc();
    let version = Version::new(2, 0, 0);
    world.release("2.0.0");
    let plan = |percentage, halted| ReleaseRollout {
        halted,
        waves: vec![Wave {
            start: now - Duration::hours(1),
            percentage,
        }],
    };
    world
        .sandbox
        .rollout(APP, &version, plan(0.0, false), now)
        .unwrap();
    let mut updater = world.updater("1.0.0");
    assert_eq!(
        updater.check().await.unwrap(),
        None,
        "a 0% wave offers nothing"
    );

    world
        .sandbox
        .rollout(APP, &version, plan(100.0, false), now)
        .unwrap();
    let mut updater = world.updater("1.0.0");
    assert_eq!(
        updater.check().await.unwrap().map(|r| r.version().clone()),
        Some(version.clone())
    );

    world
        .sandbox
        .rollout(APP, &version, plan(100.0, true), now)
        .unwrap();
    let mut updater = world.updater("1.0.0");
    assert_eq!(updater.check().await.unwrap(), None, "halted");

    // A critical release skips waves that have not reached this installation.
    let mut critical = info("2.0.1");
    critical.critical = true;
    world.release_info(&critical);
    world
        .sandbox
        .rollout(APP, &Version::new(2, 0, 1), plan(0.0, false), now)
        .unwrap();
    let mut updater = world.updater("1.0.0");
    let chosen = updater.check().await.unwrap().unwrap();
    assert_eq!(chosen.version(), &Version::new(2, 0, 1));
    assert!(chosen.critical);
}

#[tokio::test]
async fn a_tampered_release_is_refused_and_the_executable_is_untouched() {
    let world = World::new().await;
    world.release("2.0.0");
    let mut updater = world.updater("1.0.0");
    let release = updater.check().await.unwrap().unwrap();
    // The attacker controls the server: every copy of the file is replaced, with
    // the same length so that only the hashes can tell.
    let dir = world
        .sandbox
        .published_dir()
        .join("targets")
        .join(&release.target_path);
    let dir = dir.parent().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let evil = binary("pwned");
        assert_eq!(evil.len() as u64, release.target.length);
        std::fs::write(&path, evil).unwrap();
    }
    let error = updater.download(&release, None).await.unwrap_err();
    assert!(matches!(error, Error::Target { .. }), "{error}");
    assert_eq!(world.run_exe(), "1.0.0");
    let leftovers: Vec<_> = std::fs::read_dir(world.data.join("downloads"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "nothing unverified is kept");
}

#[tokio::test]
async fn post_install_hooks_run_verified_and_inline_code_is_refused() {
    let world = World::new().await;
    let now = OffsetDateTime::now_utc();
    let (hook_name, hook) = version_hook("migrated");
    let hook_path = format!("{APP}/2.0.0/hooks/{hook_name}");
    world.sandbox.add_file(&hook_path, &hook, now).unwrap();
    let mut with_hook = info("2.0.0");
    with_hook.post_install = Some(HookSpec {
        target: hook_path.clone(),
        args: Vec::new(),
        timeout_secs: Some(10),
    });
    world.release_info(&with_hook);
    let mut updater = world.updater("1.0.0");
    assert_eq!(update(&mut updater).await.as_deref(), Some("2.0.0"));
    let marker = std::fs::read_to_string(world.data.join("migrated")).unwrap();
    assert_eq!(marker.trim(), "2.0.0");

    // A release whose hook hands inline code to an interpreter is refused before
    // anything is installed.
    let interpreter = format!("{APP}/3.0.0/hooks/python3");
    world
        .sandbox
        .add_file(&interpreter, b"#!/bin/sh\ntouch pwned\n", now)
        .unwrap();
    let mut inline = info("3.0.0");
    inline.post_install = Some(HookSpec {
        target: interpreter,
        args: vec!["-c".into(), "import os; os.system('id')".into()],
        timeout_secs: None,
    });
    world.release_info(&inline);
    let mut v2 = world.updater("2.0.0");
    v2.startup().unwrap();
    v2.confirm().unwrap();
    let release = v2.check().await.unwrap().unwrap();
    let error = v2.download(&release, None).await.unwrap_err();
    assert!(matches!(error, Error::Hook { .. }), "{error}");
    assert!(error.to_string().contains("code on the fly"), "{error}");
    assert_eq!(world.run_exe(), "2.0.0");
    assert!(!world.data.join("pwned").exists());
}

#[tokio::test]
async fn the_agent_example_updates_itself_and_restarts_into_the_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let sandbox = Sandbox::create(&dir.path().join("repo"), &["agent"], now).unwrap();
    let mut next = info("0.2.0");
    next.app = "agent".into();
    // A real executable: Windows runs nothing else in the agent's place.
    let new_version = std::fs::read(world::example("next_version")).unwrap();
    sandbox.release(&next, "agent", &new_version, now).unwrap();
    let server = StaticServer::start(
        &sandbox.published_dir(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let exe = dir
        .path()
        .join(format!("agent{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(world::example("agent"), &exe).unwrap();
    let root = dir.path().join("root.json");
    std::fs::write(&root, sandbox.root_json().unwrap()).unwrap();
    let mut command = Command::new(&exe);
    command.env("NEXT_VERSION_SAYS", "agent 0.2.0 running");
    command.args([
        "--repository",
        &server.base_url(),
        "--root",
        root.to_str().unwrap(),
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
        "--once",
    ]);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("installing 0.2.0"), "{stderr}");
    assert_eq!(stdout.trim(), "agent 0.2.0 running", "{stderr}");
    assert_eq!(std::fs::read(&exe).unwrap(), new_version);
}

#[tokio::test]
async fn an_install_replaced_outside_the_updater_no_longer_counts_as_pending() {
    // 2.0.0 is installed and awaits its first start; then someone puts 1.0.0 back
    // over it (a package manager, by hand). The journal alone must not make 2.0.0
    // the "current version" of the 1.0.0 that runs: startup is not "pending"
    // forever, and 1.0.0 is the version checks start from. Its old binary being
    // back counts as a rollback of 2.0.0, so a newer release is what is offered.
    let world = World::new().await;
    world.release("2.0.0");
    let mut v1 = world.updater("1.0.0");
    assert_eq!(update(&mut v1).await.as_deref(), Some("2.0.0"));
    std::fs::write(&world.exe, binary("1.0.0")).unwrap();
    let mut back = world.updater("1.0.0");
    let outcome = back.startup().unwrap();
    assert!(
        !matches!(outcome, StartupOutcome::UpdatePending { .. }),
        "{outcome:?}"
    );
    let selection = back.check_with(&CheckOptions::default()).await.unwrap();
    let reason_for = |v: &str| {
        selection
            .passed_over
            .iter()
            .find(|p| p.version.as_ref().is_some_and(|x| x.to_string() == v))
            .map(|p| p.reason.clone())
    };
    assert_eq!(reason_for("1.0.0"), Some(updater::release::Reason::Current));
    assert_eq!(
        reason_for("2.0.0"),
        Some(updater::release::Reason::RolledBackBefore)
    );
    world.release("2.0.1");
    assert_eq!(update(&mut back).await.as_deref(), Some("2.0.1"));
}

/// The names of the files in `data/downloads`, sorted.
fn downloads(world: &World) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(world.data.join("downloads"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn downloads_keep_only_what_is_not_installed_yet() {
    // The executable is the new version and `.previous` the rollback: no third copy
    // stays in downloads/ after an install, and a release downloaded but superseded
    // before it was installed is dropped by the next download.
    let world = World::new().await;
    world.release("2.0.0");
    let mut v1 = world.updater("1.0.0");
    let two = v1.check().await.unwrap().unwrap();
    let downloaded = v1.download(&two, None).await.unwrap();
    assert_eq!(
        downloads(&world).len(),
        1,
        "kept until installed, for a retry"
    );
    std::fs::write(
        world.data.join("downloads/.tmp-killed.part"),
        b"left by a crash",
    )
    .unwrap();
    // Not the updater's: never removed.
    std::fs::write(world.data.join("downloads/notes.txt"), b"mine").unwrap();
    world.release("3.0.0");
    let three = v1.check().await.unwrap().unwrap();
    assert_eq!(three.version().to_string(), "3.0.0");
    let downloaded_three = v1.download(&three, None).await.unwrap();
    assert!(
        !downloaded.path.exists(),
        "2.0.0 was superseded before install"
    );
    assert_eq!(downloads(&world).len(), 2, "{:?}", downloads(&world));
    v1.install(&downloaded_three, |_| {}).await.unwrap();
    assert_eq!(downloads(&world), ["notes.txt"]);
    assert_eq!(world.run_exe(), "3.0.0");
}

#[tokio::test]
async fn a_hook_changed_after_its_download_fails_the_install_with_nothing_swapped() {
    // Someone who can write the data directory swaps the verified hook between
    // download and install: the install is refused before the executable is
    // touched, rather than installing the release with its hook skipped.
    let world = World::new().await;
    let now = OffsetDateTime::now_utc();
    let (hook_name, hook) = version_hook("migrated");
    let hook_path = format!("{APP}/2.0.0/hooks/{hook_name}");
    world.sandbox.add_file(&hook_path, &hook, now).unwrap();
    let mut with_hook = info("2.0.0");
    with_hook.post_install = Some(HookSpec {
        target: hook_path,
        args: Vec::new(),
        timeout_secs: Some(10),
    });
    world.release_info(&with_hook);
    let mut updater = world.updater("1.0.0");
    let release = updater.check().await.unwrap().unwrap();
    let downloaded = updater.download(&release, None).await.unwrap();
    let (hook_file, _) = downloaded.hook.clone().unwrap();
    std::fs::write(&hook_file, b"#!/bin/sh\ntouch pwned\n").unwrap();
    let err = updater.install(&downloaded, |_| {}).await.unwrap_err();
    assert!(matches!(err, Error::Target { .. }), "{err:?}");
    assert_eq!(world.run_exe(), "1.0.0", "the executable was not swapped");
    assert!(!world.data.join("pwned").exists());
    assert!(!world.data.join("hooks").join(hook_name).exists());
}
