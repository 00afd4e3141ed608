//! The hang report: at the scenario deadline, before anything is killed, what each live
//! process was doing, with findings in plain language a student can act on.

use std::collections::HashMap;

use crate::protocol::{HangReport, ProcInfo};

use super::procs::{self, ProcStat};

/// Syscall numbers (x86_64) that tell what a blocked process waits for.
mod nr {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const READV: i64 = 19;
    pub const PAUSE: i64 = 34;
    pub const NANOSLEEP: i64 = 35;
    pub const WAIT4: i64 = 61;
    pub const SEMOP: i64 = 65;
    pub const MSGSND: i64 = 69;
    pub const MSGRCV: i64 = 70;
    pub const SIGSUSPEND: i64 = 130;
    pub const FUTEX: i64 = 202;
    pub const SEMTIMEDOP: i64 = 220;
    pub const CLOCK_NANOSLEEP: i64 = 230;
    pub const MQ_TIMEDSEND: i64 = 242;
    pub const MQ_TIMEDRECEIVE: i64 = 243;
    pub const WAITID: i64 = 247;
}

/// Everything read about one process.
#[derive(Debug)]
struct Seen {
    stat: ProcStat,
    wchan: String,
    fds: Vec<(i32, String)>,
    /// Access mode (`O_RDONLY`…) of each descriptor.
    access: HashMap<i32, i32>,
    syscall: Option<(i64, Vec<u64>)>,
}

impl Seen {
    fn read(stat: &ProcStat) -> Seen {
        let fds = procs::fds(stat.pid);
        let access = fds
            .iter()
            .filter_map(|(fd, _)| Some((*fd, procs::fd_access(stat.pid, *fd)?)))
            .collect();
        Seen {
            wchan: procs::wchan(stat.pid),
            fds,
            access,
            syscall: procs::current_syscall(stat.pid),
            stat: stat.clone(),
        }
    }

    /// "`cat` (pid 12)".
    fn who(&self) -> String {
        format!("`{}` (pid {})", self.stat.comm, self.stat.pid)
    }

    fn in_call(&self, numbers: &[i64]) -> bool {
        self.syscall
            .as_ref()
            .is_some_and(|(n, _)| numbers.contains(n))
    }

    fn waits_in(&self, numbers: &[i64], wchan_parts: &[&str]) -> bool {
        self.in_call(numbers) || wchan_parts.iter().any(|w| self.wchan.contains(w))
    }

    /// The target of descriptor `fd`.
    fn target(&self, fd: i32) -> Option<&str> {
        self.fds
            .iter()
            .find(|(f, _)| *f == fd)
            .map(|(_, t)| t.as_str())
    }
}

/// Builds the report for `live` (the agent's live descendants).
pub(crate) fn report(live: &[ProcStat]) -> HangReport {
    let seen: Vec<Seen> = live.iter().map(Seen::read).collect();
    let findings = seen.iter().filter_map(|s| diagnose(s, &seen)).collect();
    let processes = seen
        .into_iter()
        .map(|s| ProcInfo {
            pid: s.stat.pid,
            ppid: s.stat.ppid,
            comm: s.stat.comm,
            state: s.stat.state.to_string(),
            wchan: s.wchan,
            fds: s.fds,
        })
        .collect();
    HangReport {
        processes,
        findings,
        ..Default::default()
    }
}

/// One finding for one process, if its state says something useful.
fn diagnose(s: &Seen, all: &[Seen]) -> Option<String> {
    let who = s.who();
    if s.stat.state == 'R' {
        return Some(format!(
            "{who} was still running (state R) at the deadline: a busy loop, or far too slow"
        ));
    }
    if s.stat.state == 'T' {
        return Some(format!(
            "{who} is stopped (SIGSTOP/SIGTSTP) and never resumed"
        ));
    }
    if let Some(found) = pipe_finding(s, all) {
        return Some(found);
    }
    let text = if s.waits_in(&[nr::MSGRCV], &["msgrcv"]) {
        "is blocked in msgrcv waiting for a message that never comes: check the key, the message type, and that someone really sends it"
    } else if s.waits_in(&[nr::MSGSND], &["msgsnd"]) {
        "is blocked in msgsnd: the queue is full and nobody receives from it"
    } else if s.waits_in(&[nr::SEMOP, nr::SEMTIMEDOP], &["semtimedop"]) {
        "is blocked on a semaphore (P) nobody releases: every P (wait) needs a V (post) from another process"
    } else if s.waits_in(&[nr::MQ_TIMEDRECEIVE], &["mq_timedreceive"]) {
        "is blocked in mq_receive waiting for a message that never comes"
    } else if s.waits_in(&[nr::MQ_TIMEDSEND], &["mq_timedsend"]) {
        "is blocked in mq_send: the queue is full and nobody receives from it"
    } else if s.waits_in(&[nr::FUTEX], &["futex"]) {
        "is blocked on a futex (a mutex, a condition variable or a sem_wait) that nobody releases"
    } else if s.waits_in(&[nr::WAIT4, nr::WAITID], &["do_wait", "kernel_wait"]) {
        return Some(wait_finding(s, all));
    } else if s.waits_in(&[nr::NANOSLEEP, nr::CLOCK_NANOSLEEP], &["nanosleep"]) {
        "is sleeping (sleep/nanosleep) and was still asleep at the deadline"
    } else if s.waits_in(&[nr::PAUSE, nr::SIGSUSPEND], &["pause", "sigsuspend"]) {
        return Some(signal_finding(s, all));
    } else if !s.wchan.is_empty() {
        return Some(format!("{who} is blocked in the kernel (in `{}`)", s.wchan));
    } else {
        return None;
    };
    Some(format!("{who} {text}"))
}

