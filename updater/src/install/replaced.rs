//! Executables renamed aside while running (Windows, see `platform::replace_exe`):
//! `.{name}.replaced-…` files. They are removed once nothing runs them, and one is
//! renamed back when a crash between the two renames of a replace left no executable.

use std::fs;

use super::journal::Loaded;
use super::platform::REPLACED_SUFFIX;
use super::{hidden_name, sha256_if_exists, Installer, Layout};

impl Installer {
    /// When the executable is missing and a file renamed aside from it holds the old or
    /// the new version of the pending install (by SHA-256), renames that file back, so
    /// that start-up resolves the install as if the crash had come before the replace.
    /// Best effort: failures are logged, and nothing is deleted here.
    pub(super) fn restore_replaced(&self, layout: &Layout) {
        if layout.exe.exists() {
            return;
        }
        let Ok(Loaded::Record(record)) = self.journal().load() else {
            return;
        };
        let prefix = hidden_name(layout.exe.file_name().unwrap_or_default(), REPLACED_SUFFIX);
        let Ok(entries) = fs::read_dir(&layout.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name
                .as_encoded_bytes()
                .starts_with(prefix.as_encoded_bytes())
            {
                continue;
            }
            let path = entry.path();
            let Ok(Some(sha)) = sha256_if_exists(&path) else {
                continue;
            };
            if sha != record.old_sha256 && sha != record.new_sha256 {
                continue;
            }
            match fs::rename(&path, &layout.exe) {
                Ok(()) => {
                    tracing::warn!(file = %path.display(), exe = %layout.exe.display(), "a replace was interrupted; the executable was renamed back");
                    return;
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot rename an interrupted replace back; rename it to the executable's name by hand")
                }
            }
        }
    }
}
