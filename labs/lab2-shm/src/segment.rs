//! The System V shared-memory work of the lab: shmget, shmat, shmdt, shmctl.
//! This is the file to complete: replace each `todo!` (see README.md and the slides,
//! "Les Segments SHM"). `libc` has every call and constant (`libc::shmget`,
//! `libc::IPC_CREAT`…); `ShmError::last_os("call")` turns `errno` into an error.

#[allow(unused_imports)] // for your code
use crate::error::{stale_notice, ShmError};
#[allow(unused_imports)] // for your code
use crate::shared::{Shared, SEGMENT_SIZE};

/// Creates a fresh segment for `key` and returns its id.
pub fn create(_key: i32) -> Result<i32, ShmError> {
    todo!(
        "shmget(key, SEGMENT_SIZE, IPC_CREAT | IPC_EXCL | 0600). If it fails with EEXIST, a \
         server that died left its segment: print stale_notice(key) on stderr, find the old \
         segment (shmget(key, 0, 0)), remove it, and create again"
    )
}

/// Finds the segment a server created for `key`, without ever creating one.
pub fn open(_key: i32) -> Result<i32, ShmError> {
    todo!("shmget(key, 0, 0); ENOENT means no server runs: return ShmError::NoSegment {{ key }}")
}

/// Maps segment `id` into this process.
pub fn attach(_id: i32) -> Result<Shared, ShmError> {
    todo!(
        "shmat(id, NULL, 0): on failure it returns (void *) -1, not NULL; wrap the address \
         with Shared::from_raw"
    )
}

/// Unmaps the segment from this process (the segment itself stays).
pub fn detach(_shared: Shared) -> Result<(), ShmError> {
    todo!("shmdt(shared.as_ptr())")
}

/// Marks segment `id` for destruction.
pub fn remove(_id: i32) -> Result<(), ShmError> {
    todo!("shmctl(id, IPC_RMID, NULL)")
}
