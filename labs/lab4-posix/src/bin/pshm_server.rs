//! `pshm_server /NAME TICK_MS`: the slides' shm server on a POSIX shared memory object.

use std::process::ExitCode;
use std::time::Duration;

use posix_lab::{cli, format, shm};

fn main() -> ExitCode {
    posix_lab::main_with("pshm_server", cli::SERVER_USAGE, cli::parse_server, |a| {
        let counter = shm::create(&a.name)?;
        counter.start();
        println!("{}", format::SERVER_READY);
        shm::serve(&counter, Duration::from_millis(a.tick_ms));
        counter.unmap()?;
        shm::unlink(&a.name)
    })
}
