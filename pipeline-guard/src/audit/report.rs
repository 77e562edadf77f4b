//! Output formats: text (`FILE:LINE: RULE severity message`), JSON and SARIF 2.1.0.

use super::FileFinding;
use crate::detect::{rules, Severity};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};

/// Where SARIF consumers send users for more about the tool (CWE-494, the weakness the
/// rules look for, until the project has a public home page).
pub const INFORMATION_URI: &str = "https://cwe.mitre.org/data/definitions/494.html";

/// The SARIF schema URI written in `$schema`.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Characters escaped in SARIF artifact URIs (relative references).
const URI_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Text report: one `FILE:LINE: RULE severity message` line per finding, the fix on an
/// indented line after it.
pub fn text(findings: &[FileFinding]) -> String {
    let mut out = String::new();
    for f in findings {
        let g = &f.finding;
        out.push_str(&format!(
            "{}:{}: {} {} {}\n    fix: {}\n",
            f.file, g.line, g.rule, g.severity, g.message, g.fix
        ));
    }
    out
}

/// JSON report: an array of findings, each with `file`, `rule`, `severity`, `line`,
/// `command`, `message` and `fix`.
pub fn json(findings: &[FileFinding]) -> String {
    serde_json::to_string_pretty(findings).unwrap_or_else(|_| "[]".to_string())
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The highest severity a rule reports, for SARIF `security-severity` (a CVSS-like score
/// GitHub code scanning sorts by).
fn rule_severity(id: &str) -> (&'static str, &'static str) {
    match id {
        rules::PIPE_TO_INTERPRETER
        | rules::DOWNLOAD_SUBSTITUTION
        | rules::POWERSHELL_DOWNLOAD_EXEC => ("9.0", "error"),
        rules::DECODE_TO_INTERPRETER | rules::UNVERIFIED_DOWNLOAD_EXEC => ("7.5", "error"),
        rules::INLINE_CODE => ("7.0", "warning"),
        _ => ("3.0", "note"),
    }
}

fn cwe(id: &str) -> &'static str {
    match id {
        rules::INLINE_CODE | rules::INLINE_FILTER | rules::DECODE_TO_INTERPRETER => {
            "external/cwe/cwe-94"
        }
        _ => "external/cwe/cwe-494",
    }
}

/// Help text for a rule: the fix the detector gives for it.
fn rule_help(id: &str) -> &'static str {
    match id {
        rules::INLINE_CODE => {
            "Move the code into a reviewed script file in the repository and run that file."
        }
        rules::INLINE_FILTER => {
            "Acceptable when reviewed: allow-list it with a reason, or use sed/awk or a script file."
        }
        rules::DECODE_TO_INTERPRETER => {
            "Do not execute decoded blobs: commit the script as reviewable source."
        }
        rules::POWERSHELL_DOWNLOAD_EXEC => {
            "Download with Invoke-WebRequest -OutFile, compare Get-FileHash with a pinned hash \
             (or check the signature), then run the file."
        }
        _ => {
            "Download to a file, verify it against a pinned SHA-256 (sha256sum -c) or a \
             signature (gpg --verify, cosign verify-blob, minisign -V), then run the verified file."
        }
    }
}

/// SARIF 2.1.0 log with one run: the rule catalogue and one result per finding, located by
/// the file's relative URI and the start line.
pub fn sarif(findings: &[FileFinding]) -> String {
    let rules_json: Vec<Value> = rules::ALL
        .iter()
        .map(|(id, name, what)| {
            let (score, lvl) = rule_severity(id);
            json!({
                "id": id,
                "name": name,
                "shortDescription": {"text": what},
                "fullDescription": {"text": format!("{id} ({name}): {what}.")},
                "help": {"text": rule_help(id)},
                "defaultConfiguration": {"level": lvl},
                "properties": {
                    "tags": ["security", cwe(id)],
                    "security-severity": score,
                },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let g = &f.finding;
            let index = rules::ALL.iter().position(|(id, _, _)| *id == g.rule);
            let uri = utf8_percent_encode(&f.file, URI_ESCAPE).to_string();
            let mut r = json!({
                "ruleId": g.rule,
                "level": level(g.severity),
                "message": {"text": format!("{} Fix: {}", g.message, g.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": g.line.max(1)},
                    }
                }],
                "properties": {"severity": g.severity.as_str(), "command": g.command},
            });
            if let (Some(i), Some(obj)) = (index, r.as_object_mut()) {
                obj.insert("ruleIndex".into(), json!(i));
            }
            r
        })
        .collect();
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pipeline-guard audit",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules_json,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default()
}
