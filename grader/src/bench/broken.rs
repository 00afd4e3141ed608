//! `cargo grader bench --broken LAB`: how long grading a broken program takes. Every
//! fixture of the lab (`tests/fixtures/LAB/*`: wrong output, a hang, a deadlock, a crash,
//! a leak, a memory hog, a missing program, an empty submission…) is graded once in a
//! restored guest and once locally; the median and the longest grading of each backend
//! are printed, with each fixture's time and whether its verdict was the expected one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::build::BuildHost;
use crate::course::Course;
use crate::events::Discard;
use crate::fixture::Fixture;
use crate::grade;
use crate::lab::GradeOptions;
use crate::sandbox::Sandbox;
use crate::session::{make_sandbox, scratch_dir, BackendChoice, GuestStartOptions};

/// One fixture's grading on one backend.
struct Timed {
    secs: f64,
    /// The verdict differed from the fixture's expectation (what differed).
    unexpected: Vec<String>,
}

/// Grades every fixture of `lab` in the guest and locally and prints the figures.
pub fn broken(course: &Course, lab: &str, build: &BuildHost, out: &mut dyn Write) -> Result<()> {
    let entry = course.lab(lab)?;
    let dir = course.root.join("tests/fixtures").join(&entry.id);
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("fixture.toml").is_file())
        .collect();
    fixtures.sort();
    if fixtures.is_empty() {
        anyhow::bail!("no fixture under {}", dir.display());
    }
    let work = scratch_dir(course, "bench-broken")?;
    writeln!(
        out,
        "bench --broken {}: {} fixtures, each graded once per backend; load average {} at start",
        entry.id,
        fixtures.len(),
        super::load()
    )?;
    let mut figures = Vec::new();
    for choice in [BackendChoice::Qemu, BackendChoice::Local] {
        let start = GuestStartOptions::default();
        let dir = work.join(format!("{choice:?}"));
        let sandbox = make_sandbox(course, choice, &dir, true, build, &start)?;
        let mut times = Vec::new();
        for f in &fixtures {
            let fx = Fixture::load(f).with_context(|| format!("fixture {}", f.display()))?;
            if fx.guest_only && choice == BackendChoice::Local {
                writeln!(
                    out,
                    "  {:<6} {:<28}  (guest only: not graded here)",
                    short(choice),
                    fx.name()
                )?;
                continue;
            }
            let t = grade_fixture(course, &fx, sandbox.as_ref(), &dir, build)?;
            let flag = if t.unexpected.is_empty() {
                String::new()
            } else {
                format!("  (verdict differs: {})", t.unexpected.join("; "))
            };
            writeln!(
                out,
                "  {:<6} {:<28} {:>6.1} s{flag}",
                short(choice),
                fx.name(),
                t.secs
            )?;
            times.push(t.secs);
        }
        figures.push((choice, times));
    }
    for (choice, times) in figures {
        let max = times.iter().copied().fold(0.0, f64::max);
        writeln!(
            out,
            "{} {}: median {:.1} s, max {:.1} s per grading ({} fixtures)",
            entry.id,
            short(choice),
            super::median(times.clone()),
            max,
            times.len()
        )?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn short(choice: BackendChoice) -> &'static str {
    match choice {
        BackendChoice::Qemu => "guest",
        BackendChoice::Local => "local",
    }
}

fn grade_fixture(
    course: &Course,
    fx: &Fixture,
    sandbox: &dyn Sandbox,
    work: &Path,
    build: &BuildHost,
) -> Result<Timed> {
    let sub = work.join("sub").join(fx.name());
    let _ = crate::sandbox::jail::force_remove(&sub);
    fx.materialize(&course.root, &sub)?;
    let lab = course.lab(&fx.lab)?;
    let opts = GradeOptions {
        submission: sub.clone(),
        seed: Some(4242),
        perturb: fx.perturb,
        work: work.join("run"),
        build: build.clone(),
        spec_deadlines: false,
    };
    let t = Instant::now();
    let report = grade::grade_any(course, lab, sandbox, &opts, &mut Discard)?;
    let secs = t.elapsed().as_secs_f64();
    let _ = crate::sandbox::jail::force_remove(&sub);
    // A fixture about one backend's containment says nothing of the other's verdicts.
    let unexpected = match fx.backend.as_deref() {
        Some(b) if b != short_backend(&report) => Vec::new(),
        _ => fx.check(&report),
    };
    Ok(Timed { secs, unexpected })
}

fn short_backend(r: &crate::report::GradeReport) -> &'static str {
    match r.backend {
        crate::report::Backend::Local => "local",
        _ => "qemu",
    }
}
