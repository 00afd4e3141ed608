//! Running one scenario: its steps in order under one deadline, in a fresh IPC namespace
//! and working directory; then leftovers, syscall counts and the leak audit.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::protocol::{
    Condition, Exit, Job, ProcessResult, ScenarioJob, ScenarioResult, Step, StepOutcome,
};

mod left;

use super::death;
use super::files;
use super::hang;
use super::ipc::{self, NewObject};
use super::ns::{self, NsError};
use super::pace::Watch;
use super::perturb::Perturber;
use super::process::{self, Launch, Started};
use super::seccomp::Filter;
use super::supervise::Supervisor;
use super::syscalls::syscall_number;

/// Where scenarios get their working directories (`<root>/<scenario>`) and where the
/// agent keeps captured output (`<root>/.out/<scenario>`, out of the student's reach).
pub(crate) const WORK_ROOT: &str = crate::protocol::AGENT_WORK_ROOT;
/// How long the processes a program started may take to end after it did, before they
/// count as left behind.
const STRAY_GRACE: Duration = Duration::from_millis(200);
/// How often a `wait_for` looks whether any of the submission's processes is left.
const NOBODY_LEFT_EVERY: Duration = Duration::from_millis(50);
/// The search path student programs get, after the submission's own directory.
const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/sbin";

/// Failures that keep a scenario from running at all.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The fresh IPC namespace could not be set up.
    #[error(transparent)]
    Namespace(#[from] NsError),
    /// A working or scratch directory could not be prepared.
    #[error("failed to prepare directory {path}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The audit asked for a system call the agent cannot count.
    #[error("failed to audit system call `{0}`: the agent has no number for it")]
    UnknownSyscall(String),
}

/// One `run` step's process, as the agent tracks it.
#[derive(Debug)]
struct RunProc {
    id: String,
    command: String,
    /// `None` when it could not start.
    pid: Option<i32>,
    pidfd: Option<OwnedFd>,
    /// Why it could not start.
    error: Option<String>,
    started: Instant,
    stdout: PathBuf,
    stderr: PathBuf,
    background: bool,
    /// A `wait` step (or the foreground run itself) already reported its end.
    waited: bool,
    /// Still running when the agent killed everything: it timed out.
    killed: bool,
}

/// A scenario in progress.
struct Scenario<'a> {
    job: &'a Job,
    spec: &'a ScenarioJob,
    cwd: PathBuf,
    scratch: PathBuf,
    deadline: Instant,
    sup: Supervisor,
    filter: Option<Filter>,
    runs: Vec<RunProc>,
    result: ScenarioResult,
    /// Samples of the student's processes: slow or stuck.
    watch: Watch,
    /// The deadline passed (or the scenario was stopped early): no further step runs.
    over: bool,
    /// Where the OOM killer stood when the scenario started.
    oom: death::OomMark,
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Runs `spec` and reports what was observed. Agent-side failures land in `error`.
pub(crate) fn run(job: &Job, spec: &ScenarioJob) -> ScenarioResult {
    let started = Instant::now();
    let mut result = match Scenario::prepare(job, spec, started) {
        Ok(mut sc) => {
            sc.run_steps();
            sc.finish()
        }
        Err(e) => ScenarioResult {
            name: spec.name.clone(),
            error: Some(e.to_string()),
            ..Default::default()
        },
    };
    result.duration_ms = ms(started.elapsed());
    result
}

/// A directory name from a scenario name (spec names are `[a-z0-9_]+` already).
fn dir_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn fresh_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<(), ScenarioError> {
    let wrap = |source| ScenarioError::Dir {
        path: path.to_path_buf(),
        source,
    };
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(wrap(e)),
        _ => {}
    }
    fs::create_dir_all(path).map_err(wrap)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(wrap)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(wrap)?;
    }
    Ok(())
}

fn audited_numbers(names: &[String]) -> Result<Vec<i64>, ScenarioError> {
    names
        .iter()
        .map(|n| syscall_number(n).ok_or_else(|| ScenarioError::UnknownSyscall(n.clone())))
        .collect()
}

/// The filter: the audited calls, the watched ones (always: a death's sender is named, a
/// fork at the process limit is seen, every exit shows what it held open and how much
/// address space it used) and, perturbed, the calls the perturbation holds; the
/// supervisor counts only the audited ones.
fn audit_filter(audited: &[i64], perturb: Option<&Perturber>, sup: &mut Supervisor) -> Filter {
    let mut numbers = audited.to_vec();
    let held = perturb.map(Perturber::syscalls).unwrap_or_default();
    let watched = death::WATCHED_CALLS.into_iter().chain([death::EXIT_GROUP]);
    for nr in watched.chain(held) {
        if !numbers.contains(&nr) {
            numbers.push(nr);
        }
    }
    sup.audited = Some(audited.to_vec());
    sup.perturb = perturb.cloned();
    Filter::notify_on(&numbers)
}

