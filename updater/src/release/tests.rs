use semver::Version;
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;

use super::*;
use crate::metadata::{Hashes, TargetFile};

const LINUX: &str = "x86_64-unknown-linux-gnu";
const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

fn target(custom: serde_json::Value) -> TargetFile {
    TargetFile {
        length: 3,
        hashes: Hashes::from([("sha256".to_string(), "00".repeat(32))]),
        custom: Some(Box::new(custom)),
        unrecognized: Default::default(),
    }
}

fn release(version: &str, platform: &str, extra: serde_json::Value) -> (String, TargetFile) {
    let mut info = json!({"app": "app", "version": version, "platform": platform});
    if let (Some(obj), Some(more)) = (info.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    (
        format!("app/{version}/{platform}/app"),
        target(json!({ CUSTOM_KEY: info })),
    )
}

fn query<'a>(current: &'a Version) -> Query<'a> {
    Query {
        app: "app",
        current,
        channel: DEFAULT_CHANNEL,
        platform: LINUX,
        highest_installed: None,
        rolled_back: &[],
        allow_downgrade: false,
        allow_below_highest: false,
        pin: None,
    }
}

fn id(text: &str) -> InstallId {
    InstallId(text.into())
}

fn chosen(selection: &Selection) -> Option<String> {
    selection.release.as_ref().map(|r| r.version().to_string())
}

fn reason_for(selection: &Selection, version: &str) -> Reason {
    selection
        .passed_over
        .iter()
        .find(|p| p.version.as_ref() == Some(&v(version)))
        .map(|p| p.reason.clone())
        .unwrap()
}

#[test]
fn picks_the_newest_release_for_this_platform_and_channel() {
    let targets = vec![
        release("1.1.0", LINUX, json!({})),
        release("1.3.0", LINUX, json!({})),
        release("1.2.0", LINUX, json!({})),
        release("1.9.0", "aarch64-apple-darwin", json!({})),
        release("1.8.0", LINUX, json!({"channels": ["beta"]})),
        (
            "app/notes.txt".to_string(),
            TargetFile {
                custom: None,
                ..target(json!({}))
            },
        ),
    ];
    let current = v("1.0.0");
    let selection = select(&targets, &query(&current), None, &id("a"), NOW);
    assert_eq!(chosen(&selection).as_deref(), Some("1.3.0"));
    assert_eq!(reason_for(&selection, "1.9.0"), Reason::OtherPlatform);
    assert_eq!(reason_for(&selection, "1.8.0"), Reason::OtherChannel);
    assert_eq!(reason_for(&selection, "1.1.0"), Reason::Superseded);
    // Not a release: not listed at all.
    assert_eq!(selection.passed_over.len(), 4);

    let mut beta = query(&current);
    beta.channel = "beta";
    let selection = select(&targets, &beta, None, &id("a"), NOW);
    assert_eq!(chosen(&selection).as_deref(), Some("1.8.0"));
    assert_eq!(reason_for(&selection, "1.3.0"), Reason::OtherChannel);
}

#[test]
fn the_choice_does_not_depend_on_listing_order() {
    let mut targets = vec![
        release("2.0.0", LINUX, json!({})),
        release("2.0.1", LINUX, json!({})),
        release("1.0.1", LINUX, json!({})),
    ];
    let current = v("1.0.0");
    let first = select(&targets, &query(&current), None, &id("a"), NOW);
    targets.reverse();
    let second = select(&targets, &query(&current), None, &id("a"), NOW);
    assert_eq!(chosen(&first), chosen(&second));
    assert_eq!(chosen(&first).as_deref(), Some("2.0.1"));
}

#[test]
fn nothing_newer_means_no_release() {
    let targets = vec![
        release("1.0.0", LINUX, json!({})),
        release("0.9.0", LINUX, json!({})),
    ];
    let current = v("1.0.0");
    let selection = select(&targets, &query(&current), None, &id("a"), NOW);
    assert_eq!(selection.release, None);
    assert_eq!(reason_for(&selection, "1.0.0"), Reason::Current);
    assert_eq!(reason_for(&selection, "0.9.0"), Reason::Downgrade);
}

