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
    fn rejects_short_data() {
        assert!(matches!(
            IntegrityCheck::check_bytes(b"abc", Some(4), None),
            Err(IntegrityError::LengthMismatch { .. })
        ));
    }
}
