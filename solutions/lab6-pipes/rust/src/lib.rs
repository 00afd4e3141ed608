//! Lab 6 reference solution, shared part: the skeleton's helpers (error messages, C strings
//! built before `fork`, the mini shell's parser) plus thin wrappers over the process and
//! descriptor system calls ([`sys`]).

pub mod argv;
pub mod cli;
pub mod parse;
pub mod sys;

pub use argv::{cpath, Argv, Prepared};
pub use cli::{die, restore_sigpipe};
pub use parse::{parse_line, Command, Line, ParseError, Pipeline, Redirect};
