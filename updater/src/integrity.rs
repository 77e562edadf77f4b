//! The length-and-hashes check: the single place where bytes are compared with the
//! length and hashes that trusted metadata lists for them.
//!
//! Used for metadata files referenced by timestamp and snapshot (spec 5.5.2, 5.6.2)
//! and for target files (spec 5.7.3). It streams: feed chunks as they arrive, and
//! it fails as soon as more bytes arrive than the expected length, so an endless
//! response never gets further than one chunk past the limit.

use ring::digest;

use crate::metadata::Hashes;

/// Why bytes do not match what metadata says about them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// More bytes arrived than the metadata allows.
    #[error("longer than the {expected} bytes the metadata lists")]
    TooLong {
        /// The expected length.
        expected: u64,
    },
    /// The stream ended at a different length than the metadata lists.
    #[error("length is {found} bytes, metadata lists {expected}")]
    LengthMismatch {
        /// The expected length.
        expected: u64,
        /// The length received.
        found: u64,
    },
    /// A digest differs from the one the metadata lists.
    #[error("{algorithm} hash does not match the metadata")]
    HashMismatch {
        /// The algorithm whose digest differs.
        algorithm: String,
    },
    /// The metadata lists a hash this client cannot compute; every listed hash must
    /// be checked, so the file is refused.
    #[error("metadata lists hash algorithm {algorithm:?}, which this client does not support")]
    UnsupportedAlgorithm {
        /// The algorithm's name.
        algorithm: String,
    },
    /// An expected digest is not hex.
    #[error("metadata lists a {algorithm} hash that is not hex")]
    MalformedDigest {
        /// The algorithm's name.
        algorithm: String,
    },
    /// A [`BackgroundCheck`] was used again after it had failed: nothing more can
    /// be checked (a bug in the caller).
    #[error("the integrity check already failed and checks nothing more")]
    WorkerGone,
}

/// Streaming check of length and every listed hash.
pub struct IntegrityCheck {
    expected_len: Option<u64>,
    seen: u64,
    hashers: Vec<(String, Vec<u8>, digest::Context)>,
}

impl IntegrityCheck {
    /// Prepares a check. `None` for length or hashes means the metadata does not list them.
    ///
    /// # Errors
    /// [`IntegrityError::UnsupportedAlgorithm`] or [`IntegrityError::MalformedDigest`]
    /// when a listed hash cannot be checked.
    pub fn new(expected_len: Option<u64>, hashes: Option<&Hashes>) -> Result<Self, IntegrityError> {
        let mut hashers = Vec::new();
        for (name, hex_digest) in hashes.into_iter().flatten() {
            let algorithm = match name {
                "sha256" => &digest::SHA256,
                "sha384" => &digest::SHA384,
                "sha512" => &digest::SHA512,
                "sha512_256" | "sha512-256" => &digest::SHA512_256,
                _ => {
                    return Err(IntegrityError::UnsupportedAlgorithm {
                        algorithm: name.to_string(),
                    })
                }
            };
            let expected =
                hex::decode(hex_digest).map_err(|_| IntegrityError::MalformedDigest {
                    algorithm: name.to_string(),
                })?;
            hashers.push((name.to_string(), expected, digest::Context::new(algorithm)));
        }
        Ok(IntegrityCheck {
            expected_len,
            seen: 0,
            hashers,
        })
    }

