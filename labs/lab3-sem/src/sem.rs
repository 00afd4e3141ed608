//! The System V semaphore work of the lab: semget, semctl, semop.
//! This is the file to complete: replace each `todo!` (see README.md and the slides,
//! "Les Sémaphores"). `libc` has every call, constant and struct (`libc::semget`,
//! `libc::SETALL`, `libc::sembuf`…); `SemError::last_os("call")` turns `errno` into an
//! error without allocating, so `p` and `v` may run in a forked child.

use crate::error::SemError;

/// Creates a private set of one semaphore (`IPC_PRIVATE`, mode `0600`) and sets it to 1.
pub fn create_private() -> Result<i32, SemError> {
    todo!(
        "semget(IPC_PRIVATE, 1, IPC_CREAT | 0600), then semctl(id, 0, SETALL, &one) with \
         one: u16 = 1 (the slides' `unsigned short val = 1`); remove the set if SETALL fails"
    )
}

/// The set of one semaphore for `key`: created and set to 1 if no set has the key yet,
/// opened as it is otherwise.
pub fn open_or_create(_key: i32) -> Result<i32, SemError> {
    todo!(
        "semget(key, 1, IPC_CREAT | IPC_EXCL | 0600): success means you created it, so set \
         it to 1 (SETALL); EEXIST means another process did, so just semget(key, 1, 0)"
    )
}

/// P: waits until the semaphore is positive, then takes one unit. The kernel gives the
/// unit back if this process dies before `v`.
pub fn p(_id: i32) -> Result<(), SemError> {
    todo!("semop(id, &mut op, 1) with op = sembuf {{ sem_num: 0, sem_op: -1, sem_flg: SEM_UNDO }}")
}

/// V: gives one unit back (and the kernel's undo record with it).
pub fn v(_id: i32) -> Result<(), SemError> {
    todo!("semop(id, &mut op, 1) with op = sembuf {{ sem_num: 0, sem_op: 1, sem_flg: SEM_UNDO }}")
}

/// Removes the set at once; processes blocked in `semop` on it wake up with an error.
pub fn remove(_id: i32) -> Result<(), SemError> {
    todo!("semctl(id, 0, IPC_RMID)")
}
