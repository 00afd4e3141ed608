//! The System V semaphore work of the lab: semget, semctl, semop.
//! This is the file to complete: replace each `todo!` (see README.md and the slides,
//! "Les Sémaphores"). `libc` has every call, constant and struct (`libc::semget`,
//! `libc::SETALL`, `libc::sembuf`…); `SemError::last_os("call")` turns `errno` into an
//! error without allocating, so `p` and `v` may run in a forked child.

use crate::error::SemError;

/// Creates a private set of one semaphore (`IPC_PRIVATE`, mode `0600`) and sets it to 1.
pub fn create_private() -> Result<i32, SemError> {
    todo!(
        "a new set of one semaphore without key (only this process and its children reach \
         it), mode 0600, of value 1: a new semaphore's value is not set for you (the \
         slides' `unsigned short val = 1`). Remove the set if setting it fails. See \
         semget(2) (IPC_PRIVATE), semctl(2) (SETALL)"
    )
}

/// The set of one semaphore for `key`: created and set to 1 if no set has the key yet,
/// opened as it is otherwise.
pub fn open_or_create(_key: i32) -> Result<i32, SemError> {
    todo!(
        "the set of one semaphore for KEY: created (mode 0600) and set to 1 if the key has \
         none, opened as it is otherwise (setting a set someone holds back to 1 would let \
         you in). The creation must tell you whether you are the creator. See semget(2): \
         IPC_CREAT, IPC_EXCL, EEXIST"
    )
}

/// P: waits until the semaphore is positive, then takes one unit. The kernel gives the
/// unit back if this process dies before `v`.
pub fn p(_id: i32) -> Result<(), SemError> {
    todo!(
        "P on semaphore 0: wait until it is positive and take one unit, in such a way that \
         the kernel gives it back if this process dies before its V. See semop(2): struct \
         sembuf, sem_flg (the slides' IPC_UNDO is spelt SEM_UNDO)"
    )
}

/// V: gives one unit back (and the kernel's undo record with it).
pub fn v(_id: i32) -> Result<(), SemError> {
    todo!(
        "V on semaphore 0: give the unit back, with the same undo bookkeeping as p. See \
         semop(2)"
    )
}

/// Removes the set at once; processes blocked in `semop` on it wake up with an error.
pub fn remove(_id: i32) -> Result<(), SemError> {
    todo!(
        "remove the set at once: every process blocked on it wakes up with an error. See \
         semctl(2)"
    )
}
