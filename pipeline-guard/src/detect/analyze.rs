//! The walk: decides, command by command, which rule (if any) applies.

use super::argv::{classify, unwrap, Invocation};
use super::files::{download_outputs, is_digest_program, verify_operands, FileTracker};
use super::indicators::{
    code_risks, is_decode_command, is_download_program, powershell_download_exec, program_name,
    Family,
};
use super::parse::{parse, Command, LineIndex, Parsed, Pipeline, SubstKind, Word};
use super::rules::*;
use super::{Finding, Severity};

/// Nesting bound for code inside code (`sh -c` in `eval` in a heredoc …).
const MAX_DEPTH: usize = 8;

const FIX_DOWNLOAD: &str = "Download to a file, verify it against a pinned SHA-256 \
(sha256sum -c) or a signature (gpg --verify, cosign verify-blob, minisign -V), then run the \
verified file; better, install through a package manager or a pinned, checksummed artifact.";

fn fix_for(rule: &str) -> &'static str {
    match rule {
        INLINE_CODE => {
            "Move the code into a reviewed script file in the repository and run \
that file; never build program text at run time."
        }
        PIPE_TO_INTERPRETER | DOWNLOAD_SUBSTITUTION => FIX_DOWNLOAD,
        DECODE_TO_INTERPRETER => {
            "Do not execute decoded blobs: commit the decoded script as \
reviewable source and run it from the repository."
        }
        UNVERIFIED_DOWNLOAD_EXEC => {
            "Verify the downloaded file (sha256sum -c against a \
pinned checksum, gpg --verify, cosign verify-blob or minisign -V) before making it \
executable and running it."
        }
        INLINE_FILTER => {
            "Acceptable when reviewed: allow-list GUARD006 for this line, or use \
sed/awk or a script file in the repository."
        }
        _ => {
            "Download with Invoke-WebRequest -OutFile, compare Get-FileHash with a pinned \
hash (or check the Authenticode signature), then run the file; never pass downloaded text \
to Invoke-Expression."
        }
    }
}

/// Where a command's standard input comes from, as far as the text shows.
enum Stdin {
    None,
    Download,
    Decode,
    /// Literal program text (`echo … |`, here-string).
    Text(String),
    /// Heredoc body with the line its first line is on.
    Heredoc(String, usize),
}

/// Scan state for one script (and everything nested in it).
struct Scanner {
    findings: Vec<Finding>,
    files: FileTracker,
    depth: usize,
}

pub(crate) fn scan_script(text: &str, first_line: usize) -> Vec<Finding> {
    let mut s = Scanner {
        findings: Vec::new(),
        files: FileTracker::default(),
        depth: 0,
    };
    s.text(text, first_line);
    s.findings
}

pub(crate) fn scan_argv_words(argv: &[String]) -> Vec<Finding> {
    let mut s = Scanner {
        findings: Vec::new(),
        files: FileTracker::default(),
        depth: 0,
    };
    let text = argv.join(" ");
    let un = unwrap(argv);
    s.argv(&un.argv, None, None, &Stdin::None, 0, &text);
    for f in &mut s.findings {
        f.line = 0;
    }
    s.findings
}

fn any_command(ps: &[Pipeline], pred: &dyn Fn(&str, &[String]) -> bool) -> bool {
    ps.iter()
        .flat_map(|p| &p.commands)
        .any(|c| command_matches(c, pred))
}

fn command_matches(c: &Command, pred: &dyn Fn(&str, &[String]) -> bool) -> bool {
    let values: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
    let un = unwrap(&values);
    let hit = un
        .argv
        .first()
        .is_some_and(|a0| pred(&program_name(a0), un.argv.get(1..).unwrap_or(&[])));
    hit || any_command(&c.compound, pred)
        || c.assignments
            .iter()
            .chain(&c.words)
            .flat_map(|w| &w.subs)
            .any(|s| any_command(&s.body, pred))
}

fn is_download(name: &str, _args: &[String]) -> bool {
    is_download_program(name)
}

