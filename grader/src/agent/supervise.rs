//! Keeping track of the student's processes while the agent waits: reaping exits,
//! answering syscall notifications, finding every live descendant, killing them all.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::death::{Log, SentSignal, Target};
use super::perturb::Perturber;
use super::procs::{self, ProcStat};
use super::seccomp::{Listener, Service, Serviced};

/// How often the agent wakes up to reap and re-check conditions.
const TICK: Duration = Duration::from_millis(10);
/// How long the final kill may take before the agent gives up on unkillable processes.
const KILL_GRACE: Duration = Duration::from_secs(3);

/// A reaped child: its wait status and when it was collected.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reaped {
    /// Raw wait status.
    pub status: i32,
    /// When the agent saw it end.
    pub at: Instant,
    /// CPU time it used (user + system, its waited-for children included), in ms.
    pub cpu_ms: u64,
}

/// The agent's view of the processes it started in one scenario.
#[derive(Debug)]
pub(crate) struct Supervisor {
    /// The agent is the only user of its children (its own binary, single-threaded):
    /// `waitpid(-1)` is safe and every child is a student process. False inside a
    /// multi-threaded test harness, where other threads have children of their own.
    exclusive: bool,
    self_pid: i32,
    /// Process groups the agent created (one per `run` step).
    pgids: Vec<i32>,
    reaped: HashMap<i32, Reaped>,
    listeners: Vec<Listener>,
    /// Audited syscall counts, by name.
    pub counts: BTreeMap<String, u64>,
    /// Signals sent and forks made during the scenario, by a student process (seen
    /// through the listeners) or by the agent itself.
    pub log: Log,
    /// The audited numbers when the filter notifies on more (perturbed runs).
    pub audited: Option<Vec<i64>>,
    /// The perturbation's draws, when the run is perturbed.
    pub perturb: Option<Perturber>,
}

impl Supervisor {
    /// A supervisor with nothing started yet.
    pub(crate) fn new() -> Supervisor {
        Supervisor {
            exclusive: procs::own_thread_count() == 1,
            self_pid: std::process::id() as i32,
            pgids: Vec::new(),
            reaped: HashMap::new(),
            listeners: Vec::new(),
            counts: BTreeMap::new(),
            log: Log::default(),
            audited: None,
            perturb: None,
        }
    }

    /// Records a process the agent forked (it leads its own process group).
    pub(crate) fn adopt(&mut self, pid: i32) {
        self.pgids.push(pid);
    }

    /// Starts answering notifications from a filter's listener.
    pub(crate) fn listen(&mut self, listener: Listener) {
        self.listeners.push(listener);
    }

    /// CPU time (user + system, in ms) of every process reaped so far, with the children
    /// each of them waited for.
    pub(crate) fn cpu_ms(&self) -> u64 {
        self.reaped.values().map(|r| r.cpu_ms).sum()
    }

    /// How `pid` ended, if it has been reaped.
    pub(crate) fn reaped(&self, pid: i32) -> Option<Reaped> {
        self.reaped.get(&pid).copied()
    }

    /// Collects every exited child without blocking.
    pub(crate) fn reap(&mut self) {
        if self.exclusive {
            self.reap_matching(-1);
        } else {
            // Only our own process groups: other threads' children are not ours to take.
            for pgid in self.pgids.clone() {
                self.reap_matching(-pgid);
            }
        }
    }

    fn reap_matching(&mut self, which: i32) {
        loop {
            let mut status = 0;
            // SAFETY: rusage is plain data, filled in by wait4.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: wait4 with WNOHANG writes only `status` and `usage`.
            let pid = unsafe { libc::wait4(which, &mut status, libc::WNOHANG, &mut usage) };
            if pid <= 0 {
                return;
            }
            let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
            self.reaped.insert(
                pid,
                Reaped {
                    status,
                    at: Instant::now(),
                    cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
                },
            );
        }
    }

    /// Sends `signal` to process group `pgid` on the scenario's behalf (a `kill` step),
    /// remembering it was the agent's, not a student's.
    pub(crate) fn signal_group(&mut self, pgid: i32, signal: i32) -> bool {
        self.log.signals.push(SentSignal {
            sender: None,
            target: Target::Group(pgid),
            signal,
        });
        // SAFETY: kill takes plain integers; the group is one the agent created.
        unsafe { libc::kill(-pgid, signal) == 0 }
    }

