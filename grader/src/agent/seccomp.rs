//! Syscall counting with seccomp user notification: a BPF filter installed in the student's
//! first process (inherited by all its children) turns the audited calls into notifications
//! that the agent counts and lets through unchanged.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use super::death::Log;
use super::perturb::Perturber;
use super::signals::Verdict;
use super::syscalls::syscall_name;

/// `AUDIT_ARCH_X86_64` from `<linux/audit.h>` (EM_X86_64 | 64-bit | little-endian).
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// Offsets of `nr` and `arch` in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
/// Offset of the low 32 bits of `args[0]` (little-endian).
const DATA_ARG0_LO: u32 = 16;
/// Descriptors of the listener hand-off in the child, above any RLIMIT_NOFILE a student
/// gets (so a student's own `read`/`write` never match the exemption).
pub(crate) const HANDOFF_W: RawFd = 1000;
/// See [`HANDOFF_W`].
pub(crate) const HANDOFF_R: RawFd = 1001;
/// Jump offsets are 8 bits: keep the list short enough to reach the verdicts.
const MAX_AUDITED: usize = 200;
/// The execve number, to recognise the agent's own launch of the program.
const EXECVE: i64 = 59;

/// A compiled filter, built before `fork` so the child only has to hand it to the kernel.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    prog: Vec<libc::sock_filter>,
}

fn insn(code: u32, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

impl Filter {
    /// A filter that notifies on `numbers` (x86_64 calls only) and allows everything else,
    /// except the child's own hand-off of the listener (`write` on [`HANDOFF_W`], `read` on
    /// [`HANDOFF_R`]): those must pass unnoticed even when `read`/`write` are audited, since
    /// nobody answers notifications before the hand-off is done.
    pub(crate) fn notify_on(numbers: &[i64]) -> Filter {
        let n = numbers.len().min(MAX_AUDITED);
        let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
        let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
        let ja = libc::BPF_JMP | libc::BPF_JA;
        let ret = libc::BPF_RET | libc::BPF_K;
        // Layout: 0-1 arch check; 2-9 the two hand-off exemptions; 10 load nr;
        // 11..11+n the audited numbers; then ALLOW, then NOTIFY.
        let main = 10usize;
        let allow = main + 1 + n;
        let notify = allow + 1;
        let to = |from: usize, target: usize| (target - from - 1) as u8;
        let mut prog = vec![
            insn(ld, 0, 0, DATA_ARCH),
            insn(jeq, 0, to(1, allow), AUDIT_ARCH_X86_64),
            insn(ld, 0, 0, DATA_ARG0_LO),
            insn(jeq, 0, to(3, 7), HANDOFF_W as u32),
            insn(ld, 0, 0, DATA_NR),
            insn(jeq, to(5, allow), 0, libc::SYS_write as u32),
            insn(ja, 0, 0, (main - 7) as u32),
            insn(jeq, 0, to(7, main), HANDOFF_R as u32),
            insn(ld, 0, 0, DATA_NR),
            insn(jeq, to(9, allow), 0, libc::SYS_read as u32),
            insn(ld, 0, 0, DATA_NR),
        ];
        for (k, &nr) in numbers.iter().take(n).enumerate() {
            let at = main + 1 + k;
            prog.push(insn(jeq, to(at, notify), 0, nr as u32));
        }
        prog.push(insn(ret, 0, 0, libc::SECCOMP_RET_ALLOW));
        prog.push(insn(ret, 0, 0, libc::SECCOMP_RET_USER_NOTIF));
        debug_assert_eq!(prog.len(), notify + 1);
        Filter { prog }
    }

    /// Installs the filter in the calling process and returns the listener descriptor,
    /// or -1 with `errno` set. Sets `no_new_privs` first when the caller is not root
    /// (the kernel requires it of unprivileged callers).
    ///
    /// # Safety
    /// Meant for a freshly forked child: only async-signal-safe calls are made.
    pub(crate) unsafe fn install(&self) -> RawFd {
        let fprog = libc::sock_fprog {
            len: self.prog.len() as u16,
            filter: self.prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: geteuid/prctl/syscall are async-signal-safe and take plain values; `fprog`
        // points into `self.prog`, alive for the whole call.
        unsafe {
            if libc::geteuid() != 0 && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return -1;
            }
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                &fprog as *const libc::sock_fprog,
            ) as RawFd
        }
    }
}

/// Copies descriptor `remote` out of process `pid` (`pidfd_open` + `pidfd_getfd`); the copy
/// is close-on-exec.
pub(crate) fn take_fd(pidfd: &OwnedFd, remote: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd takes plain integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), remote, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The agent's end of one filter: notifications from the launched process and all its
/// descendants arrive here.
#[derive(Debug)]
pub(crate) struct Listener {
    fd: OwnedFd,
    /// The launched process: its first `execve` is the agent's own, not the student's.
    launch_pid: u32,
    launch_seen: bool,
    /// Notifications held by the perturbation.
    held: Vec<Held>,
}

