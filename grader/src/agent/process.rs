//! Starting one student program: everything is prepared before `fork`, the child only
//! makes async-signal-safe calls (process group, descriptors, limits, identity, syscall
//! filter) then `execve`s; an exec failure comes back through a close-on-exec pipe.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use crate::protocol::Limits;

use super::seccomp::{self, Filter, Listener, HANDOFF_R, HANDOFF_W};
use super::supervise::Supervisor;

/// Failures of the agent itself while starting a program (not the student's fault).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A string for the child held a NUL byte.
    #[error("failed to pass {what} to the program: it contains a NUL byte")]
    Nul {
        /// Which string.
        what: String,
    },
    /// pipe/fcntl/pidfd_open failed.
    #[error("failed to {what} for {program}")]
    Setup {
        /// The operation.
        what: &'static str,
        /// The program.
        program: String,
        /// The OS error.
        source: io::Error,
    },
    /// fork failed.
    #[error("failed to fork for {program}")]
    Fork {
        /// The program.
        program: String,
        /// The OS error.
        source: io::Error,
    },
}

/// Where the child was when it failed, sent with `errno` through the status pipe.
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
enum Stage {
    Stdio = 1,
    Chdir = 2,
    Limits = 3,
    Identity = 4,
    Seccomp = 5,
    Exec = 6,
}

impl Stage {
    fn describe(code: u32) -> &'static str {
        match code {
            1 => "set up its standard streams",
            2 => "enter its working directory",
            3 => "apply the resource limits",
            4 => "switch to the student's uid/gid",
            5 => "install the syscall audit filter",
            _ => "execute",
        }
    }
}

/// What to run and how.
#[derive(Debug)]
pub(crate) struct Launch<'a> {
    /// Program path (absolute, or relative to `cwd`).
    pub program: &'a Path,
    /// argv[1..].
    pub args: &'a [String],
    /// The whole environment, in order.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: &'a Path,
    /// Descriptors for stdin, stdout, stderr.
    pub stdio: [OwnedFd; 3],
    /// Resource limits.
    pub limits: &'a Limits,
    /// uid/gid to switch to.
    pub run_as: Option<(u32, u32)>,
    /// Syscall audit filter to install.
    pub filter: Option<&'a Filter>,
}

/// How a start attempt ended.
#[derive(Debug)]
pub(crate) enum Started {
    /// The program is running (it leads its own process group).
    Running {
        /// Its pid.
        pid: i32,
        /// A pidfd for it, to wake up when it exits.
        pidfd: Option<OwnedFd>,
    },
    /// The child could not exec (missing program, permission…): the text says why.
    Failed(String),
}

/// Every pointer and value the child needs, allocated before `fork`.
struct Prepared {
    program: CString,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    _envp: Vec<CString>,
    envp_ptrs: Vec<*const libc::c_char>,
    cwd: CString,
    oom_path: CString,
    /// The slot's `cgroup.procs` (guest only), joined before dropping to the student's uid.
    cgroup: Option<&'static std::ffi::CStr>,
    rlimits: [(libc::__rlimit_resource_t, u64); 6],
    run_as: Option<(u32, u32)>,
}

