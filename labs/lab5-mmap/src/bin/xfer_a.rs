//! `xfer_a FILE MB SEED [DELAY_US]`: process A. Sends MB MiB of its memory (the ints of
//! SEED) to process B through the 1 MiB window file FILE, 64 KiB chunk by chunk, sleeping
//! DELAY_US µs after handing over each chunk. Prints `sent <bytes> bytes`.

use std::fs::File;
use std::io;
use std::path::Path;

use mmap_lab::{create_window, data_from_seed, die, Args, MIB};

fn main() {
    let args = Args::parse("xfer_a FILE MB SEED [DELAY_US]", 3, 1);
    let path = args.path(0);
    let mb: usize = args.number(1, "MB");
    let seed: u64 = args.number(2, "SEED");
    let delay_us: u64 = args.number_or(3, "DELAY_US", 0);
    let data = data_from_seed(seed, mb * MIB);
    let (window, tmp) = create_window(&path).unwrap_or_else(|e| die(path.display(), e));
    send(&window, &tmp, &path, &data, delay_us).unwrap_or_else(|e| die(path.display(), e));
    println!("sent {} bytes", data.len());
}

/// Moves `data` to B through `window` (open read-write, already [`mmap_lab::WINDOW_BYTES`]
/// long, still named `tmp`).
fn send(_window: &File, _tmp: &Path, _path: &Path, _data: &[u8], _delay_us: u64) -> io::Result<()> {
    todo!(
        "map the whole window shared and writable and lay it out (in a module of src/lib.rs \
         that xfer_b shares: e.g. a header holding the synchronisation, then slots of \
         CHUNK_BYTES). Get the header ready, then publish_window(tmp, path) so that B can \
         open it. For each CHUNK_BYTES chunk, in order: wait until B has emptied a slot, \
         copy the chunk in, tell B it is full, pace(delay_us). Unmap at the end. Sleeping \
         is not waiting: the grader makes either side the slow one. See mmap(2), \
         sem_init(3) (pshared), sem_wait(3), sem_post(3)"
    )
}
