//! The course's support crate, shared by every Rust lab (the C labs have its twin in
//! `c/support.h`): `cli` reads numbers and keys from the command line, `format` prints
//! keys and the slides' pingpong line, and [`main_with`], [`program`] and [`die`] give
//! every program the same messages and exit statuses. Written for you; nothing here is
//! about IPC. The grader builds every submission with the course's own copy of it.

pub mod cli;
pub mod format;

use std::fmt::Display;
use std::process::{exit, ExitCode};

pub use cli::UsageError;

/// Exit status of a wrong command line.
pub const EXIT_USAGE: u8 = 2;
/// Exit status of a failed run.
pub const EXIT_FAILURE: u8 = 1;

/// The `main` of a program: parses the arguments with `parse`, runs `run`, prints a
/// usage error (then `usage`, exit 2) or a failure (exit 1) on stderr as
/// `PROGRAM: message`.
pub fn main_with<A, E: Display>(
    program: &str,
    usage: &str,
    parse: impl FnOnce(&[String]) -> Result<A, UsageError>,
    run: impl FnOnce(A) -> Result<(), E>,
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{program}: {e}\n{usage}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// The program's name as invoked (for messages).
pub fn program() -> String {
    let argv0 = std::env::args().next().unwrap_or_default();
    argv0.rsplit('/').next().unwrap_or("?").to_string()
}

/// Prints `PROGRAM: WHAT: ERR` on stderr and exits 1 (what `perror` then `exit(1)` do in C).
pub fn die(what: impl Display, err: impl Display) -> ! {
    eprintln!("{}: {what}: {err}", program());
    exit(i32::from(EXIT_FAILURE))
}
