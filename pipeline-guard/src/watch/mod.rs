//! `pipeline-guard watch -- COMMAND`: catches code on the fly while a build runs.
//!
//! The command runs under the watcher, which sees every program executed anywhere in its
//! process tree (children, grandchildren, daemons, vfork/posix_spawn and clone children)
//! and passes each exec's argv through `crate::detect`, the same detector `pipeline-guard
//! audit` applies to pipeline files before the build. Findings are printed as they
//! happen and summarised at the end with the chain of programs that led to them
//! (`make -> sh -> xargs -> python3 -c …`); `--log` keeps every exec as JSON lines.
//! With `--enforce` an offending program is killed at its exec, before its first
//! instruction, and the build fails.
//!
//! # Mechanism: ptrace exec events, no root
//!
//! Linux only ([`tracer`]). The watcher attaches to its own child with `PTRACE_SEIZE`
//! and options that follow every fork, vfork and clone and stop at every exec. A process
//! may trace its own descendants without privileges (Yama `ptrace_scope` 0 or 1), so no
//! root and no capability is needed. At the exec stop the kernel has built the new image
//! but not run it: argv, path and working directory are read from `/proc/PID` with
//! nothing able to change them (the new image is single-threaded and stopped), which is
//! also why a kill there provably prevents every instruction of the program.
//!
//! Alternatives and why not: the audit subsystem, fanotify and eBPF need root or
//! `CAP_SYS_ADMIN`/`CAP_BPF`; the proc connector needs `CAP_NET_ADMIN` and reports after
//! the fact (a short-lived process is gone before its `/proc` can be read; nothing can
//! be stopped); `LD_PRELOAD` misses static binaries and direct system calls and is
//! undone by any program that clears its environment; seccomp user notification stops
//! at the `execve` call itself, where argv still lives in memory another thread can
//! rewrite after the check (a known time-of-check/time-of-use gap), and installing the
//! filter needs `unsafe` code in the child. ptrace costs a context switch per fork, clone
//! and exec (and per signal), nothing per system call, since system calls are not traced.
//!
//! # Reading the tree
//!
//! [`chain`] keeps the process table (parents recorded at fork events, so reparented
//! daemons keep their chain), the exec records, and groups a finding with equal findings
//! of its ancestors: wrappers and version-manager shims that re-exec an interpreter with
//! the same inline code (`xargs python3 -c CODE`, a `python3` shim running
//! `exec /usr/bin/python3.11 "$@"`) give one finding, reported at the real interpreter.
//! `#!` scripts are scanned as invoked (`[script, args…]`) as well as in the kernel's form
//! (`[interpreter, script, args…]`), so a shim named `python3` run with `-c CODE` is seen
//! as inline Python, and stopped there under `--enforce`.
//!
//! # Exit status
//!
//! The command's own status (128 + N when killed by signal N) when no finding is at or
//! above `--fail-on`; 1 when one is; 125 when the watcher itself fails (ptrace refused, log
//! not writable); 126/127 when the command cannot be executed or is not found.

pub mod chain;
pub mod log;
pub mod report;
#[cfg(target_os = "linux")]
pub mod tracer;

use crate::detect::Severity;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Each finding with where it ran, its parent chain and the fix.
    Text,
    /// A JSON object: the command, its status, counts and every finding with its chain.
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
}

/// Arguments of `pipeline-guard watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Kill a program at its exec, before its first instruction runs, when it has a
    /// finding at or above --fail-on; the build then fails.
    #[arg(long)]
    pub enforce: bool,
    /// Exit 1 when a finding at or above this severity was seen (low, medium, high,
    /// critical); with --enforce, the severity that is stopped.
    #[arg(long, default_value = "low")]
    pub fail_on: Severity,
    /// Write every exec (pid, ppid, time, path, argv, cwd, parent chain, findings) to
    /// FILE as JSON lines, then a summary line.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE instead of standard output (which the build shares).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// After COMMAND exits, keep watching processes it left running (daemons) for at most
    /// this long, then detach from them and list them.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub linger: f64,
    /// Internal: the watcher re-runs itself in this mode to start COMMAND under ptrace.
    #[arg(long = "internal-trampoline", hide = true)]
    pub internal_trampoline: bool,
    /// The command to run and watch, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || !(0.0..=86_400.0).contains(&v) {
        return Err("expected a number of seconds between 0 and 86400".into());
    }
    Ok(v)
}

