//! The `pipeline-guard audit` command line: arguments and exit codes.
//!
//! Exit codes: 0 when no finding at or above `--fail-on` remains after the allow-list,
//! 1 when one does, 2 on errors (unreadable or unknown paths, an invalid allow-list).

use super::{allow, audit, report};
use crate::detect::Severity;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The allow-list read when `--allow` is not given and this file exists in the current
/// directory.
pub const DEFAULT_ALLOW_FILE: &str = ".repo-tool-audit-allow.json";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `FILE:LINE: RULE severity message`, the fix on the next line.
    Text,
    /// A JSON array of findings.
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
}

/// Arguments of `pipeline-guard audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// Files and directories to audit (directories are walked; `.git`, `target` and
    /// `node_modules` are skipped).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 1 when a finding at or above this severity remains (low, medium, high, critical).
    #[arg(long, default_value = "low")]
    pub fail_on: Severity,
    /// Allow-list of accepted findings (JSON). Default: .repo-tool-audit-allow.json in the
    /// current directory, if present.
    #[arg(long)]
    pub allow: Option<PathBuf>,
    /// Paths not to audit (repeat), for example a test corpus of known-bad files.
    #[arg(long)]
    pub exclude: Vec<PathBuf>,
}

impl AuditArgs {
    /// Arguments for auditing `paths` with every default.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        AuditArgs {
            paths,
            format: Format::Text,
            fail_on: Severity::Low,
            allow: None,
            exclude: Vec::new(),
        }
    }
}

/// What a run produced: the report text (standard output), diagnostics (standard error)
/// and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The report in the chosen format.
    pub stdout: String,
    /// Errors, warnings (stale allow-list entries) and the summary.
    pub stderr: String,
    /// 0 clean, 1 findings at or above `--fail-on`, 2 errors.
    pub code: u8,
}

/// Runs the audit and returns its outputs without printing them.
pub fn execute(args: &AuditArgs) -> Outcome {
    let mut stderr = String::new();
    let allow_path = args.allow.clone().or_else(|| {
        let p = PathBuf::from(DEFAULT_ALLOW_FILE);
        p.is_file().then_some(p)
    });
    let entries = match allow_path.as_deref().map(allow::load) {
        None => Vec::new(),
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            return Outcome {
                stdout: String::new(),
                stderr: format!("error: {e}\n"),
                code: 2,
            }
        }
    };
    let result = audit(&args.paths, &args.exclude);
    let (kept, allowed, stale) = allow::apply(result.findings, &entries);
    for e in &result.errors {
        stderr.push_str(&format!("error: {e}\n"));
    }
    for e in &stale {
        stderr.push_str(&format!(
            "warning: stale allow-list entry matches nothing: {} {}{} ({})\n",
            e.file,
            e.rule,
            e.line.map(|l| format!(" line {l}")).unwrap_or_default(),
            e.reason
        ));
    }
    let stdout = match args.format {
        Format::Text => report::text(&kept),
        Format::Json => report::json(&kept),
        Format::Sarif => report::sarif(&kept),
    };
    let failing = kept
        .iter()
        .filter(|f| f.finding.severity >= args.fail_on)
        .count();
    stderr.push_str(&format!(
        "audit: {} file(s), {} line(s): {} finding(s), {} at or above {}, {} allowed\n",
        result.files.len(),
        result.lines,
        kept.len(),
        failing,
        args.fail_on,
        allowed.len()
    ));
    let code = if !result.errors.is_empty() {
        2
    } else if failing > 0 {
        1
    } else {
        0
    };
    Outcome {
        stdout,
        stderr,
        code,
    }
}

/// Runs `pipeline-guard audit`: prints the report to standard output and diagnostics to
/// standard error, and returns the exit code (0 clean, 1 findings, 2 errors).
pub fn run(args: &AuditArgs) -> ExitCode {
    let out = execute(args);
    let mut so = std::io::stdout().lock();
    let wrote = so.write_all(out.stdout.as_bytes()).and_then(|()| {
        if args.format != Format::Text && !out.stdout.ends_with('\n') {
            so.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    let _ = std::io::stderr().lock().write_all(out.stderr.as_bytes());
    if wrote.is_err() {
        return ExitCode::from(2);
    }
    ExitCode::from(out.code)
}
