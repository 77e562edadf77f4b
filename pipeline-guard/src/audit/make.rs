//! Makefile and justfile recipes: the shell text of each recipe, on its own lines.
//!
//! A recipe is scanned as one script (lines that are not recipe lines left empty) so that a
//! download on one recipe line and its execution on a later one are connected, as they are
//! on disk; each finding keeps the line of the file it is on.

use super::{classify_interpreter, replace_spans, scan_block, Lang};
use crate::detect::{self as guard, Finding};
use std::collections::HashMap;

/// Builds the text of a recipe from `(line index, text)` pieces: one text line per file
/// line from the first piece's line on, with gaps left empty. Returns (text, first line).
fn assemble(pieces: &[(usize, String)]) -> Option<(String, usize)> {
    let first = pieces.first()?.0;
    let mut out = String::new();
    let mut next = first;
    for (idx, text) in pieces {
        while next < *idx {
            out.push('\n');
            next += 1;
        }
        out.push_str(text);
        out.push('\n');
        next = idx + 1;
    }
    Some((out, first + 1))
}

fn is_assignment(line: &str) -> bool {
    let t = line.trim_start();
    let t = t
        .strip_prefix("export ")
        .or_else(|| t.strip_prefix("override "))
        .unwrap_or(t)
        .trim_start();
    let name_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
        .unwrap_or(t.len());
    if name_end == 0 {
        return false;
    }
    let rest = t[name_end..].trim_start();
    ["=", ":=", "::=", ":::=", "?=", "+=", "!="]
        .iter()
        .any(|op| rest.starts_with(op))
}

fn assignment(line: &str) -> Option<(String, String)> {
    if !is_assignment(line) {
        return None;
    }
    let t = line.trim_start();
    let t = t
        .strip_prefix("export ")
        .or_else(|| t.strip_prefix("override "))
        .unwrap_or(t)
        .trim_start();
    let eq = t.find('=')?;
    let name = t[..eq]
        .trim_end_matches([':', '?', '+', '!'])
        .trim()
        .to_string();
    if t[..eq].ends_with('+') || t[..eq].ends_with('!') {
        return None;
    }
    let value = t[eq + 1..].trim();
    let value = value.split(" #").next().unwrap_or(value).trim();
    Some((name, value.trim_end_matches('\\').trim().to_string()))
}

/// Expands make references: `$$` → `$`, `$(VAR)`/`${VAR}` → the variable's simple value
/// when the Makefile assigns one (recursively, bounded), else `${VAR}` for the shell;
/// function calls (`$(shell …)`, `$(wildcard …)`) become a plain word.
fn expand(text: &str, vars: &HashMap<String, String>, depth: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|&(_, c)| c) {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some(open @ ('(' | '{')) => {
                let close = if open == '(' { ')' } else { '}' };
                let body_start = i + 2;
                let mut level = 0usize;
                let mut end = None;
                for (j, ch) in text[body_start..].char_indices() {
                    if ch == open {
                        level += 1;
                    } else if ch == close {
                        if level == 0 {
                            end = Some(body_start + j);
                            break;
                        }
                        level -= 1;
                    } else if ch == '\n' {
                        break;
                    }
                }
                let Some(end) = end else {
                    out.push(c);
                    continue;
                };
                let body = &text[body_start..end];
                while chars.peek().is_some_and(|&(k, _)| k <= end) {
                    chars.next();
                }
                if body.contains(char::is_whitespace) || body.contains(',') {
                    out.push_str("MAKE_FUNCTION");
                } else if let Some(v) = vars.get(body).filter(|_| depth < 8) {
                    out.push_str(&expand(v, vars, depth + 1));
                } else {
                    out.push_str("${");
                    out.push_str(body);
                    out.push('}');
                }
            }
            _ => out.push('$'),
        }
    }
    out
}

/// The commands of `$(shell …)` calls in a line (make runs them when it expands the
/// line, in assignments as in recipes), with make's own references expanded.
fn shell_calls(line: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = line[from..].find("shell ").map(|k| from + k) {
        from = k + "shell ".len();
        let open = match line[..k]
            .strip_suffix("$(")
            .or_else(|| line[..k].strip_suffix("${"))
        {
            Some(_) => line.as_bytes()[k - 1],
            None => continue,
        };
        let close = if open == b'(' { b')' } else { b'}' };
        let mut level = 0usize;
        let body_end = line[from..].bytes().position(|b| {
            if b == open {
                level += 1;
            } else if b == close {
                if level == 0 {
                    return true;
                }
                level -= 1;
            }
            false
        });
        match body_end {
            Some(end) => {
                out.push(expand(&line[from..from + end], vars, 0));
                from += end;
            }
            // Unclosed: nothing later on the line closes either (no quadratic rescan).
            None => break,
        }
    }
    out
}

/// Strips the recipe prefixes `@`, `-`, `+` (and blanks between them).
fn strip_prefixes(s: &str) -> &str {
    s.trim_start_matches(['@', '-', '+', ' ', '\t'])
}

