//! `pipeline-guard audit` (or `repo-tool audit`): precision and recall on the checked-in corpus of pipeline files,
//! the command's exit codes and formats, and the time to audit a generated 10,000-line
//! tree (printed, never asserted: no timed unit tests). Validation of the SARIF output
//! against the 2.1.0 schema is in the workspace's tests/sarif_schema.rs (it needs the
//! Python tools scripts/test.sh installs).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures: a failed setup is a failed test

use pipeline_guard::audit::cli::{execute, AuditArgs, Format};
use pipeline_guard::audit::{self, Kind};
use pipeline_guard::detect::Severity;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audit-corpus")
}

/// Small files of our own that reproduce what was found in public repositories (rustup,
/// nvm, Homebrew, ohmyzsh, pyenv, actions/runner-images, …), under their real kinds
/// and names.
fn realworld() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/realworld-corpus")
}

fn rel(root: &Path, file: &str) -> String {
    let root = audit::display_path(root);
    file.strip_prefix(&root)
        .unwrap_or(file)
        .trim_start_matches('/')
        .to_string()
}

/// Audits `root` and compares with its expected.json: the files found, and every
/// (file, line, rule); prints precision and recall per file kind and asserts 100%.
fn check_corpus(root: &Path) {
    let expected: BTreeMap<String, Vec<(usize, String)>> =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap())
            .unwrap();
    let started = Instant::now();
    let result = audit::audit(&[root.to_path_buf()], &[]);
    let elapsed = started.elapsed();
    assert!(result.errors.is_empty(), "{:?}", result.errors);

    // Every pipeline file is found, and nothing else (look-alikes are not pipeline files).
    let scanned: BTreeSet<String> = result.files.iter().map(|(f, _)| rel(root, f)).collect();
    let listed: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(
        scanned, listed,
        "discovered files differ from expected.json"
    );
    let kind_of: BTreeMap<String, &str> = result
        .files
        .iter()
        .map(|(f, k)| (rel(root, f), k.as_str()))
        .collect();

    let want: BTreeSet<(String, usize, String)> = expected
        .iter()
        .flat_map(|(f, v)| v.iter().map(move |(l, r)| (f.clone(), *l, r.clone())))
        .collect();
    let got: BTreeSet<(String, usize, String)> = result
        .findings
        .iter()
        .map(|f| {
            (
                rel(root, &f.file),
                f.finding.line,
                f.finding.rule.to_string(),
            )
        })
        .collect();
    let ratio = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    let mut kinds: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for k in kind_of.values() {
        kinds.entry(k).or_default();
    }
    for f in &want {
        let e = kinds.entry(kind_of[&f.0]).or_default();
        e.1 += 1;
        if got.contains(f) {
            e.0 += 1;
        }
    }
    for f in &got {
        kinds.entry(kind_of[&f.0]).or_default().2 += 1;
    }
    let name = root.file_name().unwrap().to_string_lossy();
    for (k, (tp, wanted, found)) in &kinds {
        println!(
            "{name}: {k:<20} recall {:5.1}% ({tp}/{wanted}), precision {:5.1}% ({tp}/{found})",
            ratio(*tp, *wanted),
            ratio(*tp, *found)
        );
    }
    let tp = want.intersection(&got).count();
    let fp: Vec<_> = got.difference(&want).collect();
    let fn_: Vec<_> = want.difference(&got).collect();
    let positives = expected.values().filter(|v| !v.is_empty()).count();
    println!(
        "{name}: {} files ({} with findings, {} clean), {} lines, {} expected findings; \
         precision {:.1}% ({tp}/{}), recall {:.1}% ({tp}/{}), in {:?}",
        scanned.len(),
        positives,
        scanned.len() - positives,
        result.lines,
        want.len(),
        ratio(tp, got.len()),
        got.len(),
        ratio(tp, want.len()),
        want.len(),
        elapsed
    );
    for f in &fp {
        println!("  false positive: {f:?}");
    }
    for f in &fn_ {
        println!("  false negative: {f:?}");
    }
    assert!(
        fp.is_empty() && fn_.is_empty(),
        "{name}: precision/recall below 100%"
    );
}

#[test]
fn corpus_precision_and_recall_are_100_percent() {
    check_corpus(&corpus());
}

