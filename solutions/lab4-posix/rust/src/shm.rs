//! The slides' shm counter on a POSIX shared memory object: `shm_open` + `ftruncate` +
//! `mmap` replace `shmget` + `shmat`; `munmap` + `shm_unlink` replace `shmdt` + `IPC_RMID`.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use libc::{c_int, c_void};

use crate::cli::PosixName;
use crate::error::LabError;

/// Bytes of the object: two `int`s, as the slides' segment.
pub const SHM_SIZE: usize = 2 * std::mem::size_of::<c_int>();

/// How often the client looks at the counter.
const POLL: Duration = Duration::from_millis(1);

/// The object's two `int`s, mapped: `val[0]` is the run flag, `val[1]` the counter.
/// Atomics because the other process changes them behind the compiler's back (the C
/// programs use `volatile` for the same reason).
#[derive(Debug)]
pub struct Counter {
    vals: NonNull<[AtomicI32; 2]>,
}

impl Counter {
    /// Wraps a mapping (what `mmap` returned).
    ///
    /// # Safety
    /// `ptr` must be a readable and writable mapping of at least [`SHM_SIZE`] bytes that
    /// stays mapped until [`Counter::unmap`].
    pub unsafe fn from_mapping(ptr: *mut c_void) -> Counter {
        let vals = NonNull::new(ptr.cast()).expect("mmap never returns NULL on success");
        Counter { vals }
    }

    /// The start of the mapping, for `munmap`.
    pub fn as_ptr(&self) -> *mut c_void {
        self.vals.as_ptr().cast()
    }

    fn vals(&self) -> &[AtomicI32; 2] {
        // SAFETY: the mapping is valid for as long as `self` (see `from_mapping`), page
        // aligned, and AtomicI32 has the layout of an int.
        unsafe { self.vals.as_ref() }
    }

    /// The slides' starting values: running, counter at 0.
    pub fn start(&self) {
        self.vals()[1].store(0, Ordering::SeqCst);
        self.vals()[0].store(1, Ordering::SeqCst);
    }

    /// Whether the run flag is still set.
    pub fn running(&self) -> bool {
        self.vals()[0].load(Ordering::SeqCst) != 0
    }

    /// Clears the run flag: the server stops at its next tick.
    pub fn stop(&self) {
        self.vals()[0].store(0, Ordering::SeqCst);
    }

    /// The counter now.
    pub fn value(&self) -> i32 {
        self.vals()[1].load(Ordering::SeqCst)
    }

    /// Adds one to the counter.
    pub fn tick(&self) {
        self.vals()[1].fetch_add(1, Ordering::SeqCst);
    }

    /// Unmaps the object (the slides' `shmdt`).
    pub fn unmap(self) -> Result<(), LabError> {
        // SAFETY: `vals` is the start of a SHM_SIZE mapping nobody uses after this, since
        // `self` is consumed.
        if unsafe { libc::munmap(self.as_ptr(), SHM_SIZE) } < 0 {
            return Err(LabError::os_anon("munmap"));
        }
        Ok(())
    }
}

/// The server's side: creates the object (`O_CREAT | O_EXCL | O_RDWR`, mode 0600), gives
/// it its size and maps it. If the name is taken (`EEXIST`), the object is stale (left
/// by a server that died before unlinking it): print
/// `pshm_server: removing stale NAME` on stderr, unlink it and create it again, once.
pub fn create(name: &PosixName) -> Result<Counter, LabError> {
    let fd = match open_fd(name, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR) {
        Err(e) if e.is_exists() => {
            eprintln!("pshm_server: removing stale {name}");
            unlink(name)?;
            open_fd(name, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR)?
        }
        other => other?,
    };
    // A new object is empty: it gets its size before anyone maps it.
    // SAFETY: `fd` is an open descriptor of the object.
    if unsafe { libc::ftruncate(fd, SHM_SIZE as libc::off_t) } < 0 {
        let e = LabError::os("ftruncate", name);
        close_fd(fd);
        let _ = unlink(name);
        return Err(e);
    }
    map(fd, name).inspect_err(|_| {
        let _ = unlink(name);
    })
}

