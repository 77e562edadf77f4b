//! GitHub Actions `run:` steps and GitLab CI `script:`/`before_script:`/`after_script:`
//! lists, taken out of the YAML with the file line each script line is on.
//!
//! # Why a line-based extractor and not a YAML crate
//!
//! The scanner needs the *source line* of every line of a script, inside block scalars
//! (`|`, `>`) and multi-line plain scalars. `serde_yaml` (deprecated) gives no positions
//! at all; `yaml-rust2`/`saphyr` give a start marker per scalar event, but only the
//! folded/unescaped value, so lines inside a folded scalar (`>`) or after blank lines and
//! chomping cannot be mapped back, and `marked-yaml` has the same limit. What we need is
//! narrow: a handful of keys whose values are strings or lists of strings. So this module
//! reads those keys line by line, following YAML's indentation rules for block scalars,
//! plain and quoted scalars and block sequences, and keeps each script line on its own
//! source line (folded line breaks become shell `\` continuations). It never fails: what it
//! cannot read (anchors, `!reference`, flow mappings) is skipped.

use super::{add_powershell_lines, classify_interpreter, replace_spans, scan_block, Kind, Lang};
use crate::detect::Finding;

/// A key on a line: its column, name, the rest of the line after `:`, and whether the
/// line starts a sequence item (`- key: value`).
struct KeyLine<'a> {
    col: usize,
    key: &'a str,
    value: &'a str,
    item: bool,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn key_line(line: &str) -> Option<KeyLine<'_>> {
    let mut col = indent(line);
    let mut rest = &line[col..];
    let mut item = false;
    while let Some(r) = rest.strip_prefix('-') {
        if !(r.starts_with(' ') || r.is_empty()) {
            break;
        }
        let spaces = r.len() - r.trim_start_matches(' ').len();
        col += 1 + spaces;
        rest = &r[spaces..];
        item = true;
    }
    let (key, after) = if let Some(q) = rest.strip_prefix('"') {
        let end = q.find('"')?;
        (&q[..end], q[end + 1..].strip_prefix(':')?)
    } else {
        let colon = rest.find(':')?;
        let key = &rest[..colon];
        if key.is_empty() || key.contains([' ', '#', '\'', '"', '{', '[']) {
            return None;
        }
        (key, &rest[colon + 1..])
    };
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    Some(KeyLine {
        col,
        key,
        value: after.trim(),
        item,
    })
}

/// One scalar taken out of the YAML: text whose first line is file line `line` (1-based).
struct Scalar {
    text: String,
    line: usize,
}

/// Whether `value` (after the key's colon) is a block scalar header (`|`, `>-`, `|2+`, …).
fn block_header(value: &str) -> Option<(bool, Option<usize>)> {
    let head = value.split(" #").next().unwrap_or(value).trim();
    let mut chars = head.chars();
    let folded = match chars.next()? {
        '|' => false,
        '>' => true,
        _ => return None,
    };
    let mut explicit = None;
    for c in chars {
        match c {
            '+' | '-' => {}
            d @ '1'..='9' => explicit = Some(d as usize - '0' as usize),
            _ => return None,
        }
    }
    Some((folded, explicit))
}

