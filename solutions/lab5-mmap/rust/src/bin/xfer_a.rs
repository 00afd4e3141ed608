//! `xfer_a FILE MB SEED [DELAY_US]`: process A. Sends MB MiB of its memory (the ints of
//! SEED) to process B through the 1 MiB window file FILE, 64 KiB chunk by chunk, sleeping
//! DELAY_US µs after handing over each chunk. Prints `sent <bytes> bytes`.

use std::fs::File;
use std::io;
use std::path::Path;

use mmap_lab::{
    create_window, data_from_seed, die, pace, publish_window, Args, SharedMap, Window, CHUNK_BYTES,
    MIB, WINDOW_BYTES,
};

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

/// Moves `data` to B through `window` (open read-write, already [`WINDOW_BYTES`] long,
/// still named `tmp`).
fn send(window: &File, tmp: &Path, path: &Path, data: &[u8], delay_us: u64) -> io::Result<()> {
    let w = Window::init(SharedMap::new(window, WINDOW_BYTES)?)?;
    // Only now that the semaphores are ready may B find the window.
    publish_window(tmp, path)?;
    for (i, chunk) in data.chunks(CHUNK_BYTES).enumerate() {
        w.put(i, chunk)?;
        pace(delay_us);
    }
    Ok(())
}
