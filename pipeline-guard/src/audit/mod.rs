//! `pipeline-guard audit`: finds code on the fly (inline interpreter code, download-and-execute,
//! decoded blobs executed, unverified downloads run) in release pipeline files before a
//! build is signed.
//!
//! The detection itself is `crate::detect` (pure, shared with install hooks and the run-time
//! watcher). This module only knows files: it discovers them ([`discover()`]), takes the shell
//! text out of each kind of pipeline file with the line it starts on ([`scan_text`]), and
//! reports ([`report`]) with an allow-list of accepted findings ([`allow`]). The command
//! line is in [`cli`].

pub mod allow;
pub mod cli;
pub mod discover;
mod docker;
mod jenkins;
mod make;
mod npm;
mod powershell;
pub mod report;
mod windows;
mod yaml;

use crate::detect::{self as guard, Finding};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub use discover::{detect_kind, discover, Kind};

/// One finding in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFinding {
    /// The file, as a relative path with `/` separators when the audited path was relative.
    pub file: String,
    /// What was found (line numbers are 1-based lines of `file`).
    #[serde(flatten)]
    pub finding: Finding,
}

/// The result of auditing some paths.
#[derive(Debug, Default, Clone)]
pub struct Audit {
    /// Every finding, by file (in discovery order) then line.
    pub findings: Vec<FileFinding>,
    /// Files that were scanned, with their kind.
    pub files: Vec<(String, Kind)>,
    /// Lines read in total.
    pub lines: usize,
    /// Paths that could not be read, walked or classified (each makes the exit code 2).
    pub errors: Vec<String>,
}

/// Display form of a path: `/` separators, no leading `./`.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    let mut t = s.as_str();
    while let Some(r) = t.strip_prefix("./") {
        t = r;
    }
    t.to_string()
}

/// Audits files and directories. Directories are walked (skipping `.git`, `target`,
/// `node_modules` and any path under one of `exclude`); files named explicitly must be of a
/// known [`Kind`]. Never fails as a whole: problems are collected in [`Audit::errors`].
pub fn audit(paths: &[PathBuf], exclude: &[PathBuf]) -> Audit {
    let mut out = Audit::default();
    let (files, errors) = discover(paths, exclude);
    out.errors = errors;
    // Shell functions are learnt from every shell script first: installers call helpers
    // (`download_with_retry`, `use_checksum_comparison`) that a sourced file defines.
    let mut helpers = guard::Helpers::default();
    let mut texts = Vec::with_capacity(files.len());
    for (path, kind) in &files {
        let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned());
        match (&text, kind) {
            (Ok(t), Kind::Shell) => helpers.learn_shared(t),
            (Ok(t), Kind::PowerShell) => helpers.learn_shared(&powershell::as_shell(t)),
            _ => {}
        }
        texts.push(text);
    }
    // Again, now that every helper is known: a helper's traits can depend on a helper
    // defined later or in another file (`Install-Binary` calls `Invoke-DownloadWithRetry`).
    for ((_, kind), text) in files.iter().zip(&texts) {
        match (text, kind) {
            (Ok(t), Kind::Shell) if guard::Helpers::defines_functions(t) => helpers.learn_shared(t),
            (Ok(t), Kind::PowerShell) if guard::Helpers::defines_functions(t) => {
                helpers.learn_shared(&powershell::as_shell(t))
            }
            _ => {}
        }
    }
    helpers.freeze();
    for ((path, kind), text) in files.into_iter().zip(texts) {
        let name = display_path(&path);
        match text {
            Ok(text) => {
                out.lines += text.lines().count();
                for finding in scan_text_with(kind, &text, &helpers) {
                    out.findings.push(FileFinding {
                        file: name.clone(),
                        finding,
                    });
                }
                out.files.push((name, kind));
            }
            Err(e) => out.errors.push(format!("{name}: cannot read: {e}")),
        }
    }
    out
}

/// Scans the text of one file of the given kind; findings carry the file's line numbers,
/// in line order.
pub fn scan_text(kind: Kind, text: &str) -> Vec<Finding> {
    scan_text_with(kind, text, &guard::Helpers::default())
}

/// [`scan_text`], with the shell functions learnt from other files known in shell scripts.
pub fn scan_text_with(kind: Kind, text: &str, helpers: &guard::Helpers) -> Vec<Finding> {
    let mut findings = match kind {
        Kind::Shell => guard::scan_shell_with(text, 1, helpers),
        Kind::Makefile => make::scan_makefile(text),
        Kind::Justfile => make::scan_justfile(text),
        Kind::Dockerfile => docker::scan(text),
        Kind::GithubActions => yaml::scan_github(text),
        Kind::GitlabCi => yaml::scan_gitlab(text),
        Kind::Batch => windows::scan_batch(text, 1),
        Kind::PowerShell => powershell::scan(text, 1, helpers),
        Kind::AzurePipelines => yaml::scan_azure(text),
        Kind::CircleCi => yaml::scan_circleci(text),
        Kind::Jenkinsfile => jenkins::scan(text),
        Kind::Bitbucket | Kind::Travis | Kind::Buildkite | Kind::Drone => {
            yaml::scan_lists(kind, text)
        }
        Kind::PackageJson => npm::scan(text),
    };
    findings.sort_by_key(|f| f.line);
    findings.dedup_by(|a, b| a.line == b.line && a.rule == b.rule && a.command == b.command);
    findings
}

