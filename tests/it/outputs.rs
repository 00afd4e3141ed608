//! The outputs for the ecosystem: JUnit XML valid against the JUnit schema
//! (tests/schemas/junit-10.xsd, checked with xmllint), Gradescope's results.json with its
//! documented fields, GitHub annotations and job summary, and the CI templates shipped in
//! contrib/.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use grader::fixture::Fixture;
use grader::report::GradeReport;

use crate::util::{grade_json, root, tempdir, text};

const SEED: &str = "31";

fn fixture(case: &str) -> PathBuf {
    let fx = Fixture::load(&root().join("tests/fixtures/lab1").join(case)).unwrap();
    let sub = tempdir(&format!("outputs-{case}"));
    fx.materialize(&root(), &sub).unwrap();
    sub
}

/// `cargo grader lab1 --submission SUB --format FORMAT` on this host, with `env`.
fn render(sub: &Path, format: &str, env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-grader"));
    cmd.args([
        "grader",
        "lab1",
        "--backend",
        "local",
        "--seed",
        SEED,
        "--quiet",
        "--format",
        format,
        "--submission",
    ])
    .arg(sub)
    .current_dir(root())
    .env_remove("GITHUB_STEP_SUMMARY")
    .env_remove("GITHUB_WORKSPACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn json_report(sub: &Path) -> GradeReport {
    grade_json("lab1", sub, "local", SEED.parse().unwrap()).0
}

fn xmllint_valid(xml: &[u8], label: &str) {
    let file = tempdir(&format!("junit-{label}")).with_extension("xml");
    std::fs::write(&file, xml).unwrap();
    let schema = root().join("tests/schemas/junit-10.xsd");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint runs (apt-get install libxml2-utils)");
    let (_, stderr) = text(&out);
    assert!(
        out.status.success(),
        "{label}: the JUnit output does not validate:\n{stderr}\n{}",
        String::from_utf8_lossy(xml)
    );
}

fn attr(xml: &str, element: &str, name: &str) -> String {
    let start = xml
        .find(&format!("<{element} "))
        .unwrap_or_else(|| panic!("no <{element}>"));
    let tag = &xml[start..start + xml[start..].find('>').unwrap()];
    let at = tag
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("<{element}> has no {name}"))
        + name.len()
        + 3;
    tag[at..at + tag[at..].find('"').unwrap()].to_string()
}

#[test]
fn junit_validates_against_the_schema_and_counts_failures() {
    for case in ["correct-c", "wrong-type", "no-compile", "segfault"] {
        let sub = fixture(case);
        let out = render(&sub, "junit", &[]);
        xmllint_valid(&out.stdout, case);
        let report = json_report(&sub);
        let xml = String::from_utf8(out.stdout).unwrap();
        let lost = report
            .tests
            .iter()
            .filter(|t| t.status != grader::score::Status::Passed)
            .count();
        assert_eq!(
            attr(&xml, "testsuite", "tests"),
            report.tests.len().to_string(),
            "{case}"
        );
        assert_eq!(
            attr(&xml, "testsuite", "failures"),
            lost.to_string(),
            "{case}"
        );
        assert_eq!(
            xml.matches("<testcase ").count(),
            report.tests.len(),
            "{case}"
        );
        assert_eq!(xml.matches("<failure ").count(), lost, "{case}");
    }
}

#[test]
fn junit_of_a_not_gradable_run_is_one_error() {
    let mut report = json_report(&fixture("correct-c"));
    report.gradable = false;
    report.tests.clear();
    report.not_gradable_reason = Some("the guest failed: <boom> & \u{1}".into());
    let mut xml = Vec::new();
    grader::report::junit::write(&report, &mut xml).unwrap();
    xmllint_valid(&xml, "not-gradable");
    let xml = String::from_utf8(xml).unwrap();
    assert_eq!(attr(&xml, "testsuite", "errors"), "1");
    assert!(xml.contains("&lt;boom&gt; &amp;"), "{xml}");
}

fn number(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` must be a number: {v}"))
}

fn string<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` must be a string: {v}"))
}

