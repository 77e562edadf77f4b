//! The walk: decides, command by command, which rule (if any) applies.

use super::argv::{classify, unwrap, Invocation};
use super::files::{norm, FileTracker};
use super::functions::{call_operand, var_name, Helpers};
use super::indicators::{
    code_risks, is_decode_command, powershell_download_exec, program_name, Family,
};
use super::parse::{parse, Command, LineIndex, Parsed, Pipeline, SubstKind, Word};
use super::recognise::{extraction, is_package_file, shebang_family};
use super::rules::*;
use super::{Finding, Severity};
use std::borrow::Cow;
use std::collections::HashMap;

mod execs;
mod tracking;

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
struct Scanner<'h> {
    findings: Vec<Finding>,
    files: FileTracker,
    depth: usize,
    /// Shell functions known to download, verify or wrap.
    helpers: Cow<'h, Helpers>,
    /// Simple assignments seen so far (`PY=python3`, `PY=$(command -v python3)`), for
    /// interpreters held in variables.
    vars: HashMap<String, String>,
    /// Variables holding downloaded text (`s=$(curl …)`).
    downloaded_text: Vec<String>,
    /// Files written from a heredoc (`cat > f.sh <<EOF`): body and its first line.
    written: HashMap<String, (String, usize)>,
    /// The line of the last download written to standard output, not yet consumed
    /// (for `{ …; curl URL; } > file`).
    stdout_download: Option<usize>,
    /// The directory `cd`, `pushd` or `Push-Location` last moved into.
    cwd: Option<String>,
    /// Every assignment's value as written, substitutions included
    /// (`F="$(brew --repository)/…/rustup.rb"`), for paths built from commands.
    templates: HashMap<String, String>,
}

impl<'h> Scanner<'h> {
    fn new(helpers: Cow<'h, Helpers>) -> Self {
        Scanner {
            findings: Vec::new(),
            files: FileTracker::default(),
            depth: 0,
            helpers,
            vars: HashMap::new(),
            downloaded_text: Vec::new(),
            written: HashMap::new(),
            stdout_download: None,
            cwd: None,
            templates: HashMap::new(),
        }
    }
}

pub(crate) fn scan_script(text: &str, first_line: usize, helpers: &Helpers) -> Vec<Finding> {
    // Copy the helpers only for a text that defines functions of its own.
    let known = if Helpers::defines_functions(text) {
        let mut own = helpers.clone();
        own.learn(text);
        Cow::Owned(own)
    } else {
        Cow::Borrowed(helpers)
    };
    let mut s = Scanner::new(known);
    s.text(text, first_line);
    s.findings
}

