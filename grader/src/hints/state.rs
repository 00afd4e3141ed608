//! The student's own state: which level of each scenario's hints `cargo grader hint`
//! has revealed, and each lab's best and last score (`cargo grader progress`), in a small
//! versioned JSON file of the checkout (`.grader/state.json`, ignored by git). A missing
//! file is a fresh start; an unreadable or corrupted one is a fresh start too, with a
//! warning saying so, and is replaced at the next save. A file of an older format is
//! migrated when read and written back in the current one at the next save.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::report::progress::{utc_minute, ScoreRecord};

/// The `format_version` of the state file this grader writes.
pub const STATE_FORMAT_VERSION: u32 = 2;
/// Environment variable naming another state file (tests, shared machines).
pub const STATE_ENV: &str = "GRADER_STATE_FILE";
/// Where the state file lives, relative to the course root.
pub const STATE_FILE: &str = ".grader/state.json";

/// The state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentState {
    /// [`STATE_FORMAT_VERSION`] (1, the hints-only format, is migrated when read).
    pub format_version: u32,
    /// Lab id → its progress.
    #[serde(default)]
    pub labs: BTreeMap<String, LabProgress>,
}

/// One lab's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabProgress {
    /// Scenario → the highest hint level revealed (1 is the first level, which every
    /// failing scenario shows anyway).
    #[serde(default)]
    pub revealed: BTreeMap<String, u32>,
    /// The best score of a gradable run so far (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<ScoreRecord>,
    /// The score of the last gradable run (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<ScoreRecord>,
}

impl Default for StudentState {
    fn default() -> Self {
        StudentState {
            format_version: STATE_FORMAT_VERSION,
            labs: BTreeMap::new(),
        }
    }
}

/// A state file that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Creating the directory, writing or renaming failed.
    #[error("failed to save the student state to {path}: {source}")]
    Write {
        /// The state file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// A state read from disk, with what went wrong reading it.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The progress (empty when the file is missing or unusable).
    pub state: StudentState,
    /// Why the file's content was not used, for the student to read.
    pub warning: Option<String>,
}

/// The state file of the course at `root`: `$GRADER_STATE_FILE`, else
/// `ROOT/.grader/state.json`.
pub fn state_path(root: &Path) -> PathBuf {
    match std::env::var_os(STATE_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root.join(STATE_FILE),
    }
}

/// Brings a parsed file of an older format to the current one. Format 1 had only the
/// revealed hint levels, which format 2 keeps as they are; it adds the scores.
fn migrate(mut state: StudentState) -> Result<StudentState, u32> {
    match state.format_version {
        1 => {
            state.format_version = 2;
            Ok(state)
        }
        STATE_FORMAT_VERSION => Ok(state),
        other => Err(other),
    }
}

