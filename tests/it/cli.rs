//! The command line: lab lookup, configuration errors, seeds, infrastructure faults.

use grader::report::GradeReport;

use crate::util::{
    assert_exit, course_copy, grade_in, grade_json, grader, report_in, root, tempdir, text,
};

#[test]
fn list_shows_every_lab_with_its_points() {
    let out = grader(&root(), &["list"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("lab1") && stdout.contains("msgq"),
        "{stdout}"
    );
    assert!(stdout.contains("points"), "{stdout}");
}

#[test]
fn unknown_lab_is_a_usage_error_naming_the_known_ones() {
    let out = grader(&root(), &["lab99"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("no lab named `lab99`") && stderr.contains("lab1 (msgq)"),
        "{stderr}"
    );
}

/// A copy of the course whose course.toml has a typo.
#[test]
fn broken_course_toml_names_file_line_and_key() {
    let dir = tempdir("broken-course");
    std::fs::create_dir_all(&dir).unwrap();
    let text_ok = std::fs::read_to_string(root().join("course.toml")).unwrap();
    let broken = text_ok.replacen("memory_mb = 256", "memory_mb = 256\nmemroy_mb = 1", 1);
    let line = broken
        .lines()
        .position(|l| l.starts_with("memroy_mb"))
        .unwrap()
        + 1;
    std::fs::write(dir.join("course.toml"), broken).unwrap();
    let out = grader(&dir, &["list"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains(&format!("course.toml:{line}: unknown field `memroy_mb`")),
        "{stderr}"
    );
}

#[test]
fn same_seed_same_parameters_other_seed_other_parameters() {
    let sub = root().join("solutions/lab1-msgq/c");
    let (a, _) = grade_json("lab1", &sub, "local", 11);
    let (b, _) = grade_json("msgq", &sub, "local", 11);
    let (c, _) = grade_json("lab1", &sub, "local", 12);
    assert_eq!(a.seed, 11);
    assert!(!a.params.is_empty());
    assert_eq!(
        a.params, b.params,
        "same seed must draw the same parameters"
    );
    assert_ne!(
        a.params, c.params,
        "another seed must draw other parameters"
    );
    assert_eq!(a.score, a.max_score, "{:#?}", a.tests);
}

#[test]
fn a_guest_that_cannot_boot_is_not_gradable_never_zero() {
    // Same course, but a guest with too little memory to boot: an infrastructure fault.
    let dir = course_copy("tiny-guest", |t| {
        t.replacen("memory_mb = 256", "memory_mb = 16", 1)
    });
    let sub = root().join("solutions/lab1-msgq/c");
    let report = report_in(&dir, "lab1", &sub, &[], 3);
    assert!(!report.gradable);
    assert!(report.tests.is_empty());
    assert!(report.not_gradable_reason.is_some());
}

/// `--lang c` grades the lab's C skeleton, `--lang rust` its crate; the C skeleton builds
/// and scores below max.
#[test]
fn lang_picks_the_skeleton_of_that_language() {
    let args = |lang| {
        [
            "lab1",
            "--lang",
            lang,
            "--backend",
            "local",
            "--format",
            "json",
            "--quiet",
        ]
    };
    let out = grader(&root(), &args("c"));
    let (stdout, stderr) = text(&out);
    let report: GradeReport =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert!(
        report.submission.ends_with("labs/lab1-msgq/c"),
        "{}",
        report.submission
    );
    assert_eq!(report.language, Some(grader::build::Language::C));
    assert!(
        report.build.ok && report.score < report.max_score,
        "{}",
        report.build.log
    );
    let out = grader(&root(), &args("rust"));
    let report: GradeReport = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report.submission.ends_with("labs/lab1-msgq"),
        "{}",
        report.submission
    );
    assert_eq!(report.language, Some(grader::build::Language::Rust));
    assert!(report.build.ok, "{}", report.build.log);
}

/// Run from inside `labs/lab1-msgq/c`, a plain `cargo grader lab1` grades the C skeleton.
#[test]
fn the_skeleton_holding_the_working_directory_is_the_default() {
    let cwd = root().join("labs/lab1-msgq/c");
    let out = grader(
        &cwd,
        &["lab1", "--backend", "local", "--format", "json", "--quiet"],
    );
    let report: GradeReport = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report.submission.ends_with("labs/lab1-msgq/c"),
        "{}",
        report.submission
    );
    assert_eq!(report.language, Some(grader::build::Language::C));
}

/// With `--submission`, the language is detected, and a `--lang` that disagrees is a
/// usage error saying what the directory holds.
#[test]
fn lang_must_agree_with_the_submission() {
    let sub = root().join("solutions/lab1-msgq/c");
    let out = grade_in(
        &root(),
        "lab1",
        &sub,
        &["--lang", "rust", "--backend", "local"],
    );
    let (_, stderr) = assert_exit(&out, 2);
    assert!(
        stderr.contains("--lang rust does not match") && stderr.contains("solutions/lab1-msgq/c"),
        "{stderr}"
    );
    assert!(stderr.contains("C sources"), "{stderr}");
    let (report, out) = grade_json("lab1", &sub, "local", 3);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report.language, Some(grader::build::Language::C));
    let out = grader(&root(), &["lab7", "--lang", "c", "--backend", "local"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("lab7 has no c skeleton"), "{stderr}");
}

/// The self-check grades every skeleton of a lab, Rust and C, beside its solutions.
#[test]
fn check_grades_the_c_skeleton_beside_the_rust_one() {
    let out = grader(&root(), &["check", "lab2", "--backend", "local"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for (dir, want) in [
        ("labs/lab2-shm ", "want builds, below max"),
        ("labs/lab2-shm/c ", "want builds, below max"),
        ("solutions/lab2-shm/c ", "want full marks"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.contains(dir))
            .unwrap_or_else(|| panic!("no {dir}:\n{stdout}"));
        assert!(line.starts_with("ok") && line.contains(want), "{line}");
    }
    assert!(stdout.contains("check: 4 passed, 0 failed"), "{stdout}");
}
