//! Telling a slow program from a stuck one: while the agent waits on the scenario deadline
//! it samples every thread of the student's processes twice a second (state, the call it
//! is blocked in, context switches, CPU time, audited IPC calls). A program whose counters
//! move is making progress, however slowly; one whose every thread sits blocked on another
//! process with nothing changing for a whole second is deadlocked, and the scenario stops
//! there instead of waiting out its deadline. A program that declares round trips and is
//! far too slow to reach them by the deadline stops early too. Only a wait that would
//! end at the deadline may stop early: before a shorter one ends, the agent's own later
//! steps (a message sent, a kill) could still move the scenario on.
//!
//! A third way to miss a deadline is starvation: a thread waits in `futex` (a POSIX
//! semaphore, a mutex) at every sample, is woken again and again, and each time finds
//! that another process took what it waits for first. The scenario is not stopped for it
//! (the others progress), but the report names the starved thread.

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

use crate::protocol::{AuditRequest, EarlyStop, Pace, RoundTrips, Starved};

use super::death::OomMark;
use super::procs::{self, ProcStat};
use super::supervise::Supervisor;

/// Time between two samples. Under TCG a correct program can look idle for a few
/// milliseconds, never for half a second with every counter frozen.
const EVERY: Duration = Duration::from_millis(500);
/// How long every counter must stay frozen (three samples) before it is a deadlock.
const STILL_FOR: Duration = Duration::from_millis(1000);
/// The last look at a deadline is skipped when a sample is fresher than this: two
/// samples a few milliseconds apart say nothing of a pace.
const MIN_GAP: Duration = Duration::from_millis(200);
/// No "hopelessly slow" verdict before this share of the deadline has passed…
const SLOW_AFTER: f64 = 0.25;
/// …nor unless, at the pace so far, the program would do less than this share of its
/// round trips by the deadline.
const SLOW_SHARE: f64 = 0.5;
/// Starved: seen waiting in `futex` at this many samples in a row (1.5 s at least)…
const STARVED_LOOKS: u32 = 4;
/// …and woken at least this many times meanwhile.
const STARVED_WAKES: u64 = 3;

/// Syscall numbers (x86_64) a thread can wait in for another process forever.
mod nr {
    pub const READ: i64 = 0;
    pub const WRITE: i64 = 1;
    pub const READV: i64 = 19;
    pub const WRITEV: i64 = 20;
    pub const WAIT4: i64 = 61;
    pub const SEMOP: i64 = 65;
    pub const MSGSND: i64 = 69;
    pub const MSGRCV: i64 = 70;
    pub const FUTEX: i64 = 202;
    pub const SEMTIMEDOP: i64 = 220;
    pub const MQ_TIMEDSEND: i64 = 242;
    pub const MQ_TIMEDRECEIVE: i64 = 243;
    pub const WAITID: i64 = 247;
    pub const PAUSE: i64 = 34;
    pub const RT_SIGTIMEDWAIT: i64 = 128;
    pub const RT_SIGSUSPEND: i64 = 130;
}

/// One thread at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Task {
    state: char,
    syscall: Option<(i64, Vec<u64>)>,
    /// Voluntary plus involuntary context switches.
    switches: u64,
    /// utime + stime, in clock ticks.
    cpu: u64,
    /// The blocking call's descriptor is a pipe or FIFO (read/write only).
    on_pipe: bool,
    /// The process's `comm`.
    comm: String,
}

impl Task {
    /// Blocked in a call only another process can end: no timeout, no timer. (A signal
    /// could end it too; a program that waits for its own `alarm()` is the one case this
    /// cannot see, and it would need a second of total stillness to be taken for stuck.)
    fn waits_on_others(&self) -> bool {
        if self.state != 'S' {
            return false;
        }
        let Some((n, args)) = &self.syscall else {
            return false;
        };
        let arg = |i: usize| args.get(i).copied().unwrap_or(1);
        match *n {
            nr::MSGSND | nr::MSGRCV | nr::SEMOP | nr::WAIT4 | nr::WAITID => true,
            nr::SEMTIMEDOP => arg(3) == 0,
            nr::MQ_TIMEDSEND | nr::MQ_TIMEDRECEIVE => arg(4) == 0,
            // FUTEX_WAIT / FUTEX_WAIT_BITSET without a timeout.
            nr::FUTEX => matches!(arg(1) & 0x7f, 0 | 9) && arg(3) == 0,
            nr::READ | nr::READV | nr::WRITE | nr::WRITEV => self.on_pipe,
            _ => false,
        }
    }

