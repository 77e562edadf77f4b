//! A hostile network, end to end: repo-tool signs and publishes a repository, a
//! hand-written HTTP/1.1 server on loopback serves it honestly except for one chosen
//! path, where it attacks (bytes forever, one byte per second, truncation, wrong
//! content at the right length, 500s, connection resets, an untrusted certificate,
//! redirects to http and redirect loops). Further cases check that transient failures
//! are retried and that an interrupted target download resumes with a range request.
//!
//! Every case must end in a clear error within a bounded time, leave the trusted
//! metadata on disk byte-identical, and leave nothing (no file, no temporary file) in
//! the target directory. Each case prints how long the client took to give up
//! (`cargo test --test adversarial -- --nocapture` shows the figures).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures: a failed setup is a failed test

#[path = "adversarial/fixture.rs"]
mod fixture;
#[path = "adversarial/server.rs"]
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fixture::*;
use server::*;
use updater::fetch::FetchError;
use updater::Error;

#[tokio::test]
async fn honest_server_serves_the_target() {
    let f = Fixture::new().await;
    let mut client = f.client();
    let info = client.target_info(TARGET).await.unwrap();
    let path = client
        .download_target(TARGET, &info, &f.out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), payload());
}

#[tokio::test]
async fn endless_target_without_length_stops_at_the_trusted_length() {
    let err = attack_target("target: endless, no length", Attack::EndlessNoLength, FAST).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::TooLarge { limit, .. }) if limit == payload().len() as u64),
        "{err}"
    );
}

#[tokio::test]
async fn endless_target_behind_a_small_length_is_refused_as_too_short() {
    let err = attack_target(
        "target: endless behind Content-Length 16",
        Attack::EndlessSmallLength,
        FAST,
    )
    .await;
    assert!(matches!(err, Error::Target { .. }), "{err}");
}

#[tokio::test]
async fn target_declaring_a_huge_length_is_refused_before_reading() {
    let err = attack_target(
        "target: Content-Length 1 TiB",
        Attack::EndlessHugeLength,
        FAST,
    )
    .await;
    assert!(
        matches!(err, Error::Fetch(FetchError::TooLarge { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn target_at_one_byte_per_second_is_abandoned_as_too_slow() {
    let err = attack_target("target: 1 byte/s body", Attack::Trickle, SLOW).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::TooSlow { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn target_headers_at_one_byte_per_second_time_out() {
    let err = attack_target("target: 1 byte/s headers", Attack::SlowHeaders, SLOW).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Timeout { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn target_truncated_every_time_fails_after_the_resumes() {
    let f = Fixture::new().await;
    let err = attack_target_with(&f, "target: truncated", |_| Attack::Truncated, FAST).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Transport { .. })),
        "{err}"
    );
    // The first request, then two resumes, each from where the last one stopped.
    let n = payload().len() as u64;
    assert_eq!(
        f.server.ranges(TARGET_SUFFIX),
        vec![None, Some(n / 2), Some(n / 2 + n / 4)]
    );
}

#[tokio::test]
async fn wrong_target_content_at_the_right_length_is_refused() {
    let err = attack_target("target: wrong content", Attack::WrongContent, FAST).await;
    assert!(matches!(err, Error::Target { .. }), "{err}");
}

#[tokio::test]
async fn target_answered_with_500_is_a_status_error() {
    let f = Fixture::new().await;
    let err = attack_target_with(&f, "target: HTTP 500", |_| Attack::Status(500), SLOW).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Status { status: 500, .. })),
        "{err}"
    );
    // The first attempt and two retries.
    assert_eq!(f.server.requests(TARGET_SUFFIX), 3);
}

#[tokio::test]
async fn target_connection_reset_mid_body_every_time_is_a_transport_error() {
    let f = Fixture::new().await;
    let err =
        attack_target_with(&f, "target: reset mid-body", |_| Attack::ResetMidBody, SLOW).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Transport { .. })),
        "{err}"
    );
    assert_eq!(f.server.requests(TARGET_SUFFIX), 3);
}

