//! Reading processes from `/proc`: parent links, process groups, descriptors, and what
//! each process is waiting on in the kernel.

use std::collections::HashSet;
use std::fs;

/// One line of `/proc/PID/stat`, the fields the agent needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Process group id.
    pub pgid: i32,
    /// `comm` (the executable's name, 15 bytes at most).
    pub comm: String,
    /// State letter (`R`, `S`, `D`, `Z`, `T`…).
    pub state: char,
    /// CPU used so far, utime + stime, in clock ticks.
    pub cpu_ticks: u64,
}

impl ProcStat {
    /// Whether the process still runs code (zombies only wait to be reaped).
    pub fn is_live(&self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// Parses a `/proc/PID/stat` line. `comm` may hold spaces and parentheses, so the fields
/// after it are found from the *last* `)`.
pub(crate) fn parse_stat(line: &str) -> Option<ProcStat> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let pid = line[..open].trim().parse().ok()?;
    let comm = line.get(open + 1..close)?.to_string();
    let mut rest = line.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgid = rest.next()?.parse().ok()?;
    // Fields 14 and 15 (utime, stime): eight fields after the process group.
    let mut rest = rest.skip(8);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        ppid,
        pgid,
        comm,
        state,
        cpu_ticks: utime + stime,
    })
}

/// The stat of one process, `None` if it is gone.
pub(crate) fn stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process visible now (processes that vanish mid-walk are skipped).
pub(crate) fn all() -> Vec<ProcStat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// Every process descending from `root` (`root` excluded, zombies included), sorted by
/// pid, found by following the kernel's child lists (`/proc/PID/task/TID/children`) down
/// from it: a few reads per student process instead of one per process of the machine,
/// kernel threads included, which in an emulated guest is the difference between a
/// tenth of a millisecond and seven. `None` where the kernel keeps no child lists
/// (`CONFIG_PROC_CHILDREN` off): then [`all`] and [`subtree`] do it.
pub(crate) fn descendants(root: i32) -> Option<Vec<ProcStat>> {
    let mut queue = children(root)?;
    let mut seen: HashSet<i32> = HashSet::new();
    let mut found = Vec::new();
    while let Some(pid) = queue.pop() {
        if !seen.insert(pid) {
            continue;
        }
        // Gone since its parent listed it: its children went to the reaper, whose list
        // the next walk reads.
        let Some(p) = stat(pid) else { continue };
        queue.extend(children(pid).unwrap_or_default());
        found.push(p);
    }
    found.sort_by_key(|p| p.pid);
    Some(found)
}

/// The children of every thread of `pid`; `None` if its task list or every child list
/// could not be read.
fn children(pid: i32) -> Option<Vec<i32>> {
    let mut kids = Vec::new();
    let mut read_any = false;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        if let Ok(text) = fs::read_to_string(task.path().join("children")) {
            read_any = true;
            kids.extend(
                text.split_whitespace()
                    .filter_map(|s| s.parse::<i32>().ok()),
            );
        }
    }
    read_any.then_some(kids)
}

/// The processes of `procs` that descend from a root (roots included), found by
/// following parent links down from the roots.
pub(crate) fn subtree(procs: &[ProcStat], is_root: impl Fn(&ProcStat) -> bool) -> Vec<ProcStat> {
    let mut inside: HashSet<i32> = procs.iter().filter(|p| is_root(p)).map(|p| p.pid).collect();
    loop {
        let before = inside.len();
        for p in procs {
            if inside.contains(&p.ppid) {
                inside.insert(p.pid);
            }
        }
        if inside.len() == before {
            break;
        }
    }
    procs
        .iter()
        .filter(|p| inside.contains(&p.pid))
        .cloned()
        .collect()
}

/// The uid owning process `pid` (its `/proc` entry's owner).
pub(crate) fn uid(pid: i32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid())
}

/// How many processes run as `uid` now (what RLIMIT_NPROC compares with).
pub(crate) fn count_of_uid(uid: u32) -> u64 {
    let Ok(dir) = fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| self::uid(pid) == Some(uid))
        .count() as u64
}

/// The kernel function a process sleeps in (`/proc/PID/wchan`), empty if unknown.
pub(crate) fn wchan(pid: i32) -> String {
    match fs::read_to_string(format!("/proc/{pid}/wchan")) {
        Ok(w) if w.trim() != "0" => w.trim().to_string(),
        _ => String::new(),
    }
}