/// The client's side: opens the server's object without creating it (no `O_CREAT`) and
/// maps it. No object (`ENOENT`) is [`LabError::NoServer`]; an object still smaller
/// than [`SHM_SIZE`] (the server has not sized it yet) is [`LabError::NotReady`].
pub fn open(name: &PosixName) -> Result<Counter, LabError> {
    let fd = open_fd(name, libc::O_RDWR).map_err(|e| match e {
        LabError::Sys { source, .. } if source.raw_os_error() == Some(libc::ENOENT) => {
            LabError::NoServer {
                name: name.to_string(),
            }
        }
        other => other,
    })?;
    let size = match fd_size(fd, name) {
        Ok(size) => size,
        Err(e) => {
            close_fd(fd);
            return Err(e);
        }
    };
    if size < SHM_SIZE as u64 {
        close_fd(fd);
        return Err(LabError::NotReady {
            name: name.to_string(),
            size,
        });
    }
    map(fd, name)
}

/// Removes the object's name (the slides' `IPC_RMID`); mappings stay valid.
pub fn unlink(name: &PosixName) -> Result<(), LabError> {
    // SAFETY: the name is a NUL-terminated string.
    if unsafe { libc::shm_unlink(name.as_c().as_ptr()) } < 0 {
        return Err(LabError::os("shm_unlink", name));
    }
    Ok(())
}

/// The server's loop: bumps the counter every `tick` while the run flag is set.
pub fn serve(counter: &Counter, tick: Duration) {
    while counter.running() {
        std::thread::sleep(tick);
        counter.tick();
    }
}

/// The client's loop: calls `show` with every new value of the counter; at `max` clears
/// the run flag and returns.
pub fn watch(counter: &Counter, max: i32, mut show: impl FnMut(i32)) {
    let mut last = None;
    loop {
        let now = counter.value();
        if last == Some(now) {
            std::thread::sleep(POLL);
            continue;
        }
        show(now);
        last = Some(now);
        if now >= max {
            counter.stop();
            return;
        }
    }
}

fn open_fd(name: &PosixName, flags: c_int) -> Result<c_int, LabError> {
    // SAFETY: the name is a NUL-terminated string.
    let fd = unsafe { libc::shm_open(name.as_c().as_ptr(), flags, 0o600 as libc::mode_t) };
    if fd < 0 {
        return Err(LabError::os("shm_open", name));
    }
    Ok(fd)
}

fn fd_size(fd: c_int, name: &PosixName) -> Result<u64, LabError> {
    // SAFETY: stat is plain data; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` is a valid place to write to.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(LabError::os("fstat", name));
    }
    Ok(st.st_size as u64)
}

/// Maps the object shared, read-write, then closes `fd`: the mapping keeps it alive.
fn map(fd: c_int, name: &PosixName) -> Result<Counter, LabError> {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    // SAFETY: a fresh mapping chosen by the kernel; nothing of ours is overwritten.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            SHM_SIZE,
            prot,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    let mapped = if ptr == libc::MAP_FAILED {
        Err(LabError::os("mmap", name))
    } else {
        // SAFETY: `ptr` is a SHM_SIZE read-write mapping, unmapped only by `unmap`.
        Ok(unsafe { Counter::from_mapping(ptr) })
    };
    close_fd(fd);
    mapped
}

fn close_fd(fd: c_int) {
    // SAFETY: `fd` is a descriptor we opened and close once.
    unsafe { libc::close(fd) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(tag: &str) -> PosixName {
        PosixName::parse(&format!("/lab4_test_{tag}_{}", std::process::id())).unwrap()
    }

    #[test]
    fn client_without_server_gets_no_server() {
        let err = open(&unique("none")).unwrap_err();
        assert!(matches!(err, LabError::NoServer { .. }), "{err}");
    }

    #[test]
    fn server_and_client_share_the_two_ints() {
        let name = unique("pair");
        let server = create(&name).unwrap();
        server.start();
        let client = open(&name).unwrap();
        server.tick();
        assert_eq!(client.value(), 1);
        let mut seen = Vec::new();
        watch(&client, 1, |v| seen.push(v));
        assert_eq!(seen, [1]);
        assert!(!server.running());
        client.unmap().unwrap();
        server.unmap().unwrap();
        unlink(&name).unwrap();
    }

    #[test]
    fn a_stale_object_is_replaced() {
        let name = unique("stale");
        let old = create(&name).unwrap();
        old.unmap().unwrap();
        let new = create(&name).unwrap();
        new.unmap().unwrap();
        unlink(&name).unwrap();
        assert!(unlink(&name).is_err());
    }
}
