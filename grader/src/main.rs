//! `cargo-grader`: the thin CLI over the `grader` library. `cargo grader lab1` (through
//! cargo's subcommand convention or the workspace alias) grades a lab.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use grader::cli::{self, BackendChoice, Format};
use grader::report::EXIT_USAGE;

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
    after_help = "Examples:\n  cargo grader lab1                      grade labs/lab1-msgq in the guest\n  cargo grader msgq --backend local      same lab, on this host (faster, less isolated)\n  cargo grader lab1 --submission ../alice --format json\n  cargo grader list | doctor | check | bench | image status"
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
    /// Directory to grade (default: the lab's directory in this checkout).
    #[arg(long, short)]
    submission: Option<PathBuf>,
    /// Where the scenarios run.
    #[arg(long, value_enum, default_value_t = BackendArg::Qemu)]
    backend: BackendArg,
    /// Replay the parameters of an earlier run.
    #[arg(long)]
    seed: Option<u64>,
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
    },
    /// Benchmark: wall time of grading a lab's solution in the guest vs locally.
    Bench {
        /// Lab (default lab1).
        #[arg(default_value = "lab1")]
        lab: String,
        /// Runs per backend.
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
    /// Print the spec hashes to pin in course.toml (after editing a spec on purpose).
    Pin,
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
enum FormatArg {
    Human,
    Json,
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
        }) => cli::check(&cwd, &labs, backend(b), seed),
        Some(Command::Bench { lab, runs }) => cli::bench(&cwd, &lab, runs),
        Some(Command::Pin) => cli::pin(&cwd),
        None => {
            let g = args.grade;
            let lab = g
                .lab
                .context("which lab? e.g. `cargo grader lab1` (see `cargo grader list`)")?;
            let format = match g.format {
                FormatArg::Human => Format::Human,
                FormatArg::Json => Format::Json,
            };
            cli::grade(
                &cwd,
                &cli::GradeCommand {
                    lab,
                    submission: g.submission,
                    backend: backend(g.backend),
                    seed: g.seed,
                    format,
                    output: g.output,
                    quiet: g.quiet,
                    verbose: g.verbose,
                },
            )
        }
    }
}