/// How a block of code is run, for code that is not plain shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// POSIX-ish shell (sh, bash, zsh, dash, ksh).
    Shell,
    /// PowerShell (`pwsh`, `powershell`).
    PowerShell,
    /// Windows `cmd`: not scanned.
    Cmd,
    /// Another interpreter (python, perl, node, ruby, …): the whole block is inline code.
    Other,
}

/// Classifies an interpreter name or shebang/`shell:` command (`/usr/bin/env python3`,
/// `bash -e {0}`, `pwsh`) and gives the program name. A command that is no interpreter
/// itself is searched for one it runs (`script -q -e -c "bash {0}"`, `wsl-bash {0}`);
/// one that names none at all is read as shell, so its steps are still scanned.
pub(crate) fn classify_interpreter(spec: &str) -> (Lang, String) {
    let words: Vec<&str> = spec
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let base = |p: &str| {
        let b = p
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(p)
            .to_ascii_lowercase();
        b.strip_suffix(".exe").map(str::to_string).unwrap_or(b)
    };
    let lang_of = |name: &str| -> Option<Lang> {
        let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        match stem {
            "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "mksh" | "" => Some(Lang::Shell),
            "pwsh" | "powershell" => Some(Lang::PowerShell),
            "cmd" => Some(Lang::Cmd),
            _ if stem.ends_with("-bash") || stem.ends_with("-sh") => Some(Lang::Shell),
            _ if guard::is_interpreter(name) => Some(Lang::Other),
            _ => None,
        }
    };
    let mut first = words.first().map(|w| base(w)).unwrap_or_default();
    if first == "env" {
        first = words
            .iter()
            .skip(1)
            .find(|w| !w.starts_with('-') && !w.contains('='))
            .map(|w| base(w))
            .unwrap_or_default();
    }
    if let Some(lang) = lang_of(&first) {
        return (lang, first);
    }
    for w in words.iter().skip(1).filter(|w| !w.starts_with('-')) {
        let name = base(w);
        if let Some(lang) = lang_of(&name).filter(|_| !name.is_empty()) {
            return (lang, name);
        }
    }
    (Lang::Shell, "sh".to_string())
}

/// Scans a block of code in the given language whose first line is `first_line`;
/// `handover_line` is where the block is handed to its interpreter (used for
/// [`Lang::Other`], where the whole block is one piece of inline code).
pub(crate) fn scan_block(
    lang: Lang,
    program: &str,
    code: &str,
    first_line: usize,
    handover_line: usize,
) -> Vec<Finding> {
    match lang {
        Lang::Shell => guard::scan_shell(code, first_line),
        Lang::Cmd => windows::scan_batch(code, first_line),
        Lang::PowerShell => powershell::scan(code, first_line, &guard::Helpers::default()),
        Lang::Other => {
            let argv = guard::inline_argv(program, code);
            let mut fs = guard::scan_argv(&argv);
            for f in &mut fs {
                f.line = handover_line;
                f.command = format!("{program} script block ({} lines)", code.lines().count());
            }
            fs
        }
    }
}

/// Adds a GUARD007 finding for each line of `code` that downloads and passes the text to
/// `Invoke-Expression`, unless one is already reported on that line.
pub(crate) fn add_powershell_lines(out: &mut Vec<Finding>, code: &str, first_line: usize) {
    for (i, line) in code.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        // Cheap pre-check: no Invoke-Expression, no GUARD007.
        let lower = t.to_ascii_lowercase();
        if !(lower.contains("iex")
            || lower.contains("invoke-expression")
            || lower.contains("scriptblock"))
        {
            continue;
        }
        let n = first_line + i;
        for mut f in guard::scan_argv(&["pwsh", "-Command", t]) {
            if f.rule == guard::rules::POWERSHELL_DOWNLOAD_EXEC
                && !out.iter().any(|o| o.line == n && o.rule == f.rule)
            {
                f.line = n;
                f.command = t.to_string();
                out.push(f);
            }
        }
    }
}

/// Replaces each `open … close` span (on one line) with `with`; used for template
/// expressions (`${{ … }}`, `{{ … }}`) that are not shell.
pub(crate) fn replace_spans(text: &str, open: &str, close: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(open) {
        let after = &rest[i + open.len()..];
        match after.find(close) {
            Some(j) if !after[..j].contains('\n') => {
                out.push_str(&rest[..i]);
                out.push_str(with);
                rest = &after[j + close.len()..];
            }
            _ => {
                out.push_str(&rest[..i + open.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
