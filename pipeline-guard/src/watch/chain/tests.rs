//! Unit tests of the exec tree, parent chains and the grouping of repeated findings.

use super::*;
use crate::detect::rules;

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn facts(pid: i32, path: &str, words: &[&str]) -> ExecFacts {
    ExecFacts {
        pid,
        time: OffsetDateTime::UNIX_EPOCH,
        path: path.to_string(),
        argv: argv(words),
        cwd: "/build".to_string(),
        script_argv: None,
    }
}

const CODE: &str = "open('marker','w').write('x')";

#[test]
fn code_words_strip_wrappers_and_shims() {
    let rule = rules::INLINE_CODE;
    let want = argv(&["-c", CODE]);
    assert_eq!(
        code_words(&argv(&["xargs", "-n1", "python3", "-c", CODE]), rule),
        want
    );
    assert_eq!(
        code_words(&argv(&["/usr/bin/python3.11", "-c", CODE]), rule),
        want
    );
    assert_eq!(
        code_words(&argv(&["pyenv", "exec", "python3", "-c", CODE]), rule),
        want
    );
    assert_eq!(
        code_words(&argv(&["/tmp/shims/python3", "-c", CODE]), rule),
        want
    );
}

#[test]
fn records_parent_chain_across_fork_and_re_exec() {
    let mut t = Tree::new(1, 10);
    let make = t.record_exec(facts(10, "/usr/bin/make", &["make"]));
    t.fork(10, 11);
    let sh = t.record_exec(facts(11, "/usr/bin/dash", &["sh", "build.sh"]));
    t.fork(11, 12);
    let xargs = t.record_exec(facts(12, "/usr/bin/xargs", &["xargs", "echo"]));
    // xargs re-execs itself into echo in the same pid.
    let echo = t.record_exec(facts(12, "/usr/bin/echo", &["echo", "hi"]));
    assert_eq!(t.chain(echo), vec![make, sh, xargs, echo]);
    assert_eq!(t.exec(sh).ppid, 10);
    assert_eq!(t.exec(echo).ppid, 11);
    assert_eq!(t.chain_text(echo), "make -> sh -> xargs -> echo hi");
    assert!(t.groups().is_empty());
}

#[test]
fn a_fork_before_any_exec_chains_to_the_parent_image() {
    let mut t = Tree::new(1, 10);
    let sh = t.record_exec(facts(10, "/bin/sh", &["sh", "x.sh"]));
    t.fork(10, 11);
    t.fork(11, 12); // a subshell forks again before exec
    let py = t.record_exec(facts(12, "/usr/bin/python3", &["python3", "x.py"]));
    assert_eq!(t.chain(py), vec![sh, py]);
    assert_eq!(t.exec(py).ppid, 11);
}

#[test]
fn xargs_then_shim_then_real_interpreter_is_one_finding_at_the_interpreter() {
    let mut t = Tree::new(1, 10);
    t.record_exec(facts(10, "/usr/bin/make", &["make"]));
    t.fork(10, 11);
    let xargs = t.record_exec(facts(
        11,
        "/usr/bin/xargs",
        &["xargs", "-n1", "python3", "-c", CODE],
    ));
    t.fork(11, 12);
    // The shim is a #! script: the kernel's argv names its interpreter.
    let mut shim = facts(
        12,
        "/usr/bin/dash",
        &["/bin/sh", "/tmp/shims/python3", "-c", CODE],
    );
    shim.script_argv = Some(argv(&["/tmp/shims/python3", "-c", CODE]));
    let shim = t.record_exec(shim);
    let real = t.record_exec(facts(
        12,
        "/usr/bin/python3.11",
        &["/usr/bin/python3.11", "-c", CODE],
    ));
    assert_eq!(t.groups().len(), 1, "{:#?}", t.groups());
    let g = &t.groups()[0];
    assert_eq!(g.rule, rules::INLINE_CODE);
    assert_eq!(g.first.0, xargs);
    assert_eq!(g.at.0, real);
    assert_eq!(g.execs, vec![xargs, shim, real]);
    assert_eq!(t.exec(real).findings[0].first_seen, Some(xargs));
    assert_eq!(t.exec(xargs).findings[0].first_seen, None);
    assert!(t
        .chain_text(real)
        .starts_with("make -> xargs -> python3 -> python3.11 -c "));
}

