//! Helpers shared by the lab 6 programs: everything that is *not* the lesson (error
//! messages, C strings for `execvp` built before `fork`, and the mini shell's parser).
//! The lesson (fork, pipe, dup2, open, close, execvp, waitpid) is in the `todo!()`s of
//! `src/bin/*.rs`.

pub mod argv;
pub mod cli;
pub mod parse;

pub use argv::{cpath, Argv, Prepared};
pub use cli::{die, restore_sigpipe};
pub use parse::{parse_line, Command, Line, ParseError, Pipeline, Redirect};
