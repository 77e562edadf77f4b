//! The attack matrix: one test per threat of the TUF specification (section 1.5.2)
//! and per CWE-494 scenario, each against the whole stack an application links
//! (`Updater`: refresh, release selection, download, install) talking to a server the
//! attacker controls on loopback.
//!
//! Every test first lets the application trust the honest repository, then mounts
//! the attack and asserts three things: the attack is refused, the error names what
//! was refused, and the trusted state and the installed program are as they were
//! (`World::assert_untouched`: every file of the data directory, byte for byte, and
//! the executable's directory). `docs/attack-matrix.md` lists them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

#[path = "adversarial/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "support/mod.rs"]
mod support;
#[path = "attack_matrix/world.rs"]
mod world;

use repo_tool::sandbox::ROLLOUT_ROLE;
use repo_tool::signer::{FileKey, KeyKind, Signer};
use serde_json::json;
use server::{make_ca, Attack};
use time::OffsetDateTime;
use updater::fetch::FetchError;
use updater::integrity::IntegrityError;
use updater::trust::TrustError;
use updater::Error;
use world::{binary, bump, World, APP};

fn attacker_key() -> FileKey {
    FileKey::generate(KeyKind::Ed25519).unwrap()
}

/// The world with 2.0.0 published, after the program at 1.0.0 has checked once and
/// been offered 2.0.0: the trusted state an attack on the download has to beat.
async fn offered_2_0_0() -> (World, updater::Updater, updater::release::Release) {
    let world = World::new().await;
    world.release("2.0.0");
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    let release = app.check().await.unwrap().expect("2.0.0 is offered");
    assert_eq!(release.version().to_string(), "2.0.0");
    (world, app, release)
}

/// The world after the program at 1.0.0 has checked once and found nothing newer.
async fn trusting() -> (World, updater::Updater) {
    let world = World::new().await;
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    assert_eq!(app.check().await.unwrap(), None);
    (world, app)
}

