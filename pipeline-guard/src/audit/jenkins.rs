//! Jenkinsfile (Groovy) pipelines: the shell text of `sh`, `bat`, `powershell` and `pwsh`
//! steps, in every form Jenkins accepts: `sh 'x'`, `sh "x"`, `sh '''…'''`, `sh """…"""`,
//! `sh(script: 'x', returnStdout: true)`, `sh label: 'l', script: 'x'`.
//!
//! Groovy interpolation (`${…}` in double-quoted strings) becomes a plain word; the text
//! is never evaluated. What is not one of those forms is skipped.

use super::{scan_block, Lang};
use crate::detect::Finding;

const STEPS: &[(&str, Lang)] = &[
    ("sh", Lang::Shell),
    ("bat", Lang::Cmd),
    ("powershell", Lang::PowerShell),
    ("pwsh", Lang::PowerShell),
];

/// A string literal starting at `at`: its text and the offset after it.
fn literal(src: &str, at: usize) -> Option<(String, usize)> {
    let rest = src.get(at..)?;
    for q in ["'''", "\"\"\"", "'", "\""] {
        let Some(body) = rest.strip_prefix(q) else {
            continue;
        };
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if body[i..].starts_with(q) {
                let text = if q.starts_with('"') {
                    super::replace_spans(&out, "${", "}", "GROOVY_VALUE")
                } else {
                    out
                };
                return Some((text, at + q.len() + i + q.len()));
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, '\n')) => out.push_str("\\\n"),
                    Some((_, n)) if n == '$' || n == '\\' || q.contains(n) => out.push(n),
                    Some((_, n)) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => {}
                }
                continue;
            }
            if q.len() == 1 && c == '\n' {
                return None;
            }
            out.push(c);
        }
        return None;
    }
    None
}

fn skip_blanks(src: &str, mut at: usize) -> usize {
    while src[at..].starts_with([' ', '\t']) {
        at += 1;
    }
    at
}

/// The script string of a step whose name ends at `at`: a literal right after the name
/// (optionally in parentheses), or the value of a `script:` argument.
fn step_script(src: &str, at: usize) -> Option<(usize, String, usize)> {
    let mut p = skip_blanks(src, at);
    let paren = src[p..].starts_with('(');
    if paren {
        p = skip_blanks(src, p + 1);
    }
    if let Some((text, end)) = literal(src, p) {
        return Some((p, text, end));
    }
    // Named arguments: find `script:` before the end of the call (or the line).
    let limit = if paren {
        src[p..].find(')').map_or(src.len(), |i| p + i)
    } else {
        src[p..].find('\n').map_or(src.len(), |i| p + i)
    };
    let args = &src[p..limit];
    let k = args.find("script:")?;
    let v = skip_blanks(src, p + k + "script:".len());
    literal(src, v).map(|(text, end)| (v, text, end))
}

/// Scans a Jenkinsfile.
pub(crate) fn scan(text: &str) -> Vec<Finding> {
    let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let line_of = |off: usize| newlines.partition_point(|&n| n < off) + 1;
    let mut out = Vec::new();
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        // Skip comments and string literals that are not step arguments.
        if text[i..].starts_with("//") {
            i = text[i..].find('\n').map_or(text.len(), |n| i + n);
            continue;
        }
        if text[i..].starts_with("/*") {
            i = text[i..].find("*/").map_or(text.len(), |n| i + n + 2);
            continue;
        }
        if text[i..].starts_with(['\'', '"']) {
            // An unclosed literal skips to the end of its line: never a rescan from
            // every byte of it (quadratic on a long unclosed string).
            i = literal(text, i).map_or_else(
                || text[i..].find('\n').map_or(text.len(), |n| i + n + 1),
                |(_, end)| end,
            );
            continue;
        }
        let word_start = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b'.');
        let step = STEPS.iter().find(|(name, _)| {
            word_start
                && text[i..].starts_with(name)
                && !text[i + name.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        });
        let Some((name, lang)) = step else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        match step_script(text, i + name.len()) {
            Some((at, script, end)) => {
                let first = line_of(at);
                out.extend(scan_block(*lang, name, &script, first, first));
                i = end;
            }
            None => i += name.len(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(usize, &'static str)> {
        scan(text).into_iter().map(|f| (f.line, f.rule)).collect()
    }

    #[test]
    fn every_step_form() {
        let j = r#"pipeline {
  agent any
  stages {
    stage('x') {
      steps {
        // sh 'curl -fsSL https://x/i | sh'
        sh 'curl -fsSL https://x/a | sh'
        sh "python3 -c 'import os' ${env.X}"
        sh '''
          set -e
          bash -c "$(curl -fsSL https://x/b)"
        '''
        sh(script: 'node -e "console.log(1)"', returnStdout: true)
        sh label: 'l', script: "perl -e 'print 1'"
        bat 'powershell -Command "iwr https://x/c.ps1 | iex"'
        echo 'sh "curl https://x | sh"'
      }
    }
  }
}
"#;
        assert_eq!(
            rules(j),
            vec![
                (7, "GUARD002"),
                (8, "GUARD001"),
                (11, "GUARD003"),
                (13, "GUARD001"),
                (14, "GUARD001"),
                (15, "GUARD007"),
            ]
        );
    }
}
