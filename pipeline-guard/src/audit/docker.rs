//! Dockerfile `RUN` instructions: shell form (with continuation lines and comment lines
//! inside them), heredocs (`RUN <<EOF`), exec form (a JSON array, scanned as an argv), and
//! the `SHELL` instruction (PowerShell or cmd for the RUNs after it).

use super::{classify_interpreter, scan_block, Lang};
use crate::detect::{self as guard, Finding};

/// The escape character from a `# escape=` parser directive at the top (default `\`).
fn escape_char(lines: &[&str]) -> char {
    for l in lines {
        let t = l.trim();
        let Some(d) = t.strip_prefix('#') else { break };
        let d = d.trim().to_ascii_lowercase();
        if let Some(v) = d.strip_prefix("escape") {
            let v = v.trim_start().strip_prefix('=').unwrap_or("").trim();
            if v == "`" {
                return '`';
            }
        }
    }
    '\\'
}

/// Heredoc delimiters named on a line (`<<EOF`, `<<-"EOF"`, `<<'EOF'`).
fn heredoc_delims(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("<<") {
        let mut after = &rest[i + 2..];
        if let Some(r) = after.strip_prefix('<') {
            rest = r;
            continue;
        }
        after = after.strip_prefix('-').unwrap_or(after);
        let word: String = after
            .chars()
            .take_while(|c| !c.is_whitespace() && !";|&<>)".contains(*c))
            .collect();
        let w = word.trim_matches(['"', '\'']).to_string();
        if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push(w);
        }
        rest = &after[word.len().min(after.len())..];
    }
    out
}

/// Words at the start of `RUN` that are flags (`--mount=…`, `--network=none`).
fn strip_flags(s: &str) -> &str {
    let mut t = s.trim_start();
    while t.starts_with("--") {
        let end = t.find(char::is_whitespace).unwrap_or(t.len());
        t = t[end..].trim_start();
    }
    t
}

/// The shell-form `RUN`s of one build stage (with `WORKDIR` as `cd` and `ENV PATH` as
/// `export`), gathered into one script at their own line numbers: each `RUN` runs in
/// the filesystem the ones before it left, so a tool downloaded in one `RUN` and run in
/// a later one is one flow. Each `RUN` is also scanned on its own, as it always was, so
/// that a line the shell reader takes differently from Docker costs at most the flow,
/// never the findings of the `RUN`s after it.
/// More `RUN`s (and `WORKDIR`/`ENV PATH`) than this in one stage: no flow across them
/// (real Dockerfiles have tens).
const MAX_FLOW_PIECES: usize = 400;

#[derive(Default)]
struct Stage {
    lang: Option<Lang>,
    text: String,
    lines: usize,
    /// Pieces gathered: past [`MAX_FLOW_PIECES`] the flow is not scanned (each piece
    /// still is), which bounds the cost of a crafted file with thousands of `RUN`s.
    pieces: usize,
    /// Findings of each piece scanned alone.
    alone: Vec<Finding>,
}

impl Stage {
    /// Adds `code` (in `lang`), whose first line is `first_line` of the file.
    fn add(&mut self, lang: Lang, first_line: usize, code: &str) {
        if self.lang.is_some_and(|l| l != lang) {
            let mut out = Vec::new();
            self.flush(&mut out);
            self.alone.extend(out);
        }
        self.lang = Some(lang);
        let prog = if lang == Lang::PowerShell {
            "pwsh"
        } else {
            "sh"
        };
        self.alone
            .extend(scan_block(lang, prog, code, first_line, first_line));
        while self.lines + 1 < first_line {
            self.text.push('\n');
            self.lines += 1;
        }
        self.text.push_str(code);
        self.text.push('\n');
        self.lines += code.lines().count().max(1);
        self.pieces += 1;
    }