    /// Feeds the next chunk.
    ///
    /// # Errors
    /// [`IntegrityError::TooLong`] as soon as the total exceeds the expected length.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), IntegrityError> {
        self.seen = self.seen.saturating_add(chunk.len() as u64);
        if let Some(expected) = self.expected_len {
            if self.seen > expected {
                return Err(IntegrityError::TooLong { expected });
            }
        }
        for (_, _, ctx) in &mut self.hashers {
            ctx.update(chunk);
        }
        Ok(())
    }

    /// Bytes fed so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Completes the check.
    ///
    /// # Errors
    /// [`IntegrityError::LengthMismatch`] or [`IntegrityError::HashMismatch`].
    pub fn finish(self) -> Result<(), IntegrityError> {
        if let Some(expected) = self.expected_len {
            if self.seen != expected {
                return Err(IntegrityError::LengthMismatch {
                    expected,
                    found: self.seen,
                });
            }
        }
        for (name, expected, ctx) in self.hashers {
            if ctx.finish().as_ref() != expected.as_slice() {
                return Err(IntegrityError::HashMismatch { algorithm: name });
            }
        }
        Ok(())
    }

    /// Checks a complete buffer in one go.
    ///
    /// # Errors
    /// As [`IntegrityCheck::new`], [`IntegrityCheck::update`] and [`IntegrityCheck::finish`].
    pub fn check_bytes(
        data: &[u8],
        expected_len: Option<u64>,
        hashes: Option<&Hashes>,
    ) -> Result<(), IntegrityError> {
        let mut check = IntegrityCheck::new(expected_len, hashes)?;
        check.update(data)?;
        check.finish()
    }

    /// Checks everything `reader` yields, in 64 KiB reads; it stops reading at the
    /// first byte past the expected length.
    ///
    /// # Errors
    /// The outer error is the reader's; the inner one says whether the bytes match
    /// (as [`IntegrityCheck::check_bytes`]).
    pub fn check_reader(
        mut reader: impl std::io::Read,
        expected_len: Option<u64>,
        hashes: Option<&Hashes>,
    ) -> std::io::Result<Result<(), IntegrityError>> {
        let mut check = match IntegrityCheck::new(expected_len, hashes) {
            Ok(check) => check,
            Err(e) => return Ok(Err(e)),
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(check.finish()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Err(e) = check.update(&buf[..n]) {
                return Ok(Err(e));
            }
        }
    }
}

/// A writer that feeds every byte to an [`IntegrityCheck`] before passing it on:
/// bytes past the expected length are refused (an error, and nothing of that write
/// reaches the inner writer), and [`IntegrityWriter::finish`] says whether what went
/// through has the expected length and hashes. Used where verified bytes are made,
/// not downloaded: the output of a delta.
pub struct IntegrityWriter<W> {
    inner: W,
    check: IntegrityCheck,
}

impl<W: std::io::Write> IntegrityWriter<W> {
    /// Wraps `inner`; `check` decides.
    pub fn new(inner: W, check: IntegrityCheck) -> Self {
        IntegrityWriter { inner, check }
    }

    /// Bytes passed on so far.
    pub fn seen(&self) -> u64 {
        self.check.seen()
    }

    /// Flushes the inner writer and completes the check; the inner writer comes
    /// back only when the bytes matched.
    ///
    /// # Errors
    /// The outer error is the flush's; the inner one the check's.
    pub fn finish(mut self) -> std::io::Result<Result<W, IntegrityError>> {
        self.inner.flush()?;
        Ok(self.check.finish().map(|()| self.inner))
    }
}

impl<W: std::io::Write> std::io::Write for IntegrityWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The whole buffer is checked and then written: a short write of the inner
        // writer would let the check run ahead of the bytes written.
        self.check.update(buf).map_err(std::io::Error::other)?;
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// An [`IntegrityCheck`] that runs on a thread of its own: the caller hands over
/// each chunk (shared, not copied) and goes on writing it while it is hashed, so a
/// large download uses two cores instead of hashing and writing in turn.
///
/// Same guarantees as the check it wraps, decided by the same code: the result of
/// [`BackgroundCheck::finish`] is exactly what [`IntegrityCheck::finish`] says over
/// every chunk handed over, in order. A failure found early (more bytes than the
/// expected length) is reported by a later [`BackgroundCheck::update`] or by
/// `finish`. At most [`BackgroundCheck::QUEUE`] chunks wait to be hashed.
pub struct BackgroundCheck {
    chunks: Option<std::sync::mpsc::SyncSender<bytes::Bytes>>,
    worker: Option<std::thread::JoinHandle<Result<IntegrityCheck, IntegrityError>>>,
    handed_over: u64,
}

impl BackgroundCheck {
    /// Chunks that may wait for the hashing thread before `update` blocks.
    pub const QUEUE: usize = 4;

