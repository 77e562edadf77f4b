//! Drives the `repo-tool` binary's `release` and `rollout` commands (with keygen,
//! init, delegate, sign and publish), serves the repository over HTTP on loopback,
//! and checks with the `updater` library that the signed rollout plan decides what
//! is offered. Bad input must exit 1 and leave the repository exactly as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use repo_tool::serve::StaticServer;
use semver::Version;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use updater::release::{current_platform, Reason, Selection};
use updater::update::CheckOptions;
use updater::Updater;

const APP: &str = "myapp";

fn repo_tool(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_repo-tool"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Runs repo-tool, asserts success, returns stderr (where it reports what it did).
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = repo_tool(dir, args);
    assert!(
        out.status.success(),
        "repo-tool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let out = repo_tool(dir, args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "repo-tool {args:?} should fail: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// Every file below `dir` with its content, to prove a command changed nothing.
fn snapshot_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn binary(version: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho {version}\n").into_bytes()
}

/// `dir/VERSION/myapp`, a release file printing its version.
fn release_file(dir: &Path, version: &str) -> String {
    let rel = format!("{version}/{APP}");
    std::fs::create_dir_all(dir.join(version)).unwrap();
    std::fs::write(dir.join(&rel), binary(version)).unwrap();
    rel
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

/// Keys for every role, `init`, and the rollout role delegated `myapp/rollout.json`
/// with a six-hour expiry. Root, targets and rollout are staged, unsigned.
fn set_up(w: &Path) {
    for key in ["root", "targets", "snapshot", "rollout"] {
        let id = repo_tool(w, &["keygen", "--out", &format!("{key}.pem")]);
        assert!(id.status.success());
    }
    ok(
        w,
        &["keygen", "--out", "timestamp.pem", "--type", "ecdsa-p256"],
    );
    ok(
        w,
        &[
            "init",
            "repo",
            "--root-key",
            "root.pem.pub",
            "--targets-key",
            "targets.pem.pub",
            "--snapshot-key",
            "snapshot.pem.pub",
            "--timestamp-key",
            "timestamp.pem.pub",
        ],
    );
    let out = ok(
        w,
        &[
            "delegate",
            "repo",
            "--name",
            "rollout",
            "--path",
            &format!("{APP}/rollout.json"),
            "--terminating",
            "--key",
            "rollout.pem.pub",
            "--expiry-hours",
            "6",
        ],
    );
    assert!(out.contains("rollout"), "{out}");
}

fn release(w: &Path, version: &str, notes: &str) -> String {
    let file = release_file(w, version);
    let platform = current_platform();
    ok(
        w,
        &[
            "release",
            "repo",
            "--app",
            APP,
            "--version",
            version,
            "--platform",
            &platform,
            "--notes",
            notes,
            &file,
        ],
    )
}

fn sign(w: &Path, roles: &[&str]) {
    for role in roles {
        ok(
            w,
            &[
                "sign",
                "repo",
                "--role",
                role,
                "--key",
                &format!("{role}.pem"),
            ],
        );
    }
}

fn publish(w: &Path) {
    ok(
        w,
        &[
            "publish",
            "repo",
            "--snapshot-key",
            "snapshot.pem",
            "--timestamp-key",
            "timestamp.pem",
        ],
    );
}

/// `rollout` of 2.0.0 with `extra`, signed with the rollout key and published.
fn rollout(w: &Path, extra: &[&str]) -> String {
    let mut args = vec!["rollout", "repo", "--app", APP, "--version", "2.0.0"];
    args.extend_from_slice(extra);
    let out = ok(w, &args);
    sign(w, &["rollout"]);
    publish(w);
    out
}

struct Client {
    base: String,
    root: Vec<u8>,
    data: PathBuf,
    exe: PathBuf,
}

impl Client {
    /// An updater as version 1.0.0 of the application would build it.
    fn updater(&self) -> Updater {
        Updater::builder(APP, "1.0.0")
            .repository(
                &format!("{}metadata/", self.base),
                &format!("{}targets/", self.base),
            )
            .trusted_root(self.root.clone())
            .data_dir(&self.data)
            .executable(&self.exe)
            .build()
            .unwrap()
    }

    async fn check(&self) -> Selection {
        self.updater()
            .check_with(&CheckOptions::default())
            .await
            .unwrap()
    }
}

fn reason_for(selection: &Selection, version: &str) -> Reason {
    let version = Version::parse(version).unwrap();
    selection
        .passed_over
        .iter()
        .find(|p| p.version.as_ref() == Some(&version))
        .unwrap_or_else(|| panic!("{version} was not passed over: {selection:?}"))
        .reason
        .clone()
}

fn offered(selection: &Selection) -> Option<String> {
    selection.release.as_ref().map(|r| r.version().to_string())
}

#[tokio::test]
async fn rollout_waves_halt_and_resume_decide_what_the_updater_offers() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let platform = current_platform();
    set_up(w);
    let out = release(w, "1.0.0", "first");
    assert!(
        out.contains(&format!(
            "staged release {APP}/1.0.0/{platform}/{APP} ({} bytes)",
            binary("1.0.0").len()
        )),
        "{out}"
    );
    release(w, "2.0.0", "second");
    // A first wave at 0% that has started: nobody yet.
    let started = rfc3339(OffsetDateTime::now_utc() - Duration::hours(1));
    let out = ok(
        w,
        &[
            "rollout",
            "repo",
            "--app",
            APP,
            "--version",
            "2.0.0",
            "--wave",
            &format!("{started}=0"),
        ],
    );
    assert!(out.contains("1 wave(s)"), "{out}");
    sign(w, &["root", "targets", "rollout"]);
    publish(w);

    // The rollout role's metadata expires within hours, as delegated.
    let rollout_meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.join("repo/published/metadata/rollout.json")).unwrap(),
    )
    .unwrap();
    let expires = OffsetDateTime::parse(
        rollout_meta["signed"]["expires"].as_str().unwrap(),
        &Rfc3339,
    )
    .unwrap();
    assert!(expires <= OffsetDateTime::now_utc() + Duration::hours(6));
    assert!(expires > OffsetDateTime::now_utc() + Duration::hours(5));

    let server = StaticServer::start(
        &w.join("repo/published"),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let bin = w.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join(APP);
    std::fs::write(&exe, binary("1.0.0")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let client = Client {
        base: server.base_url(),
        root: std::fs::read(w.join("repo/published/metadata/1.root.json")).unwrap(),
        data: w.join("data"),
        exe,
    };

    let selection = client.check().await;
    assert_eq!(offered(&selection), None, "a 0% wave offers nothing");
    assert!(
        matches!(
            reason_for(&selection, "2.0.0"),
            Reason::NotInWave { reached: 0, .. }
        ),
        "{selection:?}"
    );
    assert_eq!(reason_for(&selection, "1.0.0"), Reason::Current);

    // The wave widens to everyone.
    let everyone = rfc3339(OffsetDateTime::now_utc() - Duration::minutes(1));
    rollout(w, &["--wave", &format!("{everyone}=100")]);
    let selection = client.check().await;
    assert_eq!(
        offered(&selection).as_deref(),
        Some("2.0.0"),
        "{selection:?}"
    );
    let chosen = selection.release.unwrap();
    assert_eq!(chosen.target_path, format!("{APP}/2.0.0/{platform}/{APP}"));
    assert_eq!(chosen.info.notes.as_deref(), Some("second"));
    assert_eq!(chosen.target.length, binary("2.0.0").len() as u64);

    // Halted: offered to nobody, whatever the waves.
    let out = rollout(w, &["--halt"]);
    assert!(out.contains("halted"), "{out}");
    let selection = client.check().await;
    assert_eq!(offered(&selection), None, "halted");
    assert_eq!(reason_for(&selection, "2.0.0"), Reason::Halted);

    // Resumed: the 100% wave applies again.
    let out = rollout(w, &["--resume"]);
    assert!(out.contains("1 wave(s)"), "{out}");
    let mut updater = client.updater();
    let release = updater.check().await.unwrap().expect("resumed");
    assert_eq!(release.version(), &Version::new(2, 0, 0));
    // What is offered is what was released, verified.
    let downloaded = updater.download(&release, None).await.unwrap();
    assert_eq!(std::fs::read(&downloaded.path).unwrap(), binary("2.0.0"));

    let out = repo_tool(w, &["verify", "repo", "--warn-days", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_release_and_rollout_input_exits_1_and_changes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let platform = current_platform();
    set_up(w);
    release(w, "1.0.0", "first");
    sign(w, &["root", "targets", "rollout"]);
    publish(w);
    let file = release_file(w, "2.0.0");
    let before = snapshot_tree(&w.join("repo"));
    let release_with = |version: &str, platform: &str, app: &str, file: &str, extra: &[&str]| {
        let mut args = vec![
            "release",
            "repo",
            "--app",
            app,
            "--version",
            version,
            "--platform",
            platform,
        ];
        args.extend_from_slice(extra);
        args.push(file);
        fails(w, &args)
    };

    // Versions that are not semver.
    for version in ["two", "2.0", "v2.0.0"] {
        let err = release_with(version, &platform, APP, &file, &[]);
        assert!(
            err.contains(&format!("--version {version:?} is not semver")),
            "{err}"
        );
    }
    let err = release_with("2.0.0", &platform, APP, &file, &["--minimum-version", "1"]);
    assert!(err.contains("--minimum-version is not semver"), "{err}");
    // A file name that cannot be a target path segment (on unix only: on Windows a
    // backslash is a path separator, so no file has such a name).
    if cfg!(unix) {
        let odd = w.join("2.0.0").join("my\\app");
        std::fs::write(&odd, binary("2.0.0")).unwrap();
        let err = release_with("2.0.0", &platform, APP, "2.0.0/my\\app", &[]);
        assert!(err.contains("target path"), "{err}");
        assert!(err.contains("my\\\\app"), "{err}");
    }
    // A missing file: the message names it.
    let err = release_with("2.0.0", &platform, APP, "2.0.0/missing", &[]);
    assert!(err.contains("reading 2.0.0/missing"), "{err}");
    // An application name that is not one path segment, an empty platform.
    let err = release_with("2.0.0", &platform, "my/app", &file, &[]);
    assert!(err.contains("declares app \"my/app\""), "{err}");
    for platform in ["", "..", "a/b"] {
        let err = release_with("2.0.0", platform, APP, &file, &[]);
        assert!(
            err.contains("must be one path segment"),
            "{platform:?}: {err}"
        );
    }

    // Rollouts: a non-semver version, malformed or out-of-range waves, a role that
    // targets does not delegate to.
    let started = rfc3339(OffsetDateTime::now_utc());
    let rollout_fails = |version: &str, extra: &[&str]| {
        let mut args = vec!["rollout", "repo", "--app", APP, "--version", version];
        args.extend_from_slice(extra);
        fails(w, &args)
    };
    let err = rollout_fails("latest", &["--halt"]);
    assert!(err.contains("--version \"latest\" is not semver"), "{err}");
    let err = rollout_fails("1.0.0", &["--wave", "50"]);
    assert!(err.contains("START=PERCENT"), "{err}");
    let err = rollout_fails("1.0.0", &["--wave", "tomorrow=50"]);
    assert!(err.contains("not RFC 3339"), "{err}");
    let err = rollout_fails("1.0.0", &["--wave", &format!("{started}=half")]);
    assert!(err.contains("not a number"), "{err}");
    let err = rollout_fails("1.0.0", &["--wave", &format!("{started}=150")]);
    assert!(err.contains("outside 0..=100"), "{err}");
    let err = rollout_fails("1.0.0", &["--wave", &format!("{started}=-5")]);
    assert!(err.contains("outside 0..=100"), "{err}");
    let err = rollout_fails("1.0.0", &["--halt", "--role", "nosuch"]);
    assert!(err.contains("nosuch"), "{err}");
    // The rollout role is delegated only myapp/rollout.json: a halt for another
    // application would never reach its clients, so it is refused.
    let err = fails(
        w,
        &[
            "rollout",
            "repo",
            "--app",
            "otherapp",
            "--version",
            "1.0.0",
            "--halt",
        ],
    );
    assert!(
        err.contains("is not delegated the path \"otherapp/rollout.json\""),
        "{err}"
    );

    assert_eq!(
        before,
        snapshot_tree(&w.join("repo")),
        "a failed command changed the repository"
    );

    // The repository still takes a good release.
    let out = ok(
        w,
        &[
            "release",
            "repo",
            "--app",
            APP,
            "--version",
            "2.0.0",
            "--platform",
            &platform,
            "--channel",
            "beta",
            "--critical",
            &file,
        ],
    );
    assert!(
        out.contains(&format!("staged release {APP}/2.0.0/")),
        "{out}"
    );
    assert_ne!(before, snapshot_tree(&w.join("repo")));
    sign(w, &["targets"]);
    publish(w);
    ok(w, &["verify", "repo", "--warn-days", "0"]);
}

#[test]
fn keygen_advice_fits_the_role_and_output_is_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    for (role, needle, not) in [
        ("root", "offline", "online key"),
        ("targets", "offline", "online key"),
        ("timestamp", "online key", "keep it offline"),
        ("snapshot", "online key", "keep it offline"),
        ("docs", "delegated role", "online key"),
    ] {
        let out = repo_tool(
            w,
            &["keygen", "--out", &format!("{role}.pem"), "--role", role],
        );
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle) && !err.contains(not), "{role}: {err}");
        assert!(!out.stderr.contains(&0x1b) && !out.stdout.contains(&0x1b));
    }
    // A failing command's error is plain text too.
    let out = repo_tool(w, &["status", "no-such-repository"]);
    assert!(!out.status.success());
    assert!(!out.stderr.is_empty() && !out.stderr.contains(&0x1b));
}

#[test]
fn the_man_page_and_completions_are_generated_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let man = repo_tool(dir.path(), &["generate", "man"]);
    assert!(man.status.success());
    let man = String::from_utf8(man.stdout).unwrap();
    assert!(man.contains(".TH repo-tool 1"), "{man}");
    assert!(man.contains("keygen") && man.contains("publish"));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = repo_tool(dir.path(), &["generate", "completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("keygen"),
            "{shell}"
        );
    }
}