    /// Scans what was gathered (the flow, and each piece alone; a finding both report
    /// is kept once), and starts again (a new `FROM`, another `SHELL`).
    fn flush(&mut self, out: &mut Vec<Finding>) {
        let mut found = std::mem::take(&mut self.alone);
        if let Some(lang) = self.lang.take().filter(|_| self.pieces <= MAX_FLOW_PIECES) {
            let prog = if lang == Lang::PowerShell {
                "pwsh"
            } else {
                "sh"
            };
            found.extend(scan_block(lang, prog, &self.text, 1, 1));
        }
        self.pieces = 0;
        let mut seen = std::collections::HashSet::new();
        out.extend(found.into_iter().filter(|f| seen.insert((f.line, f.rule))));
        self.text.clear();
        self.lines = 0;
    }
}

/// `s` as one single-quoted shell word.
fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `ENV PATH=/opt/x/bin:$PATH` (or `ENV PATH /opt/x/bin:$PATH`) as a shell `export`
/// line with the value quoted; `None` for other variables (only PATH matters to what
/// runs later, and quoting keeps an odd value from changing how the rest is read).
fn env_as_export(rest: &str) -> Option<String> {
    let rest = rest.trim();
    let value = rest
        .strip_prefix("PATH=")
        .or_else(|| rest.strip_prefix("PATH ").map(str::trim_start))?;
    let value = value.split_whitespace().next().unwrap_or("");
    let value = value.trim_matches(['"', '\'']);
    Some(format!("export PATH={}", single_quoted(value)))
}