fn cstring(bytes: &[u8], what: &str) -> Result<CString, ProcessError> {
    CString::new(bytes).map_err(|_| ProcessError::Nul {
        what: what.to_string(),
    })
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

impl Prepared {
    fn new(l: &Launch) -> Result<Prepared, ProcessError> {
        let program = cstring(l.program.as_os_str().as_bytes(), "the program path")?;
        let mut argv = vec![program.clone()];
        for a in l.args {
            argv.push(cstring(a.as_bytes(), &format!("argument {a:?}"))?);
        }
        let envp = l
            .env
            .iter()
            .map(|(k, v)| cstring(format!("{k}={v}").as_bytes(), &format!("variable {k}")))
            .collect::<Result<Vec<_>, _>>()?;
        let lim = l.limits;
        Ok(Prepared {
            argv_ptrs: null_terminated(&argv),
            envp_ptrs: null_terminated(&envp),
            _argv: argv,
            _envp: envp,
            program,
            cwd: cstring(l.cwd.as_os_str().as_bytes(), "the working directory")?,
            oom_path: cstring(b"/proc/self/oom_score_adj", "a path")?,
            cgroup: super::memcg::procs_path(),
            rlimits: [
                (libc::RLIMIT_NPROC, lim.nproc),
                (libc::RLIMIT_FSIZE, lim.fsize_bytes),
                (libc::RLIMIT_AS, lim.address_space_bytes),
                (libc::RLIMIT_CPU, lim.cpu_seconds),
                (libc::RLIMIT_NOFILE, lim.nofile),
                (libc::RLIMIT_CORE, 0),
            ],
            run_as: l.run_as,
        })
    }
}

/// Moves a descriptor to a number ≥ 10 (close-on-exec), so the child can `dup2` its
/// descriptors onto 0–5 without overwriting one it still needs.
pub(crate) fn lift(fd: OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we own; -1 on error.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by no one else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((lift(r)?, lift(w)?))
}

/// The pipes between agent and child: exec status (child → agent, close-on-exec), and
/// for audited runs the listener number (child → agent) and a go-ahead (agent → child).
struct Pipes {
    status: (OwnedFd, OwnedFd),
    handoff: Option<((OwnedFd, OwnedFd), (OwnedFd, OwnedFd))>,
}

fn setup_err(what: &'static str, program: &Path) -> impl FnOnce(io::Error) -> ProcessError {
    let program = program.display().to_string();
    move |source| ProcessError::Setup {
        what,
        program,
        source,
    }
}

/// Starts `launch`, waiting (while servicing other processes) until it has exec'd or failed.
pub(crate) fn spawn(
    sup: &mut Supervisor,
    launch: Launch,
    deadline: Instant,
) -> Result<Started, ProcessError> {
    let prep = Prepared::new(&launch)?;
    let err = |what| setup_err(what, launch.program);
    let [i, o, e] = launch.stdio;
    let stdio_fds = [lift(i), lift(o), lift(e)];
    let stdio_fds: Vec<OwnedFd> = stdio_fds
        .into_iter()
        .collect::<io::Result<_>>()
        .map_err(err("move descriptors"))?;
    let stdio = [0, 1, 2].map(|i| stdio_fds[i].as_raw_fd());
    let handoff = match launch.filter {
        Some(_) => Some((
            pipe().map_err(err("create a pipe"))?,
            pipe().map_err(err("create a pipe"))?,
        )),
        None => None,
    };
    let pipes = Pipes {
        status: pipe().map_err(err("create a pipe"))?,
        handoff,
    };
    // SAFETY: fork has no preconditions; the child branch below only runs `child`, which
    // makes async-signal-safe calls on data prepared before the fork, and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let source = io::Error::last_os_error();
        return Err(ProcessError::Fork {
            program: launch.program.display().to_string(),
            source,
        });
    }
    if pid == 0 {
        // SAFETY: we are the freshly forked child; see `child`.
        unsafe { child(&prep, stdio, &pipes, launch.filter) }
    }
    // SAFETY: setpgid on our own child; racing with its own setpgid(0, 0) is harmless.
    unsafe { libc::setpgid(pid, pid) };
    sup.adopt(pid);
    drop(stdio_fds);
    parent(sup, pid, pipes, deadline, launch.program)
}

