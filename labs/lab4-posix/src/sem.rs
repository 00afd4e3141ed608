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
            "create the new named semaphore NAME (an existing one is an error), mode 0600 \
             (passed as a c_uint: the call is variadic), of value VALUE; a failure \
             (SEM_FAILED) is Err(LabError::os(\"sem_open\", name)). See sem_open(3)"
        )
    }

    /// P: takes the semaphore, blocking while its value is 0 (retries on EINTR).
    pub fn wait(&self) -> Result<(), LabError> {
        todo!(
            "P: take the semaphore, blocking while its value is 0, again when interrupted \
             (EINTR); a failure is Err(LabError::os_anon(\"sem_wait\")). See sem_wait(3)"
        )
    }

    /// V: gives the semaphore back.
    pub fn post(&self) -> Result<(), LabError> {
        todo!(
            "V: give the semaphore back; a failure is Err(LabError::os_anon(\"sem_post\")). \
             See sem_post(3)"
        )
    }

    /// Closes this process's handle (the semaphore lives on until unlinked).
    pub fn close(self) -> Result<(), LabError> {
        todo!(
            "close this process's handle (the semaphore lives on until unlinked); a failure \
             is Err(LabError::os_anon(\"sem_close\")). See sem_close(3)"
        )
    }
}

/// Removes the semaphore's name (`/dev/shm/sem.NAME`).
pub fn unlink(_name: &PosixName) -> Result<(), LabError> {
    todo!(
        "remove the semaphore's name (/dev/shm/sem.NAME); a failure is \
         Err(LabError::os(\"sem_unlink\", name)). See sem_unlink(3)"
    )
}

/// The whole program: creates the semaphore (value 1), forks, then
/// - the parent, `rounds` times: takes the semaphore, prints
///   [`PARENT_HOLDING`](crate::format::PARENT_HOLDING), sleeps `hold`, gives it back,
///   sleeps `hold` (the child's turn);
/// - the child, until it learns that the parent is done: takes the semaphore, prints
///   [`CHILD_HOLDING`](crate::format::CHILD_HOLDING), sleeps `hold`, gives it back,
///   sleeps `hold` (the parent's turn: `sem_post` hands the semaphore to nobody, and a
///   child that asks again at once takes it back and starves the parent); then prints [`CHILD_DONE`](crate::format::CHILD_DONE) and exits 0 (use
///   [`process::spawn`](crate::process::spawn));
/// - the parent waits for the child ([`process::wait`](crate::process::wait)), closes
///   and unlinks the semaphore.
pub fn alternate(_name: &PosixName, _rounds: u32, _hold: Duration) -> Result<(), LabError> {
    todo!(
        "the whole program described above: the semaphore (value 1), the child \
         (process::spawn forks it), the parent's rounds, waiting for the child \
         (process::wait), then close and unlink. And a way for the child to learn that the \
         parent is done: removing the name wakes nobody (IPC_RMID did). Choose one and \
         explain it in a comment (README: the design choices)"
    )
}
