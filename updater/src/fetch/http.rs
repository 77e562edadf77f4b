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
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            allow_http: false,
            ca_file: None,
            connect_timeout: Duration::from_secs(15),
            user_agent: concat!("updater/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// An HTTP(S) fetcher. 404 and 403 are [`FetchError::NotFound`]; redirects are not
/// followed (a repository is a static tree with stable URLs).
pub struct HttpFetcher {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
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
            .wrap_connector(http);
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
                            message: format!("reading the response failed: {e}"),
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

impl Fetcher for HttpFetcher {
    fn fetch<'a>(&'a self, url: &'a Url, _max_length: u64) -> FetchFuture<'a> {
        Box::pin(async move {
            self.check_scheme(url)?;
            let request = hyper::Request::get(url.as_str())
                .header(hyper::header::USER_AGENT, &self.options.user_agent)
                .body(Empty::<Bytes>::new())
                .map_err(|e| FetchError::Transport {
                    url: url.to_string(),
                    message: format!("invalid request: {e}"),
                })?;
            let response =
                self.client
                    .request(request)
                    .await
                    .map_err(|e| FetchError::Transport {
                        url: url.to_string(),
                        message: describe_client_error(&e),
                    })?;
            let status = response.status();
            if status == hyper::StatusCode::NOT_FOUND || status == hyper::StatusCode::FORBIDDEN {
                return Err(FetchError::NotFound {
                    url: url.to_string(),
                });
            }
            if !status.is_success() {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                });
            }
            let declared = response
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            Ok(ResponseBody::new(
                declared,
                Box::new(HyperChunks {
                    body: response.into_body(),
                    url: url.to_string(),
                }),
            ))
        })
    }
}

/// The innermost cause of a client error, which names TLS and connection failures.
fn describe_client_error(e: &hyper_util::client::legacy::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}
