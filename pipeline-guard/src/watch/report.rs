//! What `pipeline-guard watch` prints: a line per new finding as it happens, and a report at
//! the end in text, JSON or SARIF 2.1.0 (the SARIF rule catalogue is the audit's, so
//! both commands' results group under the same rule ids in code-scanning UIs).

use super::chain::{ExecId, GroupId, Tree};
use super::log::rfc3339;
use crate::audit::{report as audit_report, FileFinding};
use crate::detect::{rules, Finding, Severity};
use serde_json::{json, Value};

/// How the watched command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStatus {
    /// It exited with this code.
    Exited(i32),
    /// It was killed by this signal number.
    Signaled(i32),
}

impl CommandStatus {
    /// The status a shell would report: the code, or 128 + the signal number.
    pub fn code(self) -> u8 {
        match self {
            CommandStatus::Exited(c) => u8::try_from(c & 0xff).unwrap_or(1),
            CommandStatus::Signaled(s) => u8::try_from((128 + s).clamp(0, 255)).unwrap_or(255),
        }
    }

    fn describe(self) -> String {
        match self {
            CommandStatus::Exited(c) => format!("exited with status {c}"),
            CommandStatus::Signaled(s) => format!("was killed by signal {s}"),
        }
    }
}

/// One finished watch: everything the reports are made of.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The watched command line.
    pub command: &'a [String],
    /// Every exec and finding.
    pub tree: &'a Tree,
    /// How the command ended.
    pub status: CommandStatus,
    /// `--fail-on`.
    pub fail_on: Severity,
    /// `--enforce`.
    pub enforce: bool,
    /// Processes detached while still running after `--linger`.
    pub left_running: &'a [i32],
    /// Real-time signals that could not be passed on: (pid, signal number).
    pub suppressed_signals: &'a [(i32, i32)],
}

impl Run<'_> {
    /// Findings (groups) at or above `--fail-on`.
    pub fn failing(&self) -> usize {
        self.tree
            .groups()
            .iter()
            .filter(|g| g.severity >= self.fail_on)
            .count()
    }

    /// Programs killed at their exec by `--enforce`.
    pub fn stopped(&self) -> usize {
        self.tree.execs().iter().filter(|e| e.stopped).count()
    }

    /// The watcher's exit status: 1 when a finding is at or above `--fail-on`, else the
    /// command's own.
    pub fn exit_code(&self) -> u8 {
        if self.failing() > 0 {
            1
        } else {
            self.status.code()
        }
    }

    /// The one-line verdict printed on standard error at the end.
    pub fn status_line(&self) -> String {
        let findings = self.tree.groups().len();
        let failing = self.failing();
        let counts = format!(
            "{} exec(s) in {} process(es)",
            self.tree.execs().len(),
            self.tree.processes()
        );
        let mut line = if failing > 0 {
            let first = self
                .tree
                .groups()
                .iter()
                .find(|g| g.severity >= self.fail_on)
                .map(|g| {
                    format!(
                        " (first: {} {} at {})",
                        g.rule,
                        g.severity,
                        self.tree.chain_text(g.at.0)
                    )
                })
                .unwrap_or_default();
            format!(
                "watch: FAILED: {failing} finding(s) at or above {} in {counts}{first}; the command {}",
                self.fail_on,
                self.status.describe()
            )
        } else {
            format!(
                "watch: {findings} finding(s), none at or above {}, in {counts}; the command {}",
                self.fail_on,
                self.status.describe()
            )
        };
        let stopped = self.stopped();
        if stopped > 0 {
            // Say what happened: the command may have carried on (a build script that
            // ignores its child's status, and cargo then says `Finished`).
            let outcome = if self.status.code() == 0 {
                "the command carried on without them and exited with status 0, so watch fails the build itself"
            } else {
                "and the command failed"
            };
            line.push_str(&format!(
                "; --enforce stopped {stopped} program(s) at their exec, before they ran, {outcome}"
            ));
        }
        if !self.left_running.is_empty() {
            line.push_str(&format!(
                "; {} process(es) still running were detached unobserved: {:?}",
                self.left_running.len(),
                self.left_running
            ));
        }
        if !self.suppressed_signals.is_empty() {
            line.push_str(&format!(
                "; {} real-time signal(s) could not be passed on",
                self.suppressed_signals.len()
            ));
        }
        line.push_str(&format!("; exit {}", self.exit_code()));
        line
    }
}

/// The line printed on standard error when an exec brings a new finding (repeats of an
/// ancestor's finding are not printed again), or is stopped.
pub fn live(tree: &Tree, id: ExecId) -> Vec<String> {
    let exec = tree.exec(id);
    exec.findings
        .iter()
        .filter(|f| f.first_seen.is_none() || exec.stopped)
        .map(|f| {
            let stopped = if exec.stopped {
                " [STOPPED before it ran]"
            } else {
                ""
            };
            format!(
                "watch: {} {} pid {}: {}{stopped}\nwatch:     {}",
                f.finding.rule,
                f.finding.severity,
                exec.pid,
                tree.chain_text(id),
                f.finding.message
            )
        })
        .collect()
}

