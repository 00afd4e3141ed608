//! Host child processes the grader starts and must never leave behind (QEMU, the local
//! agent, lab 7's scripts): tied to the grader's life (`PR_SET_PDEATHSIG`), optionally
//! under rlimits, waited for against a wall-clock deadline that does not depend on their
//! output, then terminated (SIGTERM, a grace period, SIGKILL) and reaped. A [`Reaper`]
//! kills and reaps its child on every exit path, a panic included.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How often waits poll the child.
const POLL: Duration = Duration::from_millis(5);

/// One resource limit set before exec (soft = hard).
pub type Rlimit = (libc::__rlimit_resource_t, u64);

/// Makes the kernel SIGKILL the child when the thread that spawned it dies, so a crashed
/// or killed grader never leaves it behind, after setting `limits`. The hook runs after
/// std's uid/gid change (which would clear the death signal if it came later).
pub fn tie_to_parent(command: &mut Command, limits: &[Rlimit]) {
    let parent = std::process::id();
    let limits = limits.to_vec();
    let hook = move || {
        for &(resource, value) in &limits {
            let lim = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            // SAFETY: setrlimit with a valid pointer to a stack value; async-signal-safe.
            if unsafe { libc::setrlimit(resource, &lim) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        // SAFETY: prctl with integer arguments only, async-signal-safe.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The parent may have died before prctl: then nobody would kill us later.
        // SAFETY: getppid has no preconditions and is async-signal-safe.
        if unsafe { libc::getppid() } as u32 != parent {
            return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and only makes async-signal-safe
    // syscalls (setrlimit, prctl, getppid) on memory allocated before the fork.
    unsafe {
        command.pre_exec(hook);
    }
}

/// Lets the child inherit the descriptors `fds` (sockets and files QEMU is told about by
/// number): they are opened close-on-exec, as Rust opens everything.
pub fn keep_fds(command: &mut Command, fds: &[std::os::fd::RawFd]) {
    let fds = fds.to_vec();
    let hook = move || {
        for &fd in &fds {
            // SAFETY: fcntl on a descriptor the parent opened, integers only;
            // async-signal-safe.
            if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and only calls fcntl on memory
    // allocated before the fork.
    unsafe {
        command.pre_exec(hook);
    }
}

/// Waits until `deadline` for `child` to exit (polling, so that a child holding its
/// output open cannot stall the wait); `None` if it is still running.
pub fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(POLL.min(deadline - now));
    }
}

/// What ending a child gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Its status (`None` if it could not be reaped).
    pub status: Option<ExitStatus>,
    /// It was still running at the deadline and was stopped.
    pub timed_out: bool,
}

/// Owns a child: dropping it kills and reaps the process (and, for a process-group
/// leader, its group).
#[derive(Debug)]
pub struct Reaper {
    child: Option<Child>,
    group: bool,
}

impl Reaper {
    /// Guards `child`.
    pub fn new(child: Child) -> Reaper {
        Reaper {
            child: Some(child),
            group: false,
        }
    }

    /// Guards `child`, the leader of its own process group (`process_group(0)`): the
    /// signals go to the whole group.
    pub fn group_leader(child: Child) -> Reaper {
        Reaper {
            child: Some(child),
            group: true,
        }
    }

    /// The guarded child, until it is reaped.
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    /// Its pid, until it is reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits until `deadline` for the child to exit; `None` if it is still running.
    pub fn wait_until(&mut self, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        let status = wait_until(child, deadline)?;
        if status.is_some() {
            self.child = None;
        }
        Ok(status)
    }

    /// Waits until `deadline`; then SIGTERM, and SIGKILL after `grace` (at once when
    /// `grace` is zero), and reaps.
    pub fn wait_or_stop(&mut self, deadline: Instant, grace: Duration) -> std::io::Result<Ended> {
        if let Some(status) = self.wait_until(deadline)? {
            return Ok(Ended {
                status: Some(status),
                timed_out: false,
            });
        }
        if !grace.is_zero() {
            self.signal(libc::SIGTERM);
            if let Some(status) = self.wait_until(Instant::now() + grace)? {
                return Ok(Ended {
                    status: Some(status),
                    timed_out: true,
                });
            }
        }
        Ok(Ended {
            status: self.kill()?,
            timed_out: true,
        })
    }

    /// SIGKILLs the child (its group for a leader) and reaps it.
    pub fn kill(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.signal(libc::SIGKILL);
        match self.child.take() {
            Some(mut child) => child.wait().map(Some),
            None => Ok(None),
        }
    }

    fn signal(&self, signal: libc::c_int) {
        if let Some(child) = &self.child {
            let pid = child.id() as libc::pid_t;
            let target = if self.group { -pid } else { pid };
            // SAFETY: kill(2) on our own unreaped child's pid (or the group it leads):
            // the pid cannot have been reused since we have not waited for it.
            unsafe { libc::kill(target, signal) };
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_past_its_deadline_is_stopped_and_reaped() {
        let child = Command::new("/bin/sh")
            .args(["-c", "trap '' TERM; sleep 30"])
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut reaper = Reaper::new(child);
        let start = Instant::now();
        let ended = reaper
            .wait_or_stop(
                Instant::now() + Duration::from_millis(100),
                Duration::from_millis(100),
            )
            .unwrap();
        assert!(ended.timed_out);
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(reaper.pid().is_none());
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn a_child_that_exits_in_time_gives_its_status() {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "ulimit -n; exit 3"]);
        tie_to_parent(&mut command, &[(libc::RLIMIT_NOFILE, 77)]);
        let output = command.output().unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "77");
        let mut reaper = Reaper::new(Command::new("/bin/true").spawn().unwrap());
        let ended = reaper
            .wait_or_stop(Instant::now() + Duration::from_secs(10), Duration::ZERO)
            .unwrap();
        assert!(!ended.timed_out);
        assert!(ended.status.unwrap().success());
    }

    #[test]
    fn dropping_a_group_leader_kills_the_group() {
        let child = Command::new("/bin/sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut reaper = Reaper::group_leader(child);
        let mut line = String::new();
        let stdout = reaper.child_mut().unwrap().stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        let sleeper: u32 = line.trim().parse().unwrap();
        drop(reaper);
        let until = Instant::now() + Duration::from_secs(5);
        let gone = || {
            let stat = std::fs::read_to_string(format!("/proc/{sleeper}/stat")).unwrap_or_default();
            stat.is_empty() || stat.contains(") Z")
        };
        while !gone() && Instant::now() < until {
            std::thread::sleep(POLL);
        }
        assert!(gone(), "the group's sleep survived");
    }
}
