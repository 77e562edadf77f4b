//! Delegation search (spec 5.6.7) through a real client.

use super::*;

// ---------------------------------------------------------------------------------
// Delegation search (spec 5.6.7)
// ---------------------------------------------------------------------------------

/// The delegated-role requests made after the refresh.
async fn lookup(
    h: &Harness,
    client: &mut Client,
    path: &str,
) -> (Result<TargetFile, Error>, Vec<String>) {
    client.refresh().await.unwrap();
    h.take_requests();
    let result = client.target_info(path).await;
    (result, h.take_requests())
}

#[tokio::test]
async fn delegation_search_is_preorder_depth_first_and_skips_non_matching_roles() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "A", &["x/*"], false);
    sim.add_delegation("targets", "C", &["y/*"], false);
    sim.add_delegation("targets", "B", &["x/*"], false);
    sim.add_delegation("A", "A1", &["*/file"], false);
    sim.add_delegation("A", "A2", &["x/f*"], false);
    sim.add_delegation("A", "A3", &["x/other"], false);
    sim.add_delegation("A1", "A11", &["x/*"], false);
    sim.add_target("B", "x/file", b"in B");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "x/file").await;
    assert_eq!(found.unwrap().length, 4);
    assert_eq!(
        requests,
        strings(&[
            "metadata/1.A.json",
            "metadata/1.A1.json",
            "metadata/1.A11.json",
            "metadata/1.A2.json",
            "metadata/1.B.json",
        ])
    );
    // Trusted roles are persisted under their names (capitals encoded where the file
    // system ignores case); non-matching ones never loaded.
    let files = h.files();
    let file = |role: &str| {
        crate::names::local_file_name(
            &format!("{role}.json"),
            crate::names::CASE_INSENSITIVE_FILE_SYSTEMS,
        )
    };
    for role in ["A", "A1", "A11", "A2", "B"] {
        assert!(files.contains(&file(role)), "{files:?}");
    }
    assert!(!files.contains(&file("C")));
    assert!(!files.contains(&file("A3")));
}

#[tokio::test]
async fn target_in_an_earlier_role_wins_and_stops_the_search() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "A", &["x/*"], false);
    sim.add_delegation("targets", "B", &["x/*"], false);
    sim.add_target("A", "x/file", b"from A");
    sim.add_target("B", "x/file", b"from B, longer");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "x/file").await;
    assert_eq!(found.unwrap().length, 6);
    assert_eq!(requests, strings(&["metadata/1.A.json"]));
}

#[tokio::test]
async fn terminating_delegation_stops_the_search_of_later_roles() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "T", &["x/*"], true);
    sim.add_delegation("targets", "B", &["x/*"], false);
    sim.add_target("B", "x/file", b"in B");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "x/file").await;
    assert!(
        matches!(found, Err(Error::TargetNotFound { .. })),
        "{found:?}"
    );
    assert_eq!(requests, strings(&["metadata/1.T.json"]));
}

#[tokio::test]
async fn nested_terminating_delegation_does_not_backtrack_to_ancestors_siblings() {
    // As python-tuf: a terminating delegation empties the whole list of roles to visit.
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "P", &["y/*"], false);
    sim.add_delegation("targets", "Q", &["y/*"], false);
    sim.add_delegation("P", "PT", &["y/*"], true);
    sim.add_target("Q", "y/file", b"in Q");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "y/file").await;
    assert!(
        matches!(found, Err(Error::TargetNotFound { .. })),
        "{found:?}"
    );
    assert_eq!(
        requests,
        strings(&["metadata/1.P.json", "metadata/1.PT.json"])
    );
}

#[tokio::test]
async fn terminating_delegation_still_searches_its_own_children() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "T", &["x/*"], true);
    sim.add_delegation("targets", "B", &["x/*"], false);
    sim.add_delegation("T", "T1", &["x/*"], false);
    sim.add_target("T1", "x/file", b"in T1");
    sim.add_target("B", "x/file", b"in B");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "x/file").await;
    assert_eq!(found.unwrap().length, 5);
    assert_eq!(
        requests,
        strings(&["metadata/1.T.json", "metadata/1.T1.json"])
    );
}

#[tokio::test]
async fn terminating_delegation_that_does_not_match_does_not_stop_the_search() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "T", &["z/*"], true);
    sim.add_delegation("targets", "B", &["x/*"], false);
    sim.add_target("B", "x/file", b"in B");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "x/file").await;
    assert!(found.is_ok(), "{found:?}");
    assert_eq!(requests, strings(&["metadata/1.B.json"]));
}

#[test]
fn delegation_cycles_terminate_and_visit_each_role_once() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "A", &["*"], false);
    sim.add_delegation("A", "B", &["*"], false);
    delegate_to_existing(&mut sim, "B", "A", &["*"], false);
    delegate_to_existing(&mut sim, "A", "A", &["*"], false);
    sim.publish_snapshot();
    let h = Harness::new(sim);
    // A search that loops would never yield to the runtime: run it on a thread with
    // a deadline, so that the test fails instead of hanging.
    let (found, requests) = finishes_within(Duration::from_secs(20), move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut client = h.client();
            lookup(&h, &mut client, "missing").await
        })
    });
    assert!(
        matches!(found, Err(Error::TargetNotFound { .. })),
        "{found:?}"
    );
    assert_eq!(
        requests,
        strings(&["metadata/1.A.json", "metadata/1.B.json"])
    );
}

