//! The worker pool: N threads, each grading one submission at a time with its own
//! scratch directory and its own sandbox (one guest per job), results sent back to the
//! caller's thread. A grading that panics, or ends not gradable, is retried; whatever
//! happens to one submission, the others go on.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::course::LabEntry;
use crate::events::Discard;
use crate::lab::{GradeOptions, LabEngine};
use crate::report::{BuildInfo, GradeReport, REPORT_FORMAT_VERSION};
use crate::session::SandboxFactory;

/// One submission to grade.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Task {
    /// Student name.
    pub student: String,
    /// Directory to build.
    pub dir: PathBuf,
    /// Parameter seed.
    pub seed: u64,
    /// Content hash of the submission.
    pub sha256: String,
}

/// What a finished task gives.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The task.
    pub task: Task,
    /// The final report.
    pub report: GradeReport,
    /// Gradings it took.
    pub attempts: u32,
    /// Wall time of all attempts.
    pub elapsed: Duration,
}

/// What every grading of the run shares.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The lab.
    pub lab: &'a LabEntry,
    /// Its engine, spec pinned.
    pub engine: &'a dyn LabEngine,
    /// The sandboxes.
    pub factory: &'a SandboxFactory,
    /// Extra gradings after an infrastructure fault.
    pub retries: u32,
}

/// A report for a grading that could not even produce one (a panic, a sandbox that
/// could not be made): not gradable, never a zero.
pub fn not_gradable(ctx: &Context<'_>, task: &Task, reason: String) -> GradeReport {
    GradeReport {
        format_version: REPORT_FORMAT_VERSION,
        lab: ctx.lab.id.clone(),
        title: ctx.lab.title.clone(),
        submission: task.dir.display().to_string(),
        language: None,
        backend: ctx.factory.backend(),
        gradable: false,
        score: 0,
        max_score: ctx.engine.max_score(),
        build: BuildInfo::default(),
        tests: Vec::new(),
        audit: Default::default(),
        duration_ms: 0,
        seed: task.seed,
        params: Default::default(),
        perturbation: None,
        not_gradable_reason: Some(reason),
        spec_sha256: ctx.engine.spec_sha256().to_owned(),
        notices: Vec::new(),
        guest_ms: None,
        deadline_stretch: None,
        guest_start: None,
        guest_phases: None,
    }
}

/// One grading attempt in a fresh scratch directory; a panic becomes a not-gradable report.
fn attempt(ctx: &Context<'_>, task: &Task, work: &Path) -> GradeReport {
    let _ = crate::sandbox::jail::force_remove(work);
    if let Err(e) = std::fs::create_dir_all(work) {
        return not_gradable(
            ctx,
            task,
            format!(
                "failed to create the scratch directory {}: {e}",
                work.display()
            ),
        );
    }
    let sandbox = match ctx.factory.make(&work.join("sandbox")) {
        Ok(s) => s,
        Err(e) => return not_gradable(ctx, task, e.to_string()),
    };
    let opts = GradeOptions {
        submission: task.dir.clone(),
        seed: Some(task.seed),
        perturb: false,
        work: work.join("run"),
        build: ctx.factory.build.clone(),
        spec_deadlines: false,
    };
    let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
        ctx.engine.grade(sandbox.as_ref(), &opts, &mut Discard)
    }));
    let report = match run {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => not_gradable(ctx, task, format!("the grader could not grade it: {e}")),
        Err(panic) => not_gradable(
            ctx,
            task,
            format!("the grader crashed: {}", panic_text(&panic)),
        ),
    };
    let _ = crate::sandbox::jail::force_remove(work);
    report
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Grades a task, retrying after an infrastructure fault; the final report says when a
/// retry was needed.
pub fn grade_task(ctx: &Context<'_>, task: &Task, work: &Path) -> Outcome {
    let start = Instant::now();
    let mut report = attempt(ctx, task, work);
    let mut attempts = 1;
    let mut first_fault = None;
    while !report.gradable && attempts <= ctx.retries {
        first_fault.get_or_insert_with(|| report.not_gradable_reason.clone().unwrap_or_default());
        attempts += 1;
        report = attempt(ctx, task, work);
    }
    if let (Some(fault), true) = (first_fault, report.gradable) {
        report.notices.push(format!(
            "graded at attempt {attempts}, after an infrastructure fault: {fault}"
        ));
    }
    Outcome {
        task: task.clone(),
        report,
        attempts,
        elapsed: start.elapsed(),
    }
}

/// Grades every task on `jobs` threads (scratch directories `scratch/wN`), calling
/// `on_done` on this thread as each one finishes, in completion order.
pub fn run(
    ctx: &Context<'_>,
    tasks: &[Task],
    jobs: usize,
    scratch: &Path,
    on_done: &mut dyn FnMut(Outcome),
) {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for w in 0..jobs.clamp(1, tasks.len().max(1)) {
            let (tx, next) = (tx.clone(), &next);
            let work = scratch.join(format!("w{w}"));
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(task) = tasks.get(i) else { break };
                if tx.send(grade_task(ctx, task, &work)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for outcome in rx {
            on_done(outcome);
        }
    });
}
