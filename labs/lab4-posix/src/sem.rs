//! The slides' semaphore alternation on a POSIX named semaphore.
//!
//! YOUR JOB: the `todo!()`s below (`man 3 sem_open`, `sem_wait`, `sem_post`, `sem_close`,
//! `sem_unlink`; `man 7 sem_overview`), and a design question: the SysV parent ended the
//! child by deleting the semaphore (`IPC_RMID` makes the blocked `semop` fail), but
//! `sem_unlink` only removes the name and wakes nobody. How does your child learn that
//! the parent is done? Explain your choice in a comment (see the README).

use std::ptr::NonNull;
use std::time::Duration;

use crate::cli::PosixName;
use crate::error::LabError;

/// An open named semaphore.
#[derive(Debug)]
pub struct NamedSem {
    /// What `sem_open` returned.
    pub sem: NonNull<libc::sem_t>,
}

impl NamedSem {
    /// Creates semaphore `name` with value `value`: `O_CREAT | O_EXCL`, mode 0600.
    pub fn create(_name: &PosixName, _value: u32) -> Result<NamedSem, LabError> {
        todo!(
            "libc::sem_open(name.as_c().as_ptr(), O_CREAT | O_EXCL, 0o600 as c_uint, value); \
             libc::SEM_FAILED = Err(LabError::os(\"sem_open\", name))"
        )
    }

    /// P: takes the semaphore, blocking while its value is 0 (retries on EINTR).
    pub fn wait(&self) -> Result<(), LabError> {
        todo!("libc::sem_wait(self.sem.as_ptr()); -1 = Err(LabError::os_anon(\"sem_wait\"))")
    }

    /// V: gives the semaphore back.
    pub fn post(&self) -> Result<(), LabError> {
        todo!("libc::sem_post(self.sem.as_ptr()); -1 = Err(LabError::os_anon(\"sem_post\"))")
    }

    /// Closes this process's handle (the semaphore lives on until unlinked).
    pub fn close(self) -> Result<(), LabError> {
        todo!("libc::sem_close(self.sem.as_ptr()); -1 = Err(LabError::os_anon(\"sem_close\"))")
    }
}

/// Removes the semaphore's name (`/dev/shm/sem.NAME`).
pub fn unlink(_name: &PosixName) -> Result<(), LabError> {
    todo!("libc::sem_unlink(name.as_c().as_ptr()); -1 = Err(LabError::os(\"sem_unlink\", name))")
}

/// The whole program: creates the semaphore (value 1), forks, then
/// - the parent, `rounds` times: takes the semaphore, prints
///   [`PARENT_HOLDING`](crate::format::PARENT_HOLDING), sleeps `hold`, gives it back;
/// - the child, until it learns that the parent is done: takes the semaphore, prints
///   [`CHILD_HOLDING`](crate::format::CHILD_HOLDING), sleeps `hold`, gives it back;
///   then prints [`CHILD_DONE`](crate::format::CHILD_DONE) and exits 0 (use
///   [`process::spawn`](crate::process::spawn));
/// - the parent waits for the child ([`process::wait`](crate::process::wait)), closes
///   and unlinks the semaphore.
pub fn alternate(_name: &PosixName, _rounds: u32, _hold: Duration) -> Result<(), LabError> {
    todo!(
        "NamedSem::create(name, 1), process::spawn(child), the parent's rounds, \
         process::wait, close + unlink; and a way for the child to learn that the parent \
         is done (a flag in a MAP_SHARED | MAP_ANONYMOUS mapping made before fork, read \
         while holding the semaphore? sem_timedwait? your call)"
    )
}
