//! `cargo grader bench`: how long grading a lab's reference solution takes in the guest
//! versus on the host, and the ratio. Numbers, not assertions.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::course::Course;
use crate::events::Discard;
use crate::grade;
use crate::lab::GradeOptions;
use crate::session::{make_sandbox, scratch_dir, BackendChoice};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Grades the lab's first solution `runs` times per backend and prints the medians.
pub fn run(course: &Course, lab: &str, runs: u32, out: &mut dyn Write) -> Result<()> {
    let lab = course.lab(lab)?;
    let solution = lab
        .solutions
        .first()
        .context("the lab lists no solution to benchmark")?;
    let submission = course.path(solution);
    let runs = runs.max(1);
    let mut medians = Vec::new();
    for backend in [BackendChoice::Qemu, BackendChoice::Local] {
        let work = scratch_dir(course, "bench")?;
        let sandbox = make_sandbox(course, backend, &work.join("sandbox"), true)?;
        // One untimed run warms the build cache and the image.
        let opts = GradeOptions {
            submission: submission.clone(),
            seed: Some(1),
            work: work.join("warm"),
        };
        grade::grade_any(course, lab, sandbox.as_ref(), &opts, &mut Discard)?;
        let mut times = Vec::new();
        let mut guest = Vec::new();
        for i in 0..runs {
            let opts = GradeOptions {
                submission: submission.clone(),
                seed: Some(u64::from(i) + 1),
                work: work.join(format!("run{i}")),
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
        let _ = std::fs::remove_dir_all(&work);
    }
    writeln!(out, "ratio qemu/local: {:.2}", medians[0] / medians[1])?;
    Ok(())
}
