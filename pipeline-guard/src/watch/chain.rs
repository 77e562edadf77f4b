//! The watched build as a tree of execs, and what `crate::detect` found in each.
//!
//! Pure bookkeeping: the tracer feeds it fork and exec facts (read from `/proc` at the
//! ptrace stops), it never touches the system itself, so it is unit-tested directly.
//!
//! # Parent chains
//!
//! Every process remembers the exec whose image it runs ("current exec"). A forked child
//! starts with its parent's current exec; an exec creates a new record whose parent is
//! the process's current exec (its own previous image after a re-exec, or the image that
//! forked it). Following those links from an exec gives its parent chain, e.g.
//! `make -> sh -> xargs -> python3 -c …`. Parents are recorded at the fork/clone events
//! the tracer sees, never read from `/proc/PID/stat`, so reparenting (a daemon's parent
//! exiting) does not break a chain.
//!
//! # One finding per code, reported at the real interpreter
//!
//! Wrappers and version-manager shims re-exec an interpreter with the same arguments
//! (`xargs python3 -c CODE` runs `python3 -c CODE`; a `python3` shim script runs
//! `exec /usr/bin/python3.11 "$@"`). Each exec in such a chain matches the same guard
//! rule on the same inline code, but it is one piece of code running once. The rule: a
//! finding at an exec is a *repeat* of a finding at one of its ancestors when both have
//! the same rule and the same inline code ([`same_code`]). Repeats join the ancestor's
//! [`Group`]; a group is reported once, at its deepest exec (the real interpreter), with
//! the chain that led there. Sibling repeats (`xargs -n1` running the code three times)
//! join the same group.

use crate::detect::{self as guard, Finding, Severity};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Index of an exec in [`Tree::execs`]: its sequence number, from 0.
pub type ExecId = usize;

/// Index of a group in [`Tree::groups`].
pub type GroupId = usize;

/// How many leading words of an argv are tried when looking for the shortest tail that
/// still matches a rule (wrappers seldom nest deeper).
const MAX_WRAPPER_WORDS: usize = 16;

/// What the tracer learns at one exec (read at the exec stop, before the program runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecFacts {
    /// Process id (the thread group id after the exec).
    pub pid: i32,
    /// When the exec was seen.
    pub time: OffsetDateTime,
    /// The resolved executable (`/proc/PID/exe`): the interpreter for a `#!` script.
    pub path: String,
    /// The argv as the kernel built it (`/proc/PID/cmdline`): for a `#!` script this is
    /// `[interpreter, (argument,) script, args…]`.
    pub argv: Vec<String>,
    /// Working directory (`/proc/PID/cwd`).
    pub cwd: String,
    /// For a `#!` script: the argv as the script was invoked, `[script, args…]` (see
    /// [`shebang_view`]). Scanned too, so that a shim named `python3` run with `-c CODE`
    /// is recognised as the inline code it forwards.
    pub script_argv: Option<Vec<String>>,
}

/// One finding at one exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecFinding {
    /// What `crate::detect` reported.
    pub finding: Finding,
    /// The inline code it is about: the arguments after the interpreter, from the shortest
    /// tail of the argv that still matches the rule (wrappers stripped).
    pub code: Vec<String>,
    /// The group this finding belongs to.
    pub group: GroupId,
    /// When this is a repeat of an ancestor's finding: the exec where the code was first
    /// seen.
    pub first_seen: Option<ExecId>,
}

/// One exec in the watched tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// Sequence number (index in [`Tree::execs`]).
    pub id: ExecId,
    /// Process id.
    pub pid: i32,
    /// Parent process id as recorded at fork (the watcher's own pid for the command).
    pub ppid: i32,
    /// When the exec was seen.
    pub time: OffsetDateTime,
    /// The resolved executable.
    pub path: String,
    /// The argv as the kernel built it.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// The argv as a `#!` script was invoked, when the exec ran a script.
    pub script_argv: Option<Vec<String>>,
    /// The exec whose image started this one (previous image of the same process, or the
    /// image that forked it); `None` for the watched command itself.
    pub parent: Option<ExecId>,
    /// Number of ancestors.
    pub depth: usize,
    /// What guard found here (repeats of ancestors' findings included, marked).
    pub findings: Vec<ExecFinding>,
    /// Killed at its exec stop by `--enforce`, before its first instruction.
    pub stopped: bool,
}

