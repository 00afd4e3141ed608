//! Several scenarios at once: the agent forks one worker per scenario, at most
//! `job.parallel` at a time. A worker has a mount and an IPC namespace of its own (fresh
//! `/dev/mqueue` and `/dev/shm`), is the subreaper of its students' processes, and runs
//! them as a uid of its own (`run_as` + its slot), so that no scenario can signal another's
//! processes or count against its process limit. A scenario that measures a pace (round
//! trips) runs with no other. Each worker sends its [`ScenarioResult`] back through a
//! pipe; the agent emits results as they come (the host puts them back in order).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::protocol::{AgentEvent, Job, ScenarioResult};

use super::{death, emit, memcg, ns, scenario, AgentError};

/// A worker past its scenario's deadline by this much is stuck (an agent fault): killed.
const WORKER_GRACE: Duration = Duration::from_secs(20);
/// How long the agent sleeps in `poll` between looks at its workers.
const POLL: Duration = Duration::from_millis(50);

/// A running worker.
#[derive(Debug)]
struct Worker {
    pid: i32,
    /// The read end of its result pipe (non-blocking).
    pipe: Option<OwnedFd>,
    /// The JSON read so far.
    bytes: Vec<u8>,
    /// Index of its scenario in the job.
    scenario: usize,
    slot: u32,
    started: Instant,
    /// Its wait status, once reaped.
    status: Option<i32>,
}

/// The order scenarios start in: those that may share the guest first, the longest
/// deadline first (the longest runs start early, so the run ends sooner), then the ones
/// that must run alone, in spec order.
fn schedule(job: &Job) -> VecDeque<usize> {
    let mut shared: Vec<usize> = (0..job.scenarios.len())
        .filter(|&i| !job.scenarios[i].alone)
        .collect();
    shared.sort_by_key(|&i| std::cmp::Reverse(job.scenarios[i].timeout_ms));
    let alone = (0..job.scenarios.len()).filter(|&i| job.scenarios[i].alone);
    shared.into_iter().chain(alone).collect()
}

/// Runs every scenario of `job` in workers, `job.parallel` at most at once, emitting each
/// result as its worker ends.
pub(super) fn run_all(job: &Job, out: &mut dyn Write) -> Result<(), AgentError> {
    let mut queue = schedule(job);
    let mut running: Vec<Worker> = Vec::new();
    let slots = job.parallel.max(1);
    loop {
        while let Some(&next) = queue.front() {
            let alone = job.scenarios[next].alone;
            let busy_alone = running.iter().any(|w| job.scenarios[w.scenario].alone);
            let full = running.len() as u32 >= slots;
            if full || busy_alone || (alone && !running.is_empty()) {
                break;
            }
            queue.pop_front();
            let slot = (0..slots)
                .find(|s| running.iter().all(|w| w.slot != *s))
                .unwrap_or(0);
            match spawn(job, next, slot) {
                Ok(w) => running.push(w),
                Err(e) => emit(
                    out,
                    &failed(job, next, &format!("failed to fork its worker: {e}")),
                )?,
            }
        }
        if running.is_empty() {
            return Ok(());
        }
        wait_some(&mut running);
        for w in take_finished(&mut running) {
            emit(out, &AgentEvent::Scenario(Box::new(result_of(job, w))))?;
        }
        for w in &running {
            let deadline = Duration::from_millis(job.scenarios[w.scenario].timeout_ms);
            if w.started.elapsed() > deadline + WORKER_GRACE {
                // SAFETY: kill takes plain integers; `w.pid` is our own child.
                unsafe { libc::kill(w.pid, libc::SIGKILL) };
            }
        }
    }
}

