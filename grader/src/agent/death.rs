//! True causes of death: who sent the signal that ended a student process (the agent sees
//! every `kill`/`tkill`/`tgkill` of the student's tree through its seccomp listener, and
//! records the signals it sends itself), and which resource limit a process ran into.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::protocol::{Death, LimitHit, LimitKind, Limits, OpenAtExit};

use super::procs;

/// The x86_64 numbers of the calls the agent always watches: those that send a signal
/// to a process or a group, and those that make a process (for the process limit).
pub(crate) const WATCHED_CALLS: [i64; 13] = [
    KILL,
    TKILL,
    TGKILL,
    CLONE,
    FORK,
    VFORK,
    CLONE3,
    RT_SIGQUEUEINFO,
    RT_TGSIGQUEUEINFO,
    PIDFD_SEND_SIGNAL,
    ALARM,
    SETITIMER,
    TIMER_SETTIME,
];
const KILL: i64 = 62;
const TKILL: i64 = 200;
const TGKILL: i64 = 234;
const CLONE: i64 = 56;
const FORK: i64 = 57;
const VFORK: i64 = 58;
const CLONE3: i64 = 435;
const RT_SIGQUEUEINFO: i64 = 129;
const RT_TGSIGQUEUEINFO: i64 = 297;
const PIDFD_SEND_SIGNAL: i64 = 424;
const ALARM: i64 = 37;
const SETITIMER: i64 = 38;
const TIMER_SETTIME: i64 = 223;
/// `exit_group`, watched when the scenario audits the descriptors left open at exit.
pub(crate) const EXIT_GROUP: i64 = 231;

/// Whom a signal was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// One process (or thread).
    Pid(i32),
    /// A process group.
    Group(i32),
    /// Every process the sender may signal (`kill(-1, …)`).
    All,
}

/// A student process that sent a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sender {
    pub pid: i32,
    pub ppid: i32,
    pub comm: String,
}

/// One signal sent during the scenario; `sender` is `None` for the agent's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentSignal {
    pub sender: Option<Sender>,
    pub target: Target,
    pub signal: i32,
}

/// The signal a `kill`-family call sends, from its number and arguments (`None` for
/// other calls and for signal 0, which only probes). `pgid` is the caller's group.
pub(crate) fn decode_call(nr: i64, args: &[u64; 6], pgid: i32) -> Option<(Target, i32)> {
    let (target, signal) = match nr {
        KILL => {
            let pid = args[0] as i32;
            let t = match pid {
                0 => Target::Group(pgid),
                -1 => Target::All,
                p if p < 0 => Target::Group(-p),
                p => Target::Pid(p),
            };
            (t, args[1] as i32)
        }
        TKILL => (Target::Pid(args[0] as i32), args[1] as i32),
        TGKILL => (Target::Pid(args[1] as i32), args[2] as i32),
        _ => return None,
    };
    (signal != 0).then_some((target, signal))
}

/// What the agent learns from the watched calls during one scenario.
#[derive(Debug, Default)]
pub(crate) struct Log {
    /// Every signal sent, by a student process or by the agent itself, in order.
    pub signals: Vec<SentSignal>,
    /// RLIMIT_NPROC of the student's processes (0: not watched).
    pub nproc: u64,
    /// Process-making calls seen so far.
    pub forks: u64,
    /// A student process armed a timer (`alarm`, `setitimer`, `timer_settime`): one of
    /// them waiting for a signal may get one.
    pub timers_armed: bool,
    /// The first fork made with the student's uid already at the process limit (it
    /// fails with EAGAIN): `comm (pid N)` and the number of processes then.
    pub fork_at_limit: Option<(String, u64)>,
    /// Processes that exited with descriptors beyond 0–2 open (`None`: not audited).
    pub open_at_exit: Option<Vec<OpenAtExit>>,
    /// The submission's programs' directory: only their processes' descriptors are
    /// audited (a system `tac` keeps its own temporary file open, not the student's).
    pub bin_dir: std::path::PathBuf,
    /// RLIMIT_AS of the student's processes, in bytes (0: not watched).
    pub address_space: u64,
    /// Processes that exited with their peak address space at RLIMIT_AS (within
    /// [`AS_MARGIN`]): `(pid, comm, peak KiB)`.
    pub at_address_limit: Vec<(i32, String, u64)>,
}

