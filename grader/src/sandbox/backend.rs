//! The interface every sandbox offers the engine: run a job with the submission's
//! programs and return the agent's events.

use std::path::{Path, PathBuf};

use crate::protocol::{AgentEvent, Job};
use crate::report::Backend;

/// An infrastructure failure: the run is "not gradable", never a zero.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Preparing files for the run failed.
    #[error("failed to prepare the sandbox in {path}: {source}")]
    Prepare {
        /// Where.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The agent process could not be started.
    #[error("failed to start the agent: {0}")]
    Start(String),
    /// The guest image could not be built or found.
    #[error("the guest image is not available: {0}")]
    Image(String),
    /// The guest (QEMU) failed.
    #[error("the guest failed: {0}")]
    Guest(String),
    /// The whole run passed its deadline.
    #[error("the sandbox did not finish within {secs} s and was stopped{tail}")]
    Deadline {
        /// The deadline.
        secs: u64,
        /// Console tail for diagnosis.
        tail: String,
    },
}

/// What came back from a run.
#[derive(Debug, Clone, Default)]
pub struct SandboxRun {
    /// The agent's events, in order.
    pub events: Vec<AgentEvent>,
    /// Guest boot-to-poweroff time.
    pub guest_ms: Option<u64>,
    /// How the guest started.
    pub guest_start: Option<crate::report::GuestStart>,
    /// Where the guest's time went.
    pub guest_phases: Option<crate::report::GuestPhases>,
    /// What the student should know about how the run was made (a cold boot, and why).
    pub notices: Vec<String>,
    /// The guest console or agent stderr (capped), for diagnosing infrastructure faults.
    pub log: String,
}

impl SandboxRun {
    /// The last lines of the log, formatted to follow a sentence.
    pub fn log_tail(&self) -> String {
        let lines: Vec<&str> = self.log.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            return String::new();
        }
        format!(
            "; last output: {}",
            lines[lines.len().saturating_sub(6)..].join(" | ")
        )
    }
}

/// A place where scenarios run.
pub trait Sandbox {
    /// Which backend this is (reported in the JSON).
    fn backend(&self) -> Backend;
    /// Where the programs will be, as the agent sees them.
    fn bin_dir(&self) -> PathBuf;
    /// Deadline multiplier for the spec's native timings.
    fn timeout_scale(&self) -> f64;
    /// uid/gid the student's programs run as (`None`: the agent's own).
    fn run_as(&self) -> Option<(u32, u32)>;
    /// The guest image this sandbox boots, if it boots one (lab 7 drives QEMU with it).
    fn guest_image(&self) -> Option<&crate::image::Image> {
        None
    }
    /// Scenarios the agent may run at once (each with a uid of its own, so only a
    /// sandbox that runs the programs as a chosen uid can run more than one).
    fn parallel(&self) -> u32 {
        1
    }
    /// What to tell a waiting person.
    fn phase_name(&self) -> &'static str;
    /// Gets ready for the next [`Sandbox::run`] while the submission builds (a guest
    /// restored from its snapshot, waiting for its job). Nothing by default.
    fn prestart(&self) {}
    /// Runs the job; `programs` are (name, host path); `work` is a scratch directory.
    fn run(
        &self,
        job: &Job,
        programs: &[(String, PathBuf)],
        work: &Path,
    ) -> Result<SandboxRun, SandboxError>;
}
