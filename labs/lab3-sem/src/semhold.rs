//! `semhold KEY [HOLD_MS]`: the thin binary; the work lives in the `sem_lab` library.

use std::process::ExitCode;

use sem_lab::cli;

fn main() -> ExitCode {
    lab_support::main_with(
        "semhold",
        cli::HOLD_USAGE,
        cli::parse_hold,
        |(key, hold)| sem_lab::hold(key, hold),
    )
}
