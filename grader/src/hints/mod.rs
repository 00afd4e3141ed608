//! Progressive hints: how many levels of a failing scenario's hints a report shows, under
//! the course's policy (`hints = "levels" | "all" | "none"` in course.toml) and, for the
//! student's own runs, the progress kept in the state file; and how `cargo grader hint`
//! reveals the next level.
//!
//! Every report gets the policy applied once, in the engine, with one level revealed: so
//! CI formats, bulk gradebooks and `cargo grader check` never depend on a local file.
//! The student's `cargo grader LAB` (human and JSON reports) then reveals what the state
//! file records.

pub mod state;

use crate::course::{Course, HintPolicy, LabEntry};
pub use crate::report::hints::{Revealed, ScenarioHints};
use crate::report::GradeReport;
use crate::score::Status;
pub use state::{state_path, Loaded, StateError, StudentState};

/// Failures of the hint commands.
#[derive(Debug, thiserror::Error)]
pub enum HintError {
    /// The course shows no hints.
    #[error("this course shows no hints (hints = \"none\" in {course})")]
    Disabled {
        /// course.toml.
        course: std::path::PathBuf,
    },
    /// No such scenario in the lab.
    #[error("{lab} has no scenario `{name}` (its scenarios: {known})")]
    UnknownScenario {
        /// Lab id.
        lab: String,
        /// What was asked.
        name: String,
        /// The lab's scenario names.
        known: String,
    },
    /// The progress could not be saved.
    #[error(transparent)]
    State(#[from] StateError),
}

/// How many of `total` levels a failing scenario shows: none under `none`, all under
/// `all`, else what was revealed, and at least the first.
pub fn shown(policy: HintPolicy, total: usize, revealed: u32) -> usize {
    match policy {
        HintPolicy::None => 0,
        HintPolicy::All => total,
        HintPolicy::Levels => (revealed as usize).clamp(1, total.max(1)).min(total),
    }
}

/// Sets the hint fields of every test of `report`: failing scenarios of a built submission
/// show `shown(policy, levels, revealed(name))` levels; passing ones (and an unbuilt
/// submission's) none. Under `none`, no test says even how many hints exist.
pub fn apply(
    report: &mut GradeReport,
    hints: &[ScenarioHints],
    policy: HintPolicy,
    revealed: &dyn Fn(&str) -> u32,
) {
    let built = report.build.ok;
    for t in &mut report.tests {
        let levels = hints
            .iter()
            .find(|h| h.name == t.name)
            .map_or(&[][..], |h| &h.levels[..]);
        let n = if t.status == Status::Passed || !built {
            0
        } else {
            shown(policy, levels.len(), revealed(&t.name))
        };
        t.hints = levels[..n].to_vec();
        t.hint = (n > 0).then(|| t.hints.join("\n"));
        t.hint_levels = if policy == HintPolicy::None {
            0
        } else {
            levels.len() as u32
        };
    }
}

/// The engine's pass: the course's policy with only the first level revealed.
pub fn apply_policy(course: &Course, hints: &[ScenarioHints], report: &mut GradeReport) {
    apply(report, hints, course.hints, &|_| 1);
}

/// The student's pass: what `state` records as revealed.
pub fn apply_progress(
    course: &Course,
    lab: &LabEntry,
    hints: &[ScenarioHints],
    report: &mut GradeReport,
    state: &StudentState,
) {
    apply(report, hints, course.hints, &|name| {
        state.revealed(&lab.id, name)
    });
}

/// Reveals the next level of a scenario's hints (`hints`: the lab's) and records it in
/// `state` (the caller saves it). Under `all` every level is shown and nothing is recorded.
pub fn reveal_next(
    course: &Course,
    lab: &LabEntry,
    hints: Vec<ScenarioHints>,
    scenario: &str,
    state: &mut StudentState,
) -> Result<Revealed, HintError> {
    let scenario = find(lab, hints, scenario)?;
    let total = scenario.levels.len();
    let before = shown(course.hints, total, state.revealed(&lab.id, &scenario.name));
    let now = match course.hints {
        HintPolicy::None => {
            return Err(HintError::Disabled {
                course: course.root.join("course.toml"),
            })
        }
        HintPolicy::All => total,
        HintPolicy::Levels if total == 0 => 0,
        HintPolicy::Levels => state.reveal_next(&lab.id, &scenario.name, total as u32) as usize,
    };
    Ok(Revealed {
        lab: lab.id.clone(),
        shown: now,
        new: now > before,
        scenario,
    })
}

/// Every scenario of a lab with the number of levels a failure of it shows now.
pub fn progress(
    course: &Course,
    lab: &LabEntry,
    hints: Vec<ScenarioHints>,
    state: &StudentState,
) -> Result<Vec<(ScenarioHints, usize)>, HintError> {
    if course.hints == HintPolicy::None {
        return Err(HintError::Disabled {
            course: course.root.join("course.toml"),
        });
    }
    Ok(hints
        .into_iter()
        .map(|h| {
            let n = shown(
                course.hints,
                h.levels.len(),
                state.revealed(&lab.id, &h.name),
            );
            (h, n)
        })
        .collect())
}

fn find(lab: &LabEntry, hints: Vec<ScenarioHints>, name: &str) -> Result<ScenarioHints, HintError> {
    let known = hints
        .iter()
        .map(|h| h.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    hints
        .into_iter()
        .find(|h| h.name == name)
        .ok_or_else(|| HintError::UnknownScenario {
            lab: lab.id.clone(),
            name: name.to_owned(),
            known,
        })
}

#[cfg(test)]
mod tests;