    /// Starts `check` on a new thread.
    ///
    /// # Errors
    /// The operating system's error when it cannot start a thread.
    pub fn start(mut check: IntegrityCheck) -> std::io::Result<BackgroundCheck> {
        let (chunks, received) = std::sync::mpsc::sync_channel::<bytes::Bytes>(Self::QUEUE);
        let worker = std::thread::Builder::new()
            .name("integrity-check".into())
            .spawn(move || {
                for chunk in received {
                    check.update(&chunk)?;
                }
                Ok(check)
            })?;
        Ok(BackgroundCheck {
            chunks: Some(chunks),
            worker: Some(worker),
            handed_over: 0,
        })
    }

    /// Hands `chunk` to the check. Blocks while [`BackgroundCheck::QUEUE`] chunks wait.
    ///
    /// # Errors
    /// The check's failure, once it has failed (the chunk is then not checked).
    pub fn update(&mut self, chunk: bytes::Bytes) -> Result<(), IntegrityError> {
        self.handed_over = self.handed_over.saturating_add(chunk.len() as u64);
        let sent = self.chunks.as_ref().map(|chunks| chunks.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            // The worker stopped: it failed, and says why.
            _ => self.join().map(|_| ()),
        }
    }

    /// Bytes handed over so far.
    pub fn seen(&self) -> u64 {
        self.handed_over
    }

    /// Waits for every chunk to be hashed and completes the check.
    ///
    /// # Errors
    /// As [`IntegrityCheck::update`] and [`IntegrityCheck::finish`].
    pub fn finish(mut self) -> Result<(), IntegrityError> {
        self.join()?.finish()
    }

    /// Closes the queue and waits for the worker; its check, or its failure.
    fn join(&mut self) -> Result<IntegrityCheck, IntegrityError> {
        self.chunks = None;
        match self.worker.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            // Hashing does not panic; if it ever did, the panic goes on here, as it
            // would have in the caller's thread.
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            // Joined before, after a failure: that failure was returned then.
            None => Err(IntegrityError::WorkerGone),
        }
    }
}

