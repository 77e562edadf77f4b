//! Reading one argv: looking through wrappers, then reading an interpreter's options the
//! way that interpreter does (combined short flags, attached values, `--`).

use super::indicators::{decode_powershell_encoded, family, program_name, Family};
use super::parse::split_words;
use super::recognise::container_command;

/// The effective command after wrappers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unwrapped {
    /// The command's argv; `argv[0]` as given (not normalised).
    pub argv: Vec<String>,
    /// Index of `argv[0]` in the original argv, or `None` when a wrapper re-split text
    /// (`env -S`), so that positions no longer map.
    pub offset: Option<usize>,
}

/// How an interpreter is told what to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invocation {
    /// Program text on the command line (`-c`, `-e`, `-Command`, …).
    Inline {
        family: Family,
        code: String,
        /// Index (in the effective argv) of the first word holding code.
        idx: usize,
        /// `perl`/`ruby` run with `-n`, `-p` or `-i` (a filter one-liner).
        filter: bool,
        /// PowerShell `-EncodedCommand` (code is the decoded text when it decodes).
        encoded: bool,
    },
    /// The program is read from standard input.
    Stdin { family: Family },
    /// The program is read from the file named at this index.
    Script { family: Family, idx: usize },
}

const MAX_WRAPPERS: usize = 16;

fn opt_takes_arg(a: &str, with_arg: &[&str]) -> bool {
    with_arg.contains(&a)
}

/// Skips options of a wrapper starting at `i`; returns the first operand's index.
/// Options listed in `with_arg` consume the next word; `--` ends options.
fn skip_opts(argv: &[String], mut i: usize, with_arg: &[&str]) -> usize {
    while let Some(a) = argv.get(i) {
        if a == "--" {
            return i + 1;
        }
        if !a.starts_with('-') || a == "-" {
            return i;
        }
        i += if opt_takes_arg(a, with_arg) { 2 } else { 1 };
    }
    i
}

