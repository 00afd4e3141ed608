//! Bulk grading past one machine: the class's pending submissions become a Slurm job
//! array (one task per chunk of students; each task grades its chunk one guest at a time
//! and writes results into the shared results directory, exactly as the local path does);
//! the submitting side polls `squeue`, resubmits once what a lost task left ungraded, and
//! assembles the same gradebook. `--no-wait` returns after `sbatch`; `collect` finishes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bulk::pool::{self, Context, Task};
use crate::bulk::store::{write_atomic, Store};
use crate::bulk::{BulkError, BulkOptions, Run, Summary};
use crate::course::Course;
use crate::events::{Event, Subscriber};
use crate::report::csv::GradebookRow;
use crate::session::{BackendChoice, SandboxFactory};

/// Slurm's default `MaxArraySize` is 1001: larger classes are chunked to fit.
const MAX_ARRAY_TASKS: usize = 1000;

/// Failures of the batch path.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// A Slurm command failed or is missing.
    #[error("failed to run {tool}: {message}")]
    Tool {
        /// The command.
        tool: String,
        /// Its error output, or why it could not start.
        message: String,
    },
    /// A batch file could not be written or read.
    #[error("failed to access {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The bulk run itself failed.
    #[error(transparent)]
    Bulk(#[from] BulkError),
}

/// How to use Slurm.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// Students per array task.
    pub chunk: usize,
    /// `--partition`.
    pub partition: Option<String>,
    /// More `sbatch` arguments (`--time=…`, `--mem=…`, `--account=…`).
    pub sbatch_args: Vec<String>,
    /// Wait for the job and assemble the gradebook (else: `collect` later).
    pub wait: bool,
    /// `squeue` polling interval.
    pub poll: Duration,
}

/// `OUT/.work/slurm/jobs.json`: what was submitted, for `collect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jobs {
    /// Job ids, in submission order.
    pub jobs: Vec<String>,
    /// Extra gradings after an infrastructure fault, per student.
    pub retries: u32,
    /// Similarity threshold, when the report was asked for.
    pub similarity_threshold: Option<f64>,
    /// The run allowed building without the jail where it cannot be made.
    #[serde(default)]
    pub unsafe_host_build: bool,
}

/// The outcome of `bulk --slurm`.
#[derive(Debug)]
pub enum Outcome {
    /// Graded and assembled.
    Done(Summary),
    /// Submitted; `collect` assembles later.
    Submitted {
        /// Job id.
        job: String,
        /// Array tasks.
        tasks: usize,
        /// The results directory.
        out: PathBuf,
    },
}

fn slurm_dir(store: &Store) -> PathBuf {
    store.work_dir().join("slurm")
}

fn file_err(path: &Path) -> impl Fn(String) -> SlurmError + '_ {
    move |message| SlurmError::File {
        path: path.to_owned(),
        message,
    }
}