#[test]
fn realworld_corpus_precision_and_recall_per_kind_are_100_percent() {
    check_corpus(&realworld());
}

#[test]
fn corpora_cover_every_kind() {
    let result = audit::audit(&[corpus(), realworld()], &[]);
    let kinds: BTreeSet<&str> = result.files.iter().map(|(_, k)| k.as_str()).collect();
    for k in Kind::ALL {
        assert!(kinds.contains(k.as_str()), "no {k:?} file in the corpora");
    }
}

#[test]
fn a_file_named_on_the_command_line_is_known_by_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "release-workflow.yml",
            "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: curl -fsSL https://x.test/i | sh\n",
            "GUARD002",
        ),
        (
            "ci-template.yml",
            "stages: [build]\nbuild:\n  image: alpine\n  script:\n    - wget -qO- https://x.test/i | sh\n",
            "GUARD002",
        ),
        ("install.txt", "@echo off\r\npowershell -c \"iwr https://x.test/i.ps1 | iex\"\r\n", "GUARD007"),
    ];
    for (name, text, rule) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = execute(&args(&[&p]));
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(out.stdout.contains(rule), "{name}: {}", out.stdout);
    }
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "just some notes\n").unwrap();
    let out = execute(&args(&[&p]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not a known pipeline file kind"),
        "{}",
        out.stderr
    );
}

fn args(paths: &[&Path]) -> AuditArgs {
    AuditArgs::new(paths.iter().map(|p| p.to_path_buf()).collect())
}

#[test]
fn exit_codes_and_fail_on() {
    let clean = corpus().join("scripts/install-verified.sh");
    let medium = corpus().join("just/justfile");
    let critical = corpus().join("docker/installer.Dockerfile");
    assert_eq!(execute(&args(&[&clean])).code, 0);
    let out = execute(&args(&[&medium]));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("justfile:13: GUARD001 medium "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\n    fix: "));
    let mut a = args(&[&medium]);
    a.fail_on = Severity::High;
    let out = execute(&a);
    assert_eq!(out.code, 0, "medium finding below --fail-on high");
    assert!(!out.stdout.is_empty(), "still reported");
    let mut a = args(&[&critical]);
    a.fail_on = "critical".parse().unwrap();
    assert_eq!(execute(&a).code, 1);
    // Errors: a missing path, a file of no known kind.
    assert_eq!(execute(&args(&[&corpus().join("missing.sh")])).code, 2);
    assert_eq!(
        execute(&args(&[&corpus().join("not-pipeline/README.md")])).code,
        2
    );
}

#[test]
fn allow_list() {
    let dir = tempfile::tempdir().unwrap();
    let target = corpus().join("make/tools.mk");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ok = write(
        "allow.json",
        r#"{"allow": [
            {"file": "make/tools.mk", "rule": "GUARD006", "line": 12, "reason": "version bump filter, reviewed"},
            {"file": "make/tools.mk", "rule": "GUARD005", "command": "protoc-gen --version", "reason": "pinned in #12"},
            {"file": "make/tools.mk", "rule": "GUARD002", "reason": "stale on purpose"}
        ]}"#,
    );
    let mut a = args(&[&target]);
    a.allow = Some(ok);
    let out = execute(&a);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("stale allow-list entry"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("2 allowed"), "{}", out.stderr);

    let no_reason = write(
        "bad.json",
        r#"[{"file": "make/tools.mk", "rule": "GUARD006", "line": 12}]"#,
    );
    a.allow = Some(no_reason);
    let out = execute(&a);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("has no reason"), "{}", out.stderr);

    let typo = write(
        "typo.json",
        r#"[{"file": "make/tools.mk", "rule": "GUARD006", "reasn": "x", "reason": "y"}]"#,
    );
    a.allow = Some(typo);
    assert_eq!(execute(&a).code, 2, "unknown fields are rejected");
}

#[test]
fn json_format() {
    let mut a = args(&[&corpus().join("gitlab")]);
    a.format = Format::Json;
    let out = execute(&a);
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 4);
    for f in arr {
        for k in [
            "file", "rule", "severity", "line", "command", "message", "fix",
        ] {
            assert!(f.get(k).is_some(), "missing {k} in {f}");
        }
    }
}

