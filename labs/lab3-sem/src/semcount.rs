//! `semcount NPROCS TOTAL`: the thin binary; the work lives in the `sem_lab` library.

use std::process::ExitCode;

use sem_lab::cli;

fn main() -> ExitCode {
    lab_support::main_with(
        "semcount",
        cli::COUNT_USAGE,
        cli::parse_count,
        |(nprocs, total)| sem_lab::count(nprocs, total),
    )
}
