//! `shm_client KEY MAX`: the thin binary; the work lives in the `shm_lab` library.

use std::process::ExitCode;

use shm_lab::cli;

fn main() -> ExitCode {
    lab_support::main_with(
        "shm_client",
        cli::CLIENT_USAGE,
        cli::parse_client,
        |(key, arg)| shm_lab::watch(key, arg),
    )
}
