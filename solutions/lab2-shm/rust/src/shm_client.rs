//! `shm_client KEY MAX`: the thin binary; the work lives in the `shm_lab` library.

use std::process::ExitCode;

use shm_lab::cli::{self, CLIENT_USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (key, max) = match cli::parse_client(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("shm_client: {e}\n{CLIENT_USAGE}");
            return ExitCode::from(2);
        }
    };
    match shm_lab::watch(key, max) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shm_client: {e}");
            ExitCode::from(1)
        }
    }
}
