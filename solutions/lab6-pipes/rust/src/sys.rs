//! Thin wrappers over fork, pipe, dup2, open, close, execvp and waitpid. The `child_*`
//! functions are for the child between `fork` and `execvp`: they only make
//! async-signal-safe system calls and never allocate, and they end the child with `_exit`
//! on failure.

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;

use crate::argv::Argv;

/// Which side of a `fork` we are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// The new process.
    Child,
    /// The caller, with the child's pid.
    Parent(libc::pid_t),
}

/// `fork()`. The program must be single-threaded (these are).
pub fn fork() -> io::Result<Forked> {
    // SAFETY: the programs using this are single-threaded, and the child side only calls
    // the async-signal-safe `child_*` functions before execvp or _exit.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// `pipe()`: `(read end, write end)`, both inherited across fork and exec — closing the
/// unused copies is the caller's job, on purpose.
pub fn pipe() -> io::Result<(RawFd, RawFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe() writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

/// `close()`, ignoring errors (there is nothing useful to do about them here).
pub fn close(fd: RawFd) {
    // SAFETY: closing a descriptor number has no memory-safety effect.
    unsafe { libc::close(fd) };
}

/// `waitpid(pid, &status, 0)`, retried on EINTR; returns the raw status.
pub fn wait_for(pid: libc::pid_t) -> io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid place for waitpid to write.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != -1 {
            return Ok(status);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Child only: writes bytes to stderr (best effort).
pub fn child_say(bytes: &[u8]) {
    // SAFETY: write(2) on fd 2 from a valid buffer; async-signal-safe.
    unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
}

/// Child only: ends the process at once, without running any Rust or libc exit code.
pub fn child_exit(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and ends the process.
    unsafe { libc::_exit(code) }
}

/// Child only: makes `from` the descriptor `to`, then closes `from` (unless they are the
/// same). Exits 1 on failure.
pub fn child_move_fd(from: RawFd, to: RawFd) {
    if from == to {
        return;
    }
    // SAFETY: dup2 on descriptor numbers; async-signal-safe.
    if unsafe { libc::dup2(from, to) } == -1 {
        child_say(b"dup2 failed\n");
        child_exit(1);
    }
    close(from);
}

/// Child only: opens `path` with `flags` (mode 0644 when created) as descriptor `to`.
/// On failure writes `what: cannot open` and exits 1.
pub fn child_open_as(path: &CStr, flags: libc::c_int, mode: libc::mode_t, to: RawFd) {
    // SAFETY: `path` is a NUL-terminated string built before fork; open is async-signal-safe.
    let fd = unsafe { libc::open(path.as_ptr(), flags, libc::c_uint::from(mode)) };
    if fd == -1 {
        child_say(path.to_bytes());
        child_say(b": cannot open\n");
        child_exit(1);
    }
    child_move_fd(fd, to);
}

/// Child only: `execvp`; if it returns, writes `not_found` (ENOENT) or a generic message
/// and exits 127.
pub fn child_exec(argv: &Argv, not_found: &[u8]) -> ! {
    // SAFETY: `argv` holds NUL-terminated strings and a NULL-terminated array, built
    // before fork and alive until exec replaces the process.
    unsafe { libc::execvp(argv.program(), argv.as_ptr()) };
    if io::Error::last_os_error().raw_os_error() == Some(libc::ENOENT) {
        child_say(not_found);
    } else {
        child_say(b"exec failed\n");
    }
    child_exit(127)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_carries_bytes_and_ends_when_the_write_end_is_closed() {
        let (r, w) = pipe().unwrap();
        // SAFETY: valid buffers and descriptors from pipe().
        unsafe {
            assert_eq!(libc::write(w, b"hi".as_ptr().cast(), 2), 2);
            close(w);
            let mut buf = [0u8; 4];
            assert_eq!(libc::read(r, buf.as_mut_ptr().cast(), 4), 2);
            assert_eq!(&buf[..2], b"hi");
            assert_eq!(libc::read(r, buf.as_mut_ptr().cast(), 4), 0, "end-of-file");
        }
        close(r);
    }
}
