//! `semalt [ROUNDS [HOLD_MS]]`: the thin binary; the work lives in the `sem_lab` library.

use std::process::ExitCode;

use sem_lab::cli;

fn main() -> ExitCode {
    lab_support::main_with(
        "semalt",
        cli::ALT_USAGE,
        cli::parse_alt,
        |(rounds, hold)| sem_lab::alternate(rounds, hold),
    )
}
