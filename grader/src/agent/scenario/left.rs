//! What a scenario's processes ran into and left behind: the cause of each death and the
//! limits that fired, the process limit, orphans, daemons and zombies.

use std::fs;
use std::path::Path;
use std::time::Instant;

use crate::protocol::{Death, Exit, LimitHit, LimitKind, Stray, StrayKind};

use super::super::death::{self, Ended};
use super::super::supervise::Supervisor;
use super::{Scenario, STRAY_GRACE};

impl Scenario<'_> {
    /// Who ended run `idx` (for a death by signal) and the limits it ran into.
    pub(super) fn cause_of(&self, idx: usize, exit: &Exit) -> (Option<Death>, Vec<LimitHit>) {
        let r = &self.runs[idx];
        let (Some(pid), Some(rep)) = (r.pid, r.pid.and_then(|p| self.sup.reaped(p))) else {
            return (None, Vec::new());
        };
        let signal = match exit {
            Exit::Signal(sig) => Some(*sig),
            _ => None,
        };
        let oom = self.oom.killed_since();
        let death = signal.map(|sig| death::cause(&self.sup.log.signals, pid, pid, sig, oom));
        let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let ended = Ended {
            signal,
            failed: !matches!(exit, Exit::Code(0)),
            cpu_ms: rep.cpu_ms,
            stdout_bytes: size(&r.stdout),
            stderr_bytes: size(&r.stderr),
            cwd: &self.cwd,
        };
        (death, death::limits_hit(&ended, &self.job.limits))
    }

    /// Records what ran out of memory: processes the kernel's OOM killer killed (its log
    /// names them, with the uid this scenario's programs run as), and processes whose
    /// address space reached RLIMIT_AS (their allocations failed there).
    pub(super) fn memory_limits(&mut self) {
        let victims = self.oom.victims();
        if !victims.is_empty() {
            const SHOWN: usize = 3;
            let mut who: Vec<String> = victims
                .iter()
                .take(SHOWN)
                .map(|v| {
                    format!(
                        "`{}` (pid {}) holding {} MiB",
                        v.comm,
                        v.pid,
                        v.rss_kib / 1024
                    )
                })
                .collect();
            if victims.len() > SHOWN {
                who.push(format!("and {} more", victims.len() - SHOWN));
            }
            self.result.limits.push(LimitHit {
                limit: LimitKind::GuestMemory,
                value: super::super::memcg::limit_bytes().unwrap_or_else(death::mem_total_bytes),
                what: format!("{} of your processes: {}", victims.len(), who.join(", ")),
            });
        }
        let peaks = std::mem::take(&mut self.sup.log.at_address_limit);
        if let Some((pid, comm, kib)) = peaks.first() {
            let more = match peaks.len() {
                1 => String::new(),
                n => format!(" and {} other process(es)", n - 1),
            };
            self.result.limits.push(LimitHit {
                limit: LimitKind::AddressSpace,
                value: self.job.limits.address_space_bytes,
                what: format!(
                    "`{comm}` (pid {pid}, {} MiB of address space){more}",
                    kib / 1024
                ),
            });
        }
    }

    /// Records the process limit: a fork the agent saw made at the limit (it failed with
    /// EAGAIN), or `count` student processes at once reaching it.
    pub(super) fn process_limit(&mut self, count: usize) {
        let nproc = self.job.limits.nproc;
        let already = self
            .result
            .limits
            .iter()
            .any(|l| l.limit == LimitKind::Processes);
        let what = match &self.sup.log.fork_at_limit {
            Some((who, n)) => format!("a fork by {who} with {n} processes running"),
            None => format!("{count} processes at once"),
        };
        if !already && (self.sup.log.fork_at_limit.is_some() || count as u64 >= nproc) {
            self.result.limits.push(LimitHit {
                limit: LimitKind::Processes,
                value: nproc,
                what,
            });
        }
    }

    /// After run `idx` ended: what it left running in its process group (orphans, given
    /// a moment to end), and any process that left the agent's groups (daemons).
    pub(super) fn strays_after(&mut self, idx: usize) {
        let Some(pgid) = self.runs[idx].pid else {
            return;
        };
        let until = (Instant::now() + STRAY_GRACE).min(self.deadline);
        let left = |s: &Supervisor| {
            s.descendants()
                .into_iter()
                .filter(|p| p.pgid == pgid || !s.owns_group(p.pgid))
                .collect::<Vec<_>>()
        };
        self.sup.pump(until, None, |s| left(s).is_empty());
        let from = self.runs[idx].id.clone();
        for p in left(&self.sup) {
            let kind = if p.pgid == pgid {
                StrayKind::Orphan
            } else {
                StrayKind::Daemon
            };
            self.add_stray(p.pid, p.comm, kind, Some(from.clone()), None);
        }
    }

    /// At the end: zombies a still-running student process never waited for.
    pub(super) fn zombies(&mut self) {
        let tree = self.sup.tree();
        let me = self.sup.self_pid();
        for z in tree.iter().filter(|p| !p.is_live() && p.ppid != me) {
            let parent = tree
                .iter()
                .find(|p| p.pid == z.ppid)
                .map(|p| format!("`{}` (pid {})", p.comm, p.pid));
            self.add_stray(z.pid, z.comm.clone(), StrayKind::Zombie, None, parent);
        }
    }

    pub(super) fn add_stray(
        &mut self,
        pid: i32,
        comm: String,
        kind: StrayKind,
        from: Option<String>,
        parent: Option<String>,
    ) {
        if self.result.strays.iter().any(|s| s.pid == pid) {
            return;
        }
        self.result.strays.push(Stray {
            pid,
            comm,
            kind,
            from,
            parent,
        });
    }
}
