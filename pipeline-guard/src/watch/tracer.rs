//! The ptrace loop (Linux only): runs the command and stops every task of its tree at
//! each fork, vfork, clone and exec.
//!
//! # How the command is started without `unsafe`
//!
//! `PTRACE_TRACEME` in a `pre_exec` hook would need `unsafe`, which this crate forbids.
//! Instead the watcher spawns its own executable (`/proc/self/exe`, so a rebuilt binary
//! on disk does not matter) in a hidden trampoline mode: the trampoline stops itself with
//! `SIGSTOP`, the watcher waits for that stop, attaches with `PTRACE_SEIZE` (a tracer may
//! always attach to its own child: no root, and allowed by Yama's default
//! `ptrace_scope` 1), sends `SIGCONT`, and the trampoline `exec`s the command. That
//! exec is the first event: nothing of the command runs unobserved.
//!
//! # Events
//!
//! Options `TRACEFORK | TRACEVFORK | TRACECLONE | TRACEEXEC | EXITKILL`: every new task is
//! attached automatically (children, grandchildren, daemons that double-fork, vfork and
//! posix_spawn, clone), and if the watcher dies the whole tree is killed rather than left
//! running unobserved. Handled stops:
//!
//! - fork/vfork/clone event: the new task's id (`PTRACE_GETEVENTMSG`) is recorded; a
//!   clone that shares the thread group (`Tgid:` in `/proc/TID/status`) is a thread,
//!   anything else a process whose parent is the creator (recorded here, never read
//!   from `/proc`, so reparenting does not break chains).
//! - a new task's first stop (`PTRACE_EVENT_STOP`) may arrive before its creator's
//!   event; its thread group and parent are then read from `/proc/TID/status` (the
//!   creator is still stopped at its event, so the parent is right), so that a child
//!   never runs, let alone execs, before its parent is known.
//! - exec event: argv, resolved path and working directory are read from
//!   `/proc/PID/{cmdline,exe,cwd}` while the new image has not run a single instruction,
//!   and handed to the [`Observer`]. With `--enforce` the observer asks for a kill: the
//!   tracee gets `SIGKILL` in that stop and never returns to user space.
//! - signal-delivery stops: the signal is re-injected. Real-time signals cannot be (nix's
//!   safe `PTRACE_CONT` takes only the classic signals); they are suppressed and
//!   reported.
//! - group-stops (`PTRACE_EVENT_STOP` with a stop signal): resumed at once, since the
//!   safe API lacks `PTRACE_LISTEN`; job-control stops inside the watched tree are not
//!   honoured (stopping the watcher itself, e.g. with Ctrl-Z, still stops everything).
//!
//! `waitpid` comes from rustix, which returns the raw status: nix's `waitpid` fails on a
//! stop by a real-time signal and loses the pid, which would leave that task stopped.
//!
//! When the command exits, tasks it left running (daemons) are watched for `linger`
//! more, then interrupted and detached (listed in [`Traced::left_running`]).

use super::chain::{self, ExecFacts, ExecId, Tree};
use super::report::CommandStatus;
use nix::errno::Errno;
use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use rustix::process::{WaitOptions, WaitStatus};
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The hidden `pipeline-guard watch` flag that selects trampoline mode.
pub const TRAMPOLINE_FLAG: &str = "--internal-trampoline";

/// `__WALL`: wait for every child and tracee, threads (clone children) included.
const WALL: u32 = 0x4000_0000;

/// What the watcher decides at each exec.
pub trait Observer {
    /// Called at the exec stop of `id`, after it is recorded in `tree` and before the new
    /// program runs. Returns `true` to kill the program there (`--enforce`); the observer
    /// marks it stopped in `tree` itself (so that logs written here say so).
    fn on_exec(&mut self, tree: &mut Tree, id: ExecId) -> bool;
}

/// The result of watching a command.
#[derive(Debug)]
pub struct Traced {
    /// Every exec and finding.
    pub tree: Tree,
    /// How the command ended.
    pub status: CommandStatus,
    /// Processes still running `linger` after the command exited, detached unobserved.
    pub left_running: Vec<i32>,
    /// Real-time signals that could not be re-injected: (pid, signal number).
    pub suppressed_signals: Vec<(i32, i32)>,
}

