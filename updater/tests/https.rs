//! The HTTPS transport against a real TLS server on loopback, with a test CA made
//! here: a pinned CA is trusted, any other CA is refused, and plain http to a host
//! that is not loopback is refused unless explicitly allowed.

#![allow(clippy::unwrap_used)] // test fixtures: a failure to set up is a test failure

use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use updater::fetch::{read_bounded, FetchError, HttpFetcher, HttpOptions, TransferLimits};
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
    let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
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
