//! Running a file: what makes it a finding (downloaded or unpacked with no check in
//! between, decoded, written by a heredoc), and installer helpers whose check depends on
//! what the caller passes.

use super::super::files::norm;
use super::super::functions::var_name;
use super::super::indicators::Family;
use super::super::recognise::shebang_family;
use super::super::rules::*;
use super::super::Severity;
use super::Scanner;

impl Scanner<'_> {
    /// `path` is run, by `family` (or directly): a script the text wrote from a heredoc is
    /// scanned as what it is, and a download is checked for a verification in between.
    pub(super) fn exec_file(
        &mut self,
        path: &str,
        family: Option<Family>,
        line: usize,
        text: &str,
    ) {
        let mut path = path.replace('\\', "/");
        if let Some(v) = self.vars.get(&var_name(&path)) {
            // `$SDKMANAGER` set to a path earlier.
            if self.files.is_tracked_or_unpacked(v) {
                path = v.clone();
            }
        }
        if !self.templates.is_empty() && !self.files.is_tracked_or_unpacked(&path) {
            // `-o "$INSTALL_DIR/nvm.sh"` with `INSTALL_DIR="$(nvm_install_dir)"`, then
            // `. "$(nvm_install_dir)/nvm.sh"`: the same path, spelt two ways.
            let wanted = self.resolve_template(&path);
            if let Some(d) = self
                .files
                .unverified_paths()
                .into_iter()
                .filter(|d| d.starts_with('$'))
                .find(|d| self.resolve_template(d) == wanted)
            {
                path = d;
            }
        }
        let path = &path;
        if let Some((body, first)) = self.written.remove(&norm(path)) {
            let fam = family
                .or_else(|| shebang_family(&body))
                .unwrap_or(Family::Shell);
            if fam == Family::Shell {
                self.text(&body, first);
            } else {
                let what = format!("{text} (a {} script written on line {first})", fam.label());
                self.inline(fam, &body, false, false, line, &what);
            }
        }
        // `Push-Location $dir` then `.\setup.ps1`: a relative path (not a bare name, which
        // is looked up on PATH) is under that directory.
        let in_cwd = self.cwd.as_ref().and_then(|dir| {
            let rel = path.strip_prefix("./").unwrap_or(path);
            let relative = path.starts_with("./") || rel.contains('/');
            (relative && !rel.starts_with(['/', '$', '~']) && !rel.is_empty())
                .then(|| format!("{dir}/{rel}"))
        });
        let unpacked = self
            .files
            .runs_unpacked(path)
            .or_else(|| in_cwd.and_then(|p| self.files.runs_unpacked(&p)));
        let (rule, message) = if let Some(archive_line) = unpacked {
            (
                UNVERIFIED_DOWNLOAD_EXEC,
                format!("runs {path}, unpacked from an archive downloaded on line {archive_line} with no checksum or signature check (CWE-494)"),
            )
        } else if let Some(d) = self.files.unverified_exec(path) {
            if d.decoded {
                (
                    DECODE_TO_INTERPRETER,
                    format!("runs {}, decoded from an embedded blob on line {}: the code that runs cannot be reviewed", d.path, d.line),
                )
            } else {
                (
                    UNVERIFIED_DOWNLOAD_EXEC,
                    format!("runs {} downloaded on line {} with no checksum or signature check in between (CWE-494)", d.path, d.line),
                )
            }
        } else {
            return;
        };
        self.push(rule, Severity::High, line, text, message);
    }

    /// A call of a helper that downloads and runs an installer, whose check runs only
    /// when given a parameter this call does not pass (`Install-Binary -Url U` with no
    /// `-ExpectedSHA256Sum`). A splatted call (`@args`) may pass it: no finding.
    pub(super) fn conditional_installer(
        &mut self,
        name: &str,
        args: &[String],
        line: usize,
        text: &str,
    ) {
        let Some(t) = self.helpers.get(name) else {
            return;
        };
        if !t.runs_download || t.verifies {
            return;
        }
        // `function Install-Binary {` defines it.
        let definition = text
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("function")
            || args
                .first()
                .is_some_and(|a| a == "{" || a.starts_with("()"));
        if definition {
            return;
        }
        // `@params` splats a hashtable (it may pass the check); `@('/install')` is an array.
        let splat = args.iter().any(|a| {
            a.strip_prefix('@').is_some_and(|v| {
                !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        });
        // `-ExpectedSHA256Sum X`, `-ExpectedSHA256Sum:X` or an unambiguous prefix
        // (`-ExpectedSHA256`), with a value that is not empty (`""`, `$null`: the
        // helper's `if ($X)` is then false).
        let passed = args.iter().enumerate().any(|(k, a)| {
            let Some(flag) = a.strip_prefix('-') else {
                return false;
            };
            let (flag, inline) = match flag.split_once(':') {
                Some((f, v)) => (f, Some(v)),
                None => (flag, None),
            };
            let names = |p: &String| {
                p.eq_ignore_ascii_case(flag)
                    || (flag.len() >= 3
                        && p.to_ascii_lowercase()
                            .starts_with(&flag.to_ascii_lowercase()))
            };
            if !t.verifies_if.iter().any(names) {
                return false;
            }
            let value = inline.or_else(|| args.get(k + 1).map(String::as_str));
            value.is_some_and(|v| {
                let v = v.trim_matches(['"', '\'']);
                !v.is_empty() && !v.eq_ignore_ascii_case("$null") && !v.starts_with('-')
            })
        });
        if splat || passed {
            return;
        }
        if t.verifies_if.is_empty() {
            // It never checks: each call runs what it downloads unverified (the
            // definition, where the download and the run are, is reported too).
            self.push(
                UNVERIFIED_DOWNLOAD_EXEC,
                Severity::High,
                line,
                text,
                format!("{name} downloads and runs a file with no checksum or signature check: this call runs one unverified (CWE-494)"),
            );
            return;
        }
        let needs: Vec<String> = t.verifies_if.iter().map(|p| format!("-{p}")).collect();
        self.push(
            UNVERIFIED_DOWNLOAD_EXEC,
            Severity::High,
            line,
            text,
            format!(
                "{name} downloads and runs a file, and checks it only when given {}: this call passes none (or an empty value), so it runs unverified (CWE-494)",
                needs.join(" or ")
            ),
        );
    }

    /// `$dir/rest` with `dir` replaced by the value as written the script assigned to
    /// it (`$(nvm_install_dir)/nvm.sh`), normalised.
    fn resolve_template(&self, path: &str) -> String {
        let p = norm(path);
        let (head, rest) = leading_segment(&p);
        match self.templates.get(&var_name(head)) {
            Some(v) if is_stable_template(v) => norm(&format!("{v}{rest}")),
            _ => p,
        }
    }

    /// `$dir/rest` with `dir` replaced by the plain value the script assigned to it.
    pub(super) fn resolve_leading_var(&self, path: &str) -> String {
        let (head, rest) = leading_segment(path);
        match self.vars.get(&var_name(head)) {
            Some(v) if !v.is_empty() => format!("{v}{rest}"),
            _ => path.to_string(),
        }
    }

    /// A directory put on PATH for what runs next (`echo DIR >> $GITHUB_PATH`,
    /// `export PATH=DIR:$PATH`) that was unpacked from an unverified download: every
    /// later program found there runs unverified code.
    pub(super) fn path_addition(
        &mut self,
        name: &str,
        args: &[String],
        stdout_to: Option<&str>,
        line: usize,
        text: &str,
    ) {
        let github_path = |to: &str| {
            to.to_ascii_lowercase()
                .trim_end_matches('}')
                .ends_with("github_path")
        };
        let dirs: Vec<String> = match (name, stdout_to) {
            ("echo" | "printf", Some(to)) if github_path(to) => args
                .iter()
                .filter(|a| !a.starts_with('-'))
                .cloned()
                .collect(),
            // `Add-Content $env:GITHUB_PATH DIR`, `Add-Content -Path … -Value DIR`.
            ("add-content", _) => {
                let value_of = |flag: &str| {
                    args.iter()
                        .position(|a| a.eq_ignore_ascii_case(flag))
                        .and_then(|k| args.get(k + 1))
                };
                let positional: Vec<&String> =
                    args.iter().filter(|a| !a.starts_with('-')).collect();
                let path = value_of("-path").or(positional.first().copied());
                let value = value_of("-value").or(positional.get(1).copied());
                match (path, value) {
                    (Some(p), Some(v)) if github_path(p) => vec![v.clone()],
                    _ => return,
                }
            }
            ("export", _) => args
                .iter()
                .filter_map(|a| a.strip_prefix("PATH=").or_else(|| a.strip_prefix("PATH+=")))
                .flat_map(|v| v.split([':', ';']).map(str::to_string).collect::<Vec<_>>())
                .collect(),
            _ => return,
        };
        for dir in dirs {
            let dir = self.resolve_leading_var(&norm(&dir));
            if dir.is_empty() || dir.contains("$PATH") || dir.contains("${PATH}") {
                continue;
            }
            if let Some(from) = self.files.runs_unpacked(&dir) {
                self.push(
                    UNVERIFIED_DOWNLOAD_EXEC,
                    Severity::High,
                    line,
                    text,
                    format!("puts {dir} on PATH, unpacked from an archive downloaded on line {from} with no checksum or signature check: the programs later steps run from there are unverified (CWE-494)"),
                );
            }
        }
    }

    /// The unverified download that is the Homebrew formula or cask `name` (`rustup`,
    /// `local/temp/parallels`): a `NAME.rb` written under a tap's `Formula` or `Casks`
    /// directory. `brew install NAME` then runs its Ruby code.
    pub(super) fn tap_formula(&self, name: &str) -> Option<String> {
        let stem = norm(name.rsplit('/').next().unwrap_or(name));
        let file = format!("{stem}.rb");
        self.files.unverified_paths().into_iter().find(|p| {
            let full = self
                .templates
                .get(&var_name(p))
                .map_or_else(|| p.clone(), |t| norm(t));
            // A tap's directories, or a variable named for one (`$CASKS_DIR/x.rb`).
            let head = var_name(full.split('/').next().unwrap_or("")).to_ascii_lowercase();
            let in_tap = ["/Formula/", "/Casks/", "/Taps/"]
                .iter()
                .any(|d| full.contains(d))
                || full.starts_with("Casks/")
                || full.starts_with("Formula/")
                || ["cask", "formula", "tap"].iter().any(|w| head.contains(w));
            in_tap && (full.ends_with(&format!("/{file}")) || full == file)
        })
    }
}

/// A value that names the same path wherever it is spelt: one substitution of a
/// command with no arguments (`$(nvm_install_dir)`), not one that makes a new name each
/// time (`$(mktemp -d)`) or depends on its arguments.
fn is_stable_template(value: &str) -> bool {
    value
        .strip_prefix("$(")
        .and_then(|v| v.split_once(')'))
        .is_some_and(|(command, _)| {
            let command = command.trim();
            !command.is_empty()
                && !command.contains(char::is_whitespace)
                && !matches!(command, "mktemp" | "date" | "uuidgen")
        })
}

/// `path` split before its first `/`: (`$dir`, `/rest`), or (`path`, "").
fn leading_segment(path: &str) -> (&str, &str) {
    path.find('/').map_or((path, ""), |i| path.split_at(i))
}