/// Why watching failed.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The trampoline (this program, re-executed) could not be started.
    #[error("starting the command under the watcher: {0}")]
    Spawn(#[source] io::Error),
    /// The trampoline ended before it could be attached to.
    #[error("the command could not be started (the watcher's trampoline ended: {0})")]
    Start(String),
    /// `PTRACE_SEIZE` was refused.
    #[error(
        "ptrace is not permitted here ({0}): check /proc/sys/kernel/yama/ptrace_scope (0 or 1 \
         lets a program trace its own children; 2 needs CAP_SYS_PTRACE, 3 forbids it) and the \
         container's seccomp profile (docker blocks ptrace before kernel 4.8 unless \
         --cap-add SYS_PTRACE)"
    )]
    NotTraceable(Errno),
    /// `waitpid` failed.
    #[error("waiting for the watched processes: {0}")]
    Wait(#[source] io::Error),
}

/// Trampoline mode: stop until the watcher has attached, then become the command.
/// Returns only when the command cannot be executed (126, or 127 when not found).
pub fn trampoline(command: &[OsString]) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        eprintln!("watch: no command given");
        return ExitCode::from(125);
    };
    if let Err(e) = signal::raise(Signal::SIGSTOP) {
        eprintln!("watch: cannot stop for the watcher: {e}");
        return ExitCode::from(125);
    }
    let err = Command::new(program).args(args).exec();
    eprintln!("watch: cannot run {}: {err}", program.to_string_lossy());
    ExitCode::from(if err.kind() == io::ErrorKind::NotFound {
        127
    } else {
        126
    })
}

/// Runs `command` under the watcher and calls `observer` at every exec in its tree.
///
/// # Errors
///
/// [`TraceError`] when the command cannot be started or traced, or waiting fails; the
/// command's own failure is not an error (see [`Traced::status`]).
pub fn trace(
    command: &[OsString],
    linger: Duration,
    observer: &mut dyn Observer,
) -> Result<Traced, TraceError> {
    let child = Command::new("/proc/self/exe")
        .arg0("pipeline-guard")
        .args(["watch", TRAMPOLINE_FLAG, "--"])
        .args(command)
        .spawn()
        .map_err(TraceError::Spawn)?;
    let root =
        i32::try_from(child.id()).map_err(|_| TraceError::Start("pid out of range".into()))?;
    drop(child); // never waited for through std: the loop below reaps it.
    let root_pid = Pid::from_raw(root);
    match wait_for(root, WaitOptions::UNTRACED)? {
        Some(st) if st.stopped() && st.stopping_signal() == Some(sigstop()) => {}
        Some(st) => return Err(TraceError::Start(describe(st))),
        None => return Err(TraceError::Start("no status".into())),
    }
    let options = Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_EXITKILL;
    if let Err(e) = ptrace::seize(root_pid, options) {
        let _ = signal::kill(root_pid, Signal::SIGKILL);
        let _ = wait_for(root, WaitOptions::empty());
        return Err(TraceError::NotTraceable(e));
    }
    let _ = signal::kill(root_pid, Signal::SIGCONT);
    let mut looper = Loop {
        tree: Tree::new(i32::try_from(std::process::id()).unwrap_or(0), root),
        tasks: HashMap::from([(root, root)]),
        parked: HashMap::new(),
        root,
        status: None,
        deadline: None,
        detaching: false,
        left_running: BTreeSet::new(),
        suppressed: Vec::new(),
        linger,
    };
    looper.run(observer)?;
    Ok(Traced {
        status: looper
            .status
            .ok_or_else(|| TraceError::Start("the command's exit was not seen".into()))?,
        tree: looper.tree,
        left_running: looper.left_running.into_iter().collect(),
        suppressed_signals: looper.suppressed,
    })
}

fn sigstop() -> i32 {
    Signal::SIGSTOP as i32
}

fn describe(st: WaitStatus) -> String {
    if let Some(code) = st.exit_status() {
        format!("exit status {code}")
    } else if let Some(sig) = st.terminating_signal() {
        format!("killed by signal {sig}")
    } else {
        format!("wait status {:#x}", st.as_raw())
    }
}

/// `waitpid(pid, options)`, retried on `EINTR`.
fn wait_for(pid: i32, options: WaitOptions) -> Result<Option<WaitStatus>, TraceError> {
    let pid = rustix::process::Pid::from_raw(pid);
    loop {
        match rustix::process::waitpid(pid, options) {
            Ok(r) => return Ok(r.map(|(_, st)| st)),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(TraceError::Wait(e.into())),
        }
    }
}

enum Waited {
    Status(i32, WaitStatus),
    Nothing,
    NoChildren,
}

