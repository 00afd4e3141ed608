//! Gradescope's `results.json`: what its autograder harness reads from
//! `/autograder/results/results.json` (score, max_score, execution_time, output,
//! visibility, stdout_visibility, and one entry per scenario in `tests`).

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::GradeReport;
use crate::score::Status;

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Points earned (overrides the sum of `tests`, which it equals anyway).
    pub score: f64,
    /// Points available.
    pub max_score: f64,
    /// Wall time of the grading, seconds.
    pub execution_time: u64,
    /// Text shown above the tests: the score line, notices, the build log on failure.
    pub output: String,
    /// `text`: shown as is.
    pub output_format: String,
    /// Format of each test's `output`.
    pub test_output_format: String,
    /// `visible`: students see their results at once.
    pub visibility: String,
    /// Whether students see the autograder's stdout.
    pub stdout_visibility: String,
    /// One entry per scenario.
    pub tests: Vec<Test>,
    /// Seed, spec hash, gradable: for the instructor's exports.
    pub extra_data: serde_json::Value,
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Test {
    /// `scenario: title`.
    pub name: String,
    /// Points earned.
    pub score: f64,
    /// Points available.
    pub max_score: f64,
    /// `passed` or `failed`.
    pub status: String,
    /// Why it failed, and the hint.
    pub output: String,
    /// `visible`.
    pub visibility: String,
}

/// The Gradescope document for a report.
pub fn results(r: &GradeReport) -> Results {
    Results {
        score: f64::from(r.score),
        max_score: f64::from(r.max_score),
        execution_time: r.duration_ms.div_ceil(1000),
        output: output(r),
        output_format: "text".into(),
        test_output_format: "text".into(),
        visibility: "visible".into(),
        stdout_visibility: "hidden".into(),
        tests: r.tests.iter().map(test).collect(),
        extra_data: serde_json::json!({
            "lab": r.lab,
            "gradable": r.gradable,
            "seed": r.seed.to_string(),
            "spec_sha256": r.spec_sha256,
            "language": r.language,
        }),
    }
}

fn test(t: &crate::score::TestResult) -> Test {
    let mut output = t.message.clone();
    if let Some(h) = &t.hint {
        output.push_str("\nhint: ");
        output.push_str(h);
    }
    Test {
        name: match &t.title {
            Some(title) => format!("{}: {title}", t.name),
            None => t.name.clone(),
        },
        score: f64::from(t.score),
        max_score: f64::from(t.max_score),
        status: if t.status == Status::Passed {
            "passed"
        } else {
            "failed"
        }
        .into(),
        output,
        visibility: "visible".into(),
    }
}

fn output(r: &GradeReport) -> String {
    let mut text = String::new();
    if !r.gradable {
        text.push_str(&format!(
            "NOT GRADABLE: {}\nThis is not your fault and costs you nothing: resubmit, or tell your teacher.\n",
            r.not_gradable_reason.as_deref().unwrap_or("infrastructure fault")
        ));
    } else {
        text.push_str(&format!(
            "Score: {}/{} (seed {})\n",
            r.score, r.max_score, r.seed
        ));
    }
    for n in &r.notices {
        text.push_str(&format!("note: {n}\n"));
    }
    if !r.build.ok && !r.build.log.is_empty() {
        text.push_str("\nThe build failed; the compiler says:\n");
        text.push_str(&r.build.log);
    }
    text
}

/// Writes `results.json`.
pub fn write(r: &GradeReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &results(r))?;
    writeln!(out)
}
