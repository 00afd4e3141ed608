//! `shm_server KEY TICK_MS`: the thin binary; the work lives in the `shm_lab` library.

use std::process::ExitCode;

use shm_lab::cli::{self, SERVER_USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (key, tick) = match cli::parse_server(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("shm_server: {e}\n{SERVER_USAGE}");
            return ExitCode::from(2);
        }
    };
    match shm_lab::serve(key, tick) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shm_server: {e}");
            ExitCode::from(1)
        }
    }
}
