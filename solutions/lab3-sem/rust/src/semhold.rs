//! `semhold KEY [HOLD_MS]`: the thin binary; the work lives in the `sem_lab` library.

use std::process::ExitCode;

use sem_lab::cli::{self, HOLD_USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (key, hold) = match cli::parse_hold(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("semhold: {e}\n{HOLD_USAGE}");
            return ExitCode::from(2);
        }
    };
    match sem_lab::hold(key, hold) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("semhold: {e}");
            ExitCode::from(1)
        }
    }
}