/// Looks through wrappers (`env`, `sudo`, `doas`, `nice`, `timeout`, `xargs`, `busybox`,
/// `nohup`, `stdbuf`, `exec`, version-manager shims). Total; at most 16 levels.
pub(crate) fn unwrap(argv: &[String]) -> Unwrapped {
    let mut cur: Vec<String> = argv.to_vec();
    let mut offset = Some(0usize);
    for _ in 0..MAX_WRAPPERS {
        let Some(first) = cur.first() else { break };
        let name = program_name(first);
        let next: Option<usize> = match name.as_str() {
            "env" => {
                let mut i = 1;
                let mut split = None;
                while let Some(a) = cur.get(i) {
                    if a == "--" {
                        i += 1;
                        break;
                    } else if a == "-S" || a == "--split-string" {
                        split = Some((i + 1, cur.get(i + 1).cloned().unwrap_or_default()));
                        break;
                    } else if let Some(s) = a.strip_prefix("--split-string=") {
                        split = Some((i, s.to_string()));
                        break;
                    } else if let Some(rest) = a.strip_prefix("-S") {
                        split = Some((i, rest.to_string()));
                        break;
                    } else if a == "-u" || a == "-C" || a == "--unset" || a == "--chdir" {
                        i += 2;
                    } else if a.starts_with('-') || (a.contains('=') && !a.starts_with('=')) {
                        i += 1;
                    } else {
                        break;
                    }
                }
                if let Some((at, text)) = split {
                    let mut words = split_words(&text);
                    words.extend(cur.iter().skip(at + 1).cloned());
                    cur = words;
                    offset = None;
                    continue;
                }
                Some(i)
            }
            "sudo" | "doas" => {
                let i = skip_opts(
                    &cur,
                    1,
                    &[
                        "-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "-R",
                    ],
                );
                let mut i = i;
                while cur
                    .get(i)
                    .is_some_and(|a| a.contains('=') && !a.starts_with('='))
                {
                    i += 1;
                }
                Some(i)
            }
            "nice" => Some(skip_opts(&cur, 1, &["-n", "--adjustment"])),
            "ionice" => Some(skip_opts(&cur, 1, &["-c", "-n", "-p", "-P", "-u"])),
            "stdbuf" => Some(skip_opts(&cur, 1, &["-i", "-o", "-e"])),
            "timeout" => Some(skip_opts(&cur, 1, &["-s", "-k", "--signal", "--kill-after"]) + 1),
            "xargs" => Some(skip_opts(
                &cur,
                1,
                &[
                    "-I",
                    "-n",
                    "-P",
                    "-L",
                    "-s",
                    "-d",
                    "-E",
                    "-a",
                    "--max-args",
                    "--max-procs",
                ],
            )),
            "chroot" => Some(skip_opts(&cur, 1, &["--userspec", "--groups"]) + 1),
            "busybox" | "nohup" | "setsid" | "unbuffer" | "builtin" | "catchsegv" => Some(1),
            "time" => Some(skip_opts(&cur, 1, &["-f", "-o", "--format", "--output"])),
            "exec" => Some(skip_opts(&cur, 1, &["-a"])),
            "command" => {
                if cur.iter().skip(1).any(|a| a == "-v" || a == "-V") {
                    return Unwrapped {
                        argv: Vec::new(),
                        offset,
                    };
                }
                Some(skip_opts(&cur, 1, &[]))
            }
            "pyenv" | "rbenv" | "nodenv" | "goenv" | "plenv" | "jenv" | "asdf" | "bundle"
                if cur.get(1).is_some_and(|a| a == "exec") =>
            {
                Some(2)
            }
            "mise" | "rtx" | "fnm" | "npm" | "pnpm"
                if cur.get(1).is_some_and(|a| a == "exec" || a == "x") =>
            {
                cur.iter().position(|a| a == "--").map(|p| p + 1)
            }
            "uv" | "poetry" | "pipenv" | "pdm" | "hatch" | "rye" | "pixi" | "conda" | "mamba"
            | "micromamba" | "volta"
                if cur.get(1).is_some_and(|a| a == "run") =>
            {
                Some(skip_opts(
                    &cur,
                    2,
                    &[
                        "--with",
                        "-w",
                        "--python",
                        "-p",
                        "--project",
                        "--directory",
                        "-n",
                        "--name",
                        "--prefix",
                        "--cwd",
                        "-e",
                        "--env",
                        "--node",
                        "--npm",
                        "--package",
                        "--extra",
                        "--group",
                        "--env-file",
                        "--from",
                    ],
                ))
            }
            "call" | "pyenv-exec" | "rbenv-exec" | "nodenv-exec" | "goenv-exec" => Some(1),
            "docker" | "podman" | "nerdctl" => match container_command(&cur) {
                Some((i, Some(entrypoint))) => {
                    let mut words = vec![entrypoint];
                    words.extend(cur.iter().skip(i).cloned());
                    cur = words;
                    offset = None;
                    continue;
                }
                Some((i, None)) => Some(i),
                None => None,
            },
            "kubectl" | "oc" if cur.get(1).is_some_and(|a| a == "exec") => {
                cur.iter().position(|a| a == "--").map(|p| p + 1)
            }
            "nvm" if cur.get(1).is_some_and(|a| a == "exec") => {
                let mut i = skip_opts(&cur, 2, &[]);
                if cur
                    .get(i)
                    .is_some_and(|a| a.starts_with(|c: char| c.is_ascii_digit() || c == 'v'))
                    && cur.get(i + 1).is_some()
                {
                    i += 1;
                }
                Some(i)
            }
            _ => None,
        };
        match next {
            Some(i) if i < cur.len() => {
                cur.drain(..i);
                offset = offset.map(|o| o + i);
            }
            Some(_) => {
                cur.clear();
                break;
            }
            None => break,
        }
    }
    Unwrapped { argv: cur, offset }
}

/// Reads how an interpreter in `argv` (wrappers already removed) gets its program.
/// `None` when `argv[0]` is no known interpreter, or it runs a module, prints its
/// version, or otherwise runs no program text we can see.
pub(crate) fn classify(argv: &[String]) -> Option<Invocation> {
    let first = argv.first()?;
    let fam = family(&program_name(first))?;
    match fam {
        Family::Python => python(argv),
        Family::Perl | Family::Ruby => perl_ruby(argv, fam),
        Family::Node | Family::Bun => node_bun(argv, fam),
        Family::Deno => deno(argv),
        Family::Lua | Family::R | Family::Osascript | Family::Php => simple_e(argv, fam),
        Family::PowerShell => powershell(argv),
        Family::Shell => shell(argv),
    }
    .map(|inv| match inv {
        Invocation::Script { family, idx }
            if argv
                .get(idx)
                .is_some_and(|a| a == "-" || a == "/dev/stdin" || a == "/dev/fd/0") =>
        {
            Invocation::Stdin { family }
        }
        other => other,
    })
}

