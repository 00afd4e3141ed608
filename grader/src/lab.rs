//! What every kind of lab shares: the options of one grading, the configuration errors
//! that stop it, and the [`LabEngine`] trait that each kind of lab implements — scenario
//! labs run in a sandbox (`ipclab`), the lab that drives QEMU itself (`qemulab`) — and
//! that `grade` dispatches to.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::course::{sha256_hex, LabKind};
use crate::events::Subscriber;
use crate::report::GradeReport;
use crate::sandbox::Sandbox;

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// The submission directory.
    pub submission: PathBuf,
    /// Parameter seed; `None` draws a fresh one.
    pub seed: Option<u64>,
    /// Scratch directory for this run (build products, job files).
    pub work: PathBuf,
}

/// Failures that are nobody's fault but the configuration's (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// The spec is broken or was tampered with in the course itself.
    #[error(transparent)]
    Spec(#[from] crate::config::ConfigError),
    /// The lab is not of the kind the engine grades.
    #[error("lab {lab} is not graded by {engine} (kind = {kind:?})")]
    WrongKind {
        /// Lab id.
        lab: String,
        /// The engine asked to grade it.
        engine: &'static str,
        /// Its kind.
        kind: LabKind,
    },
    /// The submission directory does not exist.
    #[error("submission directory {0} does not exist")]
    NoSubmission(PathBuf),
    /// A QEMU lab needs the guest image, which the `local` backend does not have.
    #[error(
        "{lab} drives QEMU on this host itself: use the default qemu backend, not --backend local"
    )]
    NeedsGuestImage {
        /// Lab id.
        lab: String,
    },
}

/// How one kind of lab is graded, with its spec loaded and checked against its pin.
pub trait LabEngine: std::fmt::Debug + Send + Sync {
    /// SHA-256 of the spec's text.
    fn spec_sha256(&self) -> &str;
    /// The spec's file name (`lab.toml`): a submission's own copy of it is ignored.
    fn spec_file_name(&self) -> &str;
    /// Points available.
    fn max_score(&self) -> u32;
    /// What is scored, in spec order (scenario or check names: the gradebook's columns).
    fn test_names(&self) -> Vec<String>;
    /// What is scored, for people: `11 scenarios`, `9 checks`.
    fn outline(&self) -> String;
    /// Grades one submission. `Err` only for configuration problems; student failures
    /// and infrastructure faults are in the report.
    fn grade(
        &self,
        sandbox: &dyn Sandbox,
        opts: &GradeOptions,
        events: &mut dyn Subscriber,
    ) -> Result<GradeReport, GradeError>;
}

/// A fresh seed from the clock and pid.
pub fn fresh_seed() -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
}

/// A submission carrying its own, different copy of the spec (`file_name`) is graded with
/// the course's pinned one (`sha256`), and told so.
pub fn local_spec_notice(submission: &Path, file_name: &str, sha256: &str) -> Option<String> {
    let local = submission.join(file_name);
    let bytes = std::fs::read(&local).ok()?;
    (sha256_hex(&bytes) != sha256).then(|| {
        format!(
            "{} differs from the course's spec: the local copy was ignored and the course's pinned spec (sha256 {}) was used",
            local.display(),
            &sha256[..12]
        )
    })
}
