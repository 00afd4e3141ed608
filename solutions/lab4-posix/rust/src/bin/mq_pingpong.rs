//! `mq_pingpong /NAME [COUNT]`: the slides' pingpong on two POSIX message queues.

use std::process::ExitCode;

use posix_lab::{cli, format, mq};

fn main() -> ExitCode {
    posix_lab::main_with(
        "mq_pingpong",
        cli::PINGPONG_USAGE,
        cli::parse_pingpong,
        |a| {
            let total_time = mq::pingpong(&a.name, a.count)?;
            eprint!("{}", format::pingpong_line(a.count, total_time));
            println!("{}", format::messages_line(a.count));
            Ok(())
        },
    )
}
