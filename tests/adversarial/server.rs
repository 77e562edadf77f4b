//! The adversarial server: hand-written HTTP/1.1 on 127.0.0.1 (optionally over TLS
//! with a test CA) that serves a repository honestly except where told to attack.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// What the server does for a request whose path matches a rule.
#[derive(Clone, Debug)]
pub enum Attack {
    /// Serve the file as it is.
    Honest,
    /// No `Content-Length`, bytes until the client hangs up.
    EndlessNoLength,
    /// A small `Content-Length`, then bytes until the client hangs up.
    EndlessSmallLength,
    /// A `Content-Length` of a terabyte, then bytes until the client hangs up.
    EndlessHugeLength,
    /// The status line and headers at one byte per second.
    SlowHeaders,
    /// The honest head, then the body at one byte per second.
    Trickle,
    /// The honest `Content-Length`, half the body, then a clean close.
    Truncated,
    /// The honest length, different bytes.
    WrongContent,
    /// This status with an empty body.
    Status(u16),
    /// The honest head, half the body, then a TCP reset.
    ResetMidBody,
    /// A TCP reset as soon as the request is read.
    ResetAtOnce,
    /// `302 Found` to this location (absolute or relative).
    Redirect(String),
    /// Honest, but ignores `Range` (always the whole file with 200).
    NoRange,
    /// Answers a range request with a `Content-Range` one byte off.
    WrongRange,
    /// Answers a range request with the right header and different bytes.
    RangeWrongContent,
    /// `attack` for the first `times` requests, then `then`.
    First {
        times: usize,
        attack: Box<Attack>,
        then: Box<Attack>,
    },
}

/// `status` for the first `times` requests, then honest.
pub fn fail_first(times: usize, status: u16) -> Attack {
    Attack::First {
        times,
        attack: Box::new(Attack::Status(status)),
        then: Box::new(Attack::Honest),
    }
}

/// `attack` once, then `then`.
pub fn once_then(attack: Attack, then: Attack) -> Attack {
    Attack::First {
        times: 1,
        attack: Box::new(attack),
        then: Box::new(then),
    }
}

/// Paths under this prefix are served honestly from the repository without the prefix
/// (the target of a same-scheme redirect).
pub const MOVED: &str = "/moved";

/// An HTTP/1.1 server on 127.0.0.1 that serves `root` and attacks chosen paths.
pub struct Adversary {
    pub base: Url,
    pub rules: Arc<Mutex<Vec<(String, Attack)>>>,
    pub log: Arc<Mutex<Vec<Request>>>,
}

/// What a request asked for.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    /// The first byte of a `Range: bytes=N-` header.
    pub range: Option<u64>,
}

/// A connection whose TCP socket can be reached (to reset it).
pub trait Conn: AsyncRead + AsyncWrite + Unpin + Send {
    fn tcp(&self) -> &TcpStream;
}
impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}
impl Conn for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

impl Adversary {
    /// Starts serving `root`, over TLS when `tls` is given (the certificate is for
    /// `localhost`).
    pub async fn start(root: PathBuf, tls: Option<tokio_rustls::TlsAcceptor>) -> Adversary {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = match tls {
            Some(_) => format!("https://localhost:{port}/"),
            None => format!("http://127.0.0.1:{port}/"),
        };
        let rules: Arc<Mutex<Vec<(String, Attack)>>> = Arc::default();
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let (r, l) = (rules.clone(), log.clone());
        // Bounded: a test makes at most a few dozen requests; the task dies with the
        // test's runtime.
        tokio::spawn(async move {
            for _ in 0..1000 {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (root, rules, log) = (root.clone(), r.clone(), l.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => serve(tcp, &root, &rules, &log).await,
                        Some(acceptor) => {
                            let accepted =
                                tokio::time::timeout(Duration::from_secs(5), acceptor.accept(tcp))
                                    .await;
                            if let Ok(Ok(stream)) = accepted {
                                serve(stream, &root, &rules, &log).await;
                            }
                        }
                    }
                });
            }
        });
        Adversary {
            base: Url::parse(&base).unwrap(),
            rules,
            log,
        }
    }

    /// From now on, requests whose path ends with `suffix` get `attack`.
    pub fn attack(&self, suffix: &str, attack: Attack) {
        self.rules
            .lock()
            .unwrap()
            .push((suffix.to_string(), attack));
    }

    /// How many requests had a path ending with `suffix`.
    pub fn requests(&self, suffix: &str) -> usize {
        self.ranges(suffix).len()
    }

    /// The ranges asked by the requests whose path ends with `suffix`, in order.
    pub fn ranges(&self, suffix: &str) -> Vec<Option<u64>> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|r| r.path.ends_with(suffix))
            .map(|r| r.range)
            .collect()
    }
}

/// Reads the request head (bounded in size and time): its path and range.
pub async fn read_request(conn: &mut impl Conn) -> Option<Request> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return None;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let range = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("range"))
        .and_then(|(_, v)| {
            v.trim()
                .strip_prefix("bytes=")?
                .strip_suffix('-')?
                .parse()
                .ok()
        });
    Some(Request { path, range })
}

pub fn pick_attack(rules: &Mutex<Vec<(String, Attack)>>, path: &str) -> Attack {
    if path.starts_with(MOVED) {
        return Attack::Honest;
    }
    let mut rules = rules.lock().unwrap();
    let Some((_, attack)) = rules
        .iter_mut()
        .rev()
        .find(|(s, _)| path.ends_with(s.as_str()))
    else {
        return Attack::Honest;
    };
    match attack {
        Attack::First {
            times,
            attack,
            then,
        } => {
            if *times > 0 {
                *times -= 1;
                (**attack).clone()
            } else {
                (**then).clone()
            }
        }
        other => other.clone(),
    }
}