impl<'a> Scenario<'a> {
    fn prepare(
        job: &'a Job,
        spec: &'a ScenarioJob,
        started: Instant,
    ) -> Result<Self, ScenarioError> {
        let audited = audited_numbers(&spec.audit.syscalls)?;
        let perturb = job.perturb.map(|p| Perturber::new(&p, &spec.name));
        let mut sup = Supervisor::new();
        sup.log.nproc = job.limits.nproc;
        sup.log.open_at_exit = spec.audit.fds.then(Vec::new);
        sup.log.bin_dir = job.bin_dir.clone();
        sup.log.address_space = job.limits.address_space_bytes;
        let filter = Some(audit_filter(&audited, perturb.as_ref(), &mut sup));
        ns::fresh_ipc()?;
        let root = Path::new(WORK_ROOT);
        let cwd = root.join(dir_name(&spec.name));
        let scratch = root.join(".out").join(dir_name(&spec.name));
        fresh_dir(&cwd, 0o755, job.run_as)?;
        fresh_dir(&scratch, 0o700, None)?;
        let timeout = Duration::from_millis(spec.timeout_ms);
        let oom = death::OomMark::now(job.run_as.map(|(u, _)| u));
        let mut watch = Watch::new(started, timeout, &spec.audit);
        watch.watch_memory(oom);
        Ok(Scenario {
            job,
            spec,
            cwd,
            scratch,
            deadline: started + timeout,
            sup,
            filter,
            runs: Vec::new(),
            result: ScenarioResult {
                name: spec.name.clone(),
                ..Default::default()
            },
            watch,
            over: false,
            oom,
        })
    }

    fn run_steps(&mut self) {
        for step in &self.spec.steps {
            if Instant::now() >= self.deadline {
                self.on_deadline();
            }
            if self.over {
                break;
            }
            let outcome = self.step(step);
            self.result.steps.push(outcome);
        }
        // Cut short at the deadline with nothing running (a wait that used it all up): the
        // scorer says so at the first step that failed or did not run.
    }

    /// Records an agent-side problem (several are joined).
    fn note(&mut self, msg: String) {
        self.result.error = Some(match self.result.error.take() {
            Some(before) => format!("{before}; {msg}"),
            None => msg,
        });
    }

    fn path(&self, p: &str) -> PathBuf {
        self.cwd.join(p)
    }

    fn step(&mut self, step: &Step) -> StepOutcome {
        match step {
            Step::Run {
                id,
                program,
                args,
                stdin,
                env,
                background,
            } => self.run_step(id, program, args, stdin.as_deref(), env, *background),
            Step::Wait { id, timeout_ms } => self.wait_step(id, *timeout_ms),
            Step::Kill { id, signal } => self.kill_step(id, *signal),
            Step::Sleep { ms } => self.sleep_step(*ms),
            Step::WaitFor {
                condition,
                timeout_ms,
            } => self.wait_for_step(condition, *timeout_ms),
            Step::IpcSnapshot => self.snapshot_step(),
            Step::MsgSend { .. }
            | Step::MsgDrain { .. }
            | Step::IpcCreate { .. }
            | Step::IpcRemove { .. } => ipc_step(step, self.job.run_as),
            _ => self.file_step(step),
        }
    }

    /// Steps on files: paths are relative to the working directory.
    fn file_step(&self, step: &Step) -> StepOutcome {
        let owner = self.job.run_as;
        match step {
            Step::WriteFile {
                path,
                content,
                mode,
            } => done(files::write_text(&self.path(path), content, *mode, owner)),
            Step::GenInts { path, count, seed } => {
                done(files::write_ints(&self.path(path), *count, *seed, owner))
            }
            Step::FileProbe { path } => StepOutcome::File(files::probe(&self.path(path), path)),
            Step::Ftok { path, proj } => match files::ftok(&self.path(path), *proj) {
                Ok(key) => StepOutcome::Ftok {
                    key: Some(key),
                    error: None,
                },
                Err(e) => StepOutcome::Ftok {
                    key: None,
                    error: Some(error_text(&e)),
                },
            },
            other => StepOutcome::Done {
                error: Some(format!("not a file step: {other:?}")),
            },
        }
    }

