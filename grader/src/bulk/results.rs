//! A results directory read back into the dashboard's model, and the dashboard written
//! into it: the gradebook lists the students (missing ones included), each saved
//! `report.json` and `done.json` gives the rest, `similarity.csv` the similar pairs. It
//! needs nothing but the directory (no course, no grading), so a teacher can regenerate
//! the pages of any run, here or copied elsewhere.

use std::path::{Path, PathBuf};

use super::store::{self, Store};
use super::BulkError;
use crate::dashboard::{self, Attempts, Class, Scenario, SimilarPair, StudentResult};
use crate::report::csv;

/// What [`write_dashboard`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// `RESULTS/index.html`.
    pub index: PathBuf,
    /// Its size in bytes.
    pub index_bytes: usize,
    /// Student pages written.
    pub student_pages: usize,
}

fn read_text(path: &Path) -> Result<String, BulkError> {
    std::fs::read_to_string(path).map_err(|source| BulkError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Reads a results directory into the dashboard's model.
pub fn load(results: &Path) -> Result<Class, BulkError> {
    let st = Store {
        root: results.to_owned(),
    };
    let manifest = st.manifest()?.ok_or_else(|| BulkError::Corrupt {
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
        let max = field(csv::MAX_SCORE).parse().unwrap_or(0);
        max_score = max_score.max(max);
        students.push(StudentResult {
            row: st.row(&name, field(csv::SEED).parse().unwrap_or(0), max),
            report: st.report(&name),
            done: st.done(&name).map(|d| Attempts {
                attempts: d.attempts,
                duration_ms: d.duration_ms,
            }),
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
fn scenario_columns(text: &str, path: &Path) -> Result<Vec<String>, BulkError> {
    let head = csv::parse(text).into_iter().next().unwrap_or_default();
    let pos = |k: &str| head.iter().position(|h| h == k);
    match (pos(csv::MAX_SCORE), pos(csv::STATUS)) {
        (Some(a), Some(b)) if a < b => Ok(head[a + 1..b].to_vec()),
        _ => Err(BulkError::Corrupt {
            path: path.to_owned(),
            message: format!("no `{}` … `{}` columns", csv::MAX_SCORE, csv::STATUS),
        }),
    }
}

/// `similarity.csv`, when there is one.
fn load_similarity(path: &Path) -> Result<Option<Vec<SimilarPair>>, BulkError> {
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

/// Writes the dashboard of `class` into `results`: the student pages, then the class
/// page, each atomically.
pub fn write(class: &Class, results: &Path) -> Result<Written, BulkError> {
    let mut written = Written {
        index: results.join("index.html"),
        index_bytes: 0,
        student_pages: 0,
    };
    for page in dashboard::pages(class) {
        let path = results.join(&page.path);
        store::write_atomic(&path, page.html.as_bytes())
            .map_err(|source| BulkError::Io { path, source })?;
        if page.path == Path::new("index.html") {
            written.index_bytes = page.html.len();
        } else {
            written.student_pages += 1;
        }
    }
    Ok(written)
}

/// Reads a results directory and writes its dashboard.
pub fn write_dashboard(results: &Path) -> Result<Written, BulkError> {
    write(&load(results)?, results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::csv::RowStatus;
    use crate::report::GradeReport;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("grader-results-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn report(score: u32, build_ok: bool, gradable: bool) -> GradeReport {
        let status = if score == 2 { "passed" } else { "failed" };
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "lab": "lab1", "title": "Message queues",
            "submission": "/subs/x", "language": "c", "backend": "local",
            "gradable": gradable, "score": score, "max_score": 2,
            "build": { "ok": build_ok, "log": "", "built": if build_ok { vec!["msgq"] } else { vec![] } },
            "tests": [{ "name": "a", "title": "the <a> scenario", "status": status, "score": score,
                        "max_score": 2, "message": "", "hint": null, "duration_ms": 1 }],
            "audit": { "leaks": [] }, "duration_ms": 10, "seed": 3,
        }))
        .unwrap()
    }

    /// A results directory as a bulk run leaves it: one student per status.
    fn results_dir() -> PathBuf {
        let out = tmp("regen");
        let manifest = store::Manifest {
            format_version: store::MANIFEST_VERSION,
            lab: "lab1".into(),
            class_seed: 1,
            spec_sha256: "ab".repeat(32),
            backend: "local".into(),
            submissions: "/subs".into(),
        };
        let (st, _) = Store::open(&out, manifest, true).unwrap();
        let graded = [
            ("alice", report(2, true, true)),
            ("bob", report(1, true, true)),
            ("carol", report(0, false, true)),
            ("dave", report(0, true, false)),
        ];
        let mut rows = Vec::new();
        for (name, r) in &graded {
            let done = store::Done {
                student: (*name).into(),
                seed: 3,
                submission_sha256: "ab".into(),
                attempts: 1 + u32::from(!r.gradable),
                gradable: r.gradable,
                duration_ms: 900,
            };
            st.save(r, &done).unwrap();
            rows.push(csv::GradebookRow::from_report(name, r));
        }
        rows.push(csv::GradebookRow::missing("erin", 2, 4));
        st.write_gradebook(&rows, &["a".into()]).unwrap();
        std::fs::write(
            out.join("similarity.csv"),
            "student_a,student_b,similarity,shared_fingerprints,regions\n\
             alice,bob,0.750,12,msgq.c:1-9 ~ main.c:3-11; a.c:1-2 ~ b.c:3-4\n",
        )
        .unwrap();
        out
    }

    #[test]
    fn a_results_directory_alone_regenerates_the_dashboard() {
        let out = results_dir();
        let class = load(&out).unwrap();
        let counts: Vec<usize> = crate::dashboard::class_page::counts(&class)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(counts, [1, 1, 1, 1, 1], "one student per status");
        assert_eq!(class.students[4].row.status, RowStatus::Missing);
        assert_eq!(class.title, "Message queues");
        assert_eq!(
            class.scenarios[0].title.as_deref(),
            Some("the <a> scenario")
        );
        assert_eq!(class.students[3].done.unwrap().attempts, 2);
        let pairs = class.similarity.as_ref().unwrap();
        assert_eq!(pairs[0].regions.len(), 2);
        assert_eq!(
            pairs[0].regions[0],
            ("msgq.c:1-9".into(), "main.c:3-11".into())
        );
        let w = write_dashboard(&out).unwrap();
        assert_eq!(w.student_pages, 4, "everyone but the missing student");
        assert!(out.join("students/carol/report.html").exists());
        assert!(!out.join("students/erin/report.html").exists());
        let index = std::fs::read_to_string(&w.index).unwrap();
        assert_eq!(index.len(), w.index_bytes);
        assert!(
            index.contains("data-status=\"missing\" data-count=\"1\""),
            "{index}"
        );
        assert!(index.contains("the &lt;a&gt; scenario"), "{index}");
    }

    #[test]
    fn a_directory_without_a_run_is_refused() {
        let out = tmp("empty");
        std::fs::create_dir_all(&out).unwrap();
        let err = load(&out).unwrap_err().to_string();
        assert!(err.contains("not a bulk results directory"), "{err}");
    }
}
