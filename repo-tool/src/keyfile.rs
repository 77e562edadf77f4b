//! Key files: the private key as PKCS#8 PEM (mode 0600; `openssl pkey` reads it),
//! optionally encrypted with a passphrase (PBES2: PBKDF2-HMAC-SHA256, 600,000
//! iterations, AES-256-CBC, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes), and
//! the public key as the TUF key JSON (`KEY.pub`), which is what `init` and `rotate`
//! take, so private keys never need to leave their holder's machine.

use std::io::Write;
use std::path::{Path, PathBuf};

use updater::metadata::Key;

use crate::error::RepoError;
use crate::signer::FileKey;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The public key file written next to private key `path`: `path` + `.pub`.
pub fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// PBKDF2 iterations for encrypted keys (OWASP's 2023 figure for HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Encrypts `key` with `passphrase` into an `ENCRYPTED PRIVATE KEY` PEM.
///
/// # Errors
/// [`RepoError::Invalid`] if encryption fails.
pub fn encrypted_pem(key: &FileKey, passphrase: &str) -> Result<String, RepoError> {
    use ring::rand::SecureRandom;
    let fail = |e: &dyn std::fmt::Display| RepoError::Invalid(format!("encrypting the key: {e}"));
    let rng = ring::rand::SystemRandom::new();
    let (mut salt, mut iv) = ([0u8; 16], [0u8; 16]);
    rng.fill(&mut salt).map_err(|e| fail(&e))?;
    rng.fill(&mut iv).map_err(|e| fail(&e))?;
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
            .map_err(|e| fail(&e))?;
    let der = pem::parse(key.to_pem()).map_err(|e| fail(&e))?;
    let info = pkcs8::PrivateKeyInfo::try_from(der.contents()).map_err(|e| fail(&e))?;
    let encrypted = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| fail(&e))?;
    Ok(pem::encode(&pem::Pem::new(
        "ENCRYPTED PRIVATE KEY",
        encrypted.as_bytes().to_vec(),
    )))
}

/// Writes `key` to `path` (private, mode 0600, never overwriting; encrypted when a
/// passphrase is given) and its public key to `path.pub`.
///
/// # Errors
/// [`RepoError::Io`], e.g. when `path` exists.
pub fn write_key_pair(
    path: &Path,
    key: &FileKey,
    passphrase: Option<&str>,
) -> Result<PathBuf, RepoError> {
    let text = match passphrase {
        Some(p) => encrypted_pem(key, p)?,
        None => key.to_pem(),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(text.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    let public = public_path(path);
    let mut json = serde_json::to_vec_pretty(crate::signer::Signer::public_key(key))
        .map_err(|e| RepoError::Invalid(e.to_string()))?;
    json.push(b'\n');
    updater::store::write_atomic(&public, &json).map_err(io(&public))?;
    Ok(public)
}

/// Reads a private key (PKCS#8 PEM). For an encrypted key, `passphrase` is asked
/// for the passphrase (from an environment variable or a prompt, never argv).
///
/// # Errors
/// [`RepoError::Invalid`] naming the file when it is not a supported key, or when the
/// passphrase is missing or wrong.
pub fn read_private_key(
    path: &Path,
    passphrase: &dyn Fn(&Path) -> Result<String, RepoError>,
) -> Result<FileKey, RepoError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let invalid =
        |e: &dyn std::fmt::Display| RepoError::Invalid(format!("{}: {e}", path.display()));
    let block = pem::parse(&text).map_err(|e| invalid(&e))?;
    if block.tag() != "ENCRYPTED PRIVATE KEY" {
        return FileKey::from_pem(&text).map_err(|e| invalid(&e));
    }
    let secret = passphrase(path)?;
    let encrypted =
        pkcs8::EncryptedPrivateKeyInfo::try_from(block.contents()).map_err(|e| invalid(&e))?;
    let der = encrypted
        .decrypt(secret.as_bytes())
        .map_err(|_| invalid(&"wrong passphrase (or a damaged key file)"))?;
    FileKey::from_pkcs8(der.as_bytes()).map_err(|e| invalid(&e))
}

/// A passphrase source for unencrypted keys only: asking for one is an error.
///
/// # Errors
/// Always, naming the file.
pub fn no_passphrase(path: &Path) -> Result<String, RepoError> {
    Err(RepoError::Invalid(format!(
        "{} is encrypted: give its passphrase in an environment variable named by --passphrase-env, or run on a terminal to be asked",
        path.display()
    )))
}

/// Reads a public key: a TUF key JSON file (`KEY.pub`), or a private key PEM from
/// which the public key is derived.
///
/// # Errors
/// [`RepoError::Invalid`] naming the file.
pub fn read_public_key(path: &Path) -> Result<Key, RepoError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    if let Ok(key) = serde_json::from_slice::<Key>(&bytes) {
        return Ok(key);
    }
    let key = read_private_key(path, &no_passphrase).map_err(|_| {
        RepoError::Invalid(format!(
            "{}: neither a TUF public key JSON file nor a PKCS#8 private key",
            path.display()
        ))
    })?;
    Ok(crate::signer::Signer::public_key(&key).clone())
}
