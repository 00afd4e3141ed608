//! The slides' semaphore alternation on a POSIX named semaphore.
//!
//! `sem_unlink` only removes the name: unlike SysV's `IPC_RMID` it wakes nobody, and a
//! child blocked in `sem_wait` would wait forever. So the parent says it is done through
//! a flag in a shared anonymous mapping, set while it holds the semaphore for the last
//! time; the child reads it each time it gets the semaphore, and leaves when it is set.
//!
//! Nor does `sem_post` hand the semaphore to the process it wakes (SysV's `semop` did, in
//! the order they queued): it raises the value and wakes a waiter, and whoever reaches
//! `sem_wait` first takes it. A holder that posts and waits again at once nearly always
//! takes it back, and the other starves. So each side, once it has posted, lets the other
//! run for `hold` before it asks again.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use crate::cli::PosixName;
use crate::error::LabError;
use crate::format::{CHILD_DONE, CHILD_HOLDING, PARENT_HOLDING};
use crate::process;

/// An open named semaphore.
#[derive(Debug)]
pub struct NamedSem {
    /// What `sem_open` returned.
    pub sem: NonNull<libc::sem_t>,
}

impl NamedSem {
    /// Creates semaphore `name` with value `value`: `O_CREAT | O_EXCL`, mode 0600.
    pub fn create(name: &PosixName, value: u32) -> Result<NamedSem, LabError> {
        let flags = libc::O_CREAT | libc::O_EXCL;
        // SAFETY: the name is a NUL-terminated string; O_CREAT takes a mode and a value.
        let sem =
            unsafe { libc::sem_open(name.as_c().as_ptr(), flags, 0o600 as libc::c_uint, value) };
        if sem == libc::SEM_FAILED {
            return Err(LabError::os("sem_open", name));
        }
        let sem = NonNull::new(sem).expect("sem_open returns SEM_FAILED, never NULL");
        Ok(NamedSem { sem })
    }

    /// P: takes the semaphore, blocking while its value is 0 (retries on EINTR).
    pub fn wait(&self) -> Result<(), LabError> {
        // SAFETY: `sem` comes from a successful sem_open and is not closed yet.
        while unsafe { libc::sem_wait(self.sem.as_ptr()) } < 0 {
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return Err(LabError::os_anon("sem_wait"));
            }
        }
        Ok(())
    }

    /// V: gives the semaphore back.
    pub fn post(&self) -> Result<(), LabError> {
        // SAFETY: as in `wait`.
        if unsafe { libc::sem_post(self.sem.as_ptr()) } < 0 {
            return Err(LabError::os_anon("sem_post"));
        }
        Ok(())
    }

    /// Closes this process's handle (the semaphore lives on until unlinked).
    pub fn close(self) -> Result<(), LabError> {
        // SAFETY: as in `wait`; `self` is consumed so the handle is not used again.
        if unsafe { libc::sem_close(self.sem.as_ptr()) } < 0 {
            return Err(LabError::os_anon("sem_close"));
        }
        Ok(())
    }
}

/// Removes the semaphore's name (`/dev/shm/sem.NAME`).
pub fn unlink(name: &PosixName) -> Result<(), LabError> {
    // SAFETY: the name is a NUL-terminated string.
    if unsafe { libc::sem_unlink(name.as_c().as_ptr()) } < 0 {
        return Err(LabError::os("sem_unlink", name));
    }
    Ok(())
}

/// The "parent is done" flag, in memory shared with the child (mapped before `fork`).
#[derive(Debug)]
pub struct DoneFlag {
    flag: NonNull<AtomicI32>,
}

impl DoneFlag {
    /// Maps one shared, anonymous `int`, cleared.
    pub fn new() -> Result<DoneFlag, LabError> {
        let (prot, flags) = (
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
        );
        let len = std::mem::size_of::<AtomicI32>();
        // SAFETY: a fresh anonymous mapping chosen by the kernel.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, -1, 0) };
        if ptr == libc::MAP_FAILED {
            return Err(LabError::os_anon("mmap"));
        }
        let flag = NonNull::new(ptr.cast()).expect("mmap never returns NULL on success");
        Ok(DoneFlag { flag })
    }

