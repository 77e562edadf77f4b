//! Loading keys for a command: passphrases of encrypted private keys, private keys
//! as signers, and public key files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use repo_tool::keyfile::{read_private_key, read_public_key};
use repo_tool::signer::{FileKey, Signer};

/// Where passphrases come from: the variable named by --passphrase-env, else a
/// prompt on the terminal (no echo); never argv.
pub(crate) struct Passphrases {
    pub(crate) env: Option<String>,
}

impl Passphrases {
    fn get(&self, prompt: &str) -> std::result::Result<String, repo_tool::error::RepoError> {
        use std::io::IsTerminal;
        let fail = |m: String| repo_tool::error::RepoError::Invalid(m);
        if let Some(var) = &self.env {
            return std::env::var(var)
                .map_err(|_| fail(format!("environment variable {var} is not set")));
        }
        if !std::io::stdin().is_terminal() {
            return Err(fail(format!(
                "{prompt}: no terminal to ask on; use --passphrase-env VAR"
            )));
        }
        rpassword::prompt_password(format!("{prompt}: "))
            .map_err(|e| fail(format!("reading the passphrase: {e}")))
    }

    pub(crate) fn for_key(
        &self,
        path: &Path,
    ) -> std::result::Result<String, repo_tool::error::RepoError> {
        self.get(&format!("passphrase for {}", path.display()))
    }

    pub(crate) fn new_passphrase(&self) -> Result<String> {
        let first = self.get("new passphrase")?;
        if first.len() < 8 {
            bail!("the passphrase must have at least 8 characters");
        }
        if self.env.is_none() && self.get("repeat the passphrase")? != first {
            bail!("the passphrases differ; nothing was written");
        }
        Ok(first)
    }
}

pub(crate) fn keys(paths: &[PathBuf], passphrases: &Passphrases) -> Result<Vec<FileKey>> {
    paths
        .iter()
        .map(|p| Ok(read_private_key(p, &|path| passphrases.for_key(path))?))
        .collect()
}

pub(crate) fn signers(keys: &[FileKey]) -> Vec<&dyn Signer> {
    keys.iter().map(|k| k as &dyn Signer).collect()
}

pub(crate) fn public_keys(paths: &[PathBuf]) -> Result<Vec<updater::metadata::Key>> {
    paths.iter().map(|p| Ok(read_public_key(p)?)).collect()
}