fn inline(family: Family, idx: usize, code: String) -> Option<Invocation> {
    Some(Invocation::Inline {
        family,
        code,
        idx,
        filter: false,
        encoded: false,
    })
}

/// Value of an option written attached (`-cCODE`, rest non-empty) or as the next word.
/// Returns `(value, index of the word holding it, index after it)`.
fn attached_or_next(argv: &[String], i: usize, rest: &str) -> (Option<String>, usize, usize) {
    if rest.is_empty() {
        (argv.get(i + 1).cloned(), i + 1, i + 2)
    } else {
        (Some(rest.to_string()), i, i + 1)
    }
}

fn end_of_options(family: Family, argv: &[String], i: usize) -> Option<Invocation> {
    if i < argv.len() {
        Some(Invocation::Script { family, idx: i })
    } else {
        Some(Invocation::Stdin { family })
    }
}

fn python(argv: &[String]) -> Option<Invocation> {
    let fam = Family::Python;
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        if a == "--" {
            return end_of_options(fam, argv, i + 1);
        }
        if a == "-" || !a.starts_with('-') {
            return end_of_options(fam, argv, i);
        }
        if a.starts_with("--") {
            if a == "--version" || a == "--help" {
                return None;
            }
            i += if a == "--check-hash-based-pycs" { 2 } else { 1 };
            continue;
        }
        let mut next = i + 1;
        for (k, ch) in a.char_indices().skip(1) {
            let rest = &a[k + ch.len_utf8()..];
            match ch {
                'c' => {
                    let (code, idx, _) = attached_or_next(argv, i, rest);
                    return inline(fam, idx, code?);
                }
                'm' | 'V' | 'h' | '?' => return None,
                'W' | 'X' => {
                    if rest.is_empty() {
                        next = i + 2;
                    }
                    break;
                }
                _ => {}
            }
        }
        i = next;
    }
    Some(Invocation::Stdin { family: fam })
}

fn perl_ruby(argv: &[String], fam: Family) -> Option<Invocation> {
    let perl = fam == Family::Perl;
    let mut codes: Vec<(usize, String)> = Vec::new();
    let mut filter = false;
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if a.starts_with("--") {
            if a == "--version" || a == "--help" {
                return None;
            }
            i += 1;
            continue;
        }
        let mut next = i + 1;
        let chars: Vec<(usize, char)> = a.char_indices().skip(1).collect();
        let mut j = 0;
        while let Some(&(k, ch)) = chars.get(j) {
            let rest = &a[k + ch.len_utf8()..];
            match ch {
                'e' | 'E' if perl || ch == 'e' => {
                    let (code, idx, after) = attached_or_next(argv, i, rest);
                    if let Some(code) = code {
                        codes.push((idx, code));
                    }
                    next = after;
                    break;
                }
                'n' | 'p' => filter = true,
                'i' => {
                    filter = true;
                    break;
                }
                'M' | 'm' | 'I' | 'r' | 'C' | 'E' => {
                    if rest.is_empty() {
                        next = i + 2;
                    }
                    break;
                }
                'l' | '0' => {
                    // `-l` takes octal digits; `-0` octal, or hex after `x` (`-0x1FF`):
                    // `-nle` is -n, -l, -e, not -l with the value 0xE.
                    let hex = ch == '0' && chars.get(j + 1).is_some_and(|(_, c)| *c == 'x');
                    if hex {
                        j += 1;
                    }
                    while chars.get(j + 1).is_some_and(|(_, c)| {
                        if hex {
                            c.is_ascii_hexdigit()
                        } else {
                            ('0'..='7').contains(c)
                        }
                    }) {
                        j += 1;
                    }
                }
                'F' | 'x' | 'W' | 'T' | 'K' | 'd' | 'D' => break,
                'v' if perl => return None,
                _ => {}
            }
            j += 1;
        }
        i = next;
    }
    if let Some((idx, _)) = codes.first() {
        let code = codes
            .iter()
            .map(|(_, c)| c.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        return Some(Invocation::Inline {
            family: fam,
            code,
            idx: *idx,
            filter,
            encoded: false,
        });
    }
    end_of_options(fam, argv, i)
}

