//! Transports: get the bytes at a URL, bounded.
//!
//! A [`Fetcher`] only moves bytes; it decides nothing about them. Limits that protect
//! the client (maximum length, per-read timeout, minimum average transfer rate) are
//! enforced once for every fetcher by [`read_bounded`] and [`BoundedBody`], so a new
//! transport cannot forget them. [`FetchError::NotFound`] is kept apart from every
//! other failure: root rotation stops only on "not found" (spec 5.3.3); any other
//! failure fails the refresh. Transient failures before the first body byte
//! (connection errors, timeouts, HTTP 5xx) are retried with exponential backoff, also
//! once for every fetcher, by [`BoundedBody::start`].

mod file;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
mod proxy;
mod retry;

pub use file::FileFetcher;
#[cfg(feature = "http")]
pub use http::{HttpFetcher, HttpOptions};
#[cfg(feature = "http")]
pub use proxy::ProxyConfig;

use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use url::Url;

/// Why a fetch failed. Transport faults only; whether bytes are trusted is decided elsewhere.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server says the file does not exist (HTTP 404 or 403, or no such file).
    #[error("{url}: not found")]
    NotFound {
        /// The URL.
        url: String,
    },
    /// The server answered with another unexpected status.
    #[error("{url}: server answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// More bytes than allowed (endless data attack, or a limit set too low).
    #[error("{url}: more than the {limit} bytes allowed for this file; refusing the rest")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// No progress within the read timeout.
    #[error("{url}: no data for {seconds} s; giving up")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout in seconds.
        seconds: u64,
    },
    /// The average transfer rate fell below the minimum (slow retrieval attack).
    #[error("{url}: transfer rate {rate} B/s is below the minimum of {min} B/s; giving up")]
    TooSlow {
        /// The URL.
        url: String,
        /// The measured average rate in bytes per second.
        rate: u64,
        /// The minimum rate.
        min: u64,
    },
    /// The URL's scheme is not supported, or not allowed (plain `http://` by default).
    #[error("{url}: {reason}")]
    Scheme {
        /// The URL.
        url: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A redirect was refused: a downgrade from `https://`, a location the scheme
    /// rules forbid, no usable `Location`, or too many redirects.
    #[error("{url}: refused the redirect to {location:?}: {reason}")]
    Redirect {
        /// The URL that was asked for, or the one that answered with the redirect.
        url: String,
        /// Where the server redirected to (empty when it gave no usable location).
        location: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The answer to a range request (resuming a transfer) does not start where asked.
    #[error("{url}: unusable answer to a request for the bytes from {offset} on: {reason}")]
    Range {
        /// The URL.
        url: String,
        /// Where the transfer was to resume.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Connection, TLS or IO failure.
    #[error("{url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The TLS handshake was refused, e.g. a certificate from a CA the client does
    /// not trust, or for another host. Never retried.
    #[error("{url}: TLS handshake refused: {message}; check that the server's certificate is issued for this host by a CA the client trusts (see ca_file)")]
    Tls {
        /// The URL.
        url: String,
        /// Why the handshake failed.
        message: String,
    },
}

impl FetchError {
    /// True for "the file does not exist", the only failure that ends root rotation.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::NotFound { .. })
    }

    /// True for failures that another attempt may not meet: connection and IO errors
    /// (but not a refused TLS handshake), timeouts, HTTP 5xx, 408 and 429. "Not
    /// found", other statuses, refused redirects and exceeded limits are final.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Transport { .. } => true,
            FetchError::Timeout { .. } => true,
            FetchError::Status { status, .. } => {
                (500..=599).contains(status) || *status == 408 || *status == 429
            }
            FetchError::NotFound { .. }
            | FetchError::TooLarge { .. }
            | FetchError::TooSlow { .. }
            | FetchError::Scheme { .. }
            | FetchError::Redirect { .. }
            | FetchError::Range { .. }
            | FetchError::Tls { .. } => false,
        }
    }
}

/// The future returned by [`Fetcher::fetch`].
pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ResponseBody, FetchError>> + Send + 'a>>;

/// The future returned by [`ChunkSource::next_chunk`].
pub type ChunkFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Bytes>, FetchError>> + Send + 'a>>;

