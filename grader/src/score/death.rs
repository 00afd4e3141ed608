//! Sentences for the true causes of death and the limits that fired: who sent the signal
//! that ended a process, which resource limit a process ran into (its value and what hit
//! it), and the processes a scenario left behind.

use crate::protocol::{Death, LimitHit, LimitKind, OpenAtExit, ProcessResult, Stray, StrayKind};

/// `, sent by its own child (pid 12, `msgq`)`: who sent a fatal signal, or "" when the
/// report does not say (an older agent) or the kernel sent it for a fault.
pub(super) fn sender_text(p: &ProcessResult) -> String {
    match &p.death {
        Some(Death::Process {
            pid,
            comm,
            child: true,
        }) => format!(", sent by its own child (pid {pid}, `{comm}`)"),
        Some(Death::Process { pid, comm, .. }) => {
            format!(", sent by another of the submission's processes (pid {pid}, `{comm}`)")
        }
        Some(Death::Itself) => {
            ", which it sent itself (raise, abort or kill on its own pid)".into()
        }
        Some(Death::Grader) => ", sent by the scenario's `kill` step".into(),
        Some(Death::OutOfMemory) => ", sent by the kernel's OOM killer".into(),
        Some(Death::Kernel) | None => String::new(),
    }
}

/// Whether the report knows a SIGKILL did not come from a limit or another process: then
/// the generic "out of memory or a resource limit" guess is left out.
pub(super) fn sigkill_explained(p: &ProcessResult) -> bool {
    matches!(
        p.death,
        Some(Death::Process { .. } | Death::Itself | Death::Grader | Death::OutOfMemory)
    ) || !p.limits.is_empty()
}

/// `; the file-size limit (RLIMIT_FSIZE = 256 MiB) was hit by …` for every limit hit.
pub(super) fn limits_text(limits: &[LimitHit]) -> String {
    limits
        .iter()
        .map(|l| format!("; {}", limit_sentence(l)))
        .collect()
}

/// One limit, its value, what hit it and how the program saw it.
pub(super) fn limit_sentence(l: &LimitHit) -> String {
    let v = l.value;
    let what = &l.what;
    match l.limit {
        LimitKind::FileSize => format!(
            "the file-size limit (RLIMIT_FSIZE = {}) was hit by {what}: past it, write fails with EFBIG and the kernel sends SIGXFSZ",
            bytes(v)
        ),
        LimitKind::Processes => format!(
            "the process limit (RLIMIT_NPROC = {v}) was reached ({what}): past it, fork fails with EAGAIN — a fork that is not checked, or forks in a loop, exhaust it"
        ),
        LimitKind::AddressSpace => format!(
            "the memory limit (RLIMIT_AS = {}) was hit by {what}: past it, malloc and mmap fail with ENOMEM",
            bytes(v)
        ),
        LimitKind::CpuTime => format!(
            "the CPU-time limit (RLIMIT_CPU = {v} s) was hit after {what}: the kernel then sends SIGXCPU or SIGKILL"
        ),
        LimitKind::OutputCap => format!(
            "the grader's output cap ({} per stream) was hit: {what} was written, only the first {} was kept",
            bytes(v),
            bytes(v)
        ),
        LimitKind::GuestMemory => format!(
            "the memory the scenario may use ({}, its share of the guest's) ran out: the kernel's OOM killer killed {what}. A program that allocates without bound (malloc in a loop, children that each allocate) takes it all; free what you allocate and check malloc's result",
            bytes(v)
        ),
        LimitKind::DiskFull => format!(
            "the guest's disk ({}) is full, filled by {what}: past it, write fails with ENOSPC",
            bytes(v)
        ),
    }
}

/// A size as a person would write it.
fn bytes(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    match n {
        n if n >= MIB && n % MIB == 0 => format!("{} MiB", n / MIB),
        n if n >= MIB => format!("{:.1} MiB", n as f64 / MIB as f64),
        n if n >= 1024 && n % 1024 == 0 => format!("{} KiB", n / 1024),
        n => format!("{n} bytes"),
    }
}