    fn run_step(
        &mut self,
        id: &str,
        program: &Path,
        args: &[String],
        stdin: Option<&str>,
        env: &[(String, String)],
        background: bool,
    ) -> StepOutcome {
        let idx = self.runs.len();
        let mut run = RunProc {
            id: id.to_string(),
            command: process::command_line(program, &self.job.bin_dir, args),
            pid: None,
            pidfd: None,
            error: None,
            started: Instant::now(),
            stdout: self.scratch.join(format!("{idx}.out")),
            stderr: self.scratch.join(format!("{idx}.err")),
            background,
            waited: !background,
            killed: false,
        };
        match self.start(idx, program, args, stdin, env, &run) {
            Ok(Started::Running { pid, pidfd }) => (run.pid, run.pidfd) = (Some(pid), pidfd),
            Ok(Started::Failed(why)) => run.error = Some(why),
            Err(why) => {
                self.note(why.clone());
                run.error = Some(why);
            }
        }
        self.runs.push(run);
        if !background {
            return self.wait_run(idx, None);
        }
        let r = &self.runs[idx];
        StepOutcome::Spawned {
            id: id.to_string(),
            pid: r.pid,
            error: r.error.clone(),
        }
    }

    /// Opens the streams and forks; `Err` is the agent's own failure, as text.
    fn start(
        &mut self,
        idx: usize,
        program: &Path,
        args: &[String],
        stdin: Option<&str>,
        env: &[(String, String)],
        run: &RunProc,
    ) -> Result<Started, String> {
        let stdio = self
            .open_stdio(idx, stdin, run)
            .map_err(|e| format!("failed to open the streams of {}: {e}", run.command))?;
        let launch = Launch {
            program,
            args,
            env: self.environment(env),
            cwd: &self.cwd,
            stdio,
            limits: &self.job.limits,
            run_as: self.job.run_as,
            filter: self.filter.as_ref(),
        };
        process::spawn(&mut self.sup, launch, self.deadline).map_err(|e| error_text(&e))
    }