impl Drop for BackgroundCheck {
    fn drop(&mut self) {
        // An abandoned check (a failed or restarted transfer): let the worker end.
        self.chunks = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// Hex SHA-512 of `data`.
pub fn sha512_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA512, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(pairs: &[(&str, String)]) -> Hashes {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn accepts_matching_length_and_all_hashes() {
        let h = hashes(&[
            ("sha256", sha256_hex(b"abc")),
            ("sha512", sha512_hex(b"abc")),
        ]);
        IntegrityCheck::check_bytes(b"abc", Some(3), Some(&h)).unwrap();
    }

    #[test]
    fn rejects_when_any_listed_hash_differs() {
        let h = hashes(&[
            ("sha256", sha256_hex(b"abc")),
            ("sha512", sha512_hex(b"abd")),
        ]);
        assert_eq!(
            IntegrityCheck::check_bytes(b"abc", Some(3), Some(&h)),
            Err(IntegrityError::HashMismatch {
                algorithm: "sha512".into()
            })
        );
    }

    #[test]
    fn rejects_unsupported_algorithms() {
        let h = hashes(&[("md5", "00".into())]);
        assert!(matches!(
            IntegrityCheck::new(None, Some(&h)),
            Err(IntegrityError::UnsupportedAlgorithm { .. })
        ));
    }

    #[test]
    fn stops_at_the_first_byte_past_the_length() {
        let mut c = IntegrityCheck::new(Some(4), None).unwrap();
        c.update(b"abcd").unwrap();
        assert_eq!(c.update(b"e"), Err(IntegrityError::TooLong { expected: 4 }));
    }

    #[test]
    fn the_writer_passes_on_only_bytes_within_the_length() {
        use std::io::Write;
        let h = hashes(&[("sha256", sha256_hex(b"abcd"))]);
        let mut out =
            IntegrityWriter::new(Vec::new(), IntegrityCheck::new(Some(4), Some(&h)).unwrap());
        out.write_all(b"ab").unwrap();
        assert!(out.write_all(b"cde").is_err(), "one byte too many");
        assert_eq!(out.seen(), 5);
        let mut out =
            IntegrityWriter::new(Vec::new(), IntegrityCheck::new(Some(4), Some(&h)).unwrap());
        out.write_all(b"abcd").unwrap();
        assert_eq!(out.finish().unwrap().unwrap(), b"abcd");
        let mut out =
            IntegrityWriter::new(Vec::new(), IntegrityCheck::new(Some(4), Some(&h)).unwrap());
        out.write_all(b"abce").unwrap();
        assert!(out.finish().unwrap().is_err(), "wrong hash");
    }

    #[test]
    fn the_reader_check_agrees_with_the_buffer_check() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let h = hashes(&[("sha256", sha256_hex(&data))]);
        let len = Some(data.len() as u64);
        assert_eq!(
            IntegrityCheck::check_reader(&data[..], len, Some(&h)).unwrap(),
            Ok(())
        );
        assert_eq!(
            IntegrityCheck::check_reader(&data[..1000], len, Some(&h)).unwrap(),
            IntegrityCheck::check_bytes(&data[..1000], len, Some(&h))
        );
        let longer = [&data[..], b"x"].concat();
        assert!(IntegrityCheck::check_reader(&longer[..], len, Some(&h))
            .unwrap()
            .is_err());
    }

    #[test]
    fn rejects_short_data() {
        assert!(matches!(
            IntegrityCheck::check_bytes(b"abc", Some(4), None),
            Err(IntegrityError::LengthMismatch { .. })
        ));
    }

    /// The background check decides as the inline one does, chunk for chunk.
    fn background(data: &[u8], chunk: usize, len: u64, h: &Hashes) -> Result<(), IntegrityError> {
        let mut check =
            BackgroundCheck::start(IntegrityCheck::new(Some(len), Some(h)).unwrap()).unwrap();
        for part in data.chunks(chunk) {
            check.update(bytes::Bytes::copy_from_slice(part))?;
        }
        assert_eq!(check.seen(), data.len() as u64);
        check.finish()
    }

    #[test]
    fn background_check_agrees_with_the_inline_check() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let good = hashes(&[("sha256", sha256_hex(&data)), ("sha512", sha512_hex(&data))]);
        let len = data.len() as u64;
        for chunk in [1, 1000, 16 * 1024, 300_000] {
            assert_eq!(background(&data, chunk, len, &good), Ok(()));
        }
        let mut changed = data.clone();
        changed[123_456] ^= 1;
        assert_eq!(
            background(&changed, 4096, len, &good),
            IntegrityCheck::check_bytes(&changed, Some(len), Some(&good))
        );
        assert!(background(&changed, 4096, len, &good).is_err());
        // Short and long, as the inline check says.
        assert_eq!(
            background(&data[..1000], 100, len, &good),
            Err(IntegrityError::LengthMismatch {
                expected: len,
                found: 1000
            })
        );
        assert_eq!(
            background(&data, 4096, 1000, &good),
            Err(IntegrityError::TooLong { expected: 1000 })
        );
    }

    #[test]
    fn background_check_reports_an_early_failure_on_a_later_update() {
        let h = hashes(&[("sha256", sha256_hex(b"abc"))]);
        let mut check =
            BackgroundCheck::start(IntegrityCheck::new(Some(3), Some(&h)).unwrap()).unwrap();
        check.update(bytes::Bytes::from_static(b"abcdef")).unwrap();
        // Sooner or later the worker has failed and says so; then nothing more is
        // checked.
        let mut failure = None;
        for _ in 0..10_000 {
            if let Err(e) = check.update(bytes::Bytes::from_static(b"x")) {
                failure = Some(e);
                break;
            }
        }
        assert_eq!(failure, Some(IntegrityError::TooLong { expected: 3 }));
        assert_eq!(check.finish(), Err(IntegrityError::WorkerGone));
    }

    #[test]
    fn an_abandoned_background_check_ends_its_thread() {
        let h = hashes(&[("sha256", sha256_hex(b"abc"))]);
        let mut check =
            BackgroundCheck::start(IntegrityCheck::new(Some(3), Some(&h)).unwrap()).unwrap();
        check.update(bytes::Bytes::from_static(b"ab")).unwrap();
        drop(check); // joins the worker; a hang here would hang the test
    }
}
