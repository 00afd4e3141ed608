//! The dashboard of a bulk run: `index.html` for the class and
//! `students/NAME/report.html` for each student, self-contained HTML (inline CSS and SVG,
//! no network), rendered from the same result model the other reporters read. Reading a
//! results directory back into that model, and writing the pages there, is the results
//! store's job (`crate::bulk::results`), so `cargo grader dashboard RESULTS` regenerates
//! them at any time.

pub mod class_page;
pub mod page;
pub mod stats;
pub mod student_page;
pub mod svg;

use std::path::PathBuf;

use crate::report::csv::GradebookRow;
use crate::report::GradeReport;

/// One student as the results directory knows them.
#[derive(Debug, Clone)]
pub struct StudentResult {
    /// The gradebook row (from the report, or `missing`).
    pub row: GradebookRow,
    /// The saved report, when there is one.
    pub report: Option<GradeReport>,
    /// Gradings it took and their wall time (from `done.json`), when it was graded.
    pub done: Option<Attempts>,
}

/// How a student's grading went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    /// Gradings (2 after an infrastructure fault and its retry).
    pub attempts: u32,
    /// Wall time of all of them.
    pub duration_ms: u64,
}

impl StudentResult {
    /// Whether the student has a page of their own (a report to render).
    pub fn has_page(&self) -> bool {
        self.report.is_some()
    }
}

/// A scenario: its name (a gradebook column) and its title (from the reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Title, when a report carries it.
    pub title: Option<String>,
}

/// Two submissions `--similarity` found alike (a row of `similarity.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarPair {
    /// First student.
    pub a: String,
    /// Second student.
    pub b: String,
    /// Share of fingerprints in common, 0–1.
    pub similarity: f64,
    /// Fingerprints in common.
    pub shared: usize,
    /// The largest shared regions: `file:lines` in `a`, then in `b`.
    pub regions: Vec<(String, String)>,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct Class {
    /// Lab id.
    pub lab: String,
    /// Lab title (from the reports; the id when none has one).
    pub title: String,
    /// Points available.
    pub max_score: u32,
    /// Scenarios, in spec order.
    pub scenarios: Vec<Scenario>,
    /// Students, in gradebook order.
    pub students: Vec<StudentResult>,
    /// The similarity report, when the run made one.
    pub similarity: Option<Vec<SimilarPair>>,
}

/// The relative address of a student's page from the class page: each path segment
/// percent-encoded, so a name with `#`, `?` or `%` still links to its own directory.
pub fn student_href(student: &str) -> String {
    format!("students/{}/report.html", percent(student))
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One page to write, its path relative to the results directory.
#[derive(Debug, Clone)]
pub struct Page {
    /// `index.html` or `students/NAME/report.html`.
    pub path: PathBuf,
    /// The document.
    pub html: String,
}

/// Every page of the dashboard: each student's who has a report, then the class page.
pub fn pages(class: &Class) -> Vec<Page> {
    let mut out: Vec<Page> = class
        .students
        .iter()
        .filter_map(|s| s.report.as_ref().map(|r| (s, r)))
        .map(|(s, r)| Page {
            path: PathBuf::from("students")
                .join(&s.row.student)
                .join("report.html"),
            html: student_page::render(class, s, r).into_string(),
        })
        .collect();
    out.push(Page {
        path: "index.html".into(),
        html: class_page::render(class).into_string(),
    });
    out
}

#[cfg(test)]
mod tests;
