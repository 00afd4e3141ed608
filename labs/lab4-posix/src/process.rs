//! Parent and child: `fork` a child that runs a closure then `_exit`s, and wait for it.

use crate::error::LabError;

/// Forks; the child runs `child` and exits with the status it returns, the parent gets
/// the child's pid.
///
/// The programs are single-threaded, so the child may go on using everything the parent
/// had set up (queues, mappings, semaphores): that is the point of the exercise.
pub fn spawn(child: impl FnOnce() -> i32) -> Result<libc::pid_t, LabError> {
    // SAFETY: the process has a single thread, so the child starts with consistent
    // memory (no lock held by another thread).
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(LabError::os_anon("fork")),
        0 => {
            let status = child();
            // SAFETY: `_exit` ends the child at once, without running the parent's
            // exit-time work a second time; stdout is line-buffered and already flushed.
            unsafe { libc::_exit(status) }
        }
        pid => Ok(pid),
    }
}

/// Waits for `pid`; an exit status other than 0 (or a signal) is an error.
pub fn wait(pid: libc::pid_t) -> Result<(), LabError> {
    let mut status = 0;
    // SAFETY: `status` is a valid place for waitpid to write the status into.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(LabError::os_anon("waitpid"));
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(LabError::Child { status })
    }
}

/// Kills `pid` (when the parent gives up and must not wait forever) then reaps it.
pub fn kill_and_wait(pid: libc::pid_t) {
    // SAFETY: plain system calls on our own child's pid.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_childs_status_reaches_the_parent() {
        let _forking = crate::FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let ok = spawn(|| 0).unwrap();
        assert!(wait(ok).is_ok());
        let bad = spawn(|| 3).unwrap();
        match wait(bad) {
            Err(LabError::Child { status }) => assert_eq!(libc::WEXITSTATUS(status), 3),
            other => panic!("expected a child failure, got {other:?}"),
        }
    }
}