impl Exec {
    /// The argv that says what runs: the script view for a `#!` script, else the argv.
    pub fn effective_argv(&self) -> &[String] {
        self.script_argv.as_deref().unwrap_or(&self.argv)
    }

    /// Short program name for chains: the script's or `argv[0]`'s file name, else the
    /// executable's.
    pub fn program(&self) -> String {
        let name = self
            .effective_argv()
            .first()
            .map(|a| base_name(a))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| base_name(&self.path));
        name.to_string()
    }
}

/// Findings of the same rule on the same inline code along one chain: reported once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Rule id shared by every member.
    pub rule: &'static str,
    /// The highest severity of any member.
    pub severity: Severity,
    /// Where it was first seen: (exec, index in its findings).
    pub first: (ExecId, usize),
    /// Where it is reported: the deepest member (the first one at that depth).
    pub at: (ExecId, usize),
    /// Every exec with a member, in the order seen.
    pub execs: Vec<ExecId>,
    /// Some member was killed at its exec stop.
    pub stopped: bool,
}

#[derive(Debug, Clone)]
struct Proc {
    ppid: i32,
    current: Option<ExecId>,
}

/// The process table and every exec seen, with findings grouped as described in the
/// module documentation.
#[derive(Debug, Clone)]
pub struct Tree {
    watcher: i32,
    procs: HashMap<i32, Proc>,
    execs: Vec<Exec>,
    groups: Vec<Group>,
    processes: usize,
}

impl Tree {
    /// A tree whose root process `root` (the watched command) is a child of `watcher`.
    pub fn new(watcher: i32, root: i32) -> Self {
        let mut procs = HashMap::new();
        procs.insert(
            root,
            Proc {
                ppid: watcher,
                current: None,
            },
        );
        Tree {
            watcher,
            procs,
            execs: Vec::new(),
            groups: Vec::new(),
            processes: 1,
        }
    }

    /// Records that process `parent` created process `child` (fork, vfork, or clone
    /// without `CLONE_THREAD`). The child runs its parent's image until it execs. A
    /// reused pid replaces the stale entry.
    pub fn fork(&mut self, parent: i32, child: i32) {
        let current = self.procs.get(&parent).and_then(|p| p.current);
        self.procs.insert(
            child,
            Proc {
                ppid: parent,
                current,
            },
        );
        self.processes += 1;
    }

    /// Records that process `pid` exited (its entry is dropped: pids are reused).
    pub fn exit(&mut self, pid: i32) {
        self.procs.remove(&pid);
    }

    /// Whether `pid` is a process in the table (a thread group leader still running).
    pub fn has_process(&self, pid: i32) -> bool {
        self.procs.contains_key(&pid)
    }

    /// Records an exec, scans it with `crate::detect` (the argv and, for a `#!` script,
    /// the script view) and groups its findings with equal ones of its ancestors.
    /// Returns the new exec's id.
    pub fn record_exec(&mut self, facts: ExecFacts) -> ExecId {
        let watcher = self.watcher;
        let proc = self.procs.entry(facts.pid).or_insert(Proc {
            ppid: watcher,
            current: None,
        });
        let parent = proc.current;
        let ppid = proc.ppid;
        let id = self.execs.len();
        proc.current = Some(id);
        let depth = parent.map_or(0, |p| self.execs[p].depth + 1);
        let mut findings = Vec::new();
        for (index, (finding, code)) in scan(&facts).into_iter().enumerate() {
            let repeat = self.find_repeat(parent, &finding, &code);
            let (group, first_seen) = match repeat {
                Some(g) => {
                    let group = &mut self.groups[g];
                    group.severity = group.severity.max(finding.severity);
                    group.execs.push(id);
                    if depth > self.execs[group.at.0].depth {
                        group.at = (id, index);
                    }
                    (g, Some(group.first.0))
                }
                None => {
                    self.groups.push(Group {
                        rule: finding.rule,
                        severity: finding.severity,
                        first: (id, index),
                        at: (id, index),
                        execs: vec![id],
                        stopped: false,
                    });
                    (self.groups.len() - 1, None)
                }
            };
            findings.push(ExecFinding {
                finding,
                code,
                group,
                first_seen,
            });
        }
        self.execs.push(Exec {
            id,
            pid: facts.pid,
            ppid,
            time: facts.time,
            path: facts.path,
            argv: facts.argv,
            cwd: facts.cwd,
            script_argv: facts.script_argv,
            parent,
            depth,
            findings,
            stopped: false,
        });
        id
    }