#[test]
fn downgrades_need_asking_and_the_highest_installed_floor_needs_overriding() {
    let targets = vec![
        release("1.5.0", LINUX, json!({})),
        release("1.2.0", LINUX, json!({})),
    ];
    let current = v("2.0.0");
    let highest = v("1.8.0");
    let mut q = query(&current);
    assert_eq!(select(&targets, &q, None, &id("a"), NOW).release, None);

    q.allow_downgrade = true;
    let selection = select(&targets, &q, None, &id("a"), NOW);
    assert_eq!(chosen(&selection).as_deref(), Some("1.5.0"));

    q.highest_installed = Some(&highest);
    let selection = select(&targets, &q, None, &id("a"), NOW);
    assert_eq!(selection.release, None);
    assert_eq!(
        reason_for(&selection, "1.5.0"),
        Reason::BelowHighestInstalled
    );

    q.allow_below_highest = true;
    let pin = v("1.2.0");
    q.pin = Some(&pin);
    let selection = select(&targets, &q, None, &id("a"), NOW);
    assert_eq!(chosen(&selection).as_deref(), Some("1.2.0"));
    assert_eq!(reason_for(&selection, "1.5.0"), Reason::NotPinned);
}

#[test]
fn an_upgrade_always_beats_a_downgrade() {
    let targets = vec![
        release("0.9.0", LINUX, json!({})),
        release("1.1.0", LINUX, json!({})),
    ];
    let current = v("1.0.0");
    let mut q = query(&current);
    q.allow_downgrade = true;
    let selection = select(&targets, &q, None, &id("a"), NOW);
    assert_eq!(chosen(&selection).as_deref(), Some("1.1.0"));
}

#[test]
fn a_rolled_back_version_is_not_offered_again() {
    let targets = vec![
        release("2.0.0", LINUX, json!({})),
        release("1.1.0", LINUX, json!({})),
    ];
    let current = v("1.0.0");
    let failed = [v("2.0.0")];
    let mut q = query(&current);
    q.rolled_back = &failed;
    let selection = select(&targets, &q, None, &id("a"), NOW);
    assert_eq!(chosen(&selection).as_deref(), Some("1.1.0"));
    assert_eq!(reason_for(&selection, "2.0.0"), Reason::RolledBackBefore);
}

#[test]
fn malformed_and_misplaced_release_objects_are_passed_over_with_the_reason() {
    let mut foreign = release("3.0.0", LINUX, json!({}));
    foreign.0 = "other/3.0.0/x/app".into();
    let targets = vec![
        foreign,
        release("4.0.0", LINUX, json!({"surprise": 1})),
        (
            "app/bad".to_string(),
            target(json!({CUSTOM_KEY: {"app": "app", "version": "not semver", "platform": LINUX}})),
        ),
        release(
            "5.0.0",
            LINUX,
            json!({"post_install": {"target": "elsewhere/hook"}}),
        ),
        release("1.1.0", LINUX, json!({})),
    ];
    let current = v("1.0.0");
    let selection = select(&targets, &query(&current), None, &id("a"), NOW);
    assert_eq!(chosen(&selection).as_deref(), Some("1.1.0"));
    let malformed = selection
        .passed_over
        .iter()
        .filter(|p| matches!(p.reason, Reason::Malformed(_)))
        .count();
    assert_eq!(malformed, 4, "{:#?}", selection.passed_over);
}

fn policy(version: &str, plan: serde_json::Value) -> RolloutPolicy {
    let text = json!({"app": "app", "releases": {version: plan}}).to_string();
    RolloutPolicy::parse(text.as_bytes(), "app").unwrap()
}

