//! `cargo grader bench`: how long grading a lab's reference solution takes in a guest
//! restored from its snapshot, in a guest booted cold, and on the host; the ratios; how
//! fast a restored guest has its job; with `--phases`, where a guest's time goes; and
//! what the build jail costs: the build time of the lab's C and Rust solutions jailed
//! and on the host, and a Rust submission's marginal build with the shared dependencies
//! versus compiling its own. Numbers, not assertions: every run's verdict is checked,
//! the times are only printed.

mod broken;

pub use broken::broken;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::build::{self, BuildHost, BuildRequest, Language};
use crate::course::{Course, LabEntry};
use crate::events::Discard;
use crate::grade;
use crate::lab::GradeOptions;
use crate::report::{GradeReport, GuestPhases, GuestStart};
use crate::sandbox::jail::Confinement;
use crate::session::{make_sandbox, scratch_dir, BackendChoice, GuestStartOptions};

/// One way of running the gradings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Restored,
    Cold,
    Local,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Restored => "guest, restored",
            Mode::Cold => "guest, cold boot",
            Mode::Local => "local",
        }
    }
}

/// The timed gradings of one mode.
#[derive(Debug, Default)]
struct Sample {
    wall: Vec<f64>,
    guest: Vec<f64>,
    phases: Vec<GuestPhases>,
    starts: Vec<Option<GuestStart>>,
}