    fn open_stdio(
        &self,
        idx: usize,
        stdin: Option<&str>,
        run: &RunProc,
    ) -> io::Result<[OwnedFd; 3]> {
        let input = match stdin {
            Some(text) => {
                let path = self.scratch.join(format!("{idx}.in"));
                fs::write(&path, text)?;
                File::open(path)?
            }
            None => File::open("/dev/null")?,
        };
        let output = |path: &Path| -> io::Result<File> {
            let f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)?;
            // Owned by the student so `/dev/stdout` reopens work; the directory stays ours.
            if let Some((uid, gid)) = self.job.run_as {
                std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
            }
            Ok(f)
        };
        Ok([
            input.into(),
            output(&run.stdout)?.into(),
            output(&run.stderr)?.into(),
        ])
    }

    /// PATH (the submission first), HOME, LANG, then the step's own variables.
    fn environment(&self, extra: &[(String, String)]) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "PATH".to_string(),
                format!("{}:{SYSTEM_PATH}", self.job.bin_dir.display()),
            ),
            ("HOME".to_string(), self.cwd.display().to_string()),
            ("LANG".to_string(), "C".to_string()),
        ];
        for (k, v) in extra {
            match env.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = v.clone(),
                None => env.push((k.clone(), v.clone())),
            }
        }
        env
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.runs.iter().rposition(|r| r.id == id)
    }

    fn wait_step(&mut self, id: &str, timeout_ms: Option<u64>) -> StepOutcome {
        match self.find(id) {
            Some(idx) => self.wait_run(idx, timeout_ms.map(Duration::from_millis)),
            None => StepOutcome::Process(ProcessResult {
                id: id.to_string(),
                command: id.to_string(),
                exit: Exit::NotStarted,
                stdout: String::new(),
                stderr: String::new(),
                truncated: false,
                duration_ms: 0,
                error: Some(format!("no process was started with id `{id}`")),
                death: None,
                limits: Vec::new(),
            }),
        }
    }

    /// Waits for run `idx` to end, for `limit` or until the scenario deadline (or until
    /// the samples show it can never get there).
    fn wait_run(&mut self, idx: usize, limit: Option<Duration>) -> StepOutcome {
        let until = limit.map_or(self.deadline, |l| (Instant::now() + l).min(self.deadline));
        if let Some(pid) = self.runs[idx].pid {
            let wake = self.runs[idx].pidfd.as_ref().map(|f| f.as_raw_fd());
            // Only a wait that would end at the deadline may stop early: before a shorter
            // one ends, nothing but the students' processes could move the scenario on.
            let may_stop = until >= self.deadline;
            let (watch, mut stop) = (&mut self.watch, false);
            let ended = self.sup.pump(until, wake, |s| {
                s.reaped(pid).is_some() || {
                    stop = watch.observe(s, may_stop);
                    stop
                }
            });
            let exited = ended && !stop;
            if stop {
                self.stop_early();
            } else if !exited && may_stop {
                self.on_deadline();
            }
            self.runs[idx].waited |= exited || self.over;
            if exited && !self.over {
                self.strays_after(idx);
            }
        }
        StepOutcome::Process(self.result_of(idx))
    }

    fn kill_step(&mut self, id: &str, signal: i32) -> StepOutcome {
        self.sup.reap();
        let pid = self.find(id).and_then(|i| self.runs[i].pid);
        let ok = match pid {
            // The whole process group: the program and the children it forked.
            Some(pid) if self.sup.reaped(pid).is_none() => self.sup.signal_group(pid, signal),
            _ => false,
        };
        StepOutcome::Killed {
            id: id.to_string(),
            ok,
        }
    }

    fn sleep_step(&mut self, ms_: u64) -> StepOutcome {
        let wanted = Instant::now() + Duration::from_millis(ms_);
        self.sup.sleep(wanted.min(self.deadline));
        if wanted <= self.deadline {
            return StepOutcome::Done { error: None };
        }
        self.on_deadline();
        StepOutcome::Done {
            error: Some("the scenario deadline passed during this sleep".into()),
        }
    }

    fn wait_for_step(&mut self, condition: &Condition, timeout_ms: u64) -> StepOutcome {
        let start = Instant::now();
        let until = (start + Duration::from_millis(timeout_ms)).min(self.deadline);
        let (runs, cwd, cap) = (&self.runs, &self.cwd, self.job.limits.output_cap_bytes);
        let may_stop = until >= self.deadline;
        let (watch, mut stop) = (&mut self.watch, false);
        // Only the submission's processes make a condition come true: with none left
        // (a program that exited at its first TODO), waiting on is pointless.
        let (mut nobody_left, mut looked) = (false, start);
        let ended = self.sup.pump(until, None, |s| {
            holds(condition, runs, cwd, cap) || {
                let now = Instant::now();
                if now - looked >= NOBODY_LEFT_EVERY {
                    looked = now;
                    nobody_left = s.descendants().is_empty();
                }
                stop = watch.observe(s, may_stop);
                stop || nobody_left
            }
        });
        // The last process may have made it true on its way out.
        let satisfied = ended && !stop && (!nobody_left || holds(condition, runs, cwd, cap));
        if stop {
            self.stop_early();
        } else if !satisfied && !nobody_left && may_stop {
            self.on_deadline();
        }
        StepOutcome::Waited {
            satisfied,
            waited_ms: ms(start.elapsed()),
            nobody_left: nobody_left && !satisfied,
        }
    }

    fn snapshot_step(&mut self) -> StepOutcome {
        match ipc::list() {
            Ok(objects) => StepOutcome::Snapshot { objects },
            Err(e) => {
                self.note(error_text(&e));
                StepOutcome::Snapshot {
                    objects: Vec::new(),
                }
            }
        }
    }

    /// The deadline passed: report what is still running, then kill it all.
    fn on_deadline(&mut self) {
        self.cut(None);
    }

    /// The samples show the scenario can never pass (a deadlock, or far too slow to
    /// finish): stop now instead of waiting out the deadline.
    fn stop_early(&mut self) {
        let early = self.watch.early(Instant::now());
        self.cut(Some(early));
    }

    /// Reports what is still running and how it was moving, then kills it all.
    fn cut(&mut self, early: Option<crate::protocol::EarlyStop>) {
        if self.over {
            return;
        }
        self.over = true;
        self.sup.reap();
        if early.is_none() {
            self.watch.sample(&self.sup);
        }
        let live = self.sup.descendants();
        self.process_limit(live.len());
        if !live.is_empty() {
            let mut report = hang::report(&live);
            report.pace = self.watch.pace();
            report.stopped_early = early;
            self.result.hang = Some(report);
        }
        self.kill_everything();
    }

    fn kill_everything(&mut self) {
        self.sup.reap();
        for r in &mut self.runs {
            if r.pid.is_some_and(|pid| self.sup.reaped(pid).is_none()) {
                r.killed = true;
            }
        }
        self.sup.kill_all();
    }

    /// The observed result of run `idx` so far.
    fn result_of(&self, idx: usize) -> ProcessResult {
        let r = &self.runs[idx];
        let (exit, end) = match (r.pid, r.pid.and_then(|p| self.sup.reaped(p))) {
            (None, _) => (Exit::NotStarted, r.started),
            (Some(_), Some(rep)) if r.killed => (Exit::Timeout, rep.at),
            (Some(_), Some(rep)) => (decode(rep.status), rep.at),
            (Some(_), None) => (Exit::Timeout, Instant::now()),
        };
        let cap = self.job.limits.output_cap_bytes;
        let (stdout, cut_out) = read_capped(&r.stdout, cap);
        let (stderr, cut_err) = read_capped(&r.stderr, cap);
        let (death, limits) = self.cause_of(idx, &exit);
        ProcessResult {
            id: r.id.clone(),
            command: r.command.clone(),
            exit,
            stdout,
            stderr,
            truncated: cut_out || cut_err,
            duration_ms: ms(end.saturating_duration_since(r.started)),
            error: r.error.clone(),
            death,
            limits,
        }
    }

    /// Ends the scenario: kills what is left, then reports leftovers, counts and leaks.
    fn finish(mut self) -> ScenarioResult {
        self.sup.reap();
        if !self.over {
            self.zombies();
            let count = self.sup.tree().len();
            self.process_limit(count);
        }
        self.kill_everything();
        let leftovers: Vec<usize> = (0..self.runs.len())
            .filter(|&i| {
                self.runs[i].background && !self.runs[i].waited && self.runs[i].pid.is_some()
            })
            .collect();
        self.result.leftovers = leftovers.into_iter().map(|i| self.result_of(i)).collect();
        self.result.open_at_exit = self.sup.log.open_at_exit.take().unwrap_or_default();
        self.result.cpu_ms = self.sup.cpu_ms();
        self.memory_limits();
        for name in &self.spec.audit.syscalls {
            let n = self.sup.counts.get(name).copied().unwrap_or(0);
            self.result.syscalls.insert(name.clone(), n);
        }
        if self.spec.audit.leaks {
            match ipc::collect_leaks() {
                Ok(leaks) => self.result.leaks = leaks,
                Err(e) => self.note(error_text(&e)),
            }
        }
        // Outputs can be large; the guest's memory is small.
        let _ = fs::remove_dir_all(&self.scratch);
        let _ = fs::remove_dir_all(&self.cwd);
        self.result
    }
}

