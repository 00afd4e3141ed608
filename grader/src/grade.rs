//! The engine: grade one submission of one lab. Loads the pinned spec, draws the
//! parameters, builds, runs the scenarios in a sandbox, scores them into a [`GradeReport`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::build::{self, BuildRequest};
use crate::course::{sha256_hex, Course, LabEntry};
use crate::protocol::{AgentEvent, Job, ScenarioResult};
use crate::report::{BuildInfo, GradeReport};
use crate::sandbox::{Sandbox, SandboxError};
use crate::score::{self, Status, TestResult};
use crate::spec::{compile, params, LabSpec};

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// The submission directory.
    pub submission: PathBuf,
    /// Parameter seed; `None` draws a fresh one.
    pub seed: Option<u64>,
    /// Scratch directory for this run (build products, job files).
    pub work: PathBuf,
    /// Where the build runs (the jail) and with which limits.
    pub build: crate::build::BuildHost,
}

/// Failures that are nobody's fault but the configuration's (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// The spec is broken or was tampered with in the course itself.
    #[error(transparent)]
    Spec(#[from] crate::config::ConfigError),
    /// The lab is not a scenario lab.
    #[error("lab {lab} is not graded by scenarios (kind = {kind:?})")]
    WrongKind {
        /// Lab id.
        lab: String,
        /// Its kind.
        kind: crate::course::LabKind,
    },
    /// The submission directory does not exist.
    #[error("submission directory {0} does not exist")]
    NoSubmission(PathBuf),
    /// A QEMU lab (lab 7) failed to be graded for a configuration reason.
    #[error(transparent)]
    QemuLab(#[from] crate::qemulab::QemuLabError),
    /// A QEMU lab needs the guest image, which the `local` backend does not have.
    #[error(
        "{lab} drives QEMU on this host itself: use the default qemu backend, not --backend local"
    )]
    NeedsGuestImage {
        /// Lab id.
        lab: String,
    },
}

/// Grades a submission of any kind of lab: the scenario labs in `sandbox`, the QEMU lab
/// (lab 7) on this host against the sandbox's guest image.
pub fn grade_any(
    course: &Course,
    lab: &LabEntry,
    sandbox: &dyn Sandbox,
    opts: &GradeOptions,
    progress: &mut dyn Progress,
) -> Result<GradeReport, GradeError> {
    match lab.kind {
        crate::course::LabKind::Ipc => grade(course, lab, sandbox, opts, progress),
        crate::course::LabKind::Qemu => {
            let image = sandbox
                .guest_image()
                .ok_or_else(|| GradeError::NeedsGuestImage {
                    lab: lab.id.clone(),
                })?;
            Ok(crate::qemulab::grade(course, lab, image, opts, progress)?)
        }
    }
}

/// Progress messages for people waiting on a run.
pub trait Progress {
    /// A phase begins (`building`, `booting the guest`…).
    fn phase(&mut self, what: &str);
}

/// Progress that goes nowhere.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn phase(&mut self, _what: &str) {}
}

/// A spec loaded from the course, verified against its pin.
#[derive(Debug, Clone)]
pub struct PinnedSpec {
    /// The spec.
    pub spec: LabSpec,
    /// SHA-256 of its text.
    pub sha256: String,
    /// The file name inside the lab directory (`lab.toml`), so a submission's copy can be
    /// recognised and ignored.
    pub file_name: String,
}

/// Loads the course's spec for a lab and checks its pin.
pub fn load_spec(course: &Course, lab: &LabEntry) -> Result<PinnedSpec, GradeError> {
    let path = course.path(&lab.spec);
    let (spec, text) = LabSpec::load(&path)?;
    let sha256 = lab.verify_pin(&path, &text)?;
    let file_name = lab.spec_file_name();
    Ok(PinnedSpec {
        spec,
        sha256,
        file_name,
    })
}

/// A fresh seed from the clock and pid.
pub fn fresh_seed() -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
}

