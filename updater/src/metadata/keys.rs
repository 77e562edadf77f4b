//! Public keys as TUF metadata writes them, and signature verification with `ring`.
//!
//! Supported: `ed25519` (hex or PEM), ECDSA over P-256 and P-384 (PEM
//! SubjectPublicKeyInfo or hex SEC1 point, signatures in DER), and RSA with
//! `rsassa-pss-sha256/384/512` or `rsa-pkcs1v15-sha256/384/512` (PEM
//! SubjectPublicKeyInfo). Keys of other types or schemes parse fine but never
//! verify a signature, so they do not count towards any threshold.

use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::{canonical_bytes, ParseError, Unrecognized};

/// A key id: by convention the hex SHA-256 of the key's canonical JSON, but
/// treated as an opaque name (repositories in the wild use other conventions).
pub type KeyId = String;

/// A public key entry of `root.keys` or `delegations.keys` (spec 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// `ed25519`, `ecdsa`, `ecdsa-sha2-nistp256`, `rsa`, ...
    pub keytype: String,
    /// The signature scheme, e.g. `ed25519`, `ecdsa-sha2-nistp256`, `rsassa-pss-sha256`.
    pub scheme: String,
    /// Key values; `public` holds the public key.
    pub keyval: BTreeMap<String, Value>,
    /// Fields this implementation does not know (e.g. `x-tuf-on-ci-keyowner`).
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

/// Why a key cannot be used for verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key type or scheme is not one this client implements.
    #[error("unsupported key type {keytype:?} with scheme {scheme:?}")]
    Unsupported {
        /// The key type.
        keytype: String,
        /// The scheme.
        scheme: String,
    },
    /// The public key value is malformed.
    #[error("malformed public key: {0}")]
    Malformed(String),
}

/// A key ready to verify signatures: the `ring` algorithm and the raw public key.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    algorithm: &'static dyn VerificationAlgorithm,
    public: Vec<u8>,
}

impl VerifyingKey {
    /// The raw public key bytes: two keys with equal bytes and algorithm are one key.
    pub fn public_bytes(&self) -> &[u8] {
        &self.public
    }

    /// True when `sig` is a valid signature over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(self.algorithm, &self.public)
            .verify(message, sig)
            .is_ok()
    }
}

impl Key {
    /// An `ed25519` key from its 32 raw public bytes, as written by securesystemslib.
    pub fn ed25519(public: &[u8]) -> Key {
        Key {
            keytype: "ed25519".into(),
            scheme: "ed25519".into(),
            keyval: BTreeMap::from([("public".into(), Value::String(hex::encode(public)))]),
            unrecognized: Unrecognized::new(),
        }
    }

    /// An ECDSA P-256 key from a PEM SubjectPublicKeyInfo.
    pub fn ecdsa_p256_pem(pem: &str) -> Key {
        Key {
            keytype: "ecdsa".into(),
            scheme: "ecdsa-sha2-nistp256".into(),
            keyval: BTreeMap::from([("public".into(), Value::String(pem.into()))]),
            unrecognized: Unrecognized::new(),
        }
    }

    /// The conventional key id: hex SHA-256 of the key's canonical JSON.
    ///
    /// # Errors
    /// When the key cannot be canonicalised (it holds a float).
    pub fn key_id(&self) -> Result<KeyId, ParseError> {
        let bytes = canonical_bytes(self)?;
        Ok(hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            &bytes,
        )))
    }

    /// The `public` key value, if it is a string.
    pub fn public_value(&self) -> Option<&str> {
        self.keyval.get("public").and_then(Value::as_str)
    }

    /// Prepares the key for verification.
    ///
    /// # Errors
    /// [`KeyError::Unsupported`] for unknown type/scheme pairs, [`KeyError::Malformed`]
    /// when the public value cannot be decoded.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let unsupported = || KeyError::Unsupported {
            keytype: self.keytype.clone(),
            scheme: self.scheme.clone(),
        };
        let public = self
            .public_value()
            .ok_or_else(|| KeyError::Malformed("keyval.public is missing".into()))?;
        let (algorithm, family): (&'static dyn VerificationAlgorithm, Family) =
            match (self.keytype.as_str(), self.scheme.as_str()) {
                ("ed25519", "ed25519") => (&signature::ED25519, Family::Ed25519),
                ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                    (&signature::ECDSA_P256_SHA256_ASN1, Family::Ec)
                }
                ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
                    (&signature::ECDSA_P384_SHA384_ASN1, Family::Ec)
                }
                ("rsa", "rsassa-pss-sha256") => (&signature::RSA_PSS_2048_8192_SHA256, Family::Rsa),
                ("rsa", "rsassa-pss-sha384") => (&signature::RSA_PSS_2048_8192_SHA384, Family::Rsa),
                ("rsa", "rsassa-pss-sha512") => (&signature::RSA_PSS_2048_8192_SHA512, Family::Rsa),
                ("rsa", "rsa-pkcs1v15-sha256") => {
                    (&signature::RSA_PKCS1_2048_8192_SHA256, Family::Rsa)
                }
                ("rsa", "rsa-pkcs1v15-sha384") => {
                    (&signature::RSA_PKCS1_2048_8192_SHA384, Family::Rsa)
                }
                ("rsa", "rsa-pkcs1v15-sha512") => {
                    (&signature::RSA_PKCS1_2048_8192_SHA512, Family::Rsa)
                }
                _ => return Err(unsupported()),
            };
        let public = decode_public(public, family)?;
        Ok(VerifyingKey { algorithm, public })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Ed25519,
    Ec,
    Rsa,
}

