//! `semcount NPROCS TOTAL`: the thin binary; the work lives in the `sem_lab` library.

use std::process::ExitCode;

use sem_lab::cli::{self, COUNT_USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (nprocs, total) = match cli::parse_count(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("semcount: {e}\n{COUNT_USAGE}");
            return ExitCode::from(2);
        }
    };
    match sem_lab::count(nprocs, total) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("semcount: {e}");
            ExitCode::from(1)
        }
    }
}
