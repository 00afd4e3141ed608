//! `xfer_b FILE MB [DELAY_US]`: process B. Receives MB MiB from process A through the
//! 1 MiB window file FILE, 64 KiB chunk by chunk, sleeping DELAY_US µs after consuming each
//! chunk. Prints `received <bytes> bytes fnv1a64=<16 hex digits>`.

use std::fs::File;
use std::io;
use std::time::Duration;

use mmap_lab::{die, open_window, Args, Fnv1a64, MIB};

/// How long B waits for A to publish the window.
const PATIENCE: Duration = Duration::from_secs(5);

fn main() {
    let args = Args::parse("xfer_b FILE MB [DELAY_US]", 2, 1);
    let path = args.path(0);
    let mb: usize = args.number(1, "MB");
    let delay_us: u64 = args.number_or(2, "DELAY_US", 0);
    let window = open_window(&path, PATIENCE).unwrap_or_else(|e| die(path.display(), e));
    let mut sum = Fnv1a64::default();
    receive(&window, mb * MIB, delay_us, &mut sum).unwrap_or_else(|e| die(path.display(), e));
    println!("received {} bytes fnv1a64={}", mb * MIB, sum.hex());
}

/// Receives `total` bytes from A through `window` (open read-write, already initialised by
/// A), feeding each chunk, in order, to `sum`.
fn receive(_window: &File, _total: usize, _delay_us: u64, _sum: &mut Fnv1a64) -> io::Result<()> {
    todo!(
        "map the whole window shared and writable, with xfer_a's layout. For each \
         CHUNK_BYTES chunk, in order: wait until A has filled the next slot, \
         sum.update(slot), give the slot back to A, pace(delay_us). Unmap at the end. See \
         mmap(2), sem_wait(3), sem_post(3)"
    )
}
