//! `https://` (and, when allowed, `http://`) on hyper + rustls with the ring provider.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

use super::proxy::{ProxyConfig, ProxyConnector};
use super::{ChunkFuture, ChunkSource, FetchError, FetchFuture, Fetcher, ResponseBody};

/// Options of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Allow plain `http://`. Off by default: TUF signatures still protect integrity,
    /// but without TLS anyone on the path sees what is fetched and can slow it down.
    /// `http://` to a loopback address is always allowed (it never leaves the host).
    pub allow_http: bool,
    /// Trust only the CA certificates in this PEM file instead of the built-in
    /// web PKI roots (for private repositories or pinned certificates).
    pub ca_file: Option<PathBuf>,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Sent as `User-Agent`.
    pub user_agent: String,
    /// Follow at most this many redirects per fetch (0: follow none). A redirect from
    /// `https://` to anything else is always refused.
    pub max_redirects: u32,
    /// Which proxy to go through: by default the one `HTTPS_PROXY`/`HTTP_PROXY`
    /// name, except for hosts in `NO_PROXY` and loopback (see [`ProxyConfig`]).
    pub proxy: ProxyConfig,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            allow_http: false,
            ca_file: None,
            connect_timeout: Duration::from_secs(15),
            user_agent: concat!("updater/", env!("CARGO_PKG_VERSION")).into(),
            max_redirects: 5,
            proxy: ProxyConfig::FromEnv,
        }
    }
}

/// An HTTP(S) fetcher. 404 and 403 are [`FetchError::NotFound`]. Redirects (301, 302,
/// 303, 307, 308) are followed up to [`HttpOptions::max_redirects`] times; every hop
/// must pass the scheme rules, and a redirect away from `https://` is refused, so a
/// CDN may move files but cannot downgrade the transport. Redirects change only where
/// the bytes come from: they are verified against trusted metadata as ever.
pub struct HttpFetcher {
    client: Client<hyper_rustls::HttpsConnector<ProxyConnector>, Empty<Bytes>>,
    options: HttpOptions,
}

impl HttpFetcher {
    /// Builds the client and its TLS configuration (ring provider, TLS 1.2 and 1.3).
    ///
    /// # Errors
    /// [`FetchError::Transport`] when the CA file cannot be read or holds no certificate.
    pub fn new(options: HttpOptions) -> Result<Self, FetchError> {
        let mut roots = rustls::RootCertStore::empty();
        match &options.ca_file {
            Some(path) => {
                let fail = |message: String| FetchError::Transport {
                    url: path.display().to_string(),
                    message,
                };
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .map_err(|e| fail(format!("cannot read CA file: {e}")))?
                    .collect::<Result<_, _>>()
                    .map_err(|e| fail(format!("malformed PEM in CA file: {e}")))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(fail("the CA file holds no usable certificate".into()));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| FetchError::Transport {
                url: String::new(),
                message: format!("TLS configuration: {e}"),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(ProxyConnector::new(http, &options.proxy));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(HttpFetcher { client, options })
    }

    fn check_scheme(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.options.allow_http || is_loopback(url) => Ok(()),
            "http" => Err(FetchError::Scheme {
                url: url.to_string(),
                reason: "plain http is not allowed; use https, or allow http explicitly".into(),
            }),
            other => Err(FetchError::Scheme {
                url: url.to_string(),
                reason: format!("unsupported URL scheme {other:?}"),
            }),
        }
    }
}

/// True for `localhost`, 127.0.0.0/8 and `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

struct HyperChunks {
    body: Incoming,
    url: String,
}

impl ChunkSource for HyperChunks {
    fn next_chunk(&mut self) -> ChunkFuture<'_> {
        Box::pin(async move {
            loop {
                match self.body.frame().await {
                    None => return Ok(None),
                    Some(Err(e)) => {
                        return Err(FetchError::Transport {
                            url: self.url.clone(),
                            message: format!("reading the response failed: {}", describe_error(&e)),
                        })
                    }
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            if !data.is_empty() {
                                return Ok(Some(data));
                            }
                        }
                    }
                }
            }
        })
    }
}

/// What one request led to.
enum Hop {
    /// A body to read.
    Body(ResponseBody),
    /// A redirect to this URL.
    Redirect(Url),
}

