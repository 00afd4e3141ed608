//! The slides' pingpong on POSIX message queues. POSIX queues have no message types, so
//! the SysV trick of addressing replies by type is gone: the parent sends on `NAME.req`
//! and the child replies on `NAME.rep`.
//!
//! YOUR JOB: the five `todo!()`s below (`man 3 mq_open`, `mq_send`, `mq_receive`,
//! `mq_close`, `mq_unlink`; `man 7 mq_overview`); a message is
//! [`PING_BYTES`](crate::format::PING_BYTES) bytes. The rest is written for you.

use std::time::Instant;

use libc::c_int;

use crate::cli::PosixName;
use crate::error::LabError;
use crate::format::PING_INTS;
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
/// [`MAX_MSG`] messages of [`PING_BYTES`](crate::format::PING_BYTES) bytes. An existing
/// queue is an error.
pub fn create(_name: &PosixName) -> Result<Queue, LabError> {
    todo!(
        "create the new queue NAME (an existing one is an error), read-write, mode 0600, \
         for MAX_MSG messages of PING_BYTES bytes (the queue's attributes, a \
         libc::mq_attr); a failure is Err(LabError::os(\"mq_open\", name)). See mq_open(3), \
         mq_overview(7)"
    )
}

/// Removes queue `name` from the system (descriptors still open keep working).
pub fn unlink(_name: &PosixName) -> Result<(), LabError> {
    todo!(
        "remove the queue's name from the system (descriptors still open keep working); a \
         failure is Err(LabError::os(\"mq_unlink\", name)). See mq_unlink(3)"
    )
}

impl Queue {
    /// Sends one message (priority 0), blocking while the queue is full.
    pub fn send(&self, _msg: &Ping) -> Result<(), LabError> {
        todo!(
            "send MSG (PING_BYTES bytes, priority 0), blocking while the queue is full; a \
             failure is Err(LabError::os_anon(\"mq_send\")). See mq_send(3)"
        )
    }

    /// Receives the oldest message, blocking while the queue is empty.
    pub fn receive(&self) -> Result<Ping, LabError> {
        todo!(
            "receive the oldest message into a Ping; the buffer must hold at least the \
             queue's message size, or the call fails with EMSGSIZE; a failure is \
             Err(LabError::os_anon(\"mq_receive\")). See mq_receive(3)"
        )
    }

    /// Closes the descriptor (the queue itself lives on until unlinked).
    pub fn close(self) -> Result<(), LabError> {
        todo!(
            "close this descriptor (the queue lives on until unlinked); a failure is \
             Err(LabError::os_anon(\"mq_close\")). See mq_close(3)"
        )
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
