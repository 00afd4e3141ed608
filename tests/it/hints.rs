//! Hints in levels: the report shows the first level and the way to the next, `cargo
//! grader hint` reveals them in order and keeps the progress in the state file, the
//! course's `none` policy hides every hint in every format, `all` shows every level.

use grader::report::GradeReport;

use crate::util::{course_copy, grader_with_state, root, tempdir, text};

const SCENARIO: &str = "recv_type_negative";

/// The wrong-type fixture (recv passes |type|): only recv_type_negative fails.
fn wrong_type() -> std::path::PathBuf {
    let fx =
        grader::fixture::Fixture::load(&root().join("tests/fixtures/lab1/wrong-type")).unwrap();
    let sub = tempdir("lab1-wrong-type");
    fx.materialize(&root(), &sub).unwrap();
    sub
}

fn grade(
    cwd: &std::path::Path,
    sub: &std::path::Path,
    state: &std::path::Path,
    format: &str,
) -> String {
    let args = [
        "lab1",
        "--submission",
        sub.to_str().unwrap(),
        "--backend",
        "local",
        "--seed",
        "5",
        "--quiet",
        "--format",
        format,
    ];
    let out = grader_with_state(cwd, &args, state);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    stdout
}

fn levels(report: &str) -> Vec<String> {
    let r: GradeReport = serde_json::from_str(report).unwrap();
    r.tests
        .iter()
        .find(|t| t.name == SCENARIO)
        .unwrap()
        .hints
        .clone()
}

#[test]
fn the_hint_command_reveals_the_levels_in_order_and_reports_follow_it() {
    let state = tempdir("hints-state").join(".grader/state.json");
    let sub = wrong_type();
    let human = grade(&root(), &sub, &state, "human");
    assert!(human.contains("      hint 1/3: A negative type"), "{human}");
    assert!(!human.contains("hint 2/3"), "{human}");
    assert!(
        human.contains(&format!("      more: cargo grader hint lab1 {SCENARIO}")),
        "{human}"
    );
    let reveal = |want: &str| {
        let out = grader_with_state(&root(), &["hint", "lab1", SCENARIO], &state);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains(want), "want {want:?} in:\n{stdout}");
        stdout
    };
    let second = reveal("  hint 2/3: Pass TYPE to msgrcv exactly as given");
    assert!(
        second.contains("1 more: cargo grader hint lab1"),
        "{second}"
    );
    let saved = std::fs::read_to_string(&state).unwrap();
    let v: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(v["format_version"], 2);
    assert_eq!(v["labs"]["lab1"]["revealed"][SCENARIO], 2, "{saved}");
    let best = &v["labs"]["lab1"]["best"];
    assert!(
        best["score"].as_u64().unwrap() < best["max_score"].as_u64().unwrap(),
        "the human run's score is kept: {saved}"
    );
    reveal("that was the last hint for recv_type_negative (3/3)");
    reveal("no more hints for recv_type_negative: all 3 are shown");
    let json = grade(&root(), &sub, &state, "json");
    assert_eq!(levels(&json).len(), 3, "{json}");
    let junit = grade(&root(), &sub, &state, "junit");
    assert!(
        junit.contains("A negative type") && !junit.contains("Pass TYPE"),
        "CI formats stay at level 1:\n{junit}"
    );
    let listing = grader_with_state(&root(), &["hint", "lab1"], &state);
    let (stdout, _) = text(&listing);
    let line = stdout.lines().find(|l| l.contains(SCENARIO)).unwrap();
    assert!(line.ends_with("3/3"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("ftok") && l.ends_with("1/3")),
        "{stdout}"
    );
    let out = grader_with_state(&root(), &["progress"], &state);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let want = format!(
        "  lab1  msgq    best {}/{} on ",
        best["score"], best["max_score"]
    );
    assert!(stdout.contains(&want), "want {want:?} in:\n{stdout}");
    assert!(
        stdout.contains("  lab2  shm     not graded yet"),
        "{stdout}"
    );
}

#[test]
fn a_corrupted_state_file_is_a_warning_and_a_fresh_start() {
    let state = tempdir("hints-corrupt").join("state.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(&state, "{ not json").unwrap();
    let out = grader_with_state(&root(), &["hint", "lab1", "rm"], &state);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: ignoring the student state in")
            && stderr.contains("not a valid state file"),
        "{stderr}"
    );
    assert!(stdout.contains("hint 2/3"), "{stdout}");
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(
        saved.contains("\"rm\": 2"),
        "the file is rewritten: {saved}"
    );
}

#[test]
fn an_unknown_scenario_names_the_lab_and_its_scenarios() {
    let state = tempdir("hints-unknown").join("state.json");
    let out = grader_with_state(&root(), &["hint", "lab1", "nope"], &state);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("lab1 has no scenario `nope`") && stderr.contains("recv_nowait"),
        "{stderr}"
    );
}

#[test]
fn policy_none_hides_every_hint_in_every_format_and_refuses_the_command() {
    let course = course_copy("hints-none", |t| {
        t.replace("hints = \"levels\"", "hints = \"none\"")
    });
    let state = tempdir("hints-none-state").join("state.json");
    let sub = wrong_type();
    let human = grade(&course, &sub, &state, "human");
    assert!(
        human.contains(SCENARIO) && !human.contains("hint"),
        "{human}"
    );
    let json = grade(&course, &sub, &state, "json");
    let r: GradeReport = serde_json::from_str(&json).unwrap();
    assert!(
        r.tests
            .iter()
            .all(|t| t.hint.is_none() && t.hints.is_empty() && t.hint_levels == 0),
        "{json}"
    );
    for format in ["junit", "gradescope", "github"] {
        let out = grade(&course, &sub, &state, format);
        assert!(
            !out.contains("hint") && !out.contains("A negative type does not mean"),
            "{format}:\n{out}"
        );
    }
    let out = grader_with_state(&course, &["hint", "lab1", SCENARIO], &state);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("this course shows no hints"), "{stderr}");
}

#[test]
fn policy_all_shows_every_level_at_once() {
    let course = course_copy("hints-all", |t| {
        t.replace("hints = \"levels\"", "hints = \"all\"")
    });
    let state = tempdir("hints-all-state").join("state.json");
    let junit = grade(&course, &wrong_type(), &state, "junit");
    assert!(
        junit.contains("A negative type") && junit.contains("Passing |t| waits"),
        "{junit}"
    );
}
