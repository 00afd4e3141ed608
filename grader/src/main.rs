//! `cargo-grader`: the thin CLI over the `grader` library. `cargo grader lab1` (through
//! cargo's subcommand convention or the workspace alias) grades a lab.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use grader::build::Language;
use grader::cli::{self, Format};
use grader::report::EXIT_USAGE;
use grader::session::BackendChoice;

#[derive(Parser)]
#[command(name = "cargo", bin_name = "cargo")]
enum CargoCli {
    /// Grade the AISE IPC labs.
    Grader(GraderArgs),
}

#[derive(Args)]
#[command(
    version,
    about = "Grade an AISE lab: build it, run its scenarios in a QEMU guest, score them.",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  cargo grader lab1                      grade labs/lab1-msgq in the guest\n  cargo grader bulk lab1 SUBMISSIONS --out RESULTS   grade a class (see docs/instructors.md)\n  cargo grader msgq --backend local      same lab, on this host in the jail (faster)\n  cargo grader lab1 --lang c             grade the C skeleton labs/lab1-msgq/c\n  cargo grader watch lab1                regrade at every save (q quits, h hint, r regrade)\n  cargo grader hint lab1 SCENARIO        the next hint level of a failing scenario\n  cargo grader progress                  your best score in every lab\n  cargo grader lab1 --submission ../alice --format json\n  cargo grader solution lab1 --out /tmp/lab1   the reference solution, to edit\n  cargo grader list | doctor | check | bench | image status"
)]
struct GraderArgs {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    grade: GradeArgs,
}

#[derive(Args, Clone)]
struct GradeArgs {
    /// Lab to grade: its id (`lab1`) or short name (`msgq`).
    lab: Option<String>,
    /// Directory to grade (default: the lab's skeleton for --lang, else the skeleton you
    /// are in, else the lab's directory).
    #[arg(long, short)]
    submission: Option<PathBuf>,
    /// Grade the lab's C or Rust skeleton; with --submission, the language it must be in.
    #[arg(long, value_enum)]
    lang: Option<LangArg>,
    /// Where the scenarios run.
    #[arg(long, value_enum, default_value_t = BackendArg::Qemu)]
    backend: BackendArg,
    /// Replay the parameters of an earlier run (with --perturb, its schedule perturbation too).
    #[arg(long)]
    seed: Option<u64>,
    /// Perturb the schedule: the guest holds the programs' forks and some IPC calls a few
    /// milliseconds, drawn from the seed, so that a missing semaphore or a read before the
    /// write fails reliably (the report gives the seed; `--perturb --seed N` replays it).
    #[arg(long)]
    perturb: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    format: FormatArg,
    /// Also write the report to this file (same format).
    #[arg(long)]
    output: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Show the build log even when the build succeeds.
    #[arg(long, short)]
    verbose: bool,
    /// Where the build jail cannot be made (see `cargo grader doctor`), build and run
    /// submissions on this host WITHOUT it, as this user (the report says so).
    #[arg(long)]
    unsafe_host_build: bool,
    /// Boot the guest cold instead of restoring its snapshot (for debugging the guest).
    #[arg(long)]
    cold_boot: bool,
}

