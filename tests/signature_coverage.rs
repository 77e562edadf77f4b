//! Signatures cover exactly what the client acts on: end-to-end attacks on a
//! repository published by repo-tool, through the whole `Updater`, by an attacker who
//! holds no offline key (and, for good measure, the online snapshot and timestamp
//! keys, so that nothing but the targets role's signature stands in the way).
//!
//! Each attack rewrites the served `targets.json` in a way that an encoder which
//! normalises Unicode or merges keys would still find signed: it re-indents the
//! file (so the client cannot take the bytes as they are and must re-encode them)
//! and then
//! - adds the decomposed twin of a non-ASCII target name, as a critical release;
//! - swaps a signed string for its canonically equivalent form;
//! - names a target twice.
//!
//! Each must be refused with an error that names the role, before anything of it is
//! stored or installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

#[path = "adversarial/server.rs"]
#[allow(dead_code)]
mod server;
#[path = "support/mod.rs"]
mod support;
#[path = "attack_matrix/world.rs"]
mod world;

use serde_json::{json, Value};
use time::OffsetDateTime;
use updater::integrity::sha256_hex;
use updater::release::current_platform;
use updater::trust::TrustError;
use updater::Error;
use world::{binary, info, World, APP};

/// The precomposed name of an honest, non-ASCII target.
fn honest_name() -> String {
    format!("{APP}/docs/r\u{e9}sum\u{e9}.txt")
}

/// Its canonically equivalent, decomposed twin.
fn twin_name() -> String {
    format!("{APP}/docs/re\u{301}sume\u{301}.txt")
}

/// A world whose program at 1.0.0 trusts the repository, and whose repository has
/// then honestly published a new `targets.json` (release 2.0.0, with release notes in
/// non-ASCII text, and the document `résumé.txt`) that the program has not fetched.
async fn world_with_unfetched_targets() -> (World, updater::Updater) {
    let world = World::new().await;
    let mut app = world.updater("1.0.0");
    app.startup().unwrap();
    assert_eq!(app.check().await.unwrap(), None);
    let now = OffsetDateTime::now_utc();
    let mut release = info(APP, "2.0.0");
    release.notes = Some("Caf\u{e9} au lait".into());
    world
        .sandbox
        .release(&release, APP, &binary("2.0.0"), now)
        .unwrap();
    world
        .sandbox
        .add_file(&honest_name(), b"an honest document", now)
        .unwrap();
    world.sync();
    (world, app)
}

/// Writes `envelope` (re-indented, as python-tuf writes metadata) over the served
/// `targets.json`, keeping its name, then reseals snapshot and timestamp with the
/// online keys.
fn serve_targets(world: &World, text: &str) {
    let name = world.served_name("targets");
    std::fs::write(world.www_metadata(&name), text).unwrap();
    let snapshot_key = world.sandbox.signer("snapshot").unwrap();
    let timestamp_key = world.sandbox.signer("timestamp").unwrap();
    world.reseal(&["targets"], snapshot_key, timestamp_key);
}

/// The served `targets.json` as a JSON value, signatures and all.
fn served_targets(world: &World) -> Value {
    let name = world.served_name("targets");
    serde_json::from_slice(&std::fs::read(world.www_metadata(&name)).unwrap()).unwrap()
}

