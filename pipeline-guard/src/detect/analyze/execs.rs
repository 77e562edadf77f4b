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
        if !self.files.is_tracked_or_unpacked(&path) {
            // `-o "$INSTALL_DIR/nvm.sh"` with `INSTALL_DIR="$(nvm_install_dir)"`, then
            // `. "$(nvm_install_dir)/nvm.sh"`: the same path, spelt two ways.
            let wanted = self.resolve_template(&path);
            if let Some(d) = self
                .files
                .unverified_paths()
                .into_iter()
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
        if !t.runs_download || t.verifies || t.verifies_if.is_empty() {
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
        let passed = args.iter().any(|a| {
            // `@params` splats a hashtable; `@('/install')` is an array.
            a.strip_prefix('@').is_some_and(|v| {
                !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }) || a.strip_prefix('-').is_some_and(|flag| {
                let flag = flag.trim_end_matches(':');
                t.verifies_if.iter().any(|p| p.eq_ignore_ascii_case(flag))
            })
        });
        if passed {
            return;
        }
        let needs: Vec<String> = t.verifies_if.iter().map(|p| format!("-{p}")).collect();
        self.push(
            UNVERIFIED_DOWNLOAD_EXEC,
            Severity::High,
            line,
            text,
            format!(
                "{name} downloads and runs a file, and checks it only when given {}: this call passes none, so it runs unverified (CWE-494)",
                needs.join(" or ")
            ),
        );
    }

    /// `$dir/rest` with `dir` replaced by the value as written the script assigned to
    /// it (`$(nvm_install_dir)/nvm.sh`), normalised.
    fn resolve_template(&self, path: &str) -> String {
        let p = norm(path);
        let (head, rest) = match p.find('/') {
            Some(i) => (&p[..i], &p[i..]),
            None => (p.as_str(), ""),
        };
        match self.templates.get(&var_name(head)) {
            Some(v) if !v.is_empty() => norm(&format!("{v}{rest}")),
            _ => p,
        }
    }

    /// `$dir/rest` with `dir` replaced by the plain value the script assigned to it.
    pub(super) fn resolve_leading_var(&self, path: &str) -> String {
        let (head, rest) = match path.find('/') {
            Some(i) => (&path[..i], &path[i..]),
            None => (path, ""),
        };
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
        let dirs: Vec<String> = match (name, stdout_to) {
            ("echo" | "printf", Some(to)) if to.to_ascii_lowercase().ends_with("github_path") => {
                args.iter()
                    .filter(|a| !a.starts_with('-'))
                    .cloned()
                    .collect()
            }
            ("export", _) => args
                .iter()
                .filter_map(|a| a.strip_prefix("PATH="))
                .flat_map(|v| v.split(':').map(str::to_string).collect::<Vec<_>>())
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
            let in_tap = ["/Formula/", "/Casks/", "Casks/", "/Taps/"]
                .iter()
                .any(|d| full.contains(d))
                || full.to_ascii_lowercase().contains("cask");
            in_tap && (full.ends_with(&format!("/{file}")) || full == file)
        })
    }
}
