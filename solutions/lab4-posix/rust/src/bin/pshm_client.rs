//! `pshm_client /NAME MAX`: the slides' shm client on a POSIX shared memory object.

use std::process::ExitCode;

use posix_lab::{cli, format, shm};

fn main() -> ExitCode {
    posix_lab::main_with("pshm_client", cli::CLIENT_USAGE, cli::parse_client, |a| {
        let counter = shm::open(&a.name)?;
        shm::watch(&counter, a.max, |v| {
            println!("{}", format::val_line(v, a.max))
        });
        counter.unmap()
    })
}