/// Open descriptors of a process: `(fd, symlink target)`, sorted by fd.
pub(crate) fn fds(pid: i32) -> Vec<(i32, String)> {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut fds: Vec<(i32, String)> = dir
        .filter_map(|e| {
            let e = e.ok()?;
            let fd = e.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(e.path()).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    fds.sort();
    fds
}

/// The access mode (`O_RDONLY`, `O_WRONLY` or `O_RDWR`) a descriptor was opened with,
/// from the octal `flags` line of `/proc/PID/fdinfo/FD`.
pub(crate) fn fd_access(pid: i32, fd: i32) -> Option<i32> {
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?.trim();
    let flags = i32::from_str_radix(flags, 8).ok()?;
    Some(flags & libc::O_ACCMODE)
}

/// The system call a process is blocked in and its arguments, from `/proc/PID/syscall`
/// (`None` when it runs in user space, is not in a call, or the file is unreadable).
pub(crate) fn current_syscall(pid: i32) -> Option<(i64, Vec<u64>)> {
    parse_syscall(&fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?)
}

/// Parses `NR ARG1 … ARG6 SP PC` (the number in decimal, the rest in hex).
pub(crate) fn parse_syscall(line: &str) -> Option<(i64, Vec<u64>)> {
    let mut words = line.split_whitespace();
    let nr: i64 = words.next()?.parse().ok()?;
    if nr < 0 {
        return None;
    }
    let args = words
        .take(6)
        .filter_map(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).ok())
        .collect();
    Some((nr, args))
}

/// How many threads this process has: the agent owns all of its children only when it
/// is alone (the binary), not inside a multi-threaded test harness.
pub(crate) fn own_thread_count() -> usize {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_lists_find_the_same_tree_as_a_full_scan() {
        // A child that forks a grandchild, both sleeping while the two walks run.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let scan = || subtree(&all(), |p| p.ppid == me);
        while scan().len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let by_scan: Vec<i32> = scan().iter().map(|p| p.pid).collect();
        match descendants(me) {
            // Other test threads may have children of their own: ours must be there.
            Some(walked) => {
                let walked: Vec<i32> = walked.iter().map(|p| p.pid).collect();
                // The child and the grandchild the scan found under it.
                let sh = child.id() as i32;
                let ours = scan();
                let grandchildren = ours.iter().filter(|p| p.ppid == sh).map(|p| p.pid);
                for pid in std::iter::once(sh).chain(grandchildren) {
                    assert!(
                        walked.contains(&pid),
                        "{walked:?} lacks {pid} ({by_scan:?})"
                    );
                }
                assert!(
                    walked.windows(2).all(|w| w[0] < w[1]),
                    "not sorted: {walked:?}"
                );
            }
            // No child lists on this kernel: the scan is what the agent uses.
            None => assert!(by_scan.contains(&(child.id() as i32))),
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn stat_line_with_tricky_comm_parses() {
        let p = parse_stat("42 (a) b (c)) S 7 42 42 0 -1 4194560 90 0 0 0 7 5").unwrap();
        assert_eq!(p.pid, 42);
        assert_eq!(p.comm, "a) b (c)");
        assert_eq!((p.state, p.ppid, p.pgid), ('S', 7, 42));
        assert_eq!(p.cpu_ticks, 12, "utime 7 + stime 5");
    }

    #[test]
    fn syscall_line_parses_number_and_hex_args() {
        let (nr, args) = parse_syscall("0 0x4 0x7ffd1 0x2000 0x0 0x0 0x0 0x7ffd 0x7f12").unwrap();
        assert_eq!(nr, 0);
        assert_eq!(args, vec![4, 0x7ffd1, 0x2000, 0, 0, 0]);
        assert_eq!(parse_syscall("running"), None);
        assert_eq!(parse_syscall("-1 0x7ffd 0x7f12"), None);
    }

    #[test]
    fn subtree_follows_parent_links_only_down_from_roots() {
        let p = |pid, ppid| ProcStat {
            pid,
            ppid,
            pgid: pid,
            comm: String::new(),
            state: 'S',
            cpu_ticks: 0,
        };
        let procs = [p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(20, 1)];
        let tree: Vec<i32> = subtree(&procs, |p| p.pid == 10)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(tree, vec![10, 11, 12]);
    }

    #[test]
    fn own_process_is_readable() {
        let me = stat(std::process::id() as i32).unwrap();
        assert!(me.is_live());
        assert!(fds(me.pid)
            .iter()
            .any(|(fd, _)| *fd == 0 || *fd == 1 || *fd == 2));
        assert!(own_thread_count() >= 1);
    }
}
