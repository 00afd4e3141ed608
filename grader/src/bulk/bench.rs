//! `cargo grader bench-bulk`: how fast this machine grades a class (a generated one,
//! submissions per minute, checked against its expected verdicts), and what the shared
//! read-only dependency artefacts buy a Rust submission: its marginal build time with
//! them, versus compiling its own, and two builds at once (no lock: they overlap).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::class::{self, ClassOptions};
use super::{BulkOptions, Summary};
use crate::build::{self, BuildHost, BuildRequest};
use crate::course::{Course, LabEntry};
use crate::fixture::Fixture;
use crate::progress::BulkProgress;
use crate::session::{scratch_dir, BackendChoice, SandboxFactory};

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Lab id or name.
    pub lab: String,
    /// Students in the generated class (0: only the build measurements).
    pub size: usize,
    /// Parallel gradings.
    pub jobs: usize,
    /// Where scenarios run.
    pub backend: BackendChoice,
    /// Build without the jail when it cannot be made.
    pub unsafe_host_build: bool,
}

/// Runs both measurements and prints them.
pub fn run(course: &Course, opts: &BenchOptions, out: &mut dyn Write) -> Result<()> {
    let lab = course.lab(&opts.lab)?.clone();
    let dir = scratch_dir(course, "bench-bulk")?;
    if opts.size > 0 {
        throughput(course, opts, &dir, out)?;
    }
    let host = crate::session::build_host(course, opts.unsafe_host_build)?;
    rust_builds(&host, course, &lab, &dir, out)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn throughput(course: &Course, opts: &BenchOptions, dir: &Path, out: &mut dyn Write) -> Result<()> {
    let class_dir = dir.join("class");
    class::generate(
        course,
        &ClassOptions {
            lab: opts.lab.clone(),
            out: class_dir.clone(),
            size: opts.size,
        },
    )?;
    let bulk = BulkOptions {
        lab: opts.lab.clone(),
        submissions: class_dir.join("submissions"),
        out: dir.join("results"),
        jobs: opts.jobs,
        backend: opts.backend,
        seed: Some(1),
        similarity: None,
        retries: 1,
        quiet: true,
        unsafe_host_build: opts.unsafe_host_build,
    };
    // The guest image and the agent are prepared before the clock starts.
    SandboxFactory::new(
        course,
        opts.backend,
        true,
        opts.unsafe_host_build,
        &Default::default(),
    )?;
    let t = Instant::now();
    let summary: Summary = super::run(
        course,
        &bulk,
        &mut BulkProgress::new(Box::new(std::io::sink()), false, true),
    )?;
    let secs = t.elapsed().as_secs_f64();
    let bad = class::check(course, &class_dir, &bulk.out)?;
    writeln!(
        out,
        "bulk {}: {} submissions in {secs:.1} s with {} job(s) on the {:?} backend: {:.1} submissions/minute",
        opts.lab,
        summary.rows.len(),
        opts.jobs,
        opts.backend,
        summary.rows.len() as f64 * 60.0 / secs
    )?;
    writeln!(out, "  {}", summary.line())?;
    let (restored, cold) = guest_starts(&bulk.out);
    if restored + cold > 0 {
        writeln!(
            out,
            "  guests: {restored} restored from the snapshot, {cold} booted cold"
        )?;
    }
    match bad.len() {
        0 => writeln!(out, "  every gradebook row matches the expected verdict")?,
        n => writeln!(
            out,
            "  {n} mismatch(es) with the expected verdicts, first: {}",
            bad[0]
        )?,
    }
    Ok(())
}

/// How the graded students' guests started, from their reports: (restored, cold).
fn guest_starts(results: &Path) -> (usize, usize) {
    let Ok(students) = std::fs::read_dir(results.join("students")) else {
        return (0, 0);
    };
    let mut counts = (0, 0);
    for student in students.flatten() {
        let Ok(bytes) = std::fs::read(student.path().join("report.json")) else {
            continue;
        };
        let Ok(report) = serde_json::from_slice::<crate::report::GradeReport>(&bytes) else {
            continue;
        };
        match report.guest_start {
            Some(crate::report::GuestStart::Restored) => counts.0 += 1,
            Some(crate::report::GuestStart::Cold) => counts.1 += 1,
            None => {}
        }
    }
    counts
}

/// A full-marks Rust fixture of the lab, materialized `n` times (distinct directories,
/// so cargo sees distinct packages and really compiles each).
fn rust_copies(course: &Course, lab: &LabEntry, dir: &Path, n: usize) -> Result<Vec<PathBuf>> {
    let fx = crate::fixture::discover(&course.root.join("tests/fixtures"))
        .into_iter()
        .filter_map(|d| Fixture::load(&d).ok())
        .find(|f| {
            f.lab == lab.id
                && f.expect.build == "ok"
                && f.stack(&course.root)
                    .is_ok_and(|s| s.has_file(Path::new("Cargo.toml")))
        })
        .with_context(|| format!("{} has no Rust fixture that builds", lab.id))?;
    (0..n)
        .map(|i| {
            let d = dir.join(format!("rust-{i}"));
            fx.materialize(&course.root, &d)?;
            Ok(d)
        })
        .collect()
}

fn timed_build(host: &BuildHost, sub: &Path, work: &Path, programs: &[String]) -> Result<Duration> {
    let t = Instant::now();
    let b = build::build(&BuildRequest {
        submission: sub,
        programs,
        work,
        skip: &[],
        host,
    })?;
    anyhow::ensure!(b.ok, "the Rust build failed:\n{}", b.log);
    Ok(t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rust_builds(
    host: &BuildHost,
    course: &Course,
    lab: &LabEntry,
    dir: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    const RUNS: usize = 3;
    let spec = crate::ipclab::load_spec(course, lab)?;
    let programs = &spec.spec.programs;
    let subs = rust_copies(course, lab, dir, RUNS + 3)?;
    let own = BuildHost {
        deps: host.deps.unshared(),
        ..host.clone()
    };
    // Prepares the shared dependencies, as any earlier grading did.
    timed_build(host, &subs[0], &dir.join("b0"), programs)?;
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for (i, sub) in subs[1..=RUNS].iter().enumerate() {
        warm.push(timed_build(
            host,
            sub,
            &dir.join(format!("w{i}")),
            programs,
        )?);
        cold.push(timed_build(
            &own,
            sub,
            &dir.join(format!("c{i}")),
            programs,
        )?);
    }
    let (warm, cold) = (median(warm), median(cold));
    writeln!(
        out,
        "marginal build of a Rust submission (median of {RUNS}): {:.2} s with the shared read-only dependencies, {:.2} s compiling its own ({:.1}x)",
        warm.as_secs_f64(),
        cold.as_secs_f64(),
        cold.as_secs_f64() / warm.as_secs_f64()
    )?;
    let t = Instant::now();
    let span = |sub: &Path, work: PathBuf| -> Result<(f64, f64)> {
        let d = timed_build(host, sub, &work, programs)?;
        let end = t.elapsed();
        Ok(((end - d).as_secs_f64(), end.as_secs_f64()))
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| span(&subs[RUNS + 1], dir.join("p0")));
        let b = s.spawn(|| span(&subs[RUNS + 2], dir.join("p1")));
        (
            a.join().expect("build thread"),
            b.join().expect("build thread"),
        )
    });
    let (a, b) = (a?, b?);
    writeln!(
        out,
        "two Rust builds at once, each in its own jail and target directory: {:.2} s wall (one from {:.2} to {:.2} s, the other from {:.2} to {:.2} s; one alone: {:.2} s)",
        t.elapsed().as_secs_f64(),
        a.0,
        a.1,
        b.0,
        b.1,
        warm.as_secs_f64()
    )?;
    Ok(())
}
