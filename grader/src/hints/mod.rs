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

use crate::config::ConfigError;
use crate::course::{Course, HintPolicy, LabEntry, LabKind};
use crate::report::GradeReport;
use crate::score::Status;
pub use state::{state_path, HintState, Loaded, StateError};

/// The hints of one scenario (or lab 7 check), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioHints {
    /// Scenario name.
    pub name: String,
    /// Scenario title.
    pub title: Option<String>,
    /// The levels: the concept first, the recipe last (one level for a plain `hint`).
    pub levels: Vec<String>,
}

/// Failures of the hint commands.
#[derive(Debug, thiserror::Error)]
pub enum HintError {
    /// The lab's spec could not be loaded.
    #[error(transparent)]
    Spec(#[from] ConfigError),
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

/// The hints of every scenario of a lab, from the course's pinned spec.
pub fn lab_hints(course: &Course, lab: &LabEntry) -> Result<Vec<ScenarioHints>, HintError> {
    let path = course.path(&lab.spec);
    let hints = match lab.kind {
        LabKind::Ipc => {
            let (spec, text) = crate::spec::LabSpec::load(&path)?;
            lab.verify_pin(&path, &text)?;
            spec.scenarios
                .iter()
                .map(|s| ScenarioHints {
                    name: s.name.clone(),
                    title: s.title.clone(),
                    levels: s.hint_levels().into_iter().map(String::from).collect(),
                })
                .collect()
        }
        LabKind::Qemu => {
            let (spec, text) = crate::qemulab::spec::QemuLabSpec::load(&path)?;
            lab.verify_pin(&path, &text)?;
            spec.checks
                .iter()
                .map(|c| ScenarioHints {
                    name: c.name.as_str().to_owned(),
                    title: Some(c.title.clone()),
                    levels: c.hint.iter().cloned().collect(),
                })
                .collect()
        }
    };
    Ok(hints)
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
pub fn apply_policy(
    course: &Course,
    lab: &LabEntry,
    report: &mut GradeReport,
) -> Result<(), HintError> {
    let hints = lab_hints(course, lab)?;
    apply(report, &hints, course.hints, &|_| 1);
    Ok(())
}

/// The student's pass: what `state` records as revealed.
pub fn apply_progress(
    course: &Course,
    lab: &LabEntry,
    report: &mut GradeReport,
    state: &HintState,
) -> Result<(), HintError> {
    let hints = lab_hints(course, lab)?;
    apply(report, &hints, course.hints, &|name| {
        state.revealed(&lab.id, name)
    });
    Ok(())
}

/// What `cargo grader hint LAB SCENARIO` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revealed {
    /// Lab id.
    pub lab: String,
    /// The scenario and all its levels.
    pub scenario: ScenarioHints,
    /// Levels now shown (1-based count).
    pub shown: usize,
    /// Whether this call revealed a new level (false at the last one, or under `all`).
    pub new: bool,
}

/// Reveals the next level of a scenario's hints and records it in `state` (the caller
/// saves it). Under `all` every level is shown and nothing is recorded.
pub fn reveal_next(
    course: &Course,
    lab: &LabEntry,
    scenario: &str,
    state: &mut HintState,
) -> Result<Revealed, HintError> {
    let hints = lab_hints(course, lab)?;
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
    state: &HintState,
) -> Result<Vec<(ScenarioHints, usize)>, HintError> {
    if course.hints == HintPolicy::None {
        return Err(HintError::Disabled {
            course: course.root.join("course.toml"),
        });
    }
    Ok(lab_hints(course, lab)?
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
