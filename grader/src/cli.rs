//! The commands behind the CLI: each takes parsed options, does the work through the
//! library, renders, and returns the process exit code. Nothing in the library imports
//! this module: it is the top of the house.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::course::Course;
use crate::grade;
use crate::lab::GradeOptions;
use crate::progress::BulkProgress;
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

/// The course around `cwd`, the lab asked for and the submission directory (given, or
/// the lab's skeleton in the language asked for), which must exist.
fn locate(
    cwd: &Path,
    lab: &str,
    submission: Option<&Path>,
    lang: Option<crate::build::Language>,
) -> Result<(Course, crate::course::LabEntry, PathBuf)> {
    let course = Course::discover(cwd)?;
    let lab = course.lab(lab)?.clone();
    let submission = crate::lang::submission_dir(&course, &lab, cwd, submission, lang)?;
    let submission = std::fs::canonicalize(&submission).with_context(|| {
        format!(
            "submission directory {} does not exist",
            submission.display()
        )
    })?;
    Ok((course, lab, submission))
}

/// Grades one submission and prints the report.
pub fn grade(cwd: &Path, cmd: &GradeCommand) -> Result<i32> {
    let (course, lab, submission) = locate(cwd, &cmd.lab, cmd.submission.as_deref(), cmd.lang)?;
    let build = build_host(&course, cmd.unsafe_host_build)?;
    let scenarios = grade::engine(&course, &lab)?.hints().len();
    let mut progress = crate::progress::phases(cmd.quiet, scenarios);
    // With the bar on the terminal the guest's preparation is one of its phases, not lines.
    let bar = !cmd.quiet && std::io::stderr().is_terminal();
    let run = Run {
        backend: cmd.backend,
        seed: cmd.seed,
        perturb: cmd.perturb,
        quiet: cmd.quiet || bar,
        cold_boot: cmd.cold_boot,
    };
    if bar && cmd.backend == BackendChoice::Qemu {
        let what = "preparing the guest (agent, image, snapshot)";
        crate::events::phase(&mut *progress, crate::events::Phase::Step, what);
    }
    let graded = grade_on(&course, &lab, &submission, &build, &run, &mut *progress);
    drop(progress);
    let mut report = graded?;
    // The student's own reports reveal the hints asked for; CI formats stay at level 1.
    // They are also the runs whose score `cargo grader progress` keeps.
    if matches!(cmd.format, Format::Human | Format::Json) {
        let mut state = load_hint_state(&course).state;
        let hints = grade::engine(&course, &lab)?.hints();
        crate::hints::apply_progress(&course, &lab, &hints, &mut report, &state);
        record_score(&course, &mut state, &report);
    }
    render(&report, cmd)?;
    Ok(report.exit_code())
}

/// How one grading runs.
#[derive(Debug, Clone, Copy)]
struct Run {
    backend: BackendChoice,
    seed: Option<u64>,
    perturb: bool,
    quiet: bool,
    cold_boot: bool,
}

/// One grading of `submission` in a scratch directory removed afterwards.
fn grade_on(
    course: &Course,
    lab: &crate::course::LabEntry,
    submission: &Path,
    build: &crate::build::BuildHost,
    run: &Run,
    progress: &mut dyn crate::events::Subscriber,
) -> Result<GradeReport> {
    let work = scratch_dir(course, &lab.id)?;
    let start = GuestStartOptions {
        cold_boot: run.cold_boot,
        ..Default::default()
    };
    let sandbox = make_sandbox(course, run.backend, &work, run.quiet, build, &start)?;
    let opts = GradeOptions {
        submission: submission.to_owned(),
        seed: run.seed,
        perturb: run.perturb,
        work: work.clone(),
        build: build.clone(),
        spec_deadlines: false,
    };
    let report = grade::grade_any(course, lab, sandbox.as_ref(), &opts, progress);
    let _ = crate::sandbox::jail::force_remove(&work);
    Ok(report?)
}

/// `cargo grader watch LAB …`.
#[derive(Debug, Clone)]
pub struct WatchCommand {
    /// Lab id or name.
    pub lab: String,
    /// Submission directory.
    pub submission: Option<PathBuf>,
    /// `--lang`.
    pub lang: Option<crate::build::Language>,
    /// The backend of every run.
    pub backend: BackendChoice,
    /// After full marks locally, grade in the guest too.
    pub then_guest: bool,
    /// Build and run on this host without the jail when the jail cannot be made.
    pub unsafe_host_build: bool,
}

/// The watch loop's grader: the CLI's grading, the student's hint state and scores.
struct WatchDriver {
    course: Course,
    lab: crate::course::LabEntry,
    submission: PathBuf,
    build: crate::build::BuildHost,
    state: crate::hints::StudentState,
}

impl crate::watch::Driver for WatchDriver {
    fn grade(&mut self, backend: BackendChoice) -> std::result::Result<GradeReport, String> {
        let run = Run {
            backend,
            seed: None,
            perturb: false,
            quiet: true,
            cold_boot: false,
        };
        let discard = &mut crate::events::Discard;
        let graded = grade_on(
            &self.course,
            &self.lab,
            &self.submission,
            &self.build,
            &run,
            discard,
        );
        let mut report = graded.map_err(|e| format!("{e:#}"))?;
        self.reload();
        self.refresh(&mut report);
        if report.gradable {
            self.state.record_score(&report.lab, score_record(&report));
            // A state that cannot be saved must not stop the loop: the scores stay in memory.
            let _ = self
                .state
                .save(&crate::hints::state_path(&self.course.root));
        }
        Ok(report)
    }

