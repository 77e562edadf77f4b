//! Detector for command lines that execute code on the fly (CWE-94 style inline code and
//! CWE-494 download-and-execute without an integrity check).
//!
//! The module is pure: text or an argv in, a list of [`Finding`]s out; no IO, no clock,
//! no environment. Two entry points:
//!
//! - [`scan_argv`] for one `exec` (run-time watchers and install hooks). `argv[0]` may be a
//!   path or carry a version suffix (`/usr/bin/python3.11`); wrappers such as `env`,
//!   `sudo`, `nice`, `timeout N`, `xargs`, `busybox` and version-manager shims
//!   (`pyenv exec`, `mise exec --`, `uv run`, ...) are looked through.
//! - [`scan_shell`] for shell text (scripts, Makefile recipes, Dockerfile `RUN`, CI `run:`
//!   steps). It understands pipelines, `&&`/`||`/`;`, subshells, `$(…)`, backticks,
//!   `<(…)`, heredocs, here-strings, comments, quoting and line continuations, and reports
//!   the line each finding starts on.
//!
//! # Why `shlex` plus a small structural layer
//!
//! Candidates looked at (`cargo info`): `brush-parser` (full bash parser, MIT) needs Rust
//! 1.88 in its current release (the workspace then supported 1.85), pulls `peg`, `cached`, `bon`
//! and even `insta` as normal dependencies, and rejects a whole script on the first
//! syntax error, which is wrong for a detector fed fragments of Makefiles and YAML.
//! `yash-syntax` is GPL-3.0, incompatible with this crate's MIT/Apache licence.
//! `conch-parser` has had no release since 2017. `tree-sitter-bash` needs a C build.
//! `shell-words` and `shlex` are tokenisers only. We use `shlex` (MIT/Apache, no
//! dependencies, maintained, already in our lock file through `cc`) for POSIX word
//! unquoting (quote removal, backslash rules inside and outside double quotes), and a
//! small, tolerant structural layer of our own (`detect::parse`, private) that finds word
//! boundaries, operators, substitutions, redirections and heredocs. That layer never
//! fails: on malformed input it still returns every command it could delimit.

mod analyze;
mod argv;
mod files;
mod functions;
mod indicators;
mod parse;
mod recognise;

#[cfg(feature = "audit")]
pub(crate) use argv::inline_argv;

/// Whether `program` (a path or name, any case, version suffix allowed) is an
/// interpreter whose inline code the detector reads.
#[cfg(feature = "audit")]
pub(crate) fn is_interpreter(program: &str) -> bool {
    indicators::family(&indicators::program_name(program)).is_some()
}
pub use functions::Helpers;

