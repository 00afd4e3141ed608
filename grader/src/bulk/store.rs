//! The results directory of a bulk run, and resuming: every file is written to a
//! temporary name and renamed into place, and a student's `done.json` is written last, so
//! a run killed at any instant leaves either a complete result or none; a rerun of the
//! same command trusts exactly the complete ones.
//!
//! ```text
//! OUT/bulk.json                 the run: lab, class seed, spec hash, backend
//! OUT/gradebook.csv             one row per student
//! OUT/students/NAME/report.json the JSON contract
//! OUT/students/NAME/report.txt  the human report
//! OUT/students/NAME/done.json   seed, submission hash, attempts (written last)
//! OUT/.work/                    unpacked archives, scratch directories, Slurm files
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BulkError;
use crate::report::csv::GradebookRow;
use crate::report::GradeReport;

/// Version of `bulk.json`.
pub const MANIFEST_VERSION: u32 = 1;

/// `bulk.json`: what a results directory holds; a rerun must match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub format_version: u32,
    /// Lab id.
    pub lab: String,
    /// Class seed: every student's seed derives from it and their name.
    pub class_seed: u64,
    /// SHA-256 of the spec graded with.
    pub spec_sha256: String,
    /// `qemu` or `local`.
    pub backend: String,
    /// The submissions directory.
    pub submissions: PathBuf,
}

/// `done.json`: a finished student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// Student name.
    pub student: String,
    /// Seed graded with.
    pub seed: u64,
    /// Content hash of the submission graded.
    pub submission_sha256: String,
    /// Gradings it took (2 after an infrastructure fault and its retry).
    pub attempts: u32,
    /// Whether the final report is gradable.
    pub gradable: bool,
    /// Wall time of all attempts.
    pub duration_ms: u64,
}

