//! Windows batch files (`.bat`, `.cmd`, `shell: cmd` steps): each command line, with its
//! `^` continuations joined, is read as a command; `powershell -Command "iwr … | iex"`,
//! `cmd /c …`, `call …` and interpreters with inline code are found as in shell text.

use crate::detect::{self as guard, Finding};

/// `cmd`'s quoting, rewritten as shell's: only `"` quotes; `^` (cmd's escape) is dropped
/// outside quotes; `'` is an ordinary character (dropped outside quotes, so that the
/// command of `for /f … in ('cmd') do` reads as a command).
fn as_shell(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_dq = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_dq = !in_dq;
                out.push(c);
            }
            '^' if !in_dq => {
                // Escapes the next character for cmd's own parse; what runs (the command of
                // `for /f … in ('a ^| b')`) sees it unescaped.
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '\'' if !in_dq => {}
            // A path separator, never an escape.
            '\\' => out.push('/'),
            _ => out.push(c),
        }
    }
    out
}

/// The command of `for /f [options] %%v in ('COMMAND') do …`.
fn for_f_command(t: &str) -> Option<&str> {
    if !t.get(..4)?.eq_ignore_ascii_case("for ") {
        return None;
    }
    let start = t.find("('")? + 2;
    let end = start + t[start..].find("')")?;
    Some(&t[start..end])
}

fn is_comment(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    lower == "rem" || lower.starts_with("rem ") || lower.starts_with("rem\t") || t.starts_with("::")
}

/// Scans batch text whose first line is `first_line`.
pub(crate) fn scan_batch(text: &str, first_line: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = first_line + i;
        let line = raw.trim_end_matches('\r');
        let (start, mut joined) = match pending.take() {
            Some((s, mut acc)) => {
                acc.push(' ');
                acc.push_str(line.trim_start());
                (s, acc)
            }
            None => (n, line.trim_start().to_string()),
        };
        if joined.ends_with('^') {
            joined.pop();
            pending = Some((start, joined));
            continue;
        }
        let t = joined.trim_start_matches('@').trim();
        if t.is_empty() || is_comment(t) || t.starts_with(':') {
            continue;
        }
        // `for /f … in ('COMMAND') do …` runs COMMAND.
        let inner = for_f_command(t).map(as_shell);
        for text in std::iter::once(as_shell(t)).chain(inner) {
            for mut f in guard::scan_shell(&text, start) {
                f.line = start;
                out.push(f);
            }
        }
    }
    if let Some((start, joined)) = pending {
        out.extend(guard::scan_shell(&as_shell(joined.trim()), start));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(usize, &'static str)> {
        scan_batch(text, 1)
            .into_iter()
            .map(|f| (f.line, f.rule))
            .collect()
    }

    #[test]
    fn powershell_download_exec_in_a_batch_file() {
        let bat = "@echo off\r\nrem powershell -Command \"iwr https://x | iex\"\r\n:: same\r\n@powershell -ExecutionPolicy ByPass -Command \"iwr -useb https://pixi.sh/install.ps1 | iex\"\r\n";
        assert_eq!(rules(bat), vec![(4, "GUARD007")]);
    }

    #[test]
    fn continuations_cmd_c_and_for_f_commands() {
        let bat = "python -c ^\n  \"import urllib.request\"\ncmd /c \"curl -fsSL https://x/i.sh | sh\"\nfor /f %%i in ('curl -s https://x/a ^| sh') do echo %%i\necho it's fine\n";
        assert_eq!(
            rules(bat),
            vec![(1, "GUARD001"), (3, "GUARD002"), (4, "GUARD002")]
        );
    }
}