    /// Blocked waiting for a signal with no timeout (`pause`, `sigsuspend`, `sigwait`):
    /// only another process, a timer or the grader can end that.
    fn waits_for_a_signal(&self) -> bool {
        if self.state != 'S' {
            return false;
        }
        match &self.syscall {
            Some((nr::PAUSE | nr::RT_SIGSUSPEND, _)) => true,
            Some((nr::RT_SIGTIMEDWAIT, args)) => args.get(2) == Some(&0),
            _ => false,
        }
    }

    /// Blocked for good unless another process moves: waiting on another process, or
    /// for a signal when no timer of the student's is armed.
    fn stuck(&self, timers_armed: bool) -> bool {
        self.waits_on_others() || (!timers_armed && self.waits_for_a_signal())
    }

    /// Blocked in an untimed `futex` wait: a semaphore, a mutex, a condition variable.
    fn in_futex_wait(&self) -> bool {
        self.waits_on_others() && self.syscall.as_ref().is_some_and(|(n, _)| *n == nr::FUTEX)
    }
}

/// A thread seen in a futex wait at every sample since `since`.
#[derive(Debug, Clone)]
struct FutexWait {
    since: Instant,
    /// Its context switches at the first of those samples.
    switches: u64,
    looks: u32,
}

/// Every student thread at one instant, by (pid, tid), and the audited calls so far.
#[derive(Debug, Clone)]
struct Sample {
    at: Instant,
    tasks: BTreeMap<(i32, i32), Task>,
    counts: BTreeMap<String, u64>,
    /// A student process armed a timer (alarm, setitimer, timer_settime) so far: a
    /// process waiting for a signal may get one.
    timers_armed: bool,
}

impl Sample {
    fn take(live: &[ProcStat], counts: &BTreeMap<String, u64>, timers_armed: bool) -> Sample {
        let mut tasks = BTreeMap::new();
        for p in live {
            for tid in threads(p.pid) {
                if let Some(t) = read_task(p.pid, tid) {
                    tasks.insert((p.pid, tid), t);
                }
            }
        }
        Sample {
            at: Instant::now(),
            tasks,
            counts: counts.clone(),
            timers_armed,
        }
    }

    /// Nothing moved between `self` and `later`, and every thread waits on another (or
    /// for a signal nothing can send).
    fn frozen_until(&self, later: &Sample) -> bool {
        !later.tasks.is_empty()
            && self.tasks == later.tasks
            && self.counts == later.counts
            && later.tasks.values().all(|t| t.stuck(later.timers_armed))
    }

    /// Some thread ran, switched, changed state or made an audited call since `self`.
    fn moved_until(&self, later: &Sample) -> bool {
        !later.tasks.is_empty() && (self.tasks != later.tasks || self.counts != later.counts)
    }

    fn switches(&self) -> u64 {
        self.tasks.values().map(|t| t.switches).sum()
    }

    fn calls(&self) -> u64 {
        self.counts.values().sum()
    }
}

