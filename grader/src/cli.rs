//! The commands behind the CLI: each takes parsed options, does the work through the
//! library, renders, and returns the process exit code. Nothing in the library imports
//! this module: it is the top of the house.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::course::Course;
use crate::grade;
use crate::lab::GradeOptions;
use crate::progress::{BulkProgress, PhaseLines};
use crate::report::{self, GradeReport, EXIT_FULL_MARKS, EXIT_POINTS_LOST};
use crate::session::{
    build_host, guest_sandbox, make_sandbox, scratch_dir, BackendChoice, GuestStartOptions,
};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Human,
    /// The JSON contract.
    Json,
    /// JUnit XML: one testsuite, one testcase per scenario.
    Junit,
    /// Gradescope's `results.json`.
    Gradescope,
    /// GitHub Actions annotations (and the job summary, into `$GITHUB_STEP_SUMMARY`).
    Github,
}

/// `cargo grader LAB …`.
#[derive(Debug, Clone)]
pub struct GradeCommand {
    /// Lab id or name.
    pub lab: String,
    /// Submission directory.
    pub submission: Option<PathBuf>,
    /// `--lang`: the skeleton to grade, or the language `submission` must be written in.
    pub lang: Option<crate::build::Language>,
    /// Backend.
    pub backend: BackendChoice,
    /// Seed.
    pub seed: Option<u64>,
    /// `--perturb`: a seeded schedule perturbation.
    pub perturb: bool,
    /// Format.
    pub format: Format,
    /// Copy of the report.
    pub output: Option<PathBuf>,
    /// No progress.
    pub quiet: bool,
    /// Build log always.
    pub verbose: bool,
    /// Build and run on this host without the jail when the jail cannot be made.
    pub unsafe_host_build: bool,
    /// Boot the guest cold instead of restoring its snapshot (debugging).
    pub cold_boot: bool,
}

/// Grades one submission and prints the report.
pub fn grade(cwd: &Path, cmd: &GradeCommand) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let lab = course.lab(&cmd.lab)?.clone();
    let submission =
        crate::lang::submission_dir(&course, &lab, cwd, cmd.submission.as_deref(), cmd.lang)?;
    let submission = std::fs::canonicalize(&submission).with_context(|| {
        format!(
            "submission directory {} does not exist",
            submission.display()
        )
    })?;
    let build = build_host(&course, cmd.unsafe_host_build)?;
    let work = scratch_dir(&course, &lab.id)?;
    let start = GuestStartOptions {
        cold_boot: cmd.cold_boot,
        ..Default::default()
    };
    let sandbox = make_sandbox(&course, cmd.backend, &work, cmd.quiet, &build, &start)?;
    let mut progress = PhaseLines { quiet: cmd.quiet };
    let opts = GradeOptions {
        submission,
        seed: cmd.seed,
        perturb: cmd.perturb,
        work: work.clone(),
        build,
    };
    let mut report = grade::grade_any(&course, &lab, sandbox.as_ref(), &opts, &mut progress)?;
    let _ = crate::sandbox::jail::force_remove(&work);
    // The student's own reports reveal the hints asked for; CI formats stay at level 1.
    if matches!(cmd.format, Format::Human | Format::Json) {
        let loaded = load_hint_state(&course);
        let hints = grade::engine(&course, &lab)?.hints();
        crate::hints::apply_progress(&course, &lab, &hints, &mut report, &loaded.state);
    }
    render(&report, cmd)?;
    Ok(report.exit_code())
}

fn render(report: &GradeReport, cmd: &GradeCommand) -> Result<()> {
    let mut buf = Vec::new();
    match cmd.format {
        Format::Json => report::json::write(report, &mut buf)?,
        Format::Junit => report::junit::write(report, &mut buf)?,
        Format::Gradescope => report::gradescope::write(report, &mut buf)?,
        Format::Github => github(report, &mut buf)?,
        Format::Human => {
            let style = report::human::Style {
                color: std::io::stdout().is_terminal(),
                verbose: cmd.verbose,
            };
            report::human::write(report, style, &mut buf)?;
        }
    }
    std::io::stdout().write_all(&buf)?;
    if let Some(path) = &cmd.output {
        std::fs::write(path, &buf)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    Ok(())
}

/// Annotations into `buf`; the job summary appended to `$GITHUB_STEP_SUMMARY` when set
/// (in a workflow), else into `buf` after the annotations.
fn github(report: &GradeReport, buf: &mut Vec<u8>) -> Result<()> {
    let workspace = std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from);
    let prefix = report::github::path_prefix(&report.submission, workspace.as_deref());
    report::github::annotations(report, &prefix, buf)?;
    match std::env::var_os("GITHUB_STEP_SUMMARY") {
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| {
                    format!(
                        "failed to open the job summary {}",
                        Path::new(&path).display()
                    )
                })?;
            report::github::summary(report, &mut f)?;
        }
        None => report::github::summary(report, buf)?,
    }
    Ok(())
}

