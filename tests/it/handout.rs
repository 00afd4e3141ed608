//! `cargo grader handout`: the starter repository holds the labs handed out and what
//! grading them needs, no file of `solutions/` or `tests/fixtures` (by name or by
//! content), and `cargo grader` works inside it.

use std::collections::BTreeSet;
use std::path::Path;

use grader::report::GradeReport;

use crate::util::{grader, root, tempdir, text, tree_digest};

fn handout(labs: &[&str]) -> std::path::PathBuf {
    let out = tempdir("handout");
    let mut args = vec!["handout"];
    args.extend_from_slice(labs);
    args.extend([
        "--out",
        out.to_str().unwrap(),
        "--course-repo",
        "uni/os-course",
    ]);
    let run = grader(&root(), &args);
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("handout of lab1, lab2 written to"),
        "{stdout}"
    );
    out
}

/// Content hashes of every file under the course's `dirs`.
fn hashes(dirs: &[&str]) -> BTreeSet<String> {
    dirs.iter()
        .flat_map(|d| tree_digest(&root().join(d)).into_values())
        .map(|(_, hash)| hash)
        .collect()
}

#[test]
fn a_handout_leaks_no_solution_or_fixture_and_lists_only_its_labs() {
    let out = handout(&["lab2", "lab1"]);
    let secret = hashes(&["solutions", "tests/fixtures"]);
    assert!(secret.len() > 50, "the course has solutions and fixtures");
    let files = tree_digest(&out);
    for (path, (_, hash)) in &files {
        let p = path.to_string_lossy();
        assert!(
            !p.contains("solutions") && !p.contains("fixtures") && !p.starts_with("tests"),
            "{p} is handed out"
        );
        assert!(
            !secret.contains(hash),
            "{p} has the content of a solution or fixture file"
        );
    }
    for want in [
        "labs/lab1-msgq/src/queue.rs",
        "labs/lab1-msgq/c/msgq.c",
        "labs/lab1-msgq/README.md",
        "labs/lab2-shm/lab.toml",
        "grader/src/main.rs",
        "vm-images/image.toml",
        ".github/workflows/grade.yml",
        "Cargo.lock",
        ".cargo/config.toml",
    ] {
        assert!(files.contains_key(Path::new(want)), "{want} missing");
    }
    assert!(!out.join("labs/lab3-sem").exists());
    let course = grader::course::Course::load(&out.join("course.toml")).unwrap();
    let ids: Vec<&str> = course.labs.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["lab1", "lab2"]);
    let theirs = grader::course::Course::load(&root().join("course.toml")).unwrap();
    for lab in &course.labs {
        assert!(lab.solutions.is_empty(), "{}", lab.id);
        let pin = &theirs.lab(&lab.id).unwrap().spec_sha256;
        assert!(
            pin.is_some() && lab.spec_sha256 == *pin,
            "{} keeps its pin",
            lab.id
        );
    }
    let ignore = std::fs::read_to_string(out.join(".gitignore")).unwrap();
    assert!(
        ignore.contains("/target") && ignore.contains(".grader/"),
        "{ignore}"
    );
    let flow = std::fs::read_to_string(out.join(".github/workflows/grade.yml")).unwrap();
    for want in [
        "COURSE_REPO: uni/os-course",
        "          - { lab: lab1, dir: labs/lab1-msgq }\n          - { lab: lab2, dir: labs/lab2-shm }\n",
        "rm -rf .course/solutions .course/tests .course/.git",
    ] {
        assert!(flow.contains(want), "want {want:?} in:\n{flow}");
    }
    let again = grader(
        &root(),
        &[
            "handout",
            "lab1",
            "--out",
            out.to_str().unwrap(),
            "--course-repo",
            "x/y",
        ],
    );
    assert_eq!(again.status.code(), Some(2), "a non-empty --out is refused");
}

#[test]
fn the_handouts_own_grader_grades_its_skeletons_below_max() {
    let out = handout(&["lab1", "lab2"]);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let meta = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&meta);
    assert!(
        meta.status.success(),
        "the handout's workspace loads: {stderr}"
    );
    assert!(
        stdout.contains("\"name\":\"grader\"") && stdout.contains("\"name\":\"lab1-msgq\""),
        "{stdout}"
    );
    for lang in ["c", "rust"] {
        let args = [
            "lab1",
            "--lang",
            lang,
            "--backend",
            "local",
            "--seed",
            "3",
            "--format",
            "json",
            "--quiet",
        ];
        let run = grader(&out, &args);
        let (stdout, stderr) = text(&run);
        assert_eq!(run.status.code(), Some(1), "{lang}: {stdout}\n{stderr}");
        let report: GradeReport = serde_json::from_str(&stdout).unwrap();
        assert!(report.build.ok, "{lang}: {}", report.build.log);
        assert!(
            report.gradable && report.score < report.max_score,
            "{lang}: {stdout}"
        );
        let sub = Path::new(&report.submission);
        assert!(
            sub.starts_with(std::fs::canonicalize(&out).unwrap()),
            "{sub:?}"
        );
    }
}