fn chain_value(tree: &Tree, id: ExecId) -> Vec<Value> {
    tree.chain(id)
        .iter()
        .map(|&a| {
            let e = tree.exec(a);
            json!({"seq": a, "pid": e.pid, "program": e.program(), "path": e.path})
        })
        .collect()
}

/// The reported form of one finding (a group, at its deepest exec).
fn finding_value(tree: &Tree, g: GroupId) -> Value {
    let group = &tree.groups()[g];
    let (at, index) = group.at;
    let exec = tree.exec(at);
    let f = &exec.findings[index].finding;
    let first = tree.exec(group.first.0);
    json!({
        "rule": f.rule,
        "name": rules::name(f.rule),
        "severity": group.severity,
        "message": f.message,
        "fix": f.fix,
        "command": f.command,
        "seq": at,
        "time": rfc3339(exec.time),
        "pid": exec.pid,
        "ppid": exec.ppid,
        "path": exec.path,
        "argv": exec.argv,
        "script": exec.script_argv,
        "cwd": exec.cwd,
        "chain": chain_value(tree, at),
        "chain_text": tree.chain_text(at),
        "stopped": group.stopped,
        "first_seen": {"seq": group.first.0, "pid": first.pid, "program": first.program()},
        "seen_at": group.execs,
    })
}

/// The JSON report as a value (also the `summary` line of the `--log` file).
pub fn json_value(run: &Run<'_>) -> Value {
    let findings: Vec<Value> = (0..run.tree.groups().len())
        .map(|g| finding_value(run.tree, g))
        .collect();
    let status = match run.status {
        CommandStatus::Exited(c) => json!({"code": c}),
        CommandStatus::Signaled(s) => json!({"signal": s}),
    };
    json!({
        "command": run.command,
        "command_status": status,
        "exit_status": run.exit_code(),
        "enforce": run.enforce,
        "fail_on": run.fail_on,
        "execs": run.tree.execs().len(),
        "processes": run.tree.processes(),
        "failing": run.failing(),
        "stopped": run.stopped(),
        "left_running": run.left_running,
        "suppressed_signals": run.suppressed_signals,
        "findings": findings,
    })
}

/// JSON report: the command, its status, counts and every finding with its chain.
pub fn json(run: &Run<'_>) -> String {
    serde_json::to_string_pretty(&json_value(run)).unwrap_or_default()
}

/// Text report: each finding with where it ran, its parent chain and the fix.
pub fn text(run: &Run<'_>) -> String {
    let tree = run.tree;
    let mut out = String::new();
    if tree.groups().is_empty() {
        out.push_str(&format!(
            "no code on the fly in {} exec(s)\n",
            tree.execs().len()
        ));
    }
    for group in tree.groups() {
        let (at, index) = group.at;
        let exec = tree.exec(at);
        let f = &exec.findings[index].finding;
        out.push_str(&format!(
            "{} {} {}: {}\n",
            f.rule,
            group.severity,
            rules::name(f.rule).unwrap_or(""),
            f.message
        ));
        out.push_str(&format!(
            "    at:    pid {} {} (in {})\n",
            exec.pid, exec.path, exec.cwd
        ));
        out.push_str(&format!("    chain: {}\n", tree.chain_text(at)));
        if group.execs.len() > 1 {
            let first = tree.exec(group.first.0);
            out.push_str(&format!(
                "    seen:  first at pid {} ({}), in {} exec(s) along the chain\n",
                first.pid,
                first.program(),
                group.execs.len()
            ));
        }
        if group.stopped {
            out.push_str("    STOPPED at its exec, before it ran (--enforce)\n");
        }
        out.push_str(&format!("    fix:   {}\n", f.fix));
    }
    out
}

