//! Lab 3, System V semaphores: three programs around one semaphore of value 1. `cli`
//! reads the command lines, `sem` talks to the kernel, `counter` is the shared counter
//! `semcount` protects, `proc` forks and prints; this file holds the programs' logic.

pub mod cli;
pub mod counter;
pub mod error;
pub mod proc;
pub mod sem;

use std::thread::sleep;
use std::time::Duration;

use counter::SharedCounter;
use error::SemError;
use proc::say;

/// What the parent prints each time it holds the semaphore (the slides' text).
pub const PARENT_LINE: &str = "PARENT holding the sem\n";
/// What the child prints each time it holds the semaphore.
pub const CHILD_LINE: &str = "CHILD holding the sem\n";
/// What the child prints when its `semop` fails because the set is gone.
pub const CHILD_DELETED: &str = "Child: SEM deleted\n";

/// `semalt`: the slides' alternation. Parent and child compete for a private semaphore of
/// value 1; the parent holds it `rounds` times, then removes the set, which makes the
/// child's pending (or next) `semop` fail, and reaps the child.
pub fn alternate(rounds: u32, hold: Duration) -> Result<(), SemError> {
    let id = sem::create_private()?;
    if let Err(e) = proc::spawn(|| child_turns(id, hold)) {
        let _ = sem::remove(id);
        return Err(e);
    }
    let turns = parent_turns(id, rounds, hold);
    // Removing the set is what ends the child: do it even if a turn failed.
    let removed = sem::remove(id);
    let reaped = proc::wait_all();
    turns?;
    removed?;
    reaped
}

fn parent_turns(id: i32, rounds: u32, hold: Duration) -> Result<(), SemError> {
    for _ in 0..rounds {
        sem::p(id)?;
        say(PARENT_LINE);
        sleep(hold);
        sem::v(id)?;
    }
    Ok(())
}

/// The child's loop; runs after `fork`, so it only makes async-signal-safe calls
/// (semop, write, nanosleep). Returns the child's exit status.
fn child_turns(id: i32, hold: Duration) -> i32 {
    loop {
        if sem::p(id).is_err() {
            say(CHILD_DELETED);
            return 0;
        }
        say(CHILD_LINE);
        sleep(hold);
        // Fails once the parent removed the set: there is nothing left to release.
        let _ = sem::v(id);
    }
}

/// `semhold`: takes the semaphore of `key` (created with value 1 by the first holder),
/// prints `holding`, and keeps it until killed (`hold` = `None`) or for `hold`, after
/// which it releases it, prints `released` and removes the set.
pub fn hold(key: i32, hold: Option<Duration>) -> Result<(), SemError> {
    let id = sem::open_or_create(key)?;
    sem::p(id)?;
    println!("holding");
    let Some(hold) = hold else {
        proc::pause_forever()
    };
    sleep(hold);
    sem::v(id)?;
    println!("released");
    sem::remove(id)
}

/// `semcount`: `nprocs` children share `total` increments of a counter in shared memory,
/// each increment inside P/V. Prints `total=<counter>` once all of them are done.
pub fn count(nprocs: u32, total: u32) -> Result<(), SemError> {
    let counter = SharedCounter::new()?;
    let id = sem::create_private()?;
    let mut spawned = Ok(());
    for i in 0..nprocs {
        let n = cli::share(total, nprocs, i);
        if let Err(e) = proc::spawn(|| child_count(id, &counter, n)) {
            spawned = Err(e);
            break;
        }
    }
    let reaped = proc::wait_all();
    println!("total={}", counter.get());
    let removed = sem::remove(id);
    let detached = counter.detach();
    spawned?;
    reaped?;
    removed?;
    detached
}

/// One child's share: `n` read-yield-write increments, each inside the critical section.
/// The yield lets another process run between the read and the write, so that without
/// the semaphore updates would be lost even on a single CPU. Runs after `fork`.
fn child_count(id: i32, counter: &SharedCounter, n: u32) -> i32 {
    for _ in 0..n {
        if sem::p(id).is_err() {
            return 1;
        }
        let seen = counter.get();
        proc::yield_now();
        counter.set(seen + 1);
        if sem::v(id).is_err() {
            return 1;
        }
    }
    0
}
