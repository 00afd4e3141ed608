//! The gradebook: one CSV row per student (score, max, points per scenario, status, seed)
//! for a spreadsheet or an LMS import, and the small RFC 4180 reader that reads it back.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::GradeReport;

/// Column holding the student's name.
pub const STUDENT: &str = "student";
/// Column holding the score (empty when not gradable).
pub const SCORE: &str = "score";
/// Column holding the points available.
pub const MAX_SCORE: &str = "max_score";
/// Column holding the [`RowStatus`].
pub const STATUS: &str = "status";
/// Column holding the parameter seed (`--seed` replays the grading).
pub const SEED: &str = "seed";

/// What a gradebook row means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Every point earned.
    FullMarks,
    /// Built and ran, some points lost.
    PointsLost,
    /// Nothing of the submission could be built (it did not compile, or holds no
    /// sources): zero, the student's doing.
    BuildFailed,
    /// An infrastructure fault, even after a retry: no score, not a zero.
    NotGradable,
    /// No result at all (e.g. a batch task that never ran): no score.
    Missing,
}

impl RowStatus {
    /// The word written in the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::FullMarks => "full_marks",
            RowStatus::PointsLost => "points_lost",
            RowStatus::BuildFailed => "build_failed",
            RowStatus::NotGradable => "not_gradable",
            RowStatus::Missing => "missing",
        }
    }

    /// The status a report earns.
    pub fn of(report: &GradeReport) -> RowStatus {
        if !report.gradable {
            RowStatus::NotGradable
        } else if !report.build.ok && report.build.built.is_empty() {
            // Nothing was built (a partial build that graded some scenarios is points
            // lost: those scenarios earned what they earned).
            RowStatus::BuildFailed
        } else if report.score == report.max_score {
            RowStatus::FullMarks
        } else {
            RowStatus::PointsLost
        }
    }
}

/// One student's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradebookRow {
    /// Student name (the submission's file name).
    pub student: String,
    /// Points earned; `None` when there is no meaningful score.
    pub score: Option<u32>,
    /// Points available.
    pub max_score: u32,
    /// Scenario name → points earned (empty without a score).
    pub points: BTreeMap<String, u32>,
    /// What the row means.
    pub status: RowStatus,
    /// Parameter seed.
    pub seed: u64,
}

impl GradebookRow {
    /// The row for a report.
    pub fn from_report(student: &str, report: &GradeReport) -> GradebookRow {
        let status = RowStatus::of(report);
        let scored = status != RowStatus::NotGradable;
        GradebookRow {
            student: student.to_string(),
            score: scored.then_some(report.score),
            max_score: report.max_score,
            points: if scored {
                report
                    .tests
                    .iter()
                    .map(|t| (t.name.clone(), t.score))
                    .collect()
            } else {
                BTreeMap::new()
            },
            status,
            seed: report.seed,
        }
    }

    /// The row of a student with no result.
    pub fn missing(student: &str, max_score: u32, seed: u64) -> GradebookRow {
        GradebookRow {
            student: student.into(),
            score: None,
            max_score,
            points: BTreeMap::new(),
            status: RowStatus::Missing,
            seed,
        }
    }
}

/// The header: student, score, max_score, one column per scenario, status, seed.
pub fn header(scenarios: &[String]) -> Vec<String> {
    let mut h: Vec<String> = [STUDENT, SCORE, MAX_SCORE]
        .iter()
        .map(|s| s.to_string())
        .collect();
    h.extend(scenarios.iter().cloned());
    h.push(STATUS.into());
    h.push(SEED.into());
    h
}

/// Writes the gradebook, rows in the order given.
pub fn write(rows: &[GradebookRow], scenarios: &[String], out: &mut dyn Write) -> io::Result<()> {
    write_record(&header(scenarios), out)?;
    for r in rows {
        let mut rec = vec![r.student.clone(), opt(r.score), r.max_score.to_string()];
        rec.extend(scenarios.iter().map(|s| opt(r.points.get(s).copied())));
        rec.push(r.status.as_str().into());
        rec.push(r.seed.to_string());
        write_record(&rec, out)?;
    }
    Ok(())
}

fn opt(v: Option<u32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes one CSV record (CRLF-free: `\n` ends records, as spreadsheets accept).
pub fn write_record(fields: &[String], out: &mut dyn Write) -> io::Result<()> {
    let line: Vec<String> = fields.iter().map(|f| quote(f)).collect();
    writeln!(out, "{}", line.join(","))
}

/// Quotes a field when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so a spreadsheet never evaluates a student-chosen name.
pub fn quote(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '@'])
        || (field.starts_with('-') && field.parse::<i64>().is_err())
    {
        format!("'{field}")
    } else {
        field.to_string()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// Parses CSV text (RFC 4180: quoted fields, doubled quotes, line breaks in quotes).
pub fn parse(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// Parses CSV text into one map per record, keyed by the header's names.
pub fn records(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut rows = parse(text).into_iter();
    let Some(head) = rows.next() else {
        return Vec::new();
    };
    rows.map(|r| head.iter().cloned().zip(r).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(student: &str, score: Option<u32>, status: RowStatus) -> GradebookRow {
        let points = score
            .map(|s| [("a".to_string(), s), ("b".to_string(), 0)].into())
            .unwrap_or_default();
        GradebookRow {
            student: student.into(),
            score,
            max_score: 5,
            points,
            status,
            seed: 42,
        }
    }

    #[test]
    fn rows_round_trip_through_the_reader() {
        let scen = vec!["a".to_string(), "b".to_string()];
        let mut buf = Vec::new();
        let rows = [
            row("alice", Some(3), RowStatus::PointsLost),
            row("bob, jr", None, RowStatus::NotGradable),
        ];
        write(&rows, &scen, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(
            text.starts_with("student,score,max_score,a,b,status,seed\n"),
            "{text}"
        );
        let recs = records(&text);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0]["a"], "3");
        assert_eq!(recs[0]["status"], "points_lost");
        assert_eq!(recs[1]["student"], "bob, jr");
        assert_eq!(
            recs[1]["score"], "",
            "a not gradable row has no score, not a zero"
        );
        assert_eq!(recs[1]["status"], "not_gradable");
    }

    #[test]
    fn quotes_and_formulas_are_neutralised() {
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("=cmd()"), "'=cmd()");
        assert_eq!(quote("-12"), "-12");
        assert_eq!(quote("-x"), "'-x");
        let parsed = parse("x,\"a\nb\",\"q\"\"q\"\n");
        assert_eq!(
            parsed,
            vec![vec!["x".to_string(), "a\nb".into(), "q\"q".into()]]
        );
    }
}