pub(crate) fn scan_argv_words(argv: &[String]) -> Vec<Finding> {
    let mut s = Scanner::new(Cow::Owned(Helpers::default()));
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
    let mut un = unwrap(&values);
    // `$SUDO curl …`: a prefix held in a variable.
    if un.argv.first().is_some_and(|a| a.starts_with('$')) && un.argv.len() > 1 {
        un = unwrap(&un.argv[1..]);
    }
    // `curl URL > f` writes nothing to the pipe or the substitution.
    let to_file = c
        .redirects
        .iter()
        .any(|r| matches!(r.op.as_str(), ">" | ">>" | ">|" | "&>") && r.fd.is_none_or(|f| f == 1));
    let hit = !to_file
        && un
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

/// Whether `name args…` writes downloaded bytes to standard output, through a wrapper
/// helper too (`ensure curl -fsSL URL | sh`).
fn downloads_to_stdout(h: &Helpers, name: &str, args: &[String]) -> bool {
    h.prints_download(name)
        || h.get(name).is_some_and(|t| t.wraps)
            && args
                .first()
                .is_some_and(|a| h.prints_download(&program_name(a)))
}

fn word_downloads(w: &Word, h: &Helpers) -> bool {
    w.subs
        .iter()
        .any(|s| any_command(&s.body, &|n, a| downloads_to_stdout(h, n, a)))
}

fn word_decodes(w: &Word) -> bool {
    w.subs
        .iter()
        .any(|s| any_command(&s.body, &is_decode_command))
}

impl Scanner<'_> {
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
        // What the commands before this one feed into the pipe, kept as the walk goes
        // (linear in the pipeline's length).
        let mut upstream_flags = Upstream::default();
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
            // `(Get-FileHash $f).Hash -ne $x`: a group followed by words is a value.
            let used = in_subst || !cmd.words.is_empty();
            // A subshell's `cd` ends with it (a `{ …; }` group is not a subshell, but
            // the parser does not tell them apart: the directory is forgotten, never
            // taken further than it goes).
            let cwd = self.cwd.clone();
            for bp in &cmd.compound {
                self.pipeline(bp, parsed, lines, used);
            }
            if !cmd.compound.is_empty() && self.cwd != cwd {
                self.cwd = None;
            }
            let upstream = p.commands.get(..k).unwrap_or(&[]);
            let stdin = stdin_of(cmd, upstream, upstream_flags, parsed, lines, &self.helpers);
            upstream_flags.downloads |=
                command_matches(cmd, &|n, a| downloads_to_stdout(&self.helpers, n, a));
            upstream_flags.decodes |= command_matches(cmd, &is_decode_command);
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
        self.assignments(&cmd.assignments, line);
        if cmd.words.is_empty() {
            // `PATH=$dir/bin:$PATH`
            let values: Vec<String> = cmd.assignments.iter().map(|w| w.value.clone()).collect();
            self.path_addition("export", &values, None, line, text);
        }
        if cmd
            .assignments
            .last()
            .is_some_and(|a| a.raw.ends_with("=("))
        {
            // `a=( $(cmd) … )`: an array's values, not a command.
            return;
        }
        if cmd.words.is_empty() && cmd.closes_group {
            // `{ …; curl URL; } > file`: the group's output, the download, goes to `file`.
            let to = cmd
                .redirects
                .iter()
                .find(|r| matches!(r.op.as_str(), ">" | ">>" | ">|") && r.fd.is_none_or(|f| f == 1))
                .and_then(|r| r.target.as_ref());
            if let (Some(t), Some(at)) = (to, self.stdout_download.take()) {
                self.files.downloaded(vec![norm(&t.value)], at);
            }
        }
        let Some(w0) = cmd.words.first() else { return };
        if !w0.subs.is_empty() && (w0.raw.starts_with("$(") || w0.raw.starts_with('`')) {
            self.subst_exec(w0, line, text, "runs the output of a command substitution");
            return;
        }
        let values: Vec<String> = cmd.words.iter().map(|w| w.value.clone()).collect();
        let mut un = unwrap(&values);
        // Wrapper functions (`ensure curl …`, `retry 3 …` defined as `"$@"`) run their
        // arguments: look through them like through `env`.
        for _ in 0..4 {
            let wraps = un
                .argv
                .first()
                .and_then(|a| self.helpers.get(a))
                .is_some_and(|t| t.wraps);
            if !wraps {
                break;
            }
            let inner = unwrap(un.argv.get(1..).unwrap_or(&[]));
            un.offset = un.offset.zip(inner.offset).map(|(a, b)| a + 1 + b);
            un.argv = inner.argv;
        }
        if let Some(a0) = un.argv.first().cloned() {
            if matches!(
                a0.as_str(),
                "local" | "export" | "declare" | "typeset" | "readonly"
            ) {
                let words = un
                    .offset
                    .and_then(|o| cmd.words.get(o + 1..))
                    .unwrap_or(&[]);
                self.assignments(words, line);
                let values: Vec<String> = words.iter().map(|w| w.value.clone()).collect();
                self.path_addition("export", &values, None, line, text);
                return;
            }
            if let Some(prog) = self.program_in_variable(&a0) {
                un.argv[0] = prog;
            } else if a0.starts_with('$') && un.argv.get(1).is_some_and(|a| self.known_program(a)) {
                // `$SUDO bash -`, `$maybe_sudo sh get.sh`: a prefix held in a variable.
                let inner = unwrap(un.argv.get(1..).unwrap_or(&[]));
                un.offset = un.offset.zip(inner.offset).map(|(a, b)| a + 1 + b);
                un.argv = inner.argv;
            }
        }
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
            // A helper that runs the file one of its parameters names.
            if let Some(p) = self.helpers.get(&name).and_then(|t| t.runs_param) {
                if let Some(f) = call_operand(&p, args).cloned() {
                    self.exec_file(&f, None, line, text);
                }
            }
            self.conditional_installer(&name, args, line, text);
            self.path_addition(&name, args, stdout_to, line, text);
            if let Some(mut dest) = extraction(&name, args) {
                dest.archive = dest.archive.map(|a| self.resolve_leading_var(&a));
                self.files.unpacked(
                    dest.archive.as_deref(),
                    dest.dir,
                    dest.member.as_deref(),
                    matches!(stdin, Stdin::Download),
                    line,
                );
            }
            if let Stdin::Heredoc(body, first) = stdin {
                let targets: Vec<&str> = match name.as_str() {
                    "cat" => stdout_to.into_iter().collect(),
                    "tee" => args
                        .iter()
                        .filter(|a| !a.starts_with('-'))
                        .map(String::as_str)
                        .collect(),
                    _ => Vec::new(),
                };
                for t in targets {
                    let shell_script = [".sh", ".bash", ".zsh", ".ksh"]
                        .iter()
                        .any(|e| t.ends_with(e))
                        || shebang_family(body) == Some(Family::Shell);
                    if shell_script {
                        // A shell script written here is code of this pipeline, wherever
                        // (a later step, another job) it is run.
                        self.text(body, *first);
                    } else {
                        self.written.insert(norm(t), (body.clone(), *first));
                    }
                }
            }
        }
        let words = un.offset.and_then(|o| cmd.words.get(o..));
        self.argv(&un.argv, words, Some(lines), stdin, line, text);
    }

    /// A word whose substitution output is executed as code.
    fn subst_exec(&mut self, w: &Word, line: usize, text: &str, how: &str) -> bool {
        if word_downloads(w, &self.helpers) {
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
                if self.runs_downloaded_text(&code, line, text, "eval") {
                    return;
                }
                self.text(&code, line);
                return;
            }
            "alias" => {
                // `alias cget='curl … | php'`: the value runs whenever the alias is used.
                for a in argv.iter().skip(1) {
                    if let Some((_, value)) = a.split_once('=') {
                        self.text(value, line);
                    }
                }
                return;
            }
            "dpkg" | "rpm" | "installer" | "msiexec" | "start-process" | "apt" | "apt-get"
            | "yum" | "dnf" | "zypper" | "brew" => {
                // Installing a package file runs its maintainer scripts (a Homebrew
                // formula or cask file is Ruby code).
                let brew = name == "brew";
                for a in argv
                    .iter()
                    .skip(1)
                    .filter(|a| is_package_file(a) || brew && a.ends_with(".rb"))
                {
                    self.exec_file(a, None, line, text);
                }
                if brew
                    && argv
                        .get(1)
                        .is_some_and(|a| a == "install" || a == "reinstall")
                {
                    // `curl -o $TAP/Formula/r/rustup.rb URL` then `brew install rustup`.
                    for a in argv.iter().skip(2).filter(|a| !a.starts_with('-')) {
                        if let Some(f) = self.tap_formula(a) {
                            self.exec_file(&f, None, line, text);
                        }
                    }
                }
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
                    Some(f) => self.exec_file(f, Some(Family::Shell), line, text),
                    None => {}
                }
                return;
            }
            "cmd" => {
                // `cmd /c LINE…`, `cmd /k LINE…`: the rest is one command line.
                let at = argv
                    .iter()
                    .position(|a| a.eq_ignore_ascii_case("/c") || a.eq_ignore_ascii_case("/k"));
                if let Some(at) = at {
                    let code = argv.get(at + 1..).unwrap_or(&[]).join(" ");
                    self.text(&code, line);
                }
                return;
            }
            "iex" | "invoke-expression" => {
                // `$s = irm URL` then `Invoke-Expression $s`.
                let held = argv
                    .iter()
                    .skip(1)
                    .any(|a| self.downloaded_text.contains(&var_name(a)));
                if held || matches!(stdin, Stdin::Download) || powershell_download_exec(text) {
                    self.push(
                        POWERSHELL_DOWNLOAD_EXEC,
                        Severity::Critical,
                        line,
                        text,
                        "Invoke-Expression runs downloaded text: remote code with no integrity check (CWE-494)".into(),
                    );
                } else if let [code] = argv.get(1..).unwrap_or(&[]) {
                    // `Invoke-Expression .\setup.ps1`, `Invoke-Expression "bash ./setup.sh"`:
                    // the string is a command line.
                    if !code.starts_with('$') {
                        self.text(code, line);
                    }
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
                    if self.runs_downloaded_text(&code, line, text, "sh -c") {
                        return;
                    }
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
                    self.exec_file(f, Some(family), line, text);
                }
            }
            None => self.exec_file(a0, None, line, text),
        }
    }

    /// Whether `word` names an interpreter, a download program or a learnt helper.
    fn known_program(&self, word: &str) -> bool {
        let name = program_name(word);
        super::indicators::family(&name).is_some()
            || super::indicators::is_download_program(&name)
            || self.helpers.get(&name).is_some()
            || matches!(name.as_str(), "sudo" | "env" | "doas")
    }

    /// `code` is just `$v` for a variable holding downloaded text (`s=$(curl …)`).
    fn runs_downloaded_text(&mut self, code: &str, line: usize, text: &str, how: &str) -> bool {
        let name = var_name(code.trim());
        if name.is_empty() || !self.downloaded_text.contains(&name) {
            return false;
        }
        self.push(
            DOWNLOAD_SUBSTITUTION,
            Severity::Critical,
            line,
            text,
            format!("{how} runs ${name}, which holds downloaded text: remote code runs with no integrity check (CWE-494)"),
        );
        true
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
            Stdin::Text(code) if self.runs_downloaded_text(code, line, text, family.label()) => {}
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
/// Whether any command before this one in its pipeline downloads to, or decodes onto,
/// its standard output.
#[derive(Debug, Default, Clone, Copy)]
struct Upstream {
    downloads: bool,
    decodes: bool,
}

fn stdin_of(
    cmd: &Command,
    upstream: &[Command],
    flags: Upstream,
    parsed: &Parsed,
    lines: &LineIndex,
    h: &Helpers,
) -> Stdin {
    for r in cmd.redirects.iter().filter(|r| r.fd.is_none_or(|f| f == 0)) {
        match r.op.as_str() {
            "<<" | "<<-" => {
                if let Some(h) = r.heredoc.and_then(|i| parsed.heredocs.get(i)) {
                    return Stdin::Heredoc(h.body.clone(), lines.line_of(h.start));
                }
            }
            "<<<" | "<" => {
                let Some(t) = &r.target else { continue };
                if word_downloads(t, h) {
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
    if flags.downloads {
        return Stdin::Download;
    }
    if flags.decodes {
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
