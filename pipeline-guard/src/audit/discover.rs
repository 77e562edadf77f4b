//! Which files are pipeline files, and of which kind.

use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Directories never walked into.
pub const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules"];

/// The kinds of pipeline file the audit understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A shell script (`*.sh`, `*.bash`, or a `sh`/`bash`/`zsh`/`dash`/`ksh` shebang).
    Shell,
    /// `Makefile`, `makefile`, `GNUmakefile`, `*.mk`.
    Makefile,
    /// `Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*`.
    Dockerfile,
    /// `justfile`, `Justfile`, `.justfile`, `*.just`.
    Justfile,
    /// `.github/workflows/*.yml|yaml` and composite actions `action.yml|yaml`.
    GithubActions,
    /// `.gitlab-ci.yml` and included `*.gitlab-ci.yml|yaml`.
    GitlabCi,
}

impl Kind {
    /// A short lowercase name (`"github-actions"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Shell => "shell",
            Kind::Makefile => "makefile",
            Kind::Dockerfile => "dockerfile",
            Kind::Justfile => "justfile",
            Kind::GithubActions => "github-actions",
            Kind::GitlabCi => "gitlab-ci",
        }
    }
}

/// The kind of a file from its path alone, or from its first line when the name says
/// nothing and `first_line` is given: a shebang naming a shell, or zsh's `#compdef`
/// (completion files such as `_git` carry no extension).
pub fn detect_kind(path: &Path, first_line: Option<&str>) -> Option<Kind> {
    let name = path.file_name()?.to_string_lossy();
    let lower = name.to_ascii_lowercase();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let ext = ext.as_deref();
    if matches!(name.as_ref(), "Makefile" | "makefile" | "GNUmakefile") || ext == Some("mk") {
        return Some(Kind::Makefile);
    }
    if lower == "dockerfile"
        || lower == "containerfile"
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
        || lower.starts_with("dockerfile.")
        || lower.starts_with("containerfile.")
    {
        return Some(Kind::Dockerfile);
    }
    if lower == "justfile" || lower == ".justfile" || ext == Some("just") {
        return Some(Kind::Justfile);
    }
    if matches!(ext, Some("yml") | Some("yaml")) {
        if lower == ".gitlab-ci.yml"
            || lower == ".gitlab-ci.yaml"
            || lower.ends_with(".gitlab-ci.yml")
            || lower.ends_with(".gitlab-ci.yaml")
        {
            return Some(Kind::GitlabCi);
        }
        let parent = path.parent().map(display_dir).unwrap_or_default();
        if parent == ".github/workflows" || parent.ends_with("/.github/workflows") {
            return Some(Kind::GithubActions);
        }
        if lower == "action.yml" || lower == "action.yaml" {
            return Some(Kind::GithubActions);
        }
        return None;
    }
    if matches!(
        ext,
        Some("sh") | Some("bash") | Some("zsh") | Some("zsh-theme") | Some("ksh")
    ) || SHELL_STARTUP_FILES.contains(&lower.as_str())
    {
        return Some(Kind::Shell);
    }
    let line = first_line?;
    if line.starts_with("#compdef") {
        return Some(Kind::Shell);
    }
    let spec = line.strip_prefix("#!")?;
    match super::classify_interpreter(spec.trim()) {
        (super::Lang::Shell, p) if !p.is_empty() => Some(Kind::Shell),
        _ => None,
    }
}

fn display_dir(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// The first line of a file (at most 256 bytes), for shebang detection.
/// Shell files known by name: the startup files of sh, bash and zsh.
const SHELL_STARTUP_FILES: &[&str] = &[
    ".profile",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
];

fn first_line(path: &Path) -> Option<String> {
    let mut buf = [0u8; 256];
    let mut f = std::fs::File::open(path).ok()?;
    let n = f.read(&mut buf).ok()?;
    let head = buf.get(..n)?;
    if !head.starts_with(b"#!") && !head.starts_with(b"#compdef") {
        return None;
    }
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(n);
    Some(String::from_utf8_lossy(head.get(..end)?).into_owned())
}

fn excluded(path: &Path, exclude: &[PathBuf]) -> bool {
    // Compare without `.` components: a walk from "." yields "./a/b", which must match
    // an exclusion given as "a/b" (and the other way round).
    let normal = |p: &Path| -> PathBuf {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    };
    let path = normal(path);
    exclude.iter().any(|e| path.starts_with(normal(e)))
}

/// Finds the pipeline files under `paths` (files or directories), in a stable order, and
/// the problems met (a missing path, an unreadable directory, an explicitly named file of
/// no known kind). Symbolic links inside directories are not followed.
pub fn discover(paths: &[PathBuf], exclude: &[PathBuf]) -> (Vec<(PathBuf, Kind)>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Err(e) => errors.push(format!("{}: {e}", p.display())),
            Ok(m) if m.is_dir() => walk(p, exclude, &mut files, &mut errors),
            Ok(_) => match detect_kind(p, first_line(p).as_deref()) {
                Some(k) => files.push((p.clone(), k)),
                None => errors.push(format!(
                    "{}: not a known pipeline file kind (shell script, Makefile, Dockerfile, \
                     justfile, GitHub Actions workflow, GitLab CI file)",
                    p.display()
                )),
            },
        }
    }
    (files, errors)
}

