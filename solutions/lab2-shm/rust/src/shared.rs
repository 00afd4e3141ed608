//! The segment's content as both programs see it: `val[0]` is the run flag, `val[1]` the
//! counter. Every access is volatile, because the other process changes them behind
//! the compiler's back.

use std::ptr::NonNull;

use libc::{c_int, c_void};

/// Bytes the segment holds: two C `int`s (the slides' `2 * sizeof(int)`).
pub const SEGMENT_SIZE: usize = 2 * std::mem::size_of::<c_int>();

/// An attached segment of at least [`SEGMENT_SIZE`] bytes.
#[derive(Debug)]
pub struct Shared {
    /// `val[0]`; `val[1]` follows it.
    base: NonNull<c_int>,
}

impl Shared {
    /// Wraps the address `shmat` returned.
    ///
    /// # Safety
    /// `addr` must be the address of an attached segment of at least [`SEGMENT_SIZE`]
    /// bytes, readable and writable, that stays attached as long as the `Shared` lives.
    pub unsafe fn from_raw(addr: *mut c_void) -> Option<Shared> {
        NonNull::new(addr.cast::<c_int>()).map(|base| Shared { base })
    }

    /// The address to give back to `shmdt`.
    pub fn as_ptr(&self) -> *const c_void {
        self.base.as_ptr().cast_const().cast()
    }

    /// `val[0] != 0`: the server keeps counting.
    pub fn run_flag(&self) -> bool {
        self.read(0) != 0
    }

    /// `val[0] = up`.
    pub fn set_run_flag(&self, up: bool) {
        self.write(0, c_int::from(up));
    }

    /// `val[1]`: the counter.
    pub fn value(&self) -> i32 {
        self.read(1)
    }

    /// `val[1] = value`.
    pub fn set_value(&self, value: i32) {
        self.write(1, value);
    }

    fn read(&self, index: usize) -> c_int {
        debug_assert!(index < 2);
        // SAFETY: `from_raw`'s contract: at least two ints, attached while `self` lives.
        unsafe { self.base.as_ptr().add(index).read_volatile() }
    }

    fn write(&self, index: usize, value: c_int) {
        debug_assert!(index < 2);
        // SAFETY: as in `read`; the segment is writable (attached without SHM_RDONLY).
        unsafe { self.base.as_ptr().add(index).write_volatile(value) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_and_counter_are_the_two_ints() {
        let mut ints: [c_int; 2] = [0, 0];
        {
            // SAFETY: `ints` is two writable ints that outlive `shared` (this block).
            let shared = unsafe { Shared::from_raw(ints.as_mut_ptr().cast()) }.unwrap();
            shared.set_run_flag(true);
            shared.set_value(41);
            shared.set_value(shared.value() + 1);
            assert!(shared.run_flag());
            assert_eq!(shared.value(), 42);
            shared.set_run_flag(false);
        }
        assert_eq!(ints, [0, 42]);
    }

    #[test]
    fn a_null_address_is_refused() {
        // SAFETY: a null address is rejected before any access.
        assert!(unsafe { Shared::from_raw(std::ptr::null_mut()) }.is_none());
    }
}
