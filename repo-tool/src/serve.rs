//! A minimal static file server for previewing a published repository on loopback.
//!
//! Plain HTTP or HTTPS. GET and HEAD only; paths are percent-decoded and refused if any segment is `..`
//! or empty, so nothing outside the served directory is reachable. For production,
//! publish the directory to any static web server or CDN instead.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A server running in the background; stops when dropped.
pub struct StaticServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    scheme: &'static str,
}

impl StaticServer {
    /// Serves `root` on `addr` (use port 0 for any free port) from the current runtime.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(root: &Path, addr: SocketAddr) -> std::io::Result<StaticServer> {
        StaticServer::spawn(root, addr, None).await
    }

    /// Serves `root` over HTTPS with `tls` (certificate chain and key) on `addr`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start_tls(
        root: &Path,
        addr: SocketAddr,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<StaticServer> {
        StaticServer::spawn(root, addr, Some(TlsAcceptor::from(tls))).await
    }

    async fn spawn(
        root: &Path,
        addr: SocketAddr,
        tls: Option<TlsAcceptor>,
    ) -> std::io::Result<StaticServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let root = root.to_path_buf();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let root = root.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_connection(TokioIo::new(stream), root).await;
                            }
                        }
                        None => serve_connection(TokioIo::new(stream), root).await,
                    }
                });
            }
        });
        Ok(StaticServer { addr, task, scheme })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/` or `https://ADDR/`.
    pub fn base_url(&self) -> String {
        format!("{}://{}/", self.scheme, self.addr)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_connection<S>(io: TokioIo<S>, root: PathBuf)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let root = root.clone();
        async move { Ok::<_, Infallible>(respond(&root, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(code.to_string())));
    *response.status_mut() = code;
    response
}

/// Maps a request path to a file below `root`, refusing anything that could escape it.
/// Each `/`-separated segment is percent-decoded on its own, as clients encode them
/// (a role or target name with spaces, `#` or non-ASCII text is found under its own
/// name); a segment that decodes to a separator, `.` or `..` is refused. On Windows a
/// segment must also be a portable file name ([`updater::names::check_file_name`]):
/// `C:x` is relative to a drive, `a:b` names an alternate data stream and `NUL` a
/// device, none of them a file below `root`.
pub fn resolve(root: &Path, request_path: &str) -> Option<PathBuf> {
    resolve_for(root, request_path, cfg!(windows))
}

fn resolve_for(root: &Path, request_path: &str, windows: bool) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for raw in request_path.trim_start_matches('/').split('/') {
        let segment = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?;
        if segment.is_empty()
            || segment == "."
            || segment == ".."
            || segment.contains(['/', '\\', '\0'])
            || (windows && updater::names::check_file_name(&segment).is_err())
        {
            return None;
        }
        path.push(segment.as_ref());
    }
    Some(path)
}

async fn respond(root: &Path, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let Some(path) = resolve(root, req.uri().path()) else {
        return status(StatusCode::NOT_FOUND);
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let body = if req.method() == Method::HEAD {
                Bytes::new()
            } else {
                Bytes::from(bytes)
            };
            Response::new(Full::new(body))
        }
        Err(_) => status(StatusCode::NOT_FOUND),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_that_escape_the_root() {
        let root = Path::new("/srv/repo");
        assert_eq!(
            resolve(root, "/metadata/1.root.json").unwrap(),
            root.join("metadata/1.root.json")
        );
        for bad in [
            "/../etc/passwd",
            "/metadata/%2e%2e/x",
            "/a//b",
            "/",
            "/x/./y",
            "/metadata/a%2F..%2F..%2Fx",
            "/metadata/%2E%2E",
            "/targets/a%5C..%5Cx",
            "/targets/a%00",
        ] {
            assert!(resolve(root, bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn finds_names_with_special_characters_under_their_own_names() {
        let root = Path::new("/srv/repo");
        assert_eq!(
            resolve(root, "/metadata/1.docs%20%28en%29%20r%C3%A9sum%C3%A9.json").unwrap(),
            root.join("metadata")
                .join("1.docs (en) r\u{e9}sum\u{e9}.json")
        );
        assert_eq!(
            resolve_for(root, "/targets/dir/abc.a%23b%3Fc%2541", false).unwrap(),
            root.join("targets").join("dir").join("abc.a#b?c%41")
        );
        // Windows forbids `?` in a file name: such a request names no file there.
        assert!(resolve_for(root, "/targets/dir/abc.a%23b%3Fc%2541", true).is_none());
    }

    #[test]
    fn on_windows_refuses_drive_stream_and_device_names() {
        let root = Path::new("/srv/repo");
        for bad in [
            "/targets/C%3Aevil",
            "/targets/a%3Ab",
            "/targets/NUL",
            "/targets/com1.txt",
            "/targets/x%20",
        ] {
            assert!(resolve_for(root, bad, true).is_none(), "{bad}");
            assert!(resolve_for(root, bad, false).is_some(), "{bad} on Unix");
        }
        assert!(resolve_for(root, "/targets/report%20(old)", true).is_some());
    }
}