/// Forks the worker of scenario `idx` in `slot`.
fn spawn(job: &Job, idx: usize, slot: u32) -> io::Result<Worker> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptors were just created and are owned here only.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the agent is single-threaded when it runs workers (checked by the caller),
    // so the child may allocate and run ordinary code; it leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        drop(r);
        worker(job, idx, slot, w);
    }
    drop(w);
    // SAFETY: fcntl on a descriptor we own.
    unsafe { libc::fcntl(r.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    Ok(Worker {
        pid,
        pipe: Some(r),
        bytes: Vec::new(),
        scenario: idx,
        slot,
        started: Instant::now(),
        status: None,
    })
}

/// The worker's life: its namespaces, its scenario, its result down the pipe.
fn worker(job: &Job, idx: usize, slot: u32, pipe: OwnedFd) -> ! {
    let mut own = job.clone();
    own.run_as = job.run_as.map(|(uid, gid)| (uid + slot, gid + slot));
    let spec = &own.scenarios[idx];
    pin(slot);
    // A scenario that runs alone may use what the others would have had.
    let sharing = if spec.alone { 1 } else { job.parallel };
    if let Err(e) = memcg::use_slot(slot, memcg::share(death::mem_total_bytes(), sharing)) {
        eprintln!(
            "grader-agent: no memory cgroup for scenario {}: {e}",
            spec.name
        );
    }
    let result = match ns::worker_setup() {
        Ok(()) => scenario::run(&own, spec),
        Err(e) => ScenarioResult {
            name: spec.name.clone(),
            error: Some(crate::errors::error_chain(&e)),
            ..Default::default()
        },
    };
    let bytes = serde_json::to_vec(&result).unwrap_or_default();
    let mut file = std::fs::File::from(pipe);
    let code = i32::from(file.write_all(&bytes).is_err());
    drop(file);
    // SAFETY: _exit ends the forked worker without running the agent's destructors.
    unsafe { libc::_exit(code) }
}

/// Keeps the worker and its students' processes on one CPU (slot modulo the CPUs): the
/// processes of one scenario wake each other constantly (a pingpong, a pipe), and under
/// emulation a wake-up across CPUs costs far more than a switch on one.
fn pin(slot: u32) {
    // SAFETY: sysconf takes a plain constant.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u32;
    // SAFETY: cpu_set_t is plain data; CPU_SET writes inside it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above, the index is below the number of CPUs online.
    unsafe { libc::CPU_SET((slot % cpus) as usize, &mut set) };
    // SAFETY: sched_setaffinity reads one cpu_set_t of the given size.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
}

/// Sleeps until a worker has output or ends (or [`POLL`] passes), then reads and reaps.
fn wait_some(running: &mut [Worker]) {
    let mut fds: Vec<libc::pollfd> = running
        .iter()
        .filter_map(|w| w.pipe.as_ref())
        .map(|p| libc::pollfd {
            fd: p.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
    unsafe {
        libc::poll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            POLL.as_millis() as i32,
        )
    };
    for w in running.iter_mut() {
        drain(w);
    }
    reap(running);
}

/// Reads what the worker's pipe holds; at end of file, closes it.
fn drain(w: &mut Worker) {
    let Some(pipe) = &w.pipe else { return };
    let fd: RawFd = pipe.as_raw_fd();
    let mut buf = [0u8; 65536];
    loop {
        // SAFETY: read into a local buffer of the given size.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => {
                w.pipe = None;
                return;
            }
            n if n > 0 => w.bytes.extend_from_slice(&buf[..n as usize]),
            _ => return, // EAGAIN: nothing more for now
        }
    }
}

/// Collects every ended child: workers get their status; anything else (a student
/// process orphaned when its worker died) is only reaped.
fn reap(running: &mut [Worker]) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with WNOHANG writes only `status`.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
        if let Some(w) = running.iter_mut().find(|w| w.pid == pid) {
            w.status = Some(status);
            drain(w);
        }
    }
}

/// The workers that ended and closed their pipe.
fn take_finished(running: &mut Vec<Worker>) -> Vec<Worker> {
    let (done, left): (Vec<Worker>, Vec<Worker>) = running
        .drain(..)
        .partition(|w| w.status.is_some() && w.pipe.is_none());
    *running = left;
    done
}

/// A worker's result, or what went wrong with it.
fn result_of(job: &Job, mut w: Worker) -> ScenarioResult {
    if let Some(p) = w.pipe.take() {
        let mut rest = Vec::new();
        let _ = std::fs::File::from(p).read_to_end(&mut rest);
        w.bytes.extend(rest);
    }
    let status = w.status.unwrap_or(0);
    match serde_json::from_slice::<ScenarioResult>(&w.bytes) {
        Ok(r) if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 => r,
        _ => {
            let how = if libc::WIFSIGNALED(status) {
                format!("was killed by signal {}", libc::WTERMSIG(status))
            } else {
                format!("exited with status {}", libc::WEXITSTATUS(status))
            };
            match failed(
                job,
                w.scenario,
                &format!("its worker {how} before reporting"),
            ) {
                AgentEvent::Scenario(r) => *r,
                _ => unreachable!("failed() makes a scenario event"),
            }
        }
    }
}

/// The event of a scenario the agent could not run.
fn failed(job: &Job, idx: usize, why: &str) -> AgentEvent {
    AgentEvent::Scenario(Box::new(ScenarioResult {
        name: job.scenarios[idx].name.clone(),
        error: Some(format!("the agent could not run the scenario: {why}")),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AuditRequest, ScenarioJob};

    fn sc(name: &str, timeout_ms: u64, alone: bool) -> ScenarioJob {
        ScenarioJob {
            name: name.into(),
            timeout_ms,
            steps: Vec::new(),
            audit: AuditRequest::default(),
            alone,
        }
    }

    #[test]
    fn the_longest_start_first_and_the_paced_ones_last() {
        let mut job = crate::agent::tests::job(1, Vec::new(), AuditRequest::default(), None);
        job.scenarios = vec![
            sc("a", 100, false),
            sc("pace", 900, true),
            sc("b", 300, false),
            sc("c", 200, false),
        ];
        let order: Vec<&str> = schedule(&job)
            .into_iter()
            .map(|i| job.scenarios[i].name.as_str())
            .collect();
        assert_eq!(order, ["b", "c", "a", "pace"]);
    }
}
