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

/// The `main` of every program: the support crate's (usage errors exit 2, failures 1),
/// for this lab's errors.
pub fn main_with<A>(
    program: &str,
    usage: &str,
    parse: impl FnOnce(&[String]) -> Result<A, UsageError>,
    run: impl FnOnce(A) -> Result<(), LabError>,
) -> ExitCode {
    lab_support::main_with(program, usage, parse, run)
}