/// Grades a submission. `Err` only for configuration problems; student failures and
/// infrastructure faults are in the report.
pub fn grade(
    course: &Course,
    lab: &LabEntry,
    sandbox: &dyn Sandbox,
    opts: &GradeOptions,
    progress: &mut dyn Progress,
) -> Result<GradeReport, GradeError> {
    let start = Instant::now();
    if lab.kind != crate::course::LabKind::Ipc {
        return Err(GradeError::WrongKind {
            lab: lab.id.clone(),
            kind: lab.kind,
        });
    }
    if !opts.submission.is_dir() {
        return Err(GradeError::NoSubmission(opts.submission.clone()));
    }
    let pinned = load_spec(course, lab)?;
    let seed = opts.seed.unwrap_or_else(fresh_seed);
    let vars = params::draw(&pinned.spec.params, seed).map_err(|message| {
        crate::config::ConfigError::Invalid {
            path: course.path(&lab.spec),
            message,
        }
    })?;
    let mut report = GradeReport::start(
        lab,
        &opts.submission,
        sandbox.backend(),
        seed,
        pinned.spec.max_score(),
        &pinned.sha256,
    );
    report.params = vars.clone();
    report.notices.extend(local_spec_notice(
        &opts.submission,
        &pinned.file_name,
        &pinned.sha256,
    ));
    report.notices.extend(opts.build.confinement.notice());

    progress.phase("building");
    let skip = [pinned.file_name.as_str()];
    let built = build::build(&BuildRequest {
        submission: &opts.submission,
        programs: &pinned.spec.programs,
        work: &opts.work.join("build"),
        skip: &skip,
        host: &opts.build,
    });
    let built = match built {
        Ok(b) => b,
        Err(e) => {
            return Ok(not_gradable(
                report,
                format!("the build could not run: {e}"),
                start,
            ))
        }
    };
    report.language = Some(built.language);
    report.build = BuildInfo {
        ok: built.ok,
        log: built.log.clone(),
        duration_ms: built.duration.as_millis() as u64,
    };
    if !built.ok {
        report.tests = pinned
            .spec
            .scenarios
            .iter()
            .map(|s| unbuilt(s, built.language))
            .collect();
        report.total();
        report.duration_ms = start.elapsed().as_millis() as u64;
        return Ok(report);
    }

    let target = compile::Target {
        bin_dir: &sandbox.bin_dir(),
        timeout_scale: sandbox.timeout_scale(),
    };
    let job = Job {
        lab: lab.id.clone(),
        bin_dir: sandbox.bin_dir(),
        scenarios: pinned
            .spec
            .scenarios
            .iter()
            .map(|s| compile::scenario(&pinned.spec, s, &vars, &target))
            .collect::<Result<_, _>>()
            .map_err(|message| crate::config::ConfigError::Invalid {
                path: course.path(&lab.spec),
                message,
            })?,
        limits: course.limits.to_limits(),
        run_as: sandbox.run_as(),
    };
    progress.phase(sandbox.phase_name());
    let run = match sandbox.run(&job, &built.programs, &opts.work) {
        Ok(r) => r,
        Err(e) => return Ok(not_gradable(report, e.to_string(), start)),
    };
    report.guest_ms = run.guest_ms;
    match collect_results(&run.events) {
        Ok(results) => {
            if let Some(missing) = job
                .scenarios
                .iter()
                .find(|s| !results.iter().any(|r| r.name == s.name))
            {
                let reason = format!(
                    "the sandbox stopped before reporting scenario `{}`{}",
                    missing.name,
                    run.log_tail()
                );
                return Ok(not_gradable(report, reason, start));
            }
            report.tests = pinned
                .spec
                .scenarios
                .iter()
                .zip(&job.scenarios)
                .map(|(s, j)| {
                    let r = results
                        .iter()
                        .find(|r| r.name == s.name)
                        .expect("checked above");
                    score::evaluate(s, &j.steps, r, &vars)
                })
                .collect();
        }
        Err(reason) => {
            return Ok(not_gradable(
                report,
                format!("{reason}{}", run.log_tail()),
                start,
            ))
        }
    }
    if report.tests.iter().any(|t| t.status == Status::Error) {
        let bad: Vec<&str> = report
            .tests
            .iter()
            .filter(|t| t.status == Status::Error)
            .map(|t| t.name.as_str())
            .collect();
        report.notices.push(format!(
            "scenario(s) {} could not be run by the grader; they are reported as errors",
            bad.join(", ")
        ));
    }
    report.total();
    report.duration_ms = start.elapsed().as_millis() as u64;
    Ok(report)
}

fn unbuilt(s: &crate::spec::ScenarioSpec, lang: crate::build::Language) -> TestResult {
    let what = match lang {
        crate::build::Language::Rust => "the crate did not compile",
        crate::build::Language::C => "the C sources did not compile",
    };
    TestResult {
        name: s.name.clone(),
        title: s.title.clone(),
        status: Status::Failed,
        score: 0,
        max_score: s.max_points(),
        message: format!("{what}: see the compiler's message above (build.log)"),
        hint: None,
        duration_ms: 0,
        leaks: Vec::new(),
    }
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

fn not_gradable(report: GradeReport, reason: String, start: Instant) -> GradeReport {
    report.not_gradable(reason, start.elapsed())
}

/// Extracts scenario results from the agent's events; `Err` when the agent failed as a whole.
pub fn collect_results(events: &[AgentEvent]) -> Result<Vec<ScenarioResult>, String> {
    if let Some(AgentEvent::Fatal { message }) = events
        .iter()
        .find(|e| matches!(e, AgentEvent::Fatal { .. }))
    {
        return Err(format!("the agent failed: {message}"));
    }
    if !events.iter().any(|e| matches!(e, AgentEvent::Hello { .. })) {
        return Err("the agent never started (no hello on the results channel)".into());
    }
    Ok(events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Scenario(r) => Some(r.clone()),
            _ => None,
        })
        .collect())
}

/// Parses the agent's JSON lines; a garbled line is skipped (a truncated last line after a
/// crash is expected).
pub fn parse_events(bytes: &[u8]) -> Vec<AgentEvent> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| serde_json::from_str(l.trim()).ok())
        .collect()
}

/// The deadline for a whole sandbox run: every scenario's own deadline plus a margin.
pub fn whole_run_deadline(job: &Job, base: Duration) -> Duration {
    base + job
        .scenarios
        .iter()
        .map(|s| Duration::from_millis(s.timeout_ms))
        .sum::<Duration>()
}

/// Used by sandboxes: error type re-exported for convenience.
pub type RunError = SandboxError;
