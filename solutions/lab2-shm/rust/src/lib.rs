//! Lab 2, System V shared memory: the slides' counter exchange. `cli` reads the command
//! lines, `segment` talks to the kernel, `shared` reads and writes the two shared ints,
//! and this file runs the server's and the client's loops.

pub mod cli;
pub mod error;
pub mod segment;
pub mod shared;

use std::thread::sleep;
use std::time::Duration;

use error::ShmError;
use shared::Shared;

/// How long the client waits before looking at the counter again when it has not moved.
const CLIENT_POLL: Duration = Duration::from_millis(1);

/// `shm_server KEY TICK_MS`: creates the segment, counts until the client clears the run
/// flag, then detaches and removes the segment.
pub fn serve(key: i32, tick: Duration) -> Result<(), ShmError> {
    let id = segment::create(key)?;
    let shared = match segment::attach(id) {
        Ok(shared) => shared,
        Err(e) => {
            // Nobody else knows the segment yet: do not leave it behind.
            let _ = segment::remove(id);
            return Err(e);
        }
    };
    count(&shared, tick);
    segment::detach(shared)?;
    segment::remove(id)
}

/// The server's loop: run flag up, counter at 0, one increment per tick while the flag
/// stays up.
fn count(shared: &Shared, tick: Duration) {
    shared.set_value(0);
    shared.set_run_flag(true);
    while shared.run_flag() {
        sleep(tick);
        shared.set_value(shared.value() + 1);
    }
}

/// `shm_client KEY MAX`: attaches the server's segment, prints every new counter value
/// and stops the server once the counter reaches `max`, then detaches.
pub fn watch(key: i32, max: i32) -> Result<(), ShmError> {
    let id = segment::open(key)?;
    let shared = segment::attach(id)?;
    follow(&shared, max);
    segment::detach(shared)
}

/// The client's loop: one `Val is N max is MAX` line per value seen; the server may bump
/// the counter several times between two looks, so values can be skipped.
fn follow(shared: &Shared, max: i32) {
    let mut last = None;
    loop {
        // Read once: the server may change it between two reads.
        let current = shared.value();
        if last == Some(current) {
            sleep(CLIENT_POLL);
            continue;
        }
        println!("Val is {current} max is {max}");
        last = Some(current);
        if current >= max {
            shared.set_run_flag(false);
            return;
        }
    }
}
