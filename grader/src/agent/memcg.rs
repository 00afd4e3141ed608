//! A memory cgroup per scenario slot, in the guest: the students' processes of a scenario
//! share a bounded part of the guest's RAM (`memory.max`), so a program that allocates
//! without bound meets the kernel's OOM killer within its own cgroup, at once, instead
//! of thrashing the whole guest (the agent's own pages included) until the global OOM
//! killer acts, seconds later, and slowing every scenario that runs beside it.
//!
//! The agent (PID 1) mounts cgroup2 at boot and enables the memory controller
//! ([`enable`]); each scenario runner (a worker, or the agent itself when the scenarios
//! run one after another) picks its slot's cgroup ([`use_slot`]); every student process
//! joins it in the forked child, before it drops to the student's uid ([`procs_path`]).
//! On the local backend nothing of this happens: the host's cgroups are not the grader's.

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

const ROOT: &str = "/sys/fs/cgroup";

/// What the kernel and the agent keep for themselves out of the guest's RAM.
const RESERVED_BYTES: u64 = 40 << 20;

/// The smallest share a slot gets, whatever the guest's size.
const MIN_SHARE_BYTES: u64 = 32 << 20;

static ENABLED: AtomicBool = AtomicBool::new(false);
static SLOT: OnceLock<(CString, u64)> = OnceLock::new();

/// Mounts cgroup2 and enables its memory controller for the slots (guest only, as PID 1).
pub(crate) fn enable() -> io::Result<()> {
    fs::create_dir_all(ROOT)?;
    let (src, dst, ty) = (c"cgroup2", c"/sys/fs/cgroup", c"cgroup2");
    // SAFETY: every pointer is a valid C string alive for the call; no data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            ty.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EBUSY) {
            return Err(err);
        }
    }
    fs::write(Path::new(ROOT).join("cgroup.subtree_control"), "+memory")?;
    ENABLED.store(true, Ordering::Relaxed);
    Ok(())
}

/// The share of each of `slots` scenarios running at once in a guest of `total` bytes.
pub(crate) fn share(total: u64, slots: u32) -> u64 {
    (total.saturating_sub(RESERVED_BYTES) / u64::from(slots.max(1))).max(MIN_SHARE_BYTES)
}

/// Makes (or reuses) slot `slot`'s cgroup with `memory.max` = `bytes` and makes it the one
/// this process's students join. Without cgroups (the local backend) it does nothing.
pub(crate) fn use_slot(slot: u32, bytes: u64) -> io::Result<()> {
    if !ENABLED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let dir = Path::new(ROOT).join(format!("slot{slot}"));
    match fs::create_dir(&dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    fs::write(dir.join("memory.max"), bytes.to_string())?;
    // One process over the limit and the kernel kills every process of the slot's
    // cgroup: the scenario is over anyway, and the memory comes back at once.
    fs::write(dir.join("memory.oom.group"), "1")?;
    let procs = CString::new(dir.join("cgroup.procs").as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let _ = SLOT.set((procs, bytes));
    Ok(())
}

/// The `cgroup.procs` file the students' processes join, if any.
pub(crate) fn procs_path() -> Option<&'static CStr> {
    SLOT.get().map(|(p, _)| p.as_c_str())
}

/// The memory the students' processes of this scenario may use together, if bounded.
pub(crate) fn limit_bytes() -> Option<u64> {
    SLOT.get().map(|(_, b)| *b)
}

/// Joins the slot's cgroup: `"0"` written to its `cgroup.procs` moves the caller.
///
/// # Safety
/// Async-signal-safe (open, write, close on a path made before fork): for a forked child.
pub(crate) unsafe fn join(procs: &CStr) -> bool {
    // SAFETY: open/write/close take a valid C string and a 1-byte buffer.
    unsafe {
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let ok = libc::write(fd, b"0".as_ptr().cast(), 1) == 1;
        libc::close(fd);
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_slot_gets_an_equal_share_of_what_is_left() {
        let mib = 1u64 << 20;
        assert_eq!(share(218 * mib, 3), 178 * mib / 3);
        assert_eq!(share(218 * mib, 1), 178 * mib);
        // A tiny guest still gives each slot a floor.
        assert_eq!(share(64 * mib, 4), MIN_SHARE_BYTES);
    }

    #[test]
    fn without_cgroups_no_slot_is_used() {
        // Tests run on the host, where `enable` is never called.
        use_slot(0, 64 << 20).unwrap();
        assert!(procs_path().is_none());
    }
}