/// Asserts that `err` refuses the targets role's metadata, and names it.
fn assert_targets_refused(err: &Error) {
    assert!(
        matches!(
            err,
            Error::Metadata(TrustError::ThresholdNotMet { role, .. } | TrustError::Malformed { role, .. })
                if role == "targets"
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("targets metadata"), "{err}");
}

/// Asserts that nothing of the attack reached the trusted state or the program: the
/// trusted `targets.json` is the one trusted before, and 1.0.0 is installed.
fn assert_nothing_taken(world: &World, trusted_before: &[u8]) {
    assert_eq!(
        world.trusted("targets.json").unwrap(),
        trusted_before,
        "the trusted targets.json changed"
    );
    assert_eq!(std::fs::read(&world.exe).unwrap(), binary("1.0.0"));
}

#[tokio::test]
async fn a_decomposed_twin_of_a_signed_target_name_is_refused() {
    let (world, mut app) = world_with_unfetched_targets().await;
    let trusted_before = world.trusted("targets.json").unwrap();
    // The attacker's program, planted where the client would fetch it, described
    // under the decomposed twin of the honest document's name as a critical release.
    let evil = binary("9.9.9");
    let hash = world.plant_target(&twin_name(), &evil);
    let mut envelope = served_targets(&world);
    let targets = envelope["signed"]["targets"].as_object_mut().unwrap();
    assert!(targets.contains_key(&honest_name()));
    targets.insert(
        twin_name(),
        json!({
            "length": evil.len(),
            "hashes": { "sha256": hash },
            "custom": { "updater": {
                "app": APP, "version": "9.9.9", "platform": current_platform(), "critical": true
            } }
        }),
    );
    serve_targets(&world, &serde_json::to_string_pretty(&envelope).unwrap());

    let err = app.check().await.unwrap_err();
    assert_targets_refused(&err);
    assert!(
        matches!(
            &err,
            Error::Metadata(TrustError::ThresholdNotMet { valid: 0, .. })
        ),
        "{err:?}"
    );
    assert_nothing_taken(&world, &trusted_before);
}

#[tokio::test]
async fn a_signed_string_swapped_for_its_equivalent_form_is_refused() {
    let (world, mut app) = world_with_unfetched_targets().await;
    let trusted_before = world.trusted("targets.json").unwrap();
    let mut envelope = served_targets(&world);
    let text = serde_json::to_string_pretty(&envelope).unwrap();
    // Every precomposed é of the signed part (release notes, the document's name)
    // becomes e + U+0301: the same text to a reader, and to an NFC encoder.
    let swapped = text.replace('\u{e9}', "e\u{301}");
    assert_ne!(swapped, text);
    envelope = serde_json::from_str(&swapped).unwrap();
    assert!(envelope["signed"]["targets"]
        .as_object()
        .unwrap()
        .contains_key(&twin_name()));
    serve_targets(&world, &swapped);

    let err = app.check().await.unwrap_err();
    assert_targets_refused(&err);
    assert_nothing_taken(&world, &trusted_before);
}

#[tokio::test]
async fn a_target_named_twice_is_refused_as_malformed() {
    let (world, mut app) = world_with_unfetched_targets().await;
    let trusted_before = world.trusted("targets.json").unwrap();
    let envelope = served_targets(&world);
    let release = format!("{APP}/2.0.0/{}/{APP}", current_platform());
    let honest = &envelope["signed"]["targets"][&release];
    assert!(honest.is_object(), "{release} is listed");
    // The release named a second time, first, pointing at the attacker's program
    // (a parser that keeps one of the two decides which one the client acts on).
    let evil = binary("6.6.6");
    assert_eq!(evil.len(), binary("2.0.0").len());
    let hash = world.plant_target(&release, &evil);
    let mut forged = honest.clone();
    forged["hashes"] = json!({ "sha256": hash });
    let text = serde_json::to_string_pretty(&envelope).unwrap();
    let anchor = "\"targets\": {\n";
    let at = text.find(anchor).unwrap() + anchor.len();
    let duplicate = format!(
        "      {}: {},\n",
        serde_json::to_string(&release).unwrap(),
        serde_json::to_string(&forged).unwrap()
    );
    let tampered = format!("{}{duplicate}{}", &text[..at], &text[at..]);
    serve_targets(&world, &tampered);

    let err = app.check().await.unwrap_err();
    assert_targets_refused(&err);
    assert!(
        matches!(&err, Error::Metadata(TrustError::Malformed { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("appears twice"), "{err}");
    assert!(err.to_string().contains(&release), "{err}");
    assert_nothing_taken(&world, &trusted_before);
}

#[tokio::test]
async fn the_honest_non_ascii_repository_is_accepted_re_indented_or_not() {
    // The same repository, served as published and re-indented: both are read, and
    // the non-ASCII names and notes come through as signed.
    let (world, mut app) = world_with_unfetched_targets().await;
    let release = app.check().await.unwrap().expect("2.0.0 is offered");
    assert_eq!(release.info.notes.as_deref(), Some("Caf\u{e9} au lait"));

    let (world2, mut app2) = world_with_unfetched_targets().await;
    let envelope = served_targets(&world2);
    serve_targets(&world2, &serde_json::to_string_pretty(&envelope).unwrap());
    let release2 = app2.check().await.unwrap().expect("2.0.0 is offered");
    assert_eq!(release2.version(), release.version());
    assert_eq!(
        sha256_hex(&binary("2.0.0")),
        release2.target.hashes.get("sha256").unwrap().to_string()
    );
    drop(world);
}