    fn hint(&mut self, scenario: &str) -> std::result::Result<String, String> {
        self.reload();
        let hints = grade::engine(&self.course, &self.lab)
            .map_err(|e| e.to_string())?
            .hints();
        let r =
            crate::hints::reveal_next(&self.course, &self.lab, hints, scenario, &mut self.state)
                .map_err(|e| e.to_string())?;
        if r.new {
            self.state
                .save(&crate::hints::state_path(&self.course.root))
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "{}: hint {}/{} revealed",
                scenario,
                r.shown,
                r.scenario.levels.len()
            ))
        } else {
            Ok(format!(
                "{scenario}: every hint is shown ({})",
                r.scenario.levels.len()
            ))
        }
    }

    fn refresh(&mut self, report: &mut GradeReport) {
        if let Ok(engine) = grade::engine(&self.course, &self.lab) {
            let hints = engine.hints();
            crate::hints::apply_progress(&self.course, &self.lab, &hints, report, &self.state);
        }
    }
}

impl WatchDriver {
    /// The state file as it is now: a `cargo grader hint` in another terminal counts.
    fn reload(&mut self) {
        let loaded = crate::hints::StudentState::load(&crate::hints::state_path(&self.course.root));
        if loaded.warning.is_none() {
            self.state = loaded.state;
        }
    }
}

/// `cargo grader watch LAB`: regrade at every save until `q`.
pub fn watch(cwd: &Path, cmd: &WatchCommand) -> Result<i32> {
    let (course, lab, submission) = locate(cwd, &cmd.lab, cmd.submission.as_deref(), cmd.lang)?;
    let build = build_host(&course, cmd.unsafe_host_build)?;
    let state = load_hint_state(&course).state;
    let opts = crate::watch::WatchOptions {
        dir: submission.clone(),
        backend: cmd.backend,
        then_guest: cmd.then_guest,
        poll: std::time::Duration::from_millis(300),
    };
    let mut driver = WatchDriver {
        course,
        lab,
        submission,
        build,
        state,
    };
    let raw = crate::watch::RawMode::enable()?;
    let keys = crate::watch::stdin_keys();
    let ended = crate::watch::run(&mut driver, &opts, &keys, &mut std::io::stdout().lock());
    drop(raw);
    println!();
    ended?;
    Ok(EXIT_FULL_MARKS)
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

/// The student's state (hints, scores); a warning about an unusable file goes to stderr.
pub fn load_hint_state(course: &Course) -> crate::hints::Loaded {
    let loaded = crate::hints::StudentState::load(&crate::hints::state_path(&course.root));
    if let Some(w) = &loaded.warning {
        eprintln!("warning: {w}");
    }
    loaded
}

/// Keeps a gradable run's score in the student's state file; failing to save it is a
/// warning, never a failed grading.
pub fn record_score(course: &Course, state: &mut crate::hints::StudentState, report: &GradeReport) {
    if !report.gradable {
        return;
    }
    state.record_score(&report.lab, score_record(report));
    if let Err(e) = state.save(&crate::hints::state_path(&course.root)) {
        eprintln!("warning: {e}");
    }
}

fn score_record(report: &GradeReport) -> crate::hints::state::ScoreRecord {
    crate::hints::state::ScoreRecord {
        score: report.score,
        max_score: report.max_score,
        at: crate::hints::state::now(),
    }
}

/// `cargo grader progress`: the best and last score of every lab.
pub fn progress(cwd: &Path) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let state = load_hint_state(&course).state;
    let rows: Vec<report::progress::Row> = course
        .labs
        .iter()
        .map(|l| {
            let p = state.lab(&l.id);
            report::progress::Row {
                id: l.id.clone(),
                name: l.name.clone(),
                best: p.and_then(|p| p.best),
                last: p.and_then(|p| p.last),
            }
        })
        .collect();
    report::progress::write(&course.title, &rows, &mut std::io::stdout().lock())?;
    Ok(EXIT_FULL_MARKS)
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

/// `cargo grader handout [LABS…] --out DIR --course-repo OWNER/NAME`.
pub fn handout(cwd: &Path, opts: &crate::handout::HandoutOptions) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let h = crate::handout::write(&course, opts)?;
    println!(
        "handout of {} written to {} ({} files): skeletons, READMEs, pinned specs, the grader, .github/workflows/grade.yml on {}@{}; no solutions, no fixtures",
        h.labs.join(", "),
        opts.out.display(),
        h.files,
        opts.course_repo,
        opts.course_ref
    );
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

/// `cargo grader bench --broken`.
pub fn bench_broken(cwd: &Path, lab: &str, unsafe_host_build: bool) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let build = build_host(&course, unsafe_host_build)?;
    crate::bench::broken(&course, lab, &build, &mut std::io::stdout())?;
    Ok(EXIT_FULL_MARKS)
}

/// `cargo grader calibrate`.
pub fn calibrate(cwd: &Path, labs: &[String], runs: u32, unsafe_host_build: bool) -> Result<i32> {
    let course = Course::discover(cwd)?;
    let build = build_host(&course, unsafe_host_build)?;
    crate::calibrate::run(&course, labs, runs.max(1), &build, &mut std::io::stdout())?;
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
    println!("dashboard: {}", summary.dashboard.display());
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

/// `cargo grader dashboard RESULTS`: writes the dashboard again from the results alone.
pub fn dashboard(results: &Path) -> Result<i32> {
    let start = std::time::Instant::now();
    let w = crate::bulk::results::write_dashboard(results)?;
    println!(
        "dashboard: {} ({} KiB) and {} student page(s) in {} ms",
        w.index.display(),
        w.index_bytes.div_ceil(1024),
        w.student_pages,
        start.elapsed().as_millis()
    );
    Ok(EXIT_FULL_MARKS)
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
