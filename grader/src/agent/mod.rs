//! The agent: runs a job's scenarios (inside the QEMU guest as PID 1, or on the host for
//! the local backend) and reports what it observed as a stream of JSON-line events. It
//! only observes; the host judges.

mod boot;
mod death;
pub mod entry;
mod files;
mod hang;
mod ipc;
mod memcg;
mod ns;
mod pace;
mod perturb;
mod pool;
mod process;
mod procs;
mod scenario;
mod seccomp;
mod signals;
mod supervise;
mod syscalls;

use std::io::{self, Write};
use std::path::PathBuf;

use crate::protocol::{AgentEvent, IpcObject, Job};

pub use ipc::IpcError;
pub use ns::NsError;
pub use syscalls::syscall_number;

/// Where the agent runs, which decides how it isolates itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PID 1 of the throw-away guest: no isolation from the host needed.
    Guest,
    /// On the host: first a private mount namespace (and a user namespace when not
    /// root), so nothing the agent mounts reaches the host.
    Local,
}

/// Failures of the agent itself (a student's failure is an observation, never an error).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The agent could not isolate itself.
    #[error("failed to isolate the agent")]
    Isolate(#[source] NsError),
    /// The work directory could not be created.
    #[error("failed to create the work directory {path}")]
    WorkDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Listing IPC objects failed.
    #[error("failed to list IPC objects")]
    ListIpc(#[source] IpcError),
    /// An event could not be encoded.
    #[error("failed to encode an event")]
    Encode(#[source] serde_json::Error),
    /// An event could not be written.
    #[error("failed to write an event")]
    WriteEvent(#[source] io::Error),
    /// The job file could not be read.
    #[error("failed to read the job {path}")]
    ReadJob {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The job file is not a valid job.
    #[error("failed to parse the job {path}")]
    ParseJob {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The job frame did not arrive intact.
    #[error("failed to receive the job")]
    Frame(#[source] crate::protocol::FrameError),
    /// The guest could not be prepared for the job.
    #[error("failed to {what}")]
    Prepare {
        /// What.
        what: String,
        /// The OS error.
        source: io::Error,
    },
    /// The results file or port could not be opened.
    #[error("failed to open the results output {path}")]
    OpenOutput {
        /// The file or device.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Runs every scenario of `job` and writes the events to `out`: `Hello`, one `Scenario`
/// per scenario (in the order they end when several run at once), `Done` (or `Fatal` if
/// the agent cannot set itself up), flushing each line.
pub fn run_job(job: &Job, out: &mut dyn Write, mode: Mode) -> Result<(), AgentError> {
    emit(out, &hello())?;
    if let Err(e) = prepare(mode) {
        emit(out, &fatal(&e))?;
        return Err(e);
    }
    // Workers are forked: only a single-threaded agent may (not a test harness).
    if job.parallel > 1 && procs::own_thread_count() == 1 {
        pool::run_all(job, out)?;
    } else {
        if let Err(e) = memcg::use_slot(0, memcg::share(death::mem_total_bytes(), 1)) {
            // Not fatal: the scenarios then share the guest's memory unbounded.
            eprintln!("grader-agent: no memory cgroup for the scenarios: {e}");
        }
        for spec in &job.scenarios {
            let result = scenario::run(job, spec);
            emit(out, &AgentEvent::Scenario(Box::new(result)))?;
        }
    }
    emit(out, &AgentEvent::Done)
}

/// Every IPC object of the current IPC namespace (SysV from `/proc/sysvipc`, POSIX from
/// `/dev/mqueue` and `/dev/shm`).
pub fn list_ipc_objects() -> Result<Vec<IpcObject>, AgentError> {
    ipc::list().map_err(AgentError::ListIpc)
}

fn prepare(mode: Mode) -> Result<(), AgentError> {
    ns::agent_process_setup();
    let root = PathBuf::from(scenario::WORK_ROOT);
    match mode {
        Mode::Local => {
            ns::isolate_local().map_err(AgentError::Isolate)?;
            ns::private_tmpfs(&root).map_err(AgentError::Isolate)
        }
        Mode::Guest => std::fs::create_dir_all(&root)
            .map_err(|source| AgentError::WorkDir { path: root, source }),
    }
}

fn hello() -> AgentEvent {
    AgentEvent::Hello {
        kernel: ns::kernel_release(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// A `Fatal` event carrying the error and its causes.
fn fatal(e: &dyn std::error::Error) -> AgentEvent {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message = format!("{message}: {c}");
        cause = c.source();
    }
    AgentEvent::Fatal { message }
}

/// Writes one event as one line and flushes it, so the host sees progress even if the
/// guest dies later.
fn emit(out: &mut dyn Write, event: &AgentEvent) -> Result<(), AgentError> {
    let mut line = serde_json::to_string(event).map_err(AgentError::Encode)?;
    line.push('\n');
    out.write_all(line.as_bytes())
        .and_then(|_| out.flush())
        .map_err(AgentError::WriteEvent)
}

#[cfg(test)]
mod death_tests;
#[cfg(test)]
mod tests;
