//! The dashboard's pages on a small class made in memory: what a student controls is
//! text, never markup; the counts are one per status. (Read back from a results
//! directory: `crate::bulk::results`.)

use serde_json::json;

use std::path::Path;

use super::*;
use crate::report::csv::RowStatus;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(2)>";

/// A report of lab1 with scenarios `a` (2 points) and `b` (3 points): `passed` says which
/// passed; the failing ones print `stdout`.
fn report(passed: &[&str], stdout: &str, build_ok: bool) -> GradeReport {
    let test = |name: &str| {
        let ok = passed.contains(&name);
        let max = if name == "a" { 2 } else { 3 };
        json!({
            "name": name, "title": format!("scenario {name} <b>bold</b>"),
            "status": if ok { "passed" } else { "failed" },
            "score": if ok { max } else { 0 }, "max_score": max,
            "message": if ok { String::new() } else { format!("expected 1, got {IMG}") },
            "hint": null, "hints": if ok { vec![] } else { vec!["look at msgrcv"] },
            "hint_levels": 2, "duration_ms": 120,
            "output": if ok { json!(null) } else { json!({
                "step": 2, "command": "msgq recv 0x1", "ended": "exit 1",
                "stdout": stdout, "stderr": "", "truncated": false }) },
        })
    };
    let tests: Vec<_> = ["a", "b"].iter().map(|n| test(n)).collect();
    let score: u32 = passed.iter().map(|n| if *n == "a" { 2 } else { 3 }).sum();
    serde_json::from_value(json!({
        "format_version": 1, "lab": "lab1", "title": "Message queues",
        "submission": "/home/teacher/secret/path", "language": "c", "backend": "local",
        "gradable": true, "score": score, "max_score": 5,
        "build": { "ok": build_ok, "log": format!("/home/teacher/secret/path/msgq.c:3: warning: {SCRIPT}"),
                   "built": if build_ok { vec!["msgq"] } else { vec![] } },
        "tests": tests, "audit": { "leaks": [] }, "duration_ms": 1500, "seed": 42,
    }))
    .expect("a valid report")
}

fn student(name: &str, r: Option<GradeReport>) -> StudentResult {
    let row = match &r {
        Some(r) => GradebookRow::from_report(name, r),
        None => GradebookRow::missing(name, 5, 7),
    };
    StudentResult {
        row,
        done: r.as_ref().map(|_| Attempts {
            attempts: 1,
            duration_ms: 2300,
        }),
        report: r,
    }
}

fn class() -> Class {
    let mut broken = report(&[], "", false);
    broken.build.log = "msgq.c:1: error: expected ';'".into();
    let mut lost = report(&[], "", true);
    lost.gradable = false;
    lost.not_gradable_reason = Some("the guest did not boot".into());
    lost.tests.clear();
    Class {
        lab: "lab1".into(),
        title: "Message queues".into(),
        max_score: 5,
        scenarios: ["a", "b"]
            .map(|n| Scenario {
                name: n.into(),
                title: Some(format!("scenario {n}")),
            })
            .into(),
        students: vec![
            student("alice", Some(report(&["a", "b"], "", true))),
            student(IMG, Some(report(&["a"], SCRIPT, true))),
            student("bob", Some(report(&["b"], "fine", true))),
            student("carol", Some(broken)),
            student("dave", Some(lost)),
            student("erin", None),
        ],
        similarity: Some(vec![SimilarPair {
            a: "alice".into(),
            b: IMG.into(),
            similarity: 0.91,
            shared: 40,
            regions: vec![("msgq.c:10-30".into(), format!("{SCRIPT}.c:1-20"))],
        }]),
    }
}

fn assert_inert(html: &str, scripts: usize) {
    assert_eq!(html.matches("<script").count(), scripts, "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>bold"), "{html}");
}

#[test]
fn what_a_student_controls_is_escaped_on_the_class_page() {
    let html = class_page::render(&class()).into_string();
    assert_inert(&html, 1);
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.c:1-20"),
        "{html}"
    );
    // The link to the hostile name's page is percent-encoded, not markup.
    assert!(
        html.contains("href=\"students/%3Cimg%20src%3Dx%20onerror%3Dalert%282%29%3E/report.html\""),
        "{html}"
    );
}