    fn get(&self) -> &AtomicI32 {
        // SAFETY: the mapping is never unmapped (it goes with the process) and is zeroed
        // page-aligned memory, a valid AtomicI32.
        unsafe { self.flag.as_ref() }
    }

    /// Marks the parent done.
    pub fn set(&self) {
        self.get().store(1, Ordering::SeqCst);
    }

    /// Whether the parent is done.
    pub fn is_set(&self) -> bool {
        self.get().load(Ordering::SeqCst) != 0
    }
}

/// The whole program: creates the semaphore (value 1), forks, then
/// - the parent, `rounds` times: takes the semaphore, prints
///   [`PARENT_HOLDING`](crate::format::PARENT_HOLDING), sleeps `hold`, gives it back,
///   sleeps `hold` again (the child's turn);
/// - the child, until it learns that the parent is done: takes the semaphore, prints
///   [`CHILD_HOLDING`](crate::format::CHILD_HOLDING), sleeps `hold`, gives it back,
///   sleeps `hold` again (the parent's turn);
///   then prints [`CHILD_DONE`](crate::format::CHILD_DONE) and exits 0;
/// - the parent waits for the child, closes and unlinks the semaphore.
///
/// The child learns that the parent is done from [`DoneFlag`].
pub fn alternate(name: &PosixName, rounds: u32, hold: Duration) -> Result<(), LabError> {
    let done = DoneFlag::new()?;
    let sem = NamedSem::create(name, 1)?;
    let run = process::spawn(|| child(&sem, &done, hold)).and_then(|pid| {
        parent(&sem, &done, rounds, hold)?;
        process::wait(pid)
    });
    let closed = sem.close();
    let unlinked = unlink(name);
    run.and(closed).and(unlinked)
}

/// The parent: `rounds` times takes the semaphore, prints, holds it, gives it back and
/// leaves the child a turn; sets the done flag during its last round.
fn parent(sem: &NamedSem, done: &DoneFlag, rounds: u32, hold: Duration) -> Result<(), LabError> {
    for round in 1..=rounds {
        sem.wait()?;
        println!("{PARENT_HOLDING}");
        std::thread::sleep(hold);
        if round == rounds {
            done.set();
            return sem.post();
        }
        sem.post()?;
        std::thread::sleep(hold);
    }
    Ok(())
}

/// The child: takes the semaphore until it sees the done flag; returns its exit status.
fn child(sem: &NamedSem, done: &DoneFlag, hold: Duration) -> i32 {
    let turn = || -> Result<bool, LabError> {
        sem.wait()?;
        if done.is_set() {
            sem.post()?;
            return Ok(false);
        }
        println!("{CHILD_HOLDING}");
        std::thread::sleep(hold);
        sem.post()?;
        // The parent's turn: posting woke it, but it has to run to take the semaphore.
        std::thread::sleep(hold);
        Ok(true)
    };
    loop {
        match turn() {
            Ok(true) => continue,
            Ok(false) => {
                println!("{CHILD_DONE}");
                return 0;
            }
            Err(e) => {
                eprintln!("psem_alt (child): {e}");
                return 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(tag: &str) -> PosixName {
        PosixName::parse(&format!("/lab4_test_{tag}_{}", std::process::id())).unwrap()
    }

    #[test]
    fn alternation_ends_and_removes_the_semaphore() {
        let _forking = crate::FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let name = unique("alt");
        alternate(&name, 2, Duration::from_millis(5)).unwrap();
        let err = unlink(&name).unwrap_err();
        assert!(
            matches!(err, LabError::Sys { ref source, .. }
            if source.raw_os_error() == Some(libc::ENOENT)),
            "{err}"
        );
    }

    #[test]
    fn a_taken_name_is_refused() {
        let name = unique("taken");
        let sem = NamedSem::create(&name, 0).unwrap();
        assert!(NamedSem::create(&name, 1).unwrap_err().is_exists());
        sem.post().unwrap();
        sem.wait().unwrap();
        sem.close().unwrap();
        unlink(&name).unwrap();
    }
}
