//! Snapshots of the reports a student and a CI job see, with run-specific details
//! (paths, pids, ids, durations) redacted.

use grader::fixture::Fixture;

use crate::util::{grade_in, root, tempdir, text};

fn redactions() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"submission \S+ ", "submission [DIR] "),
        (r"\(\d+\.\d s\)", "([SECS] s)"),
        (r"pid \d+", "pid [PID]"),
        // Early stops and the pace the agent measured depend on the machine's speed.
        (r"stopped after \d+\.\d s", "stopped after [SECS] s"),
        (r"progress for \d+\.\d s", "progress for [SECS] s"),
        (
            r"\d+ (round trips|IPC calls) in \d+\.\d s",
            "[N] $1 in [SECS] s",
        ),
        (r"id[ =]\d+", "id [ID]"),
        (r"pipe:\[\d+\]", "pipe:[INODE]"),
        (r#""duration_ms": \d+"#, r#""duration_ms": [MS]"#),
        (r#""guest_ms": \d+"#, r#""guest_ms": [MS]"#),
        (r#""submission": "[^"]+""#, r#""submission": "[DIR]""#),
        (r"Pingpong takes [^\\]*", "Pingpong takes [TIMING]"),
        (r#""spec_sha256": "[0-9a-f]+""#, r#""spec_sha256": "[SHA]""#),
        // A busy machine (the test suite's own parallel gradings) stretches deadlines.
        (
            r"note: this machine was busy: the scenarios' deadlines were stretched \d+\.\dx\n",
            "",
        ),
        (r#"\s*"deadline_stretch": [0-9.]+,"#, ""),
        // Deadlines are calibrated (and stretched when the machine is busy): a deadlock is
        // stopped a little before its deadline, or found at it.
        (
            r"did not finish before its deadline and was killed",
            "was stopped after [SECS] s of its [SECS] s deadline and killed",
        ),
        (r"of its \d+\.\d s deadline", "of its [SECS] s deadline"),
    ]
}

fn materialize(case: &str) -> std::path::PathBuf {
    let fx = Fixture::load(&root().join("tests/fixtures/lab1").join(case)).unwrap();
    let sub = tempdir(&format!("snap-{case}"));
    fx.materialize(&root(), &sub).unwrap();
    sub
}

/// What a student sees for a submission with a wrong msgrcv type rule, in the guest.
#[test]
fn human_report_of_a_wrong_submission() {
    let sub = materialize("wrong-type");
    let out = grade_in(&root(), "lab1", &sub, &["--seed", "7"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    insta::with_settings!({ filters => redactions() }, {
        insta::assert_snapshot!(stdout);
    });
}

/// The JSON contract for a build failure.
#[test]
fn json_report_of_a_build_failure() {
    let sub = materialize("no-compile");
    let out = grade_in(&root(), "lab1", &sub, &["--seed", "7", "--format", "json"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    let mut v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // The compiler's log has paths of the scratch build: keep only its error line.
    let log = v["build"]["log"].as_str().unwrap().to_string();
    let first_error = log
        .lines()
        .find(|l| l.contains("error"))
        .unwrap_or("")
        .to_string();
    // It names the student's own file: the submission directory, redacted.
    let first_error = first_error.replace(sub.to_str().unwrap(), "[DIR]");
    v["build"]["log"] = serde_json::Value::String(first_error);
    insta::with_settings!({ filters => redactions() }, {
        insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
    });
}