/// The student's hint progress; a warning about an unusable file goes to stderr.
fn load_hint_state(course: &Course) -> crate::hints::Loaded {
    let loaded = crate::hints::HintState::load(&crate::hints::state_path(&course.root));
    if let Some(w) = &loaded.warning {
        eprintln!("warning: {w}");
    }
    loaded
}

/// `cargo grader hint LAB [SCENARIO]`: reveals the next hint level of a scenario, or
/// lists the scenarios with the levels they show.
pub fn hint(cwd: &Path, lab: &str, scenario: Option<&str>) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let lab = course.lab(lab)?;
    let mut state = load_hint_state(&course).state;
    let hints = grade::engine(&course, lab)?.hints();
    let mut out = std::io::stdout().lock();
    let Some(scenario) = scenario else {
        let rows = crate::hints::progress(&course, lab, hints, &state)?;
        report::hints::progress(lab, &rows, &mut out)?;
        return Ok(EXIT_FULL_MARKS);
    };
    let revealed = crate::hints::reveal_next(&course, lab, hints, scenario, &mut state)?;
    if revealed.new {
        state.save(&crate::hints::state_path(&course.root))?;
    }
    report::hints::revealed(&revealed, course.hints, &mut out)?;
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader list`.
pub fn list(cwd: &Path) -> Result<i32> {
    let course = Course::discover(cwd)?;
    println!("{}", course.title);
    for lab in &course.labs {
        let points = grade::engine(&course, lab)
            .map(|e| format!("{}, {} points", e.outline(), e.max_score()))
            .map_err(|e| e.to_string());
        let points = points.unwrap_or_else(|e| format!("spec error: {e}"));
        println!(
            "  {:<5} {:<7} {:<40} {} ({points})",
            lab.id,
            lab.name,
            lab.title,
            lab.dir.display()
        );
    }
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader pin`: prints the current spec hashes.
pub fn pin(cwd: &Path) -> Result<i32> {
    let course = Course::discover(cwd)?;
    for lab in &course.labs {
        let path = course.path(&lab.spec);
        let text =
            std::fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?;
        let sha = crate::course::sha256_hex(&text);
        let state = match &lab.spec_sha256 {
            Some(p) if *p == sha => "pinned",
            Some(_) => "CHANGED — update course.toml",
            None => "not pinned",
        };
        println!("{}: spec_sha256 = \"{sha}\"  # {state}", lab.id);
    }
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader solution LAB [--lang rust|c] --out DIR`.
pub fn solution(
    cwd: &Path,
    lab: &str,
    lang: Option<crate::build::Language>,
    out: &Path,
) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let lab = course.lab(lab)?;
    let (listed, stack) = crate::overlay::export_solution(&course, lab, lang, out)?;
    let rel = |p: &Path| {
        p.strip_prefix(&course.root)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let layers: Vec<String> = stack.layers.iter().map(|l| rel(&l.dir)).collect();
    println!(
        "{} {} written to {} ({})",
        lab.id,
        listed.display(),
        out.display(),
        layers.join(" + ")
    );
    if stack.layers.len() > 1 {
        println!(
            "{} holds only the files that differ from {}: copy the files you change back there",
            listed.display(),
            layers[layers.len() - 2]
        );
    }
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader doctor`.
pub fn doctor(cwd: &Path) -> Result<i32> {
    let findings = crate::doctor::diagnose(cwd);
    let mut bad = 0;
    for f in &findings {
        let mark = if f.ok { "ok  " } else { "MISS" };
        println!("[{mark}] {}: {}", f.what, f.detail);
        if let (false, Some(fix)) = (f.ok, &f.fix) {
            println!("       fix: {fix}");
            bad += 1;
        }
    }
    if bad == 0 {
        println!("Everything grading needs is here.");
        Ok(EXIT_FULL_MARKS)
    } else {
        Ok(EXIT_POINTS_LOST)
    }
}

/// `cargo grader image build`.
pub fn image_build(cwd: &Path) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let g = guest_sandbox(&course, false, &GuestStartOptions::default())?;
    println!(
        "image {} ready: kernel {}, initrd {}",
        &g.image.hash[..12],
        g.image.kernel.display(),
        g.image.initrd.display()
    );
    match (&g.snapshots, &g.cold_notice) {
        (Some(store), _) => println!("{}", crate::sandbox::snapshot::describe(store)),
        (None, Some(why)) => println!("snapshot: none: {why}"),
        (None, None) => println!("snapshot: off ([guest] snapshot = false in course.toml)"),
    }
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader image status`.
pub fn image_status(cwd: &Path) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let agent = crate::image::agent_path(&course.root);
    let status = crate::image::status(&course.root, &agent);
    print!("{status}");
    println!(
        "{}",
        crate::session::snapshot_status(&course, status.image.as_ref())
    );
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader __agent local --job F --out F` (`--out -`: standard output, as the jailed
/// local backend reads it).
pub fn agent(mode: &str, job: &Path, out: &Path) -> Result<i32> {
    if mode != "local" {
        bail!("the agent's mode here can only be `local` (the guest runs `grader-agent guest`)");
    }
    let text = std::fs::read(job).with_context(|| format!("failed to read {}", job.display()))?;
    let job: crate::protocol::Job =
        serde_json::from_slice(&text).context("failed to parse the job")?;
    let mut file: Box<dyn Write> = if out == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(out)
                .with_context(|| format!("failed to create {}", out.display()))?,
        )
    };
    crate::agent::run_job(&job, &mut *file, crate::agent::Mode::Local)?;
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader check`.
pub fn check(
    cwd: &Path,
    labs: &[String],
    backend: BackendChoice,
    seed: Option<u64>,
    unsafe_host_build: bool,
) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let build = build_host(&course, unsafe_host_build)?;
    let outcome = crate::check::run(&course, labs, backend, seed, &build, &mut std::io::stdout())?;
    Ok(if outcome.all_ok() {
        EXIT_FULL_MARKS
    } else {
        EXIT_POINTS_LOST
    })
}

/// `cargo grader bench`.
pub fn bench(
    cwd: &Path,
    lab: &str,
    runs: u32,
    phases: bool,
    unsafe_host_build: bool,
) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let build = build_host(&course, unsafe_host_build)?;
    crate::bench::run(&course, lab, runs, phases, &build, &mut std::io::stdout())?;
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader bulk`: where and how to grade a class.
#[derive(Debug, Clone)]
pub struct BulkCommand {
    /// The run.
    pub bulk: crate::bulk::BulkOptions,
    /// Through Slurm instead of this machine.
    pub slurm: Option<crate::slurm::SlurmOptions>,
}

/// Exit code of a finished bulk run: 0 when every student has a score, else 3.
fn bulk_exit(summary: &crate::bulk::Summary) -> i32 {
    use crate::report::csv::RowStatus;
    let unscored = summary.count(RowStatus::NotGradable) + summary.count(RowStatus::Missing);
    if unscored == 0 {
        EXIT_FULL_MARKS
    } else {
        report::EXIT_NOT_GRADABLE
    }
}

fn print_summary(summary: &crate::bulk::Summary) {
    println!("{}", summary.line());
    println!("gradebook: {}", summary.gradebook.display());
    if let Some(s) = &summary.similarity {
        println!("similarity report: {}", s.display());
    }
}

/// `cargo grader bulk LAB SUBMISSIONS --out RESULTS`.
pub fn bulk(cwd: &Path, cmd: &BulkCommand) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let mut progress = BulkProgress::stderr(cmd.bulk.quiet);
    let Some(slurm) = &cmd.slurm else {
        let summary = crate::bulk::run(&course, &cmd.bulk, &mut progress)?;
        print_summary(&summary);
        return Ok(bulk_exit(&summary));
    };
    match crate::slurm::run(&course, &cmd.bulk, slurm, &mut progress)? {
        crate::slurm::Outcome::Done(summary) => {
            print_summary(&summary);
            Ok(bulk_exit(&summary))
        }
        crate::slurm::Outcome::Submitted { job, tasks, out } => {
            println!("submitted Slurm job {job} ({tasks} array tasks)");
            println!(
                "when it is done: cargo grader collect --out {}",
                out.display()
            );
            Ok(EXIT_FULL_MARKS)
        }
    }
}

