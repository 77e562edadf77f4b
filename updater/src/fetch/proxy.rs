//! HTTP proxies: which destinations go through one, and the CONNECT tunnel to it.
//!
//! The rules are curl's, as implemented by `hyper-util`'s proxy matcher:
//! `HTTPS_PROXY`/`https_proxy` for `https://` URLs, `HTTP_PROXY`/`http_proxy` for
//! `http://` URLs, `ALL_PROXY`/`all_proxy` for both, and `NO_PROXY`/`no_proxy`: a comma
//! separated list of host names (each also matching its subdomains; a leading `.` is
//! allowed), IP addresses or networks (`10.0.0.0/8`), or `*` for every host. The
//! variables are not read under CGI (`REQUEST_METHOD` set), as curl does (httpoxy).
//! In addition, loopback destinations (`localhost`, 127.0.0.0/8, `::1`) never go
//! through a proxy: a proxy cannot reach this host's loopback.
//!
//! Every proxied connection is an HTTP `CONNECT` tunnel to the destination (for
//! `http://` URLs too), so TLS stays end to end: the proxy sees only the host name
//! and the encrypted bytes, and the server's certificate is checked exactly as
//! without a proxy. The proxy itself is reached over plain TCP (`http://` proxy
//! URLs); credentials in the proxy URL (`http://user:pass@proxy:3128`) are sent as
//! `Proxy-Authorization: Basic`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Which proxy the HTTP transport uses (see the module `fetch::proxy` for the rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyConfig {
    /// Read `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case) when
    /// the fetcher is built. The default.
    #[default]
    FromEnv,
    /// Never use a proxy, whatever the environment says.
    Direct,
    /// These settings, with the meaning of the variables of the same names.
    Explicit {
        /// Proxy URL for `https://` destinations, like `HTTPS_PROXY`.
        https: Option<String>,
        /// Proxy URL for `http://` destinations, like `HTTP_PROXY`.
        http: Option<String>,
        /// Destinations that bypass the proxy, like `NO_PROXY`.
        no_proxy: Option<String>,
    },
}

impl ProxyConfig {
    fn matcher(&self) -> Option<Matcher> {
        match self {
            ProxyConfig::FromEnv => Some(Matcher::from_env()),
            ProxyConfig::Direct => None,
            ProxyConfig::Explicit {
                https,
                http,
                no_proxy,
            } => {
                let mut builder = Matcher::builder();
                if let Some(https) = https {
                    builder = builder.https(https.clone());
                }
                if let Some(http) = http {
                    builder = builder.http(http.clone());
                }
                if let Some(no) = no_proxy {
                    builder = builder.no(no.clone());
                }
                Some(builder.build())
            }
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connector that opens a TCP connection to the destination, or a CONNECT tunnel
/// to it through the proxy that [`ProxyConfig`] picks for it.
#[derive(Clone)]
pub(super) struct ProxyConnector {
    direct: HttpConnector,
    matcher: Option<std::sync::Arc<Matcher>>,
}

impl ProxyConnector {
    pub(super) fn new(direct: HttpConnector, config: &ProxyConfig) -> ProxyConnector {
        ProxyConnector {
            direct,
            matcher: config.matcher().map(std::sync::Arc::new),
        }
    }
}

/// True for `localhost` (and its subdomains), 127.0.0.0/8 and `::1`.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// `dst` with its port spelled out (the tunnel would otherwise assume 443).
fn with_explicit_port(dst: &Uri) -> Result<Uri, BoxError> {
    let host = dst.host().ok_or("the URL has no host")?;
    let port = dst.port_u16().unwrap_or(match dst.scheme_str() {
        Some("http") => 80,
        _ => 443,
    });
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let scheme = dst.scheme_str().unwrap_or("https");
    Ok(format!("{scheme}://{host}:{port}/").parse()?)
}

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = match (&self.matcher, dst.host()) {
            (Some(matcher), Some(host)) if !is_loopback_host(host) => matcher.intercept(&dst),
            _ => None,
        };
        let mut direct = self.direct.clone();
        Box::pin(async move {
            let Some(intercept) = intercept else {
                return direct.call(dst).await.map_err(Into::into);
            };
            let proxy = intercept.uri().clone();
            if proxy.scheme_str() != Some("http") {
                return Err(format!(
                    "proxy {proxy}: only http:// proxies are supported (the tunnel inside \
                     still carries TLS end to end)"
                )
                .into());
            }
            tracing::debug!(%proxy, destination = %dst, "connecting through a proxy");
            let mut tunnel = Tunnel::new(proxy.clone(), direct);
            if let Some(auth) = intercept.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            let target = with_explicit_port(&dst)?;
            std::future::poll_fn(|cx| tunnel.poll_ready(cx))
                .await
                .map_err(|e| format!("proxy {proxy}: {e}"))?;
            tunnel
                .call(target)
                .await
                .map_err(|e| format!("CONNECT through proxy {proxy} failed: {e}").into())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "LOCALHOST.",
            "a.localhost",
            "127.0.0.1",
            "127.9.9.9",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["example.com", "10.0.0.1", "localhost.example.com", "[::2]"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn tunnel_destinations_carry_the_scheme_default_port() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(
            with_explicit_port(&uri("http://h.test/x")).unwrap(),
            uri("http://h.test:80/")
        );
        assert_eq!(
            with_explicit_port(&uri("https://h.test/x")).unwrap(),
            uri("https://h.test:443/")
        );
        assert_eq!(
            with_explicit_port(&uri("https://h.test:8443/")).unwrap(),
            uri("https://h.test:8443/")
        );
    }

    #[test]
    fn explicit_settings_pick_the_proxy_and_honour_no_proxy() {
        let config = ProxyConfig::Explicit {
            https: Some("http://proxy.test:3128".into()),
            http: None,
            no_proxy: Some("internal.test, 10.0.0.0/8".into()),
        };
        let m = config.matcher().unwrap();
        let hit = m
            .intercept(&"https://repo.example/".parse().unwrap())
            .unwrap();
        assert_eq!(hit.uri(), "http://proxy.test:3128/");
        assert!(m
            .intercept(&"https://a.internal.test/".parse().unwrap())
            .is_none());
        assert!(m.intercept(&"https://10.1.2.3/".parse().unwrap()).is_none());
        assert!(m
            .intercept(&"http://repo.example/".parse().unwrap())
            .is_none());
        assert!(ProxyConfig::Direct.matcher().is_none());
    }
}