/// "`sh` (pid 10) is waiting for its child `cat` (pid 12) to exit".
fn wait_finding(s: &Seen, all: &[Seen]) -> String {
    match children_of(s, all) {
        Some(children) => format!("{} is waiting for its child {children} to exit", s.who()),
        None => format!("{} is waiting for a child process to exit", s.who()),
    }
}

/// The live children of `s`, as "`cat` (pid 12), `tac` (pid 13)".
fn children_of(s: &Seen, all: &[Seen]) -> Option<String> {
    let children: Vec<String> = all
        .iter()
        .filter(|c| c.stat.ppid == s.stat.pid)
        .map(Seen::who)
        .collect();
    (!children.is_empty()).then(|| children.join(", "))
}

/// pause/sigsuspend: shells wait for their children this way (SIGCHLD).
fn signal_finding(s: &Seen, all: &[Seen]) -> String {
    match children_of(s, all) {
        Some(children) => format!("{} is waiting for a signal (sigsuspend/pause), presumably for its child {children} to exit", s.who()),
        None => format!("{} is waiting for a signal (pause/sigsuspend) that never arrives", s.who()),
    }
}

/// A process blocked on a pipe (or FIFO): which one, and who holds its other end.
fn pipe_finding(s: &Seen, all: &[Seen]) -> Option<String> {
    let reading = match &s.syscall {
        Some((n, _)) if [nr::READ, nr::READV].contains(n) => true,
        Some((n, _)) if *n == nr::WRITE => false,
        // Blocked in another call (poll, msgrcv…): not a plain pipe transfer.
        Some(_) => return None,
        None if s.wchan.contains("pipe_write") => false,
        None if s.wchan.contains("pipe") => true,
        None => return None,
    };
    let fd = blocked_fd(s, reading)?;
    let pipe = s.target(fd)?;
    // A FIFO shows as its path, but the reader still sleeps in the pipe code.
    if !pipe.starts_with("pipe:") && !s.wchan.contains("pipe") {
        return None;
    }
    Some(match reading {
        true => reader_finding(s, fd, pipe, all),
        false => writer_finding(s, pipe, all),
    })
}

/// The descriptor the process is blocked on: the syscall's first argument, or else its
/// first pipe descriptor open in the right direction.
fn blocked_fd(s: &Seen, reading: bool) -> Option<i32> {
    if let Some((_, args)) = &s.syscall {
        if let Some(&fd) = args.first() {
            return Some(fd as i32);
        }
    }
    let wanted = if reading {
        libc::O_RDONLY
    } else {
        libc::O_WRONLY
    };
    s.fds
        .iter()
        .filter(|(_, t)| t.starts_with("pipe:"))
        .find(|(fd, _)| {
            s.access
                .get(fd)
                .is_some_and(|&a| a == wanted || a == libc::O_RDWR)
        })
        .map(|(fd, _)| *fd)
}

/// Every `(process, fd)` holding `pipe` open with one of the access modes in `modes`.
fn holders<'a>(pipe: &str, modes: &[i32], all: &'a [Seen]) -> Vec<(&'a Seen, i32)> {
    let mut out = Vec::new();
    for p in all {
        for (fd, target) in &p.fds {
            let access = p.access.get(fd);
            if target == pipe && access.is_some_and(|a| modes.contains(a)) {
                out.push((p, *fd));
            }
        }
    }
    out
}

