//! What the class page counts: the score histogram, each scenario's share of students
//! who passed it (the concept the class missed first), and the students of each status.

use super::{Class, Scenario, StudentResult};
use crate::report::csv::RowStatus;
use crate::score::Status;

/// Every status, in the order the page lists them.
pub const STATUSES: [RowStatus; 5] = [
    RowStatus::FullMarks,
    RowStatus::PointsLost,
    RowStatus::BuildFailed,
    RowStatus::NotGradable,
    RowStatus::Missing,
];

/// How a status reads on the page.
pub fn status_label(s: RowStatus) -> &'static str {
    match s {
        RowStatus::FullMarks => "full marks",
        RowStatus::PointsLost => "points lost",
        RowStatus::BuildFailed => "build failed",
        RowStatus::NotGradable => "not gradable",
        RowStatus::Missing => "missing",
    }
}

/// One bar of the histogram: the students whose score is in `lo..=hi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bin {
    /// Lowest score of the bin.
    pub lo: u32,
    /// Highest score of the bin.
    pub hi: u32,
    /// Students in it.
    pub count: usize,
}

/// Bars of the histogram at most: beyond, several scores share a bar.
pub const MAX_BINS: u32 = 20;

/// The scores of the students who have one (not gradable and missing have none), in
/// bins covering `0..=max_score`.
pub fn histogram(class: &Class) -> Vec<Bin> {
    let max = class.max_score;
    let width = (max + 1).div_ceil(MAX_BINS).max(1);
    let mut bins: Vec<Bin> = (0..=max)
        .step_by(width as usize)
        .map(|lo| Bin {
            lo,
            hi: (lo + width - 1).min(max),
            count: 0,
        })
        .collect();
    for score in class.students.iter().filter_map(|s| s.row.score) {
        let i = (score.min(max) / width) as usize;
        bins[i].count += 1;
    }
    bins
}

/// A scenario and how many of the graded students passed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Students who passed it.
    pub passed: usize,
    /// Students graded on it (a report with this scenario).
    pub graded: usize,
}

impl Share<'_> {
    /// Passed / graded, 0 when nobody was graded.
    pub fn ratio(&self) -> f64 {
        if self.graded == 0 {
            0.0
        } else {
            self.passed as f64 / self.graded as f64
        }
    }
}

/// Each scenario's share, the lowest first (ties in spec order).
pub fn shares(class: &Class) -> Vec<Share<'_>> {
    let mut out: Vec<Share> = class
        .scenarios
        .iter()
        .map(|sc| {
            let results = class
                .students
                .iter()
                .filter_map(|s| s.report.as_ref())
                .filter(|r| r.gradable)
                .filter_map(|r| r.tests.iter().find(|t| t.name == sc.name));
            let (mut passed, mut graded) = (0, 0);
            for t in results {
                graded += 1;
                passed += usize::from(t.status == Status::Passed);
            }
            Share {
                scenario: sc,
                passed,
                graded,
            }
        })
        .collect();
    // A stable sort keeps spec order among equal shares.
    out.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    out
}

/// The students of one status.
pub fn with_status(class: &Class, status: RowStatus) -> Vec<&StudentResult> {
    class
        .students
        .iter()
        .filter(|s| s.row.status == status)
        .collect()
}

/// Mean and median of the scores there are (`None` without any).
pub fn mean_median(class: &Class) -> Option<(f64, f64)> {
    let mut scores: Vec<u32> = class.students.iter().filter_map(|s| s.row.score).collect();
    if scores.is_empty() {
        return None;
    }
    scores.sort_unstable();
    let n = scores.len();
    let mean = scores.iter().map(|&s| f64::from(s)).sum::<f64>() / n as f64;
    let median = if n % 2 == 1 {
        f64::from(scores[n / 2])
    } else {
        (f64::from(scores[n / 2 - 1]) + f64::from(scores[n / 2])) / 2.0
    };
    Some((mean, median))
}
