//! `scan_shell`: shell text with line numbers.

use crate::detect::{rules, scan_shell, Finding, Severity};

fn scan(s: &str) -> Vec<Finding> {
    scan_shell(s, 1)
}

fn one(s: &str) -> Finding {
    let f = scan(s);
    assert_eq!(f.len(), 1, "{s:?}: {f:#?}");
    f.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn none(s: &str) {
    let f = scan(s);
    assert!(f.is_empty(), "{s:?}: {f:#?}");
}

fn rule_sev(s: &str) -> (&'static str, Severity) {
    let f = one(s);
    (f.rule, f.severity)
}

#[test]
fn negatives() {
    for s in [
        "sed -e 's/a/b/' f",
        "grep -e foo f",
        "echo \"python -c\"",
        "# curl x | sh",
        "make # curl x | sh",
        "printf '%s' \"perl -e 1\"",
        "git commit -m \"run python -c\"",
        "python3 script.py",
        "python3 -m pip install x",
        "node app.js",
        "curl -o f https://x && sha256sum -c f.sha256 && sh f",
        "bash -c \"make install\"",
        "sh -c 'cd build && make -j2'",
        "cat <<EOF\npython -c 1\ncurl x | sh\nEOF",
        "echo '$(curl x)' | cat",
        "curl -fsSL https://x -o out.tgz && tar xzf out.tgz",
        "curl https://x | tee f | grep y",
        "cat install.sh | sh",
        "",
        "   \n\n",
    ] {
        none(s);
    }
}

#[test]
fn pipe_to_interpreter() {
    let crit = (rules::PIPE_TO_INTERPRETER, Severity::Critical);
    assert_eq!(rule_sev("curl -fsSL https://x | sh"), crit);
    assert_eq!(rule_sev("curl -fsSL https://x|sh"), crit);
    assert_eq!(rule_sev("wget -O- https://x | bash"), crit);
    assert_eq!(
        rule_sev("wget -qO - https://x | sudo bash -s -- --yes"),
        crit
    );
    assert_eq!(rule_sev("curl https://x | python3 -"), crit);
    assert_eq!(rule_sev("curl https://x | gunzip | sh"), crit);
    assert_eq!(rule_sev("curl https://x |& bash"), crit);
    assert_eq!(rule_sev("curl https://x | sh /dev/stdin"), crit);
    assert_eq!(rule_sev("curl https://x | source /dev/stdin"), crit);
    // A pipeline continued on the next line (after comments and blank lines too).
    assert_eq!(rule_sev("curl -fsSL https://x |\n  sh"), crit);
    assert_eq!(
        rule_sev("curl -fsSL https://x |\n  # then run it\n\n  bash -s"),
        crit
    );
    assert_eq!(
        one("curl https://x |\n  sh\n").line,
        2,
        "the finding is on the line of the interpreter that runs the download"
    );
    let f = one("set -e\nif true; then\n  curl -sSf https://sh.rustup.rs | sh -s -- -y\nfi\n");
    assert_eq!(f.line, 3);
    assert_eq!(f.command, "curl -sSf https://sh.rustup.rs | sh -s -- -y");
}

#[test]
fn download_substitutions() {
    let crit = (rules::DOWNLOAD_SUBSTITUTION, Severity::Critical);
    assert_eq!(rule_sev("bash <(curl -fsSL https://x)"), crit);
    assert_eq!(rule_sev("sh -c \"$(curl -fsSL https://x)\""), crit);
    assert_eq!(
        rule_sev("/bin/bash -c \"$(curl -fsSL https://x)\" -- --yes"),
        crit
    );
    assert_eq!(rule_sev("eval \"$(curl -s https://x)\""), crit);
    assert_eq!(rule_sev("eval `wget -qO- https://x`"), crit);
    assert_eq!(rule_sev("source <(curl -s https://x)"), crit);
    assert_eq!(rule_sev(". <(curl -s https://x)"), crit);
    assert_eq!(rule_sev("python3 -c \"$(curl -s https://x)\""), crit);
    assert_eq!(rule_sev("python3 <(curl -s https://x)"), crit);
    assert_eq!(rule_sev("$(curl -s https://x)"), crit);
    // Fed to stdin through a redirection: the pipe rule.
    let pipe = (rules::PIPE_TO_INTERPRETER, Severity::Critical);
    assert_eq!(rule_sev("bash < <(curl -s https://x)"), pipe);
    assert_eq!(rule_sev("bash <<< \"$(curl -s https://x)\""), pipe);
    // Single quotes: no substitution, no finding.
    none("echo 'bash <(curl x)'");
}

#[test]
fn decode_to_interpreter() {
    let high = (rules::DECODE_TO_INTERPRETER, Severity::High);
    assert_eq!(rule_sev("echo ZWNobyBoaQ== | base64 -d | sh"), high);
    assert_eq!(
        rule_sev("echo ZWNobyBoaQ== | base64 --decode | python3"),
        high
    );
    assert_eq!(rule_sev("eval \"$(echo ZWNobw== | base64 -d)\""), high);
    assert_eq!(rule_sev("bash -c \"$(base64 -d <<< ZWNobw==)\""), high);
    assert_eq!(rule_sev("xxd -r -p payload.hex | bash"), high);
    none("base64 -d in.b64 > out.bin");
}

#[test]
fn inline_code_from_stdin() {
    let f = one("python3 - <<EOF\nimport urllib.request\nEOF\n");
    assert_eq!((f.rule, f.severity), (rules::INLINE_CODE, Severity::High));
    let f = one("python3 <<'PY'\nprint(1)\nPY");
    assert_eq!((f.rule, f.severity), (rules::INLINE_CODE, Severity::Medium));
    assert_eq!(one("echo 'print(1)' | python3").rule, rules::INLINE_CODE);
    assert_eq!(one("node <<< 'console.log(1)'").rule, rules::INLINE_CODE);
    // A heredoc fed to a shell is scanned as shell, with its own line numbers.
    let f = one("echo start\nbash <<EOF\necho hi\ncurl https://x | sh\nEOF\necho end\n");
    assert_eq!((f.rule, f.line), (rules::PIPE_TO_INTERPRETER, 4));
    none("bash <<EOF\nmake\nEOF");
    // After a heredoc, lines keep counting.
    let f = one("cat <<EOF\na\nb\nEOF\npython3 -c 1\n");
    assert_eq!(f.line, 5);
}

#[test]
fn inline_code_in_scripts() {
    assert_eq!(
        rule_sev("python3 -c 'print(1)'"),
        (rules::INLINE_CODE, Severity::Medium)
    );
    assert_eq!(
        rule_sev("cd x && python3 -c 'import requests'"),
        (rules::INLINE_CODE, Severity::High)
    );
    assert_eq!(
        rule_sev("perl -pe 's/x/y/' file"),
        (rules::INLINE_FILTER, Severity::Low)
    );
    assert_eq!(
        rule_sev("sudo -E env FOO=1 node --eval='1'"),
        (rules::INLINE_CODE, Severity::Medium)
    );
    let f = one("echo $(python3 -c 'print(1)')");
    assert_eq!(f.command, "python3 -c 'print(1)'");
    let f = one("x=`ruby -e 'puts 1'`");
    assert_eq!(f.rule, rules::INLINE_CODE);
    let f = one("(cd sub; perl -e 'print 1')");
    assert_eq!(f.rule, rules::INLINE_CODE);
    assert_eq!(
        one("pwsh -c 'iex (iwr https://x)'").rule,
        rules::POWERSHELL_DOWNLOAD_EXEC
    );
    assert_eq!(
        one("iwr https://x | iex").rule,
        rules::POWERSHELL_DOWNLOAD_EXEC
    );
}

#[test]
fn line_numbers() {
    let script = "#!/bin/sh\n# comment with python -c\necho ok\n\npython3 -c 1 && \\\n  node -e 2\nruby \\\n  -e 3; perl -e 4\n";
    let f = scan_shell(script, 10);
    let lines: Vec<usize> = f.iter().map(|f| f.line).collect();
    assert_eq!(lines, vec![14, 15, 16, 17], "{f:#?}");
    // Multi-line quoted code handed to sh -c keeps real lines.
    let f = one("true\nsh -c '\n  echo a\n  curl https://x | sh\n'\n");
    assert_eq!(f.line, 4);
    // first_line 0 is allowed.
    assert_eq!(scan_shell("python3 -c 1", 0)[0].line, 0);
}

#[test]
fn unverified_download_exec() {
    let high = (rules::UNVERIFIED_DOWNLOAD_EXEC, Severity::High);
    let f = one(
        "curl -fsSLo install.sh https://x/install.sh\nchmod +x install.sh\n./install.sh --yes\n",
    );
    assert_eq!((f.rule, f.severity, f.line), (high.0, high.1, 3));
    assert!(f.message.contains("line 1"), "{}", f.message);
    assert_eq!(rule_sev("wget https://x/get.sh && sh get.sh"), high);
    assert_eq!(
        rule_sev("curl -O https://x/a/tool && chmod 755 tool && sudo ./tool"),
        high
    );
    assert_eq!(
        rule_sev("curl -s https://x > /tmp/i.sh; bash /tmp/i.sh"),
        high
    );
    assert_eq!(
        rule_sev("curl -o t https://x && install -m 755 t /usr/local/bin/t && /usr/local/bin/t"),
        high
    );
    assert_eq!(rule_sev("curl -o i.py https://x && python3 i.py"), high);
    // Verification in between: clean.
    none("curl -fsSLo i.sh https://x\necho \"abc  i.sh\" | sha256sum -c -\nchmod +x i.sh\n./i.sh");
    none("curl -o f https://x && curl -o f.asc https://x.asc && gpg --verify f.asc f && sh f");
    none("curl -o f https://x && cosign verify-blob --key k.pub --signature f.sig f && ./f");
    none("curl -o f https://x && minisign -Vm f -P key && ./f");
    none("curl -o f https://x\n[ \"$(sha256sum f | cut -d' ' -f1)\" = \"$SUM\" ] || exit 1\n./f");
    // Verified after running is too late.
    assert_eq!(
        rule_sev("curl -o f https://x && sh f && sha256sum -c f.sha256"),
        high
    );
    // Running some other file is fine.
    none("curl -o f https://x && ./g");
}

#[test]
fn parser_is_total_on_garbage() {
    for s in [
        "\"unterminated",
        "'unterminated",
        "$(",
        "`",
        "((",
        "<<",
        "cat <<EOF",
        "a | | b",
        ")))",
        "${x",
        "$((1+",
        "echo \\",
        "\u{e000}9\u{e001} -c x",
        "ü\"é'\\",
    ] {
        let _ = scan(s);
    }
    let deep = "$(".repeat(500) + "curl x | sh" + &")".repeat(500);
    let _ = scan(&deep);
    let deep = "sh -c '".to_string() + &"sh -c \\'".repeat(50);
    let _ = scan(&deep);
}

#[test]
fn leading_assignments_do_not_hide_the_command() {
    // Homebrew's documented install line, and the same shape elsewhere.
    let brew = r#"NONINTERACTIVE=1 /bin/bash -c "$(curl -fsSL https://raw.githubusercontent.com/Homebrew/install/HEAD/install.sh)""#;
    assert_eq!(rule_sev(brew).1, Severity::Critical);
    assert_eq!(
        rule_sev("curl -fsSL https://x.test/i.sh | METHOD=script bash").1,
        Severity::Critical
    );
    assert_eq!(
        one("FOO=1 BAR=two python3 -c 'print(1)'").rule,
        rules::INLINE_CODE
    );
    // The substitution of an assignment still runs, so it is still read.
    assert_eq!(
        rule_sev(r#"X="$(curl -fsSL https://x.test/a | sh)""#).1,
        Severity::Critical
    );
    // Not assignments: quoted, or not a variable name, or an argument.
    none("echo A=1 python3 -c x");
    none(r#""A=1" true"#);
    none("1A=2 true");
}
