//! The slides' pingpong on POSIX message queues. POSIX queues have no message types, so
//! the SysV trick of addressing replies by type is gone: the parent sends on `NAME.req`
//! and the child replies on `NAME.rep`.

use std::time::Instant;

use libc::c_int;

use crate::cli::PosixName;
use crate::error::LabError;
use crate::format::{PING_BYTES, PING_INTS};
use crate::process;

/// Messages a queue holds at most (the default `/proc/sys/fs/mqueue/msg_max`, the most
/// an unprivileged process may ask for).
pub const MAX_MSG: libc::c_long = 10;

/// One pingpong message: 16 `int`s, `data[0]` carries the sequence number (0 = stop).
pub type Ping = [c_int; PING_INTS];

/// An open message queue descriptor.
#[derive(Debug)]
pub struct Queue {
    /// The descriptor `mq_open` returned.
    pub mqd: libc::mqd_t,
}

/// Creates queue `name` for this run: `O_CREAT | O_EXCL | O_RDWR`, mode 0600, at most
/// [`MAX_MSG`] messages of [`PING_BYTES`] bytes. An existing queue is an error.
pub fn create(name: &PosixName) -> Result<Queue, LabError> {
    // SAFETY: mq_attr is plain data; all-zero is a valid value before we fill it.
    let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
    attr.mq_maxmsg = MAX_MSG;
    attr.mq_msgsize = PING_BYTES as libc::c_long;
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR;
    // SAFETY: the name is a NUL-terminated string and `attr` outlives the call; the
    // variadic mode and attr arguments are the ones O_CREAT requires.
    let mqd = unsafe { libc::mq_open(name.as_c().as_ptr(), flags, 0o600 as libc::mode_t, &attr) };
    if mqd == -1 {
        return Err(LabError::os("mq_open", name));
    }
    Ok(Queue { mqd })
}

/// Removes queue `name` from the system (descriptors still open keep working).
pub fn unlink(name: &PosixName) -> Result<(), LabError> {
    // SAFETY: the name is a NUL-terminated string.
    if unsafe { libc::mq_unlink(name.as_c().as_ptr()) } < 0 {
        return Err(LabError::os("mq_unlink", name));
    }
    Ok(())
}

impl Queue {
    /// Sends one message (priority 0), blocking while the queue is full.
    pub fn send(&self, msg: &Ping) -> Result<(), LabError> {
        // SAFETY: `msg` is PING_BYTES readable bytes.
        let rc = unsafe { libc::mq_send(self.mqd, msg.as_ptr().cast(), PING_BYTES, 0) };
        if rc < 0 {
            return Err(LabError::os_anon("mq_send"));
        }
        Ok(())
    }

    /// Receives the oldest message, blocking while the queue is empty.
    pub fn receive(&self) -> Result<Ping, LabError> {
        let mut msg: Ping = [0; PING_INTS];
        // SAFETY: `msg` is PING_BYTES writable bytes, the queue's mq_msgsize.
        let n = unsafe {
            libc::mq_receive(
                self.mqd,
                msg.as_mut_ptr().cast(),
                PING_BYTES,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(LabError::os_anon("mq_receive"));
        }
        Ok(msg)
    }

    /// Closes the descriptor (the queue itself lives on until unlinked).
    pub fn close(self) -> Result<(), LabError> {
        // SAFETY: `mqd` is an open descriptor, closed once since `self` is consumed.
        if unsafe { libc::mq_close(self.mqd) } < 0 {
            return Err(LabError::os_anon("mq_close"));
        }
        Ok(())
    }
}

/// The whole pingpong: creates both queues, forks the echoing child, times the parent's
/// sends, then closes and unlinks both queues whatever happened. Returns the seconds
/// spent in `mq_send`.
pub fn pingpong(name: &PosixName, count: u32) -> Result<f64, LabError> {
    let (req_name, rep_name) = (name.with_suffix(".req"), name.with_suffix(".rep"));
    let req = create(&req_name)?;
    let rep = match create(&rep_name) {
        Ok(rep) => rep,
        Err(e) => {
            let _ = req.close();
            let _ = unlink(&req_name);
            return Err(e);
        }
    };
    let result = parent_and_child(&req, &rep, count);
    let closed = req.close().and(rep.close());
    let unlinked = unlink(&req_name).and(unlink(&rep_name));
    let total = result?;
    closed.and(unlinked).map(|()| total)
}

fn parent_and_child(req: &Queue, rep: &Queue, count: u32) -> Result<f64, LabError> {
    let pid = process::spawn(|| match echo(req, rep) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mq_pingpong (child): {e}");
            1
        }
    })?;
    match ping(req, rep, count) {
        Ok(total) => process::wait(pid).map(|()| total),
        Err(e) => {
            process::kill_and_wait(pid);
            Err(e)
        }
    }
}

/// The child: sends every request back, the stop message (`data[0] == 0`) included.
fn echo(req: &Queue, rep: &Queue) -> Result<(), LabError> {
    loop {
        let msg = req.receive()?;
        rep.send(&msg)?;
        if msg[0] == 0 {
            return Ok(());
        }
    }
}

/// The parent: sends 2..=count then 0 (stop), timing only `mq_send` as the slides do,
/// and checks each reply.
fn ping(req: &Queue, rep: &Queue, count: u32) -> Result<f64, LabError> {
    let mut total = 0.0;
    let mut msg: Ping = [0; PING_INTS];
    for seq in (2..=count as c_int).chain([0]) {
        msg[0] = seq;
        let start = Instant::now();
        req.send(&msg)?;
        total += start.elapsed().as_secs_f64();
        let back = rep.receive()?;
        if back[0] != seq {
            return Err(LabError::Echo {
                sent: seq,
                got: back[0],
            });
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(tag: &str) -> PosixName {
        PosixName::parse(&format!("/lab4_test_{tag}_{}", std::process::id())).unwrap()
    }

    #[test]
    fn a_short_pingpong_leaves_no_queue() {
        let _forking = crate::FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let name = unique("pp");
        let total = pingpong(&name, 50).unwrap();
        assert!(total > 0.0);
        for q in [".req", ".rep"] {
            match unlink(&name.with_suffix(q)) {
                Err(LabError::Sys { source, .. }) => {
                    assert_eq!(source.raw_os_error(), Some(libc::ENOENT))
                }
                other => panic!("queue {q} still there: {other:?}"),
            }
        }
    }

    #[test]
    fn an_existing_queue_is_refused_and_kept() {
        let name = unique("ex");
        let first = create(&name).unwrap();
        let err = create(&name).unwrap_err();
        assert!(err.is_exists(), "{err}");
        first.close().unwrap();
        unlink(&name).unwrap();
    }
}
