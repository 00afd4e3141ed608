//! Lab 4, POSIX IPC: the course's SysV programs ported to POSIX queues (`mq`), shared
//! memory (`shm`) and named semaphores (`sem`). `cli` reads the command lines, `format`
//! and `error` shape what is printed, `process` forks and waits.

pub mod cli;
pub mod error;
pub mod format;
pub mod mq;
pub mod process;
pub mod sem;
pub mod shm;

use std::process::ExitCode;

use cli::UsageError;
use error::LabError;

/// Serialises the tests that fork: a fork while another test thread holds a lock would
/// leave the child stuck on it.
#[cfg(test)]
pub(crate) static FORK_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The `main` of every program: parses the arguments with `parse`, runs `run`, prints a
/// usage error (exit 2) or a failure (exit 1) on stderr as `PROGRAM: message`.
pub fn main_with<A>(
    program: &str,
    usage: &str,
    parse: impl FnOnce(&[String]) -> Result<A, UsageError>,
    run: impl FnOnce(A) -> Result<(), LabError>,
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{program}: {e}\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::from(1)
        }
    }
}
