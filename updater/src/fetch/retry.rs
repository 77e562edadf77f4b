//! Retries with exponential backoff, in one place for every fetcher.
//!
//! Only the opening of a transfer is retried: the request, the response head and the
//! first chunk of the body. Once a body byte has been handed on, a failure is final
//! here (a target download may resume it with a range request instead). Which
//! failures are worth another try is [`FetchError::is_transient`].

use std::future::Future;
use std::time::Duration;

use url::Url;

use super::{FetchError, TransferLimits};

/// No single wait between attempts is longer than this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The wait before retry number `retry` (0 for the first): `base * 2^retry`, capped.
pub(super) fn backoff(base: Duration, retry: u32) -> Duration {
    base.saturating_mul(1u32 << retry.min(16)).min(MAX_BACKOFF)
}

/// Runs `attempt` until it succeeds, fails for good, or `limits.retries` retries
/// have been spent; waits [`backoff`] between attempts. Returns the last error.
pub(super) async fn with_retries<T, F, Fut>(
    url: &Url,
    limits: &TransferLimits,
    mut attempt: F,
) -> Result<T, FetchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FetchError>>,
{
    let mut retry = 0u32;
    // Bounded: `retry` grows by one per failed attempt up to `limits.retries`.
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if retry >= limits.retries || !error.is_transient() {
            return Err(error);
        }
        let delay = backoff(limits.retry_delay, retry);
        tracing::warn!(%url, %error, retry = retry + 1, of = limits.retries, ?delay,
            "transient failure; trying again");
        tokio::time::sleep(delay).await;
        retry += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn url() -> Url {
        Url::parse("https://repo.test/x").unwrap()
    }

    fn limits(retries: u32) -> TransferLimits {
        TransferLimits {
            retries,
            retry_delay: Duration::from_millis(100),
            ..TransferLimits::default()
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 0), Duration::from_millis(500));
        assert_eq!(backoff(base, 1), Duration::from_secs(1));
        assert_eq!(backoff(base, 2), Duration::from_secs(2));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let result = with_retries(&url(), &limits(2), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(FetchError::Status {
                    url: "u".into(),
                    status: 503,
                }),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_configured_retries() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(&url(), &limits(2), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(FetchError::Timeout {
                url: "u".into(),
                seconds: 1,
            })
        })
        .await;
        assert!(matches!(result, Err(FetchError::Timeout { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_are_not_retried() {
        for error in [
            FetchError::NotFound { url: "u".into() },
            FetchError::Status {
                url: "u".into(),
                status: 403,
            },
            FetchError::TooLarge {
                url: "u".into(),
                limit: 1,
            },
            FetchError::TooSlow {
                url: "u".into(),
                rate: 1,
                min: 2,
            },
            FetchError::Tls {
                url: "u".into(),
                message: "invalid peer certificate".into(),
            },
        ] {
            let calls = AtomicU32::new(0);
            let error = std::sync::Mutex::new(Some(error));
            let result: Result<(), _> = with_retries(&url(), &limits(5), || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(error.lock().unwrap().take().unwrap())
            })
            .await;
            assert!(result.is_err());
            assert_eq!(calls.load(Ordering::SeqCst), 1);
        }
    }
}
