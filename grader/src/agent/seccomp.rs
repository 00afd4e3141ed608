//! Syscall counting with seccomp user notification: a BPF filter installed in the student's
//! first process (inherited by all its children) turns the audited calls into notifications
//! that the agent counts and lets through unchanged.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::syscalls::syscall_name;

/// `AUDIT_ARCH_X86_64` from `<linux/audit.h>` (EM_X86_64 | 64-bit | little-endian).
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// Offsets of `nr` and `arch` in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
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
    /// A filter that notifies on `numbers` (x86_64 calls only) and allows everything else.
    pub(crate) fn notify_on(numbers: &[i64]) -> Filter {
        let n = numbers.len().min(250);
        let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
        let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
        let ret = libc::BPF_RET | libc::BPF_K;
        // 0: load arch; 1: not x86_64 → allow; 2: load nr; 3..3+n: match → notify;
        // 3+n: allow; 4+n: notify.
        let mut prog = vec![
            insn(ld, 0, 0, DATA_ARCH),
            insn(jeq, 0, (n + 1) as u8, AUDIT_ARCH_X86_64),
            insn(ld, 0, 0, DATA_NR),
        ];
        for (k, &nr) in numbers.iter().take(n).enumerate() {
            prog.push(insn(jeq, (n - k) as u8, 0, nr as u32));
        }
        prog.push(insn(ret, 0, 0, libc::SECCOMP_RET_ALLOW));
        prog.push(insn(ret, 0, 0, libc::SECCOMP_RET_USER_NOTIF));
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
        }
    }

    /// The descriptor to poll.
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receives one notification, counts it by name and lets the call proceed.
    pub(crate) fn service(&mut self, counts: &mut BTreeMap<String, u64>) -> Serviced {
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
        self.count(&req, counts);
        let resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: 0,
            flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        };
        // SAFETY: SEND reads one seccomp_notif_resp; ENOENT (caller gone) is harmless.
        unsafe { libc::ioctl(self.raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) };
        Serviced::Answered
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

    #[test]
    fn filter_jumps_land_on_allow_and_notify() {
        let f = Filter::notify_on(&[68, 69]);
        let p = &f.prog;
        assert_eq!(p.len(), 7);
        // Wrong arch jumps to the allow at index 5 (1 + 1 + jf).
        assert_eq!(2 + p[1].jf as usize, 5);
        assert_eq!(p[5].k, libc::SECCOMP_RET_ALLOW);
        // Each syscall match jumps to the notify at index 6.
        for (i, jump) in p.iter().enumerate().take(5).skip(3) {
            assert_eq!(i + 1 + jump.jt as usize, 6);
        }
        assert_eq!(p[6].k, libc::SECCOMP_RET_USER_NOTIF);
        assert_eq!((p[3].k, p[4].k), (68, 69));
    }
}
