//! Helpers shared by the lab 5 programs: everything that is *not* the lesson (command-line
//! parsing, error messages, the data process A sends, the checksum process B prints, and
//! creating/finding the window file). The lesson (mapping, sorting in the mapping, the
//! synchronisation through the window) is in the `todo!()`s of `src/bin/*.rs`.
//!
//! Put what `xfer_a` and `xfer_b` must agree on (the layout of the window: a header, the
//! slots) in a module of this library so both programs share one definition.

pub mod cli;
pub mod data;
pub mod window_file;

pub use cli::{die, Args};
pub use data::{data_from_seed, ints_from_seed, Fnv1a64};
pub use window_file::{
    create_window, open_window, pace, publish_window, CHUNK_BYTES, MIB, WINDOW_BYTES,
};