/// Something that can get the bytes at a URL.
///
/// Implementations start the transfer and return the body as a stream of chunks.
/// `max_length` is a hint (e.g. to refuse a larger `Content-Length` early); the
/// limit is enforced regardless by [`BoundedBody`].
pub trait Fetcher: Send + Sync {
    /// Starts fetching `url`.
    fn fetch<'a>(&'a self, url: &'a Url, max_length: u64) -> FetchFuture<'a>;

    /// Starts fetching `url` from byte `offset` on, to resume an interrupted transfer.
    ///
    /// A fetcher that can resume returns only the bytes from `offset` on and marks
    /// the body with [`ResponseBody::starting_at`]; one that cannot (the default)
    /// returns the whole body, whose [`ResponseBody::offset`] is 0, and the caller
    /// starts over. Either way the caller verifies the whole file afterwards.
    fn fetch_from<'a>(&'a self, url: &'a Url, max_length: u64, offset: u64) -> FetchFuture<'a> {
        let _ = offset;
        self.fetch(url, max_length)
    }
}

/// A stream of body chunks.
pub trait ChunkSource: Send {
    /// The next chunk, or `None` at the end.
    fn next_chunk(&mut self) -> ChunkFuture<'_>;
}

/// A response body: its declared length, if any, and its chunks.
pub struct ResponseBody {
    /// The length the server declared, if any (not trusted; only used to fail early).
    pub declared_length: Option<u64>,
    source: Box<dyn ChunkSource>,
    offset: u64,
}

impl ResponseBody {
    /// A body from a chunk source.
    pub fn new(declared_length: Option<u64>, source: Box<dyn ChunkSource>) -> Self {
        ResponseBody {
            declared_length,
            source,
            offset: 0,
        }
    }

    /// Marks the body as the part of the file from byte `offset` on (the answer to
    /// [`Fetcher::fetch_from`]); `declared_length` is then the length of that part.
    pub fn starting_at(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Where in the file the body starts: 0 for a whole file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// A body that is already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        struct Once(Option<Bytes>);
        impl ChunkSource for Once {
            fn next_chunk(&mut self) -> ChunkFuture<'_> {
                let chunk = self.0.take();
                Box::pin(async move { Ok(chunk) })
            }
        }
        ResponseBody::new(Some(bytes.len() as u64), Box::new(Once(Some(bytes.into()))))
    }
}

/// Limits applied to every transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferLimits {
    /// Give up when no byte arrives for this long (also bounds connecting).
    pub read_timeout: Duration,
    /// Give up when the average rate since the start, measured after `rate_grace`,
    /// falls below this many bytes per second (slow retrieval attack). 0 disables.
    pub min_bytes_per_second: u64,
    /// How long a transfer may take before the minimum rate applies.
    pub rate_grace: Duration,
    /// How many more attempts to make after a transient failure (see
    /// [`FetchError::is_transient`]) that happened before any body byte arrived.
    /// Failures later in a transfer are not retried here.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further one (at most 30 s).
    pub retry_delay: Duration,
}