/// Runs a Slurm command, returning its stdout.
fn tool(cmd: &mut Command) -> Result<String, SlurmError> {
    let name = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| SlurmError::Tool {
        tool: name.clone(),
        message: format!("{e} (is Slurm installed? .ci/slurm-setup.sh starts a one-node cluster)"),
    })?;
    if !out.status.success() {
        return Err(SlurmError::Tool {
            tool: name,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Quotes a word for `sh`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The batch script: the array task grades chunk `$SLURM_ARRAY_TASK_ID` of `plan`.
pub fn script(exe: &Path, out: &Path, plan: &Path) -> String {
    format!(
        "#!/bin/sh\n# Written by `cargo grader bulk --slurm`: array task N grades chunk N of the plan.\nexec {} grader bulk-task --out {} --plan {} --index \"$SLURM_ARRAY_TASK_ID\"\n",
        sh_quote(&exe.display().to_string()),
        sh_quote(&out.display().to_string()),
        sh_quote(&plan.display().to_string()),
    )
}

/// Splits tasks into at most [`MAX_ARRAY_TASKS`] chunks of about `chunk` students.
pub fn chunks(tasks: &[Task], chunk: usize) -> Vec<Vec<Task>> {
    let size = chunk.max(1).max(tasks.len().div_ceil(MAX_ARRAY_TASKS));
    tasks.chunks(size).map(<[Task]>::to_vec).collect()
}

/// Writes the plan and script and submits the array; returns the job id.
pub fn submit(
    run: &Run,
    tasks: &[Task],
    opts: &SlurmOptions,
    round: usize,
) -> Result<(String, usize), SlurmError> {
    let dir = slurm_dir(&run.store);
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| file_err(&logs)(e.to_string()))?;
    let chunks = chunks(tasks, opts.chunk);
    let plan = dir.join(format!("plan-{round}.json"));
    let json = serde_json::to_vec_pretty(&chunks).expect("plan serializes");
    write_atomic(&plan, &json).map_err(|e| file_err(&plan)(e.to_string()))?;
    let exe = std::env::current_exe().map_err(|e| SlurmError::Tool {
        tool: "cargo-grader".into(),
        message: e.to_string(),
    })?;
    let script_path = dir.join(format!("grade-{round}.sh"));
    write_atomic(
        &script_path,
        script(&exe, &run.store.root, &plan).as_bytes(),
    )
    .map_err(|e| file_err(&script_path)(e.to_string()))?;
    let mut cmd = Command::new("sbatch");
    cmd.args(["--parsable", "--cpus-per-task=1", "--ntasks=1"])
        .arg(format!("--array=0-{}", chunks.len() - 1))
        .arg(format!("--job-name=grader-{}", run.lab.id))
        .arg(format!("--output={}/%A_%a.log", logs.display()))
        .arg(format!("--chdir={}", run.course.root.display()))
        .args(opts.partition.iter().map(|p| format!("--partition={p}")))
        .args(&opts.sbatch_args)
        .arg(&script_path);
    let out = tool(&mut cmd)?;
    let job = out.trim().split(';').next().unwrap_or("").to_string();
    if job.is_empty() {
        return Err(SlurmError::Tool {
            tool: "sbatch".into(),
            message: format!("no job id in its output {out:?}"),
        });
    }
    Ok((job, chunks.len()))
}

/// Whether a job (any of its array tasks) is still pending or running.
pub fn in_queue(job: &str) -> Result<bool, SlurmError> {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i", "-j", job])
        .output()
        .map_err(|e| SlurmError::Tool {
            tool: "squeue".into(),
            message: e.to_string(),
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // A job that ended long ago is purged: squeue calls its id invalid.
        if stderr.contains("Invalid job id") {
            return Ok(false);
        }
        return Err(SlurmError::Tool {
            tool: "squeue".into(),
            message: stderr.trim().to_string(),
        });
    }
    Ok(!String::from_utf8_lossy(&out.stdout).trim().is_empty())
}

/// Tasks whose student has no result for this seed and submission yet.
fn unfinished(store: &Store, tasks: &[Task]) -> Vec<Task> {
    tasks
        .iter()
        .filter(|t| {
            !store
                .done(&t.student)
                .is_some_and(|d| d.seed == t.seed && d.submission_sha256 == t.sha256)
        })
        .cloned()
        .collect()
}

/// Polls until the job leaves the queue, reporting students as their results appear.
pub fn wait(
    store: &Store,
    job: &str,
    tasks: &[Task],
    poll: Duration,
    events: &mut dyn Subscriber,
) -> Result<(), SlurmError> {
    let mut left = tasks.to_vec();
    loop {
        let queued = in_queue(job)?;
        let still = unfinished(store, &left);
        for t in left.iter().filter(|t| !still.contains(t)) {
            if let (Some(d), Some(r)) = (store.done(&t.student), store.report(&t.student)) {
                events.event(&Event::StudentGraded {
                    row: &GradebookRow::from_report(&t.student, &r),
                    elapsed: Duration::from_millis(d.duration_ms),
                    attempts: d.attempts,
                });
            }
        }
        left = still;
        if !queued || left.is_empty() {
            return Ok(());
        }
        std::thread::sleep(poll);
    }
}

fn load_jobs(store: &Store) -> Jobs {
    std::fs::read(slurm_dir(store).join("jobs.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_jobs(store: &Store, jobs: &Jobs) -> Result<(), SlurmError> {
    let path = slurm_dir(store).join("jobs.json");
    let json = serde_json::to_vec_pretty(jobs).expect("jobs serialize");
    write_atomic(&path, &json).map_err(|e| file_err(&path)(e.to_string()))
}

/// `cargo grader bulk --slurm`: submits the pending students, and unless `--no-wait`,
/// waits, resubmits once what a lost task left ungraded, and assembles the gradebook.
pub fn run(
    course: &Course,
    opts: &BulkOptions,
    slurm: &SlurmOptions,
    events: &mut dyn Subscriber,
) -> Result<Outcome, SlurmError> {
    // The backend is prepared here, once: the image is then in the shared cache when
    // the tasks start.
    let begun = crate::bulk::begin(course, opts, events)?;
    let run = &begun.run;
    let mut jobs = load_jobs(&run.store);
    jobs.retries = opts.retries;
    jobs.unsafe_host_build = opts.unsafe_host_build;
    jobs.similarity_threshold = opts.similarity.map(|o| o.threshold);
    let mut graded = 0;
    let tasks = begun.tasks.clone();
    if let Some(submitted) = rounds(run, tasks, slurm, &mut jobs, events, &mut graded)? {
        return Ok(submitted);
    }
    Ok(Outcome::Done(begun.finish(opts, graded, events)?))
}

/// Submits the tasks and waits; resubmits once the students a lost task left without a
/// result. Returns the submitted job when not waiting; counts results in `graded`.
fn rounds(
    run: &Run,
    mut todo: Vec<Task>,
    slurm: &SlurmOptions,
    jobs: &mut Jobs,
    events: &mut dyn Subscriber,
    graded: &mut usize,
) -> Result<Option<Outcome>, SlurmError> {
    for round in 1..=2 {
        if todo.is_empty() {
            break;
        }
        let (job, n) = submit(run, &todo, slurm, jobs.jobs.len() + 1)?;
        let text = format!(
            "submitted Slurm job {job}: {n} array task(s) for {} student(s)",
            todo.len()
        );
        events.event(&Event::Notice { text: &text });
        jobs.jobs.push(job.clone());
        save_jobs(&run.store, jobs)?;
        if !slurm.wait {
            let out = run.store.root.clone();
            return Ok(Some(Outcome::Submitted { job, tasks: n, out }));
        }
        wait(&run.store, &job, &todo, slurm.poll, events)?;
        let left = unfinished(&run.store, &todo);
        *graded += todo.len() - left.len();
        if !left.is_empty() && round == 1 {
            let text = format!(
                "{} student(s) have no result after job {job}: resubmitting them once",
                left.len()
            );
            events.event(&Event::Notice { text: &text });
        }
        todo = left;
    }
    Ok(None)
}

/// `cargo grader collect`: after `--no-wait`, waits for the submitted jobs when asked (or
/// reports that they still run), then assembles the gradebook from what is there.
pub fn collect(
    course: &Course,
    out: &Path,
    wait_for_jobs: bool,
    events: &mut dyn Subscriber,
) -> Result<(Summary, usize), SlurmError> {
    let run = Run::reopen(course, out)?;
    let jobs = load_jobs(&run.store);
    let mut running = 0;
    for job in &jobs.jobs {
        if in_queue(job)? {
            if wait_for_jobs {
                let todo = run.pending();
                events.event(&Event::ClassStarted {
                    students: run.students.len(),
                    kept: run.students.len() - todo.len(),
                });
                wait(&run.store, job, &todo, Duration::from_secs(2), events)?;
                events.event(&Event::ClassFinished);
            } else {
                running += 1;
            }
        }
    }
    let similarity = jobs
        .similarity_threshold
        .map(|threshold| crate::similarity::Options {
            threshold,
            ..Default::default()
        });
    Ok((run.assemble(similarity.as_ref())?, running))
}

/// The array task: grades chunk `index` of `plan` into the results directory.
pub fn run_task(
    course: &Course,
    out: &Path,
    plan: &Path,
    index: usize,
) -> Result<usize, SlurmError> {
    let bytes = std::fs::read(plan).map_err(|e| file_err(plan)(e.to_string()))?;
    let chunks: Vec<Vec<Task>> =
        serde_json::from_slice(&bytes).map_err(|e| file_err(plan)(e.to_string()))?;
    let chunk = chunks
        .get(index)
        .ok_or_else(|| file_err(plan)(format!("has no chunk {index}")))?;
    let store = Store {
        root: out.to_owned(),
    };
    let manifest = store
        .manifest()?
        .ok_or_else(|| file_err(out)("holds no bulk.json".into()))?;
    let jobs = load_jobs(&store);
    let lab = course.lab(&manifest.lab).map_err(BulkError::from)?.clone();
    let engine = crate::grade::engine(course, &lab).map_err(BulkError::from)?;
    let backend = if manifest.backend == "local" {
        BackendChoice::Local
    } else {
        BackendChoice::Qemu
    };
    // The snapshot is per node: QEMU there may differ, and a restore maps its RAM file,
    // which belongs on the node's own disk. Made once per node, by the first task.
    let start = crate::session::GuestStartOptions {
        snapshot_dir: Some(crate::session::node_snapshot_dir()),
        ..Default::default()
    };
    let factory = SandboxFactory::new(course, backend, true, jobs.unsafe_host_build, &start)
        .map_err(|e| BulkError::Backend {
            backend: manifest.backend.clone(),
            message: format!("{e:#}"),
        })?;
    let ctx = Context {
        lab: &lab,
        engine: engine.as_ref(),
        factory: &factory,
        retries: jobs.retries,
    };
    let scratch = store
        .work_dir()
        .join("scratch")
        .join(format!("task-{}-{index}", std::process::id()));
    for task in chunk {
        let outcome = pool::grade_task(&ctx, task, &scratch);
        crate::bulk::save_outcome(&store, &outcome)?;
        eprintln!(
            "grader: {}: {}/{} (gradable: {})",
            task.student, outcome.report.score, outcome.report.max_score, outcome.report.gradable
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(chunk.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(i: usize) -> Task {
        Task {
            student: format!("s{i}"),
            dir: PathBuf::from("/x"),
            seed: i as u64,
            sha256: String::new(),
        }
    }

    #[test]
    fn chunks_respect_the_size_and_the_array_limit() {
        let tasks: Vec<Task> = (0..5).map(task).collect();
        let c = chunks(&tasks, 2);
        assert_eq!(c.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        let many: Vec<Task> = (0..2500).map(task).collect();
        assert!(chunks(&many, 1).len() <= MAX_ARRAY_TASKS);
    }

    #[test]
    fn the_script_quotes_paths() {
        let s = script(
            Path::new("/bin/cargo-grader"),
            Path::new("/out/it's"),
            Path::new("/p.json"),
        );
        assert!(s.contains(r"--out '/out/it'\''s'"), "{s}");
        assert!(s.contains("--index \"$SLURM_ARRAY_TASK_ID\""), "{s}");
    }
}
