//! `cargo grader bench`: how long grading a lab's reference solution takes in the guest
//! versus on the host, and the ratio; and what the build jail costs: the build time of
//! the lab's C and Rust solutions jailed and on the host, and a Rust submission's
//! marginal build with the shared dependencies versus compiling its own. Numbers, not
//! assertions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::build::{self, BuildHost, BuildRequest, Language};
use crate::course::{Course, LabEntry};
use crate::events::Discard;
use crate::grade;
use crate::lab::GradeOptions;
use crate::sandbox::jail::Confinement;
use crate::session::{make_sandbox, scratch_dir, BackendChoice};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Grades the lab's first solution `runs` times per backend, then times its builds, and
/// prints the medians.
pub fn run(
    course: &Course,
    lab: &str,
    runs: u32,
    build: &BuildHost,
    out: &mut dyn Write,
) -> Result<()> {
    let lab = course.lab(lab)?;
    let runs = runs.max(1);
    if lab.kind == crate::course::LabKind::Ipc {
        gradings(course, lab, runs, build, out)?;
    }
    builds(course, lab, runs, build, out)
}

fn gradings(
    course: &Course,
    lab: &LabEntry,
    runs: u32,
    build: &BuildHost,
    out: &mut dyn Write,
) -> Result<()> {
    let solution = lab
        .solutions
        .first()
        .context("the lab lists no solution to benchmark")?;
    let submission = course.path(solution);
    let mut medians = Vec::new();
    for backend in [BackendChoice::Qemu, BackendChoice::Local] {
        let work = scratch_dir(course, "bench")?;
        let sandbox = make_sandbox(course, backend, &work.join("sandbox"), true, build)?;
        // One untimed run warms the build cache and the image.
        let opts = GradeOptions {
            submission: submission.clone(),
            seed: Some(1),
            work: work.join("warm"),
            build: build.clone(),
        };
        grade::grade_any(course, lab, sandbox.as_ref(), &opts, &mut Discard)?;
        let mut times = Vec::new();
        let mut guest = Vec::new();
        for i in 0..runs {
            let opts = GradeOptions {
                submission: submission.clone(),
                seed: Some(u64::from(i) + 1),
                work: work.join(format!("run{i}")),
                build: build.clone(),
            };
            let t = Instant::now();
            let r = grade::grade_any(course, lab, sandbox.as_ref(), &opts, &mut Discard)?;
            times.push(t.elapsed().as_secs_f64());
            if let Some(g) = r.guest_ms {
                guest.push(g as f64 / 1000.0);
            }
            if r.score != r.max_score {
                writeln!(out, "warning: run {i} scored {}/{}", r.score, r.max_score)?;
            }
        }
        let m = median(times);
        let extra = if guest.is_empty() {
            String::new()
        } else {
            format!(", of which guest boot→poweroff {:.2} s", median(guest))
        };
        writeln!(
            out,
            "{:<6} {} x{runs}: median {m:.2} s per grading{extra}",
            format!("{backend:?}").to_lowercase(),
            lab.id
        )?;
        medians.push(m);
        let _ = crate::sandbox::jail::force_remove(&work);
    }
    writeln!(out, "ratio qemu/local: {:.2}", medians[0] / medians[1])?;
    Ok(())
}

/// The median wall time of `runs` builds of `submission` (after one untimed warm-up).
fn timed_builds(
    host: &BuildHost,
    submission: &Path,
    programs: &[String],
    work: &Path,
    runs: u32,
) -> Result<f64> {
    let mut times = Vec::new();
    for i in 0..=runs {
        let t = Instant::now();
        let b = build::build(&BuildRequest {
            submission,
            programs,
            work: &work.join(format!("b{i}")),
            skip: &[],
            host,
        })?;
        anyhow::ensure!(
            b.ok,
            "the build of {} failed:\n{}",
            submission.display(),
            b.log
        );
        if i > 0 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    Ok(median(times))
}

/// The lab's solution in each language.
fn solutions(course: &Course, lab: &LabEntry) -> Vec<(Language, PathBuf)> {
    let mut out = Vec::new();
    for s in &lab.solutions {
        let dir = course.path(s);
        if let Ok(lang) = build::detect(&dir) {
            if !out.iter().any(|(l, _)| *l == lang) {
                out.push((lang, dir));
            }
        }
    }
    out
}

fn percent(jailed: f64, host: f64) -> String {
    format!("{:+.1} %", (jailed / host - 1.0) * 100.0)
}

fn builds(
    course: &Course,
    lab: &LabEntry,
    runs: u32,
    build: &BuildHost,
    out: &mut dyn Write,
) -> Result<()> {
    if !build.confinement.is_jailed() {
        writeln!(out, "build: no jail on this machine: nothing to compare")?;
        return Ok(());
    }
    let spec = crate::ipclab::load_spec(course, lab)?;
    let programs = &spec.spec.programs;
    let host = BuildHost {
        confinement: Confinement::Unconfined {
            reason: "benchmark".into(),
        },
        ..build.clone()
    };
    let work = scratch_dir(course, "bench-build")?;
    for (lang, dir) in solutions(course, lab) {
        let jailed = timed_builds(build, &dir, programs, &work.join("jailed"), runs)?;
        let plain = timed_builds(&host, &dir, programs, &work.join("host"), runs)?;
        writeln!(
            out,
            "build {} {:?} ({}) x{runs}: median {jailed:.2} s in the jail, {plain:.2} s on the host: the jail costs {}",
            lab.id,
            lang,
            dir.strip_prefix(&course.root).unwrap_or(&dir).display(),
            percent(jailed, plain)
        )?;
        if lang == Language::Rust {
            let own = BuildHost {
                deps: build.deps.unshared(),
                ..build.clone()
            };
            let cold = timed_builds(&own, &dir, programs, &work.join("cold"), runs)?;
            writeln!(
                out,
                "marginal Rust build in the jail: {jailed:.2} s with the shared read-only dependencies, {cold:.2} s compiling its own ({:.1}x)",
                cold / jailed
            )?;
        }
    }
    let _ = crate::sandbox::jail::force_remove(&work);
    Ok(())
}
