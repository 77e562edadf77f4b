//! The HTTPS transport against a real TLS server on loopback, with a test CA made
//! here: a pinned CA is trusted, any other CA is refused, and plain http to a host
//! that is not loopback is refused unless explicitly allowed. Through a CONNECT
//! proxy (a tiny one made here), TLS stays end to end, and `NO_PROXY` and loopback
//! destinations bypass the proxy.

#![allow(clippy::unwrap_used)] // test fixtures: a failure to set up is a test failure

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use updater::fetch::{
    read_bounded, FetchError, HttpFetcher, HttpOptions, ProxyConfig, TransferLimits,
};
use url::Url;

struct TestCa {
    pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

fn make_ca() -> TestCa {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    // `repo.test` does not resolve: only a proxy can reach it (see `through_a_proxy`).
    let names = vec!["localhost".to_string(), "repo.test".to_string()];
    let params = CertificateParams::new(names).unwrap();
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let server = params.signed_by(&server_key, &issuer).unwrap();
    TestCa {
        pem: ca.pem(),
        server_chain: vec![server.der().clone()],
        server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    }
}

/// Serves `body` for every request over TLS on a loopback port; returns the port.
async fn serve_tls(ca: &TestCa, body: &'static [u8]) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(ca.server_chain.clone(), ca.server_key.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn limits() -> TransferLimits {
    TransferLimits {
        read_timeout: Duration::from_secs(10),
        ..TransferLimits::default()
    }
}

#[tokio::test]
async fn fetches_over_https_with_a_pinned_ca() {
    let ca = make_ca();
    let port = serve_tls(&ca, b"hello over tls").await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let fetcher = HttpFetcher::new(HttpOptions {
        ca_file: Some(ca_file),
        ..HttpOptions::default()
    })
    .unwrap();
    let url = Url::parse(&format!("https://localhost:{port}/x")).unwrap();
    let body = read_bounded(&fetcher, &url, 1000, limits()).await.unwrap();
    assert_eq!(body, b"hello over tls");
}

#[tokio::test]
async fn refuses_a_certificate_from_an_untrusted_ca() {
    let ca = make_ca();
    let port = serve_tls(&ca, b"never seen").await;
    let other = make_ca();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("other-ca.pem");
    std::fs::write(&ca_file, &other.pem).unwrap();
    for options in [
        HttpOptions {
            ca_file: Some(ca_file),
            ..HttpOptions::default()
        },
        // The built-in web PKI roots do not include the test CA either.
        HttpOptions::default(),
    ] {
        let fetcher = HttpFetcher::new(options).unwrap();
        let url = Url::parse(&format!("https://localhost:{port}/x")).unwrap();
        let err = read_bounded(&fetcher, &url, 1000, limits())
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Tls { .. }), "{err}");
        assert!(
            err.to_string().to_lowercase().contains("certificate"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn refuses_plain_http_to_other_hosts_unless_allowed() {
    let fetcher = HttpFetcher::new(HttpOptions::default()).unwrap();
    let url = Url::parse("http://updates.example.invalid/x").unwrap();
    let err = read_bounded(&fetcher, &url, 10, limits())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Scheme { .. }), "{err}");
}

#[test]
fn refuses_a_ca_file_without_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("empty.pem");
    std::fs::write(&ca_file, "not a certificate").unwrap();
    let result = HttpFetcher::new(HttpOptions {
        ca_file: Some(ca_file),
        ..HttpOptions::default()
    });
    assert!(result.is_err());
}

/// A CONNECT proxy on loopback that tunnels every destination to a port on
/// 127.0.0.1 (the host name is only recorded, never resolved); records the target of
/// every CONNECT it was asked for.
async fn connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let record = record.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                // Bounded: a request head of at most 8 KiB.
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                record.lock().unwrap().push(target.clone());
                let Some(port) = target.rsplit_once(':').map(|(_, p)| p.to_string()) else {
                    return;
                };
                let Ok(mut server) =
                    tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await
                else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (port, seen)
}

/// A fetcher trusting `ca`, with `proxy`.
fn fetcher_with(ca: &TestCa, dir: &std::path::Path, proxy: ProxyConfig) -> HttpFetcher {
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    HttpFetcher::new(HttpOptions {
        ca_file: Some(ca_file),
        proxy,
        ..HttpOptions::default()
    })
    .unwrap()
}

fn via(proxy_port: u16, no_proxy: Option<&str>) -> ProxyConfig {
    ProxyConfig::Explicit {
        https: Some(format!("http://127.0.0.1:{proxy_port}")),
        http: None,
        no_proxy: no_proxy.map(String::from),
    }
}

#[tokio::test]
async fn fetches_over_https_through_a_connect_proxy() {
    let ca = make_ca();
    let port = serve_tls(&ca, b"hello through the tunnel").await;
    let (proxy_port, seen) = connect_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let fetcher = fetcher_with(&ca, dir.path(), via(proxy_port, None));
    // `repo.test` does not resolve here: only the proxy can reach it.
    let url = Url::parse(&format!("https://repo.test:{port}/x")).unwrap();
    let body = read_bounded(&fetcher, &url, 1000, limits()).await.unwrap();
    assert_eq!(body, b"hello through the tunnel");
    assert_eq!(*seen.lock().unwrap(), vec![format!("repo.test:{port}")]);
}

#[tokio::test]
async fn the_certificate_is_still_checked_through_the_proxy() {
    let ca = make_ca();
    let port = serve_tls(&ca, b"never seen").await;
    let (proxy_port, seen) = connect_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let fetcher = fetcher_with(&make_ca(), dir.path(), via(proxy_port, None));
    let url = Url::parse(&format!("https://repo.test:{port}/x")).unwrap();
    let err = read_bounded(&fetcher, &url, 1000, limits())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Tls { .. }), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn no_proxy_hosts_bypass_the_proxy() {
    let ca = make_ca();
    let port = serve_tls(&ca, b"direct").await;
    let (proxy_port, seen) = connect_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let fetcher = fetcher_with(&ca, dir.path(), via(proxy_port, Some("example.org, .test")));
    // Direct, so the name must resolve, which `repo.test` does not.
    let url = Url::parse(&format!("https://repo.test:{port}/x")).unwrap();
    let no_retries = TransferLimits {
        retries: 0,
        ..limits()
    };
    let err = read_bounded(&fetcher, &url, 1000, no_retries)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Transport { .. }), "{err}");
    assert!(seen.lock().unwrap().is_empty(), "the proxy was used");
}

#[tokio::test]
async fn loopback_destinations_never_go_through_the_proxy() {
    let ca = make_ca();
    let port = serve_tls(&ca, b"direct on loopback").await;
    let (proxy_port, seen) = connect_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let fetcher = fetcher_with(&ca, dir.path(), via(proxy_port, None));
    let url = Url::parse(&format!("https://localhost:{port}/x")).unwrap();
    let body = read_bounded(&fetcher, &url, 1000, limits()).await.unwrap();
    assert_eq!(body, b"direct on loopback");
    assert!(seen.lock().unwrap().is_empty(), "the proxy was used");
}