    /// The group of an ancestor finding (from `start` up) that `finding` repeats.
    fn find_repeat(
        &self,
        start: Option<ExecId>,
        finding: &Finding,
        code: &[String],
    ) -> Option<GroupId> {
        let mut cursor = start;
        while let Some(a) = cursor {
            let exec = &self.execs[a];
            if let Some(f) = exec
                .findings
                .iter()
                .find(|f| same_code(finding, code, &f.finding, &f.code))
            {
                return Some(f.group);
            }
            cursor = exec.parent;
        }
        None
    }

    /// Marks an exec as killed at its exec stop (`--enforce`).
    pub fn mark_stopped(&mut self, id: ExecId) {
        if let Some(exec) = self.execs.get_mut(id) {
            exec.stopped = true;
            let groups: Vec<GroupId> = exec.findings.iter().map(|f| f.group).collect();
            for g in groups {
                self.groups[g].stopped = true;
                // The stopped exec is where the code was stopped: report it there.
                self.groups[g].at = self.execs[id]
                    .findings
                    .iter()
                    .position(|f| f.group == g)
                    .map_or(self.groups[g].at, |i| (id, i));
            }
        }
    }

    /// Drops the arguments of an exec without findings, keeping `argv[0]` (and the
    /// script's name) for chains. The tracer calls it once the exec is logged, so that a
    /// build of many thousands of compiler runs, each with kilobytes of arguments, keeps
    /// the watcher's memory proportional to the number of execs only.
    pub fn compact(&mut self, id: ExecId) {
        if let Some(exec) = self.execs.get_mut(id) {
            if exec.findings.is_empty() {
                exec.argv.truncate(1);
                exec.argv.shrink_to_fit();
                if let Some(script) = exec.script_argv.as_mut() {
                    script.truncate(1);
                    script.shrink_to_fit();
                }
            }
        }
    }

    /// Every exec, in the order seen.
    pub fn execs(&self) -> &[Exec] {
        &self.execs
    }

    /// One exec.
    ///
    /// # Panics
    ///
    /// If `id` was not returned by [`Tree::record_exec`] on this tree.
    pub fn exec(&self, id: ExecId) -> &Exec {
        &self.execs[id]
    }

    /// Every group of findings, in the order first seen: each is reported once.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Number of processes seen (the command and every process forked in its tree).
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// The parent chain of an exec, outermost first, ending with the exec itself.
    pub fn chain(&self, id: ExecId) -> Vec<ExecId> {
        let mut out = vec![id];
        let mut cursor = self.execs[id].parent;
        while let Some(a) = cursor {
            out.push(a);
            cursor = self.execs[a].parent;
        }
        out.reverse();
        out
    }

    /// The chain as text: program names joined by ` -> `, the last one with its
    /// arguments (shell-quoted, shortened to about 80 characters), e.g.
    /// `make -> sh -> xargs -> python3 -c 'print(1)'`.
    pub fn chain_text(&self, id: ExecId) -> String {
        let chain = self.chain(id);
        let mut parts: Vec<String> = chain.iter().map(|&e| self.execs[e].program()).collect();
        let exec = &self.execs[id];
        let args: Vec<String> = exec
            .effective_argv()
            .iter()
            .skip(1)
            .map(|a| shell_quote(a))
            .collect();
        if let Some(last) = parts.last_mut() {
            if !args.is_empty() {
                last.push(' ');
                last.push_str(&shorten(&args.join(" "), 80));
            }
        }
        parts.join(" -> ")
    }
}

/// Scans one exec: the script view first (it names the shim), then the kernel's argv.
/// A finding equal to one already kept for this exec (same rule and code) is dropped.
fn scan(facts: &ExecFacts) -> Vec<(Finding, Vec<String>)> {
    let mut out: Vec<(Finding, Vec<String>)> = Vec::new();
    let views = facts
        .script_argv
        .iter()
        .map(Vec::as_slice)
        .chain(std::iter::once(facts.argv.as_slice()));
    for view in views {
        for finding in guard::scan_argv(view) {
            let code = code_words(view, finding.rule);
            let seen = out.iter().any(|(g, gc)| {
                same_code(&finding, &code, g, gc) || same_code(g, gc, &finding, &code)
            });
            if !seen {
                out.push((finding, code));
            }
        }
    }
    out
}

