//! `cargo grader calibrate [LAB…]`: runs each scenario lab's reference solutions a few
//! times, in the guest and locally, to the spec's own deadlines, and writes the longest
//! wall and CPU time of each scenario to the lab's `timings.toml` (see [`crate::timings`]),
//! from which gradings take their deadlines.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Context, Result};

use crate::course::{Course, LabEntry, LabKind};
use crate::events::Discard;
use crate::grade;
use crate::lab::GradeOptions;
use crate::report::{Backend, GradeReport};
use crate::session::{make_sandbox, scratch_dir, BackendChoice, GuestStartOptions};
use crate::spec::LabSpec;
use crate::timings::{Measured, ScenarioTimes, Timings, FORMAT_VERSION};

/// Measures `labs` (every scenario lab when empty) `runs` times per reference solution
/// and backend, and writes their timings; says what it measured on `out`.
pub fn run(
    course: &Course,
    labs: &[String],
    runs: u32,
    build: &crate::build::BuildHost,
    out: &mut dyn Write,
) -> Result<()> {
    let selected: Vec<&LabEntry> = if labs.is_empty() {
        course
            .labs
            .iter()
            .filter(|l| l.kind == LabKind::Ipc)
            .collect()
    } else {
        labs.iter()
            .map(|n| course.lab(n))
            .collect::<Result<_, _>>()?
    };
    let work = scratch_dir(course, "calibrate")?;
    let start = GuestStartOptions::default();
    let mut sandboxes = Vec::new();
    for choice in [BackendChoice::Qemu, BackendChoice::Local] {
        let dir = work.join(format!("{choice:?}"));
        sandboxes.push(make_sandbox(course, choice, &dir, true, build, &start)?);
    }
    for lab in selected {
        if lab.kind != LabKind::Ipc {
            bail!(
                "{} drives QEMU itself: it has no scenario deadlines to calibrate",
                lab.id
            );
        }
        let pinned = crate::ipclab::load_spec(course, lab)?;
        let mut timings = Timings {
            format_version: FORMAT_VERSION,
            spec_sha256: pinned.sha256.clone(),
            measured: describe_machine(runs, lab.solutions.len()),
            scenario: BTreeMap::new(),
        };
        for sandbox in &sandboxes {
            for dir in &lab.solutions {
                for _ in 0..runs {
                    let opts = GradeOptions {
                        submission: course.path(dir),
                        seed: None,
                        perturb: false,
                        work: work.join(&lab.id),
                        build: build.clone(),
                        spec_deadlines: true,
                    };
                    let r = grade::grade_any(course, lab, sandbox.as_ref(), &opts, &mut Discard)?;
                    if !r.gradable || r.score != r.max_score {
                        bail!(
                            "{} scored {}/{} on the {:?} backend{}: calibrating needs the reference solutions at full marks (see `cargo grader check {}`)",
                            dir.display(), r.score, r.max_score, r.backend,
                            r.not_gradable_reason.map(|w| format!(" ({w})")).unwrap_or_default(),
                            lab.id
                        );
                    }
                    record(&mut timings, &pinned.spec, &r);
                }
            }
        }
        let path = crate::timings::path_for(&course.path(&lab.spec));
        std::fs::write(&path, timings.to_toml())
            .with_context(|| format!("failed to write {}", path.display()))?;
        summarise(&mut *out, lab, &pinned.spec, &timings)?;
        writeln!(out, "wrote {}", path.display())?;
    }
    let _ = crate::sandbox::jail::force_remove(&work);
    Ok(())
}

/// Adds one report's times (the larger of each scenario's so far).
fn record(timings: &mut Timings, spec: &LabSpec, r: &GradeReport) {
    for t in &r.tests {
        let round_trips = spec
            .scenarios
            .iter()
            .find(|s| s.name == t.name)
            .and_then(|s| s.audit.round_trips.as_ref())
            .and_then(|rt| rt.count.resolve(&r.params).ok())
            .map(|n| n.max(0) as u64);
        let m = Measured {
            wall_ms: t.duration_ms,
            cpu_ms: t.cpu_ms,
            round_trips,
        };
        let entry = timings.scenario.entry(t.name.clone()).or_default();
        let slot = match r.backend {
            Backend::Qemu => &mut entry.guest,
            _ => &mut entry.local,
        };
        *slot = Some(slot.map_or(m, |old: Measured| old.max(m)));
    }
}

fn describe_machine(runs: u32, solutions: usize) -> String {
    // SAFETY: sysconf takes a plain constant.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    format!(
        "{} CPU(s), {runs} run(s) of each of {solutions} reference solution(s) per backend, grader {}",
        cpus,
        env!("CARGO_PKG_VERSION")
    )
}

/// One line per scenario: what was measured and the deadline it gives, beside the spec's.
fn summarise(out: &mut dyn Write, lab: &LabEntry, spec: &LabSpec, t: &Timings) -> Result<()> {
    writeln!(out, "{} — deadlines in the guest (and locally):", lab.id)?;
    for s in &spec.scenarios {
        let Some(times) = t.scenario.get(&s.name) else {
            continue;
        };
        let show = |m: Option<Measured>, floor| {
            m.map_or("-".to_string(), |m| {
                format!(
                    "{} ms (wall {} ms, cpu {} ms)",
                    m.deadline_ms(floor, m.round_trips),
                    m.wall_ms,
                    m.cpu_ms
                )
            })
        };
        let ScenarioTimes { guest, local } = times;
        writeln!(
            out,
            "  {:<22} {}  (local {}); spec {} s",
            s.name,
            show(*guest, crate::timings::GUEST_FLOOR_MS),
            show(*local, crate::timings::LOCAL_FLOOR_MS),
            s.timeout.0.as_secs_f64()
        )?;
    }
    Ok(())
}