fn word_downloads(w: &Word) -> bool {
    w.subs.iter().any(|s| any_command(&s.body, &is_download))
}

fn word_decodes(w: &Word) -> bool {
    w.subs
        .iter()
        .any(|s| any_command(&s.body, &is_decode_command))
}

impl Scanner {
    fn push(
        &mut self,
        rule: &'static str,
        severity: Severity,
        line: usize,
        command: &str,
        message: String,
    ) {
        self.findings.push(Finding {
            rule,
            severity,
            line,
            command: command.trim().to_string(),
            message,
            fix: fix_for(rule).to_string(),
        });
    }

    /// Scans nested shell text (bounded depth).
    fn text(&mut self, text: &str, first_line: usize) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        let parsed = parse(text);
        let lines = LineIndex::new(text, first_line);
        for p in &parsed.pipelines {
            self.pipeline(p, &parsed, &lines, false);
        }
        self.depth -= 1;
    }

    fn pipeline(&mut self, p: &Pipeline, parsed: &Parsed, lines: &LineIndex, in_subst: bool) {
        for (k, cmd) in p.commands.iter().enumerate() {
            for w in cmd
                .assignments
                .iter()
                .chain(&cmd.words)
                .chain(cmd.redirects.iter().filter_map(|r| r.target.as_ref()))
            {
                for s in &w.subs {
                    for bp in &s.body {
                        self.pipeline(bp, parsed, lines, true);
                    }
                }
            }
            for bp in &cmd.compound {
                self.pipeline(bp, parsed, lines, in_subst);
            }
            let upstream = p.commands.get(..k).unwrap_or(&[]);
            let stdin = stdin_of(cmd, upstream, parsed, lines);
            let consumed = in_subst || k + 1 < p.commands.len();
            let text = if matches!(stdin, Stdin::Download | Stdin::Decode) {
                p.text.as_str()
            } else {
                cmd.text.as_str()
            };
            self.command(cmd, &stdin, lines, text, consumed);
        }
    }

    fn command(
        &mut self,
        cmd: &Command,
        stdin: &Stdin,
        lines: &LineIndex,
        text: &str,
        consumed: bool,
    ) {
        let line = lines.line_of(cmd.start);
        let Some(w0) = cmd.words.first() else { return };
        if !w0.subs.is_empty() && (w0.raw.starts_with("$(") || w0.raw.starts_with('`')) {
            self.subst_exec(w0, line, text, "runs the output of a command substitution");
            return;
        }
        let values: Vec<String> = cmd.words.iter().map(|w| w.value.clone()).collect();
        let un = unwrap(&values);
        let stdout_to = cmd
            .redirects
            .iter()
            .find(|r| (r.op == ">" || r.op == ">>" || r.op == ">|") && r.fd.is_none_or(|f| f == 1))
            .and_then(|r| r.target.as_ref())
            .map(|t| t.value.as_str());
        if let Some(a0) = un.argv.first() {
            let name = program_name(a0);
            let args = un.argv.get(1..).unwrap_or(&[]);
            self.track_files(&name, args, stdout_to, line, consumed);
        }
        let words = un.offset.and_then(|o| cmd.words.get(o..));
        self.argv(&un.argv, words, Some(lines), stdin, line, text);
    }

    fn track_files(
        &mut self,
        name: &str,
        args: &[String],
        stdout_to: Option<&str>,
        line: usize,
        consumed: bool,
    ) {
        if is_download_program(name) {
            let outs = download_outputs(name, args, stdout_to);
            self.files.downloaded(outs, line);
        } else if let Some(ops) = verify_operands(name, args) {
            self.files.verified(&ops, true);
        } else if is_digest_program(name) && consumed {
            self.files.verified(args, false);
        } else if matches!(name, "mv" | "cp" | "install") {
            self.files.copied(name, args);
        }
    }

    /// A word whose substitution output is executed as code.
    fn subst_exec(&mut self, w: &Word, line: usize, text: &str, how: &str) -> bool {
        if word_downloads(w) {
            self.push(
                DOWNLOAD_SUBSTITUTION,
                Severity::Critical,
                line,
                text,
                format!(
                    "{how}, which downloads: remote code runs with no integrity check (CWE-494)"
                ),
            );
            true
        } else if word_decodes(w) {
            self.push(
                DECODE_TO_INTERPRETER,
                Severity::High,
                line,
                text,
                format!(
                    "{how}, which decodes an embedded blob: the code that runs cannot be reviewed"
                ),
            );
            true
        } else {
            false
        }
    }

    /// Analyses one effective argv. `words` are the parsed words aligned with `argv`
    /// (absent for a bare argv).
    #[allow(clippy::too_many_arguments)]
    fn argv(
        &mut self,
        argv: &[String],
        words: Option<&[Word]>,
        lines: Option<&LineIndex>,
        stdin: &Stdin,
        line: usize,
        text: &str,
    ) {
        let Some(a0) = argv.first() else { return };
        let name = program_name(a0);
        let word = |i: usize| words.and_then(|w| w.get(i));
        match name.as_str() {
            "eval" => {
                for i in 1..argv.len() {
                    if let Some(w) = word(i) {
                        if self.subst_exec(w, line, text, "eval runs the output of a substitution")
                        {
                            return;
                        }
                    }
                }
                let code = argv.get(1..).unwrap_or(&[]).join(" ");
                self.text(&code, line);
                return;
            }
            "source" | "." => {
                if let Some(w) = word(1) {
                    if self.subst_exec(w, line, text, "source reads a process substitution") {
                        return;
                    }
                }
                match argv.get(1).map(String::as_str) {
                    Some("/dev/stdin" | "/dev/fd/0" | "-") => {
                        self.stdin_program(Family::Shell, stdin, line, text)
                    }
                    Some(f) => self.exec_file(f, line, text),
                    None => {}
                }
                return;
            }
            "iex" | "invoke-expression" => {
                if matches!(stdin, Stdin::Download) || powershell_download_exec(text) {
                    self.push(
                        POWERSHELL_DOWNLOAD_EXEC,
                        Severity::Critical,
                        line,
                        text,
                        "Invoke-Expression runs downloaded text: remote code with no integrity check (CWE-494)".into(),
                    );
                }
                return;
            }
            _ => {}
        }
        match classify(argv) {
            Some(Invocation::Inline {
                family,
                code,
                idx,
                filter,
                encoded,
            }) => {
                if let Some(w) = word(idx) {
                    let how = format!("{} runs code from a substitution", family.label());
                    if self.subst_exec(w, line, text, &how) {
                        return;
                    }
                }
                if family == Family::Shell {
                    let first = match (word(idx), lines) {
                        (Some(w), Some(l)) => l.line_of(w.start),
                        _ => line,
                    };
                    self.text(&code, first);
                } else {
                    self.inline(family, &code, filter, encoded, line, text);
                }
            }
            Some(Invocation::Stdin { family }) => self.stdin_program(family, stdin, line, text),
            Some(Invocation::Script { family, idx }) => {
                if let Some(w) = word(idx) {
                    if w.subs.iter().any(|s| s.kind == SubstKind::Process) {
                        let how = format!("{} runs a process substitution", family.label());
                        if self.subst_exec(w, line, text, &how) {
                            return;
                        }
                    }
                }
                if let Some(f) = argv.get(idx) {
                    self.exec_file(f, line, text);
                }
            }
            None => self.exec_file(a0, line, text),
        }
    }

    fn exec_file(&mut self, path: &str, line: usize, text: &str) {
        if let Some(d) = self.files.unverified_exec(path) {
            self.push(
                UNVERIFIED_DOWNLOAD_EXEC,
                Severity::High,
                line,
                text,
                format!(
                    "runs {} downloaded on line {} with no checksum or signature check in between (CWE-494)",
                    d.path, d.line
                ),
            );
        }
    }

    fn stdin_program(&mut self, family: Family, stdin: &Stdin, line: usize, text: &str) {
        match stdin {
            Stdin::None => {}
            Stdin::Download => {
                let (rule, what) = if family == Family::PowerShell {
                    (POWERSHELL_DOWNLOAD_EXEC, "PowerShell")
                } else {
                    (PIPE_TO_INTERPRETER, family.label())
                };
                self.push(
                    rule,
                    Severity::Critical,
                    line,
                    text,
                    format!("downloaded bytes are piped into {what}: remote code runs with no integrity check (CWE-494)"),
                );
            }
            Stdin::Decode => self.push(
                DECODE_TO_INTERPRETER,
                Severity::High,
                line,
                text,
                format!(
                    "decoded bytes are piped into {}: the code that runs cannot be reviewed",
                    family.label()
                ),
            ),
            Stdin::Text(code) if family == Family::Shell => self.text(code, line),
            Stdin::Text(code) => self.inline(family, code, false, false, line, text),
            Stdin::Heredoc(body, first) if family == Family::Shell => self.text(body, *first),
            Stdin::Heredoc(body, _) => self.inline(family, body, false, false, line, text),
        }
    }

    fn inline(
        &mut self,
        family: Family,
        code: &str,
        filter: bool,
        encoded: bool,
        line: usize,
        text: &str,
    ) {
        if family == Family::PowerShell && powershell_download_exec(code) {
            self.push(
                POWERSHELL_DOWNLOAD_EXEC,
                Severity::Critical,
                line,
                text,
                "PowerShell code downloads and passes the text to Invoke-Expression (CWE-494)"
                    .into(),
            );
            return;
        }
        let risks = code_risks(code);
        let label = family.label();
        if encoded || risks.any() {
            let mut why = risks.describe();
            if encoded {
                why = if why.is_empty() {
                    "is base64-encoded (-EncodedCommand)".to_string()
                } else {
                    format!("is base64-encoded (-EncodedCommand) and {why}")
                };
            }
            self.push(
                INLINE_CODE,
                Severity::High,
                line,
                text,
                format!("{label} is given inline code that {why}"),
            );
        } else if filter {
            self.push(
                INLINE_FILTER,
                Severity::Low,
                line,
                text,
                format!("{label} filter one-liner (-n/-p/-i with -e): inline code in a build step"),
            );
        } else {
            self.push(
                INLINE_CODE,
                Severity::Medium,
                line,
                text,
                format!(
                    "{label} is given inline code: unreviewed code runs outside any script file"
                ),
            );
        }
    }
}