/// Asserts that `err` refuses a download whose bytes do not match the signed hashes.
fn assert_refused_by_hash(err: &Error) {
    assert!(
        matches!(
            err,
            Error::Target {
                source: IntegrityError::HashMismatch { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("sha256 hash does not match"),
        "{err}"
    );
}

#[tokio::test]
async fn arbitrary_installation_a_replaced_release_binary_is_refused() {
    let (world, mut app, release) = offered_2_0_0().await;
    let before = world.local_state();
    // The attacker puts their program, of the same length, where 2.0.0 is served.
    let evil = binary("6.6.6");
    assert_eq!(evil.len(), binary("2.0.0").len());
    assert!(world.replace_served(&binary("2.0.0"), &evil) > 0);

    let err = app.download(&release, None).await.unwrap_err();
    assert_refused_by_hash(&err);
    assert!(
        matches!(&err, Error::Target { path, .. } if *path == release.target_path),
        "{err:?}"
    );
    world.assert_untouched(&before);
}

#[tokio::test]
async fn endless_data_an_endless_timestamp_is_cut_off_at_its_limit() {
    let (world, mut app) = trusting().await;
    let before = world.local_state();
    world
        .server
        .attack("/timestamp.json", Attack::EndlessNoLength);

    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Fetch(FetchError::TooLarge { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("timestamp.json: more than the"),
        "{err}"
    );
    world.assert_untouched(&before);
}

#[tokio::test]
async fn extraneous_dependencies_a_role_cannot_list_a_release_outside_its_delegation() {
    let (world, mut app) = trusting().await;
    // The attacker holds the rollout role's key (delegated only `demo-app/rollout.json`)
    // and the online snapshot and timestamp keys, and lists a release of their own in
    // the rollout role.
    let evil = binary("9.9.9");
    let evil_path = format!("{APP}/9.9.9/{APP}");
    let hash = world.plant_target(&evil_path, &evil);
    let mut rollout = world.served_signed(&world.served_name(ROLLOUT_ROLE));
    let mut release = super_release_entry(&world, "9.9.9");
    release["hashes"] = json!({ "sha256": hash });
    release["length"] = json!(evil.len());
    rollout["targets"][&evil_path] = release;
    bump(&mut rollout);
    let rollout_key = world.sandbox.signer(ROLLOUT_ROLE).unwrap();
    world.forge(ROLLOUT_ROLE, &rollout, &[rollout_key]);
    world.reseal(
        &[ROLLOUT_ROLE],
        world.sandbox.signer("snapshot").unwrap(),
        world.sandbox.signer("timestamp").unwrap(),
    );
    let targets_before = world.trusted("targets.json");
    let bin_before = world.local_state().bin;

    // The validly signed rollout role is loaded, but its release is not: the
    // application's directory is not delegated to it.
    let selection = app.check_with(&Default::default()).await.unwrap();
    assert_eq!(selection.release, None);
    assert!(
        selection
            .passed_over
            .iter()
            .all(|p| p.target_path != evil_path),
        "{selection:?}"
    );
    let err = app
        .download(&forged_release(&evil_path, &evil, &hash), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TargetNotFound { path } if *path == evil_path),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("no trusted metadata lists"),
        "{err}"
    );
    assert_eq!(world.trusted("targets.json"), targets_before);
    assert_eq!(world.local_state().bin, bin_before);
    assert_eq!(std::fs::read(&world.exe).unwrap(), binary("1.0.0"));
}

/// The `updater` custom object of a release at `version`, as repo-tool writes it.
fn super_release_entry(world: &World, version: &str) -> serde_json::Value {
    let targets = world.served_signed(&world.served_name("targets"));
    let (_, entry) = targets["targets"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(path, _)| path.starts_with(&format!("{APP}/")))
        .unwrap();
    let mut entry = entry.clone();
    entry["custom"]["updater"]["version"] = json!(version);
    entry
}

/// A release the application was never offered, as an attacker would hand it over.
fn forged_release(path: &str, content: &[u8], sha256: &str) -> updater::release::Release {
    let target: updater::metadata::TargetFile = serde_json::from_value(json!({
        "length": content.len(),
        "hashes": { "sha256": sha256 },
    }))
    .unwrap();
    updater::release::Release {
        target_path: path.into(),
        target,
        info: world::info(APP, "9.9.9"),
        critical: false,
    }
}

#[tokio::test]
async fn fast_forward_a_timestamp_version_jump_without_the_key_is_refused() {
    let (world, mut app) = trusting().await;
    let before = world.local_state();
    // A timestamp so high that every honest one would later look like a rollback.
    let mut timestamp = world.served_signed("timestamp.json");
    timestamp["version"] = json!(1u64 << 40);
    world.forge("timestamp", &timestamp, &[&attacker_key()]);

    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Metadata(TrustError::ThresholdNotMet { role, valid: 0, .. }) if role == "timestamp"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("timestamp metadata has 0 valid signature(s)"),
        "{err}"
    );
    world.assert_untouched(&before);
}

#[tokio::test]
async fn indefinite_freeze_an_expired_timestamp_is_refused_even_when_unchanged() {
    let world = World::new().await;
    // The repository publishes a timestamp that expires in 3 s ...
    let expires = OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let mut timestamp = world.served_signed("timestamp.json");
    timestamp["expires"] = json!(updater::metadata::format_expiry(expires));
    bump(&mut timestamp);
    world.forge(
        "timestamp",
        &timestamp,
        &[world.sandbox.signer("timestamp").unwrap()],
    );
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    assert_eq!(app.check().await.unwrap(), None);
    let before = world.local_state();
    // ... and the attacker keeps serving it, unchanged, after that.
    while OffsetDateTime::now_utc() <= expires + time::Duration::milliseconds(200) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Metadata(TrustError::Expired { role, .. }) if role == "timestamp"),
        "{err:?}"
    );
    assert!(err.to_string().contains("may be frozen"), "{err}");
    world.assert_untouched(&before);
}