/// How close to RLIMIT_AS a process's peak address space must come to count as having
/// hit it (the allocation that failed was at most this large, or the next page).
const AS_MARGIN: u64 = 16 << 20;

impl Log {
    /// Records a notified call; `pid` is the caller.
    pub(crate) fn record_call(&mut self, pid: i32, nr: i64, args: &[u64; 6]) {
        if [CLONE, FORK, VFORK, CLONE3].contains(&nr) {
            self.record_fork(pid);
            return;
        }
        if nr == EXIT_GROUP {
            self.record_exit(pid);
            return;
        }
        if [ALARM, SETITIMER, TIMER_SETTIME].contains(&nr) {
            // alarm(0) only cancels; any other arming may deliver a signal later.
            self.timers_armed |= !(nr == ALARM && args[0] == 0);
            return;
        }
        if !WATCHED_CALLS.contains(&nr) {
            return;
        }
        // The caller is blocked in the call while we look: its /proc entry is there.
        let Some(st) = procs::stat(pid) else { return };
        if let Some((target, signal)) = decode_call(nr, args, st.pgid) {
            self.signals.push(SentSignal {
                sender: Some(Sender {
                    pid,
                    ppid: st.ppid,
                    comm: st.comm,
                }),
                target,
                signal,
            });
        }
    }

    /// What a process leaves as it exits: its peak address space (at RLIMIT_AS, its
    /// allocations failed), the descriptors it still holds (the kernel closes them next).
    fn record_exit(&mut self, pid: i32) {
        if self.address_space > AS_MARGIN {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let peak_kib = status_kib(&status, "VmPeak:");
            if peak_kib << 10 >= self.address_space - AS_MARGIN {
                let comm = procs::stat(pid).map(|s| s.comm).unwrap_or_default();
                self.at_address_limit.push((pid, comm, peak_kib));
            }
        }
        let Some(list) = self.open_at_exit.as_mut() else {
            return;
        };
        let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        if !exe.starts_with(&self.bin_dir) {
            return;
        }
        let fds: Vec<(i32, String)> = procs::fds(pid)
            .into_iter()
            .filter(|(fd, _)| *fd > 2)
            .collect();
        if fds.is_empty() {
            return;
        }
        let comm = procs::stat(pid).map(|s| s.comm).unwrap_or_default();
        list.push(OpenAtExit { pid, comm, fds });
    }

    /// A fork with `nproc` processes of the caller's uid already running fails with
    /// EAGAIN. The processes are counted only once enough forks were made to get there.
    fn record_fork(&mut self, pid: i32) {
        self.forks += 1;
        if self.nproc == 0 || self.fork_at_limit.is_some() || self.forks + 1 < self.nproc {
            return;
        }
        let Some(uid) = procs::uid(pid) else { return };
        let count = procs::count_of_uid(uid);
        if count >= self.nproc {
            let comm = procs::stat(pid).map(|s| s.comm).unwrap_or_default();
            self.fork_at_limit = Some((format!("`{comm}` (pid {pid})"), count));
        }
    }
}

/// Who killed process `pid` (leader of group `pgid`) with `signal`: the last matching
/// send, else the OOM killer when it fired during the scenario, else the kernel.
pub(crate) fn cause(
    sent: &[SentSignal],
    pid: i32,
    pgid: i32,
    signal: i32,
    oom_fired: bool,
) -> Death {
    let hit = sent.iter().rev().find(|s| {
        s.signal == signal
            && match s.target {
                Target::Pid(p) => p == pid,
                Target::Group(g) => g == pgid,
                Target::All => true,
            }
    });
    match hit {
        Some(SentSignal { sender: None, .. }) => Death::Grader,
        Some(SentSignal {
            sender: Some(s), ..
        }) if s.pid == pid => Death::Itself,
        Some(SentSignal {
            sender: Some(s), ..
        }) => Death::Process {
            pid: s.pid,
            comm: s.comm.clone(),
            child: s.ppid == pid,
        },
        None if signal == libc::SIGKILL && oom_fired => Death::OutOfMemory,
        None => Death::Kernel,
    }
}