/// Each timed grading's guest start (QEMU spawn until the agent holds its job), in seconds.
fn start_secs(s: &Sample) -> Vec<f64> {
    s.phases
        .iter()
        .map(|p| p.start_ms as f64 / 1000.0)
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `/proc/loadavg`'s first three numbers: the figures mean little without them.
fn load() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Grades the lab's first solution `runs` times per mode, then times its builds, and
/// prints the medians.
pub fn run(
    course: &Course,
    lab: &str,
    runs: u32,
    phases: bool,
    build: &BuildHost,
    out: &mut dyn Write,
) -> Result<()> {
    let lab = course.lab(lab)?;
    let runs = runs.max(1);
    if lab.kind == crate::course::LabKind::Ipc {
        gradings(course, lab, runs, phases, build, out)?;
    }
    builds(course, lab, runs, build, out)
}

/// The gradings of the lab's first solution in each mode, and their ratios.
fn gradings(
    course: &Course,
    lab: &LabEntry,
    runs: u32,
    phases: bool,
    build: &BuildHost,
    out: &mut dyn Write,
) -> Result<()> {
    let solution = lab
        .solutions
        .first()
        .context("the lab lists no solution to benchmark")?;
    let submission = course.path(solution);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    writeln!(
        out,
        "bench {} ({}), {runs} timed run(s) per mode after one warm-up; {cores} cores, load average {} at start",
        lab.id,
        solution.display(),
        load()
    )?;
    let mut samples = Vec::new();
    for mode in [Mode::Restored, Mode::Cold, Mode::Local] {
        let sample = measure(course, lab, &submission, mode, runs, build, out)?;
        line(mode, &sample, runs, lab.id.as_str(), out)?;
        samples.push((mode, sample));
    }
    let wall = |m: Mode| {
        median(
            samples
                .iter()
                .find(|s| s.0 == m)
                .map_or(Vec::new(), |s| s.1.wall.clone()),
        )
    };
    let local = wall(Mode::Local);
    writeln!(
        out,
        "ratio guest/local: {:.2} restored, {:.2} cold boot",
        wall(Mode::Restored) / local,
        wall(Mode::Cold) / local
    )?;
    let ready = start_secs(&samples[0].1);
    let bare = restore_probe(course, runs)?;
    writeln!(
        out,
        "restore to agent ready (QEMU spawn until the agent holds its job): median {:.3} s with {}'s programs in the job (min {:.3}, max {:.3}); {:.3} s for an empty job (the rest is the programs' transfer over the virtio port)",
        median(ready.clone()),
        lab.id,
        ready.iter().cloned().fold(f64::INFINITY, f64::min),
        ready.iter().cloned().fold(0.0, f64::max),
        median(bare)
    )?;
    if phases {
        phase_table(&samples[0].1, &samples[1].1, out)?;
    }
    writeln!(out, "load average at end: {}", load())?;
    Ok(())
}

/// `runs` restores of the snapshot with an empty job (after one warm-up): from QEMU's
/// spawn until the agent holds the job, in seconds: the restore without the programs'
/// transfer.
fn restore_probe(course: &Course, runs: u32) -> Result<Vec<f64>> {
    use crate::sandbox::qemu;
    let sandbox = crate::session::guest_sandbox(course, true, &GuestStartOptions::default())?;
    let mut times = Vec::new();
    for i in 0..=runs {
        let frame = qemu::frame_for(&qemu::empty_job(), Vec::new())?;
        let run = sandbox
            .restore_once(frame)
            .map_err(|why| anyhow::anyhow!("the restore probe failed: {why}"))?;
        let hello = run
            .marks
            .hello
            .context("the restored agent never said hello")?;
        if i > 0 {
            times.push(hello.as_secs_f64());
        }
    }
    Ok(times)
}

/// A warm-up grading, then `runs` timed ones with seeds 1…runs.
fn measure(
    course: &Course,
    lab: &LabEntry,
    submission: &Path,
    mode: Mode,
    runs: u32,
    build: &BuildHost,
    out: &mut dyn Write,
) -> Result<Sample> {
    let work = scratch_dir(course, "bench")?;
    let backend = match mode {
        Mode::Local => BackendChoice::Local,
        _ => BackendChoice::Qemu,
    };
    let start = GuestStartOptions {
        cold_boot: mode == Mode::Cold,
        ..Default::default()
    };
    let sandbox = make_sandbox(course, backend, &work.join("sandbox"), true, build, &start)?;
    let grade_once = |name: String, seed: u64| -> Result<(GradeReport, f64)> {
        let opts = GradeOptions {
            submission: submission.to_owned(),
            seed: Some(seed),
            perturb: false,
            work: work.join(name),
            build: build.clone(),
            spec_deadlines: false,
        };
        let t = Instant::now();
        let r = grade::grade_any(course, lab, sandbox.as_ref(), &opts, &mut Discard)?;
        Ok((r, t.elapsed().as_secs_f64()))
    };
    // Warms the build cache, the image, the snapshot and the page cache.
    grade_once("warm".into(), 1)?;
    let mut sample = Sample::default();
    for i in 0..runs {
        let (r, secs) = grade_once(format!("run{i}"), u64::from(i) + 1)?;
        if r.score != r.max_score || !r.gradable {
            writeln!(
                out,
                "warning: {} run {i} scored {}/{} (gradable: {})",
                mode.name(),
                r.score,
                r.max_score,
                r.gradable
            )?;
        }
        if mode == Mode::Restored && r.guest_start != Some(GuestStart::Restored) {
            writeln!(
                out,
                "warning: restored run {i} booted cold: {}",
                r.notices.join("; ")
            )?;
        }
        sample.wall.push(secs);
        sample.guest.extend(r.guest_ms.map(|g| g as f64 / 1000.0));
        sample.phases.extend(r.guest_phases.clone());
        sample.starts.push(r.guest_start);
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(sample)
}

fn line(mode: Mode, s: &Sample, runs: u32, lab: &str, out: &mut dyn Write) -> Result<()> {
    let extra = if s.guest.is_empty() {
        String::new()
    } else {
        let start = start_secs(s);
        format!(
            ", of which guest start→poweroff {:.2} s (start until the agent has its job {:.2} s)",
            median(s.guest.clone()),
            median(start)
        )
    };
    writeln!(
        out,
        "{:<17} {lab} x{runs}: median {:.2} s per grading{extra}",
        mode.name(),
        median(s.wall.clone())
    )?;
    Ok(())
}

/// Median phase times of the cold and restored runs, in ms.
fn phase_table(restored: &Sample, cold: &Sample, out: &mut dyn Write) -> Result<()> {
    type Pick = fn(&GuestPhases) -> Option<u64>;
    let rows: [(&str, Pick); 9] = [
        (
            "QEMU start + firmware + kernel load (host - guest clock)",
            |p| p.qemu_firmware_ms,
        ),
        ("kernel boot until the agent starts (guest clock)", |p| {
            p.kernel_ms
        }),
        ("agent: mounts", |p| p.mounts_ms),
        ("agent: module loads", |p| p.modules_ms),
        ("agent: virtio port names", |p| p.ports_ms),
        ("spawn until the agent is ready (host)", |p| p.ready_ms),
        ("spawn until the agent has its job (host)", |p| {
            Some(p.start_ms)
        }),
        ("scenarios: job until the last event (host)", |p| {
            p.scenarios_ms
        }),
        ("poweroff: last event until QEMU is reaped (host)", |p| {
            p.poweroff_ms
        }),
    ];
    let med = |s: &Sample, pick: Pick| {
        let v: Vec<f64> = s.phases.iter().filter_map(pick).map(|v| v as f64).collect();
        if v.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.0}", median(v))
        }
    };
    writeln!(
        out,
        "phases (median ms)                                          cold  restored"
    )?;
    for (name, pick) in rows {
        writeln!(
            out,
            "  {name:<58} {:>5} {:>9}",
            med(cold, pick),
            med(restored, pick)
        )?;
    }
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

/// The lab's first solution in each language: (language, its course path, the
/// directory to build — materialised under `work` when it is stored as an overlay).
fn solutions(
    course: &Course,
    lab: &LabEntry,
    work: &Path,
) -> Result<Vec<(Language, PathBuf, PathBuf)>> {
    let mut out: Vec<(Language, PathBuf, PathBuf)> = Vec::new();
    for (i, s) in lab.solutions.iter().enumerate() {
        let dir = course.path(s);
        let staged = crate::overlay::stage(course, &dir, &work.join(format!("solution{i}")))?;
        if let Ok(lang) = build::detect(&staged.dir) {
            if !out.iter().any(|(l, ..)| *l == lang) {
                out.push((lang, dir, staged.dir));
            }
        }
    }
    Ok(out)
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
    for (lang, dir, tree) in solutions(course, lab, &work)? {
        let jailed = timed_builds(build, &tree, programs, &work.join("jailed"), runs)?;
        let plain = timed_builds(&host, &tree, programs, &work.join("host"), runs)?;
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
            let cold = timed_builds(&own, &tree, programs, &work.join("cold"), runs)?;
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