#[tokio::test]
async fn malicious_mirrors_cannot_install_their_copy_and_an_honest_mirror_still_works() {
    let (world, _, release) = offered_2_0_0().await;
    // A second mirror, as much under the attacker's control as the first.
    let other = server::Adversary::start(world.www.clone(), None).await;
    let bases = [world.server.base.as_str(), other.base.as_str()];
    let mut app = world.updater_at("1.0.0", &bases);
    let release_file = release.target_path.rsplit('/').next().unwrap().to_string();
    world.server.attack(&release_file, Attack::WrongContent);
    other.attack(&release_file, Attack::Truncated);
    let before = world.local_state();

    let err = app.download(&release, None).await.unwrap_err();
    let Error::Mirrors { file, failures } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*file, release.target_path);
    assert_eq!(failures.len(), 2, "{err}");
    assert_refused_by_hash(&failures[0].error);
    assert!(
        err.to_string()
            .contains("no mirror served an acceptable copy"),
        "{err}"
    );
    world.assert_untouched(&before);

    // Once one mirror serves the genuine file, that is what gets installed.
    other.attack(&release_file, Attack::Honest);
    let downloaded = app.download(&release, None).await.unwrap();
    app.install(&downloaded, |_| {}).await.unwrap();
    assert_eq!(std::fs::read(&world.exe).unwrap(), binary("2.0.0"));
}

#[tokio::test]
async fn mix_and_match_an_old_snapshot_under_the_new_name_is_refused() {
    let (world, mut app) = trusting().await;
    let old_snapshot_name = world.served_name("snapshot");
    let old_snapshot = std::fs::read(world.www_metadata(&old_snapshot_name)).unwrap();
    let before = world.local_state();
    // 2.0.0 is published; the attacker serves the new timestamp with the snapshot of
    // the previous release under the new snapshot's name.
    world.release("2.0.0");
    let new_snapshot_name = world.served_name("snapshot");
    assert_ne!(new_snapshot_name, old_snapshot_name);
    std::fs::write(world.www_metadata(&new_snapshot_name), &old_snapshot).unwrap();

    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Metadata(TrustError::Integrity { role, .. } | TrustError::BadVersion { role, .. }) if role == "snapshot"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("snapshot metadata does not match what the referring metadata lists"),
        "{err}"
    );
    // The genuine new timestamp may be trusted (it is what the repository signed);
    // nothing else changed.
    let mut after = world.local_state();
    let genuine = std::fs::read(world.www_metadata("timestamp.json")).unwrap();
    assert_eq!(after.data.remove("metadata/timestamp.json"), Some(genuine));
    let mut expected = before;
    expected.data.remove("metadata/timestamp.json");
    assert_eq!(after, expected);
}

#[tokio::test]
async fn rollback_an_older_timestamp_is_refused() {
    let world = World::new().await;
    let old_timestamp = std::fs::read(world.www_metadata("timestamp.json")).unwrap();
    world.release("2.0.0");
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    assert!(app.check().await.unwrap().is_some());
    let before = world.local_state();
    // The attacker replays the timestamp of before 2.0.0, validly signed, to hide it.
    std::fs::write(world.www_metadata("timestamp.json"), &old_timestamp).unwrap();

    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Metadata(TrustError::Rollback { role, .. }) if role == "timestamp"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("rollback refused: timestamp version"),
        "{err}"
    );
    world.assert_untouched(&before);
}

