//! Recognisers for what one command does, by its program name and arguments: which
//! command a container runtime runs, what an extraction unpacks and where, which
//! operands an installer runs, and which interpreter a script's `#!` line names.

use super::indicators::{family, program_name, Family};

/// Long options of `docker run`/`exec` (and podman's) that take a value.
const CONTAINER_OPTS_WITH_VALUE: &[&str] = &[
    "--env",
    "--volume",
    "--workdir",
    "--user",
    "--name",
    "--network",
    "--net",
    "--publish",
    "--platform",
    "--mount",
    "--label",
    "--env-file",
    "--add-host",
    "--device",
    "--cap-add",
    "--cap-drop",
    "--cpus",
    "--memory",
    "--hostname",
    "--ipc",
    "--pid",
    "--restart",
    "--security-opt",
    "--shm-size",
    "--tmpfs",
    "--ulimit",
    "--volumes-from",
    "--log-driver",
    "--log-opt",
    "--gpus",
    "--runtime",
    "--dns",
    "--cidfile",
    "--group-add",
    "--pull",
    "--stop-signal",
    "--stop-timeout",
    "--health-cmd",
    "--attach",
    "--cpu-shares",
    "--cpuset-cpus",
    "--detach-keys",
    "--expose",
    "--label-file",
    "--link",
    "--memory-swap",
    "--network-alias",
    "--userns",
    "--uts",
    "--cgroupns",
    "--isolation",
    "--ip",
    "--ip6",
    "--sysctl",
    "--pids-limit",
    "--cpu-quota",
    "--cpu-period",
    "--cpuset-mems",
    "--memory-reservation",
    "--memory-swappiness",
    "--kernel-memory",
    "--blkio-weight",
    "--oom-score-adj",
    "--cpu-rt-runtime",
    "--cpu-rt-period",
    "--device-read-bps",
    "--device-write-bps",
    "--device-read-iops",
    "--device-write-iops",
    "--health-interval",
    "--health-retries",
    "--health-timeout",
    "--health-start-period",
    "--mac-address",
    "--domainname",
    "--link-local-ip",
    "--storage-opt",
    "--init-path",
    "--annotation",
    "--arch",
    "--os",
    "--variant",
    "--device-cgroup-rule",
];

/// Where the command of `docker run [OPTS] IMAGE CMD…` or `docker exec [OPTS] CONTAINER
/// CMD…` starts, and the `--entrypoint` that runs it, if one is given. `None` for any
/// other docker subcommand, or when no command follows the image.
pub(crate) fn container_command(argv: &[String]) -> Option<(usize, Option<String>)> {
    let mut i = 1;
    while let Some(a) = argv.get(i).filter(|a| a.starts_with('-')) {
        let global_with_value = [
            "-H",
            "--host",
            "--context",
            "-c",
            "--config",
            "-l",
            "--log-level",
        ];
        i += if global_with_value.contains(&a.as_str()) {
            2
        } else {
            1
        };
    }
    if argv.get(i).is_some_and(|a| a == "container") {
        i += 1;
    }
    if !argv.get(i).is_some_and(|a| a == "run" || a == "exec") {
        return None;
    }
    i += 1;
    let mut entrypoint = None;
    while let Some(a) = argv.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if let Some(e) = a.strip_prefix("--entrypoint=") {
            entrypoint = Some(e.to_string());
            i += 1;
        } else if a == "--entrypoint" {
            entrypoint = argv.get(i + 1).cloned();
            i += 2;
        } else if a.starts_with("--") {
            i += if CONTAINER_OPTS_WITH_VALUE.contains(&a.as_str()) {
                2
            } else {
                1
            };
        } else {
            // `-it`, `-e X`, `-eX=1`, `-v a:b`: a value-taking letter last takes the next word.
            let last = a.chars().last().unwrap_or('-');
            i += if "eEvwuplmhca".contains(last) { 2 } else { 1 };
        }
    }
    // The image (or container) name, then the command.
    let cmd = i + 1;
    (cmd < argv.len() || entrypoint.is_some()).then_some((cmd, entrypoint))
}

/// What an extraction command unpacks, and where to.
pub(crate) struct Extraction {
    /// The archive operand (`None`: read from standard input).
    pub archive: Option<String>,
    /// The destination directory (`None`: the current one).
    pub dir: Option<String>,
    /// The first member named for extraction (`tar -xf - pkg-1.0/bin/tool`), if any.
    pub member: Option<String>,
}