#[test]
fn waves_open_to_the_right_share_of_installations() {
    let targets = vec![release("2.0.0", LINUX, json!({}))];
    let current = v("1.0.0");
    let plan = policy(
        "2.0.0",
        json!({"waves": [
            {"start": "2026-11-22T00:00:00Z", "percentage": 10},
            {"start": "2026-11-23T00:00:00Z", "percentage": 25},
            {"start": "2026-11-30T00:00:00Z", "percentage": 100}
        ]}),
    );
    let offered = |now| {
        (0..4000)
            .filter(|i| {
                select(
                    &targets,
                    &query(&current),
                    Some(&plan),
                    &id(&format!("install-{i}")),
                    now,
                )
                .release
                .is_some()
            })
            .count()
    };
    let before = offered(datetime!(2026-11-21 12:00 UTC));
    let day_one = offered(datetime!(2026-11-22 12:00 UTC));
    let day_two = offered(NOW);
    let later = offered(datetime!(2026-12-01 00:00 UTC));
    assert_eq!(before, 0);
    assert!(
        (300..500).contains(&day_one),
        "10% of 4000 is ~400, got {day_one}"
    );
    assert!(
        (850..1150).contains(&day_two),
        "25% of 4000 is ~1000, got {day_two}"
    );
    assert_eq!(later, 4000);
    // Waves widen: everyone offered on day one is still offered on day two.
    for i in 0..4000 {
        let install = id(&format!("install-{i}"));
        let first = select(
            &targets,
            &query(&current),
            Some(&plan),
            &install,
            datetime!(2026-11-22 12:00 UTC),
        );
        let second = select(&targets, &query(&current), Some(&plan), &install, NOW);
        assert!(first.release.is_none() || second.release.is_some());
    }
}

#[test]
fn canaries_differ_between_releases() {
    let ids: Vec<InstallId> = (0..2000).map(|i| id(&format!("install-{i}"))).collect();
    let canaries = |version: &str| -> Vec<usize> {
        (0..ids.len())
            .filter(|&i| bucket(&ids[i], "app", &v(version)) < BUCKETS / 10)
            .collect()
    };
    let first = canaries("2.0.0");
    let second = canaries("2.1.0");
    let shared = first.iter().filter(|i| second.contains(i)).count();
    // Independent 10% samples share about 1% of installations, not 10%.
    assert!(
        shared < first.len() / 3,
        "{shared} of {} canaries shared",
        first.len()
    );
    // The bucket is stable for one installation and release.
    assert_eq!(
        bucket(&ids[0], "app", &v("2.0.0")),
        bucket(&ids[0], "app", &v("2.0.0"))
    );
}

#[test]
fn halts_stop_everyone_and_critical_releases_skip_waves() {
    let current = v("1.0.0");
    let not_started = policy(
        "2.0.0",
        json!({"waves": [{"start": "2027-01-01T00:00:00Z", "percentage": 100}]}),
    );
    let halted = policy("2.0.0", json!({"halted": true, "waves": []}));

    let normal = vec![release("2.0.0", LINUX, json!({}))];
    let selection = select(&normal, &query(&current), Some(&not_started), &id("a"), NOW);
    assert_eq!(reason_for(&selection, "2.0.0"), Reason::WaveNotStarted);
    let selection = select(&normal, &query(&current), Some(&halted), &id("a"), NOW);
    assert_eq!(reason_for(&selection, "2.0.0"), Reason::Halted);

    let critical = vec![release("2.0.0", LINUX, json!({"critical": true}))];
    let selection = select(
        &critical,
        &query(&current),
        Some(&not_started),
        &id("a"),
        NOW,
    );
    assert!(selection.release.unwrap().critical);
    let selection = select(&critical, &query(&current), Some(&halted), &id("a"), NOW);
    assert_eq!(reason_for(&selection, "2.0.0"), Reason::Halted);

    // Below the minimum version, a normal release is critical for this installation.
    let minimum = vec![release("2.0.0", LINUX, json!({"minimum_version": "1.5.0"}))];
    let selection = select(
        &minimum,
        &query(&current),
        Some(&not_started),
        &id("a"),
        NOW,
    );
    assert!(selection.release.unwrap().critical);
    let newer = v("1.6.0");
    let selection = select(&minimum, &query(&newer), Some(&not_started), &id("a"), NOW);
    assert_eq!(selection.release, None);
}