/// Steps where the agent itself handles IPC objects; objects go to `owner` (the student).
fn ipc_step(step: &Step, owner: Option<(u32, u32)>) -> StepOutcome {
    match step {
        Step::MsgSend {
            key,
            create,
            messages,
        } => done(ipc::msg_send(*key, *create, messages, owner)),
        Step::MsgDrain { key } => {
            let (messages, err) = ipc::msg_drain(*key);
            StepOutcome::Messages {
                messages,
                error: err.map(|e| error_text(&e)),
            }
        }
        Step::IpcCreate {
            ipc,
            key,
            name,
            size,
            mode,
        } => {
            let name = name.as_deref();
            done(ipc::create(NewObject {
                kind: *ipc,
                key: *key,
                name,
                size: *size,
                mode: *mode,
                owner,
            }))
        }
        Step::IpcRemove { ipc, key, name } => done(ipc::remove(*ipc, *key, name.as_deref())),
        other => StepOutcome::Done {
            error: Some(format!("not an IPC step: {other:?}")),
        },
    }
}

/// Whether a `wait_for` condition holds now.
fn holds(condition: &Condition, runs: &[RunProc], cwd: &Path, cap: u64) -> bool {
    match condition {
        Condition::Ipc {
            ipc: kind,
            key,
            name,
        } => ipc::exists(*kind, *key, name.as_deref()),
        Condition::File { path } => cwd.join(path).exists(),
        Condition::Output { id, contains } => runs
            .iter()
            .rev()
            .find(|r| &r.id == id)
            .is_some_and(|r| read_capped(&r.stdout, cap).0.contains(contains.as_str())),
    }
}

/// Exit code or signal from a wait status.
fn decode(status: i32) -> Exit {
    if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(status)
    }
}

/// At most `cap` bytes of a captured stream, as text, and whether more was written.
fn read_capped(path: &Path, cap: u64) -> (String, bool) {
    let Ok(file) = File::open(path) else {
        return (String::new(), false);
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    let _ = file.take(cap).read_to_end(&mut bytes);
    (String::from_utf8_lossy(&bytes).into_owned(), size > cap)
}

/// An error and its causes, on one line.
fn error_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

fn done<E: std::error::Error>(r: Result<(), E>) -> StepOutcome {
    StepOutcome::Done {
        error: r.err().map(|e| error_text(&e)),
    }
}