#[test]
fn arguments_appended_by_xargs_do_not_make_new_code() {
    let mut t = Tree::new(1, 10);
    let xargs = t.record_exec(facts(
        10,
        "/usr/bin/xargs",
        &["xargs", "python3", "-c", CODE],
    ));
    t.fork(10, 11);
    let py = t.record_exec(facts(
        11,
        "/usr/bin/python3",
        &["python3", "-c", CODE, "input-line"],
    ));
    assert_eq!(t.groups().len(), 1);
    assert_eq!(t.groups()[0].execs, vec![xargs, py]);
    assert_eq!(
        code_core(&argv(&["-c", CODE, "x"])),
        &argv(&["-c", CODE])[..]
    );
}

#[test]
fn sibling_runs_of_the_same_code_join_one_group() {
    let mut t = Tree::new(1, 10);
    let xargs = t.record_exec(facts(
        10,
        "/usr/bin/xargs",
        &["xargs", "-n1", "python3", "-c", CODE],
    ));
    for pid in [11, 12, 13] {
        t.fork(10, pid);
        t.record_exec(facts(
            pid,
            "/usr/bin/python3",
            &["python3", "-c", CODE, "a"],
        ));
    }
    assert_eq!(t.groups().len(), 1);
    assert_eq!(t.groups()[0].execs.len(), 4);
    assert_eq!(t.groups()[0].first.0, xargs);
    // Reported at the first of the deepest.
    assert_eq!(t.exec(t.groups()[0].at.0).pid, 11);
}

#[test]
fn inline_code_inside_shell_text_is_the_same_code_as_the_interpreter_it_runs() {
    let mut t = Tree::new(1, 10);
    let sh = t.record_exec(facts(
        10,
        "/usr/bin/dash",
        &[
            "/bin/sh",
            "-c",
            "python3 -c 'import os; print(os.getcwd())'",
        ],
    ));
    assert_eq!(t.exec(sh).findings.len(), 1);
    t.fork(10, 11);
    let py = t.record_exec(facts(
        11,
        "/usr/bin/python3",
        &["python3", "-c", "import os; print(os.getcwd())"],
    ));
    assert_eq!(t.groups().len(), 1);
    assert_eq!(t.groups()[0].at.0, py);
}

#[test]
fn different_code_or_unrelated_branches_are_separate_findings() {
    let mut t = Tree::new(1, 10);
    t.record_exec(facts(10, "/usr/bin/make", &["make"]));
    t.fork(10, 11);
    t.record_exec(facts(
        11,
        "/usr/bin/python3",
        &["python3", "-c", "print(1)"],
    ));
    t.fork(10, 12);
    // Same code in a sibling branch: not an ancestor, so a separate finding.
    t.record_exec(facts(
        12,
        "/usr/bin/python3",
        &["python3", "-c", "print(1)"],
    ));
    t.fork(10, 13);
    t.record_exec(facts(13, "/usr/bin/perl", &["perl", "-e", "print 2"]));
    assert_eq!(t.groups().len(), 3);
}

#[test]
fn a_child_with_other_code_under_a_flagged_parent_is_a_new_finding() {
    let mut t = Tree::new(1, 10);
    t.record_exec(facts(
        10,
        "/usr/bin/python3",
        &["python3", "-c", "import subprocess"],
    ));
    t.fork(10, 11);
    t.record_exec(facts(
        11,
        "/usr/bin/python3",
        &["python3", "-c", "print(2)"],
    ));
    assert_eq!(t.groups().len(), 2);
}

#[test]
fn stopped_exec_is_where_the_group_is_reported() {
    let mut t = Tree::new(1, 10);
    let x = t.record_exec(facts(
        10,
        "/usr/bin/xargs",
        &["xargs", "python3", "-c", CODE],
    ));
    t.mark_stopped(x);
    assert!(t.exec(x).stopped);
    assert!(t.groups()[0].stopped);
    assert_eq!(t.groups()[0].at.0, x);
}