/// One call held by the perturbation.
#[derive(Debug)]
struct Held {
    /// Its drawn time: not let through before.
    at: Instant,
    /// The notification's id.
    id: u64,
    /// The caller.
    pid: i32,
    /// CPU ticks of the caller's process group (the caller left out) when it was held.
    others_ticks: u64,
}

/// How long past its drawn time a held spawn call waits at most for the others to run.
const YIELD_CAP: Duration = Duration::from_millis(300);
/// CPU the others must get (clock ticks, 10 ms each) before a held call past its time
/// goes on: measured in their CPU time, not the wall clock, so that a slow or loaded
/// (emulated) machine yields as much as a fast one.
const YIELD_TICKS: u64 = 2;
/// How often a held call past its time is looked at again.
const RECHECK: Duration = Duration::from_millis(5);

/// The CPU ticks used so far by the live processes in `pid`'s process group other than
/// `pid`, and whether any of them is runnable.
fn others_in_group(pid: i32) -> (u64, bool) {
    let Some(me) = super::procs::stat(pid) else {
        return (0, false);
    };
    super::procs::all()
        .into_iter()
        .filter(|p| p.pgid == me.pgid && p.pid != pid && p.is_live())
        .fold((0, false), |(ticks, running), p| {
            (ticks + p.cpu_ticks, running || p.state == 'R')
        })
}

/// What the supervisor asks of one service call: which calls to count (the audited ones;
/// the filter may notify on more for the perturbation) and the perturbation's draws.
pub(crate) struct Service<'a> {
    /// Audited syscall counts, by name.
    pub counts: &'a mut BTreeMap<String, u64>,
    /// Numbers to count; `None`: every notified call is audited.
    pub audited: Option<&'a [i64]>,
    /// Holds some calls.
    pub perturb: Option<&'a mut Perturber>,
    /// Signals sent and forks made (every notified call is offered to it).
    pub log: &'a mut Log,
    /// The agent (or worker) whose descendants are the scenario's processes: the only
    /// ones a student process may signal.
    pub root: i32,
}

/// What one service call found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Serviced {
    /// A notification was answered (or had already vanished).
    Answered,
    /// No process uses the filter any more: drop the listener.
    Finished,
}

impl Listener {
    /// Wraps a listener taken from process `launch_pid`.
    pub(crate) fn new(fd: OwnedFd, launch_pid: i32) -> Listener {
        Listener {
            fd,
            launch_pid: launch_pid as u32,
            launch_seen: false,
            held: Vec::new(),
        }
    }