#[test]
fn gradescope_results_have_the_documented_fields() {
    const VISIBILITY: [&str; 4] = ["hidden", "after_due_date", "after_published", "visible"];
    let sub = fixture("wrong-type");
    let file = tempdir("gradescope").with_extension("json");
    let out = render(&sub, "gradescope", &[]);
    assert_eq!(out.status.code(), Some(1), "points were lost");
    std::fs::write(&file, &out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let report = json_report(&sub);
    assert_eq!(number(&v, "score"), f64::from(report.score));
    assert_eq!(number(&v, "max_score"), f64::from(report.max_score));
    assert!(
        v["execution_time"].is_u64(),
        "execution_time is whole seconds: {v}"
    );
    assert!(string(&v, "output").contains(&format!("Score: {}/{}", report.score, report.max_score)));
    assert!(VISIBILITY.contains(&string(&v, "visibility")));
    assert!(VISIBILITY.contains(&string(&v, "stdout_visibility")));
    let tests = v["tests"].as_array().expect("tests is an array");
    assert_eq!(tests.len(), report.tests.len());
    let mut sum = 0.0;
    for (t, r) in tests.iter().zip(&report.tests) {
        assert!(string(t, "name").starts_with(&r.name), "{t}");
        assert!(number(t, "score") <= number(t, "max_score"), "{t}");
        assert!(["passed", "failed"].contains(&string(t, "status")), "{t}");
        assert!(VISIBILITY.contains(&string(t, "visibility")), "{t}");
        assert_eq!(
            string(t, "output").is_empty(),
            r.status == grader::score::Status::Passed,
            "{t}"
        );
        sum += number(t, "score");
    }
    assert_eq!(sum, number(&v, "score"), "the tests add up to the score");
}

#[test]
fn github_annotates_compiler_errors_on_the_file_and_writes_the_summary() {
    let sub = fixture("no-compile");
    let summary = tempdir("gh-summary").with_extension("md");
    let out = render(
        &sub,
        "github",
        &[
            ("GITHUB_STEP_SUMMARY", &summary),
            ("GITHUB_WORKSPACE", &root()),
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let rel = sub.strip_prefix(root()).unwrap().display().to_string();
    assert!(
        stdout.contains(&format!("::error file={rel}/src/queue.rs,line=")),
        "{stdout}"
    );
    assert!(
        stdout.lines().all(|l| l.starts_with("::")),
        "only workflow commands on stdout: {stdout}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("## ❌ lab1 — SysV message queues: 0/26"),
        "{md}"
    );
    assert!(md.contains("| ❌ | `pingpong` | 0/4 |"), "{md}");
    assert!(md.contains(&format!("--seed {SEED}")), "{md}");
}

#[test]
fn github_without_a_workflow_prints_the_summary_after_the_annotations() {
    let out = render(&fixture("wrong-type"), "github", &[]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("::error title=lab1 recv_type_negative (0/2)::"),
        "{stdout}"
    );
    assert!(stdout.contains("| ✅ | `ftok` | 2/2 |"), "{stdout}");
}

/// Every shell script of the templates, and every `run:` block of the workflow, parses.
#[test]
fn the_ci_templates_are_well_formed() {
    let contrib = root().join("contrib");
    for script in [
        "gradescope/setup.sh",
        "gradescope/run_autograder",
        "gradescope/make-autograder.sh",
    ] {
        let out = Command::new("bash")
            .arg("-n")
            .arg(contrib.join(script))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let workflow = std::fs::read_to_string(contrib.join("github/grade.yml")).unwrap();
    assert!(
        workflow.contains("--format github"),
        "the workflow uses the github format"
    );
    // Student code runs without the jail there: the course's secrets are gone before it.
    let read = |f: &str| std::fs::read_to_string(contrib.join(f)).unwrap();
    let before = |text: &str, first: &str, then: &str| {
        let (a, b) = (text.find(first), text.find(then));
        assert!(a.is_some() && a < b, "`{first}` must come before `{then}`");
    };
    before(
        &workflow,
        "rm -rf .course/solutions .course/tests .course/.git",
        "cargo grader \"$LAB\"",
    );
    before(
        &read("gradescope/run_autograder"),
        "rm -rf \"$COURSE/solutions\" \"$COURSE/tests\"",
        "cargo grader \"$LAB\"",
    );
    assert!(
        read("gradescope/make-autograder.sh").contains("--exclude=./solutions --exclude=./tests")
    );
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for line in workflow.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some((base, text)) = &mut current {
            if line.trim().is_empty() || indent > *base {
                text.push_str(line.get(*base + 2..).unwrap_or(""));
                text.push('\n');
                continue;
            }
            blocks.push(std::mem::take(text));
            current = None;
        }
        if line.trim_start().starts_with("run: |") {
            current = Some((indent, String::new()));
        }
    }
    blocks.extend(current.map(|(_, t)| t));
    assert!(blocks.len() >= 3, "{blocks:?}");
    for b in blocks {
        let out = Command::new("bash")
            .args(["-n", "-c", &b])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "a run block does not parse: {}\n{b}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