/// Reads a block scalar whose header is on line `at` (0-based) and whose parent node is
/// indented `parent`. Returns the scalar and the index of the first line after it.
fn block_scalar(
    lines: &[&str],
    at: usize,
    parent: usize,
    folded: bool,
    explicit: Option<usize>,
) -> (Scalar, usize) {
    let mut j = at + 1;
    let content_indent = explicit.map(|e| parent + e).or_else(|| {
        lines[j.min(lines.len())..]
            .iter()
            .find(|l| !l.trim().is_empty())
            .map(|l| indent(l))
            .filter(|&n| n > parent)
    });
    let mut body: Vec<String> = Vec::new();
    if let Some(ci) = content_indent {
        while j < lines.len() {
            let l = lines[j];
            if l.trim().is_empty() {
                body.push(String::new());
            } else if indent(l) >= ci {
                body.push(l[ci..].to_string());
            } else {
                break;
            }
            j += 1;
        }
    }
    while body.last().is_some_and(String::is_empty) {
        body.pop();
        j -= 1;
    }
    let end = j;
    if folded {
        // Folding joins neighbouring non-empty, not more-indented lines with a space:
        // a shell line continuation does the same and keeps every line where it is.
        let n = body.len();
        for k in 0..n.saturating_sub(1) {
            let joins = |s: &String| !s.is_empty() && !s.starts_with([' ', '\t']);
            if joins(&body[k]) && joins(&body[k + 1]) {
                body[k].push_str(" \\");
            }
        }
    }
    (
        Scalar {
            text: body.join("\n"),
            line: at + 2,
        },
        end.max(at + 1),
    )
}

/// Reads a flow scalar (plain, `"…"` or `'…'`) starting at `value` on line `at`, with its
/// continuation lines (indented more than `parent`). Line breaks inside become shell line
/// continuations so that each piece stays on its line.
fn flow_scalar(lines: &[&str], at: usize, parent: usize, value: &str) -> (Scalar, usize) {
    let mut j = at + 1;
    let mut src: Vec<&str> = vec![value];
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'');
    // Whether the quote closes in `s` (the opening quote already skipped); each line is
    // read once, so an unclosed scalar costs linear time.
    let closes = |s: &str, q: char| -> bool {
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if q == '"' && c == '\\' {
                chars.next();
            } else if c == q {
                if q == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    return true;
                }
            }
        }
        false
    };
    match quote {
        Some(q) => {
            let mut closed = closes(value.get(1..).unwrap_or(""), q);
            while !closed && j < lines.len() {
                let l = lines[j].trim();
                src.push(l);
                closed = closes(l, q);
                j += 1;
            }
        }
        None => {
            while j < lines.len()
                && !lines[j].trim().is_empty()
                && indent(lines[j]) > parent
                && !lines[j].trim_start().starts_with('#')
            {
                src.push(lines[j].trim());
                j += 1;
            }
        }
    }
    let text = match quote {
        Some('"') => unquote_double(&src),
        Some(_) => unquote_single(&src),
        None => src
            .iter()
            .map(|s| s.split(" #").next().unwrap_or(s).trim_end())
            .collect::<Vec<_>>()
            .join(" \\\n"),
    };
    (Scalar { text, line: at + 1 }, j)
}

fn unquote_double(src: &[&str]) -> String {
    let joined = src.join(" \\\n");
    let mut out = String::new();
    let mut chars = joined.chars().skip(1);
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\n') => out.push_str("\\\n"),
                Some(o) => out.push(o),
                None => {}
            },
            o => out.push(o),
        }
    }
    out
}

fn unquote_single(src: &[&str]) -> String {
    let joined = src.join(" \\\n");
    let mut out = String::new();
    let mut chars = joined.chars().skip(1).peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            break;
        }
        out.push(c);
    }
    out
}

