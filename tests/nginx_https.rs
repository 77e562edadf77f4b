//! End to end over a real web server: Debian's nginx, started here on a loopback port
//! with a certificate from a test CA made here, serves a repository published by
//! repo-tool over HTTPS. The client refreshes and downloads through it, and resumes a
//! download cut in the middle with a range request that nginx answers with 206.
//!
//! nginx must be installed (`/usr/sbin/nginx`, or the path in `UPDATER_NGINX`):
//! `bash scripts/test.sh` installs it. Without it this test fails; it never skips.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures: a failed setup is a failed test

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use repo_tool::sandbox::Sandbox;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use updater::fetch::{DefaultFetcher, HttpOptions, ProxyConfig};
use updater::{Client, ClientConfig};
use url::Url;

const TARGET: &str = "app/v1.bin";
/// Large enough that a cut after [`CUT_AFTER`] bytes lands in the middle of the body.
const TARGET_LEN: usize = 512 * 1024;
const CUT_AFTER: usize = 96 * 1024;

/// A running nginx, stopped (killed) on drop.
struct Nginx {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn binary() -> PathBuf {
        let path = std::env::var_os("UPDATER_NGINX")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
        assert!(
            path.exists(),
            "nginx is not installed at {}: run `bash scripts/test.sh`, which installs \
             Debian's nginx-light (or set UPDATER_NGINX to an nginx binary)",
            path.display()
        );
        path
    }

    /// Starts nginx serving `root` over HTTPS on a free loopback port, with its
    /// configuration, logs and temporary files all in `dir`.
    fn start(root: &Path, dir: &Path, cert: &Path, key: &Path) -> Nginx {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.display();
        let conf = format!(
            "daemon off;\n\
             master_process off;\n\
             worker_processes 1;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               access_log {d}/access.log;\n\
               client_body_temp_path {d}/client_body;\n\
               proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n\
               uwsgi_temp_path {d}/uwsgi;\n\
               scgi_temp_path {d}/scgi;\n\
               default_type application/octet-stream;\n\
               types {{ application/json json; }}\n\
               server {{\n\
                 listen 127.0.0.1:{port} ssl;\n\
                 server_name localhost;\n\
                 ssl_certificate {cert};\n\
                 ssl_certificate_key {key};\n\
                 root {root};\n\
               }}\n\
             }}\n",
            cert = cert.display(),
            key = key.display(),
            root = root.display(),
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(Nginx::binary())
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .spawn()
            .expect("starting nginx");
        let mut nginx = Nginx {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        nginx.wait_until_listening();
        nginx
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        // Bounded by the deadline.
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("nginx exited with {status}:\n{}", self.error_log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not listen within 10 s:\n{}", self.error_log());
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
}

/// Writes a test CA (`ca.pem`) and a server certificate for `localhost` issued by it
/// (`server.pem`, `server.key`) into `dir`.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let server = params.signed_by(&server_key, &issuer).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2)
}

/// A TCP relay on loopback to `upstream`. Its first connection is cut after
/// `cut_after` bytes from the server; later connections pass everything.
async fn cutting_relay(upstream: u16, cut_after: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let first = Arc::new(AtomicBool::new(true));
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let cut = first.swap(false, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                if cut {
                    relay_then_cut(client, server, cut_after).await;
                } else {
                    let (mut client, mut server) = (client, server);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    port
}

/// Relays both ways until `limit` bytes came from the server, then drops both
/// connections (no TLS close_notify: the client sees a cut transfer).
async fn relay_then_cut(client: TcpStream, server: TcpStream, limit: usize) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut sent = 0usize;
    let mut buf = vec![0u8; 8192];
    // Bounded: stops after `limit` bytes or at the end of the server's stream.
    while sent < limit {
        let want = buf.len().min(limit - sent);
        match server_read.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                sent += n;
            }
        }
    }
    upstream.abort();
}

/// Publishes a repository holding `TARGET` in `project`; returns the tree to serve.
fn publish(project: &Path, content: &[u8]) -> PathBuf {
    let now = OffsetDateTime::now_utc();
    let repo = Sandbox::create(project, &[], now).unwrap();
    repo.add_file(TARGET, content, now).unwrap();
    repo.published_dir()
}

fn client_config(metadata_dir: &Path, port: u16) -> ClientConfig {
    let base = Url::parse(&format!("https://localhost:{port}/")).unwrap();
    let mut config = ClientConfig::new(
        metadata_dir,
        base.join("metadata/").unwrap(),
        base.join("targets/").unwrap(),
    );
    config.transfer.retry_delay = Duration::from_millis(100);
    config
}

fn fetcher(ca_file: &Path) -> Arc<DefaultFetcher> {
    let options = HttpOptions {
        ca_file: Some(ca_file.to_path_buf()),
        proxy: ProxyConfig::Direct,
        ..HttpOptions::default()
    };
    Arc::new(DefaultFetcher::new(options).unwrap())
}

#[tokio::test]
#[cfg_attr(
    windows,
    ignore = "starts Debian nginx, a Linux program the Wine process cannot start"
)]
async fn refresh_download_and_resumed_download_through_nginx_over_https() {
    let work = tempfile::tempdir().unwrap();
    let nginx_dir = work.path().join("nginx");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    // Not compressible, so the cut lands in the body whatever the server does.
    let content: Vec<u8> = (0..TARGET_LEN as u64)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let repo_dir = publish(&work.path().join("repo"), &content);
    let (ca, cert, key) = make_certificates(&nginx_dir);
    let nginx = Nginx::start(&repo_dir, &nginx_dir, &cert, &key);

    let metadata_dir = work.path().join("client");
    Client::init(
        &metadata_dir,
        &std::fs::read(repo_dir.join("metadata/1.root.json")).unwrap(),
    )
    .unwrap();

    // Refresh and download straight from nginx.
    let mut client = Client::new(client_config(&metadata_dir, nginx.port), fetcher(&ca)).unwrap();
    client.refresh().await.unwrap();
    let info = client.target_info(TARGET).await.unwrap();
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let path = client
        .download_target(TARGET, &info, &out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content);
    // Version 1 is the sandbox's empty first release, version 2 adds the target.
    assert_eq!(
        client.trusted().targets("targets").unwrap().common.version,
        2
    );

    // Through a relay that cuts the first connection in the middle of the body: the
    // client resumes with a range request, and nginx answers 206 with the rest.
    let relay = cutting_relay(nginx.port, CUT_AFTER).await;
    let resumed_out = work.path().join("resumed");
    std::fs::create_dir_all(&resumed_out).unwrap();
    let client = Client::new(client_config(&metadata_dir, relay), fetcher(&ca)).unwrap();
    let path = client
        .download_target(TARGET, &info, &resumed_out, None)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), content);

    let log = nginx.access_log();
    let target_lines: Vec<&str> = log.lines().filter(|l| l.contains("/targets/")).collect();
    assert!(
        target_lines.iter().any(|l| l.contains("\" 206 ")),
        "no 206 for a target in nginx's access log:\n{log}"
    );
    assert!(
        target_lines.iter().any(|l| l.contains("\" 200 ")),
        "no 200 for a target in nginx's access log:\n{log}"
    );
}
