//! `semalt [ROUNDS [HOLD_MS]]`: the thin binary; the work lives in the `sem_lab` library.

use std::process::ExitCode;

use sem_lab::cli::{self, ALT_USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rounds, hold) = match cli::parse_alt(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("semalt: {e}\n{ALT_USAGE}");
            return ExitCode::from(2);
        }
    };
    match sem_lab::alternate(rounds, hold) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("semalt: {e}");
            ExitCode::from(1)
        }
    }
}
