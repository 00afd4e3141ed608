//! `msgq`: the thin binary; parsing and the IPC work live in the `msgq_lab` library.

use std::process::ExitCode;

use msgq_lab::cli::{self, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = match cli::parse(&args) {
        Ok(cmd) => cmd,
        Err(e) => {
            eprintln!("msgq: {e}\n{USAGE}");
            return ExitCode::from(1);
        }
    };
    match msgq_lab::run(cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msgq: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
