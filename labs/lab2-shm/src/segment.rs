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
        "create a new segment of SEGMENT_SIZE bytes for KEY, mode 0600, that must be new: \
         creating fails when the key is taken. A taken key is a segment left by a server \
         that died: print stale_notice(key) on stderr, remove that old segment and create \
         afresh. See shmget(2) (IPC_CREAT, IPC_EXCL, EEXIST), shmctl(2)"
    )
}

/// Finds the segment a server created for `key`, without ever creating one.
pub fn open(_key: i32) -> Result<i32, ShmError> {
    todo!(
        "find the segment of KEY without ever creating one; none (ENOENT) means no server \
         runs: ShmError::NoSegment {{ key }}. See shmget(2): which size and flags only look \
         a segment up?"
    )
}

/// Maps segment `id` into this process.
pub fn attach(_id: i32) -> Result<Shared, ShmError> {
    todo!(
        "map segment ID into this process and wrap the address with Shared::from_raw; mind \
         what the call returns on failure (it is not NULL). See shmat(2)"
    )
}

/// Unmaps the segment from this process (the segment itself stays).
pub fn detach(_shared: Shared) -> Result<(), ShmError> {
    todo!("unmap the segment from this process (the segment itself stays). See shmdt(2)")
}

/// Marks segment `id` for destruction.
pub fn remove(_id: i32) -> Result<(), ShmError> {
    todo!(
        "mark the segment for destruction: it goes once every process has detached. See \
         shmctl(2)"
    )
}
