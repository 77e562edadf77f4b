//! Signing keys. The [`Signer`] trait lets an HSM or a cloud KMS sign without the
//! private key ever touching disk; [`FileKey`] is the implementation for PKCS#8 PEM
//! files (what `openssl genpkey` writes and reads).

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use updater::metadata::{Key, KeyId};

/// Why signing or loading a key failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file is not a PKCS#8 PEM private key of a supported type.
    #[error("not a supported PKCS#8 private key (ed25519 or ecdsa P-256): {0}")]
    Unsupported(String),
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Something that can sign canonical metadata bytes for one TUF key.
pub trait Signer: Send + Sync {
    /// The public key, as it appears in `root.keys` or `delegations.keys`.
    fn public_key(&self) -> &Key;
    /// The key id used in signatures and role key lists.
    fn key_id(&self) -> &KeyId;
    /// Signs `message` (canonical JSON of a `signed` object) in the key's scheme.
    ///
    /// # Errors
    /// [`KeyError::Signing`] when the signer cannot sign.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}

/// The supported kinds of file key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    /// Ed25519 (default): small, fast, deterministic signatures.
    #[default]
    Ed25519,
    /// ECDSA over NIST P-256 with SHA-256 (for HSM and cloud-KMS compatibility).
    EcdsaP256,
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    EcdsaP256(EcdsaKeyPair),
}

/// A private key held in memory, loaded from or saved as PKCS#8 PEM.
pub struct FileKey {
    pair: Pair,
    pkcs8: Vec<u8>,
    public: Key,
    key_id: KeyId,
}

/// DER prefix of a P-256 SubjectPublicKeyInfo; the 65-byte point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl FileKey {
    /// Generates a new key of `kind` from the operating system's random source.
    ///
    /// # Errors
    /// [`KeyError::Unsupported`] if the random source fails.
    pub fn generate(kind: KeyKind) -> Result<FileKey, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match kind {
            KeyKind::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
            KeyKind::EcdsaP256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            }
        }
        .map_err(|e| KeyError::Unsupported(e.to_string()))?;
        FileKey::from_pkcs8(pkcs8.as_ref())
    }

    /// Loads a key from PKCS#8 DER (v1 or v2), trying ed25519 then ECDSA P-256.
    ///
    /// # Errors
    /// [`KeyError::Unsupported`] for any other key.
    pub fn from_pkcs8(der: &[u8]) -> Result<FileKey, KeyError> {
        let pair = if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            Pair::Ed25519(pair)
        } else {
            let pair = EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                der,
                &SystemRandom::new(),
            )
            .map_err(|e| KeyError::Unsupported(e.to_string()))?;
            Pair::EcdsaP256(pair)
        };
        let public = match &pair {
            Pair::Ed25519(p) => Key::ed25519(p.public_key().as_ref()),
            Pair::EcdsaP256(p) => {
                let mut spki = P256_SPKI_PREFIX.to_vec();
                spki.extend_from_slice(p.public_key().as_ref());
                Key::ecdsa_p256_pem(&pem::encode(&pem::Pem::new("PUBLIC KEY", spki)))
            }
        };
        let key_id = public
            .key_id()
            .map_err(|e| KeyError::Unsupported(e.to_string()))?;
        let pkcs8 = match &pair {
            Pair::Ed25519(_) => ed25519_pkcs8_v1(der).unwrap_or_else(|| der.to_vec()),
            Pair::EcdsaP256(_) => der.to_vec(),
        };
        Ok(FileKey {
            pair,
            pkcs8,
            public,
            key_id,
        })
    }

    /// Loads a key from a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`KeyError::Unsupported`] when the text is not such a PEM.
    pub fn from_pem(text: &str) -> Result<FileKey, KeyError> {
        let block = pem::parse(text).map_err(|e| KeyError::Unsupported(e.to_string()))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(KeyError::Unsupported(format!(
                "PEM block is {:?}, expected \"PRIVATE KEY\" (PKCS#8)",
                block.tag()
            )));
        }
        FileKey::from_pkcs8(block.contents())
    }

    /// The private key as unencrypted PKCS#8 PEM. Keep it offline.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.clone()))
    }
}

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const ED25519_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// PKCS#8 v2 prefix (RFC 5958) as `ring` writes it; seed, then the public key follow.
const ED25519_V2_PREFIX: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Rewrites an Ed25519 PKCS#8 v2 document as v1, which OpenSSL 3 reads (it refuses
/// ring's v2). `None` if `der` is not one of the two forms.
fn ed25519_pkcs8_v1(der: &[u8]) -> Option<Vec<u8>> {
    let v1 = der.len() == 48 && der.starts_with(&ED25519_V1_PREFIX);
    let v2 = der.len() == 83 && der.starts_with(&ED25519_V2_PREFIX);
    if !(v1 || v2) {
        return None;
    }
    let seed = &der[16..48];
    let mut v1 = ED25519_V1_PREFIX.to_vec();
    v1.extend_from_slice(seed);
    Some(v1)
}

impl Signer for FileKey {
    fn public_key(&self) -> &Key {
        &self.public
    }

    fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
            Pair::EcdsaP256(p) => p
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| KeyError::Signing(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_pem_and_verify() {
        for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256] {
            let key = FileKey::generate(kind).unwrap();
            let again = FileKey::from_pem(&key.to_pem()).unwrap();
            assert_eq!(key.key_id(), again.key_id());
            let sig = again.sign(b"canonical").unwrap();
            let verifier = key.public_key().verifying_key().unwrap();
            assert!(verifier.verify(b"canonical", &sig));
            assert!(!verifier.verify(b"other", &sig));
        }
    }

    #[test]
    fn ed25519_keys_are_written_as_pkcs8_v1_and_keep_their_identity() {
        let key = FileKey::generate(KeyKind::Ed25519).unwrap();
        let block = pem::parse(key.to_pem()).unwrap();
        assert_eq!(block.contents().len(), 48);
        assert!(block.contents().starts_with(&ED25519_V1_PREFIX));
        let again = FileKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(again.key_id(), key.key_id());
    }

    #[test]
    fn refuses_non_pkcs8_pem() {
        let text = pem::encode(&pem::Pem::new("PUBLIC KEY", vec![1, 2, 3]));
        assert!(FileKey::from_pem(&text).is_err());
    }
}