/// Sends a TCP reset instead of a clean close.
pub fn reset(conn: impl Conn) {
    // SO_LINGER 0 makes close() send RST; with a zero timeout it does not block.
    #[allow(deprecated)]
    let _ = conn.tcp().set_linger(Some(Duration::ZERO));
    drop(conn);
}

/// Writes zeros until the client hangs up (at most 256 MiB or 60 s).
pub async fn endless(conn: &mut impl Conn) {
    let chunk = vec![0u8; 16 * 1024];
    let deadline = Instant::now() + Duration::from_secs(60);
    for _ in 0..16 * 1024 {
        if Instant::now() > deadline || conn.write_all(&chunk).await.is_err() {
            return;
        }
    }
}

/// Writes `bytes` one per second until done or the client hangs up (at most 120).
pub async fn trickle(conn: &mut impl Conn, bytes: &[u8]) {
    for b in bytes.iter().take(120) {
        if conn.write_all(&[*b]).await.is_err() || conn.flush().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The head of a `206` for the bytes of a `total`-byte file from `first` on.
pub fn partial_head(first: u64, total: u64) -> String {
    format!(
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {first}-{}/{total}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        total - 1,
        total - first
    )
}

pub fn ok_head(length: Option<u64>) -> String {
    match length {
        Some(n) => format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n"),
        None => "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string(),
    }
}

pub async fn serve(
    mut conn: impl Conn,
    root: &Path,
    rules: &Mutex<Vec<(String, Attack)>>,
    log: &Mutex<Vec<Request>>,
) {
    let Some(request) = read_request(&mut conn).await else {
        return;
    };
    log.lock().unwrap().push(request.clone());
    let path = request.path;
    let attack = pick_attack(rules, &path);
    let file = path.strip_prefix(MOVED).unwrap_or(&path);
    let body = repo_tool::serve::resolve(root, file).and_then(|p| std::fs::read(p).ok());
    let Some(body) = body else {
        let _ = conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
        let _ = conn.shutdown().await;
        return;
    };
    let len = body.len() as u64;
    // What an honest server answers: the whole file, or the part asked for.
    let (head, part) = match request.range {
        Some(first) if first > 0 && first < len => {
            (partial_head(first, len), &body[first as usize..])
        }
        _ => (ok_head(Some(len)), &body[..]),
    };
    let half = &part[..part.len() / 2];
    let _ = match attack {
        Attack::Honest => {
            let _ = conn.write_all(head.as_bytes()).await;
            conn.write_all(part).await
        }
        Attack::NoRange => {
            let _ = conn.write_all(ok_head(Some(len)).as_bytes()).await;
            conn.write_all(&body).await
        }
        Attack::WrongRange => {
            let first = request.range.unwrap_or(0) + 1;
            let _ = conn.write_all(partial_head(first, len).as_bytes()).await;
            conn.write_all(&body[first as usize..]).await
        }
        Attack::RangeWrongContent => {
            let evil: Vec<u8> = part.iter().map(|b| b ^ 0x5a).collect();
            let _ = conn.write_all(head.as_bytes()).await;
            conn.write_all(&evil).await
        }
        Attack::EndlessNoLength => {
            let _ = conn.write_all(ok_head(None).as_bytes()).await;
            endless(&mut conn).await;
            Ok(())
        }
        Attack::EndlessSmallLength => {
            let _ = conn.write_all(ok_head(Some(16)).as_bytes()).await;
            endless(&mut conn).await;
            Ok(())
        }
        Attack::EndlessHugeLength => {
            let _ = conn.write_all(ok_head(Some(1 << 40)).as_bytes()).await;
            endless(&mut conn).await;
            Ok(())
        }
        Attack::SlowHeaders => {
            trickle(&mut conn, head.as_bytes()).await;
            Ok(())
        }
        Attack::Trickle => {
            let _ = conn.write_all(head.as_bytes()).await;
            trickle(&mut conn, part).await;
            Ok(())
        }
        Attack::Truncated => {
            let _ = conn.write_all(head.as_bytes()).await;
            conn.write_all(half).await
        }
        Attack::WrongContent => {
            let evil: Vec<u8> = part.iter().map(|b| b ^ 0x5a).collect();
            let _ = conn.write_all(head.as_bytes()).await;
            conn.write_all(&evil).await
        }
        Attack::Status(code) => {
            let head =
                format!("HTTP/1.1 {code} Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            conn.write_all(head.as_bytes()).await
        }
        Attack::ResetMidBody => {
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(half).await;
            let _ = conn.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            return reset(conn);
        }
        Attack::ResetAtOnce => return reset(conn),
        Attack::Redirect(location) => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            conn.write_all(head.as_bytes()).await
        }
        Attack::First { .. } => unreachable!("resolved by pick_attack"),
    };
    let _ = conn.flush().await;
    let _ = conn.shutdown().await;
}

// TLS: a test CA made here.

pub struct TestCa {
    pub pem: String,
    pub acceptor: tokio_rustls::TlsAcceptor,
}

pub fn make_ca() -> TestCa {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let server = params.signed_by(&server_key, &issuer).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![server.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    TestCa {
        pem: ca.pem(),
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    }
}
