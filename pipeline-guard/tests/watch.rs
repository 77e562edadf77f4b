//! `pipeline-guard watch` (or `repo-tool watch`): real process trees of scripts run under the watcher (Linux only).
//!
//! Each test writes scripts into a temporary directory and runs
//! `pipeline-guard watch … -- make` (or `sh SCRIPT`) there, with a `bin/` directory first on
//! PATH holding `python3` as a symlink to the machine's real interpreter, so that chains
//! are the same on every machine (a version manager's shims would add links). The
//! inline code under test creates a marker file: its presence proves the code ran, its
//! absence under `--enforce` proves it did not.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures: a failed setup is a failed test

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const INLINE: &str = r#"import sys; open("marker-" + sys.argv[1], "w").write("ran")"#;

/// The real python3 executable (not a shim).
fn real_python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed by these tests");
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    std::fs::canonicalize(path).unwrap()
}

struct Build {
    dir: tempfile::TempDir,
}

impl Build {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(real_python(), bin.join("python3")).unwrap();
        Build { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> &Self {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// make -> sh build.sh -> xargs -> python3 -c INLINE (once per input line).
    fn deep_tree(&self) -> &Self {
        self.write("Makefile", "all:\n\tsh build.sh\n").write(
            "build.sh",
            &format!(
                "#!/bin/sh\necho compiling\nprintf 'a\\n' | xargs -n1 python3 -c '{INLINE}'\necho linked\n"
            ),
        )
    }

    /// Runs `pipeline-guard watch ARGS -- COMMAND` in the directory (60 s at most).
    fn watch(&self, args: &[&str], command: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_pipeline-guard"))
            .arg("watch")
            .args(args)
            .arg("--")
            .args(command)
            .current_dir(self.dir.path())
            .env("PATH", path)
            // cargo's jobserver is not ours to hand to make.
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS")
            .env_remove("CARGO_MAKEFLAGS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                panic!("watch hung: {:?}", child.wait_with_output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    /// Runs with `--format json --output report.json` and returns (output, report).
    fn watch_json(&self, args: &[&str], command: &[&str]) -> (Output, Value) {
        let report = self.path("report.json");
        let mut all = vec!["--format", "json", "--output", report.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = self.watch(&all, command);
        let text = std::fs::read_to_string(&report)
            .unwrap_or_else(|e| panic!("no report ({e}): {}", stderr(&out)));
        (out, serde_json::from_str(&text).unwrap())
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().unwrap()
}

fn programs(chain: &Value) -> Vec<String> {
    chain
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["program"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn reports_inline_code_deep_in_a_make_sh_xargs_tree_with_its_parent_chain() {
    let b = Build::new();
    b.deep_tree();
    let (out, report) = b.watch_json(&[], &["make"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(b.path("marker-a").exists(), "not enforcing: the code ran");
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{report:#}");
    let f = &f[0];
    assert_eq!(f["rule"], "GUARD001");
    assert_eq!(f["severity"], "medium");
    // Reported at the interpreter, with the chain that led there.
    assert_eq!(programs(&f["chain"]), ["make", "sh", "xargs", "python3"]);
    assert_eq!(
        f["chain_text"],
        format!("make -> sh -> xargs -> python3 -c '{INLINE}' a")
    );
    assert_eq!(f["path"], real_python().to_str().unwrap());
    assert_eq!(f["argv"][2], INLINE);
    assert_eq!(
        f["cwd"],
        b.dir.path().canonicalize().unwrap().to_str().unwrap()
    );
    // First seen at xargs (it names the code), reported once.
    assert_eq!(f["first_seen"]["program"], "xargs");
    assert_eq!(f["seen_at"].as_array().unwrap().len(), 2);
    assert_eq!(f["stopped"], false);
    assert_eq!(report["command_status"]["code"], 0);
    assert_eq!(report["exit_status"], 1);
    // Printed as it happened, at the first exec that showed it, and summarised.
    let err = stderr(&out);
    assert!(
        err.contains("watch: GUARD001 medium pid ")
            && err.contains("make -> sh -> xargs -n1 python3 -c"),
        "{err}"
    );
    assert!(
        err.contains("watch: FAILED: 1 finding(s) at or above low"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("linked"));
}

#[test]
fn a_benign_build_has_no_findings_and_keeps_the_commands_status() {
    let b = Build::new();
    b.write("Makefile", "all: out.txt\n\nout.txt:\n\tsh build.sh > out.txt\n")
        .write(
            "build.sh",
            "#!/bin/sh\nset -e\nls > /dev/null\nprintf 'x\\ny\\n' | xargs -n1 echo\npython3 gen.py\n./tool.sh\n",
        )
        .write("gen.py", "print('generated')\n")
        .write("tool.sh", "#!/bin/sh\ncat /dev/null\n");
    let (out, report) = b.watch_json(&[], &["make"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(findings(&report).is_empty(), "{report:#}");
    // make, sh (via /bin/sh -c for the redirect), sh build.sh, ls, xargs, echo ×2,
    // python3, tool.sh, cat.
    assert!(report["execs"].as_u64().unwrap() >= 9, "{report:#}");
    assert!(stderr(&out).contains("watch: 0 finding(s)"));
    let text = b.watch(&[], &["make", "-B"]);
    assert_eq!(text.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&text.stdout).contains("no code on the fly in "));
}

#[test]
fn enforce_stops_the_inline_code_before_it_runs_and_fails_the_build() {
    let b = Build::new();
    b.deep_tree();
    let (out, report) = b.watch_json(&["--enforce"], &["make"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        !b.path("marker-a").exists(),
        "the inline code must not have run"
    );
    let f = &findings(&report)[0];
    assert_eq!(f["stopped"], true);
    // Stopped at the first exec that carried the code: xargs, before python3 ran.
    assert_eq!(programs(&f["chain"]), ["make", "sh", "xargs"]);
    assert_eq!(report["stopped"], 1);
    let err = stderr(&out);
    assert!(err.contains("[STOPPED before it ran]"), "{err}");
    assert!(err.contains("--enforce stopped 1 program(s)"), "{err}");
}

#[test]
fn enforce_kills_an_interpreter_at_its_exec() {
    let b = Build::new();
    b.write(
        "build.sh",
        &format!("#!/bin/sh\npython3 -c '{INLINE}' direct\necho \"python3 status $?\"\n"),
    );
    let out = b.watch(&["--enforce"], &["sh", "build.sh"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!b.path("marker-direct").exists());
    // The shell saw its child killed by SIGKILL (128 + 9).
    assert!(String::from_utf8_lossy(&out.stdout).contains("python3 status 137"));
}

#[test]
fn a_shim_that_re_execs_the_interpreter_gives_one_finding_at_the_real_interpreter() {
    let b = Build::new();
    let real = real_python();
    // A version-manager-like shim: a #! script named python3 that execs the real one.
    b.write(
        "shims/python3",
        &format!("#!/bin/sh\nexec \"{}\" \"$@\"\n", real.display()),
    )
    .write(
        "build.sh",
        &format!("#!/bin/sh\nPATH=\"$PWD/shims:$PATH\" python3 -c '{INLINE}' shim\n"),
    );
    let (out, report) = b.watch_json(&[], &["sh", "build.sh"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(b.path("marker-shim").exists());
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{report:#}");
    let f = &f[0];
    // Reported once, at the real interpreter, after the shim.
    assert_eq!(f["path"], real.to_str().unwrap());
    let name = real.file_name().unwrap().to_str().unwrap();
    assert_eq!(programs(&f["chain"]), ["sh", "python3", name]);
    assert_eq!(f["first_seen"]["program"], "python3");
    assert_eq!(f["seen_at"].as_array().unwrap().len(), 2);
    assert_eq!(stderr(&out).matches("watch: GUARD001").count(), 1);

    // Enforced, the shim itself is stopped: neither it nor the interpreter runs.
    let (out, report) = b.watch_json(&["--enforce"], &["sh", "build.sh"]);
    std::fs::remove_file(b.path("marker-shim")).ok();
    assert_eq!(out.status.code(), Some(1));
    let f = &findings(&report)[0];
    assert_eq!(programs(&f["chain"]), ["sh", "python3"]);
    assert_eq!(f["script"][0], b.path("shims/python3").to_str().unwrap());
    assert_eq!(f["stopped"], true);
}

#[test]
fn inline_code_in_a_recipe_shell_is_one_finding_at_the_interpreter() {
    let b = Build::new();
    // make runs this recipe through /bin/sh -c (it has quotes and a semicolon).
    b.write(
        "Makefile",
        &format!("all:\n\tpython3 -c '{INLINE}' recipe; echo done\n"),
    );
    let (out, report) = b.watch_json(&[], &["make"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{report:#}");
    assert_eq!(programs(&f[0]["chain"]), ["make", "sh", "python3"]);
    assert_eq!(f[0]["first_seen"]["program"], "sh");
}

#[test]
fn threads_and_vfork_children_are_followed() {
    let b = Build::new();
    // A Python program that starts a thread which spawns (vfork/posix_spawn) the code.
    b.write(
        "spawn.py",
        &format!(
            "import subprocess, sys, threading\n\
             def work():\n    subprocess.run([sys.executable, '-c', '''{INLINE}''', 'thread'], check=True)\n\
             t = threading.Thread(target=work)\nt.start()\nt.join()\n"
        ),
    );
    let (out, report) = b.watch_json(&[], &["python3", "spawn.py"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(b.path("marker-thread").exists());
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{report:#}");
    let chain = programs(&f[0]["chain"]);
    assert_eq!(chain.len(), 2, "{chain:?}");
    assert_eq!(chain[0], "python3");
    assert_eq!(f[0]["argv"][3], "thread");
}

#[test]
fn a_daemon_that_outlives_the_command_is_still_watched() {
    let b = Build::new();
    b.write(
        "daemon.sh",
        &format!("#!/bin/sh\n( sleep 0.3; python3 -c '{INLINE}' daemon ) &\necho started\n"),
    );
    let (out, report) = b.watch_json(&[], &["sh", "daemon.sh"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(b.path("marker-daemon").exists());
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{report:#}");
    assert_eq!(programs(&f[0]["chain"]), ["sh", "python3"]);
    // Its parent, as recorded at fork, is the subshell: not init after reparenting.
    assert_ne!(f[0]["ppid"], 1);
    assert!(report["left_running"].as_array().unwrap().is_empty());

    // Enforced after the command exited: still stopped.
    std::fs::remove_file(b.path("marker-daemon")).unwrap();
    let (out, _) = b.watch_json(&["--enforce"], &["sh", "daemon.sh"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!b.path("marker-daemon").exists());
}

#[test]
fn with_no_linger_a_daemon_is_detached_and_listed() {
    let b = Build::new();
    b.write("daemon.sh", "#!/bin/sh\n( sleep 2 ) &\necho started\n");
    let (out, report) = b.watch_json(&["--linger", "0"], &["sh", "daemon.sh"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        report["left_running"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    assert!(stderr(&out).contains("detached unobserved"));
}

#[test]
fn log_has_a_json_line_per_exec_with_its_chain_and_findings() {
    let b = Build::new();
    b.deep_tree();
    let log = b.path("audit.jsonl");
    let (out, report) = b.watch_json(&["--log", log.to_str().unwrap()], &["make"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, execs) = lines.split_last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["findings"], report["findings"]);
    assert_eq!(execs.len() as u64, report["execs"].as_u64().unwrap());
    let names: Vec<&str> = execs
        .iter()
        .map(|e| e["chain_text"].as_str().unwrap())
        .collect();
    assert!(names[0] == "make", "{names:?}");
    for (seq, e) in execs.iter().enumerate() {
        assert_eq!(e["event"], "exec");
        assert_eq!(e["seq"], seq);
        for key in [
            "pid", "ppid", "time", "path", "argv", "cwd", "chain", "findings",
        ] {
            assert!(!e[key].is_null(), "{key} missing in {e}");
        }
        // The parent chain agrees with the recorded parent pid: the previous exec is the
        // parent process's image, or this process's own before a re-exec.
        if let Some(parent) = e["chain"].as_array().unwrap().last() {
            assert!(
                parent["pid"] == e["ppid"] || parent["pid"] == e["pid"],
                "{e}"
            );
        }
    }
    let flagged: Vec<&Value> = execs
        .iter()
        .filter(|e| !e["findings"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(flagged.len(), 2, "xargs and python3: {flagged:?}");
    assert_eq!(flagged[0]["argv"][0], "xargs");
    assert_eq!(flagged[0]["findings"][0]["first_seen"], Value::Null);
    assert_eq!(flagged[1]["findings"][0]["first_seen"], flagged[0]["seq"]);
    assert_eq!(
        programs(&flagged[1]["chain"]),
        ["make", "sh", "xargs"],
        "{}",
        flagged[1]
    );
}

#[test]
fn exit_status_is_the_commands_own_when_clean_and_1_with_findings() {
    let b = Build::new();
    b.write("fail.sh", "#!/bin/sh\necho failing\nexit 7\n")
        .write("killed.sh", "#!/bin/sh\nkill -TERM $$\n")
        .write(
            "medium.sh",
            &format!("#!/bin/sh\npython3 -c '{INLINE}' medium\nexit 3\n"),
        );
    assert_eq!(b.watch(&[], &["sh", "fail.sh"]).status.code(), Some(7));
    assert_eq!(b.watch(&[], &["sh", "killed.sh"]).status.code(), Some(143));
    assert_eq!(b.watch(&[], &["true"]).status.code(), Some(0));
    // Findings below --fail-on: reported, and the command's own failure passes through.
    let (out, report) = b.watch_json(&["--fail-on", "high"], &["sh", "medium.sh"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(findings(&report).len(), 1);
    assert_eq!(report["failing"], 0);
    // At or above: 1, whatever the command's status.
    assert_eq!(b.watch(&[], &["sh", "medium.sh"]).status.code(), Some(1));
    // Not found / not executable: 127 / 126, with a message.
    let out = b.watch(&[], &["./no-such-program"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("cannot run ./no-such-program"));
    b.write("plain.txt", "");
    std::fs::set_permissions(b.path("plain.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(b.watch(&[], &["./plain.txt"]).status.code(), Some(126));
}

#[test]
fn sarif_and_json_reports_parse() {
    let b = Build::new();
    b.deep_tree();
    let sarif = b.path("watch.sarif");
    let out = b.watch(
        &["--format", "sarif", "--output", sarif.to_str().unwrap()],
        &["make"],
    );
    assert_eq!(out.status.code(), Some(1));
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "pipeline-guard watch");
    assert_eq!(run["invocations"][0]["exitCode"], 1);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "GUARD001");
    assert!(results[0]["properties"]["chain"]
        .as_str()
        .unwrap()
        .starts_with("make -> sh -> xargs -> python3 -c "));
    // JSON on standard output when no --output is given (after the build's own output).
    let out = b.watch(&["--format", "json"], &["make"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = &stdout[stdout.find("{\n").unwrap()..];
    let report: Value = serde_json::from_str(json).unwrap();
    assert_eq!(findings(&report).len(), 1);
}

#[test]
fn usage_errors_are_reported_by_clap() {
    let out = Command::new(env!("CARGO_BIN_EXE_pipeline-guard"))
        .args(["watch", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("COMMAND"));
}

/// Not a test of correctness: prints the cost of watching a small build of many short
/// processes (never asserted; see the README for the overhead on a real cargo build).
#[test]
fn prints_the_overhead_on_a_burst_of_short_processes() {
    let b = Build::new();
    b.write(
        "burst.sh",
        "#!/bin/sh\ni=0\nwhile [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done\n",
    );
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("burst.sh")
        .current_dir(b.dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let plain = started.elapsed();
    let started = Instant::now();
    let out = b.watch(&[], &["sh", "burst.sh"]);
    let watched = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    println!(
        "300 execs: unwatched {plain:?}, watched {watched:?} ({:.2}x; includes the watcher's start)",
        watched.as_secs_f64() / plain.as_secs_f64()
    );
}

#[test]
fn a_program_in_a_new_process_group_or_session_is_followed_to_the_end() {
    // timeout, setsid, job control and start_new_session move a process out of the
    // watcher's process group; a wait for "any child of my group" never saw them
    // again and the watcher hung for ever with them stopped.
    let b = Build::new();
    for (name, command) in [
        ("timeout", "timeout 20 python3 -c 'print(1)'".to_string()),
        ("setsid", "setsid -w python3 -c 'print(1)'".to_string()),
        (
            "script",
            "script -qec \"python3 -c 'print(1)'\" /dev/null".to_string(),
        ),
        ("job-control", "set -m; python3 -c 'print(1)' & wait".to_string()),
        (
            "new-session",
            "python3 -c 'import subprocess; subprocess.run([\"python3\", \"-c\", \"print(2)\"], start_new_session=True)'"
                .to_string(),
        ),
    ] {
        let started = Instant::now();
        let (out, report) = b.watch_json(&[], &["bash", "-c", &command]);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name}: took {:?}",
            started.elapsed()
        );
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert!(!findings(&report).is_empty(), "{name}: {}", stderr(&out));
    }
}

#[test]
fn a_clean_command_in_a_new_process_group_or_session_keeps_its_own_status() {
    let b = Build::new();
    for (name, command) in [
        ("timeout", "timeout 20 sh -c 'exit 3'"),
        ("setsid", "setsid -w sh -c 'exit 3'"),
        ("script", "script -qec \"sh -c 'exit 3'\" /dev/null"),
        ("job-control", "set -m; sh -c 'exit 3' & wait $!"),
        ("new-session", "python3 new_session.py"),
    ] {
        b.write(
            "new_session.py",
            "import subprocess, sys\nsys.exit(subprocess.run(['sh', '-c', 'exit 3'], start_new_session=True).returncode)\n",
        );
        let started = Instant::now();
        let out = b.watch(&[], &["bash", "-c", command]);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name}: took {:?}",
            started.elapsed()
        );
        assert_eq!(out.status.code(), Some(3), "{name}: {}", stderr(&out));
    }
}