/// A `Name:   1234 kB` field of a /proc status file, in KiB (0 when absent).
fn status_kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The machine's memory (`MemTotal`), in bytes.
pub(crate) fn mem_total_bytes() -> u64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    status_kib(&text, "MemTotal:") << 10
}

/// The kernel's clock as its log stamps records: µs since boot (CLOCK_MONOTONIC).
pub(crate) fn kernel_clock_us() -> u64 {
    // SAFETY: timespec is plain data filled by clock_gettime.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000 + t.tv_nsec as u64 / 1000
}

/// A process the kernel's OOM killer killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OomVictim {
    pub pid: i32,
    pub comm: String,
    /// Its resident anonymous memory when killed, KiB.
    pub rss_kib: u64,
}

/// The OOM killer's victims since `since_us` (the kernel's clock), of `uid` when given,
/// from the kernel's log (`/dev/kmsg`; readable in the guest, where the agent is root).
pub(crate) fn oom_victims(since_us: u64, uid: Option<u32>) -> Vec<OomVictim> {
    use std::io::Read;
    let Ok(mut f) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 8192];
    // One record per read; EAGAIN at the end of the buffer.
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        let rec = String::from_utf8_lossy(&buf[..n]);
        if let Some(v) = parse_oom_record(&rec, since_us, uid) {
            out.push(v);
        }
    }
    out
}

/// One `/dev/kmsg` record `PRIO,SEQ,USEC,FLAGS;Out of memory: Killed process PID (COMM)
/// total-vm:…kB, anon-rss:NkB, … UID:U …`, when it is a kill at or after `since_us` of
/// `uid`.
fn parse_oom_record(rec: &str, since_us: u64, uid: Option<u32>) -> Option<OomVictim> {
    let (head, text) = rec.split_once(';')?;
    let usec: u64 = head.split(',').nth(2)?.parse().ok()?;
    let rest = text.split_once("Killed process ")?.1;
    if usec < since_us {
        return None;
    }
    let (pid, rest) = rest.split_once(' ')?;
    let comm = rest.strip_prefix('(')?.split_once(')')?.0;
    let field = |name: &str| {
        rest.split_once(name).and_then(|(_, v)| {
            v.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
    };
    if let (Some(want), Some(got)) = (uid, field("UID:")) {
        if u64::from(want) != got {
            return None;
        }
    }
    Some(OomVictim {
        pid: pid.parse().ok()?,
        comm: comm.to_string(),
        rss_kib: field("anon-rss:").unwrap_or(0),
    })
}

/// Where the kernel's OOM killer stood when a scenario began: its kill count and clock,
/// and the uid the scenario's programs run as.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OomMark {
    kills: u64,
    kernel_us: u64,
    uid: Option<u32>,
}

impl OomMark {
    /// The mark now, for processes of `uid` (any uid when `None`).
    pub(crate) fn now(uid: Option<u32>) -> OomMark {
        OomMark {
            kills: oom_kills(),
            kernel_us: kernel_clock_us(),
            uid,
        }
    }

    /// The OOM killer killed some process since (whoever's: a cheap counter).
    pub(crate) fn killed_since(&self) -> bool {
        oom_kills() > self.kills
    }

    /// Its victims of the mark's uid since (the kernel's log, read only when the counter
    /// moved).
    pub(crate) fn victims(&self) -> Vec<OomVictim> {
        if self.killed_since() {
            oom_victims(self.kernel_us, self.uid)
        } else {
            Vec::new()
        }
    }
}

/// How many processes the OOM killer has killed since boot (`oom_kill` in /proc/vmstat).
pub(crate) fn oom_kills() -> u64 {
    let text = fs::read_to_string("/proc/vmstat").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// What one ended process's observations tell about the limits it ran into.
pub(crate) struct Ended<'a> {
    /// How it ended: `Some(signal)` for a death by signal.
    pub signal: Option<i32>,
    /// Its exit status was a failure (non-zero, or a signal).
    pub failed: bool,
    /// CPU time it used (user + system), in ms.
    pub cpu_ms: u64,
    /// Bytes it wrote to stdout and stderr (the capture files' sizes).
    pub stdout_bytes: u64,
    /// See `stdout_bytes`.
    pub stderr_bytes: u64,
    /// Its working directory, where it writes its files.
    pub cwd: &'a Path,
}

/// The limits a process ran into, each naming its value and what hit it.
pub(crate) fn limits_hit(e: &Ended, lim: &Limits) -> Vec<LimitHit> {
    let mut hits = Vec::new();
    let cap = lim.output_cap_bytes;
    for (name, bytes) in [("stdout", e.stdout_bytes), ("stderr", e.stderr_bytes)] {
        if bytes > cap {
            hits.push(LimitHit {
                limit: LimitKind::OutputCap,
                value: cap,
                what: format!("{name} ({bytes} bytes)"),
            });
        }
    }
    if e.signal == Some(libc::SIGXFSZ) || e.failed {
        hits.extend(file_size_hits(e, lim.fsize_bytes));
    }
    let cpu_limit_ms = lim.cpu_seconds.saturating_mul(1000);
    let cpu_kill = e.signal == Some(libc::SIGKILL) && e.cpu_ms + 50 >= cpu_limit_ms;
    if e.signal == Some(libc::SIGXCPU) || cpu_kill {
        hits.push(LimitHit {
            limit: LimitKind::CpuTime,
            value: lim.cpu_seconds,
            what: format!("{:.1} s of CPU", e.cpu_ms as f64 / 1000.0),
        });
    }
    if e.failed {
        hits.extend(disk_full(e.cwd));
    }
    hits
}

fn file_size_hits(e: &Ended, fsize: u64) -> Vec<LimitHit> {
    let hit = |what: String| LimitHit {
        limit: LimitKind::FileSize,
        value: fsize,
        what,
    };
    let mut hits: Vec<LimitHit> = [("stdout", e.stdout_bytes), ("stderr", e.stderr_bytes)]
        .into_iter()
        .filter(|&(_, b)| b >= fsize)
        .map(|(name, b)| hit(format!("its {name} ({b} bytes)")))
        .collect();
    let mut big = Vec::new();
    large_files(e.cwd, e.cwd, fsize, 0, &mut big);
    hits.extend(
        big.into_iter()
            .map(|(p, b)| hit(format!("`{p}` ({b} bytes)"))),
    );
    hits
}

/// Regular files of at least `min` bytes under `dir` (a few levels), relative to `root`.
fn large_files(root: &Path, dir: &Path, min: u64, depth: u32, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        let path = e.path();
        if meta.is_dir() && depth < 3 {
            large_files(root, &path, min, depth + 1, out);
        } else if meta.is_file() && meta.len() >= min {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push((rel.display().to_string(), meta.len()));
        }
    }
    out.sort();
}