/// Reads the value of a key (or a sequence item) on line `at`: a string, or (with
/// `allow_list`) a block sequence or flow sequence of strings. Returns the scalars and the
/// index of the first line after the value.
fn read_value(
    lines: &[&str],
    at: usize,
    parent: usize,
    value: &str,
    allow_list: bool,
) -> (Vec<Scalar>, usize) {
    if value.starts_with('*') || value.starts_with('!') || value.starts_with('&') {
        return (Vec::new(), at + 1);
    }
    if let Some((folded, explicit)) = block_header(value) {
        let (s, end) = block_scalar(lines, at, parent, folded, explicit);
        return (vec![s], end);
    }
    if value.starts_with('[') {
        let items = if allow_list {
            serde_json::from_str::<Vec<String>>(value).unwrap_or_default()
        } else {
            Vec::new()
        };
        let out = items
            .into_iter()
            .map(|text| Scalar { text, line: at + 1 })
            .collect();
        return (out, at + 1);
    }
    if !value.is_empty() && !value.starts_with('#') {
        let (s, end) = flow_scalar(lines, at, parent, value);
        return (vec![s], end);
    }
    if !allow_list {
        return (Vec::new(), at + 1);
    }
    // A block sequence: items at column >= parent, each `- value`.
    let mut out = Vec::new();
    let mut j = at + 1;
    while j < lines.len() {
        let l = lines[j];
        if is_blank_or_comment(l) {
            j += 1;
            continue;
        }
        let col = indent(l);
        let t = &l[col..];
        if col < parent || !(t.starts_with("- ") || t == "-") {
            break;
        }
        let item = t[1..].trim_start();
        if item.starts_with("- ") {
            j += 1;
            continue; // a nested list (from !reference): not read
        }
        let (mut scalars, end) = read_value(lines, j, col, item, false);
        out.append(&mut scalars);
        j = end.max(j + 1);
    }
    (out, j)
}

/// How many lines around a key [`sibling`] looks at.
const SIBLING_SPAN: usize = 200;

/// The value of sibling `key` in the mapping that holds the key on line `at` (column `col`).
fn sibling(lines: &[&str], at: usize, col: usize, key: &str) -> Option<String> {
    fn check<'a>(l: &'a str, col: usize, key: &str) -> Option<KeyLine<'a>> {
        key_line(l).filter(|k| k.col == col && k.key == key)
    }
    // Upwards to the start of the mapping (the `- ` item line or a shallower line).
    let starts_item = key_line(lines[at]).is_some_and(|k| k.item);
    let mut j = at;
    // Bounded both ways: a mapping's keys are near each other, and an unbounded search
    // from every key of a long file would be quadratic.
    let floor = at.saturating_sub(SIBLING_SPAN);
    while j > floor && !starts_item {
        j -= 1;
        let l = lines[j];
        if is_blank_or_comment(l) {
            continue;
        }
        if let Some(k) = check(l, col, key) {
            return Some(k.value.to_string());
        }
        let kl = key_line(l);
        if kl.as_ref().is_some_and(|k| k.col == col && k.item) || indent(l) < col {
            break;
        }
    }
    for l in lines.iter().skip(at + 1).take(SIBLING_SPAN) {
        if is_blank_or_comment(l) {
            continue;
        }
        if indent(l) < col {
            break;
        }
        if let Some(k) = check(l, col, key) {
            return Some(k.value.to_string());
        }
        if key_line(l).is_some_and(|k| k.col == col && k.item) {
            break;
        }
    }
    None
}

/// Calls `f(key line, key, column, value)` for each key in `keys`, skipping the contents of
/// every block scalar so that text inside one is never taken for a key.
fn for_each_key(
    lines: &[&str],
    keys: &[&str],
    mut f: impl FnMut(usize, &str, usize, &str) -> usize,
) {
    let mut i = 0;
    while i < lines.len() {
        let Some(k) = key_line(lines[i]) else {
            i += 1;
            continue;
        };
        if keys.contains(&k.key) {
            let end = f(i, k.key, k.col, k.value);
            i = end.max(i + 1);
        } else if let Some((folded, explicit)) = block_header(k.value) {
            i = block_scalar(lines, i, k.col, folded, explicit).1.max(i + 1);
        } else {
            i += 1;
        }
    }
}

