//! Reports: the [`GradeReport`] a run produces (the stable JSON contract) and the
//! renderers that turn it into text for people, JSON for machines, and more.

pub mod csv;
pub mod github;
pub mod gradescope;
pub mod hints;
pub mod human;
pub mod json;
pub mod junit;
pub mod progress;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::course::Language;
use crate::protocol::Leak;
use crate::score::{Status, TestResult};

/// Version of the JSON contract; fields are only ever added.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// Exit code: full marks.
pub const EXIT_FULL_MARKS: i32 = 0;
/// Exit code: points were lost (including a build failure).
pub const EXIT_POINTS_LOST: i32 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the run could not be graded (infrastructure fault).
pub const EXIT_NOT_GRADABLE: i32 = 3;

/// Where the scenarios ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Inside a QEMU guest.
    Qemu,
    /// On this host, through the agent.
    Local,
    /// On this host, driving QEMU itself (lab 7).
    Host,
}

/// The build part of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// Whether every program was built.
    pub ok: bool,
    /// Compiler output.
    pub log: String,
    /// Wall time.
    #[serde(default)]
    pub duration_ms: u64,
    /// The programs that were built (the scenarios that run only those were graded).
    #[serde(default)]
    pub built: Vec<String>,
    /// The programs that were not, each with why (its compiler messages, or what is
    /// missing); the scenarios that run one of them fail.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed: BTreeMap<String, String>,
}

/// Leaks across the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditSummary {
    /// Every leaked object, with the scenario that left it.
    pub leaks: Vec<LeakEntry>,
}

/// One leaked object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakEntry {
    /// Scenario that left it.
    pub scenario: String,
    /// The object and the command removing it.
    #[serde(flatten)]
    pub leak: Leak,
}

/// Everything known about one grading run: the JSON contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeReport {
    /// [`REPORT_FORMAT_VERSION`].
    pub format_version: u32,
    /// Lab id.
    pub lab: String,
    /// Lab title.
    pub title: String,
    /// The submission directory graded.
    pub submission: String,
    /// Language detected (absent when nothing could be built).
    pub language: Option<Language>,
    /// Where it ran.
    pub backend: Backend,
    /// False when an infrastructure fault prevented grading: the score means nothing then.
    pub gradable: bool,
    /// Points earned.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// Build outcome.
    pub build: BuildInfo,
    /// One entry per scenario.
    pub tests: Vec<TestResult>,
    /// Audit findings.
    pub audit: AuditSummary,
    /// Wall time of the whole run.
    pub duration_ms: u64,
    /// Seed the parameters were drawn from (`--seed` replays them).
    pub seed: u64,
    /// The parameter values drawn from `seed`.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
    /// The schedule perturbation the run had (`--perturb`; its seed is `seed`, and
    /// `--perturb --seed N` replays it); absent when the run was not perturbed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<crate::protocol::Perturbation>,
    /// Why the run is not gradable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_gradable_reason: Option<String>,
    /// SHA-256 of the spec used.
    #[serde(default)]
    pub spec_sha256: String,
    /// Things the student should know that are not scenario results (e.g. a local copy of
    /// the spec was ignored).
    #[serde(default)]
    pub notices: Vec<String>,
    /// Guest boot-to-poweroff time, when a guest was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_ms: Option<u64>,
    /// How much the calibrated deadlines were stretched because the machine was busy
    /// (its load average over its cores), when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_stretch: Option<f64>,
    /// How the guest started: restored from its snapshot, or booted cold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_start: Option<GuestStart>,
    /// Where the guest's time went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_phases: Option<GuestPhases>,
}

/// How a run's guest started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestStart {
    /// Restored from the snapshot taken while its agent waited for a job.
    Restored,
    /// Booted from the kernel.
    Cold,
}

/// Where a guest run's time went, in milliseconds. Host-measured from QEMU's spawn, except
/// the phases of a cold boot inside the guest, read from its own clock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestPhases {
    /// From QEMU's spawn until the agent had its job: a cold boot then the job's
    /// delivery, or a restore then the job's delivery.
    pub start_ms: u64,
    /// Cold boots: from QEMU's spawn until the agent said it was ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_ms: Option<u64>,
    /// Cold boots: QEMU's start, the firmware, loading and decompressing the kernel
    /// (everything before the guest's clock starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qemu_firmware_ms: Option<u64>,
    /// Cold boots: the kernel's boot, up to the agent's start (`/init` included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_ms: Option<u64>,
    /// Cold boots: the agent mounting the kernel filesystems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts_ms: Option<u64>,
    /// Cold boots: the agent loading the kernel modules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules_ms: Option<u64>,
    /// Cold boots: waiting for the virtio serial ports' names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports_ms: Option<u64>,
    /// From the agent having its job to its last event (the scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenarios_ms: Option<u64>,
    /// From the agent's last event until QEMU was reaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poweroff_ms: Option<u64>,
}

impl GradeReport {
    /// A report for a run that has not produced results yet.
    pub fn start(
        lab: &crate::course::LabEntry,
        submission: &std::path::Path,
        backend: Backend,
        seed: u64,
        max_score: u32,
        spec_sha256: &str,
    ) -> GradeReport {
        GradeReport {
            format_version: REPORT_FORMAT_VERSION,
            lab: lab.id.clone(),
            title: lab.title.clone(),
            submission: submission.display().to_string(),
            language: None,
            backend,
            gradable: true,
            score: 0,
            max_score,
            build: BuildInfo::default(),
            tests: Vec::new(),
            audit: AuditSummary::default(),
            duration_ms: 0,
            seed,
            params: Default::default(),
            perturbation: None,
            not_gradable_reason: None,
            spec_sha256: spec_sha256.to_string(),
            notices: Vec::new(),
            guest_ms: None,
            deadline_stretch: None,
            guest_start: None,
            guest_phases: None,
        }
    }

    /// Marks the run as not gradable (an infrastructure fault): no tests, no score.
    pub fn not_gradable(mut self, reason: String, elapsed: std::time::Duration) -> GradeReport {
        self.gradable = false;
        self.not_gradable_reason = Some(reason);
        self.tests.clear();
        self.score = 0;
        self.duration_ms = elapsed.as_millis() as u64;
        self
    }

    /// The process exit code for this report.
    pub fn exit_code(&self) -> i32 {
        if !self.gradable {
            EXIT_NOT_GRADABLE
        } else if self.score == self.max_score && self.build.ok {
            EXIT_FULL_MARKS
        } else {
            EXIT_POINTS_LOST
        }
    }

    /// Recomputes `score`, `max_score` and the leak summary from `tests`.
    pub fn total(&mut self) {
        self.score = self.tests.iter().map(|t| t.score).sum();
        self.max_score = self.tests.iter().map(|t| t.max_score).sum();
        self.audit.leaks = self
            .tests
            .iter()
            .flat_map(|t| {
                t.leaks.iter().map(|l| LeakEntry {
                    scenario: t.name.clone(),
                    leak: l.clone(),
                })
            })
            .collect();
    }

    /// Count of tests with each status, for summaries.
    pub fn count(&self, status: Status) -> usize {
        self.tests.iter().filter(|t| t.status == status).count()
    }
}