/// A full filesystem under `cwd`: its size, and its largest file as the likely culprit.
fn disk_full(cwd: &Path) -> Option<LimitHit> {
    let c = std::ffi::CString::new(cwd.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs fills one plain struct from a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `c` lives for the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let block = st.f_frsize.max(1);
    // "Full": under 1 % or 64 KiB left, whichever is larger.
    let left = st.f_bavail * block;
    let total = st.f_blocks * block;
    if total == 0 || left > (total / 100).max(64 << 10) {
        return None;
    }
    let mut files = Vec::new();
    large_files(cwd, cwd, total / 16, 0, &mut files);
    let what = match files.iter().max_by_key(|(_, b)| *b) {
        Some((p, b)) => format!("`{p}` ({b} bytes)"),
        None => "the working directory".to_string(),
    };
    Some(LimitHit {
        limit: LimitKind::DiskFull,
        value: total,
        what,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(sender: Option<(i32, i32)>, target: Target, signal: i32) -> SentSignal {
        SentSignal {
            sender: sender.map(|(pid, ppid)| Sender {
                pid,
                ppid,
                comm: "msgq".into(),
            }),
            target,
            signal,
        }
    }

    #[test]
    fn kill_family_calls_decode_their_target() {
        let a = |x: &[u64]| {
            let mut v = [0u64; 6];
            v[..x.len()].copy_from_slice(x);
            v
        };
        assert_eq!(decode_call(KILL, &a(&[7, 9]), 5), Some((Target::Pid(7), 9)));
        assert_eq!(
            decode_call(KILL, &a(&[0, 15]), 5),
            Some((Target::Group(5), 15))
        );
        let minus = |n: i32| n as i64 as u64;
        assert_eq!(
            decode_call(KILL, &a(&[minus(-8), 15]), 5),
            Some((Target::Group(8), 15))
        );
        assert_eq!(
            decode_call(KILL, &a(&[minus(-1), 9]), 5),
            Some((Target::All, 9))
        );
        assert_eq!(decode_call(KILL, &a(&[7, 0]), 5), None);
        assert_eq!(
            decode_call(TGKILL, &a(&[7, 7, 6]), 5),
            Some((Target::Pid(7), 6))
        );
        assert_eq!(
            decode_call(TKILL, &a(&[7, 6]), 5),
            Some((Target::Pid(7), 6))
        );
        assert_eq!(decode_call(39, &a(&[7, 6]), 5), None);
    }

    #[test]
    fn oom_records_name_the_victim_of_the_scenarios_uid() {
        let rec = "3,812,5000000,-;Out of memory: Killed process 123 (msgq) total-vm:204800kB, anon-rss:184320kB, file-rss:4kB, shmem-rss:0kB, UID:1001 pgtables:400kB oom_score_adj:0\n";
        let v = parse_oom_record(rec, 4_000_000, Some(1001)).unwrap();
        assert_eq!(
            v,
            OomVictim {
                pid: 123,
                comm: "msgq".into(),
                rss_kib: 184320
            }
        );
        assert_eq!(
            parse_oom_record(rec, 6_000_000, Some(1001)),
            None,
            "before the start"
        );
        assert_eq!(
            parse_oom_record(rec, 0, Some(1000)),
            None,
            "another scenario's"
        );
        assert_eq!(parse_oom_record("6,1,2,-;eth0: link up\n", 0, None), None);
    }

    #[test]
    fn the_last_matching_sender_is_the_cause() {
        let log = [
            sent(None, Target::Group(10), 15),
            sent(Some((11, 10)), Target::Pid(10), 9),
            sent(Some((12, 1)), Target::Pid(99), 9),
        ];
        assert_eq!(
            cause(&log, 10, 10, 9, false),
            Death::Process {
                pid: 11,
                comm: "msgq".into(),
                child: true
            }
        );
        assert_eq!(cause(&log, 10, 10, 15, false), Death::Grader);
        assert_eq!(cause(&log, 10, 10, 11, false), Death::Kernel);
        assert_eq!(cause(&[], 10, 10, 9, true), Death::OutOfMemory);
        let own = [sent(Some((10, 1)), Target::Pid(10), 6)];
        assert_eq!(cause(&own, 10, 10, 6, false), Death::Itself);
    }

    #[test]
    fn limits_name_the_file_and_the_stream_that_hit_them() {
        let dir = std::env::temp_dir().join(format!("death-{}", std::process::id()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("sub/big.dat"), vec![0u8; 4096]).unwrap();
        fs::write(dir.join("small"), b"x").unwrap();
        let lim = Limits {
            fsize_bytes: 4096,
            output_cap_bytes: 100,
            cpu_seconds: 1,
            ..Limits::default()
        };
        let e = Ended {
            signal: Some(libc::SIGXFSZ),
            failed: true,
            cpu_ms: 10,
            stdout_bytes: 200,
            stderr_bytes: 0,
            cwd: &dir,
        };
        let hits = limits_hit(&e, &lim);
        let _ = fs::remove_dir_all(&dir);
        let kinds: Vec<(LimitKind, &str)> =
            hits.iter().map(|h| (h.limit, h.what.as_str())).collect();
        assert!(
            kinds.contains(&(LimitKind::OutputCap, "stdout (200 bytes)")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(LimitKind::FileSize, "`sub/big.dat` (4096 bytes)")),
            "{kinds:?}"
        );
        assert!(!kinds.iter().any(|(k, _)| *k == LimitKind::CpuTime));
        let cpu = Ended {
            signal: Some(libc::SIGKILL),
            failed: true,
            cpu_ms: 1000,
            stdout_bytes: 0,
            stderr_bytes: 0,
            cwd: Path::new("/nonexistent"),
        };
        assert_eq!(limits_hit(&cpu, &lim)[0].limit, LimitKind::CpuTime);
    }
}
