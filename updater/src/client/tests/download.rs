//! Target download (spec 5.7) through a real client.

use super::*;

// ---------------------------------------------------------------------------------
// Target download (spec 5.7)
// ---------------------------------------------------------------------------------

const TARGET: &str = "dir/file.bin";

fn target_data() -> Vec<u8> {
    (0..=255u8).cycle().take(1000).collect()
}

/// A harness whose top-level targets list `TARGET`.
fn with_target() -> Harness {
    let mut sim = RepoSim::new();
    sim.add_target("targets", TARGET, &target_data());
    Harness::new(sim)
}

fn target_url_path(data: &[u8]) -> String {
    format!("targets/dir/{}.file.bin", sha256_hex(data))
}

#[tokio::test]
async fn download_puts_the_verified_target_at_its_local_path_via_a_hash_prefixed_url() {
    let h = with_target();
    let mut client = h.client();
    let info = client.target_info(TARGET).await.unwrap();
    h.take_requests();
    let out = tempfile::tempdir().unwrap();
    let path = client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap();
    assert_eq!(path, Client::local_target_path(out.path(), TARGET));
    assert_eq!(std::fs::read(&path).unwrap(), target_data());
    assert_eq!(h.take_requests(), vec![target_url_path(&target_data())]);
    assert_eq!(dir_names(out.path()), strings(&["dir%2Ffile.bin"]));
}

#[tokio::test]
async fn target_at_the_top_directory_gets_a_hash_prefixed_name() {
    let mut sim = RepoSim::new();
    sim.add_target("targets", "top.txt", b"top");
    let h = Harness::new(sim);
    let mut client = h.client();
    let info = client.target_info("top.txt").await.unwrap();
    h.take_requests();
    let out = tempfile::tempdir().unwrap();
    client
        .download_target("top.txt", &info, out.path(), None)
        .await
        .unwrap();
    assert_eq!(
        h.take_requests(),
        vec![format!("targets/{}.top.txt", sha256_hex(b"top"))]
    );
}

#[tokio::test]
async fn without_consistent_snapshot_file_names_carry_no_version_or_hash() {
    let mut sim = RepoSim::new();
    sim.root.consistent_snapshot = false;
    sim.signed_roots.clear();
    sim.publish_root();
    sim.add_target("targets", TARGET, &target_data());
    sim.overrides
        .insert(format!("targets/{TARGET}"), target_data());
    let h = Harness::new(sim);
    let mut client = h.client();
    let info = client.target_info(TARGET).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap();
    assert_eq!(
        h.take_requests(),
        strings(&[
            "metadata/2.root.json",
            "metadata/timestamp.json",
            "metadata/snapshot.json",
            "metadata/targets.json",
            "targets/dir/file.bin",
        ])
    );
}

#[tokio::test]
async fn second_download_of_the_same_target_makes_no_request() {
    let h = with_target();
    let mut client = h.client();
    let info = client.target_info(TARGET).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let first = client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap();
    h.take_requests();
    let second = client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap();
    assert_eq!(first, second);
    assert!(h.take_requests().is_empty());
    // Even when the server now serves bad bytes, the good cached file is kept.
    h.sim()
        .overrides
        .insert(target_url_path(&target_data()), vec![0; 1000]);
    client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap();
    assert!(h.take_requests().is_empty());
    assert_eq!(std::fs::read(&first).unwrap(), target_data());
}

#[tokio::test]
async fn wrong_content_at_the_right_length_is_refused_and_leaves_no_file() {
    let h = with_target();
    let mut bad = target_data();
    bad[500] ^= 0xff;
    h.sim()
        .overrides
        .insert(target_url_path(&target_data()), bad);
    let mut client = h.client();
    let info = client.target_info(TARGET).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap_err();
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
        dir_names(out.path()).is_empty(),
        "{:?}",
        dir_names(out.path())
    );
}

