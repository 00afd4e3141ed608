//! Isolation for the agent: a private mount namespace on the host (local mode), a fresh
//! IPC namespace with its own `/dev/mqueue` and `/dev/shm` per scenario, and the process
//! settings the agent needs (subreaper, OOM immunity).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set in local mode: the agent's tmpfs mounts get a size (on the host they would
/// otherwise be bounded only by its RAM; the guest's RAM bounds them there).
static ON_HOST: AtomicBool = AtomicBool::new(false);
/// Size of the scenarios' tmpfs on the host.
const HOST_WORK_SIZE: &str = "512m";
/// Size of each scenario's `/dev/shm` on the host.
const HOST_SHM_SIZE: &str = "256m";

/// Failures to set up isolation.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    /// unshare(2) failed.
    #[error("failed to unshare {what} (the agent needs root, or unprivileged user namespaces)")]
    Unshare {
        /// The namespaces asked for.
        what: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// mount(2) / umount(2) failed.
    #[error("failed to {op} {path}")]
    Mount {
        /// What was attempted.
        op: &'static str,
        /// The mount point.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Writing a user namespace map or a /proc setting failed.
    #[error("failed to write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

fn unshare(flags: libc::c_int, what: &'static str) -> Result<(), NsError> {
    // SAFETY: unshare takes plain flags.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(NsError::Unshare {
            what,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

fn c_path(path: &Path) -> CString {
    // Paths here are the agent's own constants: no NUL byte.
    CString::new(path.as_os_str().as_bytes()).unwrap_or_default()
}

/// mount(2) with an optional source/fstype/data.
fn mount(
    op: &'static str,
    src: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<(), NsError> {
    let c = |s: Option<&str>| s.map(|s| CString::new(s).unwrap_or_default());
    let (src, fstype, data) = (c(src), c(fstype), c(data));
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    let target_c = c_path(target);
    // SAFETY: every pointer is null or a valid C string alive for the call.
    let rc = unsafe {
        libc::mount(
            ptr(&src),
            target_c.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    };
    if rc != 0 {
        let source = io::Error::last_os_error();
        return Err(NsError::Mount {
            op,
            path: target.to_path_buf(),
            source,
        });
    }
    Ok(())
}

/// Detaches whatever is mounted on `path`; not being a mount point is fine.
fn unmount(path: &Path) {
    let c = c_path(path);
    // SAFETY: umount2 reads a valid C string.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
}

fn write_file(path: &str, content: &str) -> Result<(), NsError> {
    fs::write(path, content).map_err(|source| NsError::Write {
        path: path.into(),
        source,
    })
}

/// Settings for the agent's own process: orphans of student programs come back to it
/// (so every descendant stays visible and killable), and the OOM killer spares it.
pub(crate) fn agent_process_setup() {
    // SAFETY: prctl and signal take plain integers. An inherited SIG_IGN for SIGCHLD
    // would make the kernel reap children itself and hide their exit statuses.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
    }
    // Unprivileged agents may not lower their score: not fatal, only less robust.
    let _ = fs::write("/proc/self/oom_score_adj", "-1000");
}

/// Local mode: a mount namespace of the agent's own, so its remounts of `/dev/mqueue`,
/// `/dev/shm` and the work directory never reach the host. Without root, a user
/// namespace that maps the agent's own uid/gid gives it the rights to do so.
pub(crate) fn isolate_local() -> Result<(), NsError> {
    // SAFETY: geteuid/getegid have no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == 0 {
        unshare(libc::CLONE_NEWNS, "a mount namespace")?;
    } else {
        let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWIPC;
        unshare(flags, "user, mount and IPC namespaces")?;
        write_file("/proc/self/setgroups", "deny")?;
        write_file("/proc/self/uid_map", &format!("{uid} {uid} 1\n"))?;
        write_file("/proc/self/gid_map", &format!("{gid} {gid} 1\n"))?;
        // The student's programs, in this user namespace, may create none of their own
        // (the jail's builds get the same from bwrap's --disable-userns).
        write_file("/proc/sys/user/max_user_namespaces", "0")?;
    }
    ON_HOST.store(true, Ordering::Relaxed);
    mount(
        "make private",
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )
}

/// Local mode: a private tmpfs for the scenarios' directories, so parallel agents never
/// collide and nothing is left on the host.
pub(crate) fn private_tmpfs(dir: &Path) -> Result<(), NsError> {
    fs::create_dir_all(dir).map_err(|source| NsError::Mount {
        op: "create",
        path: dir.into(),
        source,
    })?;
    let flags = libc::MS_NOSUID | libc::MS_NODEV;
    let data = format!("mode=0755,size={HOST_WORK_SIZE}");
    mount(
        "mount a tmpfs on",
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        flags,
        Some(&data),
    )
}

/// A worker running one scenario beside others: a mount namespace of its own (so its
/// `/dev/mqueue` and `/dev/shm` are not another worker's), nothing it mounts propagating
/// back, and the subreaper of its students' processes (the setting is not inherited).
pub(crate) fn worker_setup() -> Result<(), NsError> {
    unshare(libc::CLONE_NEWNS, "a mount namespace")?;
    mount(
        "make private",
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )?;
    // SAFETY: prctl takes plain integers.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    Ok(())
}

/// A new IPC namespace for the next scenario, with fresh `/dev/mqueue` and `/dev/shm`
/// mounts (the mqueue mount belongs to the namespace current when it is mounted).
pub(crate) fn fresh_ipc() -> Result<(), NsError> {
    unshare(libc::CLONE_NEWIPC, "an IPC namespace")?;
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let shm = if ON_HOST.load(Ordering::Relaxed) {
        format!("mode=1777,size={HOST_SHM_SIZE}")
    } else {
        "mode=1777".to_string()
    };
    for (dir, fstype, data) in [
        ("/dev/mqueue", "mqueue", None),
        ("/dev/shm", "tmpfs", Some(shm.as_str())),
    ] {
        let dir = Path::new(dir);
        unmount(dir);
        fs::create_dir_all(dir).map_err(|source| NsError::Mount {
            op: "create",
            path: dir.into(),
            source,
        })?;
        mount("mount", Some(fstype), dir, Some(fstype), flags, data)?;
    }
    Ok(())
}

/// `uname -r`.
pub(crate) fn kernel_release() -> String {
    // SAFETY: utsname is plain data filled by uname.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into `uts`.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return String::from("unknown");
    }
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