    /// The descriptor to poll.
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receives one notification, counts it by name (signals and forks also go to the
    /// log) and lets the call proceed, now or (perturbed) at the time drawn for it.
    pub(crate) fn service(&mut self, s: Service<'_>) -> Serviced {
        // SAFETY: seccomp_notif is plain data; the kernel requires it zeroed before RECV.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: RECV writes one seccomp_notif into `req`, which is large enough.
        let rc = unsafe { libc::ioctl(self.raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) };
        if rc != 0 {
            return match io::Error::last_os_error().raw_os_error() {
                // The caller died before we read it, or a signal interrupted us.
                Some(libc::ENOENT) | Some(libc::EINTR) => Serviced::Answered,
                _ => Serviced::Finished,
            };
        }
        let nr = i64::from(req.data.nr);
        s.log.record_call(req.pid as i32, nr, &req.data.args);
        match super::signals::police(nr, &req.data.args, req.pid as i32, s.root) {
            Verdict::Allow => {}
            Verdict::Deny => {
                self.reply(req.id, -libc::EPERM);
                return Serviced::Answered;
            }
            Verdict::Done => {
                self.reply(req.id, 0);
                return Serviced::Answered;
            }
        }
        if s.audited.map_or(true, |a| a.contains(&nr)) {
            self.count(&req, s.counts);
        }
        match s.perturb.and_then(|p| p.delay(nr)) {
            Some(d) => {
                let pid = req.pid as i32;
                self.held.push(Held {
                    at: Instant::now() + d,
                    id: req.id,
                    pid,
                    others_ticks: others_in_group(pid).0,
                });
            }
            None => self.answer(req.id),
        }
        Serviced::Answered
    }

    /// Answers call `id` without running it: `error` is 0 (it returns 0) or a negative
    /// errno.
    fn reply(&self, id: u64, error: i32) {
        let resp = libc::seccomp_notif_resp {
            id,
            val: 0,
            error,
            flags: 0,
        };
        // SAFETY: SEND reads one seccomp_notif_resp; ENOENT (caller gone) is harmless.
        unsafe { libc::ioctl(self.raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
    }

    /// Lets call `id` proceed.
    fn answer(&self, id: u64) {
        let resp = libc::seccomp_notif_resp {
            id,
            val: 0,
            error: 0,
            flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        };
        // SAFETY: SEND reads one seccomp_notif_resp; ENOENT (caller gone) is harmless.
        unsafe { libc::ioctl(self.raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
    }

    /// When the next held call is due, if any is held (one past its drawn time, waiting
    /// for the others to run, is looked at again shortly).
    pub(crate) fn next_release(&self) -> Option<Instant> {
        let soon = Instant::now() + RECHECK;
        self.held
            .iter()
            .map(|h| h.at.max(soon.min(h.at + RECHECK)))
            .min()
    }

    /// Lets every held call whose time has come proceed: at its drawn time once the other
    /// processes of its group have had some CPU (or none of them can run), at the latest
    /// [`YIELD_CAP`] after it. A yield, so that the processes already started really run
    /// first however slow the machine.
    pub(crate) fn release_due(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = self.held.drain(..).partition(|h| {
            if h.at > now {
                return false;
            }
            if now >= h.at + YIELD_CAP {
                return true;
            }
            let (ticks, running) = others_in_group(h.pid);
            !running || ticks >= h.others_ticks + YIELD_TICKS
        });
        self.held = later;
        for h in due {
            self.answer(h.id);
        }
    }

    fn count(&mut self, req: &libc::seccomp_notif, counts: &mut BTreeMap<String, u64>) {
        let nr = i64::from(req.data.nr);
        if nr == EXECVE && req.pid == self.launch_pid && !self.launch_seen {
            self.launch_seen = true;
            return;
        }
        if let Some(name) = syscall_name(nr) {
            *counts.entry(name.to_string()).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny classic-BPF interpreter: enough to run the filter on a syscall.
    fn verdict(f: &Filter, arch: u32, nr: u32, arg0: u32) -> u32 {
        let data = |off: u32| match off {
            DATA_NR => nr,
            DATA_ARCH => arch,
            DATA_ARG0_LO => arg0,
            _ => panic!("unexpected load at {off}"),
        };
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = f.prog[pc];
            let code = u32::from(i.code);
            pc += 1;
            if code == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS {
                acc = data(i.k);
            } else if code == libc::BPF_JMP | libc::BPF_JA {
                pc += i.k as usize;
            } else if code == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K {
                pc += if acc == i.k { i.jt } else { i.jf } as usize;
            } else if code == libc::BPF_RET | libc::BPF_K {
                return i.k;
            } else {
                panic!("unexpected opcode {code:#x}");
            }
        }
    }

    #[test]
    fn audited_calls_notify_others_pass() {
        let f = Filter::notify_on(&[68, 69, libc::SYS_write, libc::SYS_read]);
        let x86 = AUDIT_ARCH_X86_64;
        assert_eq!(verdict(&f, x86, 68, 0), libc::SECCOMP_RET_USER_NOTIF);
        assert_eq!(verdict(&f, x86, 69, 7), libc::SECCOMP_RET_USER_NOTIF);
        assert_eq!(verdict(&f, x86, 39, 0), libc::SECCOMP_RET_ALLOW);
        assert_eq!(verdict(&f, 0x4000_0003, 68, 0), libc::SECCOMP_RET_ALLOW);
        // A student's own read/write are counted...
        assert_eq!(
            verdict(&f, x86, libc::SYS_write as u32, 1),
            libc::SECCOMP_RET_USER_NOTIF
        );
        assert_eq!(
            verdict(&f, x86, libc::SYS_read as u32, 0),
            libc::SECCOMP_RET_USER_NOTIF
        );
        // ...the child's hand-off is not, and only for the right call on the right fd.
        assert_eq!(
            verdict(&f, x86, libc::SYS_write as u32, HANDOFF_W as u32),
            libc::SECCOMP_RET_ALLOW
        );
        assert_eq!(
            verdict(&f, x86, libc::SYS_read as u32, HANDOFF_R as u32),
            libc::SECCOMP_RET_ALLOW
        );
        assert_eq!(
            verdict(&f, x86, libc::SYS_read as u32, HANDOFF_W as u32),
            libc::SECCOMP_RET_USER_NOTIF
        );
        assert_eq!(
            verdict(&f, x86, 68, HANDOFF_W as u32),
            libc::SECCOMP_RET_USER_NOTIF
        );
    }
}