fn wait_any(nohang: bool) -> Result<Waited, TraceError> {
    let mut options = WaitOptions::from_bits_retain(WALL);
    if nohang {
        options |= WaitOptions::NOHANG;
    }
    loop {
        // `wait`, not `waitpid(None, …)`: rustix passes `None` as pid 0, "any child in
        // the caller's process group", which never reports a tracee that moved to a
        // group or session of its own (`timeout`, `setsid`, `set -m`,
        // `start_new_session=True`): it would stay in its tracing stop for ever.
        match rustix::process::wait(options) {
            Ok(Some((pid, st))) => return Ok(Waited::Status(pid.as_raw_nonzero().get(), st)),
            Ok(None) => return Ok(Waited::Nothing),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::CHILD) => return Ok(Waited::NoChildren),
            Err(e) => return Err(TraceError::Wait(e.into())),
        }
    }
}

struct Loop {
    tree: Tree,
    /// Every traced task: thread id to thread group id.
    tasks: HashMap<i32, i32>,
    /// New tasks stopped before their creator's event: the signal to deliver on resume.
    parked: HashMap<i32, Option<Signal>>,
    root: i32,
    status: Option<CommandStatus>,
    deadline: Option<Instant>,
    detaching: bool,
    left_running: BTreeSet<i32>,
    suppressed: Vec<(i32, i32)>,
    linger: Duration,
}

impl Loop {
    fn run(&mut self, observer: &mut dyn Observer) -> Result<(), TraceError> {
        loop {
            let nohang = self.status.is_some() && !self.detaching;
            match wait_any(nohang)? {
                Waited::NoChildren => return Ok(()),
                Waited::Nothing => {
                    if self.deadline.is_some_and(|d| Instant::now() >= d) {
                        self.start_detaching();
                    } else {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                Waited::Status(pid, st) => self.handle(pid, st, observer),
            }
        }
    }

    fn handle(&mut self, pid: i32, st: WaitStatus, observer: &mut dyn Observer) {
        if let Some(code) = st.exit_status() {
            self.exited(pid, CommandStatus::Exited(code));
        } else if let Some(sig) = st.terminating_signal() {
            self.exited(pid, CommandStatus::Signaled(sig));
        } else if st.stopped() {
            let sig = st.stopping_signal().unwrap_or(0);
            let event = (st.as_raw() >> 16) & 0xff;
            if event == 0 {
                self.signal_stop(pid, sig);
            } else {
                self.event_stop(pid, event, observer);
            }
        }
    }

    fn exited(&mut self, pid: i32, status: CommandStatus) {
        if pid == self.root {
            self.status = Some(status);
            self.deadline = Some(Instant::now() + self.linger);
        }
        self.parked.remove(&pid);
        if let Some(tgid) = self.tasks.remove(&pid) {
            if tgid == pid {
                self.tree.exit(pid);
            }
        }
    }

    /// Resumes a stopped task (or lets it go when detaching), delivering `sig`.
    fn resume(&self, pid: i32, sig: Option<Signal>) {
        let p = Pid::from_raw(pid);
        // ESRCH: the task was killed meanwhile (SIGKILL needs no resume).
        let _ = if self.detaching {
            ptrace::detach(p, sig)
        } else {
            ptrace::cont(p, sig)
        };
    }

    fn signal_stop(&mut self, pid: i32, sig: i32) {
        let signal = match Signal::try_from(sig) {
            Ok(s) => Some(s),
            Err(_) => {
                self.suppressed.push((pid, sig));
                None
            }
        };
        if self.tasks.contains_key(&pid) || self.detaching {
            self.resume(pid, signal);
        } else {
            self.adopt(pid, signal);
        }
    }

    fn event_stop(&mut self, pid: i32, event: i32, observer: &mut dyn Observer) {
        let p = Pid::from_raw(pid);
        if event == Event::PTRACE_EVENT_FORK as i32
            || event == Event::PTRACE_EVENT_VFORK as i32
            || event == Event::PTRACE_EVENT_CLONE as i32
        {
            if let Ok(new) = ptrace::getevent(p) {
                let new = i32::try_from(new).unwrap_or(0);
                self.created(pid, new, event == Event::PTRACE_EVENT_CLONE as i32);
            }
            self.resume(pid, None);
        } else if event == Event::PTRACE_EVENT_EXEC as i32 {
            // The exec'ing thread now has the group's id; a former thread id is gone.
            if let Ok(former) = ptrace::getevent(p) {
                let former = i32::try_from(former).unwrap_or(pid);
                if former != pid {
                    self.tasks.remove(&former);
                }
            }
            self.tasks.insert(pid, pid);
            let facts = read_facts(pid);
            let id = self.tree.record_exec(facts);
            let kill = observer.on_exec(&mut self.tree, id);
            if kill {
                // In the exec stop: the new image never returns to user space.
                let _ = signal::kill(p, Signal::SIGKILL);
            } else {
                self.resume(pid, None);
            }
            self.tree.compact(id);
        } else if event == Event::PTRACE_EVENT_STOP as i32 {
            // A new task's first stop, a group-stop, or our PTRACE_INTERRUPT.
            if self.tasks.contains_key(&pid) || self.detaching {
                self.resume(pid, None);
            } else {
                self.adopt(pid, None);
            }
        } else {
            self.resume(pid, None);
        }
    }

    /// The creator's fork/vfork/clone event names a new task (unless the task's own first
    /// stop came first and it was adopted then).
    fn created(&mut self, creator: i32, new: i32, clone: bool) {
        if new <= 0 || self.tasks.contains_key(&new) {
            return;
        }
        let tgid = self.tasks.get(&creator).copied().unwrap_or(creator);
        let thread = clone && read_ids(new).is_some_and(|(group, _)| group == tgid);
        if thread {
            self.tasks.insert(new, tgid);
        } else {
            self.tasks.insert(new, new);
            self.tree.fork(tgid, new);
        }
        if let Some(sig) = self.parked.remove(&new) {
            self.resume(new, sig);
        }
    }

    /// A new task stopped before its creator's event was seen (the kernel wakes the child
    /// before it reports the event; on another CPU the child may win): its thread group
    /// and parent are read from `/proc` so that it can run on at once. The creator is
    /// still stopped at its event, so the parent read is the creator, not a reaper. If
    /// the task cannot be read it waits for the creator's event.
    fn adopt(&mut self, pid: i32, sig: Option<Signal>) {
        match read_ids(pid) {
            Some((tgid, _)) if tgid != pid && tgid > 0 => {
                self.tasks.insert(pid, tgid);
                self.resume(pid, sig);
            }
            Some((_, ppid)) => {
                self.tasks.insert(pid, pid);
                self.tree.fork(ppid, pid);
                self.resume(pid, sig);
            }
            None => {
                self.parked.insert(pid, sig);
            }
        }
    }

    /// The linger time is over: interrupt every remaining task so that it stops and can be
    /// detached (each is detached at its next stop, in `resume`).
    fn start_detaching(&mut self) {
        self.detaching = true;
        for (&tid, &tgid) in &self.tasks {
            if self.tree.has_process(tgid) {
                self.left_running.insert(tgid);
            }
            let _ = ptrace::interrupt(Pid::from_raw(tid));
        }
        let parked: Vec<(i32, Option<Signal>)> = self.parked.drain().collect();
        for (pid, sig) in parked {
            self.resume(pid, sig);
        }
    }
}

/// A task's thread group id and parent process id, from `/proc/TID/status`.
fn read_ids(tid: i32) -> Option<(i32, i32)> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<i32>().ok())
    };
    Some((field("Tgid:")?, field("PPid:")?))
}

