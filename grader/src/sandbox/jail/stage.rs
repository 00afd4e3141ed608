//! What happens between `fork` and `exec` of bwrap (or of an unconfined command): its
//! descriptors put at fixed numbers and every other inherited one closed on exec, and —
//! when the grader is root — the command's mounts staged where the dedicated uid can
//! reach them (bwrap resolves its sources with the uid it runs as, and the course may
//! live under `/root`), then that uid taken. The staging happens in a private mount
//! namespace of the child: the host's mount table never changes, and the staging mounts
//! vanish with bwrap.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{JailError, Mount};

/// Where staging directories are made: it must be traversable by the dedicated uid.
const STAGE_PARENT: &str = "/tmp";
/// Their name prefix (stale ones, of a killed grader, are swept).
const STAGE_PREFIX: &str = "grader-jail-";

/// An empty host directory that the child mounts a tmpfs on, in its own mount namespace.
/// It is removed with `rmdir`, never recursively: on the host it is always empty, and
/// should a mount ever be seen through it, nothing beneath would be touched.
#[derive(Debug)]
struct StageDir {
    path: PathBuf,
}

impl StageDir {
    fn new() -> io::Result<StageDir> {
        use std::os::unix::fs::PermissionsExt;
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        sweep();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = Path::new(STAGE_PARENT)
            .join(format!("{STAGE_PREFIX}{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)?;
        // The dedicated uid must traverse it whatever the grader's umask.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(StageDir { path })
    }
}

impl Drop for StageDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Removes the (empty) staging directories of graders that are gone.
fn sweep() {
    let Ok(entries) = std::fs::read_dir(STAGE_PARENT) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(STAGE_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

pub(super) fn cstring(path: &Path) -> Result<CString, JailError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| JailError::Nul {
        what: path.display().to_string(),
    })
}

/// One staged mount: the host path bound onto `entry` inside the staging directory.
#[derive(Debug)]
struct Entry {
    host: CString,
    entry: CString,
    is_dir: bool,
}

/// A staging directory: kept (empty, on the host) until bwrap has exited, since removing
/// it would detach the child's mounts on it.
#[derive(Debug)]
pub(super) struct Staging {
    dir: StageDir,
    plan: Option<StagePlan>,
}

/// What the child binds into the staging directory.
#[derive(Debug)]
pub(super) struct StagePlan {
    root: CString,
    entries: Vec<Entry>,
}

impl Staging {
    /// Prepares the staging of `mounts`; [`Staging::sources`] are then what bwrap binds.
    pub(super) fn new(mounts: &[Mount]) -> Result<Staging, JailError> {
        let dir = StageDir::new().map_err(|source| JailError::Stage {
            path: PathBuf::from(STAGE_PARENT),
            source,
        })?;
        let mut entries = Vec::new();
        for (i, m) in mounts.iter().enumerate() {
            let meta = std::fs::metadata(&m.host).map_err(|source| JailError::Stage {
                path: m.host.clone(),
                source,
            })?;
            entries.push(Entry {
                host: cstring(&m.host)?,
                entry: cstring(&dir.path.join(i.to_string()))?,
                is_dir: meta.is_dir(),
            });
        }
        Ok(Staging {
            plan: Some(StagePlan {
                root: cstring(&dir.path)?,
                entries,
            }),
            dir,
        })
    }

    /// The child's part (taken once).
    pub(super) fn take_plan(&mut self) -> Option<StagePlan> {
        self.plan.take()
    }

    /// The path bwrap binds for each mount, in order.
    pub(super) fn sources(&self, n: usize) -> Vec<PathBuf> {
        (0..n).map(|i| self.dir.path.join(i.to_string())).collect()
    }
}

impl StagePlan {
    /// In the child: a private mount namespace, a tmpfs on the staging directory, and
    /// every mount bound into it.
    ///
    /// # Safety
    /// Child only, between fork and exec: raw system calls on data prepared before.
    unsafe fn apply(&self) -> io::Result<()> {
        let check = |rc: libc::c_int| {
            if rc != 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        let null = std::ptr::null::<libc::c_char>();
        // SAFETY: unshare/mount/mkdir/open/close with valid C strings or null pointers;
        // all async-signal-safe.
        unsafe {
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                null,
                c"/".as_ptr(),
                null,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c"tmpfs".as_ptr(),
                self.root.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"mode=0755".as_ptr().cast(),
            ))?;
            for e in &self.entries {
                if e.is_dir {
                    check(libc::mkdir(e.entry.as_ptr(), 0o755))?;
                } else {
                    let fd = libc::open(e.entry.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o644);
                    if fd < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                check(libc::mount(
                    e.host.as_ptr(),
                    e.entry.as_ptr(),
                    null,
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ))?;
            }
        }
        Ok(())
    }
}

/// Moves a descriptor to a number ≥ 10 (close-on-exec), so that the child can `dup2`
/// the set onto 3, 4, 5… without overwriting one it still needs.
pub(super) fn lift(fd: OwnedFd) -> Result<OwnedFd, JailError> {
    // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we own; -1 on error.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if new < 0 {
        return Err(JailError::Io {
            what: "move a descriptor",
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: `new` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Everything the child does before exec, prepared before the fork.
#[derive(Debug)]
pub(super) struct ChildSetup {
    /// Descriptors to put at 3, 4, 5… (in order).
    pub fds: Vec<RawFd>,
    /// Mounts to stage (root only).
    pub staging: Option<StagePlan>,
    /// Host uid/gid to become (root only).
    pub identity: Option<(u32, u32)>,
    /// Unconfined: a session of its own and these limits, set by the child itself.
    pub unconfined_limits: Option<[(libc::__rlimit_resource_t, u64); 5]>,
    /// The grader's pid, to notice having been orphaned before `PR_SET_PDEATHSIG`.
    pub parent: u32,
}

impl ChildSetup {
    /// Runs in the child between fork and exec.
    ///
    /// # Safety
    /// Child only: every call is an async-signal-safe system call on prepared data.
    pub(super) unsafe fn apply(&self) -> io::Result<()> {
        let fail = || Err(io::Error::last_os_error());
        // SAFETY: async-signal-safe system calls only (see each comment's call list).
        unsafe {
            if let Some(staging) = &self.staging {
                staging.apply()?;
            }
            if self.unconfined_limits.is_some() && libc::setsid() < 0 {
                return fail();
            }
            // dup2/close_range: descriptors 3.. are the jail's, every other inherited
            // descriptor is closed at exec.
            for (i, &fd) in self.fds.iter().enumerate() {
                if libc::dup2(fd, 3 + i as RawFd) < 0 {
                    return fail();
                }
            }
            let first = 3 + self.fds.len() as libc::c_uint;
            libc::syscall(
                libc::SYS_close_range,
                first,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            if let Some(limits) = &self.unconfined_limits {
                for &(resource, value) in limits {
                    let lim = libc::rlimit {
                        rlim_cur: value,
                        rlim_max: value,
                    };
                    if libc::setrlimit(resource, &lim) != 0 {
                        return fail();
                    }
                }
            }
            // setgroups/setgid/setuid: the dedicated identity, for good.
            if let Some((uid, gid)) = self.identity {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return fail();
                }
            }
            // prctl/getppid: killed with the grader; set after the identity change, which
            // clears it.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return fail();
            }
            if libc::getppid() as u32 != self.parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
        Ok(())
    }
}