/// `cargo grader collect --out RESULTS`: assembles the gradebook of a `--no-wait` run.
pub fn collect(cwd: &Path, out: &Path, wait: bool) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let mut progress = BulkProgress::stderr(false);
    let (summary, running) = crate::slurm::collect(&course, out, wait, &mut progress)?;
    print_summary(&summary);
    if running > 0 {
        println!("{running} Slurm job(s) still running: collect again later (or with --wait)");
        return Ok(EXIT_POINTS_LOST);
    }
    Ok(bulk_exit(&summary))
}

/// `cargo grader bulk-task` (run by a Slurm array task).
pub fn bulk_task(cwd: &Path, out: &Path, plan: &Path, index: usize) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let n = crate::slurm::run_task(&course, out, plan, index)?;
    eprintln!("grader: array task {index} graded {n} submission(s)");
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader gen-class LAB --out DIR --size N`.
pub fn gen_class(cwd: &Path, lab: &str, out: &Path, size: usize) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let opts = crate::bulk::class::ClassOptions {
        lab: lab.into(),
        out: out.to_owned(),
        size,
    };
    let expected = crate::bulk::class::generate(&course, &opts)?;
    println!(
        "{} submissions in {}",
        expected.len(),
        out.join("submissions").display()
    );
    println!(
        "expected verdicts in {}",
        out.join("expected.json").display()
    );
    println!(
        "grade them: cargo grader bulk {lab} {} --out RESULTS",
        out.join("submissions").display()
    );
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader bench-bulk`.
pub fn bench_bulk(cwd: &Path, opts: &crate::bulk::bench::BenchOptions) -> Result<i32> {
    let course = Course::discover(cwd)?;
    crate::bulk::bench::run(&course, opts, &mut std::io::stdout())?;
    Ok(EXIT_FULL_MARKS)
}