fn node_bun(argv: &[String], fam: Family) -> Option<Invocation> {
    const WITH_ARG: &[&str] = &[
        "-r",
        "--require",
        "--import",
        "--loader",
        "--experimental-loader",
        "--input-type",
        "-C",
        "--conditions",
        "--title",
        "--env-file",
        "--inspect-port",
        "--cwd",
        "--config",
        "--preload",
    ];
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        for flag in ["--eval=", "--print="] {
            if let Some(code) = a.strip_prefix(flag) {
                return inline(fam, i, code.to_string());
            }
        }
        match a.as_str() {
            "-e" | "--eval" | "-p" | "--print" | "-pe" | "-ep" => {
                let code = argv.get(i + 1)?.clone();
                return inline(fam, i + 1, code);
            }
            "--" => return end_of_options(fam, argv, i + 1),
            "-" => return Some(Invocation::Stdin { family: fam }),
            "-v" | "--version" | "-h" | "--help" => return None,
            _ => {}
        }
        if !a.starts_with('-') {
            if fam == Family::Bun {
                // `bun run x`, `bun install`: not a program given inline.
                return match (a.as_str(), argv.get(i + 1)) {
                    ("run", Some(s)) if s == "-" => Some(Invocation::Stdin { family: fam }),
                    ("run", Some(_)) => Some(Invocation::Script {
                        family: fam,
                        idx: i + 1,
                    }),
                    _ => None,
                };
            }
            return Some(Invocation::Script {
                family: fam,
                idx: i,
            });
        }
        i += if WITH_ARG.contains(&a.as_str()) { 2 } else { 1 };
    }
    if fam == Family::Bun {
        return None;
    }
    Some(Invocation::Stdin { family: fam })
}

fn deno(argv: &[String]) -> Option<Invocation> {
    let fam = Family::Deno;
    let sub = argv.get(1)?;
    let mut i = 2;
    while argv.get(i).is_some_and(|a| a.starts_with('-') && a != "-") {
        i += if argv.get(i).is_some_and(|a| a == "--ext") {
            2
        } else {
            1
        };
    }
    match sub.as_str() {
        "eval" => {
            let code = argv.get(i)?.clone();
            inline(fam, i, code)
        }
        "run" => argv.get(i).map(|_| Invocation::Script {
            family: fam,
            idx: i,
        }),
        _ => None,
    }
}

/// lua, Rscript/R, osascript and php: code options plus options with a value.
fn simple_e(argv: &[String], fam: Family) -> Option<Invocation> {
    let (code_opts, with_arg, file_opt): (&[&str], &[&str], Option<&str>) = match fam {
        Family::Lua => (&["-e"], &["-l"], None),
        Family::R => (&["-e"], &["--file"], None),
        Family::Osascript => (&["-e"], &["-l", "-s"], None),
        _ => (
            &["-r", "-R", "-B", "-E"],
            &["-d", "-c", "-z", "-t"],
            Some("-f"),
        ),
    };
    let attached = matches!(fam, Family::Lua | Family::Php);
    let mut codes: Vec<(usize, String)> = Vec::new();
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if Some(a.as_str()) == file_opt {
            return argv.get(i + 1).map(|_| Invocation::Script {
                family: fam,
                idx: i + 1,
            });
        }
        let head = a.get(..2).unwrap_or(a);
        if code_opts.contains(&a.as_str()) || (attached && code_opts.contains(&head)) {
            let (code, idx, after) = attached_or_next(argv, i, &a[head.len()..]);
            if let Some(code) = code {
                codes.push((idx, code));
            }
            i = after;
            continue;
        }
        if matches!(a.as_str(), "-v" | "--version" | "-h" | "--help") {
            return None;
        }
        i += if with_arg.contains(&a.as_str()) { 2 } else { 1 };
    }
    if let Some((idx, _)) = codes.first() {
        let code = codes
            .iter()
            .map(|(_, c)| c.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        return inline(fam, *idx, code);
    }
    if fam == Family::R && i >= argv.len() {
        return None;
    }
    end_of_options(fam, argv, i)
}