fn walk(
    dir: &Path,
    exclude: &[PathBuf],
    files: &mut Vec<(PathBuf, Kind)>,
    errors: &mut Vec<String>,
) {
    if excluded(dir, exclude) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push(format!("{}: cannot list directory: {e}", dir.display()));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            let name = e.file_name();
            if SKIPPED_DIRS.iter().any(|s| name == *s) {
                continue;
            }
            walk(&path, exclude, files, errors);
        } else if ft.is_file() && !excluded(&path, exclude) {
            // The first line is read whatever the name: scripts such as
            // `install.v2` or `run.tests` have a dot but are known by their shebang.
            let kind = detect_kind(&path, None)
                .or_else(|| detect_kind(&path, first_line(&path).as_deref()));
            if let Some(k) = kind {
                files.push((path, k));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_match_with_or_without_leading_dot() {
        let ex = [PathBuf::from("repo-tool/tests/corpus")];
        assert!(excluded(Path::new("./repo-tool/tests/corpus/a.sh"), &ex));
        assert!(excluded(Path::new("repo-tool/tests/corpus"), &ex));
        assert!(!excluded(Path::new("./repo-tool/tests/other.sh"), &ex));
        let ex = [PathBuf::from("./target")];
        assert!(excluded(Path::new("target/x.sh"), &ex));
    }

    #[test]
    fn kinds() {
        let k = |p: &str, l: Option<&str>| detect_kind(Path::new(p), l);
        assert_eq!(k("a/Makefile", None), Some(Kind::Makefile));
        assert_eq!(k("rules.mk", None), Some(Kind::Makefile));
        assert_eq!(k("x/build.Dockerfile", None), Some(Kind::Dockerfile));
        assert_eq!(k("Containerfile", None), Some(Kind::Dockerfile));
        assert_eq!(k("Justfile", None), Some(Kind::Justfile));
        assert_eq!(
            k(".github/workflows/ci.yml", None),
            Some(Kind::GithubActions)
        );
        assert_eq!(
            k("r/.github/workflows/ci.yaml", None),
            Some(Kind::GithubActions)
        );
        assert_eq!(k("config.yml", None), None);
        assert_eq!(k(".gitlab-ci.yml", None), Some(Kind::GitlabCi));
        assert_eq!(k("ci/deploy.gitlab-ci.yml", None), Some(Kind::GitlabCi));
        assert_eq!(k("x.sh", None), Some(Kind::Shell));
        assert_eq!(
            k("bootstrap", Some("#!/usr/bin/env bash")),
            Some(Kind::Shell)
        );
        assert_eq!(k("bootstrap", Some("#!/bin/dash -e")), Some(Kind::Shell));
        assert_eq!(k("tool", Some("#!/usr/bin/env python3")), None);
        assert_eq!(k("README", None), None);
        // zsh and friends, and a dotted name known by its shebang: all shell.
        for (path, line) in [
            ("plugins/composer.plugin.zsh", None),
            ("themes/x.zsh-theme", None),
            ("home/.zshrc", None),
            ("completions/_tool", Some("#compdef tool")),
            ("install.v2", Some("#!/bin/sh")),
        ] {
            assert_eq!(k(path, line), Some(Kind::Shell), "{path}");
        }
    }

    #[test]
    fn a_directory_walk_reads_dotted_scripts_and_zsh_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "composer.plugin.zsh",
            "curl -s https://getcomposer.org/installer | php\n",
        );
        write(
            "install.v2",
            "#!/bin/sh\ncurl -fsSL https://x.test/i.sh | sh\n",
        );
        write("_tool", "#compdef tool\n_arguments '*:x'\n");
        write("data.v2", "not a script\n");
        let (files, errors) = discover(&[dir.path().to_path_buf()], &[]);
        assert!(errors.is_empty(), "{errors:?}");
        let mut names: Vec<String> = files
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["_tool", "composer.plugin.zsh", "install.v2"]);
    }
}