#[tokio::test]
async fn target_connection_reset_before_the_response_is_a_transport_error() {
    let err = attack_target("target: reset at once", Attack::ResetAtOnce, SLOW).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Transport { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn endless_timestamp_stops_at_its_size_limit() {
    let err = attack_timestamp(
        "timestamp: endless, no length",
        Attack::EndlessNoLength,
        FAST,
    )
    .await;
    assert!(
        matches!(
            err,
            Error::Fetch(FetchError::TooLarge { limit: 16_384, .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn timestamp_at_one_byte_per_second_is_abandoned() {
    let err = attack_timestamp("timestamp: 1 byte/s body", Attack::Trickle, SLOW).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::TooSlow { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_timestamp_content_is_refused_by_trust() {
    let err = attack_timestamp("timestamp: wrong content", Attack::WrongContent, FAST).await;
    assert!(matches!(err, Error::Metadata(_)), "{err}");
}

#[tokio::test]
async fn truncated_timestamp_is_a_transport_error() {
    let err = attack_timestamp("timestamp: truncated", Attack::Truncated, FAST).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Transport { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn timestamp_answered_with_500_is_a_status_error() {
    let err = attack_timestamp("timestamp: HTTP 500", Attack::Status(500), SLOW).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Status { status: 500, .. })),
        "{err}"
    );
}

#[tokio::test]
async fn timestamp_connection_reset_is_a_transport_error() {
    let err = attack_timestamp("timestamp: reset mid-body", Attack::ResetMidBody, SLOW).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Transport { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn https_with_the_pinned_ca_serves_the_target() {
    let ca = make_ca();
    let f = Fixture::with_tls(&ca, &ca.pem).await;
    let mut client = f.client();
    let info = client.target_info(TARGET).await.unwrap();
    let path = client
        .download_target(TARGET, &info, &f.out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), payload());
}

#[tokio::test]
async fn certificate_from_an_untrusted_ca_is_refused() {
    let ca = make_ca();
    let other = make_ca();
    let f = Fixture::with_tls(&ca, &other.pem).await;
    let before = f.metadata_files();
    let mut client = f.client();
    let started = Instant::now();
    let err = within_a_minute(client.refresh()).await.unwrap_err();
    report("untrusted CA", started.elapsed(), &err);
    assert!(started.elapsed() < SLOW);
    assert!(matches!(err, Error::Fetch(FetchError::Tls { .. })), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    // A refused handshake is final: no retry, so no backoff either.
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(f.metadata_files(), before);
    assert_eq!(f.server.requests(""), 0, "no request passed the handshake");
    f.assert_out_empty();
}

// ---------------------------------------------------------------------------------
// Redirects.

#[tokio::test]
async fn redirect_from_https_to_http_is_refused() {
    let ca = make_ca();
    let f = Fixture::with_tls(&ca, &ca.pem).await;
    let err = attack_target_with(
        &f,
        "target: redirect https -> http",
        |url| {
            // Plain http to loopback is allowed as a first URL, never as a downgrade.
            let mut to = url.clone();
            to.set_scheme("http").unwrap();
            to.set_host(Some("127.0.0.1")).unwrap();
            Attack::Redirect(to.to_string())
        },
        FAST,
    )
    .await;
    assert!(
        matches!(&err, Error::Fetch(FetchError::Redirect { location, .. }) if location.starts_with("http://")),
        "{err}"
    );
    assert!(err.to_string().contains("downgrade"), "{err}");
}

#[tokio::test]
async fn redirect_from_http_to_a_remote_http_host_is_refused() {
    let f = Fixture::new().await;
    let err = attack_target_with(
        &f,
        "target: redirect to remote http",
        |_| Attack::Redirect("http://updates.example.invalid/x".into()),
        FAST,
    )
    .await;
    assert!(
        matches!(&err, Error::Fetch(FetchError::Redirect { location, .. }) if location.contains("example.invalid")),
        "{err}"
    );
}

#[tokio::test]
async fn redirect_loop_stops_at_the_cap() {
    let f = Fixture::new().await;
    let err = attack_target_with(
        &f,
        "target: redirect loop",
        |url| Attack::Redirect(url.path().to_string()),
        FAST,
    )
    .await;
    assert!(
        matches!(err, Error::Fetch(FetchError::Redirect { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("more than 5 redirects"), "{err}");
    // The first request and five redirects followed.
    assert_eq!(f.server.requests(TARGET_SUFFIX), 6);
}

#[tokio::test]
async fn same_scheme_redirects_are_followed() {
    let ca = make_ca();
    let f = Fixture::with_tls(&ca, &ca.pem).await;
    let mut client = f.client();
    let info = client.target_info(TARGET).await.unwrap();
    let url = client.target_url(TARGET, &info).unwrap();
    // An absolute https location for the target, a relative one for the timestamp.
    let mut moved = url.clone();
    moved.set_path(&format!("{MOVED}{}", url.path()));
    f.server
        .attack(TARGET_SUFFIX, Attack::Redirect(moved.to_string()));
    f.server.attack(
        "timestamp.json",
        Attack::Redirect(format!("{MOVED}/metadata/timestamp.json")),
    );
    let path = client
        .download_target(TARGET, &info, &f.out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), payload());
    f.client().refresh().await.unwrap();
    assert_eq!(f.server.requests(&format!("{MOVED}{}", url.path())), 1);
    assert_eq!(
        f.server
            .requests(&format!("{MOVED}/metadata/timestamp.json")),
        1
    );
}

// ---------------------------------------------------------------------------------
// Retries.

#[tokio::test]
async fn target_failing_twice_with_503_is_retried_and_served() {
    let f = Fixture::new().await;
    let mut client = f.client();
    let info = client.target_info(TARGET).await.unwrap();
    f.server.attack(TARGET_SUFFIX, fail_first(2, 503));
    let started = Instant::now();
    let path = client
        .download_target(TARGET, &info, &f.out, None)
        .await
        .unwrap();
    report_outcome(
        "target: 503 twice, then served",
        "succeeded",
        started.elapsed(),
        "",
    );
    assert_eq!(std::fs::read(path).unwrap(), payload());
    assert_eq!(f.server.requests(TARGET_SUFFIX), 3);
}

#[tokio::test]
async fn timestamp_failing_twice_with_502_is_retried() {
    let mut f = Fixture::new().await;
    f.client().refresh().await.unwrap();
    f.publish_release("app/v2.bin", b"release two");
    f.server.attack("timestamp.json", fail_first(2, 502));
    let mut client = f.client();
    client.target_info("app/v2.bin").await.unwrap();
    // One honest request for the first refresh, three for this one.
    assert_eq!(f.server.requests("timestamp.json"), 4);
}

#[tokio::test]
async fn not_found_is_never_retried() {
    let f = Fixture::new().await;
    let err = attack_target_with(&f, "target: HTTP 404", |_| Attack::Status(404), FAST).await;
    assert!(
        matches!(err, Error::Fetch(FetchError::NotFound { .. })),
        "{err}"
    );
    assert_eq!(f.server.requests(TARGET_SUFFIX), 1);
}

#[tokio::test]
async fn wrong_content_is_never_retried() {
    let f = Fixture::new().await;
    let err = attack_target_with(
        &f,
        "target: wrong content, no retry",
        |_| Attack::WrongContent,
        FAST,
    )
    .await;
    assert!(matches!(err, Error::Target { .. }), "{err}");
    assert_eq!(f.server.requests(TARGET_SUFFIX), 1);
}

// ---------------------------------------------------------------------------------
// Resuming an interrupted target download.

/// Downloads the target after a first honest refresh with `attack` on it; returns
/// the result and the ranges the server was asked for.
async fn download_under(
    case: &str,
    attack: Attack,
) -> (Fixture, Result<PathBuf, Error>, Vec<Option<u64>>) {
    let f = Fixture::new().await;
    let mut client = f.client();
    let info = client.target_info(TARGET).await.unwrap();
    let before = f.metadata_files();
    f.server.attack(TARGET_SUFFIX, attack);
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut progress = |done: u64, _total: u64| seen.push(done);
    let result =
        within_a_minute(client.download_target(TARGET, &info, &f.out, Some(&mut progress))).await;
    match &result {
        Ok(_) => report_outcome(case, "succeeded", started.elapsed(), ""),
        Err(e) => report_outcome(case, "failed", started.elapsed(), &e.to_string()),
    }
    assert_eq!(f.metadata_files(), before);
    if result.is_ok() {
        assert_eq!(
            seen.last().copied(),
            Some(payload().len() as u64),
            "progress"
        );
    }
    let ranges = f.server.ranges(TARGET_SUFFIX);
    (f, result, ranges)
}

#[tokio::test]
async fn truncated_target_resumes_with_a_range_request() {
    let n = payload().len() as u64;
    let (_f, result, ranges) = download_under(
        "target: truncated once, then resumed",
        once_then(Attack::Truncated, Attack::Honest),
    )
    .await;
    assert_eq!(std::fs::read(result.unwrap()).unwrap(), payload());
    assert_eq!(ranges, vec![None, Some(n / 2)]);
}

#[tokio::test]
async fn target_reset_mid_body_resumes_with_a_range_request() {
    let n = payload().len() as u64;
    let (_f, result, ranges) = download_under(
        "target: reset once, then resumed",
        once_then(Attack::ResetMidBody, Attack::Honest),
    )
    .await;
    assert_eq!(std::fs::read(result.unwrap()).unwrap(), payload());
    assert_eq!(ranges, vec![None, Some(n / 2)]);
}

#[tokio::test]
async fn server_ignoring_the_range_makes_the_download_start_over() {
    let (_f, result, ranges) = download_under(
        "target: truncated once, range ignored",
        once_then(Attack::Truncated, Attack::NoRange),
    )
    .await;
    assert_eq!(std::fs::read(result.unwrap()).unwrap(), payload());
    assert_eq!(ranges.len(), 2);
}

#[tokio::test]
async fn wrong_bytes_in_the_resumed_part_are_refused() {
    let (f, result, _) = download_under(
        "target: truncated once, wrong resumed bytes",
        once_then(Attack::Truncated, Attack::RangeWrongContent),
    )
    .await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Target { .. }), "{err}");
    f.assert_out_empty();
}

#[tokio::test]
async fn a_resumed_part_at_the_wrong_offset_is_refused() {
    let (f, result, ranges) = download_under(
        "target: truncated once, wrong Content-Range",
        once_then(Attack::Truncated, Attack::WrongRange),
    )
    .await;
    let err = result.unwrap_err();
    assert!(
        matches!(err, Error::Fetch(FetchError::Range { .. })),
        "{err}"
    );
    assert_eq!(ranges.len(), 2, "a wrong range is not retried");
    f.assert_out_empty();
}