#[derive(Subcommand)]
enum Command {
    /// List the labs of the course.
    List,
    /// Check that this machine has what grading needs, and say how to fix what is missing.
    Doctor,
    /// Build or inspect the guest image.
    Image {
        #[command(subcommand)]
        action: ImageAction,
    },
    /// Teacher self-check: every reference solution scores full marks, every untouched
    /// skeleton builds and scores below max.
    Check {
        /// Labs to check (default: all scenario labs).
        labs: Vec<String>,
        /// Where the scenarios run.
        #[arg(long, value_enum, default_value_t = BackendArg::Qemu)]
        backend: BackendArg,
        /// Parameter seed (default: fresh).
        #[arg(long)]
        seed: Option<u64>,
        /// Where the build jail cannot be made (see `cargo grader doctor`), build and run
        /// submissions on this host WITHOUT it, as this user (the report says so).
        #[arg(long)]
        unsafe_host_build: bool,
    },
    /// Measure the reference solutions' time per scenario (guest and local) and write
    /// the lab's timings.toml, from which scenario deadlines are taken.
    Calibrate {
        /// Labs to calibrate (default: all scenario labs).
        labs: Vec<String>,
        /// Runs of each reference solution per backend (the longest counts).
        #[arg(long, default_value_t = 3)]
        runs: u32,
        /// Where the build jail cannot be made (see `cargo grader doctor`), build and run
        /// submissions on this host WITHOUT it, as this user (the report says so).
        #[arg(long)]
        unsafe_host_build: bool,
    },
    /// Benchmark: wall time of grading a lab's solution in a restored guest, a cold-booted
    /// guest and locally, the ratios, and how fast a restored guest has its job; and of
    /// its builds in the jail vs on the host. With --broken: how long every fixture (broken
    /// programs) takes to grade.
    Bench {
        /// Lab (default lab1).
        #[arg(default_value = "lab1")]
        lab: String,
        /// Timed runs per mode.
        #[arg(long, default_value_t = 3)]
        runs: u32,
        /// Grade every fixture of the lab (tests/fixtures/LAB: broken programs of every
        /// kind) in the guest and locally, and print the median and longest grading.
        #[arg(long)]
        broken: bool,
        /// Also print where a guest's time goes (QEMU start, kernel, modules, agent, job,
        /// scenarios, poweroff), cold and restored.
        #[arg(long)]
        phases: bool,
        /// Where the build jail cannot be made (see `cargo grader doctor`), build and run
        /// submissions on this host WITHOUT it, as this user (the report says so).
        #[arg(long)]
        unsafe_host_build: bool,
    },
    /// Reveal the next hint level of a failing scenario (repeat for more), or list the
    /// scenarios of a lab with the hint levels they show.
    Hint {
        /// Lab id or name.
        lab: String,
        /// Scenario name (as in the report); omit it to list them.
        scenario: Option<String>,
    },
    /// Regrade at every save of the submission (locally, then in the guest once it earns
    /// full marks), showing the score and the first failing scenario; q quits, h shows
    /// the next hint, r regrades.
    Watch {
        /// Lab id or name.
        lab: String,
        /// Directory to watch and grade (default: as for `cargo grader LAB`).
        #[arg(long, short)]
        submission: Option<PathBuf>,
        /// Grade the lab's C or Rust skeleton; with --submission, the language it must be in.
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
        /// Where every run goes (local: fast, in the jail on this host).
        #[arg(long, value_enum, default_value_t = BackendArg::Local)]
        backend: BackendArg,
        /// Never grade in the guest, even at full marks locally.
        #[arg(long)]
        no_guest: bool,
        /// Where the build jail cannot be made (see `cargo grader doctor`), build and run
        /// submissions on this host WITHOUT it, as this user (the report says so).
        #[arg(long)]
        unsafe_host_build: bool,
    },
    /// Your best and last score in every lab, with their dates (from `.grader/state.json`).
    Progress,
    /// Write the starter repository students get: the labs' skeletons (Rust and C),
    /// READMEs and pinned specs, the grader, the GitHub workflow wired to the course
    /// repository, a .gitignore; no solutions, no fixtures.
    Handout {
        /// Labs to hand out (default: every lab).
        labs: Vec<String>,
        /// Directory to create (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        /// The course repository the workflow grades with (`owner/name` on GitHub).
        #[arg(long)]
        course_repo: String,
        /// Its branch or tag (pin a tag for the term).
        #[arg(long, default_value = "main")]
        course_ref: String,
    },
    /// Print the spec hashes to pin in course.toml (after editing a spec on purpose).
    Pin,
    /// Write a lab's reference solution, materialised (skeleton + the solution's own
    /// files), into a directory to open or edit in an IDE.
    Solution {
        /// Lab id or name.
        lab: String,
        /// Which solution (default: the first listed in course.toml).
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
        /// Directory to create (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
    },
    /// Grade a whole class: one folder, git repository, .tar.gz or .zip per student in
    /// SUBMISSIONS; reports and gradebook.csv in --out. Rerun the same command to resume.
    Bulk(BulkArgs),
    /// Assemble the gradebook of a `bulk --slurm --no-wait` run.
    Collect {
        /// The results directory of the run.
        #[arg(long)]
        out: PathBuf,
        /// Wait for the Slurm jobs still running.
        #[arg(long)]
        wait: bool,
    },
    /// Write a bulk run's dashboard again (RESULTS/index.html and a report.html per
    /// student) from its results alone; `bulk` and `collect` write it too.
    Dashboard {
        /// The results directory of a bulk run.
        results: PathBuf,
    },
    /// Generate a test class from the lab's fixtures (plus tampered and disguised copies)
    /// with the verdict expected of each student in OUT/expected.json.
    GenClass {
        /// Lab id or name.
        lab: String,
        /// Directory to create.
        #[arg(long)]
        out: PathBuf,
        /// Number of students.
        #[arg(long, default_value_t = 30)]
        size: usize,
    },
    /// Benchmark bulk grading (submissions/minute on a generated class) and the marginal
    /// build time of a Rust submission with and without the shared dependency cache.
    BenchBulk {
        /// Lab (default lab1).
        #[arg(default_value = "lab1")]
        lab: String,
        /// Students in the generated class (0: only the Rust build measurements).
        #[arg(long, default_value_t = 30)]
        size: usize,
        /// Parallel gradings (default: the number of cores).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Where the scenarios run.
        #[arg(long, value_enum, default_value_t = BackendArg::Qemu)]
        backend: BackendArg,
        /// Where the build jail cannot be made (see `cargo grader doctor`), build and run
        /// submissions on this host WITHOUT it, as this user (the report says so).
        #[arg(long)]
        unsafe_host_build: bool,
    },
    /// Internal: one Slurm array task of `bulk --slurm`.
    #[command(name = "bulk-task", hide = true)]
    BulkTask {
        /// Results directory.
        #[arg(long)]
        out: PathBuf,
        /// The plan written at submission.
        #[arg(long)]
        plan: PathBuf,
        /// The array task index.
        #[arg(long)]
        index: usize,
    },
    /// Internal: the agent, run by the local backend.
    #[command(name = "__agent", hide = true)]
    Agent {
        /// Must be `local`.
        mode: String,
        /// Job file.
        #[arg(long)]
        job: PathBuf,
        /// Events file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
struct BulkArgs {
    /// Lab id or name.
    lab: String,
    /// Directory holding one entry per student.
    submissions: PathBuf,
    /// Results directory (created; reused on a rerun).
    #[arg(long)]
    out: PathBuf,
    /// Parallel gradings, each with its own guest (default: the number of cores).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Where the scenarios run.
    #[arg(long, value_enum, default_value_t = BackendArg::Qemu)]
    backend: BackendArg,
    /// Class seed: each student's seed derives from it and their name (default: fresh,
    /// then the one stored in --out).
    #[arg(long)]
    seed: Option<u64>,
    /// Also write similarity.md/.csv: pairs of submissions whose code is alike.
    #[arg(long)]
    similarity: bool,
    /// Smallest share of common fingerprints reported by --similarity (0-1).
    #[arg(long, default_value_t = 0.5)]
    similarity_threshold: f64,
    /// Extra gradings after an infrastructure fault before "not gradable".
    #[arg(long, default_value_t = 1)]
    retries: u32,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Where the build jail cannot be made (see `cargo grader doctor`), build and run
    /// submissions on this host WITHOUT it, as this user (the report says so).
    #[arg(long)]
    unsafe_host_build: bool,
    /// Grade as a Slurm job array instead of on this machine.
    #[arg(long)]
    slurm: bool,
    /// With --slurm: return once submitted (then `cargo grader collect`).
    #[arg(long, requires = "slurm")]
    no_wait: bool,
    /// With --slurm: students per array task.
    #[arg(long, default_value_t = 1)]
    chunk: usize,
    /// With --slurm: the partition.
    #[arg(long, requires = "slurm")]
    partition: Option<String>,
    /// With --slurm: one more sbatch argument (repeatable), e.g. --sbatch-arg=--time=30.
    #[arg(long = "sbatch-arg", requires = "slurm", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn bulk_command(a: BulkArgs) -> cli::BulkCommand {
    let slurm = a.slurm.then(|| grader::slurm::SlurmOptions {
        chunk: a.chunk,
        partition: a.partition.clone(),
        sbatch_args: a.sbatch_args.clone(),
        wait: !a.no_wait,
        poll: std::time::Duration::from_secs(2),
    });
    let similarity = a.similarity.then(|| grader::similarity::Options {
        threshold: a.similarity_threshold,
        ..Default::default()
    });
    cli::BulkCommand {
        bulk: grader::bulk::BulkOptions {
            lab: a.lab,
            submissions: a.submissions,
            out: a.out,
            jobs: a.jobs.unwrap_or_else(default_jobs),
            backend: backend(a.backend),
            seed: a.seed,
            similarity,
            retries: a.retries,
            quiet: a.quiet,
            unsafe_host_build: a.unsafe_host_build,
        },
        slurm,
    }
}

#[derive(Subcommand)]
enum ImageAction {
    /// Build the image now (otherwise it is built on first use).
    Build,
    /// Show what is cached and what is missing.
    Status,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Qemu,
    Local,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Rust,
    C,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Human,
    Json,
    Junit,
    Gradescope,
    Github,
}

fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Run directly as `cargo-grader lab1`, cargo's `grader` word is missing: add it.
    if argv.get(1).map(|a| a != "grader").unwrap_or(true) {
        argv.insert(1, "grader".into());
    }
    let CargoCli::Grader(args) = CargoCli::parse_from(argv);
    match run(args) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE as u8)
        }
    }
}