/// SARIF 2.1.0 report: the audit's rule catalogue, one result per finding located at the
/// executable that ran it, with the chain, pid and working directory as properties.
pub fn sarif(run: &Run<'_>) -> String {
    let tree = run.tree;
    let file_findings: Vec<FileFinding> = tree
        .groups()
        .iter()
        .map(|group| {
            let (at, index) = group.at;
            let exec = tree.exec(at);
            let f = &exec.findings[index].finding;
            FileFinding {
                file: format!("file://{}", exec.path),
                finding: Finding {
                    severity: group.severity,
                    message: format!("{} Ran as: {}.", f.message, tree.chain_text(at)),
                    ..f.clone()
                },
            }
        })
        .collect();
    let mut log: Value = serde_json::from_str(&audit_report::sarif(&file_findings))
        .unwrap_or_else(|_| json!({"version": "2.1.0", "runs": [{}]}));
    if let Some(run_value) = log.pointer_mut("/runs/0") {
        if let Some(name) = run_value.pointer_mut("/tool/driver/name") {
            *name = json!("pipeline-guard watch");
        }
        run_value["invocations"] = json!([{
            "executionSuccessful": true,
            "exitCode": run.exit_code(),
            "commandLine": run.command.join(" "),
        }]);
        if let Some(results) = run_value.get_mut("results").and_then(Value::as_array_mut) {
            for (result, group) in results.iter_mut().zip(tree.groups()) {
                let exec = tree.exec(group.at.0);
                if let Some(props) = result.get_mut("properties").and_then(Value::as_object_mut) {
                    props.insert("pid".into(), json!(exec.pid));
                    props.insert("cwd".into(), json!(exec.cwd));
                    props.insert("argv".into(), json!(exec.argv));
                    props.insert("chain".into(), json!(tree.chain_text(group.at.0)));
                    props.insert("stopped".into(), json!(group.stopped));
                }
            }
        }
    }
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::chain::ExecFacts;
    use time::OffsetDateTime;

    fn tree() -> Tree {
        let mut t = Tree::new(1, 10);
        for (pid, path, argv) in [
            (10, "/usr/bin/make", vec!["make"]),
            (
                11,
                "/usr/bin/xargs",
                vec!["xargs", "python3", "-c", "print(1)"],
            ),
            (11, "/usr/bin/python3.11", vec!["python3", "-c", "print(1)"]),
        ] {
            if pid == 11 && t.execs().len() == 1 {
                t.fork(10, 11);
            }
            t.record_exec(ExecFacts {
                pid,
                time: OffsetDateTime::UNIX_EPOCH,
                path: path.into(),
                argv: argv.into_iter().map(String::from).collect(),
                cwd: "/b".into(),
                script_argv: None,
            });
        }
        t
    }

    fn run<'a>(tree: &'a Tree, command: &'a [String], fail_on: Severity) -> Run<'a> {
        Run {
            command,
            tree,
            status: CommandStatus::Exited(0),
            fail_on,
            enforce: false,
            left_running: &[],
            suppressed_signals: &[],
        }
    }

    #[test]
    fn exit_code_is_the_commands_unless_a_finding_reaches_fail_on() {
        let t = tree();
        let cmd = vec!["make".to_string()];
        assert_eq!(run(&t, &cmd, Severity::Low).exit_code(), 1);
        assert_eq!(run(&t, &cmd, Severity::Critical).exit_code(), 0);
        let mut r = run(&t, &cmd, Severity::Critical);
        r.status = CommandStatus::Exited(3);
        assert_eq!(r.exit_code(), 3);
        r.status = CommandStatus::Signaled(9);
        assert_eq!(r.exit_code(), 137);
        assert!(run(&t, &cmd, Severity::Low)
            .status_line()
            .contains("FAILED"));
    }

    #[test]
    fn the_status_line_says_whether_the_command_itself_failed_after_enforce() {
        let mut t = tree();
        let last = t.execs().len() - 1;
        t.mark_stopped(last);
        let cmd = vec!["make".to_string()];
        let mut r = run(&t, &cmd, Severity::Low);
        r.enforce = true;
        // cargo ignores a build script's killed child and exits 0.
        let line = r.status_line();
        assert!(
            line.contains("exited with status 0, so watch fails the build itself"),
            "{line}"
        );
        assert!(!line.contains("so the build failed"), "{line}");
        assert_eq!(r.exit_code(), 1);
        r.status = CommandStatus::Exited(2);
        assert!(r.status_line().contains("and the command failed"));
    }

    #[test]
    fn reports_one_finding_at_the_interpreter_with_its_chain() {
        let t = tree();
        let cmd = vec!["make".to_string()];
        let r = run(&t, &cmd, Severity::Low);
        let v = json_value(&r);
        assert_eq!(v["findings"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["findings"][0]["path"], "/usr/bin/python3.11");
        assert_eq!(
            v["findings"][0]["chain_text"],
            "make -> xargs -> python3 -c 'print(1)'"
        );
        assert_eq!(v["findings"][0]["first_seen"]["program"], "xargs");
        let text = text(&r);
        assert!(
            text.contains("chain: make -> xargs -> python3 -c 'print(1)'"),
            "{text}"
        );
        let sarif: Value = serde_json::from_str(&sarif(&r)).unwrap();
        assert_eq!(
            sarif["runs"][0]["tool"]["driver"]["name"],
            "pipeline-guard watch"
        );
        assert_eq!(
            sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"],
            "file:///usr/bin/python3.11"
        );
        // Live: printed once, at the first exec that showed it.
        assert_eq!(live(&t, 1).len(), 1);
        assert!(live(&t, 2).is_empty());
    }
}
