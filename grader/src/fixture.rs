//! Fixture submissions as data (`tests/fixtures/labN/CASE/fixture.toml`, and the
//! hostile-build corpus `tests/fixtures/hostile/CASE/fixture.toml`): a base directory, the
//! files beside `fixture.toml` and exact textual edits (materialised by
//! [`crate::overlay`], like the course's solutions), symbolic links, the verdict expected
//! of it, and for hostile ones what must be unchanged on the host afterwards. Used by the
//! test suite, the bulk-grading class generator and anyone reproducing a grading bug.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{self, ConfigError};
pub use crate::overlay::Edit;
use crate::overlay::{Layer, OverlayError, Stack};
use crate::report::GradeReport;
use crate::score::Status;

/// A `fixture.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Lab id.
    pub lab: String,
    /// Base directory relative to the workspace root (a solution stored as an overlay is
    /// materialised first). The files beside fixture.toml are copied over it; with no base
    /// they are the whole submission.
    pub base: Option<PathBuf>,
    /// Grade it with `--perturb` (a racy submission whose race only a perturbed schedule
    /// loses every time).
    #[serde(default)]
    pub perturb: bool,
    /// The sandbox to grade it in: `qemu` (the default) or `local` (a fixture about the
    /// local backend's own containment).
    #[serde(default)]
    pub backend: Option<String>,
    /// Never graded on the local backend, which bounds each process's memory but not a
    /// scenario's: a memory hog there would take the host's (the guest bounds each
    /// scenario with a memory cgroup). Left out of generated classes and of the local half
    /// of `bench --broken`.
    #[serde(default)]
    pub guest_only: bool,
    /// Edits applied to the copy, last.
    #[serde(default, rename = "edit")]
    pub edits: Vec<Edit>,
    /// Symbolic links made in the submission (a hostile submission's `msgq.c` pointing at
    /// `/etc/shadow`): not stored as links in the repository, so every copy has them.
    #[serde(default, rename = "symlink")]
    pub symlinks: Vec<Symlink>,
    /// The verdict.
    pub expect: Expectation,
    /// What grading it must leave unchanged on the host (hostile fixtures).
    pub host: Option<HostExpectation>,
    /// Directory holding fixture.toml (set after loading).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// One symbolic link of a fixture.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Symlink {
    /// The link, relative to the submission.
    pub path: PathBuf,
    /// What it points to.
    pub target: PathBuf,
}

/// What a hostile submission's grading must leave as it was on the host.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostExpectation {
    /// Files that must not exist afterwards (removed before grading).
    #[serde(default)]
    pub absent: Vec<PathBuf>,
    /// Files whose content must be unchanged: absolute, relative to the course root, or
    /// under `~/`.
    #[serde(default)]
    pub unchanged: Vec<PathBuf>,
    /// No process whose command line contains this may be left running.
    pub marker: Option<String>,
    /// A port on 127.0.0.1 that must receive no connection.
    pub listen: Option<u16>,
    /// Files (as in `unchanged`) no line of which may appear in the report.
    #[serde(default)]
    pub secrets: Vec<PathBuf>,
}

/// What grading the fixture must give.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// `ok` (every program built), `partial` (some were, the others' scenarios fail) or
    /// `failed` (none was).
    pub build: String,
    /// The gradebook row's status (`full_marks`, `points_lost`, `build_failed`…).
    pub row: Option<String>,
    /// Scenario → a substring of the student's own output (stdout or stderr) that its
    /// report carries for the failing step.
    #[serde(default)]
    pub output: BTreeMap<String, String>,
    /// Status of every scenario not listed in `status` (`passed` by default).
    pub others: Option<String>,
    /// Scenario → passed | failed | timeout | crashed | error | leak, or several joined
    /// by `|` where the schedule decides between them (`crashed|timeout`).
    #[serde(default)]
    pub status: BTreeMap<String, String>,
    /// Scenario → substring of its message.
    #[serde(default)]
    pub message: BTreeMap<String, String>,
    /// Substring of a report notice (e.g. "local copy was ignored").
    pub notice: Option<String>,
    /// Substring of the build log (e.g. the grader's "the build tried to …: refused");
    /// `{submission}` stands for the graded directory (compiler messages name the
    /// student's own files).
    pub build_message: Option<String>,
}