#[tokio::test]
async fn good_file_is_not_replaced_when_the_server_serves_bad_bytes_for_an_update() {
    let h = with_target();
    let out = tempfile::tempdir().unwrap();
    let mut client = h.client();
    let info = client.target_info(TARGET).await.unwrap();
    let path = client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap();

    // A new release of the target, whose bytes the server (or an attacker) corrupts.
    let new_data: Vec<u8> = target_data().iter().map(|b| b.wrapping_add(1)).collect();
    {
        let mut sim = h.sim();
        sim.add_target("targets", TARGET, &new_data);
        sim.publish_targets("targets");
        sim.overrides
            .insert(target_url_path(&new_data), target_data());
    }
    let mut client = h.client();
    let new_info = client.target_info(TARGET).await.unwrap();
    assert_ne!(new_info.hashes, info.hashes);
    let err = client
        .download_target(TARGET, &new_info, out.path(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Target { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), target_data());
    assert_eq!(dir_names(out.path()), strings(&["dir%2Ffile.bin"]));
}

#[tokio::test]
async fn target_listing_only_an_unknown_hash_algorithm_is_refused_before_any_request() {
    let mut sim = RepoSim::new();
    sim.add_target("targets", TARGET, &target_data());
    sim.targets
        .get_mut("targets")
        .unwrap()
        .targets
        .get_mut(TARGET)
        .unwrap()
        .hashes = crate::metadata::Hashes::from([("md5".to_string(), "00".repeat(16))]);
    let h = Harness::new(sim);
    let mut client = h.client();
    let info = client.target_info(TARGET).await.unwrap();
    h.take_requests();
    let out = tempfile::tempdir().unwrap();
    let err = client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Target {
                source: IntegrityError::UnsupportedAlgorithm { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(h.take_requests().is_empty());
    assert!(dir_names(out.path()).is_empty());
}

#[tokio::test]
async fn too_long_body_is_refused_and_leaves_no_file() {
    let h = with_target();
    let mut long = target_data();
    long.extend_from_slice(b"extra");
    h.sim()
        .overrides
        .insert(target_url_path(&target_data()), long);
    for (chunk, declare_length) in [(usize::MAX, true), (100, false), (1001, false)] {
        let mut client = h.chunked_client(chunk, declare_length);
        let info = client.target_info(TARGET).await.unwrap();
        let out = tempfile::tempdir().unwrap();
        let err = client
            .download_target(TARGET, &info, out.path(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Fetch(FetchError::TooLarge { limit: 1000, .. })
                    | Error::Target {
                        source: IntegrityError::TooLong { .. },
                        ..
                    }
            ),
            "chunk {chunk}, declared {declare_length}: {err:?}"
        );
        assert!(
            dir_names(out.path()).is_empty(),
            "{:?}",
            dir_names(out.path())
        );
    }
}

#[tokio::test]
async fn too_short_body_is_refused_and_leaves_no_file() {
    let h = with_target();
    let short = target_data()[..999].to_vec();
    h.sim()
        .overrides
        .insert(target_url_path(&target_data()), short);
    let mut client = h.client();
    let info = client.target_info(TARGET).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = client
        .download_target(TARGET, &info, out.path(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Target {
                source: IntegrityError::LengthMismatch {
                    expected: 1000,
                    found: 999
                },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(dir_names(out.path()).is_empty());
}

#[tokio::test]
async fn progress_reports_increasing_counts_ending_at_the_length() {
    let h = with_target();
    let mut client = h.chunked_client(128, false);
    let info = client.target_info(TARGET).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut seen: Vec<(u64, u64)> = Vec::new();
    let mut record = |done: u64, total: u64| seen.push((done, total));
    client
        .download_target(
            TARGET,
            &info,
            out.path(),
            Some(&mut record as &mut (dyn FnMut(u64, u64) + Send)),
        )
        .await
        .unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
    assert!(seen.iter().all(|&(_, total)| total == 1000), "{seen:?}");
    assert_eq!(seen.last(), Some(&(1000, 1000)));
}

#[tokio::test]
async fn a_target_name_with_url_syntax_in_it_is_requested_as_itself() {
    // `#` would start a fragment, `?` a query, and `%41` would reach the server as
    // `A`: each segment is percent-encoded, so the server sees the name as signed.
    let name = "dir #1/a#b?c%41 r\u{e9}sum\u{e9}.txt";
    let mut sim = RepoSim::new();
    sim.add_target("targets", name, b"as signed");
    let h = Harness::new(sim);
    let mut client = h.client();
    let info = client.target_info(name).await.unwrap();
    h.take_requests();
    let out = tempfile::tempdir().unwrap();
    let path = client
        .download_target(name, &info, out.path(), None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"as signed");
    let hash = sha256_hex(b"as signed");
    assert_eq!(
        h.take_requests(),
        vec![format!(
            "targets/dir%20%231/{hash}.a%23b%3Fc%2541%20r%C3%A9sum%C3%A9.txt"
        )]
    );
}

#[tokio::test]
async fn a_target_name_with_dot_segments_is_refused_before_any_request() {
    // `a/../b.txt` would be folded into `b.txt` by URL resolution (even as `%2E%2E`)
    // or by the server: another file than the one named in the metadata.
    for name in ["a/./../b.txt", "../b.txt", "a/."] {
        let mut sim = RepoSim::new();
        sim.add_target("targets", name, b"dots");
        let h = Harness::new(sim);
        let mut client = h.client();
        let info = client.target_info(name).await.unwrap();
        h.take_requests();
        let out = tempfile::tempdir().unwrap();
        let err = client
            .download_target(name, &info, out.path(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::UnrequestableTarget { path } if path == name),
            "{err:?}"
        );
        assert!(h.take_requests().is_empty());
    }
}