#[tokio::test]
async fn max_delegations_bounds_the_roles_visited() {
    let mut sim = RepoSim::new();
    let chain = ["targets", "D1", "D2", "D3", "D4"];
    for pair in chain.windows(2) {
        sim.add_delegation(pair[0], pair[1], &["*"], false);
    }
    sim.add_target("D4", "deep", b"deep");
    sim.publish_snapshot();
    let h = Harness::new(sim);

    let mut config = h.config();
    config.limits.max_delegations = 3; // targets, D1, D2
    let mut client = h.client_with(config);
    let (found, requests) = lookup(&h, &mut client, "deep").await;
    // Not "not found": D3 and D4 may list it.
    assert!(
        matches!(found, Err(Error::SearchLimit { limit: 3, .. })),
        "{found:?}"
    );
    assert_eq!(
        requests,
        strings(&["metadata/1.D1.json", "metadata/1.D2.json"])
    );

    let mut config = h.config();
    config.limits.max_delegations = 5;
    let mut client = h.client_with(config);
    let (found, _) = lookup(&h, &mut client, "deep").await;
    assert_eq!(found.unwrap().length, 4);
}

#[tokio::test]
async fn role_missing_from_snapshot_is_never_fetched() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "M", &["m/*"], false);
    sim.add_target("M", "m/file", b"m");
    sim.publish_snapshot();
    sim.snapshot.meta.remove("M.json");
    let h = Harness::new(sim);
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "m/file").await;
    match found {
        Err(Error::Metadata(TrustError::MissingFromSnapshot { role })) => assert_eq!(role, "M"),
        other => panic!("expected MissingFromSnapshot, got {other:?}"),
    }
    assert!(requests.is_empty(), "{requests:?}");
    assert!(!h.files().contains(&"M.json".to_string()));
}

#[tokio::test]
async fn cached_delegated_role_is_reused_by_the_next_client() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "A", &["x/*"], false);
    sim.add_target("A", "x/file", b"in A");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    let (_, requests) = lookup(&h, &mut client, "x/file").await;
    assert_eq!(requests, strings(&["metadata/1.A.json"]));
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "x/file").await;
    assert!(found.is_ok(), "{found:?}");
    assert!(requests.is_empty(), "{requests:?}");
}

#[tokio::test]
async fn delegated_role_names_are_percent_encoded_in_urls_and_file_names() {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "../evil", &["x/*"], false);
    sim.add_target("../evil", "x/file", b"x");
    sim.publish_snapshot();
    let h = Harness::new(sim);
    let mut client = h.client();
    let (found, requests) = lookup(&h, &mut client, "x/file").await;
    assert!(found.is_ok(), "{found:?}");
    assert_eq!(requests, strings(&["metadata/1...%2Fevil.json"]));
    assert!(
        h.files().contains(&"..%2Fevil.json".to_string()),
        "{:?}",
        h.files()
    );
    let parent = h.dir.path().parent().unwrap();
    assert!(!parent.join("evil.json").exists());
}

/// Role R is delegated by A (R's key) and by B (another key); R is signed by A's
/// key only.
fn diamond(sign_for_b_too: bool) -> RepoSim {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "A", &["a/*"], false);
    sim.add_delegation("targets", "B", &["b/*"], false);
    sim.add_delegation("A", "R", &["a/*"], false);
    let key_b = TestKey::generate();
    add_delegation_entry(&mut sim, "B", "R", &key_b.id, &key_b.key, &["b/*"], false);
    if sign_for_b_too {
        sim.signers.get_mut("R").unwrap().push(key_b);
    }
    sim.add_target("R", "a/x", b"ax");
    sim.add_target("R", "b/y", b"by");
    sim.publish_snapshot();
    sim
}

#[tokio::test]
async fn diamond_role_is_not_trusted_through_a_delegator_whose_keys_did_not_sign() {
    let h = Harness::new(diamond(false));
    let mut client = h.client();
    assert!(client.target_info("a/x").await.is_ok());
    let err = client.target_info("b/y").await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::ThresholdNotMet { .. })),
        "{err:?}"
    );
    // A new client, with R cached from the first, refuses it through B as well.
    let mut client = h.client();
    let err = client.target_info("b/y").await.unwrap_err();
    assert!(
        matches!(err, Error::Metadata(TrustError::ThresholdNotMet { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn diamond_role_signed_for_both_delegators_is_trusted_through_both() {
    let h = Harness::new(diamond(true));
    let mut client = h.client();
    assert_eq!(client.target_info("a/x").await.unwrap().length, 2);
    h.take_requests();
    assert_eq!(client.target_info("b/y").await.unwrap().length, 2);
    // R was already loaded: only B is fetched.
    assert_eq!(h.take_requests(), strings(&["metadata/1.B.json"]));
}

#[tokio::test]
async fn a_listed_metadata_length_above_the_hard_limit_is_not_allowed() {
    // The snapshot may list any length for a role; the client still holds no more
    // than Limits::max_metadata_length of it in memory.
    let mut sim = RepoSim::new();
    sim.meta_hashes = true;
    for i in 0..50 {
        sim.add_target("targets", &format!("file-{i}"), b"data");
    }
    sim.publish_snapshot();
    let listed = sim.targets_bytes("targets").len() as u64;
    let h = Harness::new(sim);
    let mut config = h.config();
    config.limits.max_metadata_length = listed - 1;
    let mut client = h.client_with(config);
    let err = client.refresh().await.unwrap_err();
    assert!(
        err.to_string().contains(&format!("{} bytes", listed - 1)),
        "{err}"
    );
}
