//! Lab 5 reference solution, shared part: the skeleton's helpers (command line, data,
//! checksum, window file) plus a shared file mapping ([`mapping`]) and the window layout
//! both transfer programs agree on ([`window`]).

pub mod cli;
pub mod data;
pub mod mapping;
pub mod window;
pub mod window_file;

pub use cli::{die, Args};
pub use data::{data_from_seed, ints_from_seed, Fnv1a64};
pub use mapping::SharedMap;
pub use window::Window;
pub use window_file::{
    create_window, open_window, pace, publish_window, CHUNK_BYTES, MIB, WINDOW_BYTES,
};
