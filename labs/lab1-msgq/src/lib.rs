//! Lab 1, System V message queues: the `msgq` command. `cli` reads the command line,
//! `queue` talks to the kernel, `error` and the course's `format` (from the support
//! crate) shape what is printed.

pub mod cli;
pub mod error;
pub mod queue;

pub use lab_support::format;

use cli::Command;
use error::MsgqError;
use format::{hex_key, pingpong_line};

/// Runs one command, printing its results as the lab's contract says.
pub fn run(cmd: Command) -> Result<(), MsgqError> {
    match cmd {
        Command::Ftok { path, proj } => println!("{}", hex_key(queue::ftok(&path, proj)?)),
        Command::Create { key } => println!("created id={}", queue::create(key)?),
        Command::Private { text } => {
            let got = queue::private_exchange(&text)?;
            println!("received {}", String::from_utf8_lossy(&got));
        }
        Command::Send { key, mtype, text } => {
            let size = queue::send(key, mtype, &text)?;
            println!("sent type={mtype} size={size}");
        }
        Command::Recv {
            key,
            mtype,
            nowait,
            except,
        } => {
            let (got_type, text) = queue::receive(key, mtype, nowait, except)?;
            println!("type={got_type} text={}", String::from_utf8_lossy(&text));
        }
        Command::Rm { key } => println!("removed id={}", queue::remove(key)?),
        Command::Pingpong { count } => {
            let total_time = queue::pingpong(count)?;
            eprint!("{}", pingpong_line(count, total_time));
            println!("messages: {count}");
        }
    }
    Ok(())
}
