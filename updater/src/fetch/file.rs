//! `file://` URLs: a repository on a local disk, a mounted share or removable media.

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use url::Url;

use super::{ChunkFuture, ChunkSource, FetchError, FetchFuture, Fetcher, ResponseBody};

/// Reads `file://` URLs in 64 KiB chunks. A missing file is [`FetchError::NotFound`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FileFetcher;

struct FileChunks {
    file: tokio::fs::File,
    url: String,
}

impl ChunkSource for FileChunks {
    fn next_chunk(&mut self) -> ChunkFuture<'_> {
        Box::pin(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let n = self
                .file
                .read(&mut buf)
                .await
                .map_err(|e| FetchError::Transport {
                    url: self.url.clone(),
                    message: e.to_string(),
                })?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            Ok(Some(Bytes::from(buf)))
        })
    }
}

impl Fetcher for FileFetcher {
    fn fetch<'a>(&'a self, url: &'a Url, _max_length: u64) -> FetchFuture<'a> {
        Box::pin(async move {
            let path = url.to_file_path().map_err(|()| FetchError::Scheme {
                url: url.to_string(),
                reason: "not a local file URL".into(),
            })?;
            let file = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(FetchError::NotFound {
                        url: url.to_string(),
                    })
                }
                Err(e) => {
                    return Err(FetchError::Transport {
                        url: url.to_string(),
                        message: e.to_string(),
                    })
                }
            };
            let meta = file.metadata().await.map_err(|e| FetchError::Transport {
                url: url.to_string(),
                message: e.to_string(),
            })?;
            if meta.is_dir() {
                return Err(FetchError::NotFound {
                    url: url.to_string(),
                });
            }
            Ok(ResponseBody::new(
                Some(meta.len()),
                Box::new(FileChunks {
                    file,
                    url: url.to_string(),
                }),
            ))
        })
    }
}