#[tokio::test]
async fn slow_retrieval_a_trickled_release_is_abandoned() {
    let (world, mut app, release) = offered_2_0_0().await;
    let before = world.local_state();
    let release_file = release.target_path.rsplit('/').next().unwrap().to_string();
    world.server.attack(&release_file, Attack::Trickle);

    let started = std::time::Instant::now();
    let err = app.download(&release, None).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Fetch(FetchError::TooSlow { .. } | FetchError::Timeout { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("giving up"), "{err}");
    // 2 s of grace, and no retry once body bytes have arrived.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    world.assert_untouched(&before);
}

#[tokio::test]
async fn keys_below_threshold_a_root_signed_by_one_of_three_holders_is_refused() {
    let (world, mut app) = trusting().await;
    let before = world.local_state();
    // The attacker holds one of the three root keys (threshold 2) and publishes a
    // root that hands every top-level role to a key of their own.
    let holder = &world.sandbox.root_keys()[0];
    let own = attacker_key();
    let mut root = world.served_signed("1.root.json");
    root["keys"][own.key_id().as_str()] = serde_json::to_value(own.public_key()).unwrap();
    for role in ["targets", "snapshot", "timestamp"] {
        root["roles"][role]["keyids"] = json!([own.key_id()]);
    }
    bump(&mut root);
    world.forge("root", &root, &[holder as &dyn Signer, &own]);

    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Metadata(TrustError::ThresholdNotMet { role, valid: 1, threshold: 2, .. }) if role == "root"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("root metadata has 1 valid signature(s) from authorised keys, 2 needed"),
        "{err}"
    );
    world.assert_untouched(&before);
}

#[tokio::test]
async fn wrong_software_installation_another_applications_release_is_refused() {
    let world = World::with_apps(&[APP, "other-app"]).await;
    // Of the same length, so that only the hashes can tell them apart.
    let other_binary = b"#!/bin/sh\necho other\n".to_vec();
    assert_eq!(other_binary.len(), binary("2.0.0").len());
    world.release_of("other-app", "2.0.0", &other_binary);
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    // Another application's release, validly signed, is never offered to this one.
    assert_eq!(app.check().await.unwrap(), None);
    let release = {
        world.release("2.0.0");
        app.check().await.unwrap().expect("2.0.0 is offered")
    };
    let before = world.local_state();
    // The attacker serves the other application's genuine binary as this one's.
    assert!(world.replace_served(&binary("2.0.0"), &other_binary) > 0);

    let err = app.download(&release, None).await.unwrap_err();
    assert_refused_by_hash(&err);
    world.assert_untouched(&before);
}

#[tokio::test]
async fn cwe494_compromised_host_cannot_vouch_for_a_replaced_binary() {
    let (world, mut app) = trusting().await;
    let root_before = world.trusted("root.json");
    let targets_before = world.trusted("targets.json");
    let bin_before = world.local_state().bin;
    // The attacker owns the server and its online keys (snapshot, timestamp), but not
    // the offline targets key: they list their binary in targets signed by their own
    // key, and re-sign snapshot and timestamp with the stolen ones.
    let evil = binary("6.6.6");
    let mut entry = super_release_entry(&world, "6.6.6");
    let evil_path = format!("{APP}/6.6.6/{APP}");
    entry["hashes"] = json!({ "sha256": world.plant_target(&evil_path, &evil) });
    entry["length"] = json!(evil.len());
    let mut targets = world.served_signed(&world.served_name("targets"));
    targets["targets"][&evil_path] = entry;
    bump(&mut targets);
    world.forge("targets", &targets, &[&attacker_key()]);
    world.reseal(
        &["targets"],
        world.sandbox.signer("snapshot").unwrap(),
        world.sandbox.signer("timestamp").unwrap(),
    );

    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Metadata(TrustError::ThresholdNotMet { role, valid: 0, .. }) if role == "targets"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("targets metadata has 0 valid signature(s)"),
        "{err}"
    );
    // Timestamp and snapshot were validly signed with the stolen online keys and may
    // be trusted; what vouches for binaries is not.
    assert_eq!(world.trusted("root.json"), root_before);
    assert_eq!(world.trusted("targets.json"), targets_before);
    assert_eq!(world.local_state().bin, bin_before);
    assert_eq!(std::fs::read(&world.exe).unwrap(), binary("1.0.0"));
}