/// Scans the `run:` steps of a GitHub Actions workflow or composite action.
pub(crate) fn scan_github(text: &str) -> Vec<Finding> {
    let text = replace_spans(text, "${{", "}}", "GHA_EXPR");
    let lines: Vec<&str> = text.lines().collect();
    // `defaults: run: shell: X`, at workflow level (the whole file) or in a job (that job).
    let mut defaults: Vec<(usize, usize, usize, String)> = Vec::new();
    for_each_key(&lines, &["defaults"], |i, _, col, _| {
        let mut shell = None;
        for l in lines.iter().skip(i + 1) {
            if is_blank_or_comment(l) {
                continue;
            }
            if indent(l) <= col {
                break;
            }
            if let Some(k) = key_line(l).filter(|k| k.key == "shell") {
                shell = Some(k.value.to_string());
                break;
            }
        }
        let Some(shell) = shell else { return i + 1 };
        // The mapping `defaults:` is in: from its parent key to the next line as shallow.
        let parent = (0..i)
            .rev()
            .find(|&j| !is_blank_or_comment(lines[j]) && indent(lines[j]) < col);
        let (start, end) = match parent {
            None => (0, lines.len()),
            Some(p) => {
                let pi = indent(lines[p]);
                let end = (p + 1..lines.len())
                    .find(|&j| !is_blank_or_comment(lines[j]) && indent(lines[j]) <= pi)
                    .unwrap_or(lines.len());
                (p, end)
            }
        };
        defaults.push((start, end, col, shell));
        i + 1
    });
    let default_shell = |at: usize| -> Option<String> {
        defaults
            .iter()
            .filter(|(s, e, _, _)| (*s..*e).contains(&at))
            .max_by_key(|(_, _, col, _)| *col)
            .map(|(_, _, _, sh)| sh.clone())
    };
    let mut findings = Vec::new();
    for_each_key(&lines, &["run"], |i, _, col, value| {
        let (scalars, end) = read_value(&lines, i, col, value, false);
        let shell = sibling(&lines, i, col, "shell").or_else(|| default_shell(i));
        let shell = shell.map(|s| s.trim_matches(['"', '\'']).to_string());
        let (lang, prog) = match &shell {
            Some(s) => classify_interpreter(s),
            None => (Lang::Shell, "bash".to_string()),
        };
        for s in scalars {
            let mut fs = scan_block(lang, &prog, &s.text, s.line, i + 1);
            if shell.is_none() {
                // Windows runners default to pwsh: check PowerShell download-and-execute too.
                add_powershell_lines(&mut fs, &s.text, s.line);
            }
            findings.extend(fs);
        }
        end
    });
    findings
}

/// Scans the `script:`, `before_script:` and `after_script:` lists of a GitLab CI file.
pub(crate) fn scan_gitlab(text: &str) -> Vec<Finding> {
    let lines: Vec<&str> = text.lines().collect();
    scan_keys(
        &lines,
        &["script", "before_script", "after_script"],
        &|_, _, _| (Lang::Shell, "sh".into()),
    )
}

/// Scans the script keys of a CI system whose steps are strings or lists of strings run
/// by a shell: Bitbucket, Travis, Buildkite and Drone.
pub(crate) fn scan_lists(kind: Kind, text: &str) -> Vec<Finding> {
    let keys: &[&str] = match kind {
        Kind::Bitbucket => &["script", "after-script"],
        Kind::Travis => &[
            "before_install",
            "install",
            "before_script",
            "script",
            "after_success",
            "after_failure",
            "after_script",
            "before_deploy",
            "after_deploy",
            "before_cache",
        ],
        Kind::Buildkite => &["command", "commands"],
        _ => &["commands"],
    };
    let text = replace_spans(text, "${{", "}}", "CI_EXPR");
    let lines: Vec<&str> = text.lines().collect();
    scan_keys(&lines, keys, &|_, _, _| (Lang::Shell, "sh".into()))
}

