//! Bulk grading of a class: every submission of a submissions directory graded in
//! parallel (here, or as a Slurm job array), each with a seed derived from the class seed
//! and the student's name, each result written atomically so that a rerun of the same
//! command resumes; then the gradebook and, on request, the similarity report.

pub mod bench;
pub mod class;
pub mod disguise;
pub mod pool;
pub mod results;
pub mod store;
pub mod submissions;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::course::{Course, LabEntry};
use crate::events::{Event, Subscriber};
use crate::lab::{self, LabEngine};
use crate::report::csv::{GradebookRow, RowStatus};
use crate::session::{BackendChoice, SandboxFactory};
use pool::{Context, Task};
use store::{Done, Manifest, Store};
use submissions::{Entry, Prepared};

/// Failures of a bulk run as a whole (one student's trouble is a row, never this).
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    /// A file or directory could not be read or written.
    #[error("failed to access {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A results file is unreadable.
    #[error("failed to read {path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The results directory belongs to another run.
    #[error("failed to reuse the results directory {out}: {message} (choose another --out, or delete it)")]
    Mismatch {
        /// The directory.
        out: PathBuf,
        /// What differs.
        message: String,
    },
    /// Two entries would be the same student.
    #[error("failed to list the submissions: student `{student}` has two entries, {a} and {b}")]
    Duplicate {
        /// The name.
        student: String,
        /// One entry.
        a: PathBuf,
        /// The other.
        b: PathBuf,
    },
    /// An archive or repository could not be unpacked.
    #[error("failed to unpack {path}: {message}")]
    Unpack {
        /// The archive.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The lab or its spec is wrong.
    #[error(transparent)]
    Grade(#[from] lab::GradeError),
    /// The course is wrong.
    #[error(transparent)]
    Course(#[from] crate::course::CourseError),
    /// The sandbox could not be prepared.
    #[error("failed to prepare the {backend} backend: {message}")]
    Backend {
        /// Backend name.
        backend: String,
        /// Why.
        message: String,
    },
    /// The similarity report failed.
    #[error(transparent)]
    Similarity(#[from] crate::similarity::SimilarityError),
}

/// What `cargo grader bulk` was asked.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Lab id or name.
    pub lab: String,
    /// The submissions directory.
    pub submissions: PathBuf,
    /// The results directory.
    pub out: PathBuf,
    /// Parallel gradings.
    pub jobs: usize,
    /// Where scenarios run.
    pub backend: BackendChoice,
    /// Class seed (`None`: the stored one on a rerun, else fresh).
    pub seed: Option<u64>,
    /// Write the similarity report.
    pub similarity: Option<crate::similarity::Options>,
    /// Extra gradings after an infrastructure fault.
    pub retries: u32,
    /// No progress output.
    pub quiet: bool,
    /// Build (and run, with the local backend) without the jail when it cannot be made.
    pub unsafe_host_build: bool,
}

/// A student's seed: stable across reruns and between the local and Slurm paths.
pub fn student_seed(class_seed: u64, student: &str) -> u64 {
    let d = Sha256::digest(format!("{class_seed}:{student}").as_bytes());
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// One student of the run.
#[derive(Debug)]
pub struct Student {
    /// The entry in the submissions directory.
    pub entry: Entry,
    /// Seed.
    pub seed: u64,
    /// Ready to grade, or why it cannot be.
    pub prepared: Result<Prepared, String>,
}

/// A run being set up or finished: the course, the pinned spec, the results directory and
/// the class.
#[derive(Debug)]
pub struct Run {
    /// The course.
    pub course: Course,
    /// The lab.
    pub lab: LabEntry,
    /// Its engine, spec pinned.
    pub engine: Box<dyn LabEngine>,
    /// The results directory.
    pub store: Store,
    /// The run's manifest.
    pub manifest: Manifest,
    /// Every student, sorted by name.
    pub students: Vec<Student>,
}

impl Run {
    /// Loads the lab, opens the results directory (checking it belongs to this run) and
    /// prepares every submission.
    pub fn open(course: &Course, opts: &BulkOptions, backend: &str) -> Result<Run, BulkError> {
        let lab = course.lab(&opts.lab)?.clone();
        let engine = crate::grade::engine(course, &lab)?;
        let submissions = opts
            .submissions
            .canonicalize()
            .map_err(|source| BulkError::Io {
                path: opts.submissions.clone(),
                source,
            })?;
        let want = Manifest {
            format_version: store::MANIFEST_VERSION,
            lab: lab.id.clone(),
            class_seed: opts.seed.unwrap_or_else(lab::fresh_seed),
            spec_sha256: engine.spec_sha256().to_owned(),
            backend: backend.into(),
            submissions: submissions.clone(),
        };
        let (store, manifest) = Store::open(&opts.out, want, opts.seed.is_some())?;
        Run::with_students(course, lab, engine, store, manifest)
    }

    /// The run of `manifest`, every submission it lists prepared.
    fn with_students(
        course: &Course,
        lab: LabEntry,
        engine: Box<dyn LabEngine>,
        store: Store,
        manifest: Manifest,
    ) -> Result<Run, BulkError> {
        let students = prepare(&manifest.submissions, &store, &lab, manifest.class_seed)?;
        Ok(Run {
            course: course.clone(),
            lab,
            engine,
            store,
            manifest,
            students,
        })
    }

    /// Reopens a finished or running results directory (for `collect` and batch tasks).
    pub fn reopen(course: &Course, out: &Path) -> Result<Run, BulkError> {
        let store = Store {
            root: out.canonicalize().map_err(|source| BulkError::Io {
                path: out.to_owned(),
                source,
            })?,
        };
        let manifest = store.manifest()?.ok_or_else(|| BulkError::Corrupt {
            path: store.root.join("bulk.json"),
            message: "missing: this is not a bulk results directory".into(),
        })?;
        let lab = course.lab(&manifest.lab)?.clone();
        let engine = crate::grade::engine(course, &lab)?;
        if engine.spec_sha256() != manifest.spec_sha256 {
            return Err(BulkError::Mismatch {
                out: store.root.clone(),
                message: "the lab's spec changed since the run started".into(),
            });
        }
        Run::with_students(course, lab, engine, store, manifest)
    }

    /// The scenario names, in spec order (the gradebook's columns).
    pub fn scenarios(&self) -> Vec<String> {
        self.engine.test_names()
    }

    /// Prepared students without a final result, as tasks.
    pub fn pending(&self) -> Vec<Task> {
        self.students
            .iter()
            .filter_map(|s| s.prepared.as_ref().ok().map(|p| (s, p)))
            .filter(|(s, p)| !self.store.is_finished(&p.student, s.seed, &p.sha256))
            .map(|(s, p)| Task {
                student: p.student.clone(),
                dir: p.dir.clone(),
                seed: s.seed,
                sha256: p.sha256.clone(),
            })
            .collect()
    }

    /// Records a not-gradable result for every submission that could not be prepared.
    pub fn record_unprepared(&self, factory: &SandboxFactory) -> Result<(), BulkError> {
        let ctx = self.context(factory, 0);
        for s in &self.students {
            if let Err(why) = &s.prepared {
                let task = Task {
                    student: s.entry.student.clone(),
                    dir: s.entry.path.clone(),
                    seed: s.seed,
                    sha256: String::new(),
                };
                let report = pool::not_gradable(&ctx, &task, why.clone());
                self.save(&pool::Outcome {
                    task,
                    report,
                    attempts: 1,
                    elapsed: Duration::ZERO,
                })?;
            }
        }
        Ok(())
    }

    /// Starts the progress display: students kept from an earlier run are counted in,
    /// those that could not be prepared are reported at once.
    pub fn start_progress(&self, tasks: &[Task], events: &mut dyn Subscriber) {
        let pending = |name: &str| tasks.iter().any(|t| t.student == name);
        let unprepared: Vec<&Student> = self
            .students
            .iter()
            .filter(|s| s.prepared.is_err())
            .collect();
        events.event(&Event::ClassStarted {
            students: self.students.len(),
            kept: self.students.len() - tasks.len() - unprepared.len(),
        });
        let max = self.engine.max_score();
        for s in &self.students {
            let row = self.store.row(&s.entry.student, s.seed, max);
            if s.prepared.is_err() {
                events.event(&Event::StudentGraded {
                    row: &row,
                    elapsed: Duration::ZERO,
                    attempts: 1,
                });
            } else if !pending(&s.entry.student) {
                events.event(&Event::StudentKept { row: &row });
            }
        }
    }

    /// The grading context.
    pub fn context<'a>(&'a self, factory: &'a SandboxFactory, retries: u32) -> Context<'a> {
        Context {
            lab: &self.lab,
            engine: self.engine.as_ref(),
            factory,
            retries,
        }
    }

    /// Saves one outcome.
    pub fn save(&self, o: &pool::Outcome) -> Result<(), BulkError> {
        save_outcome(&self.store, o)
    }

    /// Every student's current row.
    pub fn rows(&self) -> Vec<GradebookRow> {
        let max = self.engine.max_score();
        self.students
            .iter()
            .map(|s| self.store.row(&s.entry.student, s.seed, max))
            .collect()
    }

    /// Writes the gradebook, when asked the similarity report, then the dashboard.
    pub fn assemble(
        &self,
        similarity: Option<&crate::similarity::Options>,
    ) -> Result<Summary, BulkError> {
        let rows = self.rows();
        let gradebook = self.store.write_gradebook(&rows, &self.scenarios())?;
        let similarity = similarity.map(|o| self.similarity(o)).transpose()?;
        let dashboard = results::write_dashboard(&self.store.root)?.index;
        Ok(Summary {
            rows,
            gradebook,
            similarity,
            dashboard,
            graded: 0,
            elapsed: Duration::ZERO,
        })
    }

    fn similarity(&self, opts: &crate::similarity::Options) -> Result<PathBuf, BulkError> {
        let subs: Vec<(String, PathBuf)> = self
            .students
            .iter()
            .filter_map(|s| s.prepared.as_ref().ok())
            .map(|p| (p.student.clone(), p.dir.clone()))
            .collect();
        let pairs = crate::similarity::compare(&subs, &[self.course.path(&self.lab.dir)], opts)?;
        let (md, csv) = (
            self.store.root.join("similarity.md"),
            self.store.root.join("similarity.csv"),
        );
        let mut buf = Vec::new();
        crate::similarity::write_markdown(&pairs, subs.len(), opts, &mut buf).map_err(
            |source| BulkError::Io {
                path: md.clone(),
                source,
            },
        )?;
        store::write_atomic(&md, &buf).map_err(|source| BulkError::Io {
            path: md.clone(),
            source,
        })?;
        buf.clear();
        crate::similarity::write_csv(&pairs, &mut buf).map_err(|source| BulkError::Io {
            path: csv.clone(),
            source,
        })?;
        store::write_atomic(&csv, &buf).map_err(|source| BulkError::Io { path: csv, source })?;
        Ok(md)
    }
}

/// Saves one outcome: the reports, then `done.json`.
pub fn save_outcome(store: &Store, o: &pool::Outcome) -> Result<(), BulkError> {
    let done = Done {
        student: o.task.student.clone(),
        seed: o.task.seed,
        submission_sha256: o.task.sha256.clone(),
        attempts: o.attempts,
        gradable: o.report.gradable,
        duration_ms: o.elapsed.as_millis() as u64,
    };
    store.save(&o.report, &done)
}

fn prepare(
    submissions: &Path,
    store: &Store,
    lab: &LabEntry,
    class_seed: u64,
) -> Result<Vec<Student>, BulkError> {
    let entries = submissions::discover(submissions)?;
    let unpack = store.work_dir().join("unpacked");
    std::fs::create_dir_all(&unpack).map_err(|source| BulkError::Io {
        path: unpack.clone(),
        source,
    })?;
    Ok(entries
        .into_iter()
        .map(|entry| {
            let prepared =
                submissions::prepare_one(&entry, &unpack, &lab.dir).map_err(|e| e.to_string());
            Student {
                seed: student_seed(class_seed, &entry.student),
                entry,
                prepared,
            }
        })
        .collect())
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Every student's row.
    pub rows: Vec<GradebookRow>,
    /// `gradebook.csv`.
    pub gradebook: PathBuf,
    /// `similarity.md`, when asked for.
    pub similarity: Option<PathBuf>,
    /// `index.html`, the dashboard.
    pub dashboard: PathBuf,
    /// Students graded by this run (the others were kept).
    pub graded: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Rows with a given status.
    pub fn count(&self, status: RowStatus) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// One line for the end of a run.
    pub fn line(&self) -> String {
        format!(
            "{} students: {} full marks, {} points lost, {} build failed, {} not gradable, {} missing; {} graded now in {}",
            self.rows.len(),
            self.count(RowStatus::FullMarks),
            self.count(RowStatus::PointsLost),
            self.count(RowStatus::BuildFailed),
            self.count(RowStatus::NotGradable),
            self.count(RowStatus::Missing),
            self.graded,
            crate::progress::clock(self.elapsed)
        )
    }
}

/// A bulk run ready to grade (here or through Slurm): the backend prepared, the results
/// directory open, the students that could not be prepared recorded, the progress begun.
#[derive(Debug)]
pub struct Begun {
    /// The run.
    pub run: Run,
    /// The sandboxes.
    pub factory: SandboxFactory,
    /// The students left to grade.
    pub tasks: Vec<Task>,
    /// When it began.
    pub start: Instant,
}

/// Opens a bulk run: prepares the backend (the guest image is then in the shared cache
/// for every grading, here or on Slurm nodes), the results directory and the class.
pub fn begin(
    course: &Course,
    opts: &BulkOptions,
    events: &mut dyn Subscriber,
) -> Result<Begun, BulkError> {
    let start = Instant::now();
    let guests = crate::session::GuestStartOptions::default();
    let factory = SandboxFactory::new(
        course,
        opts.backend,
        opts.quiet,
        opts.unsafe_host_build,
        &guests,
    )
    .map_err(|e| BulkError::Backend {
        backend: format!("{:?}", opts.backend).to_lowercase(),
        message: format!("{e:#}"),
    })?;
    let run = Run::open(course, opts, factory.name())?;
    run.record_unprepared(&factory)?;
    let tasks = run.pending();
    run.start_progress(&tasks, events);
    Ok(Begun {
        run,
        factory,
        tasks,
        start,
    })
}

impl Begun {
    /// Ends the run: the progress closes, the gradebook (and the similarity report when
    /// asked for) is written from every student's result.
    pub fn finish(
        &self,
        opts: &BulkOptions,
        graded: usize,
        events: &mut dyn Subscriber,
    ) -> Result<Summary, BulkError> {
        events.event(&Event::ClassFinished);
        let mut summary = self.run.assemble(opts.similarity.as_ref())?;
        summary.graded = graded;
        summary.elapsed = self.start.elapsed();
        Ok(summary)
    }
}

/// Grades the class on this machine.
pub fn run(
    course: &Course,
    opts: &BulkOptions,
    events: &mut dyn Subscriber,
) -> Result<Summary, BulkError> {
    let begun = begin(course, opts, events)?;
    let (run, tasks) = (&begun.run, &begun.tasks);
    let scratch = run.store.work_dir().join("scratch");
    let ctx = run.context(&begun.factory, opts.retries);
    let mut failure = None;
    pool::run(&ctx, tasks, opts.jobs, &scratch, &mut |o| {
        if let Err(e) = run.save(&o) {
            failure.get_or_insert(e);
            return;
        }
        events.event(&Event::StudentGraded {
            row: &GradebookRow::from_report(&o.task.student, &o.report),
            elapsed: o.elapsed,
            attempts: o.attempts,
        });
        // The gradebook is kept current, so an interrupted run still leaves one.
        let _ = run.store.write_gradebook(&run.rows(), &run.scenarios());
    });
    if let Some(e) = failure {
        events.event(&Event::ClassFinished);
        return Err(e);
    }
    begun.finish(opts, tasks.len(), events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_seeds_are_stable_and_distinct() {
        assert_eq!(student_seed(1, "alice"), student_seed(1, "alice"));
        assert_ne!(student_seed(1, "alice"), student_seed(1, "bob"));
        assert_ne!(student_seed(1, "alice"), student_seed(2, "alice"));
    }
}
