//! `semcount`'s shared counter: one `int` in a private System V shared-memory segment
//! (lab 2's calls), inherited by the children across `fork`.

use std::ptr::NonNull;

use libc::c_int;

use crate::error::SemError;

/// An attached private segment holding one `int`, starting at 0.
#[derive(Debug)]
pub struct SharedCounter {
    /// The counter, in the segment.
    value: NonNull<c_int>,
}

impl SharedCounter {
    /// Creates and attaches the segment, then marks it for removal at once: it lives
    /// while attached (the children inherit the attachment) and goes with the last
    /// process, even one that crashes.
    pub fn new() -> Result<SharedCounter, SemError> {
        let size = std::mem::size_of::<c_int>();
        // SAFETY: shmget takes no pointer.
        let id = unsafe { libc::shmget(libc::IPC_PRIVATE, size, libc::IPC_CREAT | 0o600) };
        if id < 0 {
            return Err(SemError::last_os("shmget"));
        }
        // SAFETY: NULL lets the kernel choose the address.
        let addr = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        let attach_error = (addr as isize == -1).then(|| SemError::last_os("shmat"));
        // SAFETY: IPC_RMID reads no buffer.
        unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
        if let Some(e) = attach_error {
            return Err(e);
        }
        let value = NonNull::new(addr.cast::<c_int>()).ok_or_else(|| SemError::last_os("shmat"))?;
        let counter = SharedCounter { value };
        counter.set(0);
        Ok(counter)
    }

    /// The counter (volatile read: other processes change it).
    pub fn get(&self) -> i32 {
        // SAFETY: `value` points into the attached segment (at least one page) until
        // `detach` consumes `self`.
        unsafe { self.value.as_ptr().read_volatile() }
    }

    /// Sets the counter (volatile write).
    pub fn set(&self, v: i32) {
        // SAFETY: as in `get`; the segment is attached read-write.
        unsafe { self.value.as_ptr().write_volatile(v) }
    }

    /// Detaches the segment from this process.
    pub fn detach(self) -> Result<(), SemError> {
        // SAFETY: the address came from shmat; `self` is consumed, nothing reads it after.
        if unsafe { libc::shmdt(self.value.as_ptr().cast()) } < 0 {
            return Err(SemError::last_os("shmdt"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_starts_at_zero_and_keeps_what_is_set() {
        let c = SharedCounter::new().unwrap();
        assert_eq!(c.get(), 0);
        c.set(c.get() + 41);
        c.set(c.get() + 1);
        assert_eq!(c.get(), 42);
        c.detach().unwrap();
    }
}
