//! The command line: lab lookup, configuration errors, seeds, infrastructure faults.

use crate::util::{grade_json, grader, root, tempdir, text};

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
    let dir = tempdir("tiny-guest");
    std::fs::create_dir_all(&dir).unwrap();
    // Same course, but a guest with too little memory to boot: an infrastructure fault.
    let course = std::fs::read_to_string(root().join("course.toml"))
        .unwrap()
        .replacen("memory_mb = 256", "memory_mb = 16", 1);
    std::fs::write(dir.join("course.toml"), course).unwrap();
    for entry in [
        "labs",
        "solutions",
        "vm-images",
        "grader",
        "target",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        let _ = std::os::unix::fs::symlink(root().join(entry), dir.join(entry));
    }
    let sub = root().join("solutions/lab1-msgq/c");
    let out = grader(
        &dir,
        &[
            "lab1",
            "--submission",
            sub.to_str().unwrap(),
            "--format",
            "json",
            "--quiet",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let report: grader::report::GradeReport = serde_json::from_str(&stdout).unwrap();
    assert!(!report.gradable);
    assert!(report.tests.is_empty());
    assert!(report.not_gradable_reason.is_some());
}
