//! `cargo grader progress`: one line per lab of the course with the best score so far and
//! when it was reached, and the last score, from the student's state file.

use std::io::{self, Write};

use crate::course::Course;
use crate::hints::state::{utc_minute, ScoreRecord, StudentState};

fn score(r: &ScoreRecord) -> String {
    format!("{}/{} on {}", r.score, r.max_score, utc_minute(r.at))
}

/// One line for a lab.
pub fn line(id: &str, name: &str, state: &StudentState) -> String {
    let p = state.lab(id);
    let text = match (p.and_then(|p| p.best), p.and_then(|p| p.last)) {
        (Some(best), Some(last)) if best == last => format!("best {}", score(&best)),
        (Some(best), Some(last)) => format!("best {} · last {}", score(&best), score(&last)),
        (Some(best), None) => format!("best {}", score(&best)),
        (None, _) => "not graded yet".to_string(),
    };
    let full = match p.and_then(|p| p.best) {
        Some(b) if b.score == b.max_score => "  ✔ full marks",
        _ => "",
    };
    format!("{id:<5} {name:<7} {text}{full}")
}

/// Every lab of the course, in course order.
pub fn write(course: &Course, state: &StudentState, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", course.title)?;
    for lab in &course.labs {
        writeln!(out, "  {}", line(&lab.id, &lab.name, state))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_best_and_last_or_that_nothing_was_graded() {
        let mut s = StudentState::default();
        assert_eq!(line("lab2", "shm", &s), "lab2  shm     not graded yet");
        let rec = |score, at| ScoreRecord {
            score,
            max_score: 26,
            at,
        };
        s.record_score("lab1", rec(20, 0));
        assert_eq!(
            line("lab1", "msgq", &s),
            "lab1  msgq    best 20/26 on 1970-01-01 00:00 UTC"
        );
        s.record_score("lab1", rec(26, 60));
        s.record_score("lab1", rec(11, 120));
        assert_eq!(
            line("lab1", "msgq", &s),
            "lab1  msgq    best 26/26 on 1970-01-01 00:01 UTC · last 11/26 on 1970-01-01 00:02 UTC  ✔ full marks"
        );
    }
}
