//! What the scanner remembers between commands: variables (interpreters and download
//! programs held in them, downloaded text) and the files downloads, decoders, copies and
//! verifications touch.

use super::super::argv::unwrap;
use super::super::files::{download_outputs, is_digest_program, norm, verify_operands};
use super::super::functions::var_name;
use super::super::indicators::{family, is_decode_command, is_download_program, program_name};
use super::super::parse::Word;
use super::Scanner;

impl Scanner<'_> {
    /// Records `NAME=value` words: plain values and `$(command -v X)` for interpreters
    /// held in variables, `$(curl …)` as downloaded text, and `$(helper …)` of a
    /// downloading helper that prints the path it wrote as a downloaded file.
    pub(super) fn assignments(&mut self, words: &[Word], line: usize) {
        for w in words {
            let Some((name, value)) = w.value.split_once('=') else {
                continue;
            };
            let name = name.trim_end_matches('+').to_string();
            self.templates.insert(name.clone(), value.to_string());
            let mut plain = Some(value.to_string());
            for sub in &w.subs {
                plain = None;
                for c in sub.body.iter().flat_map(|p| &p.commands) {
                    let vals: Vec<String> = c.words.iter().map(|w| w.value.clone()).collect();
                    let un = unwrap(&vals);
                    let Some(a0) = un.argv.first() else { continue };
                    let prog = program_name(a0);
                    if is_download_program(&prog) {
                        self.downloaded_text.push(name.clone());
                    } else if let Some(t) = self.helpers.get(&prog).filter(|t| t.downloads) {
                        if t.prints_path {
                            self.files.downloaded(vec![format!("${name}")], line);
                        } else if t.prints {
                            self.downloaded_text.push(name.clone());
                        }
                    } else if matches!(prog.as_str(), "which" | "command" | "type") {
                        plain = un.argv.last().cloned();
                    }
                }
            }
            match plain {
                Some(v) => {
                    self.vars.insert(name, v);
                }
                None => {
                    self.vars.remove(&name);
                }
            }
        }
    }

    /// The interpreter or download program a `$VAR` command word stands for: the program
    /// the script assigned to it, or an interpreter its name says (`$PYTHON_BIN`,
    /// `"$RUBY"`, `$SHELL`).
    pub(super) fn program_in_variable(&self, word: &str) -> Option<String> {
        // `${SHELL:-sh}`, `${PYTHON:-python3}`: the default names the program.
        if let Some(default) = word
            .strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .and_then(|r| r.split_once(":-").or_else(|| r.split_once('-')))
            .map(|(_, d)| d)
        {
            if family(&program_name(default)).is_some() {
                return Some(default.to_string());
            }
        }
        // `$dir/bin/$pypy_major`: the program is the last segment.
        let last = word.rsplit('/').next().unwrap_or(word);
        let name = var_name(last);
        if name.is_empty() {
            return None;
        }
        if let Some(v) = self.vars.get(&name) {
            let prog = v.split_whitespace().next().unwrap_or("");
            let p = program_name(prog);
            return (family(&p).is_some() || is_download_program(&p)).then(|| prog.to_string());
        }
        let lower = name.to_ascii_lowercase();
        const BY_NAME: &[(&str, &str)] = &[
            ("python", "python3"),
            ("pypy", "pypy3"),
            ("perl", "perl"),
            ("ruby", "ruby"),
            ("node", "node"),
            ("php", "php"),
            ("pwsh", "pwsh"),
            ("powershell", "pwsh"),
            ("bash", "bash"),
            ("zsh", "zsh"),
        ];
        if lower == "shell" || lower.ends_with("_shell") {
            return Some("sh".into());
        }
        BY_NAME
            .iter()
            .find(|(needle, _)| lower.contains(needle) && !lower.ends_with("_env"))
            .map(|(_, prog)| prog.to_string())
    }

    pub(super) fn track_files(
        &mut self,
        name: &str,
        args: &[String],
        stdout_to: Option<&str>,
        line: usize,
        consumed: bool,
    ) {
        let helper = self.helpers.get(name);
        if is_download_program(name) {
            let mut outs = download_outputs(name, args, stdout_to);
            // `curl … > $LEIN_BIN` with `LEIN_BIN=/usr/local/bin/lein` earlier.
            let known: Vec<String> = outs
                .iter()
                .filter_map(|o| self.vars.get(&var_name(o)))
                .map(|v| norm(v))
                .collect();
            outs.extend(known);
            if outs.is_empty() && !consumed {
                self.stdout_download = Some(line);
            }
            self.files.downloaded(outs, line);
        } else if let Some(t) = helper.as_ref().filter(|t| t.downloads) {
            let named = t.output_var.as_ref().and_then(|v| {
                let flag = format!("-{v}");
                let k = args.iter().position(|a| a.eq_ignore_ascii_case(&flag))?;
                args.get(k + 1).map(|a| norm(a))
            });
            let outs = if t.passes_args {
                download_outputs("curl", args, stdout_to)
            } else if let Some(n) = t.output_param {
                args.get(n - 1).map(|a| norm(a)).into_iter().collect()
            } else if let Some(path) = named {
                vec![path]
            } else {
                stdout_to.map(norm).into_iter().collect()
            };
            self.files.downloaded(outs, line);
        } else if is_decode_command(name, args) && !consumed {
            self.files.decoded(stdout_to.map(norm), line);
        } else if let Some(ops) = verify_operands(name, args) {
            let ops = self.with_aliases(&ops);
            self.files.verified(&ops, true);
        } else if helper.as_ref().is_some_and(|t| t.verifies) {
            let ops = self.with_aliases(args);
            self.files.verified(&ops, true);
        } else if is_digest_program(name) && consumed {
            let ops = self.with_aliases(args);
            self.files.verified(&ops, false);
        } else if matches!(name, "mv" | "cp" | "install") {
            self.files.copied(name, args);
        } else if matches!(name, "popd" | "pop-location")
            || (name == "cd" && args.iter().any(|a| a == "-" || a.contains("OLDPWD")))
        {
            // Back to where it was: not tracked, so nothing is taken as being inside.
            self.cwd = None;
        } else if matches!(
            name,
            "cd" | "pushd" | "push-location" | "set-location" | "sl"
        ) {
            self.cwd = args
                .iter()
                .find(|a| !a.starts_with('-'))
                .map(|d| norm(d).trim_end_matches('/').to_string());
        } else if let Some((archive, dir)) = helper.as_ref().and_then(|t| t.unpacks.clone()) {
            // `Expand-7ZipArchive -Path A -DestinationPath D`: a helper that unpacks.
            let operand = |p: &str| match p.parse::<usize>() {
                Ok(n) => args
                    .iter()
                    .filter(|a| !a.starts_with('-'))
                    .nth(n.saturating_sub(1))
                    .cloned(),
                Err(_) => {
                    let flag = format!("-{p}");
                    args.iter()
                        .position(|a| a.eq_ignore_ascii_case(&flag))
                        .and_then(|k| args.get(k + 1).cloned())
                }
            };
            if let Some(a) = operand(&archive) {
                self.files
                    .unpacked(Some(&a), operand(&dir), None, false, line);
            }
        }
    }

    /// `words` and, for each `$var` among them, the path the script assigned to it: a
    /// check of `$zip` is a check of the file `zip=/tmp/x.zip` names.
    fn with_aliases(&self, words: &[String]) -> Vec<String> {
        let mut out = words.to_vec();
        for w in words {
            if let Some(v) = self.vars.get(&var_name(w)) {
                out.push(v.clone());
            }
        }
        out
    }
}
