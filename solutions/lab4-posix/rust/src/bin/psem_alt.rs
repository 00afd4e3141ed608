//! `psem_alt /NAME [ROUNDS] [HOLD_MS]`: the slides' semaphore alternation on a POSIX named
//! semaphore.

use std::process::ExitCode;
use std::time::Duration;

use posix_lab::{cli, sem};

fn main() -> ExitCode {
    posix_lab::main_with("psem_alt", cli::ALT_USAGE, cli::parse_alt, |a| {
        sem::alternate(&a.name, a.rounds, Duration::from_millis(a.hold_ms))
    })
}
