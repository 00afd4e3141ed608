//! Running one confined command to its end: bwrap (or, unconfined, the command itself)
//! started with its descriptors, its output read on threads (capped, so a chatty build
//! neither blocks nor fills memory), and a loop that waits for it, measures what it has
//! written four times a second, and at the deadline or past the quota kills every process
//! it started — whether or not they still hold its output open.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use super::argv::{self, ARGS_FD};
use super::disk::{self, DiskUsage};
use super::stage::{lift, ChildSetup, Staging};
use super::{Identity, Jail, JailCommand, JailError};

/// How often the loop looks at the command.
const POLL: Duration = Duration::from_millis(20);
/// How often it measures the writable directories.
const DISK_EVERY: Duration = Duration::from_millis(250);
/// How long the output readers get to finish once every process is gone.
const DRAIN: Duration = Duration::from_secs(5);

/// How a confined command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this code (128 + N for a signal N, as a shell reports it).
    Exited(i32),
    /// Its deadline passed: every process it started was killed.
    Deadline,
    /// It wrote past its quota: every process it started was killed.
    Quota(DiskUsage),
}

/// What a confined command produced.
#[derive(Debug, Clone)]
pub struct JailOutput {
    /// How it ended.
    pub ended: Ended,
    /// Its standard output (with stderr when merged), up to the cap.
    pub stdout: Vec<u8>,
    /// Its standard error when not merged, up to the cap.
    pub stderr: Vec<u8>,
    /// Bytes of output beyond the cap, read and dropped.
    pub dropped: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// What it wrote to its writable mounts (when it had a quota).
    pub written: DiskUsage,
}

impl JailOutput {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.ended == Ended::Exited(0)
    }
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> JailError {
    move |source| JailError::Io { what, source }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), JailError> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io_err("create a pipe")(io::Error::last_os_error()));
    }
    // SAFETY: both descriptors were just created and are owned by no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A pipe whose read end yields `data` then EOF (written on a thread: it may not fit).
fn feed(data: Vec<u8>) -> Result<OwnedFd, JailError> {
    let (r, w) = pipe()?;
    std::thread::spawn(move || {
        let _ = File::from(w).write_all(&data);
    });
    Ok(r)
}

/// Reads `fd` to EOF on a thread, keeping the first `cap` bytes.
fn capture(fd: OwnedFd, cap: usize) -> Receiver<(Vec<u8>, u64)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut file = File::from(fd);
        let mut kept = Vec::new();
        let mut dropped = 0u64;
        let mut buf = [0u8; 16 << 10];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len()).min(n);
                    kept.extend_from_slice(&buf[..room]);
                    dropped += (n - room) as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send((kept, dropped));
    });
    rx
}

/// The host directories a command may write to.
fn writable(cmd: &JailCommand) -> Vec<PathBuf> {
    cmd.mounts
        .iter()
        .filter(|m| m.writable)
        .map(|m| m.host.clone())
        .collect()
}

/// A started command and its output.
struct Started {
    child: Child,
    out: Receiver<(Vec<u8>, u64)>,
    err: Option<Receiver<(Vec<u8>, u64)>>,
    base: DiskUsage,
    start: Instant,
}

fn start(mut command: Command, cmd: &JailCommand, setup: ChildSetup) -> Result<Started, JailError> {
    let (out_r, out_w) = pipe()?;
    let err_pipe = if cmd.merge_output {
        None
    } else {
        Some(pipe()?)
    };
    let err_w = match &err_pipe {
        Some((_, w)) => w.try_clone(),
        None => out_w.try_clone(),
    }
    .map_err(io_err("duplicate a pipe"))?;
    let program = command.get_program().into();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w));
    // SAFETY: `apply` makes only async-signal-safe system calls on data prepared before
    // the fork (see ChildSetup::apply).
    unsafe {
        command.pre_exec(move || setup.apply());
    }
    let base = match cmd.quota {
        Some(_) => disk::usage(&writable(cmd), u64::MAX),
        None => DiskUsage::default(),
    };
    let start = Instant::now();
    let child = command
        .spawn()
        .map_err(|source| JailError::Spawn { program, source })?;
    // The child's ends are closed here with `command`'s copies: EOF comes when every
    // process that inherited them is gone.
    drop(command);
    Ok(Started {
        child,
        out: capture(out_r, cmd.output_cap),
        err: err_pipe.map(|(r, _)| capture(r, cmd.output_cap)),
        base,
        start,
    })
}

/// Why the wait loop stopped.
enum Stop {
    Exited(ExitStatus),
    Deadline,
    Quota(DiskUsage),
}

/// Waits for the command; at its deadline or past its quota calls `kill` (which must end
/// every process it started) and reaps it.
fn wait(s: &mut Started, cmd: &JailCommand, kill: &dyn Fn(&Child)) -> Result<Stop, JailError> {
    let deadline = s.start + cmd.deadline;
    let watch = writable(cmd);
    let mut next_disk = s.start + DISK_EVERY;
    let stop = loop {
        if let Some(status) = s.child.try_wait().map_err(io_err("wait for the jail"))? {
            return Ok(Stop::Exited(status));
        }
        let now = Instant::now();
        if now >= deadline {
            break Stop::Deadline;
        }
        if let (Some(q), true) = (cmd.quota, now >= next_disk) {
            let used = disk::usage(&watch, s.base.files.saturating_add(q.files + 1));
            if used.exceeds(&s.base, q.bytes, q.files) {
                break Stop::Quota(used);
            }
            next_disk = now + DISK_EVERY;
        }
        std::thread::sleep(POLL);
    };
    kill(&s.child);
    s.child.wait().map_err(io_err("reap the jail"))?;
    Ok(stop)
}

