//! The dashboard of a bulk run: `RESULTS/index.html` for the class and
//! `RESULTS/students/NAME/report.html` for each student, self-contained HTML (inline CSS
//! and SVG, no network) rendered from the results directory alone (`bulk.json`,
//! `gradebook.csv`, each student's `report.json` and `done.json`, `similarity.csv`), so
//! `cargo grader dashboard RESULTS` regenerates it at any time.

pub mod class_page;
pub mod page;
pub mod stats;
pub mod student_page;
pub mod svg;

use std::path::{Path, PathBuf};

use crate::bulk::store::{self, Done, Store};
use crate::report::csv::{self, GradebookRow};
use crate::report::GradeReport;

/// Failures to read a results directory or write its dashboard.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A results file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A results file is not what a bulk run writes.
    #[error("failed to read {path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A page could not be written.
    #[error("failed to write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// One student as the results directory knows them.
#[derive(Debug, Clone)]
pub struct StudentResult {
    /// The gradebook row (from the report, or `missing`).
    pub row: GradebookRow,
    /// The saved report, when there is one.
    pub report: Option<GradeReport>,
    /// The saved `done.json` (attempts, wall time), when there is one.
    pub done: Option<Done>,
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

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// `RESULTS/index.html`.
    pub index: PathBuf,
    /// Its size in bytes.
    pub index_bytes: usize,
    /// Student pages written.
    pub student_pages: usize,
}

fn read_text(path: &Path) -> Result<String, DashboardError> {
    std::fs::read_to_string(path).map_err(|source| DashboardError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads a results directory: the gradebook lists the students (missing ones included),
/// each saved report and `done.json` gives the rest.
pub fn load(results: &Path) -> Result<Class, DashboardError> {
    let st = Store {
        root: results.to_owned(),
    };
    let manifest = st
        .manifest()
        .map_err(|e| DashboardError::Corrupt {
            path: results.join("bulk.json"),
            message: e.to_string(),
        })?
        .ok_or_else(|| DashboardError::Corrupt {
            path: results.join("bulk.json"),
            message: "missing: this is not a bulk results directory".into(),
        })?;
    let book = st.gradebook_path();
    let text = read_text(&book)?;
    let names = scenario_columns(&text, &book)?;
    let mut students = Vec::new();
    let mut max_score = 0;
    for rec in csv::records(&text) {
        let field = |k: &str| rec.get(k).cloned().unwrap_or_default();
        let name = field(csv::STUDENT);
        let seed = field(csv::SEED).parse().unwrap_or(0);
        let max = field(csv::MAX_SCORE).parse().unwrap_or(0);
        max_score = max_score.max(max);
        students.push(StudentResult {
            row: st.row(&name, seed, max),
            report: st.report(&name),
            done: st.done(&name),
        });
    }
    let scenarios = names
        .into_iter()
        .map(|name| Scenario {
            title: students
                .iter()
                .filter_map(|s| s.report.as_ref())
                .flat_map(|r| &r.tests)
                .find(|t| t.name == name)
                .and_then(|t| t.title.clone()),
            name,
        })
        .collect();
    let title = students
        .iter()
        .find_map(|s| s.report.as_ref().map(|r| r.title.clone()))
        .unwrap_or_else(|| manifest.lab.clone());
    Ok(Class {
        lab: manifest.lab,
        title,
        max_score,
        scenarios,
        students,
        similarity: load_similarity(&results.join("similarity.csv"))?,
    })
}

/// The scenario columns of the gradebook: between `max_score` and `status`.
fn scenario_columns(text: &str, path: &Path) -> Result<Vec<String>, DashboardError> {
    let head = csv::parse(text).into_iter().next().unwrap_or_default();
    let pos = |k: &str| head.iter().position(|h| h == k);
    match (pos(csv::MAX_SCORE), pos(csv::STATUS)) {
        (Some(a), Some(b)) if a < b => Ok(head[a + 1..b].to_vec()),
        _ => Err(DashboardError::Corrupt {
            path: path.to_owned(),
            message: format!("no `{}` … `{}` columns", csv::MAX_SCORE, csv::STATUS),
        }),
    }
}

/// `similarity.csv`, when there is one.
fn load_similarity(path: &Path) -> Result<Option<Vec<SimilarPair>>, DashboardError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = read_text(path)?;
    let pairs = csv::records(&text)
        .into_iter()
        .map(|r| {
            let field = |k: &str| r.get(k).cloned().unwrap_or_default();
            SimilarPair {
                a: field("student_a"),
                b: field("student_b"),
                similarity: field("similarity").parse().unwrap_or(0.0),
                shared: field("shared_fingerprints").parse().unwrap_or(0),
                regions: field("regions")
                    .split("; ")
                    .filter_map(|r| r.split_once(" ~ "))
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .collect(),
            }
        })
        .collect();
    Ok(Some(pairs))
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

/// Writes every student's page, then the class page (each atomically).
pub fn write(class: &Class, results: &Path) -> Result<Written, DashboardError> {
    let st = Store {
        root: results.to_owned(),
    };
    let mut pages = 0;
    for s in &class.students {
        if let Some(report) = &s.report {
            let path = st.student_dir(&s.row.student).join("report.html");
            let html = student_page::render(class, s, report).into_string();
            store::write_atomic(&path, html.as_bytes())
                .map_err(|source| DashboardError::Write { path, source })?;
            pages += 1;
        }
    }
    let index = results.join("index.html");
    let html = class_page::render(class).into_string();
    store::write_atomic(&index, html.as_bytes()).map_err(|source| DashboardError::Write {
        path: index.clone(),
        source,
    })?;
    Ok(Written {
        index,
        index_bytes: html.len(),
        student_pages: pages,
    })
}

/// Reads a results directory and writes its dashboard.
pub fn regenerate(results: &Path) -> Result<Written, DashboardError> {
    write(&load(results)?, results)
}

#[cfg(test)]
mod tests;