/// Scans the recipes of a Makefile.
pub(crate) fn scan_makefile(text: &str) -> Vec<Finding> {
    let lines: Vec<&str> = text.lines().collect();
    let mut vars = HashMap::new();
    for l in &lines {
        if !l.starts_with('\t') {
            if let Some((k, v)) = assignment(l) {
                vars.insert(k, v);
            }
        }
    }
    let mut findings = Vec::new();
    let mut recipe: Vec<(usize, String)> = Vec::new();
    let mut in_rule = false;
    let mut in_define = false;
    let mut continued = false;
    let flush = |recipe: &mut Vec<(usize, String)>, findings: &mut Vec<Finding>| {
        if let Some((t, first)) = assemble(recipe) {
            findings.extend(guard::scan_shell(&t, first));
        }
        recipe.clear();
    };
    for (i, line) in lines.iter().enumerate() {
        for call in shell_calls(line, &vars) {
            findings.extend(guard::scan_shell(&call, i + 1));
        }
        let t = line.trim();
        if in_define {
            if t.starts_with("endef") {
                in_define = false;
            }
            continue;
        }
        if in_rule && (line.starts_with('\t') || continued) {
            let body = line.strip_prefix('\t').unwrap_or(line);
            let body = if continued {
                body
            } else {
                strip_prefixes(body)
            };
            continued = line.ends_with('\\');
            recipe.push((i, expand(body, &vars, 0)));
            continue;
        }
        continued = false;
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let word = t.split_whitespace().next().unwrap_or("");
        if matches!(
            word,
            "ifeq" | "ifneq" | "ifdef" | "ifndef" | "else" | "endif"
        ) {
            continue;
        }
        flush(&mut recipe, &mut findings);
        in_rule = false;
        if word == "define" || t.starts_with("define ") {
            in_define = true;
            continue;
        }
        if is_assignment(line) {
            continue;
        }
        if let Some(colon) = find_rule_colon(line) {
            in_rule = true;
            // `target: prereqs ; command` carries a first recipe line.
            let after = &line[colon + 1..];
            if let Some(semi) = after.find(';') {
                let cmd = strip_prefixes(&after[semi + 1..]);
                continued = cmd.ends_with('\\');
                recipe.push((i, expand(cmd, &vars, 0)));
            }
        }
    }
    flush(&mut recipe, &mut findings);
    findings
}

/// The colon of a rule line (`targets: prereqs`), not one inside `$(…)`.
fn find_rule_colon(line: &str) -> Option<usize> {
    let mut level = 0i32;
    for (i, c) in line.char_indices() {
        match c {
            '(' | '{' => level += 1,
            ')' | '}' => level -= 1,
            ':' if level == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// Scans the recipes of a justfile. Recipe bodies are the indented lines after a recipe
/// header; `{{…}}` interpolations become a plain word; a body starting with a shebang
/// runs under that interpreter (a non-shell interpreter makes the whole body inline code).
pub(crate) fn scan_justfile(text: &str) -> Vec<Finding> {
    let lines: Vec<&str> = text.lines().collect();
    let mut findings = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let header = !line.starts_with([' ', '\t'])
            && !line.trim().is_empty()
            && !line.trim_start().starts_with('#')
            && !line.starts_with('[')
            && !line.contains(":=")
            && find_rule_colon(line).is_some();
        i += 1;
        if !header {
            continue;
        }
        let mut body: Vec<(usize, String)> = Vec::new();
        while i < lines.len() {
            let l = lines[i];
            if !l.trim().is_empty() && !l.starts_with([' ', '\t']) {
                break;
            }
            body.push((i, l.to_string()));
            i += 1;
        }
        while body.last().is_some_and(|(_, l)| l.trim().is_empty()) {
            body.pop();
        }
        let indent = body
            .iter()
            .find(|(_, l)| !l.trim().is_empty())
            .map(|(_, l)| l.len() - l.trim_start().len())
            .unwrap_or(0);
        let mut pieces: Vec<(usize, String)> = Vec::new();
        let mut shebang: Option<(usize, String)> = None;
        let mut continued = false;
        for (k, (idx, l)) in body.iter().enumerate() {
            let l = l.get(indent..).unwrap_or_else(|| l.trim_start());
            let l = replace_spans(l, "{{", "}}", "JUST_VALUE");
            if k == 0 {
                if let Some(spec) = l.strip_prefix("#!") {
                    shebang = Some((*idx, spec.trim().to_string()));
                    continue;
                }
            }
            let l = if shebang.is_some() || continued {
                l
            } else {
                strip_prefixes(&l).to_string()
            };
            continued = l.ends_with('\\');
            pieces.push((*idx, l));
        }
        let Some((code, first)) = assemble(&pieces) else {
            continue;
        };
        match shebang {
            Some((line_idx, spec)) => {
                let (lang, prog) = classify_interpreter(&spec);
                let lang = if matches!(lang, Lang::Shell) && prog.is_empty() {
                    Lang::Shell
                } else {
                    lang
                };
                findings.extend(scan_block(lang, &prog, &code, first, line_idx + 1));
            }
            None => findings.extend(guard::scan_shell(&code, first)),
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_rules(v: Vec<Finding>) -> Vec<(usize, &'static str)> {
        v.into_iter().map(|f| (f.line, f.rule)).collect()
    }

    #[test]
    fn makefile_recipes() {
        let mk = "PY ?= python3\nall: build\n\n# comment\nbuild:\n\t@echo hi\n\t-$(PY) -c 'import os' \\\n\t  && true\nx := $(shell echo)\nrel:\n\tcurl -fsSL https://x/i | \\\n\t\tsh\n";
        assert_eq!(
            lines_rules(scan_makefile(mk)),
            vec![(7, "GUARD001"), (12, "GUARD002")]
        );
        assert!(scan_makefile("a:\n\techo $$(curl x | sh)\n")
            .iter()
            .all(|f| f.rule != "GUARD001"));
    }

    #[test]
    fn justfile_recipes() {
        let j = "set shell := [\"bash\", \"-c\"]\nv := \"1\"\n\n# doc\nbuild arg='x':\n    @echo {{arg}}\n    node -e 'console.log(1)'\n\npy:\n    #!/usr/bin/env python3\n    import urllib.request\n";
        assert_eq!(
            lines_rules(scan_justfile(j)),
            vec![(7, "GUARD001"), (10, "GUARD001")]
        );
    }
}
