//! The System V shared-memory work of the lab: shmget, shmat, shmdt, shmctl.

use libc::c_int;

use crate::error::{stale_notice, ShmError};
use crate::shared::{Shared, SEGMENT_SIZE};

/// Creates a fresh segment for `key` (`IPC_CREAT | IPC_EXCL | 0600`) and returns its id.
///
/// `IPC_EXCL` makes `shmget` fail with `EEXIST` when the key is taken; for this server that
/// can only be a segment left by a server that died before its `IPC_RMID`. Such a stale
/// segment is announced on stderr, removed, and a fresh one created in its place.
pub fn create(key: i32) -> Result<i32, ShmError> {
    let flags = libc::IPC_CREAT | libc::IPC_EXCL | 0o600;
    match shmget(key, SEGMENT_SIZE, flags) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            eprintln!("{}", stale_notice(key));
            let stale = shmget(key, 0, 0).map_err(sys("shmget"))?;
            remove(stale)?;
            shmget(key, SEGMENT_SIZE, flags).map_err(sys("shmget"))
        }
        created => created.map_err(sys("shmget")),
    }
}

/// Finds the segment a server created for `key`: size 0 and no `IPC_CREAT`, so the
/// client never creates one itself.
pub fn open(key: i32) -> Result<i32, ShmError> {
    shmget(key, 0, 0).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => ShmError::NoSegment { key },
        _ => ShmError::Sys {
            call: "shmget",
            source: e,
        },
    })
}

/// Maps segment `id` into this process, at an address the kernel chooses.
pub fn attach(id: i32) -> Result<Shared, ShmError> {
    // SAFETY: shmat takes no pointer from us (NULL: the kernel picks the address).
    let addr = unsafe { libc::shmat(id, std::ptr::null(), 0) };
    // shmat reports errors with (void *) -1, not NULL.
    if addr as isize == -1 {
        return Err(ShmError::last_os("shmat"));
    }
    // SAFETY: `addr` is a fresh read-write attachment of segment `id`, which is at least
    // SEGMENT_SIZE bytes (ours, or checked by the kernel against the size we asked for);
    // it stays attached until `detach` consumes the `Shared`.
    unsafe { Shared::from_raw(addr) }.ok_or_else(|| ShmError::last_os("shmat"))
}

/// Unmaps the segment from this process (the segment itself stays).
pub fn detach(shared: Shared) -> Result<(), ShmError> {
    // SAFETY: the address came from shmat and `shared` is consumed: no access follows.
    if unsafe { libc::shmdt(shared.as_ptr()) } < 0 {
        return Err(ShmError::last_os("shmdt"));
    }
    Ok(())
}

/// Marks segment `id` for destruction: it goes once the last process has detached.
pub fn remove(id: i32) -> Result<(), ShmError> {
    // SAFETY: IPC_RMID reads no buffer; NULL is what the man page asks for.
    if unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) } < 0 {
        return Err(ShmError::last_os("shmctl"));
    }
    Ok(())
}

/// `shmget`, with the OS error on failure.
fn shmget(key: i32, size: usize, flags: c_int) -> std::io::Result<i32> {
    // SAFETY: shmget takes no pointer; any key, size and flags are valid to ask for.
    let id = unsafe { libc::shmget(key, size, flags) };
    if id < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(id)
}

/// Wraps an OS error of `call` into [`ShmError::Sys`].
fn sys(call: &'static str) -> impl Fn(std::io::Error) -> ShmError {
    move |source| ShmError::Sys { call, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key no other test or user is likely to hold: derived from the pid and a tag.
    fn test_key(tag: i32) -> i32 {
        0x5000_0000 | ((std::process::id() as i32 & 0xffff) << 8) | tag
    }

    #[test]
    fn a_missing_segment_is_reported_as_no_server() {
        let err = open(test_key(1)).unwrap_err();
        assert!(matches!(err, ShmError::NoSegment { .. }), "{err}");
    }

    #[test]
    fn the_counter_crosses_two_attachments_and_the_segment_goes_at_removal() {
        let key = test_key(2);
        let id = create(key).unwrap();
        let (a, b) = (attach(id).unwrap(), attach(open(key).unwrap()).unwrap());
        a.set_value(7);
        assert_eq!(b.value(), 7);
        detach(a).unwrap();
        detach(b).unwrap();
        remove(id).unwrap();
        assert!(matches!(open(key), Err(ShmError::NoSegment { .. })));
    }

    #[test]
    fn a_stale_segment_is_replaced_by_a_fresh_one() {
        let key = test_key(3);
        let stale = create(key).unwrap();
        let fresh = create(key).unwrap();
        assert_ne!(stale, fresh);
        assert_eq!(open(key).unwrap(), fresh);
        remove(fresh).unwrap();
    }
}
