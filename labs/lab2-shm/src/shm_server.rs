//! `shm_server KEY TICK_MS`: the thin binary; the work lives in the `shm_lab` library.

use std::process::ExitCode;

use shm_lab::cli;

fn main() -> ExitCode {
    lab_support::main_with(
        "shm_server",
        cli::SERVER_USAGE,
        cli::parse_server,
        |(key, arg)| shm_lab::serve(key, arg),
    )
}
