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
    /// Windows batch files: `*.bat`, `*.cmd`.
    Batch,
    /// PowerShell scripts and modules: `*.ps1`, `*.psm1`.
    PowerShell,
    /// `azure-pipelines.yml` and YAML under `.azure-pipelines/` or `.azuredevops/`.
    AzurePipelines,
    /// `.circleci/config.yml` (any YAML under `.circleci/`).
    CircleCi,
    /// `Jenkinsfile`, `Jenkinsfile.*`, `*.jenkinsfile`, `*.groovy` under `jenkins/`.
    Jenkinsfile,
    /// `bitbucket-pipelines.yml`.
    Bitbucket,
    /// `.travis.yml`.
    Travis,
    /// YAML under `.buildkite/`, and `buildkite.yml`.
    Buildkite,
    /// `.drone.yml`.
    Drone,
    /// `package.json`: its `scripts` (npm lifecycle scripts such as `postinstall`).
    PackageJson,
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
            Kind::Batch => "batch",
            Kind::PowerShell => "powershell",
            Kind::AzurePipelines => "azure-pipelines",
            Kind::CircleCi => "circleci",
            Kind::Jenkinsfile => "jenkinsfile",
            Kind::Bitbucket => "bitbucket-pipelines",
            Kind::Travis => "travis",
            Kind::Buildkite => "buildkite",
            Kind::Drone => "drone",
            Kind::PackageJson => "package-json",
        }
    }

    /// Every kind, in the order `--help` and the docs list them.
    pub const ALL: &'static [Kind] = &[
        Kind::Shell,
        Kind::Makefile,
        Kind::Dockerfile,
        Kind::Justfile,
        Kind::GithubActions,
        Kind::GitlabCi,
        Kind::Batch,
        Kind::PowerShell,
        Kind::AzurePipelines,
        Kind::CircleCi,
        Kind::Jenkinsfile,
        Kind::Bitbucket,
        Kind::Travis,
        Kind::Buildkite,
        Kind::Drone,
        Kind::PackageJson,
    ];

    /// The kind named `name` (as [`Kind::as_str`] gives it).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == name)
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
    if lower == "jenkinsfile" || lower.starts_with("jenkinsfile.") || ext == Some("jenkinsfile") {
        return Some(Kind::Jenkinsfile);
    }
    if lower == "package.json" {
        return Some(Kind::PackageJson);
    }
    match ext {
        Some("bat" | "cmd") => return Some(Kind::Batch),
        Some("ps1" | "psm1") => return Some(Kind::PowerShell),
        _ => {}
    }
    if matches!(ext, Some("yml") | Some("yaml")) {
        let parent = path.parent().map(display_dir).unwrap_or_default();
        let in_dir = |d: &str| parent == d || parent.ends_with(&format!("/{d}"));
        let stem = lower.trim_end_matches(".yml").trim_end_matches(".yaml");
        // A workflow is a workflow whatever it is called (`buildkite.yml` included).
        if in_dir(".github/workflows") {
            return Some(Kind::GithubActions);
        }
        match stem {
            ".travis" => return Some(Kind::Travis),
            ".drone" => return Some(Kind::Drone),
            "bitbucket-pipelines" => return Some(Kind::Bitbucket),
            "buildkite" | ".buildkite" => return Some(Kind::Buildkite),
            "azure-pipelines" => return Some(Kind::AzurePipelines),
            _ => {}
        }
        if stem.ends_with(".azure-pipelines")
            || in_dir(".azure-pipelines")
            || in_dir(".azuredevops")
        {
            return Some(Kind::AzurePipelines);
        }
        if in_dir(".circleci") {
            return Some(Kind::CircleCi);
        }
        if in_dir(".buildkite") {
            return Some(Kind::Buildkite);
        }
        if lower == ".gitlab-ci.yml"
            || lower == ".gitlab-ci.yaml"
            || lower.ends_with(".gitlab-ci.yml")
            || lower.ends_with(".gitlab-ci.yaml")
        {
            return Some(Kind::GitlabCi);
        }
        if in_dir(".github/workflows") {
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

/// How much of an explicitly named file is read to recognise its kind by content.
const CONTENT_SNIFF_BYTES: u64 = 64 * 1024;

/// The kind of a file from its text, for a file named on the command line that its name
/// does not classify (a workflow kept outside `.github/workflows`, a CI file renamed).
/// Looks only at top-level YAML keys and a few unmistakable first lines.
pub fn kind_from_content(text: &str) -> Option<Kind> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))?;
    let lower_first = first.to_ascii_lowercase();
    if lower_first.starts_with("@echo off") || lower_first.starts_with("setlocal") {
        return Some(Kind::Batch);
    }
    if first.starts_with('{') && text.contains("\"scripts\"") {
        return Some(Kind::PackageJson);
    }
    if first.starts_with("pipeline {")
        || first.starts_with("pipeline{")
        || first.starts_with("node {")
        || first.starts_with("node(")
    {
        return Some(Kind::Jenkinsfile);
    }
    let top: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with([' ', '\t', '#', '-']) && !l.trim().is_empty())
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim_matches(['"', '\''])))
        .collect();
    let has = |k: &str| top.contains(&k);
    let nested = |k: &str| {
        text.lines()
            .any(|l| l.trim_start().trim_start_matches("- ").starts_with(k))
    };
    if has("jobs") && (nested("runs-on:") || nested("uses:")) || has("runs") && nested("using:") {
        return Some(Kind::GithubActions);
    }
    if has("pipelines") {
        return Some(Kind::Bitbucket);
    }
    if has("kind") && text.lines().any(|l| l.trim() == "kind: pipeline") {
        return Some(Kind::Drone);
    }
    if has("version") && (has("orbs") || has("executors") || has("workflows") && has("jobs")) {
        return Some(Kind::CircleCi);
    }
    if has("pool") || has("trigger") && has("steps") || nested("task:") && has("steps") {
        return Some(Kind::AzurePipelines);
    }
    if has("language") || has("before_install") {
        return Some(Kind::Travis);
    }
    if has("steps") && (nested("command:") || nested("commands:")) {
        return Some(Kind::Buildkite);
    }
    if has("stages")
        || has("image") && nested("script:")
        || top
            .iter()
            .any(|k| text.contains(&format!("{k}:\n  script:")))
    {
        return Some(Kind::GitlabCi);
    }
    if lower_first.starts_with("from ") || lower_first.starts_with("arg ") {
        return Some(Kind::Dockerfile);
    }
    None
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
            Ok(_) => match detect_kind(p, first_line(p).as_deref()).or_else(|| {
                let mut head = Vec::new();
                let f = std::fs::File::open(p).ok()?;
                f.take(CONTENT_SNIFF_BYTES).read_to_end(&mut head).ok()?;
                kind_from_content(&String::from_utf8_lossy(&head))
            }) {
                Some(k) => files.push((p.clone(), k)),
                None => errors.push(format!(
                    "{}: not a known pipeline file kind, by name or by content (shell \
                     script, Makefile, Dockerfile, justfile, a CI file of GitHub Actions, \
                     GitLab, Azure Pipelines, CircleCI, Jenkins, Bitbucket, Travis, \
                     Buildkite or Drone, batch, PowerShell, package.json); rename it or \
                     pass its directory",
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