#[test]
fn rollout_policies_are_checked_when_read() {
    let wrong_app = json!({"app": "other", "releases": {}}).to_string();
    assert!(RolloutPolicy::parse(wrong_app.as_bytes(), "app").is_err());
    let too_wide = json!({"app": "app", "releases": {"1.0.0": {"waves": [{"start": "2026-01-01T00:00:00Z", "percentage": 101}]}}}).to_string();
    assert!(RolloutPolicy::parse(too_wide.as_bytes(), "app").is_err());
    let unknown = json!({"app": "app", "release": {}}).to_string();
    assert!(RolloutPolicy::parse(unknown.as_bytes(), "app").is_err());
    let plan: RolloutPolicy = policy("1.0.0", json!({}));
    assert_eq!(plan.exposure(&v("1.0.0"), NOW), Exposure::Everyone);
    assert_eq!(plan.exposure(&v("9.0.0"), NOW), Exposure::Everyone);
}

#[test]
fn release_objects_round_trip_through_custom_metadata() {
    let info = ReleaseInfo {
        app: "app".into(),
        version: v("2.0.0"),
        platform: LINUX.into(),
        channels: vec!["beta".into()],
        critical: false,
        minimum_version: None,
        notes: Some("notes".into()),
        post_install: None,
        bundle: None,
        deltas: Vec::new(),
    };
    let parsed = ReleaseInfo::from_target("app/2.0.0/x/app", &target(info.to_custom())).unwrap();
    assert_eq!(parsed, Some(info));
    assert!(current_platform().contains(std::env::consts::ARCH));
}

#[test]
fn a_hook_whose_file_name_could_leave_the_hooks_directory_makes_the_release_malformed() {
    for name in [
        "..\\..\\evil.exe",
        "a\\b",
        "NUL",
        "con.bat",
        "c:evil",
        "x.",
        "..",
    ] {
        let (path, target) = release(
            "2.0.0",
            LINUX,
            json!({"post_install": {"target": format!("app/2.0.0/hooks/{name}")}}),
        );
        let err = ReleaseInfo::from_target(&path, &target).unwrap_err();
        assert!(err.reason.contains("post_install target"), "{name}: {err}");
    }
    let (path, target) = release(
        "2.0.0",
        LINUX,
        json!({"post_install": {"target": "app/2.0.0/hooks/migrate.exe"}}),
    );
    let info = ReleaseInfo::from_target(&path, &target).unwrap().unwrap();
    assert_eq!(info.post_install.unwrap().file_name(), Ok("migrate.exe"));
}

#[test]
fn a_release_or_hook_path_with_dot_segments_is_malformed_not_chosen() {
    // Chosen, it could never be downloaded (URL resolution folds the segment):
    // every check would pick it and every download fail.
    let (_, target) = release("2.0.0", LINUX, json!({}));
    for path in [
        "app/2.0.0/x/../app",
        "app/./2.0.0/x/app",
        "app//2.0.0/x/app",
    ] {
        let err = ReleaseInfo::from_target(path, &target).unwrap_err();
        assert!(err.reason.contains("segment"), "{path}: {err}");
    }
    let (path, target) = release(
        "2.0.0",
        LINUX,
        json!({"post_install": {"target": "app/2.0.0/../hooks/migrate"}}),
    );
    let err = ReleaseInfo::from_target(&path, &target).unwrap_err();
    assert!(err.reason.contains("post_install target"), "{err}");
}