/// Scans an Azure Pipelines file: `script:` and `bash:` steps (shell), `pwsh:` and
/// `powershell:` steps, and the `script:`/`inlineScript:` inputs of tasks.
pub(crate) fn scan_azure(text: &str) -> Vec<Finding> {
    let text = replace_spans(text, "${{", "}}", "AZURE_EXPR");
    let lines: Vec<&str> = text.lines().collect();
    scan_keys(
        &lines,
        &["script", "bash", "pwsh", "powershell", "inlineScript"],
        &|key, at, col| match key {
            "pwsh" | "powershell" => (Lang::PowerShell, "pwsh".into()),
            // AzureCLI@2 says which shell runs its inline script; AzurePowerShell's is
            // PowerShell.
            "inlineScript" => match sibling(&lines, at, col, "scriptType").as_deref() {
                Some("bash" | "'bash'" | "\"bash\"") => (Lang::Shell, "bash".into()),
                Some("batch") => (Lang::Cmd, "cmd".into()),
                _ => (Lang::PowerShell, "pwsh".into()),
            },
            _ => (Lang::Shell, "bash".into()),
        },
    )
}

/// Scans a CircleCI config: `run:` steps written as a string, and the `command:` of
/// `run:` steps written as a mapping (with their `shell:`).
pub(crate) fn scan_circleci(text: &str) -> Vec<Finding> {
    let mut text = text.to_string();
    for open in [
        "<< parameters.",
        "<<parameters.",
        "<< pipeline.",
        "<<pipeline.",
    ] {
        text = replace_spans(&text, open, ">>", "CIRCLE_PARAM");
    }
    let lines: Vec<&str> = text.lines().collect();
    scan_keys(
        &lines,
        &["run", "command"],
        &|_, at, col| match sibling(&lines, at, col, "shell") {
            Some(s) => classify_interpreter(s.trim_matches(['"', '\''])),
            None => (Lang::Shell, "bash".into()),
        },
    )
}

/// Reads the value of each key in `keys` (a string, or a list of strings run one after the
/// other in one shell) and scans it in the language `lang_of(key, line, column)` gives.
fn scan_keys(
    lines: &[&str],
    keys: &[&str],
    lang_of: &dyn Fn(&str, usize, usize) -> (Lang, String),
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for_each_key(lines, keys, |i, key, col, value| {
        let (scalars, end) = read_value(lines, i, col, value, true);
        // Each list item runs in the same shell, one after the other.
        let mut script = String::new();
        let mut next_line = scalars.first().map_or(0, |s| s.line);
        let first = next_line;
        for s in &scalars {
            if !script.is_empty() && next_line >= s.line {
                // Two items on one line (a flow sequence): separate commands.
                script.push_str(" ; ");
            }
            while next_line < s.line {
                script.push('\n');
                next_line += 1;
            }
            script.push_str(&s.text);
            next_line += s.text.matches('\n').count();
        }
        if !script.is_empty() {
            let (lang, prog) = lang_of(key, i, col);
            findings.extend(scan_block(lang, &prog, &script, first, i + 1));
        }
        end
    });
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lr(v: Vec<Finding>) -> Vec<(usize, &'static str)> {
        v.into_iter().map(|f| (f.line, f.rule)).collect()
    }

    #[test]
    fn github_steps() {
        let y = "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: x\n        run: |\n          echo ${{ github.sha }}\n\n          curl -fsSL https://x/i | sh\n      - run: >\n          python3 -c\n          'import os'\n      - shell: python\n        run: |\n          print(1)\n      - run: echo \"python -c 'x'\"\n";
        assert_eq!(
            lr(scan_github(y)),
            vec![(11, "GUARD002"), (13, "GUARD001"), (16, "GUARD001")]
        );
    }

    #[test]
    fn gitlab_scripts() {
        let y = "build:\n  image: alpine\n  before_script:\n  - apk add curl\n  script:\n    - echo hi\n    - |\n      set -e\n      sh -c \"$(curl -fsSL https://x/i.sh)\"\n    - 'perl -e \"print 1\"'\n  after_script: [\"echo done\"]\n";
        assert_eq!(lr(scan_gitlab(y)), vec![(9, "GUARD003"), (10, "GUARD001")]);
    }
}