/// The agent's side after `fork`: take the listener, then learn whether exec worked.
fn parent(
    sup: &mut Supervisor,
    pid: i32,
    pipes: Pipes,
    deadline: Instant,
    program: &Path,
) -> Result<Started, ProcessError> {
    let Pipes {
        status: (status_r, status_w),
        handoff,
    } = pipes;
    drop(status_w);
    // Without a pidfd the agent still notices the exit at its next tick.
    let pidfd = pidfd_open(pid).ok();
    if let Some(((sync_r, sync_w), (go_r, go_w))) = handoff {
        drop((sync_w, go_r));
        if let Err(source) = take_listener(sup, pid, pidfd.as_ref(), &sync_r) {
            // The child must not run audited without anyone answering: stop it first
            // (dropping `go_w` on return releases it only to die).
            // SAFETY: kill on our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let what = "take the seccomp listener";
            return Err(ProcessError::Setup {
                what,
                program: program.display().to_string(),
                source,
            });
        }
        // Dropping `go_w` (EOF) releases the child.
        drop(go_w);
    }
    let fd = status_r.as_raw_fd();
    if !sup.pump(deadline, Some(fd), |_| readable(fd)) {
        // Out of time before exec: killing it closes the pipe so the read below ends.
        // SAFETY: kill on our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    match read_status(&status_r) {
        None => Ok(Started::Running { pid, pidfd }),
        Some((stage, errno)) => {
            let wake = pidfd.as_ref().map(|f| f.as_raw_fd());
            sup.pump(deadline, wake, |s| s.reaped(pid).is_some());
            let cause = io::Error::from_raw_os_error(errno as i32);
            Ok(Started::Failed(format!(
                "failed to {} {}: {cause}",
                Stage::describe(stage),
                program.display()
            )))
        }
    }
}

/// Reads the listener's number in the child and copies it into the agent.
fn take_listener(
    sup: &mut Supervisor,
    pid: i32,
    pidfd: Option<&OwnedFd>,
    sync_r: &OwnedFd,
) -> io::Result<()> {
    // EOF: the child failed before installing the filter; the status pipe says why.
    let Some(remote) = read_i32(sync_r) else {
        return Ok(());
    };
    let pidfd = pidfd.ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSYS))?;
    sup.listen(Listener::new(seccomp::take_fd(pidfd, remote)?, pid));
    Ok(())
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes plain integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn readable(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
}

fn read_exact(fd: &OwnedFd, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: reads into the unfilled tail of `buf`.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
            )
        };
        match n {
            n if n > 0 => got += n as usize,
            n if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return false,
        }
    }
    true
}

fn read_i32(fd: &OwnedFd) -> Option<i32> {
    let mut b = [0u8; 4];
    read_exact(fd, &mut b).then(|| i32::from_ne_bytes(b))
}

/// `None` = EOF (exec succeeded); otherwise the failing stage and errno.
fn read_status(fd: &OwnedFd) -> Option<(u32, u32)> {
    let mut b = [0u8; 8];
    read_exact(fd, &mut b).then(|| {
        let stage = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
        (stage, u32::from_ne_bytes([b[4], b[5], b[6], b[7]]))
    })
}

/// Reports `stage` and `errno` on descriptor 3 and exits.
///
/// # Safety
/// Child only: async-signal-safe calls.
unsafe fn fail(stage: Stage) -> ! {
    // SAFETY: errno location and write/_exit are async-signal-safe.
    unsafe {
        let errno = *libc::__errno_location() as u32;
        let mut msg = [0u8; 8];
        msg[..4].copy_from_slice(&(stage as u32).to_ne_bytes());
        msg[4..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(3, msg.as_ptr().cast(), 8);
        libc::_exit(127)
    }
}

/// The child between `fork` and `execve`.
///
/// # Safety
/// Call only in the child right after `fork`; every call here is async-signal-safe and
/// touches only memory prepared before the fork.
unsafe fn child(p: &Prepared, stdio: [RawFd; 3], pipes: &Pipes, filter: Option<&Filter>) -> ! {
    // SAFETY: async-signal-safe calls on descriptors and data prepared before the fork.
    unsafe {
        reset_signals();
        libc::setpgid(0, 0);
        // Descriptors: 0–2 stdio, 3 exec status, HANDOFF_W/HANDOFF_R the listener hand-off
        // (close-on-exec, above any student's RLIMIT_NOFILE); all sources are ≥ 10.
        let status = pipes.status.1.as_raw_fd();
        if libc::dup3(status, 3, libc::O_CLOEXEC) < 0 {
            libc::_exit(127);
        }
        for (i, &fd) in stdio.iter().enumerate() {
            if libc::dup2(fd, i as RawFd) < 0 {
                fail(Stage::Stdio);
            }
        }
        if let Some(((_, sync_w), (go_r, _))) = &pipes.handoff {
            if libc::dup3(sync_w.as_raw_fd(), HANDOFF_W, libc::O_CLOEXEC) < 0
                || libc::dup3(go_r.as_raw_fd(), HANDOFF_R, libc::O_CLOEXEC) < 0
            {
                fail(Stage::Seccomp);
            }
            close_range(4, HANDOFF_W - 1);
            close_range(HANDOFF_R + 1, RawFd::MAX);
        } else {
            close_range(4, RawFd::MAX);
        }
        reset_oom(p);
        if libc::chdir(p.cwd.as_ptr()) != 0 {
            fail(Stage::Chdir);
        }
        apply_limits(p);
        if let Some(procs) = p.cgroup {
            // Not fatal: without it the scenario only shares the guest's memory unbounded.
            super::memcg::join(procs);
        }
        switch_identity(p);
        if let Some(filter) = filter {
            install_filter(filter);
        }
        libc::execve(
            p.program.as_ptr(),
            p.argv_ptrs.as_ptr(),
            p.envp_ptrs.as_ptr(),
        );
        fail(Stage::Exec)
    }
}

/// Default dispositions and an empty mask: the agent (and Rust) ignore SIGPIPE, which
/// exec would otherwise pass on to the student's pipelines.
///
/// # Safety
/// Child only.
unsafe fn reset_signals() {
    // SAFETY: sigemptyset/sigprocmask/signal are async-signal-safe.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    }
}

/// Closes every descriptor from `first` to `last`.
///
/// # Safety
/// Child only.
unsafe fn close_range(first: RawFd, last: RawFd) {
    // SAFETY: close_range/close take plain integers.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first as u32, last as u32, 0) != 0 {
            for fd in first..last.min(4096) {
                libc::close(fd);
            }
        }
    }
}