/// Scans a Dockerfile.
pub(crate) fn scan(text: &str) -> Vec<Finding> {
    let lines: Vec<&str> = text.lines().collect();
    let esc = escape_char(&lines);
    let mut findings = Vec::new();
    let mut stage = Stage::default();
    let mut shell = (Lang::Shell, "sh".to_string());
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let first = lines[i];
        i += 1;
        let t = first.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let kw_end = t.find(char::is_whitespace).unwrap_or(t.len());
        let kw = t[..kw_end].to_ascii_uppercase();
        let rest = &t[kw_end..];
        // Collect the logical instruction: continuation lines (comment lines inside are
        // dropped by Docker; we keep them as empty continuations to keep line numbers).
        let mut parts: Vec<String> = vec![rest.to_string()];
        let mut cont = first.trim_end().ends_with(esc);
        while cont && i < lines.len() {
            let l = lines[i];
            i += 1;
            if l.trim_start().starts_with('#') || l.trim().is_empty() {
                parts.push("\\".to_string());
                continue;
            }
            cont = l.trim_end().ends_with(esc);
            parts.push(l.to_string());
        }
        if esc != '\\' {
            for p in &mut parts {
                let trimmed = p.trim_end();
                if let Some(s) = trimmed.strip_suffix(esc) {
                    *p = format!("{s}\\");
                }
            }
        }
        // Heredocs: the lines after the instruction up to each delimiter.
        let joined_head = parts.join("\n");
        let delims = if kw == "RUN" {
            heredoc_delims(&joined_head)
        } else {
            Vec::new()
        };
        let mut heredoc_lines: Vec<&str> = Vec::new();
        for d in &delims {
            while i < lines.len() {
                let l = lines[i];
                i += 1;
                heredoc_lines.push(l);
                if l.trim() == d {
                    break;
                }
            }
        }
        match kw.as_str() {
            "FROM" => stage.flush(&mut findings),
            "WORKDIR" if shell.0 == Lang::Shell && parts.len() == 1 => {
                let dir = rest.trim().trim_matches(['"', '\'']);
                stage.add(
                    Lang::Shell,
                    start + 1,
                    &format!("cd {}", single_quoted(dir)),
                );
            }
            "ENV" if shell.0 == Lang::Shell && parts.len() == 1 => {
                if let Some(export) = env_as_export(rest) {
                    stage.add(Lang::Shell, start + 1, &export);
                }
            }
            "SHELL" => {
                if let Ok(argv) = serde_json::from_str::<Vec<String>>(rest.trim()) {
                    let (lang, prog) = classify_interpreter(&argv.join(" "));
                    shell = (lang, prog);
                }
            }
            "RUN" => {
                let line = start + 1;
                let body = strip_flags(&joined_head);
                if body.starts_with('[') {
                    let flat: String = parts
                        .iter()
                        .map(|p| p.trim_end().trim_end_matches('\\'))
                        .collect::<Vec<_>>()
                        .join(" ");
                    if let Ok(argv) = serde_json::from_str::<Vec<String>>(strip_flags(&flat)) {
                        for mut f in guard::scan_argv(&argv) {
                            f.line = line;
                            findings.push(f);
                        }
                        continue;
                    }
                }
                if !delims.is_empty() && body.trim_start().starts_with("<<") {
                    // `RUN <<EOF`: the first heredoc's body is the script.
                    let end = heredoc_lines.len().saturating_sub(1);
                    let script_lines = heredoc_lines.get(..end).unwrap_or(&[]);
                    let script = script_lines.join("\n");
                    let (lang, prog) = match script_lines.first().and_then(|l| l.strip_prefix("#!"))
                    {
                        Some(spec) => classify_interpreter(spec.trim()),
                        None => shell.clone(),
                    };
                    if matches!(lang, Lang::Shell | Lang::PowerShell) {
                        stage.add(lang, line + parts.len(), &script);
                    } else {
                        findings.extend(scan_block(lang, &prog, &script, line + parts.len(), line));
                    }
                    continue;
                }
                let mut script = body.to_string();
                for h in &heredoc_lines {
                    script.push('\n');
                    script.push_str(h);
                }
                let (lang, prog) = &shell;
                if matches!(lang, Lang::Shell | Lang::PowerShell) {
                    stage.add(*lang, line, &script);
                } else {
                    findings.extend(scan_block(*lang, prog, &script, line, line));
                }
            }
            _ => {}
        }
    }
    stage.flush(&mut findings);
    findings.sort_by_key(|f| f.line);
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lr(t: &str) -> Vec<(usize, &'static str)> {
        scan(t).into_iter().map(|f| (f.line, f.rule)).collect()
    }

    #[test]
    fn run_forms() {
        assert_eq!(
            lr("FROM x\nRUN apt-get update && \\\n    # comment\n    curl -fsSL https://x/i.sh | bash\n"),
            vec![(4, "GUARD002")]
        );
        assert_eq!(
            lr("FROM x\nRUN [\"sh\", \"-c\", \"curl https://x | sh\"]\n"),
            vec![(2, "GUARD002")]
        );
        assert_eq!(
            lr("FROM x\nRUN <<EOF\nset -e\nwget -qO- https://x | sh\nEOF\nRUN echo ok\n"),
            vec![(4, "GUARD002")]
        );
        assert_eq!(
            lr("FROM x\nRUN python3 <<EOF\nprint(1)\nEOF\n"),
            vec![(2, "GUARD001")]
        );
        assert!(lr("FROM x\nRUN cat <<EOF > /README\ncurl x | sh\nEOF\n").is_empty());
        assert_eq!(
            lr("FROM x\nSHELL [\"pwsh\", \"-Command\"]\nRUN iex (iwr https://x/i.ps1)\n"),
            vec![(3, "GUARD007")]
        );
    }

    #[test]
    fn runs_of_a_stage_are_one_flow() {
        let two_runs = "FROM debian\nWORKDIR /opt\nRUN curl -fsSL -o tool.tgz https://x/tool.tgz \\\n && tar -xzf tool.tgz -C /opt/tool\nENV PATH=/opt/tool/bin:$PATH\nRUN tool --version\n";
        assert_eq!(lr(two_runs), vec![(5, "GUARD005")]);
        // A new stage starts from another filesystem.
        let staged = "FROM debian AS a\nRUN curl -fsSL -o /usr/local/bin/t https://x/t\nFROM debian\nRUN /usr/local/bin/t\n";
        assert!(lr(staged).is_empty());
        let same = "FROM debian\nRUN curl -fsSL -o /usr/local/bin/t https://x/t\n\n# later\nRUN chmod +x /usr/local/bin/t && /usr/local/bin/t\n";
        assert_eq!(lr(same), vec![(5, "GUARD005")]);
    }
}