    /// Waits until `done` holds (true) or `until` passes (false), answering syscall
    /// notifications and reaping meanwhile. `wake` is an extra descriptor whose readiness
    /// ends the current sleep early (a pidfd, a pipe).
    pub(crate) fn pump(
        &mut self,
        until: Instant,
        wake: Option<RawFd>,
        mut done: impl FnMut(&Self) -> bool,
    ) -> bool {
        loop {
            self.reap();
            if done(self) {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            self.poll_once(wake, (until - now).min(TICK));
        }
    }

    /// Sleeps up to `timeout` in `poll`, then answers every ready notification.
    fn poll_once(&mut self, wake: Option<RawFd>, timeout: Duration) {
        let mut fds: Vec<libc::pollfd> = self
            .listeners
            .iter()
            .map(|l| libc::pollfd {
                fd: l.raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if let Some(fd) = wake {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // A held call is let through on time, not at the next tick.
        let now = Instant::now();
        let release = self
            .listeners
            .iter()
            .filter_map(Listener::next_release)
            .min();
        let timeout = release.map_or(timeout, |at| timeout.min(at.saturating_duration_since(now)));
        // Rounded up: a hold ends at its time or just after, never in a busy loop.
        let ms = timeout.as_micros().div_ceil(1000) as libc::c_int;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        let now = Instant::now();
        for l in &mut self.listeners {
            l.release_due(now);
        }
        if n <= 0 {
            return;
        }
        let mut finished = Vec::new();
        for (i, pfd) in fds.iter().take(self.listeners.len()).enumerate() {
            let gone = if pfd.revents & libc::POLLIN != 0 {
                let s = Service {
                    counts: &mut self.counts,
                    audited: self.audited.as_deref(),
                    perturb: self.perturb.as_mut(),
                    log: &mut self.log,
                    root: self.self_pid,
                };
                self.listeners[i].service(s) == Serviced::Finished
            } else {
                // No notification pending and hung up: no process uses the filter any more.
                pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0
            };
            if gone {
                finished.push(i);
            }
        }
        for i in finished.into_iter().rev() {
            self.listeners.remove(i);
        }
    }

    /// Sleeps until `until`, keeping the students' processes answered.
    pub(crate) fn sleep(&mut self, until: Instant) {
        self.pump(until, None, |_| false);
    }

    /// Every live process descending from the agent's runs (orphans included: the agent
    /// is their subreaper).
    pub(crate) fn descendants(&self) -> Vec<ProcStat> {
        self.tree().into_iter().filter(ProcStat::is_live).collect()
    }

    /// Whether the agent created process group `pgid` (a `run` step's).
    pub(crate) fn owns_group(&self, pgid: i32) -> bool {
        self.pgids.contains(&pgid)
    }

    /// The agent's own pid (the parent of orphans it adopted).
    pub(crate) fn self_pid(&self) -> i32 {
        self.self_pid
    }

    /// The agent's process tree, zombies included.
    pub(crate) fn tree(&self) -> Vec<ProcStat> {
        let me = self.self_pid;
        if self.exclusive {
            if let Some(tree) = procs::descendants(me) {
                return tree;
            }
        }
        let all = procs::all();
        if self.exclusive {
            procs::subtree(&all, |p| p.ppid == me)
        } else {
            procs::subtree(&all, |p| self.pgids.contains(&p.pgid) && p.pid != me)
        }
    }

    /// SIGKILLs every descendant (by process group, then one by one, until none is left)
    /// and reaps them, still answering notifications so nobody stays blocked on one.
    pub(crate) fn kill_all(&mut self) {
        let until = Instant::now() + KILL_GRACE;
        loop {
            for &pgid in &self.pgids {
                // SAFETY: kill takes plain integers; a gone group gives ESRCH.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
            // Zombies count too: their parents die here and hand them to us to reap.
            let left = self.tree();
            for p in left.iter().filter(|p| p.is_live()) {
                // SAFETY: as above; `p.pid` is one of our descendants.
                unsafe { libc::kill(p.pid, libc::SIGKILL) };
            }
            self.reap();
            if left.is_empty() || Instant::now() >= until {
                break;
            }
            self.poll_once(None, Duration::from_millis(2));
        }
        self.reap();
        self.listeners.clear();
    }
}
