//! The engine's front door: grade one submission of any lab. It picks the [`LabEngine`]
//! of the lab's kind — scenario labs (`ipclab`), the lab that drives QEMU (`qemulab`) —
//! and hands it the sandbox, the options and the subscriber that follows the run.

use crate::course::{Course, LabEntry, LabKind};
use crate::events::{Event, Subscriber};
use crate::ipclab::IpcLab;
use crate::lab::{GradeError, GradeOptions, LabEngine};
use crate::overlay;
use crate::qemulab::QemuLab;
use crate::report::GradeReport;
use crate::sandbox::Sandbox;

/// The engine for a lab of the course, with its spec loaded and checked against its pin.
pub fn engine(course: &Course, lab: &LabEntry) -> Result<Box<dyn LabEngine>, GradeError> {
    Ok(match lab.kind {
        LabKind::Ipc => Box::new(IpcLab::load(course, lab)?),
        LabKind::Qemu => Box::new(QemuLab::load(course, lab)?),
    })
}

/// Grades a submission of any kind of lab in `sandbox`, telling `events` as it goes (the
/// report last, as [`Event::Graded`]). A course solution stored as an overlay is
/// materialised into the run's work directory first (see [`overlay::stage`]); the report
/// names the directory as given.
pub fn grade_any(
    course: &Course,
    lab: &LabEntry,
    sandbox: &dyn Sandbox,
    opts: &GradeOptions,
    events: &mut dyn Subscriber,
) -> Result<GradeReport, GradeError> {
    let engine = engine(course, lab)?;
    let staged = overlay::stage(course, &opts.submission, &opts.work)?;
    let staged_opts = GradeOptions {
        submission: staged.dir.clone(),
        ..opts.clone()
    };
    let mut report = engine.grade(sandbox, &staged_opts, events)?;
    report.submission = opts.submission.display().to_string();
    if staged.dir != opts.submission {
        // The build's messages name the staged tree: name the solution's directory.
        let (from, to) = (staged.dir.display(), opts.submission.display());
        report.build.log = report
            .build
            .log
            .replace(&format!("{from}/"), &format!("{to}/"));
    }
    report.notices.extend(staged.notice);
    // The course's hint policy, first level only: no report depends on a local file.
    crate::hints::apply_policy(course, &engine.hints(), &mut report);
    events.event(&Event::Graded { report: &report });
    Ok(report)
}
