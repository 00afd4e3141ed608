//! The slides' shm counter on a POSIX shared memory object: `shm_open` + `ftruncate` +
//! `mmap` replace `shmget` + `shmat`; `munmap` + `shm_unlink` replace `shmdt` + `IPC_RMID`.
//!
//! YOUR JOB: the `todo!()`s below (`man 3 shm_open`, `man 2 ftruncate`, `man 2 mmap`,
//! `man 3 shm_unlink`; `man 7 shm_overview`). The loops and the `Counter` are written.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use libc::{c_int, c_void};

use crate::cli::PosixName;
use crate::error::LabError;

/// Bytes of the object: two `int`s, as the slides' segment.
pub const SHM_SIZE: usize = 2 * std::mem::size_of::<c_int>();

/// How often the client looks at the counter.
const POLL: Duration = Duration::from_millis(1);

/// The object's two `int`s, mapped: `val[0]` is the run flag, `val[1]` the counter.
/// Atomics because the other process changes them behind the compiler's back (the C
/// programs use `volatile` for the same reason).
#[derive(Debug)]
pub struct Counter {
    vals: NonNull<[AtomicI32; 2]>,
}

impl Counter {
    /// Wraps a mapping (what `mmap` returned).
    ///
    /// # Safety
    /// `ptr` must be a readable and writable mapping of at least [`SHM_SIZE`] bytes that
    /// stays mapped until [`Counter::unmap`].
    pub unsafe fn from_mapping(ptr: *mut c_void) -> Counter {
        let vals = NonNull::new(ptr.cast()).expect("mmap never returns NULL on success");
        Counter { vals }
    }

    /// The start of the mapping, for `munmap`.
    pub fn as_ptr(&self) -> *mut c_void {
        self.vals.as_ptr().cast()
    }

    fn vals(&self) -> &[AtomicI32; 2] {
        // SAFETY: the mapping is valid for as long as `self` (see `from_mapping`), page
        // aligned, and AtomicI32 has the layout of an int.
        unsafe { self.vals.as_ref() }
    }

    /// The slides' starting values: running, counter at 0.
    pub fn start(&self) {
        self.vals()[1].store(0, Ordering::SeqCst);
        self.vals()[0].store(1, Ordering::SeqCst);
    }

    /// Whether the run flag is still set.
    pub fn running(&self) -> bool {
        self.vals()[0].load(Ordering::SeqCst) != 0
    }

    /// Clears the run flag: the server stops at its next tick.
    pub fn stop(&self) {
        self.vals()[0].store(0, Ordering::SeqCst);
    }

    /// The counter now.
    pub fn value(&self) -> i32 {
        self.vals()[1].load(Ordering::SeqCst)
    }

    /// Adds one to the counter.
    pub fn tick(&self) {
        self.vals()[1].fetch_add(1, Ordering::SeqCst);
    }

    /// Unmaps the object (the slides' `shmdt`).
    pub fn unmap(self) -> Result<(), LabError> {
        todo!(
            "unmap the object's SHM_SIZE bytes (the slides' shmdt); a failure is \
             Err(LabError::os_anon(\"munmap\")). See munmap(2)"
        )
    }
}

/// The server's side: creates the object (`O_CREAT | O_EXCL | O_RDWR`, mode 0600), gives
/// it its size and maps it. If the name is taken (`EEXIST`), the object is stale (left
/// by a server that died before unlinking it): print
/// `pshm_server: removing stale NAME` on stderr, unlink it and create it again, once.
pub fn create(_name: &PosixName) -> Result<Counter, LabError> {
    todo!(
        "create the new object NAME, read-write, mode 0600; a taken name is a stale object \
         (see above; err.is_exists() tells EEXIST). A new object has 0 bytes: give it its \
         SHM_SIZE before mapping it, then map it shared and writable and wrap it with \
         Counter::from_mapping; the descriptor is not needed once mapped. See shm_open(3), \
         ftruncate(2), mmap(2)"
    )
}

/// The client's side: opens the server's object without creating it (no `O_CREAT`) and
/// maps it. No object (`ENOENT`) is [`LabError::NoServer`]; an object still smaller
/// than [`SHM_SIZE`] (the server has not sized it yet) is [`LabError::NotReady`].
pub fn open(_name: &PosixName) -> Result<Counter, LabError> {
    todo!(
        "open the server's object NAME read-write without ever creating it (ENOENT: \
         Err(LabError::NoServer {{ name: name.to_string() }})); an object still smaller \
         than SHM_SIZE is LabError::NotReady (touching it would end in SIGBUS); then map it \
         as the server does. See shm_open(3), fstat(2), mmap(2)"
    )
}

/// Removes the object's name (the slides' `IPC_RMID`); mappings stay valid.
pub fn unlink(_name: &PosixName) -> Result<(), LabError> {
    todo!(
        "remove the object's name (the mappings stay valid); a failure is \
         Err(LabError::os(\"shm_unlink\", name)). See shm_unlink(3)"
    )
}

/// The server's loop: bumps the counter every `tick` while the run flag is set.
pub fn serve(counter: &Counter, tick: Duration) {
    while counter.running() {
        std::thread::sleep(tick);
        counter.tick();
    }
}

/// The client's loop: calls `show` with every new value of the counter; at `max` clears
/// the run flag and returns.
pub fn watch(counter: &Counter, max: i32, mut show: impl FnMut(i32)) {
    let mut last = None;
    loop {
        let now = counter.value();
        if last == Some(now) {
            std::thread::sleep(POLL);
            continue;
        }
        show(now);
        last = Some(now);
        if now >= max {
            counter.stop();
            return;
        }
    }
}