fn threads(pid: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

fn read_task(pid: i32, tid: i32) -> Option<Task> {
    let base = format!("/proc/{pid}/task/{tid}");
    let stat = fs::read_to_string(format!("{base}/stat")).ok()?;
    let stat = procs::parse_stat(&stat)?;
    let status = fs::read_to_string(format!("{base}/status")).unwrap_or_default();
    let syscall = fs::read_to_string(format!("{base}/syscall"))
        .ok()
        .and_then(|l| procs::parse_syscall(&l));
    let on_pipe = syscall
        .as_ref()
        .and_then(|(_, args)| args.first())
        .is_some_and(|&fd| is_pipe(pid, fd));
    Some(Task {
        state: stat.state,
        syscall,
        switches: parse_switches(&status),
        cpu: stat.cpu_ticks,
        on_pipe,
        comm: stat.comm,
    })
}

/// Voluntary plus involuntary context switches of a `status` file.
fn parse_switches(status: &str) -> u64 {
    status
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
        .sum()
}

fn is_pipe(pid: i32, fd: u64) -> bool {
    let link = format!("/proc/{pid}/fd/{fd}");
    if fs::read_link(&link).is_ok_and(|t| t.to_string_lossy().starts_with("pipe:")) {
        return true;
    }
    use std::os::unix::fs::FileTypeExt;
    fs::metadata(&link).is_ok_and(|m| m.file_type().is_fifo())
}

/// The samples of one scenario.
#[derive(Debug)]
pub(crate) struct Watch {
    started: Instant,
    timeout: Duration,
    /// Syscalls are audited (counted), so IPC calls can be reported.
    audited: bool,
    round_trips: Option<RoundTrips>,
    next: Instant,
    prev: Option<Sample>,
    last: Option<Sample>,
    /// When the frozen stretch began (the first of the unchanged samples).
    still_since: Option<Instant>,
    /// The threads waiting in futex at every sample lately.
    futex_waits: BTreeMap<(i32, i32), FutexWait>,
    /// Where the OOM killer stood when the scenario began (see [`Watch::watch_memory`]).
    oom: Option<OomMark>,
}

impl Watch {
    /// A watch for a scenario that started at `started` with deadline `timeout`.
    pub(crate) fn new(started: Instant, timeout: Duration, audit: &AuditRequest) -> Self {
        Watch {
            started,
            timeout,
            audited: !audit.syscalls.is_empty(),
            round_trips: audit.round_trips.clone(),
            next: started,
            prev: None,
            last: None,
            still_since: None,
            futex_waits: BTreeMap::new(),
            oom: None,
        }
    }

    /// Also stop the scenario as soon as the kernel's OOM killer has killed one of its
    /// processes since `mark`: the outcome is decided, and a guest short of memory only
    /// gets slower for every scenario.
    pub(crate) fn watch_memory(&mut self, mark: OomMark) {
        self.oom = Some(mark);
    }

    /// The OOM killer took one of the scenario's processes.
    fn out_of_memory(&self) -> bool {
        self.oom.is_some_and(|o| !o.victims().is_empty())
    }

    /// Samples when one is due; with `may_stop` (nothing but the students' processes can
    /// move the scenario on before its deadline), says whether to stop now: a deadlock
    /// that lasted [`STILL_FOR`], or round trips too slow to ever reach the deadline.
    pub(crate) fn observe(&mut self, sup: &Supervisor, may_stop: bool) -> bool {
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        self.next = now + EVERY;
        self.sample(sup);
        // More round trips than asked, or a process killed for memory, is decided whatever
        // comes next.
        self.overshoot()
            || self.out_of_memory()
            || may_stop
                && (self.still_since.is_some_and(|t| now - t >= STILL_FOR) || self.hopeless(now))
    }

    /// Clearly more round trips than the scenario asked for (see
    /// [`crate::protocol::overshoots`]): the program does not stop at its count.
    fn overshoot(&self) -> bool {
        self.round_trips_done()
            .is_some_and(|(done, needed)| crate::protocol::overshoots(done, needed))
    }

    /// Takes a sample now (at the deadline: one last look, unless one was just taken).
    pub(crate) fn sample(&mut self, sup: &Supervisor) {
        if self.last.as_ref().is_some_and(|l| l.at.elapsed() < MIN_GAP) {
            return;
        }
        self.push(Sample::take(
            &sup.descendants(),
            &sup.counts,
            sup.log.timers_armed,
        ));
    }

    /// Adds sample `s`: the frozen stretch and the futex waits go on or end with it.
    fn push(&mut self, s: Sample) {
        match &self.last {
            Some(last) if last.frozen_until(&s) => {
                self.still_since.get_or_insert(last.at);
            }
            _ => self.still_since = None,
        }
        let mut waits = std::mem::take(&mut self.futex_waits);
        self.futex_waits = s
            .tasks
            .iter()
            .filter(|(_, t)| t.in_futex_wait())
            .map(|(key, t)| {
                let w = match waits.remove(key) {
                    Some(w) => FutexWait {
                        looks: w.looks + 1,
                        ..w
                    },
                    None => FutexWait {
                        since: s.at,
                        switches: t.switches,
                        looks: 1,
                    },
                };
                (*key, w)
            })
            .collect();
        self.prev = self.last.replace(s);
    }

    /// The threads that waited in futex at the last [`STARVED_LOOKS`] samples or more,
    /// woken [`STARVED_WAKES`] times or more meanwhile, while some other thread moved
    /// between the last two samples.
    fn starved(&self) -> Vec<Starved> {
        let (Some(prev), Some(last)) = (&self.prev, &self.last) else {
            return Vec::new();
        };
        let woken = |key: &(i32, i32), w: &FutexWait| {
            last.tasks
                .get(key)
                .map_or(0, |t| t.switches.saturating_sub(w.switches))
        };
        let starved: BTreeMap<_, _> = self
            .futex_waits
            .iter()
            .filter(|(key, w)| w.looks >= STARVED_LOOKS && woken(key, w) >= STARVED_WAKES)
            .collect();
        let others_ran = last
            .tasks
            .iter()
            .any(|(key, t)| !starved.contains_key(key) && prev.tasks.get(key) != Some(t));
        if !others_ran {
            return Vec::new();
        }
        starved
            .into_iter()
            .map(|(key, w)| Starved {
                pid: key.0,
                comm: last.tasks[key].comm.clone(),
                woken: woken(key, w),
                for_ms: ms(last.at - w.since),
            })
            .collect()
    }

    /// Round trips done so far: the fewest of the declared calls, each divided by how
    /// many one round trip makes.
    fn round_trips_done(&self) -> Option<(u64, u64)> {
        let rt = self.round_trips.as_ref()?;
        let counts = &self.last.as_ref()?.counts;
        let done = rt
            .calls
            .iter()
            .map(|(name, per)| counts.get(name).copied().unwrap_or(0) / (*per).max(1))
            .min()?;
        Some((done, rt.count))
    }

    /// Moving, but at a pace that reaches less than half the round trips by the deadline.
    fn hopeless(&self, now: Instant) -> bool {
        let Some((done, needed)) = self.round_trips_done() else {
            return false;
        };
        let elapsed = (now - self.started).as_secs_f64();
        let total = self.timeout.as_secs_f64();
        if elapsed < total * SLOW_AFTER || !self.moving() {
            return false;
        }
        (done as f64) * total / elapsed < needed as f64 * SLOW_SHARE
    }

    /// The last two samples differ.
    fn moving(&self) -> bool {
        match (&self.prev, &self.last) {
            (Some(a), Some(b)) => a.moved_until(b),
            _ => false,
        }
    }

    /// What the samples say about the program's pace.
    pub(crate) fn pace(&self) -> Pace {
        let (Some(prev), Some(last)) = (&self.prev, &self.last) else {
            return Pace::Unknown;
        };
        if let Some(since) = self.still_since {
            return Pace::Deadlocked {
                unchanged_ms: ms(last.at - since),
            };
        }
        if !prev.moved_until(last) {
            return Pace::Unknown;
        }
        Pace::Progressing {
            elapsed_ms: ms(last.at - self.started),
            ipc_calls: self.audited.then(|| last.calls()),
            round_trips: self.round_trips_done(),
            switches: last.switches().saturating_sub(prev.switches()),
            interval_ms: ms(last.at - prev.at),
            starved: self.starved(),
        }
    }

    /// The early stop, as the report records it.
    pub(crate) fn early(&self, now: Instant) -> EarlyStop {
        EarlyStop {
            at_ms: ms(now - self.started),
            timeout_ms: ms(self.timeout),
        }
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::agent::tests::{job, process, run, sh};
    use crate::protocol::{Exit, HangReport};

    fn task(state: char, call: Option<(i64, Vec<u64>)>) -> Task {
        Task {
            state,
            syscall: call,
            switches: 4,
            cpu: 2,
            on_pipe: false,
            comm: "p".into(),
        }
    }

    fn sample(tasks: Vec<Task>, calls: u64) -> Sample {
        Sample {
            at: Instant::now(),
            tasks: tasks
                .into_iter()
                .enumerate()
                .map(|(i, t)| ((i as i32, i as i32), t))
                .collect(),
            counts: BTreeMap::from([("msgsnd".to_string(), calls)]),
            timers_armed: false,
        }
    }

    #[test]
    fn stat_and_status_counters_parse() {
        let line = "42 (a b) S 1 42 42 0 -1 4194560 90 0 0 0 7 5 0 0 20 0 1 0 100";
        let stat = procs::parse_stat(line).unwrap();
        assert_eq!((stat.state, stat.cpu_ticks), ('S', 12));
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(parse_switches(status), 13);
    }

    #[test]
    fn only_untimed_waits_on_other_processes_count_as_stuck() {
        let msgrcv = task('S', Some((nr::MSGRCV, vec![3, 0, 8, 0])));
        assert!(msgrcv.waits_on_others());
        // A semtimedop or futex with a timeout, a sleep, a running thread: time moves them.
        assert!(!task('S', Some((nr::SEMTIMEDOP, vec![3, 0, 1, 0x7ff0]))).waits_on_others());
        assert!(!task('S', Some((nr::FUTEX, vec![0x10, 0, 1, 0x7ff0]))).waits_on_others());
        assert!(task('S', Some((nr::FUTEX, vec![0x10, 0x80, 1, 0]))).waits_on_others());
        assert!(!task('S', Some((35, vec![0x7ff0, 0]))).waits_on_others());
        assert!(!task('R', Some((nr::MSGRCV, vec![3]))).waits_on_others());
        // read is stuck only on a pipe (a terminal, a socket… are not the students').
        assert!(!task('S', Some((nr::READ, vec![0]))).waits_on_others());
        let mut on_pipe = task('S', Some((nr::READ, vec![0])));
        on_pipe.on_pipe = true;
        assert!(on_pipe.waits_on_others());
    }

    #[test]
    fn frozen_needs_every_counter_unchanged_and_everyone_blocked() {
        let blocked = || task('S', Some((nr::MSGRCV, vec![3])));
        let waiting = || task('S', Some((nr::WAIT4, vec![u64::MAX])));
        let a = sample(vec![blocked(), waiting()], 7);
        assert!(a.frozen_until(&sample(vec![blocked(), waiting()], 7)));
        // One more audited call, one more context switch: progress.
        assert!(!a.frozen_until(&sample(vec![blocked(), waiting()], 8)));
        let mut switched = blocked();
        switched.switches += 1;
        let b = sample(vec![switched, waiting()], 7);
        assert!(!a.frozen_until(&b) && a.moved_until(&b));
        // Nobody moves, but one sleeps: time will wake it.
        let nap = || task('S', Some((35, vec![0])));
        let c = sample(vec![blocked(), nap()], 7);
        assert!(!c.frozen_until(&sample(vec![blocked(), nap()], 7)));
        assert!(!c.moved_until(&sample(vec![blocked(), nap()], 7)));
    }

    #[test]
    fn a_waiter_woken_again_and_again_while_the_other_runs_is_starved() {
        let t0 = Instant::now();
        let mut watch = Watch::new(t0, Duration::from_secs(24), &AuditRequest::default());
        let futex = |switches| Task {
            switches,
            ..task('S', Some((nr::FUTEX, vec![0x10, 0x89, 0, 0])))
        };
        let holder = |cpu| Task {
            cpu,
            ..task('S', Some((35, vec![0])))
        };
        // Pid 1 waits in futex at every look, woken 5 times a look; pid 2 keeps running.
        for i in 0..6u64 {
            let mut s = sample(vec![holder(i), futex(10 + 5 * i)], i);
            s.at = t0 + EVERY * i as u32;
            watch.push(s);
        }
        let Pace::Progressing { starved, .. } = watch.pace() else {
            panic!("{:?}", watch.pace());
        };
        assert_eq!(
            starved,
            vec![Starved {
                pid: 1,
                comm: "p".into(),
                woken: 25,
                for_ms: 2_500
            }]
        );
        // Never woken (it waits for a thread that never posts), or alone: not starvation.
        for (woken_by, holder_moves) in [(0, true), (5, false)] {
            let mut watch = Watch::new(t0, Duration::from_secs(24), &AuditRequest::default());
            for i in 0..6u64 {
                let cpu = if holder_moves { i } else { 0 };
                let mut s = sample(vec![holder(cpu), futex(10 + woken_by * i)], i);
                s.at = t0 + EVERY * i as u32;
                watch.push(s);
            }
            assert!(watch.starved().is_empty(), "{woken_by} {holder_moves}");
        }
    }

    fn hang_of(s: &crate::protocol::ScenarioResult) -> &HangReport {
        s.hang.as_ref().expect("a hang report")
    }

    #[test]
    fn a_true_deadlock_stops_early_and_says_so() {
        // cat reads a FIFO whose only writer is cat itself; sh waits for cat.
        let script = "mkfifo p; exec 3<>p; cat <&3; echo never";
        let s = run(&job(
            20_000,
            vec![sh("p", script)],
            Default::default(),
            None,
        ));
        let p = process(&s.steps[0]);
        assert_eq!(p.exit, Exit::Timeout);
        let hang = hang_of(&s);
        assert!(
            matches!(hang.pace, Pace::Deadlocked { unchanged_ms } if unchanged_ms >= 1000),
            "{hang:?}"
        );
        let early = hang.stopped_early.expect("stopped early");
        assert!(
            early.at_ms < 10_000 && early.timeout_ms == 20_000,
            "{early:?}"
        );
        assert!(s.duration_ms < 10_000, "{}", s.duration_ms);
    }

    #[test]
    fn a_sleeper_beside_a_blocked_reader_is_not_a_deadlock() {
        let s = run(&job(
            2_500,
            vec![sh("p", "sleep 30 | cat")],
            Default::default(),
            None,
        ));
        let hang = hang_of(&s);
        assert_eq!(hang.stopped_early, None);
        assert!(s.duration_ms >= 2_500, "{}", s.duration_ms);
        assert_eq!(hang.pace, Pace::Unknown);
    }

    #[test]
    fn a_slow_program_is_progressing_and_hopeless_round_trips_stop_early() {
        let audit = AuditRequest {
            syscalls: vec!["write".into()],
            ..Default::default()
        };
        let slow = "while :; do echo x; sleep 0.2; done";
        let s = run(&job(2_500, vec![sh("p", slow)], audit.clone(), None));
        let hang = hang_of(&s);
        assert_eq!(
            hang.stopped_early, None,
            "no round trips declared: to the deadline"
        );
        assert!(
            matches!(hang.pace, Pace::Progressing { ipc_calls: Some(n), .. } if n > 0),
            "{hang:?}"
        );
        let audit = AuditRequest {
            round_trips: Some(RoundTrips {
                count: 1_000,
                calls: BTreeMap::from([("write".into(), 1)]),
            }),
            ..audit
        };
        let s = run(&job(8_000, vec![sh("p", slow)], audit, None));
        let hang = hang_of(&s);
        let early = hang.stopped_early.expect("hopelessly slow: stopped early");
        assert!(early.at_ms < 6_000, "{early:?}");
        assert!(
            matches!(hang.pace, Pace::Progressing { round_trips: Some((n, 1_000)), .. } if n > 0),
            "{hang:?}"
        );
    }
}