impl HttpFetcher {
    /// One request, no redirect followed; from byte `offset` on when it is not 0.
    async fn request_once(&self, url: &Url, offset: u64) -> Result<Hop, FetchError> {
        let mut request = hyper::Request::get(url.as_str())
            .header(hyper::header::USER_AGENT, &self.options.user_agent);
        if offset > 0 {
            request = request.header(hyper::header::RANGE, format!("bytes={offset}-"));
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Transport {
                url: url.to_string(),
                message: format!("invalid request: {e}"),
            })?;
        let response = self.client.request(request).await.map_err(|e| {
            let (url, message) = (url.to_string(), describe_error(&e));
            if is_tls_error(&e) {
                FetchError::Tls { url, message }
            } else {
                FetchError::Transport { url, message }
            }
        })?;
        let status = response.status();
        if status == hyper::StatusCode::NOT_FOUND || status == hyper::StatusCode::FORBIDDEN {
            return Err(FetchError::NotFound {
                url: url.to_string(),
            });
        }
        if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
            let refused = |location: &str, reason: &str| FetchError::Redirect {
                url: url.to_string(),
                location: location.to_string(),
                reason: reason.to_string(),
            };
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .ok_or_else(|| refused("", "the redirect has no Location header"))?
                .to_str()
                .map_err(|_| refused("", "the Location header is not ASCII"))?;
            // Relative locations resolve against the URL that answered (RFC 9110 10.2.2).
            let next = url
                .join(location)
                .map_err(|e| refused(location, &format!("not a valid URL: {e}")))?;
            return Ok(Hop::Redirect(next));
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        // A 206 must be the part asked for; a 200 is the whole file (the server
        // ignored the range, and the caller starts over).
        let start = if status == hyper::StatusCode::PARTIAL_CONTENT {
            let range = response
                .headers()
                .get(hyper::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok());
            match range.and_then(content_range_start) {
                Some(first) if offset > 0 && first == offset => offset,
                _ => {
                    return Err(FetchError::Range {
                        url: url.to_string(),
                        offset,
                        reason: format!(
                            "HTTP 206 with Content-Range {}",
                            range.unwrap_or("(none)")
                        ),
                    })
                }
            }
        } else {
            0
        };
        let declared = response
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        Ok(Hop::Body(
            ResponseBody::new(
                declared,
                Box::new(HyperChunks {
                    body: response.into_body(),
                    url: url.to_string(),
                }),
            )
            .starting_at(start),
        ))
    }

    /// Checks that a redirect from `from` to `to` may be followed.
    fn check_redirect(&self, from: &Url, to: &Url) -> Result<(), FetchError> {
        let refused = |reason: String| FetchError::Redirect {
            url: from.to_string(),
            location: to.to_string(),
            reason,
        };
        if from.scheme() == "https" && to.scheme() != "https" {
            return Err(refused(
                "a redirect away from https is a downgrade; fix the server or mirror \
                 configuration, or use a base URL that does not redirect"
                    .into(),
            ));
        }
        self.check_scheme(to)
            .map_err(|e| refused(format!("the new location is not allowed: {e}")))
    }
}

impl Fetcher for HttpFetcher {
    fn fetch<'a>(&'a self, url: &'a Url, max_length: u64) -> FetchFuture<'a> {
        self.fetch_from(url, max_length, 0)
    }

    /// Sends `Range: bytes=OFFSET-` when `offset` is not 0. A `206` whose
    /// `Content-Range` starts at `offset` is the rest of the file; a `200` is the whole
    /// file; any other `206` is [`FetchError::Range`].
    fn fetch_from<'a>(&'a self, url: &'a Url, _max_length: u64, offset: u64) -> FetchFuture<'a> {
        Box::pin(async move {
            self.check_scheme(url)?;
            let mut current = url.clone();
            // Bounded: one request per allowed redirect, plus the first.
            for _ in 0..=self.options.max_redirects {
                match self.request_once(&current, offset).await? {
                    Hop::Body(body) => return Ok(body),
                    Hop::Redirect(next) => {
                        self.check_redirect(&current, &next)?;
                        tracing::debug!(from = %current, to = %next, "following a redirect");
                        current = next;
                    }
                }
            }
            Err(FetchError::Redirect {
                url: url.to_string(),
                location: current.to_string(),
                reason: format!(
                    "more than {} redirects (a loop?); fix the server, or point the client \
                     at the final URL",
                    self.options.max_redirects
                ),
            })
        })
    }
}

/// The first byte position of a `Content-Range: bytes FIRST-LAST/TOTAL` header.
fn content_range_start(value: &str) -> Option<u64> {
    let (first, _) = value.trim().strip_prefix("bytes ")?.split_once('-')?;
    first.trim().parse().ok()
}

/// An error with its chain of causes, which name TLS and connection failures.
fn describe_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}

/// True when a rustls error is in the chain of causes (directly or inside an IO
/// error).
fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    tls_error_within(e, 0)
}

fn tls_error_within(e: &(dyn std::error::Error + 'static), depth: u32) -> bool {
    // Bounded: real error chains are short; 32 levels is far beyond any of them.
    if depth > 32 {
        return false;
    }
    if e.is::<rustls::Error>() {
        return true;
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if tls_error_within(inner, depth + 1) {
            return true;
        }
    }
    e.source().is_some_and(|s| tls_error_within(s, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::content_range_start;

    #[test]
    fn reads_the_start_of_a_content_range() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes 0-9/*"), Some(0));
        for bad in ["bytes */200", "items 1-2/3", "bytes x-1/2", ""] {
            assert_eq!(content_range_start(bad), None, "{bad}");
        }
    }
}
