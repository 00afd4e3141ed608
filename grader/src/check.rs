//! The teacher's self-check (`cargo grader check`): every reference solution of every
//! lab scores full marks, and every untouched skeleton (each language's, see the labs'
//! `skeletons` in course.toml) builds but scores below max. QEMU
//! labs (lab 7) are graded on the host with the guest image, whatever the backend.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::course::{Course, LabKind};
use crate::events::Discard;
use crate::grade;
use crate::lab::GradeOptions;
use crate::report::GradeReport;
use crate::session::{guest_sandbox, make_sandbox, scratch_dir, BackendChoice, GuestStartOptions};

/// What the self-check expects of a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A reference solution: full marks.
    Solution,
    /// The untouched skeleton: builds, scores below max.
    Skeleton,
}

/// One graded directory.
#[derive(Debug, Clone)]
pub struct CheckItem {
    /// Lab id.
    pub lab: String,
    /// Directory.
    pub dir: PathBuf,
    /// Expectation.
    pub role: Role,
    /// The report.
    pub report: GradeReport,
    /// Whether the expectation held.
    pub ok: bool,
}

/// All items.
#[derive(Debug, Default)]
pub struct CheckOutcome {
    /// Items in order.
    pub items: Vec<CheckItem>,
}

impl CheckOutcome {
    /// True when every expectation held.
    pub fn all_ok(&self) -> bool {
        !self.items.is_empty() && self.items.iter().all(|i| i.ok)
    }
}

fn verdict(role: Role, r: &GradeReport) -> bool {
    match role {
        Role::Solution => r.gradable && r.build.ok && r.score == r.max_score,
        Role::Skeleton => r.gradable && r.build.ok && r.score < r.max_score,
    }
}

/// Runs the self-check for `labs` (all labs when empty), printing a line per item.
pub fn run(
    course: &Course,
    labs: &[String],
    backend: BackendChoice,
    seed: Option<u64>,
    build: &crate::build::BuildHost,
    out: &mut dyn Write,
) -> Result<CheckOutcome> {
    let selected: Vec<_> = if labs.is_empty() {
        course.labs.iter().collect()
    } else {
        labs.iter()
            .map(|n| course.lab(n))
            .collect::<Result<_, _>>()?
    };
    let work = scratch_dir(course, "check")?;
    let start = GuestStartOptions::default();
    let sandbox = make_sandbox(course, backend, &work.join("sandbox"), false, build, &start)?;
    let mut outcome = CheckOutcome::default();
    // Lab 7 drives QEMU itself: with `--backend local` it still needs the guest image,
    // built on first need.
    let mut guest: Option<Box<dyn crate::sandbox::Sandbox>> = None;
    for lab in selected {
        let sandbox = if lab.kind == LabKind::Qemu && sandbox.guest_image().is_none() {
            if guest.is_none() {
                guest = Some(Box::new(guest_sandbox(course, false, &start)?));
            }
            guest.as_ref().expect("built just above")
        } else {
            &sandbox
        };
        let mut dirs: Vec<(PathBuf, Role)> = lab
            .solutions
            .iter()
            .map(|s| (course.path(s), Role::Solution))
            .collect();
        dirs.extend(
            lab.skeleton_dirs()
                .into_iter()
                .map(|d| (course.path(d), Role::Skeleton)),
        );
        for (dir, role) in dirs {
            let opts = GradeOptions {
                submission: dir.clone(),
                seed,
                // A reference solution must hold whatever the schedule: it runs perturbed.
                perturb: role == Role::Solution,
                work: work.join(&lab.id),
                build: build.clone(),
                spec_deadlines: false,
            };
            let report = grade::grade_any(course, lab, sandbox.as_ref(), &opts, &mut Discard)?;
            let ok = verdict(role, &report);
            let want = match role {
                Role::Solution => "full marks",
                Role::Skeleton => "builds, below max",
            };
            let got = if !report.gradable {
                format!(
                    "NOT GRADABLE: {}",
                    report.not_gradable_reason.as_deref().unwrap_or("")
                )
            } else if !report.build.ok {
                "build failed".to_string()
            } else {
                format!("{}/{}", report.score, report.max_score)
            };
            writeln!(
                out,
                "{} {:<5} {:<45} want {:<18} got {got} (seed {}{})",
                if ok { "ok  " } else { "FAIL" },
                lab.id,
                dir.strip_prefix(&course.root).unwrap_or(&dir).display(),
                want,
                report.seed,
                if report.perturbation.is_some() {
                    ", perturbed"
                } else {
                    ""
                }
            )?;
            if !ok {
                for t in report
                    .tests
                    .iter()
                    .filter(|t| t.score < t.max_score && role == Role::Solution)
                {
                    writeln!(
                        out,
                        "       {} {}: {}",
                        t.name,
                        t.status.as_str(),
                        t.message
                    )?;
                }
                if !report.build.ok {
                    writeln!(
                        out,
                        "       build log: {}",
                        report
                            .build
                            .log
                            .lines()
                            .rev()
                            .take(8)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect::<Vec<_>>()
                            .join("\n       ")
                    )?;
                }
            }
            outcome.items.push(CheckItem {
                lab: lab.id.clone(),
                dir,
                role,
                report,
                ok,
            });
        }
    }
    let bad = outcome.items.iter().filter(|i| !i.ok).count();
    writeln!(
        out,
        "check: {} passed, {} failed",
        outcome.items.len() - bad,
        bad
    )?;
    let _ = crate::sandbox::jail::force_remove(&work);
    Ok(outcome)
}
