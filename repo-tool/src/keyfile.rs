//! Key files: the private key as PKCS#8 PEM (mode 0600; `openssl pkey` reads it) and
//! the public key as the TUF key JSON (`KEY.pub`), which is what `init` and `rotate`
//! take, so private keys never need to leave their holder's machine.

use std::io::Write;
use std::path::{Path, PathBuf};

use updater::metadata::Key;

use crate::repository::RepoError;
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

/// Writes `key` to `path` (private, mode 0600, never overwriting) and its public
/// key to `path.pub`.
///
/// # Errors
/// [`RepoError::Io`], e.g. when `path` exists.
pub fn write_key_pair(path: &Path, key: &FileKey) -> Result<PathBuf, RepoError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(key.to_pem().as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    let public = public_path(path);
    let mut json = serde_json::to_vec_pretty(crate::signer::Signer::public_key(key))
        .map_err(|e| RepoError::Invalid(e.to_string()))?;
    json.push(b'\n');
    updater::store::write_atomic(&public, &json).map_err(io(&public))?;
    Ok(public)
}

/// Reads a private key (PKCS#8 PEM).
///
/// # Errors
/// [`RepoError::Invalid`] naming the file when it is not a supported key.
pub fn read_private_key(path: &Path) -> Result<FileKey, RepoError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    FileKey::from_pem(&text).map_err(|e| RepoError::Invalid(format!("{}: {e}", path.display())))
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
    let key = read_private_key(path).map_err(|_| {
        RepoError::Invalid(format!(
            "{}: neither a TUF public key JSON file nor a PKCS#8 private key",
            path.display()
        ))
    })?;
    Ok(crate::signer::Signer::public_key(&key).clone())
}