#[tokio::test]
async fn cwe494_dns_spoofing_to_a_server_with_another_certificate_is_refused() {
    let real_ca = make_ca();
    let world = World::with_tls(&real_ca, &real_ca.pem).await;
    world.release("2.0.0");
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    assert!(app.check().await.unwrap().is_some());
    let before = world.local_state();
    // The repository's name now resolves to the attacker's server, which holds a
    // certificate for that name from a CA the application does not trust.
    let attacker_ca = make_ca();
    let spoofed = server::Adversary::start(world.www.clone(), Some(attacker_ca.acceptor)).await;
    let mut app = world.updater_at("1.0.0", &[spoofed.base.as_str()]);

    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Fetch(FetchError::Tls { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("TLS handshake refused"), "{err}");
    world.assert_untouched(&before);
}

#[tokio::test]
async fn cwe494_modification_in_transit_is_refused() {
    let (world, mut app, release) = offered_2_0_0().await;
    let before = world.local_state();
    // Changed bytes in the release ...
    let release_file = release.target_path.rsplit('/').next().unwrap().to_string();
    world.server.attack(&release_file, Attack::WrongContent);
    let err = app.download(&release, None).await.unwrap_err();
    assert_refused_by_hash(&err);
    world.assert_untouched(&before);

    // ... and in metadata.
    world.release("3.0.0");
    world.server.attack("/timestamp.json", Attack::WrongContent);
    let err = app.check().await.unwrap_err();
    assert!(
        matches!(&err, Error::Metadata(TrustError::Malformed { role, .. } | TrustError::ThresholdNotMet { role, .. }) if role == "timestamp"),
        "{err:?}"
    );
    world.assert_untouched(&before);
}

/// A release file large enough for a delta: `binary(version)` and a comment body.
fn padded(version: &str) -> Vec<u8> {
    let mut bytes = binary(version);
    bytes.extend_from_slice(b"exit 0\n");
    for line in 0..2000 {
        bytes.extend_from_slice(format!("# body line {line}\n").as_bytes());
    }
    bytes
}

#[tokio::test]
async fn delta_a_crafted_delta_cannot_install_what_the_full_target_would_refuse() {
    let world = World::new().await;
    let options = repo_tool::delta::DeltaOptions {
        previous: 1,
        format: repo_tool::delta::FormatChoice::Only(updater::delta::DeltaFormat::ZstdPatch),
        ..Default::default()
    };
    let (path, made) = world
        .sandbox
        .release_with_deltas(
            &world::info(APP, "2.0.0"),
            APP,
            &padded("2.0.0"),
            options,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    world.sync();
    assert_eq!(made.len(), 1, "a delta from the installed 1.0.0");
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    let release = app.check().await.unwrap().expect("2.0.0 is offered");
    let before = world.local_state();
    // The attacker cannot sign, so they serve a well-formed delta that rebuilds
    // their program from the installed 1.0.0, and their program as the full file.
    let evil = padded("6.6.6");
    let crafted = repo_tool::delta::make_delta(
        &binary("1.0.0"),
        &evil,
        repo_tool::delta::FormatChoice::Only(updater::delta::DeltaFormat::ZstdPatch),
        19,
    )
    .unwrap()
    .1;
    assert_eq!(world.replace_served(&made[0].target.content, &crafted), 2);
    assert!(world.replace_served(&padded("2.0.0"), &evil) > 0);

    // The delta is refused by its signed hashes before it is parsed, the full file
    // by the release's: nothing is installed or kept.
    let err = app.download(&release, None).await.unwrap_err();
    assert_refused_by_hash(&err);
    assert!(
        matches!(&err, Error::Target { path: p, .. } if *p == path),
        "{err:?}"
    );
    world.assert_untouched(&before);

    // With only the delta crafted, the honest full file is installed.
    world.sync();
    assert_eq!(world.replace_served(&made[0].target.content, &crafted), 2);
    let downloaded = app.download(&release, None).await.unwrap();
    assert_eq!(downloaded.delta, None, "the crafted delta was not used");
    assert_eq!(std::fs::read(&downloaded.path).unwrap(), padded("2.0.0"));
}