#[test]
fn pid_reuse_does_not_inherit_a_stale_chain() {
    let mut t = Tree::new(1, 10);
    t.record_exec(facts(10, "/usr/bin/make", &["make"]));
    t.fork(10, 11);
    t.record_exec(facts(11, "/usr/bin/python3", &["python3", "x.py"]));
    t.exit(11);
    assert!(!t.has_process(11));
    t.fork(10, 11);
    let again = t.record_exec(facts(11, "/usr/bin/cc", &["cc", "-c", "a.c"]));
    assert_eq!(t.chain_text(again), "make -> cc -c a.c");
}

#[test]
fn shebang_view_recognises_script_execs_only() {
    let mut lines = |p: &str| match p {
        "/tmp/shims/python3" => Some("#!/bin/sh".to_string()),
        "/root/.pyenv/shims/python3" => Some("#!/usr/bin/env bash".to_string()),
        "build.sh" => Some("#!/bin/sh -e".to_string()),
        _ => None,
    };
    assert_eq!(
        shebang_view(
            &argv(&["/bin/sh", "/tmp/shims/python3", "-c", "x"]),
            "python3",
            &mut lines
        ),
        Some(argv(&["/tmp/shims/python3", "-c", "x"]))
    );
    assert_eq!(
        shebang_view(
            &argv(&[
                "/usr/bin/env",
                "bash",
                "/root/.pyenv/shims/python3",
                "-c",
                "x"
            ]),
            "python3",
            &mut lines
        ),
        Some(argv(&["/root/.pyenv/shims/python3", "-c", "x"]))
    );
    assert_eq!(
        shebang_view(
            &argv(&["/bin/sh", "-e", "build.sh", "a"]),
            "build.sh",
            &mut lines
        ),
        Some(argv(&["build.sh", "a"]))
    );
    // Interpreter differs from the #! line.
    assert_eq!(
        shebang_view(&argv(&["/bin/bash", "build.sh"]), "build.sh", &mut lines),
        None
    );
    // An explicit `sh build.sh` or a compiler: comm names the program, nothing is read.
    let mut never = |_: &str| -> Option<String> { panic!("read") };
    assert_eq!(
        shebang_view(&argv(&["sh", "build.sh"]), "sh", &mut never),
        None
    );
    assert_eq!(
        shebang_view(&argv(&["/usr/bin/cc", "-c", "a.c"]), "cc", &mut never),
        None
    );
    assert_eq!(comm_of("/x/a-very-long-program-name"), "a-very-long-pro");
}

#[test]
fn parses_shebang_lines_like_linux() {
    assert_eq!(
        parse_shebang("#! /usr/bin/env  python3 -u \n"),
        Some(("/usr/bin/env".into(), Some("python3 -u".into())))
    );
    assert_eq!(parse_shebang("#!/bin/sh"), Some(("/bin/sh".into(), None)));
    assert_eq!(parse_shebang("#!"), None);
    assert_eq!(parse_shebang("echo"), None);
}

#[test]
fn quoting_and_shortening() {
    assert_eq!(shell_quote("-c"), "-c");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
    assert_eq!(shorten("abcdef", 4), "abc…");
    assert_eq!(shorten("abc", 4), "abc");
}

#[test]
fn compaction_keeps_flagged_execs_and_the_names_chains_need() {
    let mut t = Tree::new(1, 10);
    let cc = t.record_exec(facts(10, "/usr/bin/cc", &["cc", "-O2", "-c", "a.c"]));
    t.fork(10, 11);
    let py = t.record_exec(facts(
        11,
        "/usr/bin/python3",
        &["python3", "-c", "print(1)"],
    ));
    t.compact(cc);
    t.compact(py);
    assert_eq!(t.exec(cc).argv, ["cc"]);
    assert_eq!(t.exec(py).argv.len(), 3);
    assert_eq!(t.chain_text(py), "cc -> python3 -c 'print(1)'");
}
