//! `grader-agent`: runs a job's scenarios, inside the guest as PID 1 (`guest`) or on the
//! host (`local`), and writes what it observed as JSON lines.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use grader::agent::entry::{guest_main, local_main, EXIT_AGENT_FAILED};

#[derive(Debug, Parser)]
#[command(
    name = "grader-agent",
    version,
    about = "Runs a grading job's scenarios and reports observations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// PID 1 of the guest: read /job/job.json, write to the `results` port, power off.
    Guest,
    /// On the host: read a job file, write events to a file.
    Local {
        /// The job (JSON).
        #[arg(long)]
        job: PathBuf,
        /// Where to write the events (JSON lines).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Guest => guest_main(),
        Command::Local { job, out } => match local_main(&job, &out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("grader-agent: {:#}", anyhow::Error::from(e));
                ExitCode::from(EXIT_AGENT_FAILED)
            }
        },
    }
}