#[test]
fn what_a_student_controls_is_escaped_on_their_page() {
    let c = class();
    let s = &c.students[1];
    let html = student_page::render(&c, s, s.report.as_ref().unwrap()).into_string();
    assert_inert(&html, 0);
    assert!(
        html.contains("<pre class=\"output-stdout\">&lt;script&gt;alert(1)&lt;/script&gt;</pre>"),
        "{html}"
    );
    assert!(
        html.contains("<pre id=\"build-log\">msgq.c:3: warning: &lt;script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("why: </strong>expected 1, got &lt;img"),
        "{html}"
    );
    assert!(
        !html.contains("/home/teacher"),
        "the page names no teacher's path: {html}"
    );
}

#[test]
fn the_counts_are_one_per_status_and_link_their_students() {
    let c = class();
    let counts = class_page::counts(&c);
    assert_eq!(
        counts,
        [
            (RowStatus::FullMarks, 1),
            (RowStatus::PointsLost, 2),
            (RowStatus::BuildFailed, 1),
            (RowStatus::NotGradable, 1),
            (RowStatus::Missing, 1),
        ]
    );
    let html = class_page::render(&c).into_string();
    assert!(
        html.contains("data-status=\"points_lost\" data-count=\"2\""),
        "{html}"
    );
    // A missing student has no page: the card links to their row.
    assert!(
        html.contains("<a class=\"student\" href=\"#student-erin\">erin</a>"),
        "{html}"
    );
    assert!(
        html.contains("href=\"students/carol/report.html\""),
        "{html}"
    );
}

#[test]
fn the_histogram_counts_scores_and_the_least_passed_scenario_comes_first() {
    let c = class();
    let bins = stats::histogram(&c);
    assert_eq!(bins.len(), 6, "one bar per score 0..=5");
    let counts: Vec<usize> = bins.iter().map(|b| b.count).collect();
    // alice 5, IMG 2, bob 3, carol 0 (build failed); dave and erin have no score.
    assert_eq!(counts, [1, 0, 1, 1, 0, 1]);
    let shares: Vec<(&str, usize, usize)> = stats::shares(&c)
        .iter()
        .map(|s| (s.scenario.name.as_str(), s.passed, s.graded))
        .collect();
    assert_eq!(shares, [("a", 2, 4), ("b", 2, 4)], "ties keep spec order");
    let mut c = c;
    c.students
        .push(student("frank", Some(report(&["b"], "", true))));
    let first = &stats::shares(&c)[0];
    assert_eq!((first.scenario.name.as_str(), first.passed), ("a", 2));
}

#[test]
fn wide_score_ranges_share_bars() {
    let mut c = class();
    c.max_score = 100;
    let bins = stats::histogram(&c);
    assert_eq!(bins.len(), 17, "{bins:?}");
    assert_eq!((bins[0].lo, bins[0].hi), (0, 5));
    assert_eq!(bins.last().unwrap().hi, 100);
}

#[test]
fn every_student_with_a_report_has_a_page_and_the_class_one_comes_last() {
    let paths: Vec<PathBuf> = pages(&class()).into_iter().map(|p| p.path).collect();
    assert_eq!(paths.len(), 6, "five reports and the class page: {paths:?}");
    assert_eq!(paths[0], Path::new("students/alice/report.html"));
    assert_eq!(paths[5], Path::new("index.html"));
}

#[test]
fn a_student_page_snapshot() {
    let c = class();
    let s = &c.students[2];
    let html = student_page::render(&c, s, s.report.as_ref().unwrap()).into_string();
    // The style is the same on every page: the snapshot shows the markup.
    let (head, rest) = html.split_once("<style>").unwrap();
    let (_, body) = rest.split_once("</style>").unwrap();
    let page = format!("{head}<style>…</style>{body}").replace('>', ">\n");
    insta::with_settings!({ filters => vec![(r"\d+\.\d s", "[duration]")] }, {
        insta::assert_snapshot!(page);
    });
}