impl StudentState {
    /// Reads `path`. Never fails: a missing file is an empty state, and a file that cannot
    /// be read or understood is an empty state plus a warning.
    pub fn load(path: &Path) -> Loaded {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::default(),
            Err(e) => return ignored(path, &format!("it cannot be read ({e})")),
        };
        match serde_json::from_slice::<StudentState>(&bytes).map(migrate) {
            Ok(Ok(state)) => Loaded {
                state,
                warning: None,
            },
            Ok(Err(v)) => ignored(
                path,
                &format!(
                    "its format_version is {v} (this grader reads 1 to {STATE_FORMAT_VERSION})"
                ),
            ),
            Err(e) => ignored(path, &format!("it is not a valid state file ({e})")),
        }
    }

    /// Writes the state to `path` (through a temporary file, so a crash never leaves half
    /// a file), creating its directory.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |source| StateError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut text = serde_json::to_string_pretty(self).expect("plain data serializes");
        text.push('\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// The level revealed for a scenario (0: nothing beyond what a report shows anyway).
    pub fn revealed(&self, lab: &str, scenario: &str) -> u32 {
        self.labs
            .get(lab)
            .and_then(|l| l.revealed.get(scenario))
            .copied()
            .unwrap_or(0)
    }

    /// Reveals one more level of a scenario that has `total` levels (the first counts as
    /// already shown); returns the level now revealed, at most `total`.
    pub fn reveal_next(&mut self, lab: &str, scenario: &str, total: u32) -> u32 {
        let next = (self.revealed(lab, scenario).max(1) + 1).min(total);
        self.labs
            .entry(lab.to_owned())
            .or_default()
            .revealed
            .insert(scenario.to_owned(), next);
        next
    }

    /// Records a gradable run's score: it becomes the last, and the best when it beats it
    /// (a tie keeps the earlier date: when the score was first reached).
    pub fn record_score(&mut self, lab: &str, record: ScoreRecord) {
        let p = self.labs.entry(lab.to_owned()).or_default();
        p.last = Some(record);
        if p.best.map_or(true, |b| {
            record.score > b.score || record.max_score != b.max_score
        }) {
            p.best = Some(record);
        }
    }

    /// A lab's progress, if it has any.
    pub fn lab(&self, lab: &str) -> Option<&LabProgress> {
        self.labs.get(lab)
    }
}

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn ignored(path: &Path, why: &str) -> Loaded {
    Loaded {
        state: StudentState::default(),
        warning: Some(format!(
            "ignoring the student state in {}: {why}; every scenario starts again at its first hint, the scores so far are forgotten, and the file is rewritten at the next grading or `cargo grader hint`",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("grader-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.join(".grader/state.json")
    }

    #[test]
    fn a_missing_file_is_a_fresh_start_without_warning() {
        let loaded = StudentState::load(&tmp("missing"));
        assert_eq!(loaded.state, StudentState::default());
        assert!(loaded.warning.is_none());
    }

    #[test]
    fn reveals_go_one_level_at_a_time_up_to_the_last_and_survive_a_reload() {
        let path = tmp("reveal");
        let mut s = StudentState::default();
        assert_eq!(s.revealed("lab1", "rm"), 0);
        assert_eq!(s.reveal_next("lab1", "rm", 3), 2);
        assert_eq!(s.reveal_next("lab1", "rm", 3), 3);
        assert_eq!(s.reveal_next("lab1", "rm", 3), 3);
        assert_eq!(s.revealed("lab2", "rm"), 0);
        s.save(&path).unwrap();
        let again = StudentState::load(&path);
        assert!(again.warning.is_none());
        assert_eq!(again.state.revealed("lab1", "rm"), 3);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"format_version\": 2"), "{text}");
    }

    #[test]
    fn a_corrupted_or_future_file_is_ignored_with_a_warning_naming_it() {
        let path = tmp("corrupt");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\"format_version\": 1, \"labs\": {\"lab1\": 3").unwrap();
        let loaded = StudentState::load(&path);
        assert_eq!(loaded.state, StudentState::default());
        let w = loaded.warning.unwrap();
        assert!(
            w.contains("state.json") && w.contains("not a valid state file"),
            "{w}"
        );
        std::fs::write(&path, "{\"format_version\": 9}").unwrap();
        let w = StudentState::load(&path).warning.unwrap();
        assert!(w.contains("format_version is 9"), "{w}");
    }

    #[test]
    fn a_format_1_file_is_migrated_keeping_its_hints_and_saved_as_format_2() {
        let path = tmp("migrate");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let v1 = r#"{"format_version": 1, "labs": {"lab1": {"revealed": {"rm": 2}}}}"#;
        std::fs::write(&path, v1).unwrap();
        let loaded = StudentState::load(&path);
        assert!(loaded.warning.is_none(), "{:?}", loaded.warning);
        let mut state = loaded.state;
        assert_eq!(state.format_version, STATE_FORMAT_VERSION);
        assert_eq!(state.revealed("lab1", "rm"), 2);
        assert_eq!(state.lab("lab1").unwrap().best, None);
        state.record_score("lab1", rec(3, 26, 100));
        state.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"format_version\": 2"), "{text}");
        let again = StudentState::load(&path).state;
        assert_eq!(again.revealed("lab1", "rm"), 2);
        assert_eq!(again.lab("lab1").unwrap().last, Some(rec(3, 26, 100)));
    }

    fn rec(score: u32, max_score: u32, at: u64) -> ScoreRecord {
        ScoreRecord {
            score,
            max_score,
            at,
        }
    }

    #[test]
    fn the_best_score_keeps_the_date_it_was_first_reached_and_the_last_follows_every_run() {
        let mut s = StudentState::default();
        s.record_score("lab1", rec(10, 26, 1));
        s.record_score("lab1", rec(20, 26, 2));
        s.record_score("lab1", rec(20, 26, 3));
        s.record_score("lab1", rec(5, 26, 4));
        let p = s.lab("lab1").unwrap();
        assert_eq!(p.best, Some(rec(20, 26, 2)));
        assert_eq!(p.last, Some(rec(5, 26, 4)));
        // A spec whose points changed starts the best again.
        s.record_score("lab1", rec(4, 30, 5));
        assert_eq!(s.lab("lab1").unwrap().best, Some(rec(4, 30, 5)));
    }
}