fn language(l: LangArg) -> Language {
    match l {
        LangArg::Rust => Language::Rust,
        LangArg::C => Language::C,
    }
}

fn backend(b: BackendArg) -> BackendChoice {
    match b {
        BackendArg::Qemu => BackendChoice::Qemu,
        BackendArg::Local => BackendChoice::Local,
    }
}

fn run(args: GraderArgs) -> Result<i32> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    match args.command {
        Some(Command::Agent { mode, job, out }) => cli::agent(&mode, &job, &out),
        Some(Command::List) => cli::list(&cwd),
        Some(Command::Doctor) => cli::doctor(&cwd),
        Some(Command::Image {
            action: ImageAction::Build,
        }) => cli::image_build(&cwd),
        Some(Command::Image {
            action: ImageAction::Status,
        }) => cli::image_status(&cwd),
        Some(Command::Check {
            labs,
            backend: b,
            seed,
            unsafe_host_build,
        }) => cli::check(&cwd, &labs, backend(b), seed, unsafe_host_build),
        Some(Command::Calibrate {
            labs,
            runs,
            unsafe_host_build,
        }) => cli::calibrate(&cwd, &labs, runs, unsafe_host_build),
        Some(Command::Bench {
            lab,
            broken: true,
            unsafe_host_build,
            ..
        }) => cli::bench_broken(&cwd, &lab, unsafe_host_build),
        Some(Command::Bench {
            lab,
            runs,
            phases,
            unsafe_host_build,
            ..
        }) => cli::bench(&cwd, &lab, runs, phases, unsafe_host_build),
        Some(Command::Pin) => cli::pin(&cwd),
        Some(Command::Progress) => cli::progress(&cwd),
        Some(Command::Watch {
            lab,
            submission,
            lang,
            backend: b,
            no_guest,
            unsafe_host_build,
        }) => cli::watch(
            &cwd,
            &cli::WatchCommand {
                lab,
                submission,
                lang: lang.map(language),
                backend: backend(b),
                then_guest: !no_guest,
                unsafe_host_build,
            },
        ),
        Some(Command::Handout {
            labs,
            out,
            course_repo,
            course_ref,
        }) => cli::handout(
            &cwd,
            &grader::handout::HandoutOptions {
                labs,
                out,
                course_repo,
                course_ref,
            },
        ),
        Some(Command::Solution { lab, lang, out }) => {
            let lang = lang.map(|l| match l {
                LangArg::Rust => Language::Rust,
                LangArg::C => Language::C,
            });
            cli::solution(&cwd, &lab, lang, &out)
        }
        Some(Command::Hint { lab, scenario }) => cli::hint(&cwd, &lab, scenario.as_deref()),
        Some(Command::Bulk(a)) => cli::bulk(&cwd, &bulk_command(a)),
        Some(Command::Collect { out, wait }) => cli::collect(&cwd, &out, wait),
        Some(Command::Dashboard { results }) => cli::dashboard(&results),
        Some(Command::GenClass { lab, out, size }) => cli::gen_class(&cwd, &lab, &out, size),
        Some(Command::BenchBulk {
            lab,
            size,
            jobs,
            backend: b,
            unsafe_host_build,
        }) => cli::bench_bulk(
            &cwd,
            &grader::bulk::bench::BenchOptions {
                lab,
                size,
                jobs: jobs.unwrap_or_else(default_jobs),
                backend: backend(b),
                unsafe_host_build,
            },
        ),
        Some(Command::BulkTask { out, plan, index }) => cli::bulk_task(&cwd, &out, &plan, index),
        None => {
            let g = args.grade;
            let lab = g
                .lab
                .context("which lab? e.g. `cargo grader lab1` (see `cargo grader list`)")?;
            let format = match g.format {
                FormatArg::Human => Format::Human,
                FormatArg::Json => Format::Json,
                FormatArg::Junit => Format::Junit,
                FormatArg::Gradescope => Format::Gradescope,
                FormatArg::Github => Format::Github,
            };
            cli::grade(
                &cwd,
                &cli::GradeCommand {
                    lab,
                    submission: g.submission,
                    lang: g.lang.map(|l| match l {
                        LangArg::Rust => grader::build::Language::Rust,
                        LangArg::C => grader::build::Language::C,
                    }),
                    backend: backend(g.backend),
                    seed: g.seed,
                    perturb: g.perturb,
                    format,
                    output: g.output,
                    quiet: g.quiet,
                    verbose: g.verbose,
                    unsafe_host_build: g.unsafe_host_build,
                    cold_boot: g.cold_boot,
                },
            )
        }
    }
}
