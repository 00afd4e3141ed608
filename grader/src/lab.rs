//! What every kind of lab shares: the options of one grading, the configuration errors
//! that stop it, and the [`LabEngine`] trait that each kind of lab implements — scenario
//! labs run in a sandbox (`ipclab`), the lab that drives QEMU itself (`qemulab`) — and
//! that `grade` dispatches to.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::ConfigError;
use crate::course::{sha256_hex, Course, LabEntry, LabKind};
use crate::events::Subscriber;
use crate::report::hints::ScenarioHints;
use crate::report::GradeReport;
use crate::sandbox::Sandbox;

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// The submission directory.
    pub submission: PathBuf,
    /// Parameter seed; `None` draws a fresh one.
    pub seed: Option<u64>,
    /// `--perturb`: the agent perturbs the schedule with draws from the same seed.
    pub perturb: bool,
    /// Scratch directory for this run (build products, job files).
    pub work: PathBuf,
    /// Where the build runs (the jail) and with which limits.
    pub build: crate::build::BuildHost,
    /// Run every scenario to the spec's own deadline, not the one calibrated from the
    /// reference solutions' times (`cargo grader calibrate` measures with it).
    pub spec_deadlines: bool,
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
    /// A course solution stored as an overlay could not be materialised.
    #[error(transparent)]
    Overlay(#[from] crate::overlay::OverlayError),
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
    /// The hint levels of everything scored, in order.
    fn hints(&self) -> Vec<ScenarioHints>;
    /// Grades one submission. `Err` only for configuration problems; student failures
    /// and infrastructure faults are in the report.
    fn grade(
        &self,
        sandbox: &dyn Sandbox,
        opts: &GradeOptions,
        events: &mut dyn Subscriber,
    ) -> Result<GradeReport, GradeError>;
}

/// A lab's spec loaded from the course and verified against its pin in `course.toml`.
#[derive(Debug, Clone)]
pub struct Pinned<S> {
    /// The spec.
    pub spec: S,
    /// SHA-256 of its text.
    pub sha256: String,
    /// The file name inside the lab directory (`lab.toml`), so a submission's copy can be
    /// recognised and ignored.
    pub file_name: String,
}

/// Loads a lab's spec with `load` (which returns the spec and its text) and checks the
/// text against the lab's pin.
pub fn load_pinned<S>(
    course: &Course,
    lab: &LabEntry,
    load: impl FnOnce(&Path) -> Result<(S, String), ConfigError>,
) -> Result<Pinned<S>, ConfigError> {
    let path = course.path(&lab.spec);
    let (spec, text) = load(&path)?;
    let sha256 = lab.verify_pin(&path, &text)?;
    Ok(Pinned {
        spec,
        sha256,
        file_name: lab.spec_file_name(),
    })
}

/// A lab of a course with its spec loaded and pinned: what each engine grades from.
#[derive(Debug, Clone)]
pub struct LoadedLab<S> {
    /// The course.
    pub course: Course,
    /// The lab.
    pub lab: LabEntry,
    /// Its spec.
    pub pinned: Pinned<S>,
}

/// A kind of lab, implemented by the type of its spec: how the spec loads, what it
/// scores, and how a submission is graded. Loaded into a [`LoadedLab`], every kind is a
/// [`LabEngine`].
pub trait LabKindSpec: std::fmt::Debug + Send + Sync + Sized {
    /// The lab's `kind` in `course.toml`.
    const KIND: LabKind;
    /// What grades this kind, for an error about a lab of another kind.
    const ENGINE: &'static str;
    /// Reads and validates the spec file; returns the spec and its text (to pin).
    fn load(path: &Path) -> Result<(Self, String), ConfigError>;
    /// Points available.
    fn max_points(&self) -> u32;
    /// What is scored, in order.
    fn test_names(&self) -> Vec<String>;
    /// What is scored, for people.
    fn outline(&self) -> String;
    /// The hint levels of everything scored, in order.
    fn hints(&self) -> Vec<ScenarioHints>;
    /// Grades one submission of `lab` (see [`LabEngine::grade`]); the submission
    /// directory exists.
    fn grade(
        lab: &LoadedLab<Self>,
        sandbox: &dyn Sandbox,
        opts: &GradeOptions,
        events: &mut dyn Subscriber,
    ) -> Result<GradeReport, GradeError>;
}

impl<S: LabKindSpec> LoadedLab<S> {
    /// Loads `lab`'s spec and checks its pin; a lab of another kind is an error.
    pub fn load(course: &Course, lab: &LabEntry) -> Result<LoadedLab<S>, GradeError> {
        if lab.kind != S::KIND {
            return Err(GradeError::WrongKind {
                lab: lab.id.clone(),
                engine: S::ENGINE,
                kind: lab.kind,
            });
        }
        Ok(LoadedLab {
            course: course.clone(),
            lab: lab.clone(),
            pinned: load_pinned(course, lab, S::load)?,
        })
    }
}

impl<S: LabKindSpec> LabEngine for LoadedLab<S> {
    fn spec_sha256(&self) -> &str {
        &self.pinned.sha256
    }

    fn spec_file_name(&self) -> &str {
        &self.pinned.file_name
    }

    fn max_score(&self) -> u32 {
        self.pinned.spec.max_points()
    }

    fn test_names(&self) -> Vec<String> {
        self.pinned.spec.test_names()
    }

    fn outline(&self) -> String {
        self.pinned.spec.outline()
    }

    fn hints(&self) -> Vec<ScenarioHints> {
        self.pinned.spec.hints()
    }

    fn grade(
        &self,
        sandbox: &dyn Sandbox,
        opts: &GradeOptions,
        events: &mut dyn Subscriber,
    ) -> Result<GradeReport, GradeError> {
        if !opts.submission.is_dir() {
            return Err(GradeError::NoSubmission(opts.submission.clone()));
        }
        S::grade(self, sandbox, opts, events)
    }
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