const OID_ED25519: &str = "1.3.101.112";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Decodes a public key value: PEM SubjectPublicKeyInfo, or hex of the raw key.
fn decode_public(value: &str, family: Family) -> Result<Vec<u8>, KeyError> {
    let trimmed = value.trim();
    if trimmed.starts_with("-----BEGIN") {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(trimmed.as_bytes())
            .map_err(|e| KeyError::Malformed(format!("PEM: {e}")))?;
        return spki_key_bytes(der.as_ref(), family);
    }
    if family == Family::Rsa {
        return Err(KeyError::Malformed(
            "an RSA public key must be a PEM SubjectPublicKeyInfo".into(),
        ));
    }
    hex::decode(trimmed).map_err(|e| KeyError::Malformed(format!("hex: {e}")))
}

/// Extracts the key bytes `ring` expects from a DER SubjectPublicKeyInfo, checking
/// that the algorithm matches the key type.
fn spki_key_bytes(der: &[u8], family: Family) -> Result<Vec<u8>, KeyError> {
    let info = spki::SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|e| KeyError::Malformed(format!("SubjectPublicKeyInfo: {e}")))?;
    let oid = info.algorithm.oid.to_string();
    let expected = match family {
        Family::Ed25519 => OID_ED25519,
        Family::Ec => OID_EC_PUBLIC_KEY,
        Family::Rsa => OID_RSA_ENCRYPTION,
    };
    if oid != expected {
        return Err(KeyError::Malformed(format!(
            "SubjectPublicKeyInfo algorithm {oid} does not match the key type"
        )));
    }
    info.subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| KeyError::Malformed("public key bit string is not byte aligned".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};

    #[test]
    fn verifies_ed25519_hex_keys() {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let key = Key::ed25519(pair.public_key().as_ref())
            .verifying_key()
            .unwrap();
        let sig = pair.sign(b"msg");
        assert!(key.verify(b"msg", sig.as_ref()));
        assert!(!key.verify(b"other", sig.as_ref()));
    }

    #[test]
    fn verifies_ecdsa_p256_pem_keys() {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        // SubjectPublicKeyInfo for P-256: fixed 26-byte prefix + 65-byte point.
        let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
        der.extend_from_slice(pair.public_key().as_ref());
        let pem_text = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64_encode(&der)
        );
        let key = Key::ecdsa_p256_pem(&pem_text).verifying_key().unwrap();
        let sig = pair.sign(&rng, b"msg").unwrap();
        assert!(key.verify(b"msg", sig.as_ref()));
        assert!(!key.verify(b"msg2", sig.as_ref()));
    }

    #[test]
    fn unknown_types_are_unsupported_not_fatal() {
        let mut k = Key::ed25519(&[0; 32]);
        k.keytype = "sphincs".into();
        assert!(matches!(
            k.verifying_key(),
            Err(KeyError::Unsupported { .. })
        ));
    }

    #[test]
    fn key_type_must_match_spki_algorithm() {
        // An Ed25519 SPKI offered as an ECDSA key is refused.
        let der = hex::decode(
            "302a300506032b6570032100d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        )
        .unwrap();
        assert!(spki_key_bytes(&der, Family::Ec).is_err());
        assert_eq!(spki_key_bytes(&der, Family::Ed25519).unwrap().len(), 32);
    }

    #[test]
    fn key_id_is_sha256_of_canonical_json() {
        let k = Key::ed25519(&[1; 32]);
        let expected = hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            &canonical_bytes(&k).unwrap(),
        ));
        assert_eq!(k.key_id().unwrap(), expected);
    }

    fn base64_encode(data: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in data.chunks(3) {
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= c.len() {
                    s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }
}