/// Runs `pipeline-guard watch`: runs and watches the command, prints findings as they happen
/// (standard error), the report at the end (standard output or `--output`) and a verdict
/// line (standard error); returns the exit status described in the module documentation.
pub fn run(args: &WatchArgs) -> ExitCode {
    #[cfg(target_os = "linux")]
    {
        linux::run(args)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = args;
        eprintln!(
            "error: watch is Linux only: it follows the build's process tree with \
             ptrace exec events, which this system does not offer; run the build on Linux, \
             or use `audit` on the pipeline files"
        );
        ExitCode::from(125)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::chain::{ExecId, Tree};
    use super::log::{self, JsonLog};
    use super::report::{self, Run};
    use super::tracer::{self, Observer};
    use super::{Format, WatchArgs};
    use crate::detect::Severity;
    use std::io::{self, Write};
    use std::process::ExitCode;
    use std::time::Duration;

    /// Decides at each exec, prints new findings, and writes the log.
    struct Watcher {
        enforce: bool,
        fail_on: Severity,
        log: Option<JsonLog>,
        log_error: Option<io::Error>,
    }

    impl Watcher {
        fn log(&mut self, record: &serde_json::Value) {
            if let Some(log) = self.log.as_mut() {
                if let Err(e) = log.write(record) {
                    if self.log_error.is_none() {
                        eprintln!("watch: error: writing the log: {e}");
                        self.log_error = Some(e);
                    }
                }
            }
        }
    }

    impl Observer for Watcher {
        fn on_exec(&mut self, tree: &mut Tree, id: ExecId) -> bool {
            let kill = self.enforce
                && tree
                    .exec(id)
                    .findings
                    .iter()
                    .any(|f| f.finding.severity >= self.fail_on);
            if kill {
                tree.mark_stopped(id);
            }
            for line in report::live(tree, id) {
                eprintln!("{line}");
            }
            self.log(&log::exec_record(tree, id));
            kill
        }
    }

    pub(super) fn run(args: &WatchArgs) -> ExitCode {
        if args.internal_trampoline {
            return tracer::trampoline(&args.command);
        }
        let log = match args.log.as_deref().map(JsonLog::create).transpose() {
            Ok(log) => log,
            Err(e) => {
                eprintln!("error: cannot create the log file: {e}");
                return ExitCode::from(125);
            }
        };
        let mut out: Box<dyn Write> = match &args.output {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => Box::new(f),
                Err(e) => {
                    eprintln!("error: cannot create {}: {e}", path.display());
                    return ExitCode::from(125);
                }
            },
            None => Box::new(io::stdout()),
        };
        let mut watcher = Watcher {
            enforce: args.enforce,
            fail_on: args.fail_on,
            log,
            log_error: None,
        };
        let linger = Duration::from_secs_f64(args.linger);
        let traced = match tracer::trace(&args.command, linger, &mut watcher) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: watch: {e}");
                return ExitCode::from(125);
            }
        };
        let command: Vec<String> = args
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let run = Run {
            command: &command,
            tree: &traced.tree,
            status: traced.status,
            fail_on: args.fail_on,
            enforce: args.enforce,
            left_running: &traced.left_running,
            suppressed_signals: &traced.suppressed_signals,
        };
        let mut summary = report::json_value(&run);
        summary["event"] = serde_json::json!("summary");
        watcher.log(&summary);
        let mut body = match args.format {
            Format::Text => report::text(&run),
            Format::Json => report::json(&run),
            Format::Sarif => report::sarif(&run),
        };
        if !body.ends_with('\n') {
            body.push('\n');
        }
        let wrote = out.write_all(body.as_bytes()).and_then(|()| out.flush());
        eprintln!("{}", run.status_line());
        if let Err(e) = wrote {
            eprintln!("error: writing the report: {e}");
            return ExitCode::from(125);
        }
        if let Some(e) = watcher.log_error {
            eprintln!("error: the log is incomplete: {e}");
            return ExitCode::from(125);
        }
        ExitCode::from(run.exit_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linger_accepts_seconds_only_in_range() {
        assert_eq!(parse_seconds("0"), Ok(0.0));
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("soon").is_err());
    }
}