#[cfg(test)]
mod tests;

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`, so a `--fail-on`
/// threshold is a plain comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Common, usually benign pattern (for example a `perl -pe` filter one-liner).
    Low,
    /// Unreviewed inline code that shows no sign of downloading, decoding or evaluating.
    Medium,
    /// Inline code that downloads, decodes or evaluates; unverified downloads executed.
    High,
    /// Downloaded bytes handed straight to an interpreter.
    Critical,
}

impl Severity {
    /// The lowercase name, the same text [`FromStr`] accepts and serde emits.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error from parsing a [`Severity`]; names the rejected text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSeverityError(pub String);

impl fmt::Display for ParseSeverityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown severity {:?}: expected low, medium, high or critical",
            self.0
        )
    }
}

impl std::error::Error for ParseSeverityError {}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Accepts `low`, `medium`, `high`, `critical` in any case, surrounding blanks ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(ParseSeverityError(s.to_string())),
        }
    }
}

/// Stable rule ids. Ids never change meaning; allow-lists may rely on them.
pub mod rules {
    /// An interpreter is given program text inline (`python3 -c`, `perl -e`, `node -e`,
    /// `pwsh -Command`, a heredoc or `echo … |` on an interpreter's stdin).
    /// Medium; High when the code downloads, decodes or evaluates.
    pub const INLINE_CODE: &str = "GUARD001";
    /// A download is fed to an interpreter's stdin (`curl … | sh`, `wget -O- … | bash`,
    /// `bash < <(curl …)`, `bash <<< "$(curl …)"`). Critical.
    pub const PIPE_TO_INTERPRETER: &str = "GUARD002";
    /// A download is executed through a substitution (`bash <(curl …)`,
    /// `sh -c "$(curl …)"`, `eval "$(curl …)"`, `source <(curl …)`). Critical.
    pub const DOWNLOAD_SUBSTITUTION: &str = "GUARD003";
    /// Decoded (base64, hex, uudecode) bytes are executed (`base64 -d | sh`,
    /// `eval "$(echo … | base64 -d)"`). High.
    pub const DECODE_TO_INTERPRETER: &str = "GUARD004";
    /// A file written by a download is executed (directly after `chmod +x`, or through an
    /// interpreter) with no checksum or signature verification of it in between. High.
    pub const UNVERIFIED_DOWNLOAD_EXEC: &str = "GUARD005";
    /// A `perl`/`ruby` `-n`/`-p`/`-i` filter one-liner (sed-like), with no sign of
    /// downloading, decoding or evaluating. Low; distinct so allow-lists can accept it.
    pub const INLINE_FILTER: &str = "GUARD006";
    /// PowerShell download-and-execute (`iex (iwr …)`, `iwr … | iex`,
    /// `IEX (New-Object Net.WebClient).DownloadString(…)`). Critical.
    pub const POWERSHELL_DOWNLOAD_EXEC: &str = "GUARD007";

    /// Every rule: `(id, short name, what it matches)`.
    pub const ALL: &[(&str, &str, &str)] = &[
        (
            INLINE_CODE,
            "inline-code",
            "interpreter given inline program text",
        ),
        (
            PIPE_TO_INTERPRETER,
            "pipe-to-interpreter",
            "download piped into an interpreter",
        ),
        (
            DOWNLOAD_SUBSTITUTION,
            "download-substitution",
            "download executed through $(…), <(…) or eval",
        ),
        (
            DECODE_TO_INTERPRETER,
            "decode-to-interpreter",
            "decoded bytes executed",
        ),
        (
            UNVERIFIED_DOWNLOAD_EXEC,
            "unverified-download-exec",
            "downloaded file executed without checksum or signature check",
        ),
        (
            INLINE_FILTER,
            "inline-filter",
            "perl/ruby -n/-p/-i filter one-liner",
        ),
        (
            POWERSHELL_DOWNLOAD_EXEC,
            "powershell-download-exec",
            "PowerShell Invoke-Expression of downloaded text",
        ),
    ];

    /// The short name of a rule id (`"GUARD002"` → `"pipe-to-interpreter"`), if known.
    pub fn name(id: &str) -> Option<&'static str> {
        ALL.iter().find(|(i, _, _)| *i == id).map(|(_, n, _)| *n)
    }
}

/// One detected command. `line` is 1-based in the caller's numbering (for [`scan_shell`],
/// `first_line` is the number of the script's first line; for [`scan_argv`] it is 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id from [`rules`] (for example `"GUARD002"`).
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// Line the matched command starts on (0 for [`scan_argv`]).
    pub line: usize,
    /// The matched command as written (shell text, or the argv joined with spaces).
    pub command: String,
    /// What was found and why it matters.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// Scans one `exec`'s argv. Guarantees: pure and total (never panics, any input);
/// wrappers (`env`, `sudo`, `nice`, `timeout`, `xargs`, `busybox`, shims) are looked
/// through; a shell's `-c` code is parsed as shell text and scanned like [`scan_shell`];
/// findings carry `line` 0. An empty argv gives no findings.
pub fn scan_argv<S: AsRef<str>>(argv: &[S]) -> Vec<Finding> {
    let words: Vec<String> = argv.iter().map(|a| a.as_ref().to_string()).collect();
    analyze::scan_argv_words(&words)
}

/// Scans shell text whose first line is numbered `first_line`. Guarantees: pure and total
/// (never panics; malformed text is scanned as far as it can be delimited); comments and
/// quoted text are never commands; each finding's `line` is the line its command starts
/// on; findings come in source order (commands inside a substitution before the command
/// that uses it).
pub fn scan_shell(script: &str, first_line: usize) -> Vec<Finding> {
    analyze::scan_script(script, first_line, &Helpers::default())
}

/// [`scan_shell`], knowing the shell functions `helpers` has learnt from other files (a
/// `download_with_retry` or `use_checksum_comparison` defined in a sourced helper
/// script). Functions `script` defines itself are always learnt first, wherever in the
/// file they are. Same guarantees as [`scan_shell`].
pub fn scan_shell_with(script: &str, first_line: usize, helpers: &Helpers) -> Vec<Finding> {
    analyze::scan_script(script, first_line, helpers)
}
