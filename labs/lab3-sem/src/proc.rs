//! Processes and output: fork a child that runs a function then `_exit`s, reap children,
//! print a line with one `write(2)`. Children only call what is async-signal-safe.

use crate::error::SemError;

/// Forks; the child runs `child` and `_exit`s with what it returns; the parent gets the
/// child's pid. `child` must only make async-signal-safe calls (no allocation, no
/// `println!`): use [`say`] to print.
pub fn spawn(child: impl FnOnce() -> i32) -> Result<libc::pid_t, SemError> {
    // SAFETY: the child only runs `child`, which by this function's contract is
    // async-signal-safe, then `_exit`s without running Rust or libc exit handlers.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SemError::last_os("fork"));
    }
    if pid == 0 {
        let status = child();
        // SAFETY: `_exit` is async-signal-safe and never returns.
        unsafe { libc::_exit(status) }
    }
    Ok(pid)
}

/// Waits for every child; fails if any did not exit with status 0.
pub fn wait_all() -> Result<(), SemError> {
    let mut failed = 0;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid place for the kernel to write the status.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ECHILD) => break,
                _ => {
                    return Err(SemError::Sys {
                        call: "waitpid",
                        source: e,
                    })
                }
            }
        }
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            failed += 1;
        }
    }
    match failed {
        0 => Ok(()),
        failed => Err(SemError::Children { failed }),
    }
}

/// Writes `line` (with its `\n`) to stdout in one `write(2)`: unbuffered, so the lines of
/// two processes sharing stdout come out in the order they were written, and
/// async-signal-safe, so a forked child may use it.
pub fn say(line: &str) {
    let mut rest = line.as_bytes();
    while !rest.is_empty() {
        // SAFETY: the pointer and length describe `rest`, alive for the call.
        let n = unsafe { libc::write(libc::STDOUT_FILENO, rest.as_ptr().cast(), rest.len()) };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// Gives the CPU to another runnable process, if any (`sched_yield`).
pub fn yield_now() {
    // SAFETY: sched_yield takes no argument and cannot fail on Linux.
    unsafe { libc::sched_yield() };
}

/// Sleeps until a signal ends the process.
pub fn pause_forever() -> ! {
    loop {
        // SAFETY: pause takes no argument; it returns only after a caught signal.
        unsafe { libc::pause() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Tests that fork and reap any child serialise here.
    static FORKS: Mutex<()> = Mutex::new(());

    #[test]
    fn a_child_exit_status_reaches_wait_all() {
        let _guard = FORKS.lock().unwrap_or_else(|e| e.into_inner());
        spawn(|| 0).unwrap();
        assert!(wait_all().is_ok());
        spawn(|| 3).unwrap();
        spawn(|| 0).unwrap();
        assert!(matches!(wait_all(), Err(SemError::Children { failed: 1 })));
    }
}