/// The agent protects itself from the OOM killer; its children must not inherit that.
///
/// # Safety
/// Child only.
unsafe fn reset_oom(p: &Prepared) {
    // SAFETY: open/write/close are async-signal-safe; the path was built before fork.
    unsafe {
        let fd = libc::open(p.oom_path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
        }
    }
}

/// # Safety
/// Child only.
unsafe fn apply_limits(p: &Prepared) {
    for &(resource, value) in &p.rlimits {
        let lim = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: setrlimit reads one rlimit struct; fail() is async-signal-safe.
        unsafe {
            if libc::setrlimit(resource, &lim) != 0 {
                fail(Stage::Limits);
            }
        }
    }
}

/// # Safety
/// Child only.
unsafe fn switch_identity(p: &Prepared) {
    let Some((uid, gid)) = p.run_as else { return };
    // SAFETY: setgroups/setgid/setuid are async-signal-safe system calls.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(gid) != 0
            || libc::setuid(uid) != 0
        {
            fail(Stage::Identity);
        }
    }
}

/// Installs the audit filter, hands the listener to the agent (descriptor number on 4),
/// waits for the go-ahead on 5, then closes the child's copies. No audited call may run
/// between the install and the agent taking the listener: nobody would answer it.
///
/// # Safety
/// Child only.
unsafe fn install_filter(filter: &Filter) {
    // SAFETY: install() is async-signal-safe; write/read take plain buffers. Past the
    // install, only the hand-off calls the filter exempts are made before exec: the
    // listener and the hand-off descriptors are all close-on-exec.
    unsafe {
        let listener = filter.install();
        if listener < 0 {
            fail(Stage::Seccomp);
        }
        libc::write(HANDOFF_W, listener.to_ne_bytes().as_ptr().cast(), 4);
        let mut go = [0u8; 1];
        libc::read(HANDOFF_R, go.as_mut_ptr().cast(), 1);
    }
}

/// The command line as a person would type it, for messages.
pub(crate) fn command_line(program: &Path, bin_dir: &Path, args: &[String]) -> String {
    let name: &OsStr = match program.parent() {
        Some(dir) if dir == bin_dir => program.file_name().unwrap_or(program.as_os_str()),
        _ => program.as_os_str(),
    };
    let mut line = name.to_string_lossy().into_owned();
    for a in args {
        let plain = !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,+@%".contains(&b));
        line.push(' ');
        if plain {
            line.push_str(a);
        } else {
            line.push('\'');
            line.push_str(&a.replace('\'', r"'\''"));
            line.push('\'');
        }
    }
    line
}
