//! What a student process may signal: only the processes of its own scenario. Every
//! signal-sending call reaches the agent as a seccomp notification (before the kernel
//! runs it); one aimed outside the scenario's process tree (the agent itself, another
//! scenario's processes, a guessed pid) fails with EPERM, and `kill(-1, …)` — "every
//! process I may signal" — is carried out by the agent on the scenario's own processes
//! only. On the local backend, where the agent and the programs share a uid, this is what
//! keeps a student's `kill(-1, SIGKILL)` from ending the grading itself.

use std::fs;

use super::procs::{self, ProcStat};

const KILL: i64 = 62;
const TKILL: i64 = 200;
const TGKILL: i64 = 234;
const RT_SIGQUEUEINFO: i64 = 129;
const RT_TGSIGQUEUEINFO: i64 = 297;
const PIDFD_SEND_SIGNAL: i64 = 424;

/// Whom a call aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aim {
    /// A process (or a thread of one), by pid as the caller sees it.
    Pid(i32),
    /// A process group.
    Group(i32),
    /// Every process the caller may signal.
    All,
}

/// What to do with a signal-sending call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not a signal call, or aimed inside the scenario: the kernel runs it.
    Allow,
    /// Aimed outside the scenario: it fails with EPERM.
    Deny,
    /// `kill(-1, …)`: done by the agent on the scenario's processes; the call returns 0.
    Done,
}

/// The target of call `nr` made by `caller` (`None`: not a signal-sending call).
fn aim(nr: i64, args: &[u64; 6], caller: i32) -> Option<(Aim, i32)> {
    let pid = |a: u64| a as i32;
    Some(match nr {
        KILL => {
            let t = match pid(args[0]) {
                0 => Aim::Group(procs::stat(caller)?.pgid),
                -1 => Aim::All,
                p if p < 0 => Aim::Group(-p),
                p => Aim::Pid(p),
            };
            (t, args[1] as i32)
        }
        TKILL => (Aim::Pid(thread_group(pid(args[0]))), args[1] as i32),
        TGKILL | RT_TGSIGQUEUEINFO => (Aim::Pid(pid(args[0])), args[2] as i32),
        RT_SIGQUEUEINFO => (Aim::Pid(pid(args[0])), args[1] as i32),
        PIDFD_SEND_SIGNAL => (
            Aim::Pid(pidfd_target(caller, pid(args[0]))?),
            args[1] as i32,
        ),
        _ => return None,
    })
}

/// The process a thread id belongs to (itself when it is one, or unknown).
fn thread_group(tid: i32) -> i32 {
    let status = fs::read_to_string(format!("/proc/{tid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(tid)
}

/// The pid a process's pidfd refers to (its fdinfo's `Pid:` line).
fn pidfd_target(caller: i32, fd: i32) -> Option<i32> {
    let info = fs::read_to_string(format!("/proc/{caller}/fdinfo/{fd}")).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The scenario's processes: every descendant of the agent (or worker) `root`.
fn scenario_tree(root: i32) -> Vec<ProcStat> {
    procs::descendants(root).unwrap_or_else(|| {
        let all = procs::all();
        procs::subtree(&all, |p| p.ppid == root)
    })
}

/// Judges call `nr` of `caller`, a student process under the agent (or worker) `root`;
/// a `kill(-1, …)` is carried out here.
pub(crate) fn police(nr: i64, args: &[u64; 6], caller: i32, root: i32) -> Verdict {
    let Some((target, signal)) = aim(nr, args, caller) else {
        return Verdict::Allow;
    };
    let tree = scenario_tree(root);
    match target {
        Aim::Pid(p) if tree.iter().any(|t| t.pid == p) => Verdict::Allow,
        Aim::Group(g) if tree.iter().any(|t| t.pgid == g) => Verdict::Allow,
        Aim::Pid(_) | Aim::Group(_) => Verdict::Deny,
        Aim::All => {
            for p in tree.iter().filter(|t| t.is_live() && t.pid != caller) {
                if signal != 0 {
                    // SAFETY: kill takes plain integers; `p.pid` is a student process.
                    unsafe { libc::kill(p.pid, signal) };
                }
            }
            Verdict::Done
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[u64]) -> [u64; 6] {
        let mut v = [0u64; 6];
        v[..a.len()].copy_from_slice(a);
        v
    }

    #[test]
    fn every_signal_call_names_its_target() {
        let me = std::process::id() as i32;
        let minus = |n: i32| n as i64 as u64;
        assert_eq!(aim(KILL, &args(&[7, 9]), me), Some((Aim::Pid(7), 9)));
        assert_eq!(aim(KILL, &args(&[minus(-1), 9]), me), Some((Aim::All, 9)));
        assert_eq!(
            aim(KILL, &args(&[minus(-5), 15]), me),
            Some((Aim::Group(5), 15))
        );
        assert_eq!(aim(TGKILL, &args(&[7, 8, 6]), me), Some((Aim::Pid(7), 6)));
        assert_eq!(
            aim(RT_SIGQUEUEINFO, &args(&[7, 10]), me),
            Some((Aim::Pid(7), 10))
        );
        assert_eq!(
            aim(TKILL, &args(&[me as u64, 1]), me),
            Some((Aim::Pid(me), 1))
        );
        assert_eq!(aim(39, &args(&[]), me), None);
    }

    #[test]
    fn a_target_outside_the_tree_is_refused() {
        let me = std::process::id() as i32;
        // Our parent is no descendant of ours: refused; kill(-1, 0) is carried out (a
        // probe: nothing is sent).
        let parent = procs::stat(me).unwrap().ppid;
        assert_eq!(
            police(KILL, &args(&[parent as u64, 0]), me, me),
            Verdict::Deny
        );
        let minus_one = -1i64 as u64;
        assert_eq!(police(KILL, &args(&[minus_one, 0]), me, me), Verdict::Done);
        assert_eq!(police(39, &args(&[]), me, me), Verdict::Allow);
    }
}