fn drain(rx: &Receiver<(Vec<u8>, u64)>) -> (Vec<u8>, u64) {
    rx.recv_timeout(DRAIN).unwrap_or_default()
}

fn finish(s: Started, cmd: &JailCommand, ended: Ended) -> JailOutput {
    let (stdout, d1) = drain(&s.out);
    let (stderr, d2) = s.err.as_ref().map(drain).unwrap_or_default();
    let written = match cmd.quota {
        Some(_) => disk::usage(&writable(cmd), u64::MAX),
        None => DiskUsage::default(),
    };
    JailOutput {
        ended,
        stdout,
        stderr,
        dropped: d1 + d2,
        elapsed: s.start.elapsed(),
        written,
    }
}

/// Runs `cmd` in the jail.
pub(super) fn jailed(jail: &Jail, cmd: &JailCommand) -> Result<JailOutput, JailError> {
    let (mut staging, identity) = match jail.identity {
        Identity::Dedicated { uid, gid } => (Some(Staging::new(&cmd.mounts)?), Some((uid, gid))),
        Identity::Own => (None, None),
    };
    let sources = match &staging {
        Some(s) => s.sources(cmd.mounts.len()),
        None => cmd.mounts.iter().map(|m| m.host.clone()).collect(),
    };
    let options = argv::encode(&argv::bwrap_options(cmd, &sources));
    let (status_r, status_w) = pipe()?;
    let fds = vec![
        lift(status_w)?,
        lift(feed(argv::passwd().into_bytes())?)?,
        lift(feed(argv::group().into_bytes())?)?,
        lift(feed(options)?)?,
    ];
    let setup = ChildSetup {
        fds: fds.iter().map(AsRawFd::as_raw_fd).collect(),
        staging: staging.as_mut().and_then(Staging::take_plan),
        identity,
        unconfined_limits: None,
        parent: std::process::id(),
    };
    let mut command = Command::new(&jail.bwrap);
    command
        .args(["--args", &ARGS_FD.to_string(), "--"])
        .args(argv::command(cmd))
        .env_clear();
    let mut started = start(command, cmd, setup)?;
    drop(fds);
    let status = capture(status_r, 64 << 10);
    // SIGKILL to bwrap: its --die-with-parent child, PID 1 of the jail's pid namespace,
    // dies with it, and the kernel kills every other process of that namespace.
    let stop = wait(&mut started, cmd, &|child| {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    })?;
    let ended = match stop {
        Stop::Deadline => Ended::Deadline,
        Stop::Quota(u) => Ended::Quota(u),
        Stop::Exited(_) => {
            let (docs, _) = drain(&status);
            match exit_code(&docs) {
                Some(code) => Ended::Exited(code),
                None => {
                    let out = finish(started, cmd, Ended::Exited(-1));
                    return Err(setup_failure(&out));
                }
            }
        }
    };
    let out = finish(started, cmd, ended);
    drop(staging);
    Ok(out)
}

/// The command's exit code from bwrap's status documents (absent when bwrap failed
/// before or at exec).
fn exit_code(docs: &[u8]) -> Option<i32> {
    String::from_utf8_lossy(docs)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("exit-code").and_then(|c| c.as_i64()))
        .map(|c| c as i32)
}

fn setup_failure(out: &JailOutput) -> JailError {
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let bwrap: Vec<&str> = text.lines().filter(|l| l.starts_with("bwrap:")).collect();
    let message = if bwrap.is_empty() {
        let tail: Vec<&str> = text.lines().rev().take(3).collect();
        format!(
            "bwrap exited without running the command: {}",
            tail.join(" | ")
        )
    } else {
        bwrap.join("; ")
    };
    JailError::Setup { message }
}

/// Runs `cmd` on the host as the grader (the teacher's explicit choice): its own session
/// and process group, killed as a group; the limits but the process count (which would
/// be shared with every process of the grader's user).
pub(super) fn unconfined(cmd: &JailCommand) -> Result<JailOutput, JailError> {
    let l = &cmd.limits;
    let setup = ChildSetup {
        fds: Vec::new(),
        staging: None,
        identity: None,
        unconfined_limits: Some([
            (libc::RLIMIT_FSIZE, l.fsize_bytes),
            (libc::RLIMIT_AS, l.address_space_bytes),
            (libc::RLIMIT_CPU, l.cpu_seconds),
            (libc::RLIMIT_NOFILE, l.nofile),
            (libc::RLIMIT_CORE, 0),
        ]),
        parent: std::process::id(),
    };
    let mut command = Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .env_clear()
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&cmd.cwd);
    let mut started = start(command, cmd, setup)?;
    let killpg = |child: &Child| {
        // SAFETY: the child leads its own process group (setsid); kill(2) on -pgid.
        unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    };
    let stop = wait(&mut started, cmd, &killpg)?;
    let ended = match stop {
        Stop::Deadline => Ended::Deadline,
        Stop::Quota(u) => Ended::Quota(u),
        Stop::Exited(status) => {
            // What it left running in its group goes too.
            killpg(&started.child);
            Ended::Exited(
                status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            )
        }
    };
    Ok(finish(started, cmd, ended))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_comes_from_the_last_status_document() {
        let docs = b"{ \"child-pid\": 12, \"ipc-namespace\": 4 }\n{ \"exit-code\": 3 }\n";
        assert_eq!(exit_code(docs), Some(3));
        assert_eq!(exit_code(b"{ \"child-pid\": 12 }\n"), None);
    }

    #[test]
    fn output_beyond_the_cap_is_counted_not_kept() {
        let (r, w) = pipe().unwrap();
        let rx = capture(r, 4);
        File::from(w).write_all(b"0123456789").unwrap();
        assert_eq!(rx.recv().unwrap(), (b"0123".to_vec(), 6));
    }
}
