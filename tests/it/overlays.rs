//! Solutions stored as overlays: graded materialised under their own name, written out by
//! `cargo grader solution`, and never honoured in a student's submission.

use crate::util::{grade_json, grader, root, tempdir, text};

#[test]
fn a_rust_solution_stored_as_an_overlay_scores_full_marks_under_its_own_name() {
    let sub = root().join("solutions/lab1-msgq/rust");
    assert!(sub.join("overlay.toml").is_file());
    let (report, out) = grade_json("lab1", &sub, "local", 5);
    assert_eq!(
        report.score,
        report.max_score,
        "{:#?}\n{}",
        report.tests,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report.language, Some(grader::build::Language::Rust));
    assert!(
        report.submission.ends_with("solutions/lab1-msgq/rust"),
        "{}",
        report.submission
    );
    assert!(report.notices.is_empty(), "{:?}", report.notices);
}

/// A student's skeleton with an `overlay.toml` claiming the reference solution as its
/// base is graded as the skeleton it is.
#[test]
fn a_students_overlay_toml_naming_the_solution_is_ignored() {
    let sub = tempdir("student-overlay");
    grader::build::copy_tree(&root().join("labs/lab1-msgq"), &sub, &[]).unwrap();
    std::fs::write(
        sub.join("overlay.toml"),
        "format_version = 1\nbase = \"solutions/lab1-msgq/rust\"\n",
    )
    .unwrap();
    let (report, _) = grade_json("lab1", &sub, "local", 5);
    assert!(report.build.ok, "{}", report.build.log);
    assert!(
        report.score < report.max_score,
        "the skeleton, not the solution"
    );
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("overlay.toml was ignored")),
        "{:?}",
        report.notices
    );
}

#[test]
fn solution_writes_the_materialised_crate_and_refuses_a_full_directory() {
    let out_dir = tempdir("solution-out");
    let out = grader(
        &root(),
        &[
            "solution",
            "lab1",
            "--lang",
            "rust",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("solutions/lab1-msgq/rust"), "{stdout}");
    let same = |written: &str, stored: &str| {
        assert_eq!(
            std::fs::read(out_dir.join(written)).unwrap(),
            std::fs::read(root().join(stored)).unwrap(),
            "{written}"
        );
    };
    same("src/queue.rs", "solutions/lab1-msgq/rust/src/queue.rs");
    same("src/cli.rs", "labs/lab1-msgq/src/cli.rs");
    same("Cargo.toml", "labs/lab1-msgq/Cargo.toml");
    assert!(!out_dir.join("overlay.toml").exists());
    let again = grader(
        &root(),
        &["solution", "lab1", "--out", out_dir.to_str().unwrap()],
    );
    let (_, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr.contains("not empty"), "{stderr}");
}