fn powershell(argv: &[String]) -> Option<Invocation> {
    let fam = Family::PowerShell;
    let windows_ps = program_name(argv.first()?).starts_with("powershell");
    let is_prefix =
        |name: &str, full: &str, min: usize| name.len() >= min && full.starts_with(name);
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        let param = a
            .strip_prefix('-')
            .or_else(|| {
                a.strip_prefix('/')
                    .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphabetic()))
            })
            .map(str::to_ascii_lowercase);
        let Some(p) = param else {
            if windows_ps {
                return inline(fam, i, argv[i..].join(" "));
            }
            return Some(Invocation::Script {
                family: fam,
                idx: i,
            });
        };
        if p.is_empty() {
            return Some(Invocation::Stdin { family: fam });
        }
        if p == "c" || is_prefix(&p, "command", 3) {
            let rest = argv.get(i + 1..).unwrap_or(&[]);
            if rest.first().is_some_and(|r| r == "-") {
                return Some(Invocation::Stdin { family: fam });
            }
            if rest.is_empty() {
                return None;
            }
            return inline(fam, i + 1, rest.join(" "));
        }
        if p == "cwa" || p == "commandwithargs" {
            let code = argv.get(i + 1)?.clone();
            return inline(fam, i + 1, code);
        }
        if p == "e" || p == "ec" || is_prefix(&p, "encodedcommand", 2) {
            let raw = argv.get(i + 1)?;
            let code = decode_powershell_encoded(raw).unwrap_or_else(|| raw.clone());
            return Some(Invocation::Inline {
                family: fam,
                code,
                idx: i + 1,
                filter: false,
                encoded: true,
            });
        }
        if p == "f" || is_prefix(&p, "file", 2) {
            return match argv.get(i + 1) {
                Some(f) if f == "-" => Some(Invocation::Stdin { family: fam }),
                Some(_) => Some(Invocation::Script {
                    family: fam,
                    idx: i + 1,
                }),
                None => None,
            };
        }
        let with_arg = [
            ("executionpolicy", 2),
            ("ep", 2),
            ("windowstyle", 1),
            ("inputformat", 2),
            ("outputformat", 1),
            ("version", 1),
            ("workingdirectory", 2),
            ("wd", 2),
            ("configurationname", 3),
            ("settingsfile", 2),
            ("custompipename", 2),
            ("psconsolefile", 2),
            ("encodedarguments", 8),
            ("ea", 2),
        ];
        let takes = with_arg.iter().any(|(full, min)| is_prefix(&p, full, *min));
        i += if takes { 2 } else { 1 };
    }
    None
}

fn shell(argv: &[String]) -> Option<Invocation> {
    let fam = Family::Shell;
    let mut has_c = false;
    let mut stdin_flag = false;
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        if a == "--" || a == "-" {
            stdin_flag |= a == "-";
            i += 1;
            break;
        }
        if !(a.starts_with('-') || a.starts_with('+')) || a.len() < 2 {
            break;
        }
        if a.starts_with("--") {
            i += if a == "--rcfile" || a == "--init-file" {
                2
            } else {
                1
            };
            continue;
        }
        let mut next = i + 1;
        for ch in a.chars().skip(1) {
            match ch {
                'c' => has_c = true,
                's' => stdin_flag = true,
                'o' | 'O' => next = i + 2,
                _ => {}
            }
        }
        i = next;
    }
    if has_c {
        let code = argv.get(i)?.clone();
        return inline(fam, i, code);
    }
    if stdin_flag || i >= argv.len() {
        return Some(Invocation::Stdin { family: fam });
    }
    Some(Invocation::Script {
        family: fam,
        idx: i,
    })
}

/// The argv that hands `code` to `program` as inline program text (`python3 -c CODE`,
/// `node -e CODE`, `php -r CODE`, `deno eval CODE`), for a block of code run by an
/// interpreter named elsewhere (a CI step's `shell:`, a recipe's shebang). An unknown
/// program gets `-c`, which [`classify`] does not read as inline code.
#[cfg(feature = "audit")]
pub(crate) fn inline_argv(program: &str, code: &str) -> Vec<String> {
    let flag = match family(&program_name(program)) {
        Some(Family::Python | Family::Shell) | None => "-c",
        Some(Family::Php) => "-r",
        Some(Family::PowerShell) => "-Command",
        Some(Family::Deno) => "eval",
        Some(_) => "-e",
    };
    vec![program.to_string(), flag.to_string(), code.to_string()]
}