/// Where `cmd`'s standard input comes from.
fn stdin_of(cmd: &Command, upstream: &[Command], parsed: &Parsed, lines: &LineIndex) -> Stdin {
    for r in cmd.redirects.iter().filter(|r| r.fd.is_none_or(|f| f == 0)) {
        match r.op.as_str() {
            "<<" | "<<-" => {
                if let Some(h) = r.heredoc.and_then(|i| parsed.heredocs.get(i)) {
                    return Stdin::Heredoc(h.body.clone(), lines.line_of(h.start));
                }
            }
            "<<<" | "<" => {
                let Some(t) = &r.target else { continue };
                if word_downloads(t) {
                    return Stdin::Download;
                }
                if word_decodes(t) {
                    return Stdin::Decode;
                }
                if r.op == "<<<" {
                    return Stdin::Text(t.value.clone());
                }
            }
            _ => {}
        }
    }
    if upstream.iter().any(|c| command_matches(c, &is_download)) {
        return Stdin::Download;
    }
    if upstream
        .iter()
        .any(|c| command_matches(c, &is_decode_command))
    {
        return Stdin::Decode;
    }
    if let [only] = upstream {
        let values: Vec<String> = only.words.iter().map(|w| w.value.clone()).collect();
        let name = values.first().map(|a| program_name(a)).unwrap_or_default();
        if name == "echo" || name == "printf" {
            let args: Vec<&String> = values
                .iter()
                .skip(1)
                .skip_while(|a| name == "echo" && a.starts_with('-') && a.len() > 1)
                .collect();
            let text = args
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            return Stdin::Text(text);
        }
    }
    Stdin::None
}