/// The inline code a finding of `rule` on `argv` is about: the words after the
/// interpreter in the shortest tail of `argv` (starting within the first
/// `MAX_WRAPPER_WORDS` words) that still matches `rule`. Wrappers (`xargs -n1`,
/// `env`, `pyenv exec`, a shim's path) are thereby stripped: `xargs -n1 python3 -c CODE`
/// and `/usr/bin/python3.11 -c CODE` both give `["-c", "CODE"]`.
pub fn code_words(argv: &[String], rule: &str) -> Vec<String> {
    let limit = argv.len().min(MAX_WRAPPER_WORDS);
    let start = (1..limit)
        .rev()
        .find(|&k| guard::scan_argv(&argv[k..]).iter().any(|f| f.rule == rule))
        .unwrap_or(0);
    argv.get(start + 1..).unwrap_or(&[]).to_vec()
}

/// Whether finding `f` (with inline code `code`) at a descendant repeats finding `g`
/// (with code `g_code`) at an ancestor: the same rule, and the same code. Code is
/// compared by its core, the words up to the longest one (the program text; words
/// after it are arguments, which `xargs` appends): the same core, or every word of `f`'s
/// core appearing in `g`'s matched command. The second form covers an ancestor that
/// holds the code inside shell text (`sh -c "python3 -c 'CODE'"` then `python3 -c CODE`).
pub fn same_code(f: &Finding, code: &[String], g: &Finding, g_code: &[String]) -> bool {
    if f.rule != g.rule {
        return false;
    }
    let core = code_core(code);
    let words: Vec<&String> = core.iter().filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return false;
    }
    core == code_core(g_code) || words.iter().all(|w| g.command.contains(w.as_str()))
}

/// The words of `code` up to and including the longest (the first of equal length).
fn code_core(code: &[String]) -> &[String] {
    let mut end = 0;
    let mut longest = 0;
    for (i, w) in code.iter().enumerate() {
        if w.len() > longest {
            longest = w.len();
            end = i + 1;
        }
    }
    &code[..end]
}

/// For an argv built by the kernel for a `#!` script, the argv as the script was invoked:
/// `[script, args…]`. The kernel builds `[interpreter, script, args…]`, or
/// `[interpreter, argument, script, args…]` when the `#!` line has an argument, and names
/// the process (`comm`, `/proc/PID/comm`, at most 15 bytes) after the script. A
/// candidate whose file name matches `comm` is confirmed by reading its first line with
/// `first_line` (relative names are the caller's to resolve against the working
/// directory): it must be a `#!` line naming `argv[0]` (and `argv[1]` as its argument).
/// `None` for any other exec; most execs are told apart by `comm` alone, without a read.
pub fn shebang_view(
    argv: &[String],
    comm: &str,
    first_line: &mut dyn FnMut(&str) -> Option<String>,
) -> Option<Vec<String>> {
    let interpreter = argv.first()?;
    if comm.is_empty() || comm_of(interpreter) == comm {
        return None;
    }
    for index in [1usize, 2] {
        let Some(candidate) = argv.get(index) else {
            break;
        };
        if candidate.is_empty() || comm_of(candidate) != comm {
            continue;
        }
        let Some((interp, arg)) = first_line(candidate).as_deref().and_then(parse_shebang) else {
            continue;
        };
        let matches = interp == *interpreter
            && match index {
                1 => arg.is_none(),
                _ => arg.as_deref() == argv.get(1).map(String::as_str),
            };
        if matches {
            let mut view = vec![candidate.clone()];
            view.extend(argv.iter().skip(index + 1).cloned());
            return Some(view);
        }
    }
    None
}

/// The kernel's process name for an executable path: its file name cut to 15 bytes.
fn comm_of(path: &str) -> &str {
    let name = base_name(path);
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Parses a `#!` line into the interpreter and its optional single argument (the rest of
/// the line, trimmed), as Linux does.
pub fn parse_shebang(line: &str) -> Option<(String, Option<String>)> {
    let rest = line.strip_prefix("#!")?;
    let rest = rest.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
    if rest.is_empty() {
        return None;
    }
    let (interp, arg) = match rest.find([' ', '\t']) {
        Some(i) => (&rest[..i], rest[i..].trim_matches([' ', '\t'])),
        None => (rest, ""),
    };
    Some((
        interp.to_string(),
        (!arg.is_empty()).then(|| arg.to_string()),
    ))
}

/// The last path component.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Quotes a word for a POSIX shell when it needs quoting.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Shortens text to about `max` characters, ending with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests;
