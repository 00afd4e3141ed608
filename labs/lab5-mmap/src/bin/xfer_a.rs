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
        "mmap the whole window (PROT_READ | PROT_WRITE, MAP_SHARED). Lay it out as a header \
         plus slots of CHUNK_BYTES, e.g. two process-shared semaphores in the header \
         (libc::sem_init(ptr, 1, n): free slots = number of slots, full slots = 0). When the \
         header is ready, publish_window(tmp, path) so B can open it. Then for each \
         CHUNK_BYTES chunk of data: wait for a free slot (sem_wait), copy the chunk into it, \
         signal B (sem_post), then pace(delay_us). munmap at the end. No sleep() as \
         synchronisation: the grader makes either side slow."
    )
}
