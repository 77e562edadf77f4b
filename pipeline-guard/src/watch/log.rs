//! `--log FILE`: every exec of the watched build as one JSON line, written (and flushed)
//! as it happens, so that the file is an audit trail even if the build is interrupted.
//!
//! Each line is an object with `"event": "exec"` and `seq` (the exec's sequence
//! number, from 0), `time` (RFC 3339, UTC), `pid`, `ppid` (as recorded at fork), `path`
//! (the resolved executable), `argv`, `cwd`, `script` (for a `#!` script: the argv it was
//! invoked with, else null), `chain` (the ancestors, outermost first, as
//! `{seq, pid, program}`), `chain_text` (`make -> sh -> python3 -c …`), `findings` (each
//! with `rule`, `name`, `severity`, `command`, `message`, `fix`, and `first_seen`: the
//! `seq` of the ancestor exec where the same code was seen first, or null) and `stopped`
//! (killed at its exec by `--enforce`). A last line with `"event": "summary"` holds the
//! report of the whole run (see [`super::report::json_value`]).

use super::chain::{ExecId, Tree};
use crate::detect::rules;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An open JSON-lines audit log.
#[derive(Debug)]
pub struct JsonLog {
    out: BufWriter<File>,
}

impl JsonLog {
    /// Creates (or truncates) the log file.
    ///
    /// # Errors
    ///
    /// When the file cannot be created.
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(JsonLog {
            out: BufWriter::new(File::create(path)?),
        })
    }

    /// Appends one line and flushes it.
    ///
    /// # Errors
    ///
    /// When writing fails.
    pub fn write(&mut self, record: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// RFC 3339 text of a time (UTC).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The log record of one exec.
pub fn exec_record(tree: &Tree, id: ExecId) -> Value {
    let exec = tree.exec(id);
    let chain: Vec<Value> = tree
        .chain(id)
        .iter()
        .filter(|&&a| a != id)
        .map(|&a| {
            let e = tree.exec(a);
            json!({"seq": a, "pid": e.pid, "program": e.program()})
        })
        .collect();
    let findings: Vec<Value> = exec
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.finding.rule,
                "name": rules::name(f.finding.rule),
                "severity": f.finding.severity,
                "command": f.finding.command,
                "message": f.finding.message,
                "fix": f.finding.fix,
                "first_seen": f.first_seen,
            })
        })
        .collect();
    json!({
        "event": "exec",
        "seq": id,
        "time": rfc3339(exec.time),
        "pid": exec.pid,
        "ppid": exec.ppid,
        "path": exec.path,
        "argv": exec.argv,
        "cwd": exec.cwd,
        "script": exec.script_argv,
        "chain": chain,
        "chain_text": tree.chain_text(id),
        "findings": findings,
        "stopped": exec.stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::chain::ExecFacts;

    #[test]
    fn exec_record_carries_chain_and_findings() {
        let mut t = Tree::new(1, 10);
        t.record_exec(ExecFacts {
            pid: 10,
            time: OffsetDateTime::UNIX_EPOCH,
            path: "/usr/bin/make".into(),
            argv: vec!["make".into()],
            cwd: "/b".into(),
            script_argv: None,
        });
        t.fork(10, 11);
        let py = t.record_exec(ExecFacts {
            pid: 11,
            time: OffsetDateTime::UNIX_EPOCH,
            path: "/usr/bin/python3.11".into(),
            argv: vec!["python3".into(), "-c".into(), "print(1)".into()],
            cwd: "/b".into(),
            script_argv: None,
        });
        let r = exec_record(&t, py);
        assert_eq!(r["seq"], 1);
        assert_eq!(r["pid"], 11);
        assert_eq!(r["ppid"], 10);
        assert_eq!(r["time"], "1970-01-01T00:00:00Z");
        assert_eq!(r["chain"][0]["program"], "make");
        assert_eq!(r["chain_text"], "make -> python3 -c 'print(1)'");
        assert_eq!(r["findings"][0]["rule"], rules::INLINE_CODE);
        assert_eq!(r["findings"][0]["first_seen"], Value::Null);
        assert_eq!(r["stopped"], false);
        // One line of JSON.
        assert!(!serde_json::to_string(&r).unwrap().contains('\n'));
    }
}