/// Reads what an exec runs, at its exec stop.
fn read_facts(pid: i32) -> ExecFacts {
    let time = OffsetDateTime::now_utc();
    let proc_dir = format!("/proc/{pid}");
    let argv: Vec<String> = std::fs::read(format!("{proc_dir}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect::<Vec<_>>()
        })
        .map(|mut words| {
            if words.last().is_some_and(String::is_empty) {
                words.pop();
            }
            words
        })
        .unwrap_or_default();
    let link = |name: &str| {
        std::fs::read_link(format!("{proc_dir}/{name}"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let path = link("exe");
    let cwd = link("cwd");
    let comm = std::fs::read_to_string(format!("{proc_dir}/comm")).unwrap_or_default();
    let comm = comm.trim_end_matches('\n');
    let script_argv = chain::shebang_view(&argv, comm, &mut |name| {
        // Through the process's own root and working directory (chroots, namespaces).
        let file = if name.starts_with('/') {
            format!("{proc_dir}/root{name}")
        } else {
            format!("{proc_dir}/cwd/{name}")
        };
        first_line(Path::new(&file))
    });
    ExecFacts {
        pid,
        time,
        path,
        argv,
        cwd,
        script_argv,
    }
}

/// The first line of a file (at most 256 bytes are read).
fn first_line(path: &Path) -> Option<String> {
    let mut buf = Vec::with_capacity(256);
    std::fs::File::open(path)
        .ok()?
        .take(256)
        .read_to_end(&mut buf)
        .ok()?;
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(&[]);
    Some(String::from_utf8_lossy(line).into_owned())
}
