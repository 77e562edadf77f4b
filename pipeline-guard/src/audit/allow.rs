//! The allow-list: findings a reviewer accepted, each with a reason.
//!
//! A JSON file, either an array of entries or `{"allow": [entries]}`:
//!
//! ```json
//! {"allow": [
//!   {"file": "Makefile", "rule": "GUARD006", "line": 12,
//!    "reason": "perl -pi filter reviewed in #41"},
//!   {"file": "ci/release.sh", "rule": "GUARD001", "command": "python3 -c 'import sys",
//!    "reason": "version probe, no network"}
//! ]}
//! ```
//!
//! `file` matches the reported path exactly or as a trailing path (`ci/a.sh` matches
//! `repo/ci/a.sh`); `line` and `command` (a substring of the matched command) narrow it
//! further; with neither, every finding of that rule in that file is allowed. A missing or
//! empty `reason` and unknown fields are errors, so a typo never silently allows more.

use super::FileFinding;
use serde::Deserialize;
use std::path::Path;

/// One accepted finding (or set of findings).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// The file, as reported (relative path with `/`), or a trailing part of it.
    pub file: String,
    /// The rule id (`GUARD001` …).
    pub rule: String,
    /// Only the finding on this line.
    #[serde(default)]
    pub line: Option<usize>,
    /// Only findings whose command contains this text.
    #[serde(default)]
    pub command: Option<String>,
    /// Why it is accepted (required, non-empty).
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AllowFile {
    List(Vec<AllowEntry>),
    Object { allow: Vec<AllowEntry> },
}

/// Errors reading an allow-list.
#[derive(Debug, thiserror::Error)]
pub enum AllowError {
    /// The file could not be read.
    #[error("allow-list {path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid allow-list.
    #[error("allow-list {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl AllowEntry {
    /// Whether this entry accepts `f`.
    pub fn matches(&self, f: &FileFinding) -> bool {
        let file_ok = f.file == self.file
            || f.file
                .strip_suffix(self.file.as_str())
                .is_some_and(|p| p.ends_with('/'));
        file_ok
            && f.finding.rule == self.rule
            && self.line.is_none_or(|l| l == f.finding.line)
            && self
                .command
                .as_deref()
                .is_none_or(|c| f.finding.command.contains(c))
    }
}

/// Parses an allow-list; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<Vec<AllowEntry>, AllowError> {
    let invalid = |message: String| AllowError::Invalid {
        path: path.to_string(),
        message,
    };
    let entries = match serde_json::from_str::<AllowFile>(text) {
        Ok(AllowFile::List(v)) | Ok(AllowFile::Object { allow: v }) => v,
        Err(_) => {
            // Re-parse as a list to give serde's precise message (unknown field, line).
            return Err(invalid(
                match serde_json::from_str::<Vec<AllowEntry>>(text) {
                    Err(e) => e.to_string(),
                    Ok(_) => "expected a JSON array of entries or {\"allow\": [...]}".into(),
                },
            ));
        }
    };
    for (i, e) in entries.iter().enumerate() {
        if e.reason.trim().is_empty() {
            return Err(invalid(format!(
                "entry {} ({} {}) has no reason: every accepted finding must say why",
                i + 1,
                e.file,
                e.rule
            )));
        }
        if crate::detect::rules::name(&e.rule).is_none() {
            return Err(invalid(format!(
                "entry {}: unknown rule {:?}",
                i + 1,
                e.rule
            )));
        }
    }
    Ok(entries)
}

/// Reads and parses an allow-list file.
pub fn load(path: &Path) -> Result<Vec<AllowEntry>, AllowError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| AllowError::Read {
        path: name.clone(),
        source,
    })?;
    parse(&text, &name)
}

/// Splits findings into (not allowed, allowed with the entry's reason), and lists the
/// entries that matched nothing (stale).
pub fn apply(
    findings: Vec<FileFinding>,
    entries: &[AllowEntry],
) -> (
    Vec<FileFinding>,
    Vec<(FileFinding, String)>,
    Vec<AllowEntry>,
) {
    let mut used = vec![false; entries.len()];
    let mut kept = Vec::new();
    let mut allowed = Vec::new();
    for f in findings {
        match entries.iter().position(|e| e.matches(&f)) {
            Some(i) => {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                let reason = entries.get(i).map(|e| e.reason.clone()).unwrap_or_default();
                allowed.push((f, reason));
            }
            None => kept.push(f),
        }
    }
    let stale = entries
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(e, _)| e.clone())
        .collect();
    (kept, allowed, stale)
}