/// The processes left behind, one clause each.
pub(super) fn strays_text(strays: &[Stray]) -> String {
    const SHOWN: usize = 5;
    let mut items: Vec<String> = strays.iter().take(SHOWN).map(stray_clause).collect();
    if strays.len() > SHOWN {
        items.push(format!("and {} more", strays.len() - SHOWN));
    }
    format!(
        "the scenario left processes behind: {}. Every process a program forks must end, and be waited for (wait/waitpid), before the program exits",
        items.join("; ")
    )
}

/// The descriptors processes still held when they exited, one clause per process.
pub(super) fn open_fds_text(open: &[OpenAtExit]) -> String {
    const SHOWN: usize = 5;
    let mut items: Vec<String> = open
        .iter()
        .take(SHOWN)
        .map(|o| {
            let fds: Vec<String> = o.fds.iter().map(|(fd, t)| format!("{fd} ({t})")).collect();
            format!(
                "`{}` (pid {}) exited with fd {} still open",
                o.comm,
                o.pid,
                fds.join(", ")
            )
        })
        .collect();
    if open.len() > SHOWN {
        items.push(format!("and {} more", open.len() - SHOWN));
    }
    format!(
        "descriptors were left open at exit: {}. Close what a process no longer needs (both ends of a pipe once dup2'd, the queue with mq_close) before it execs or exits",
        items.join("; ")
    )
}

fn stray_clause(s: &Stray) -> String {
    let who = format!("`{}` (pid {})", s.comm, s.pid);
    let after = s
        .from
        .as_deref()
        .map(|f| format!(" after `{f}` ended"))
        .unwrap_or_default();
    match s.kind {
        StrayKind::Orphan => format!("{who} was still running{after} (an orphan)"),
        StrayKind::Daemon => {
            format!("{who} left its process group (a daemon) and was still running{after}")
        }
        StrayKind::Zombie => format!(
            "{who} is a zombie: its parent {} never waited for it",
            s.parent.as_deref().unwrap_or("(gone)")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_their_value_and_culprit() {
        let fsize = LimitHit {
            limit: LimitKind::FileSize,
            value: 256 << 20,
            what: "`big.dat` (268435456 bytes)".into(),
        };
        assert_eq!(
            limit_sentence(&fsize),
            "the file-size limit (RLIMIT_FSIZE = 256 MiB) was hit by `big.dat` (268435456 bytes): past it, write fails with EFBIG and the kernel sends SIGXFSZ"
        );
        let cap = LimitHit {
            limit: LimitKind::OutputCap,
            value: 64 << 10,
            what: "stdout (1000000 bytes)".into(),
        };
        assert!(limit_sentence(&cap).starts_with("the grader's output cap (64 KiB per stream)"));
        assert_eq!(bytes(1536 << 10), "1.5 MiB");
        assert_eq!(bytes(100), "100 bytes");
    }

    #[test]
    fn open_descriptors_are_named_with_their_targets() {
        let open = [OpenAtExit {
            pid: 10,
            comm: "pipe_tac".into(),
            fds: vec![(3, "pipe:[77]".into()), (4, "pipe:[77]".into())],
        }];
        assert!(open_fds_text(&open).starts_with(
            "descriptors were left open at exit: `pipe_tac` (pid 10) exited with fd 3 (pipe:[77]), 4 (pipe:[77]) still open."
        ));
    }

    #[test]
    fn strays_are_named_with_pid_and_origin() {
        let s = [
            Stray {
                pid: 14,
                comm: "msgq".into(),
                kind: StrayKind::Orphan,
                from: Some("msgq".into()),
                parent: None,
            },
            Stray {
                pid: 15,
                comm: "srv".into(),
                kind: StrayKind::Zombie,
                from: None,
                parent: Some("`srv` (pid 9)".into()),
            },
        ];
        let text = strays_text(&s);
        assert!(
            text.contains("`msgq` (pid 14) was still running after `msgq` ended (an orphan)"),
            "{text}"
        );
        assert!(
            text.contains("`srv` (pid 15) is a zombie: its parent `srv` (pid 9) never waited"),
            "{text}"
        );
    }
}