impl Default for TransferLimits {
    fn default() -> Self {
        TransferLimits {
            read_timeout: Duration::from_secs(30),
            min_bytes_per_second: 1024,
            rate_grace: Duration::from_secs(10),
            retries: 2,
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// A response body read under a length limit, a read timeout and a minimum rate.
pub struct BoundedBody {
    url: String,
    body: ResponseBody,
    limit: u64,
    received: u64,
    started: Instant,
    limits: TransferLimits,
    /// The first chunk (or the end), read by `start` so that a failure before any
    /// body byte can be retried there.
    first: Option<Option<Bytes>>,
    /// Where in the file the body starts (see [`BoundedBody::resume`]).
    offset: u64,
}

impl BoundedBody {
    /// Starts a bounded fetch of `url` allowing at most `limit` bytes: sends the
    /// request and waits for the first chunk of the body. A transient failure on the
    /// way (see [`FetchError::is_transient`]) is retried `limits.retries` times with
    /// exponential backoff from `limits.retry_delay`.
    ///
    /// # Errors
    /// The fetcher's error, [`FetchError::Timeout`] if the response or its first
    /// bytes do not arrive in time, or [`FetchError::TooLarge`] if the server declares
    /// a larger body: the last one when every attempt failed.
    pub async fn start(
        fetcher: &dyn Fetcher,
        url: &Url,
        limit: u64,
        limits: TransferLimits,
    ) -> Result<BoundedBody, FetchError> {
        BoundedBody::resume(fetcher, url, limit, 0, limits).await
    }

    /// As [`BoundedBody::start`], for the bytes of `url` from `offset` on (an
    /// interrupted transfer that already has `offset` bytes). The fetcher may answer
    /// with the whole file instead: [`BoundedBody::offset`] says which. `limit`
    /// bounds the whole file, not just the rest.
    ///
    /// # Errors
    /// As [`BoundedBody::start`], and [`FetchError::Range`] when the fetcher's
    /// answer starts neither at `offset` nor at 0.
    pub async fn resume(
        fetcher: &dyn Fetcher,
        url: &Url,
        limit: u64,
        offset: u64,
        limits: TransferLimits,
    ) -> Result<BoundedBody, FetchError> {
        retry::with_retries(url, &limits, || {
            BoundedBody::open(fetcher, url, limit, offset, limits)
        })
        .await
    }

    /// One attempt of [`BoundedBody::resume`].
    async fn open(
        fetcher: &dyn Fetcher,
        url: &Url,
        limit: u64,
        offset: u64,
        limits: TransferLimits,
    ) -> Result<BoundedBody, FetchError> {
        let timed_out = || FetchError::Timeout {
            url: url.to_string(),
            seconds: limits.read_timeout.as_secs(),
        };
        let started = Instant::now();
        let request = if offset == 0 {
            fetcher.fetch(url, limit)
        } else {
            fetcher.fetch_from(url, limit, offset)
        };
        let mut body = tokio::time::timeout(limits.read_timeout, request)
            .await
            .map_err(|_| timed_out())??;
        let start = body.offset();
        if start != 0 && start != offset {
            return Err(FetchError::Range {
                url: url.to_string(),
                offset,
                reason: format!("the fetcher returned the bytes from {start} on"),
            });
        }
        if body
            .declared_length
            .is_some_and(|n| n.saturating_add(start) > limit)
        {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let first = tokio::time::timeout(limits.read_timeout, body.source.next_chunk())
            .await
            .map_err(|_| timed_out())??;
        Ok(BoundedBody {
            url: url.to_string(),
            body,
            limit,
            received: start,
            started,
            limits,
            first: Some(first),
            offset: start,
        })
    }

    /// Where in the file this body starts: 0 for the whole file, or the offset asked
    /// of [`BoundedBody::resume`] when the fetcher resumed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The length the server declared, if any.
    pub fn declared_length(&self) -> Option<u64> {
        self.body.declared_length
    }

    /// The next chunk, or `None` at the end.
    ///
    /// # Errors
    /// [`FetchError::TooLarge`] past the limit (counting from the start of the file), [`FetchError::Timeout`] when a read
    /// stalls, [`FetchError::TooSlow`] below the minimum average rate, or the
    /// transport's error.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, FetchError> {
        let next = match self.first.take() {
            Some(first) => first,
            None => tokio::time::timeout(self.limits.read_timeout, self.body.source.next_chunk())
                .await
                .map_err(|_| FetchError::Timeout {
                    url: self.url.clone(),
                    seconds: self.limits.read_timeout.as_secs(),
                })??,
        };
        let Some(chunk) = next else {
            return Ok(None);
        };
        self.received = self.received.saturating_add(chunk.len() as u64);
        if self.received > self.limit {
            return Err(FetchError::TooLarge {
                url: self.url.clone(),
                limit: self.limit,
            });
        }
        let elapsed = self.started.elapsed();
        if self.limits.min_bytes_per_second > 0 && elapsed > self.limits.rate_grace {
            let fetched = self.received.saturating_sub(self.offset);
            let rate = (fetched as f64 / elapsed.as_secs_f64()) as u64;
            if rate < self.limits.min_bytes_per_second {
                return Err(FetchError::TooSlow {
                    url: self.url.clone(),
                    rate,
                    min: self.limits.min_bytes_per_second,
                });
            }
        }
        Ok(Some(chunk))
    }
}

/// Fetches the whole body of `url`, at most `limit` bytes, into memory (for metadata).
///
/// # Errors
/// As [`BoundedBody::start`] and [`BoundedBody::chunk`].
pub async fn read_bounded(
    fetcher: &dyn Fetcher,
    url: &Url,
    limit: u64,
    limits: TransferLimits,
) -> Result<Vec<u8>, FetchError> {
    let mut body = BoundedBody::start(fetcher, url, limit, limits).await?;
    let capacity = body.declared_length().unwrap_or(0).min(limit).min(1 << 24);
    let mut out = Vec::with_capacity(capacity as usize);
    while let Some(chunk) = body.chunk().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Dispatches on the URL scheme: `https://` (and `http://` when allowed) and `file://`.
#[cfg(feature = "http")]
pub struct DefaultFetcher {
    http: HttpFetcher,
    file: FileFetcher,
}

#[cfg(feature = "http")]
impl DefaultFetcher {
    /// A fetcher with the given HTTP options.
    ///
    /// # Errors
    /// When the TLS configuration cannot be built (e.g. an unreadable CA file).
    pub fn new(options: HttpOptions) -> Result<Self, FetchError> {
        Ok(DefaultFetcher {
            http: HttpFetcher::new(options)?,
            file: FileFetcher,
        })
    }
}

#[cfg(feature = "http")]
impl Fetcher for DefaultFetcher {
    fn fetch<'a>(&'a self, url: &'a Url, max_length: u64) -> FetchFuture<'a> {
        match url.scheme() {
            "file" => self.file.fetch(url, max_length),
            _ => self.http.fetch(url, max_length),
        }
    }

    fn fetch_from<'a>(&'a self, url: &'a Url, max_length: u64, offset: u64) -> FetchFuture<'a> {
        match url.scheme() {
            "file" => self.file.fetch_from(url, max_length, offset),
            _ => self.http.fetch_from(url, max_length, offset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Endless;
    impl ChunkSource for Endless {
        fn next_chunk(&mut self) -> ChunkFuture<'_> {
            Box::pin(async { Ok(Some(Bytes::from_static(&[0u8; 4096]))) })
        }
    }
    struct EndlessFetcher;
    impl Fetcher for EndlessFetcher {
        fn fetch<'a>(&'a self, _: &'a Url, _: u64) -> FetchFuture<'a> {
            Box::pin(async { Ok(ResponseBody::new(None, Box::new(Endless))) })
        }
    }

    struct Stalled;
    impl ChunkSource for Stalled {
        fn next_chunk(&mut self) -> ChunkFuture<'_> {
            Box::pin(std::future::pending())
        }
    }
    struct StalledFetcher;
    impl Fetcher for StalledFetcher {
        fn fetch<'a>(&'a self, _: &'a Url, _: u64) -> FetchFuture<'a> {
            Box::pin(async { Ok(ResponseBody::new(None, Box::new(Stalled))) })
        }
    }

    fn url() -> Url {
        Url::parse("https://repo.test/x").unwrap()
    }

    #[tokio::test]
    async fn endless_data_stops_at_the_limit() {
        let err = read_bounded(&EndlessFetcher, &url(), 10_000, TransferLimits::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::TooLarge { limit: 10_000, .. }),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stalled_reads_time_out() {
        let limits = TransferLimits {
            read_timeout: Duration::from_secs(5),
            ..TransferLimits::default()
        };
        let err = read_bounded(&StalledFetcher, &url(), 10, limits)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Timeout { seconds: 5, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn declared_length_over_the_limit_fails_early() {
        struct Big;
        impl Fetcher for Big {
            fn fetch<'a>(&'a self, _: &'a Url, _: u64) -> FetchFuture<'a> {
                Box::pin(async { Ok(ResponseBody::from_bytes(vec![0; 100])) })
            }
        }
        let err = read_bounded(&Big, &url(), 99, TransferLimits::default())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, FetchError::TooLarge { .. }));
    }
}
