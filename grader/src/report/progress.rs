//! `cargo grader progress`: one line per lab of the course with the best score so far and
//! when it was reached, and the last score, from the student's state file.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

/// One graded run's score and when it was graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRecord {
    /// Points earned.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// When, in seconds since the Unix epoch (UTC).
    pub at: u64,
}

/// `2026-12-03 12:45 UTC` for seconds since the epoch.
pub fn utc_minute(at: u64) -> String {
    let days = (at / 86_400) as i64;
    let (h, m) = ((at % 86_400) / 3600, (at % 3600) / 60);
    // Howard Hinnant's days-from-civil, inverted (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02} UTC")
}

fn score(r: &ScoreRecord) -> String {
    format!("{}/{} on {}", r.score, r.max_score, utc_minute(r.at))
}

/// One lab's row: id, short name, best and last score.
#[derive(Debug, Clone)]
pub struct Row {
    /// Lab id.
    pub id: String,
    /// Short name.
    pub name: String,
    /// Best score so far.
    pub best: Option<ScoreRecord>,
    /// Last score.
    pub last: Option<ScoreRecord>,
}

/// One line for a lab.
pub fn line(row: &Row) -> String {
    let (id, name) = (&row.id, &row.name);
    let text = match (row.best, row.last) {
        (Some(best), Some(last)) if best == last => format!("best {}", score(&best)),
        (Some(best), Some(last)) => format!("best {} · last {}", score(&best), score(&last)),
        (Some(best), None) => format!("best {}", score(&best)),
        (None, _) => "not graded yet".to_string(),
    };
    let full = match row.best {
        Some(b) if b.score == b.max_score => "  ✔ full marks",
        _ => "",
    };
    format!("{id:<5} {name:<7} {text}{full}")
}

/// The course's title, then one line per lab, in the order given.
pub fn write(title: &str, rows: &[Row], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{title}")?;
    for row in rows {
        writeln!(out, "  {}", line(row))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_best_and_last_or_that_nothing_was_graded() {
        let rec = |score, at| {
            Some(ScoreRecord {
                score,
                max_score: 26,
                at,
            })
        };
        let row = |id: &str, name: &str, best, last| Row {
            id: id.into(),
            name: name.into(),
            best,
            last,
        };
        assert_eq!(
            line(&row("lab2", "shm", None, None)),
            "lab2  shm     not graded yet"
        );
        assert_eq!(
            line(&row("lab1", "msgq", rec(20, 0), rec(20, 0))),
            "lab1  msgq    best 20/26 on 1970-01-01 00:00 UTC"
        );
        assert_eq!(
            line(&row("lab1", "msgq", rec(26, 60), rec(11, 120))),
            "lab1  msgq    best 26/26 on 1970-01-01 00:01 UTC · last 11/26 on 1970-01-01 00:02 UTC  ✔ full marks"
        );
    }

    #[test]
    fn dates_are_utc_calendar_minutes() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(951_782_400 + 3_660), "2000-02-29 01:01 UTC");
        assert_eq!(utc_minute(1_796_301_941), "2026-12-03 12:45 UTC");
    }
}