/// `tar -x[f F] [-C D]`, `unzip F [-d D]`, `7z x F [-oD]`, `Expand-Archive [-Path] F
/// [-DestinationPath] D`, `bsdtar`.
pub(crate) fn extraction(name: &str, args: &[String]) -> Option<Extraction> {
    let value_after = |flags: &[&str]| {
        args.iter()
            .position(|a| flags.iter().any(|f| a.eq_ignore_ascii_case(f)))
            .and_then(|k| args.get(k + 1).cloned())
    };
    let positional = || args.iter().find(|a| !a.starts_with('-')).cloned();
    match name {
        "tar" | "bsdtar" | "gtar" => {
            let first = args.first().map(String::as_str).unwrap_or("");
            let bundled = !first.starts_with("--") && first.trim_start_matches('-').contains('x');
            let extracting = bundled
                || args
                    .iter()
                    .any(|a| a == "-x" || a == "--extract" || a == "--get")
                || args
                    .iter()
                    .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('x'));
            if !extracting {
                return None;
            }
            // The archive: `-f F`, `--file=F`, or the word after a bundle ending in `f`.
            let archive = args
                .iter()
                .position(|a| {
                    a == "-f" || (!a.starts_with("--") && a.trim_start_matches('-').ends_with('f'))
                })
                .and_then(|k| args.get(k + 1).cloned())
                .or_else(|| {
                    args.iter()
                        .find_map(|a| a.strip_prefix("--file=").map(str::to_string))
                })
                .filter(|a| a != "-");
            let dir = value_after(&["-C", "--directory"]).or_else(|| {
                args.iter()
                    .find_map(|a| a.strip_prefix("--directory=").map(str::to_string))
            });
            // Members: operands that are neither the bundle, the archive nor the directory.
            let member = args
                .iter()
                .enumerate()
                .filter(|(k, a)| {
                    let prev = if *k > 0 { args[k - 1].as_str() } else { "" };
                    let takes_value = prev == "-f"
                        || prev == "-C"
                        || prev == "--directory"
                        || (*k == 1 && bundled && first.ends_with('f'))
                        || (!prev.starts_with("--")
                            && prev.starts_with('-')
                            && prev.ends_with('f'));
                    *k > 0 && !a.starts_with('-') && !takes_value
                })
                .map(|(_, a)| a.clone())
                .next();
            Some(Extraction {
                archive,
                dir,
                member,
            })
        }
        "unzip" => Some(Extraction {
            archive: positional(),
            dir: value_after(&["-d"]),
            member: None,
        }),
        // `7z.exe $ExtractMethod …` in a helper that takes `x` or `e` as a parameter.
        "7z" | "7za" | "7zr"
            if args
                .first()
                .is_some_and(|a| a == "x" || a == "e" || a.starts_with('$')) =>
        {
            Some(Extraction {
                archive: args.iter().skip(1).find(|a| !a.starts_with('-')).cloned(),
                dir: args
                    .iter()
                    .find_map(|a| a.strip_prefix("-o").map(str::to_string)),
                member: None,
            })
        }
        "expand-archive" => Some(Extraction {
            archive: value_after(&["-Path", "-LiteralPath"]).or_else(positional),
            dir: value_after(&["-DestinationPath"]),
            member: None,
        }),
        _ => None,
    }
}

/// A package or installer file (`./x.deb`, `/tmp/a.pkg`, `setup.msi`, `tool.exe`), as an
/// installer's operand; `$var` operands count when the variable holds a download.
pub(crate) fn is_package_file(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    let package = [".deb", ".rpm", ".pkg", ".msi", ".exe", ".dmg"]
        .iter()
        .any(|e| lower.ends_with(e));
    (package && !arg.starts_with('-')) || arg.starts_with('$')
}

/// The interpreter family a script's `#!` line names (`#!/usr/bin/env python3`).
pub(crate) fn shebang_family(body: &str) -> Option<Family> {
    let spec = body.lines().next()?.strip_prefix("#!")?;
    let mut words = spec.split_whitespace();
    let mut prog = words.next()?;
    if program_name(prog) == "env" {
        prog = words.find(|w| !w.starts_with('-'))?;
    }
    family(&program_name(prog))
}
