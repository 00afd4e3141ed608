//! The System V semaphore work of the lab: semget, semctl, semop.

use libc::{c_int, c_short, c_ushort};

use crate::error::SemError;

/// Creates a private set of one semaphore (`IPC_PRIVATE`, mode `0600`) and sets it to 1.
pub fn create_private() -> Result<i32, SemError> {
    let id = semget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600)?;
    set_to_one(id)?;
    Ok(id)
}

/// The set of one semaphore for `key`: created and set to 1 if no set has the key yet,
/// opened as it is otherwise. `IPC_EXCL` tells the creator apart, so that a second
/// process never resets a semaphore someone holds.
pub fn open_or_create(key: i32) -> Result<i32, SemError> {
    match semget(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) {
        Ok(id) => {
            set_to_one(id)?;
            Ok(id)
        }
        Err(SemError::Sys { source, .. }) if source.raw_os_error() == Some(libc::EEXIST) => {
            semget(key, 0)
        }
        Err(e) => Err(e),
    }
}

/// P: waits until the semaphore is positive, then takes one unit. `SEM_UNDO`: the kernel
/// gives the unit back if this process dies before `v`.
pub fn p(id: i32) -> Result<(), SemError> {
    semop_one(id, -1)
}

/// V: gives one unit back (and the kernel's undo record with it).
pub fn v(id: i32) -> Result<(), SemError> {
    semop_one(id, 1)
}

/// Removes the set at once; processes blocked in `semop` on it wake up with `EIDRM`.
pub fn remove(id: i32) -> Result<(), SemError> {
    // SAFETY: IPC_RMID takes no fourth argument.
    if unsafe { libc::semctl(id, 0, libc::IPC_RMID) } < 0 {
        return Err(SemError::last_os("semctl"));
    }
    Ok(())
}

/// `semget` of a one-semaphore set.
fn semget(key: i32, flags: c_int) -> Result<i32, SemError> {
    // SAFETY: semget takes no pointer.
    let id = unsafe { libc::semget(key, 1, flags) };
    if id < 0 {
        return Err(SemError::last_os("semget"));
    }
    Ok(id)
}

/// `semctl(SETALL)` to 1 (the slides' `unsigned short val = 1`); removes the set on
/// failure, since nobody could use a semaphore stuck at 0.
fn set_to_one(id: i32) -> Result<(), SemError> {
    let mut values: [c_ushort; 1] = [1];
    // SAFETY: SETALL reads one unsigned short per semaphore of the set (one here) from
    // the array passed as the fourth argument, alive for the call.
    if unsafe { libc::semctl(id, 0, libc::SETALL, values.as_mut_ptr()) } < 0 {
        let e = SemError::last_os("semctl");
        let _ = remove(id);
        return Err(e);
    }
    Ok(())
}

/// One operation on semaphore 0, undone by the kernel if the process dies.
fn semop_one(id: i32, delta: c_short) -> Result<(), SemError> {
    let mut op = libc::sembuf {
        sem_num: 0,
        sem_op: delta,
        sem_flg: libc::SEM_UNDO as c_short,
    };
    loop {
        // SAFETY: `op` is one valid sembuf, alive for the call; nsops = 1.
        if unsafe { libc::semop(id, &mut op, 1) } == 0 {
            return Ok(());
        }
        let e = SemError::last_os("semop");
        // A signal handler interrupting the wait is not a reason to give up.
        if !matches!(&e, SemError::Sys { source, .. } if source.raw_os_error() == Some(libc::EINTR))
        {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(id: i32) -> c_int {
        // SAFETY: GETVAL takes no fourth argument.
        unsafe { libc::semctl(id, 0, libc::GETVAL) }
    }

    #[test]
    fn p_and_v_move_the_value_between_one_and_zero() {
        let id = create_private().unwrap();
        assert_eq!(value(id), 1);
        p(id).unwrap();
        assert_eq!(value(id), 0);
        v(id).unwrap();
        assert_eq!(value(id), 1);
        remove(id).unwrap();
        assert!(p(id).is_err(), "the set is gone");
    }

    #[test]
    fn the_second_opener_gets_the_same_set_without_resetting_it() {
        let key = 0x5300_0000 | (std::process::id() as i32 & 0xffff);
        let id = open_or_create(key).unwrap();
        p(id).unwrap();
        assert_eq!(open_or_create(key).unwrap(), id);
        assert_eq!(value(id), 0, "still held");
        remove(id).unwrap();
    }
}