/// Writes a file atomically: a temporary file in the same directory, synced, renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(
        format!(
            ".{name}.tmp-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        )
        .replace(['(', ')'], ""),
    );
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// A results directory.
#[derive(Debug, Clone)]
pub struct Store {
    /// `OUT`.
    pub root: PathBuf,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BulkError + '_ {
    move |source| BulkError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Store {
    /// Opens (creating) `out` for a run described by `want`. An existing run must be of
    /// the same lab, spec and backend; its class seed is kept unless `explicit_seed`
    /// asks for another one, which is refused.
    pub fn open(
        out: &Path,
        mut want: Manifest,
        explicit_seed: bool,
    ) -> Result<(Store, Manifest), BulkError> {
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        let store = Store {
            root: out.canonicalize().map_err(io_err(out))?,
        };
        let path = store.root.join("bulk.json");
        if let Some(have) = store.manifest()? {
            let mismatch = |what: &str, a: &str, b: &str| BulkError::Mismatch {
                out: store.root.clone(),
                message: format!("it holds results for {what} {a}, this run asks for {b}"),
            };
            if have.lab != want.lab {
                return Err(mismatch("lab", &have.lab, &want.lab));
            }
            if have.spec_sha256 != want.spec_sha256 {
                return Err(mismatch(
                    "the spec with sha256",
                    have.spec_sha256.get(..12).unwrap_or(&have.spec_sha256),
                    want.spec_sha256.get(..12).unwrap_or(&want.spec_sha256),
                ));
            }
            if have.backend != want.backend {
                return Err(mismatch("backend", &have.backend, &want.backend));
            }
            if explicit_seed && have.class_seed != want.class_seed {
                return Err(mismatch(
                    "class seed",
                    &have.class_seed.to_string(),
                    &want.class_seed.to_string(),
                ));
            }
            want.class_seed = have.class_seed;
        }
        let json = serde_json::to_vec_pretty(&want).expect("manifest serializes");
        write_atomic(&path, &json).map_err(io_err(&path))?;
        Ok((store, want))
    }

    /// Reads `bulk.json`, if any.
    pub fn manifest(&self) -> Result<Option<Manifest>, BulkError> {
        let path = self.root.join("bulk.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| BulkError::Corrupt {
                    path,
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(BulkError::Io { path, source }),
        }
    }

    /// `OUT/students/NAME`.
    pub fn student_dir(&self, student: &str) -> PathBuf {
        self.root.join("students").join(student)
    }

    /// `OUT/.work`: unpacked archives, scratch space, batch files.
    pub fn work_dir(&self) -> PathBuf {
        self.root.join(".work")
    }

    /// `OUT/gradebook.csv`.
    pub fn gradebook_path(&self) -> PathBuf {
        self.root.join("gradebook.csv")
    }

    /// The student's `done.json`, if it is complete.
    pub fn done(&self, student: &str) -> Option<Done> {
        let bytes = std::fs::read(self.student_dir(student).join("done.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The student's report, if it is there and parses.
    pub fn report(&self, student: &str) -> Option<GradeReport> {
        let bytes = std::fs::read(self.student_dir(student).join("report.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Whether the student has a final result for this seed and submission content. A
    /// not-gradable result is not final: a rerun tries it again.
    pub fn is_finished(&self, student: &str, seed: u64, sha: &str) -> bool {
        self.done(student).is_some_and(|d| {
            d.seed == seed
                && d.submission_sha256 == sha
                && d.gradable
                && self.report(student).is_some()
        })
    }

    /// Saves a student's result: the reports first, `done.json` last.
    pub fn save(&self, report: &GradeReport, done: &Done) -> Result<(), BulkError> {
        let dir = self.student_dir(&done.student);
        let json = dir.join("report.json");
        let mut buf = Vec::new();
        crate::report::json::write(report, &mut buf).map_err(io_err(&json))?;
        write_atomic(&json, &buf).map_err(io_err(&json))?;
        let txt = dir.join("report.txt");
        buf.clear();
        crate::report::human::write(
            report,
            crate::report::human::Style {
                color: false,
                verbose: false,
            },
            &mut buf,
        )
        .map_err(io_err(&txt))?;
        write_atomic(&txt, &buf).map_err(io_err(&txt))?;
        let path = dir.join("done.json");
        let bytes = serde_json::to_vec_pretty(done).expect("done serializes");
        write_atomic(&path, &bytes).map_err(io_err(&path))
    }

    /// The gradebook row of a student: from the saved report, or `missing`.
    pub fn row(&self, student: &str, seed: u64, max_score: u32) -> GradebookRow {
        match (self.done(student), self.report(student)) {
            (Some(_), Some(r)) => GradebookRow::from_report(student, &r),
            _ => GradebookRow::missing(student, max_score, seed),
        }
    }

    /// Writes `gradebook.csv` (atomically).
    pub fn write_gradebook(
        &self,
        rows: &[GradebookRow],
        scenarios: &[String],
    ) -> Result<PathBuf, BulkError> {
        let path = self.gradebook_path();
        let mut buf = Vec::new();
        crate::report::csv::write(rows, scenarios, &mut buf).map_err(io_err(&path))?;
        write_atomic(&path, &buf).map_err(io_err(&path))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(seed: u64) -> Manifest {
        Manifest {
            format_version: MANIFEST_VERSION,
            lab: "lab1".into(),
            class_seed: seed,
            spec_sha256: "ab".repeat(32),
            backend: "local".into(),
            submissions: "/subs".into(),
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("grader-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_rerun_keeps_the_class_seed_and_refuses_another_lab() {
        let out = tmp("manifest");
        let (_, m) = Store::open(&out, manifest(7), true).unwrap();
        assert_eq!(m.class_seed, 7);
        let (_, m) = Store::open(&out, manifest(99), false).unwrap();
        assert_eq!(
            m.class_seed, 7,
            "a rerun without --seed keeps the stored class seed"
        );
        let err = Store::open(&out, manifest(99), true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("class seed 7"), "{err}");
        let mut other = manifest(7);
        other.lab = "lab2".into();
        let err = Store::open(&out, other, false).unwrap_err().to_string();
        assert!(err.contains("lab lab1"), "{err}");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let out = tmp("atomic");
        let path = out.join("x/y.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(out.join("x"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