fn sarif_of(paths: &[&Path]) -> serde_json::Value {
    let mut a = args(paths);
    a.format = Format::Sarif;
    serde_json::from_str(&execute(&a).stdout).unwrap()
}

#[test]
fn sarif_structure() {
    let v = sarif_of(&[&corpus()]);
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "pipeline-guard audit");
    assert!(driver["informationUri"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let ids: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), pipeline_guard::detect::rules::ALL.len());
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(ids[i], r["ruleId"].as_str().unwrap());
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(
            !loc["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with('/')
                || cfg!(windows)
                || corpus().is_absolute()
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
    }
}

/// Generates a tree of about 10,000 lines (every kind) and prints how long the audit takes.
/// Not asserted (team rule: no timed unit tests); for the figure, run
/// `cargo test --release -p pipeline-guard --test audit audit_time -- --nocapture`.
#[test]
fn audit_time_of_a_10000_line_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut lines = 0;
    let mut n = 0;
    while lines < 10_000 {
        let sub = root.join(format!("svc{n}"));
        std::fs::create_dir_all(sub.join(".github/workflows")).unwrap();
        std::fs::create_dir_all(sub.join("scripts")).unwrap();
        for (rel, src) in [
            ("Makefile", "make/Makefile"),
            ("Dockerfile", "docker/Dockerfile"),
            ("build.Dockerfile", "docker/installer.Dockerfile"),
            ("justfile", "just/justfile"),
            (".gitlab-ci.yml", "gitlab/.gitlab-ci.yml"),
            (".github/workflows/ci.yml", "gha/.github/workflows/ci.yml"),
            (
                ".github/workflows/release.yml",
                "gha/.github/workflows/release.yml",
            ),
            ("scripts/install.sh", "scripts/install-tool.sh"),
            ("scripts/notes.sh", "scripts/notes.sh"),
        ] {
            let text = std::fs::read_to_string(corpus().join(src)).unwrap();
            lines += text.lines().count();
            std::fs::write(sub.join(rel), text).unwrap();
        }
        n += 1;
    }
    let started = Instant::now();
    let result = audit::audit(&[root.to_path_buf()], &[]);
    let elapsed = started.elapsed();
    assert!(result.errors.is_empty());
    assert!(result.lines >= 10_000);
    println!(
        "audit timing: {} files, {} lines, {} findings in {:?} ({} build)",
        result.files.len(),
        result.lines,
        result.findings.len(),
        elapsed,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}

#[test]
fn the_binary_reports_in_plain_text_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("build.sh"),
        "curl -fsSL https://x.test/i.sh | sh\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipeline-guard"))
        .arg("audit")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a finding");
    assert!(String::from_utf8_lossy(&out.stdout).contains("GUARD"));
    assert!(!out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b));
}

/// Small hostile files that made the scan quadratic (minutes for tens of KB) before:
/// an unclosed Jenkins string of escaped quotes, an unclosed `$(shell`, thousands of
/// CircleCI commands and npm scripts, alternating `$(( $(` nesting, an unclosed YAML
/// scalar. They must simply be scanned (no time is asserted; a regression shows as a
/// test that takes minutes).
#[test]
fn hostile_inputs_are_scanned_in_linear_time() {
    let many = |unit: &str, n: usize| unit.repeat(n);
    let cases: Vec<(Kind, String)> = vec![
        (Kind::Jenkinsfile, format!("sh '{}", many("\\'", 40_000))),
        (
            Kind::Makefile,
            format!("X := {}\n", many("$(shell ", 20_000)),
        ),
        (
            Kind::CircleCi,
            format!(
                "version: 2.1\njobs:\n  b:\n    steps:\n{}",
                many("      - run:\n          command: echo hi\n", 4_000)
            ),
        ),
        (
            Kind::PackageJson,
            format!(
                "{{\"scripts\": {{{}\"last\": \"true\"}}}}",
                (0..10_000)
                    .map(|i| format!("\"s{i}\": \"echo {i}\", "))
                    .collect::<String>()
            ),
        ),
        (Kind::Shell, format!("echo {}\n", many("$(( $( ", 5_000))),
        (
            Kind::Travis,
            format!("script:\n  - \"{}", many("a \\\" b\n    ", 10_000)),
        ),
    ];
    for (kind, text) in cases {
        let _ = audit::scan_text(kind, &text);
    }
}