/// Failures to prepare a fixture.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The fixture file is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Its base, files or edits could not be materialised (the message names the file).
    #[error(transparent)]
    Overlay(#[from] OverlayError),
    /// One of its symbolic links could not be made.
    #[error("failed to materialize fixture {fixture}: linking {link}: {source}")]
    Symlink {
        /// fixture.toml.
        fixture: PathBuf,
        /// The link.
        link: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Fixture {
    /// Loads `dir/fixture.toml`.
    pub fn load(dir: &Path) -> Result<Fixture, FixtureError> {
        let (mut f, _): (Fixture, _) = config::load_toml(&dir.join("fixture.toml"))?;
        f.dir = dir.to_owned();
        Ok(f)
    }

    /// The fixture's name (its directory name).
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The fixture as layers: its base (through any `overlay.toml`), then its own files
    /// and edits.
    pub fn stack(&self, root: &Path) -> Result<Stack, FixtureError> {
        let top = Layer {
            manifest: Some(self.dir.join("fixture.toml")),
            dir: self.dir.clone(),
            skip: vec!["fixture.toml".into()],
            remove: Vec::new(),
            edits: self.edits.clone(),
        };
        Ok(Stack::resolve(root, top, self.base.as_deref())?)
    }

    /// Writes the submission into `dest` (which must not exist yet).
    pub fn materialize(&self, root: &Path, dest: &Path) -> Result<(), FixtureError> {
        self.stack(root)?.materialize(dest)?;
        for l in &self.symlinks {
            std::os::unix::fs::symlink(&l.target, dest.join(&l.path)).map_err(|source| {
                FixtureError::Symlink {
                    fixture: self.dir.join("fixture.toml"),
                    link: l.path.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// Compares a report with the expectation; every mismatch is listed.
    pub fn check(&self, report: &GradeReport) -> Vec<String> {
        let mut bad = Vec::new();
        let build = match (report.build.ok, report.build.built.is_empty()) {
            (true, _) => "ok",
            (false, false) => "partial",
            (false, true) => "failed",
        };
        if build != self.expect.build {
            bad.push(format!("build {build}, expected {}", self.expect.build));
        }
        if let Some(row) = &self.expect.row {
            let got = crate::report::csv::RowStatus::of(report).as_str();
            if got != row {
                bad.push(format!("gradebook status {got}, expected {row}"));
            }
        }
        for (name, want) in &self.expect.output {
            let t = report.tests.iter().find(|t| &t.name == name);
            let o = t.and_then(|t| t.output.as_ref());
            if !o.is_some_and(|o| {
                o.stdout.contains(want.as_str()) || o.stderr.contains(want.as_str())
            }) {
                bad.push(format!("{name}: its output lacks {want:?}: {o:?}"));
            }
        }
        if !report.gradable {
            bad.push(format!(
                "not gradable: {}",
                report.not_gradable_reason.as_deref().unwrap_or("")
            ));
            return bad;
        }
        let others = self.expect.others.as_deref().unwrap_or("passed");
        for t in &report.tests {
            let want = self
                .expect
                .status
                .get(&t.name)
                .map_or(others, String::as_str);
            let got = verdict(t);
            if !want.split('|').any(|w| w == got) {
                bad.push(format!(
                    "{}: {got} (expected {want}): {}",
                    t.name, t.message
                ));
            }
            if let Some(sub) = self.expect.message.get(&t.name) {
                if !t.message.contains(sub.as_str()) {
                    bad.push(format!("{}: message lacks {sub:?}: {}", t.name, t.message));
                }
            }
        }
        let named = self.expect.status.keys().chain(self.expect.message.keys());
        for name in named.chain(self.expect.output.keys()) {
            if !report.tests.iter().any(|t| &t.name == name) {
                bad.push(format!(
                    "the fixture names scenario `{name}`, which the lab does not have"
                ));
            }
        }
        if let Some(m) = &self.expect.build_message {
            let m = m.replace("{submission}", &report.submission);
            if !report.build.log.contains(m.as_str()) {
                bad.push(format!("the build log lacks {m:?}:\n{}", report.build.log));
            }
        }
        if let Some(n) = &self.expect.notice {
            if !report.notices.iter().any(|x| x.contains(n.as_str())) {
                bad.push(format!("no notice contains {n:?}: {:?}", report.notices));
            }
        }
        bad
    }
}

/// The fixture vocabulary for a scored scenario: its status, or `leak` when only the
/// cleanup points were lost.
pub fn verdict(t: &crate::score::TestResult) -> &'static str {
    if t.status == Status::Failed && !t.leaks.is_empty() && t.score > 0 {
        "leak"
    } else {
        t.status.as_str()
    }
}

/// Every fixture under `dir` (one level: `dir/LAB/CASE/fixture.toml`), sorted.
pub fn discover(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|lab| {
            std::fs::read_dir(lab.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|case| case.path())
        .filter(|p| p.join("fixture.toml").is_file())
        .collect();
    out.sort();
    out
}
