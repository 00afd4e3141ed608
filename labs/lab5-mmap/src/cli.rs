//! Command-line arguments, the same way in every program (fatal error messages are the
//! support crate's `die`).

use std::path::PathBuf;
use std::process::exit;
use std::str::FromStr;

pub use lab_support::{die, program, EXIT_USAGE};

/// The positional arguments of a program, checked against its usage line.
#[derive(Debug)]
pub struct Args {
    usage: &'static str,
    values: Vec<String>,
}

impl Args {
    /// Reads `argv[1..]`; prints `usage: USAGE` and exits 2 unless there are between
    /// `required` and `required + optional` arguments.
    pub fn parse(usage: &'static str, required: usize, optional: usize) -> Args {
        let values: Vec<String> = std::env::args().skip(1).collect();
        let args = Args { usage, values };
        if args.values.len() < required || args.values.len() > required + optional {
            args.usage_error();
        }
        args
    }

    /// Argument `i` (0-based, after the program name) as a path.
    pub fn path(&self, i: usize) -> PathBuf {
        PathBuf::from(&self.values[i])
    }

    /// Argument `i` as a number; a bad value is a usage error naming `name`.
    pub fn number<T: FromStr>(&self, i: usize, name: &str) -> T {
        self.values[i].parse().unwrap_or_else(|_| {
            eprintln!(
                "{}: {name} must be a number, not {:?}",
                program(),
                self.values[i]
            );
            self.usage_error()
        })
    }

    /// Argument `i` as a number, or `default` when it was not given.
    pub fn number_or<T: FromStr>(&self, i: usize, name: &str, default: T) -> T {
        if i < self.values.len() {
            self.number(i, name)
        } else {
            default
        }
    }

    fn usage_error(&self) -> ! {
        eprintln!("usage: {}", self.usage);
        exit(i32::from(EXIT_USAGE))
    }
}