fn reader_finding(s: &Seen, fd: i32, pipe: &str, all: &[Seen]) -> String {
    let writers = holders(pipe, &[libc::O_WRONLY, libc::O_RDWR], all);
    if writers.is_empty() {
        return format!(
            "{} is blocked reading {pipe} (fd {fd}), and no live process holds its write end",
            s.who()
        );
    }
    // A writer holding the pipe as its stdout is the intended producer, merely silent;
    // any other holder is a forgotten copy that keeps end-of-file from ever coming.
    let (producers, strays): (Vec<_>, Vec<_>) = writers
        .iter()
        .partition(|(w, wfd)| *wfd == 1 && w.stat.pid != s.stat.pid);
    if strays.is_empty() {
        let names: Vec<String> = producers.iter().map(|(w, _)| w.who()).collect();
        return format!(
            "{} is waiting for input on {pipe} from {}, which holds its write end as stdout but writes nothing",
            s.who(),
            names.join(", ")
        );
    }
    let names: Vec<String> = strays
        .iter()
        .map(|(w, wfd)| {
            let itself = if w.stat.pid == s.stat.pid {
                " itself"
            } else {
                ""
            };
            format!("`{}`{itself} (pid {}, fd {wfd})", w.stat.comm, w.stat.pid)
        })
        .collect();
    format!(
        "{} is blocked reading {pipe} whose write end is still open in {}: close the unused pipe ends after fork/dup2, or the reader never sees end-of-file",
        s.who(),
        names.join(", ")
    )
}

fn writer_finding(s: &Seen, pipe: &str, all: &[Seen]) -> String {
    let readers: Vec<String> = holders(pipe, &[libc::O_RDONLY, libc::O_RDWR], all)
        .iter()
        .filter(|(r, _)| r.stat.pid != s.stat.pid)
        .map(|(r, _)| r.who())
        .collect();
    if readers.is_empty() {
        return format!(
            "{} is blocked writing to {pipe}, which is full and nobody else can read",
            s.who()
        );
    }
    format!(
        "{} is blocked writing to {pipe}, which is full: its reader {} is not reading",
        s.who(),
        readers.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(
        pid: i32,
        comm: &str,
        state: char,
        wchan: &str,
        syscall: Option<(i64, Vec<u64>)>,
    ) -> Seen {
        Seen {
            stat: ProcStat {
                pid,
                ppid: 1,
                pgid: pid,
                comm: comm.into(),
                state,
                cpu_ticks: 0,
            },
            wchan: wchan.into(),
            fds: Vec::new(),
            access: HashMap::new(),
            syscall,
        }
    }

    fn with_fd(mut s: Seen, fd: i32, target: &str, access: i32) -> Seen {
        s.fds.push((fd, target.into()));
        s.access.insert(fd, access);
        s
    }

    #[test]
    fn stray_write_end_is_named_with_its_holder_and_fd() {
        let reader = with_fd(
            seen(12, "tac", 'S', "pipe_read", Some((nr::READ, vec![0]))),
            0,
            "pipe:[77]",
            libc::O_RDONLY,
        );
        let shell = with_fd(
            seen(10, "minishell", 'S', "do_wait", None),
            4,
            "pipe:[77]",
            libc::O_WRONLY,
        );
        let all = [reader, shell];
        assert_eq!(
            diagnose(&all[0], &all).unwrap(),
            "`tac` (pid 12) is blocked reading pipe:[77] whose write end is still open in `minishell` (pid 10, fd 4): \
             close the unused pipe ends after fork/dup2, or the reader never sees end-of-file"
        );
    }

    #[test]
    fn silent_producer_on_stdout_is_not_called_a_stray_end() {
        let reader = with_fd(
            seen(12, "cat", 'S', "pipe_read", None),
            0,
            "pipe:[9]",
            libc::O_RDONLY,
        );
        let producer = with_fd(
            seen(11, "sleep", 'S', "hrtimer_nanosleep", None),
            1,
            "pipe:[9]",
            libc::O_WRONLY,
        );
        let all = [reader, producer];
        let found = diagnose(&all[0], &all).unwrap();
        assert!(
            found.contains("waiting for input on pipe:[9] from `sleep` (pid 11)"),
            "{found}"
        );
    }

    #[test]
    fn blocking_calls_are_named_in_plain_words() {
        let all = [];
        let msg = seen(5, "server", 'S', "do_msgrcv", Some((nr::MSGRCV, vec![3])));
        assert!(diagnose(&msg, &all)
            .unwrap()
            .contains("`server` (pid 5) is blocked in msgrcv"));
        let sem = seen(6, "worker", 'S', "", Some((nr::SEMOP, vec![3])));
        assert!(diagnose(&sem, &all)
            .unwrap()
            .contains("semaphore (P) nobody releases"));
        let spin = seen(7, "spin", 'R', "", None);
        assert!(diagnose(&spin, &all).unwrap().contains("busy loop"));
        let nap = seen(8, "sleep", 'S', "hrtimer_nanosleep", None);
        assert!(diagnose(&nap, &all).unwrap().contains("sleeping"));
    }

    #[test]
    fn waiting_parent_names_its_children() {
        let parent = seen(10, "sh", 'S', "do_wait", Some((nr::WAIT4, vec![])));
        let mut child = seen(11, "cat", 'S', "", None);
        child.stat.ppid = 10;
        let all = [parent, child];
        assert_eq!(
            diagnose(&all[0], &all).unwrap(),
            "`sh` (pid 10) is waiting for its child `cat` (pid 11) to exit"
        );
    }
}
