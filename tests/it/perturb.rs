//! Seeded schedule perturbation (`--perturb`): a racy submission loses its race the same
//! way under the same seed, a reference solution keeps full marks, and the reports say
//! the run was perturbed and how to replay it.

use grader::fixture::Fixture;
use grader::report::GradeReport;

use crate::util::{grade_json_with, grader, root, tempdir, text};

/// The lab 3 racy fixture (the counter zeroed after the forks), materialised.
fn racy() -> std::path::PathBuf {
    let fx = Fixture::load(&root().join("tests/fixtures/lab3/racy-counter-reset")).unwrap();
    let sub = tempdir("perturb-racy");
    fx.materialize(&root(), &sub).unwrap();
    sub
}

fn scenario<'a>(r: &'a GradeReport, name: &str) -> &'a grader::score::TestResult {
    r.tests.iter().find(|t| t.name == name).unwrap()
}

/// Three runs with `--perturb --seed 11`: the same scenario fails every time, for the
/// same reason, and each report names the perturbation and its seed.
#[test]
fn a_racy_submission_fails_the_same_way_every_time_under_one_seed() {
    let sub = racy();
    for run in 0..3 {
        let (r, out) = grade_json_with("lab3", &sub, "qemu", 11, &["--perturb"]);
        assert_eq!(out.status.code(), Some(1), "run {run}");
        let p = r
            .perturbation
            .expect("the report says the run was perturbed");
        assert_eq!((r.seed, p.seed), (11, 11), "run {run}");
        let failed: Vec<&str> = r
            .tests
            .iter()
            .filter(|t| t.score < t.max_score)
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(failed, ["mutual_exclusion"], "run {run}");
        let t = scenario(&r, "mutual_exclusion");
        assert!(t.message.contains("total="), "run {run}: {}", t.message);
    }
}

/// The human report says the schedule was perturbed, and how to replay a failure.
#[test]
fn the_human_report_of_a_perturbed_failure_says_how_to_replay_it() {
    let sub = racy();
    let out = grader(
        &root(),
        &[
            "lab3",
            "--submission",
            sub.to_str().unwrap(),
            "--perturb",
            "--seed",
            "11",
            "--quiet",
        ],
    );
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("schedule perturbed from seed 11"),
        "{stdout}"
    );
    let fail = stdout
        .lines()
        .skip_while(|l| !l.contains("mutual_exclusion"))
        .take(4)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        fail.contains("replay: cargo grader lab3 --perturb --seed 11"),
        "{stdout}"
    );
}

/// The reference solution (C) holds whatever the schedule: full marks perturbed.
#[test]
fn the_reference_solution_keeps_full_marks_perturbed() {
    let sol = root().join("solutions/lab3-sem/c");
    let (r, out) = grade_json_with("lab3", &sol, "qemu", 11, &["--perturb"]);
    assert!(r.perturbation.is_some());
    let lost: Vec<String> = r
        .tests
        .iter()
        .filter(|t| t.score < t.max_score)
        .map(|t| format!("{}: {}", t.name, t.message))
        .collect();
    assert_eq!(r.score, r.max_score, "{lost:#?}");
    assert_eq!(out.status.code(), Some(0));
}
