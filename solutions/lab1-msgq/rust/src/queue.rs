//! The System V message-queue work of the lab: ftok, msgget, msgsnd, msgrcv, msgctl.

use std::ffi::CString;
use std::io;
use std::time::Instant;

use libc::{c_int, c_long, pid_t};

use crate::error::MsgqError;
use crate::format::PING_INTS;

/// The largest payload one message carries here: the kernel's default MSGMAX.
pub const MTEXT_MAX: usize = 8192;

/// A message as `msgsnd`/`msgrcv` see it: the `long` type first, then the payload. The
/// size given to the kernel is the payload's only, never the `mtype`'s.
#[repr(C)]
#[derive(Clone, Copy)]
struct Msg<T: Copy> {
    /// Message type, always > 0 in a sent message.
    mtype: c_long,
    /// The payload: bytes for text messages, the slides' `int data[SIZE]` for pingpong.
    mtext: T,
}

/// A text message (`struct { long mtype; char mtext[8192]; }`).
type TextMsg = Msg<[u8; MTEXT_MAX]>;

/// A pingpong message (the slides' `struct msg_t`).
type PingMsg = Msg<[c_int; PING_INTS]>;

/// Payload bytes of a pingpong message: `SIZE * sizeof(int)`.
const PING_BYTES: usize = PING_INTS * std::mem::size_of::<c_int>();

/// `ftok(path, proj)`: the key derived from the file's identity and the project id.
pub fn ftok(path: &str, proj: i32) -> Result<i32, MsgqError> {
    let failed = |source| MsgqError::Ftok {
        path: path.to_string(),
        source,
    };
    let c_path =
        CString::new(path).map_err(|e| failed(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    // SAFETY: `c_path` is a NUL-terminated string alive for the whole call; ftok only reads it.
    let key = unsafe { libc::ftok(c_path.as_ptr(), proj) };
    if key == -1 {
        return Err(failed(io::Error::last_os_error()));
    }
    Ok(key)
}

/// Creates a new queue for `key` (`IPC_CREAT | IPC_EXCL | 0600`); returns its id.
pub fn create(key: i32) -> Result<i32, MsgqError> {
    msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600).map_err(|e| match e.raw_os_error() {
        Some(libc::EEXIST) => MsgqError::Exists { key },
        _ => MsgqError::Sys {
            call: "msgget",
            source: e,
        },
    })
}

/// Parent and child share an `IPC_PRIVATE` queue: the child sends `text` as type 1, the
/// parent receives it, reaps the child and removes the queue.
pub fn private_exchange(text: &str) -> Result<Vec<u8>, MsgqError> {
    // Built before fork: the child must not allocate.
    let mut msg = text_msg(1, text.as_bytes())?;
    let id = msgget(libc::IPC_PRIVATE, 0o600).map_err(sys("msgget"))?;
    let pid = fork_or_remove(id)?;
    if pid == 0 {
        let sent = msgsnd(id, &msg, text.len());
        exit_child(if sent.is_ok() { 0 } else { 1 });
    }
    // Blocks until the child's message is there: the queue is the synchronisation.
    let got = msgrcv(id, &mut msg, MTEXT_MAX, 1, 0);
    reap(pid);
    msgctl_rmid(id).map_err(sys("msgctl"))?;
    let size = got.map_err(sys("msgrcv"))?;
    Ok(msg.mtext[..size].to_vec())
}

/// Sends `text` with type `mtype` to the existing queue of `key`; returns the size sent.
pub fn send(key: i32, mtype: i64, text: &str) -> Result<usize, MsgqError> {
    let id = open(key)?;
    if mtype <= 0 {
        return Err(MsgqError::BadType);
    }
    let msg = text_msg(mtype, text.as_bytes())?;
    // Exactly the text's bytes: no NUL, and never the `long` type.
    msgsnd(id, &msg, text.len()).map_err(sys("msgsnd"))?;
    Ok(text.len())
}

/// Receives one message from the queue of `key` and returns its type and payload.
/// `msgrcv` applies the type rule itself: 0 takes the first message, a positive type the
/// first of that type (of any other with `except`), a negative one the first message of
/// the lowest type ≤ |mtype|.
pub fn receive(
    key: i32,
    mtype: i64,
    nowait: bool,
    except: bool,
) -> Result<(i64, Vec<u8>), MsgqError> {
    let id = open(key)?;
    let mut flags = 0;
    if nowait {
        flags |= libc::IPC_NOWAIT;
    }
    if except {
        flags |= libc::MSG_EXCEPT;
    }
    let mut msg: TextMsg = Msg {
        mtype: 0,
        mtext: [0; MTEXT_MAX],
    };
    match msgrcv(id, &mut msg, MTEXT_MAX, mtype as c_long, flags) {
        Ok(size) => Ok((msg.mtype as i64, msg.mtext[..size].to_vec())),
        Err(e) if e.raw_os_error() == Some(libc::ENOMSG) => Err(MsgqError::NoMessage { mtype }),
        Err(e) => Err(MsgqError::Sys {
            call: "msgrcv",
            source: e,
        }),
    }
}

/// Removes the queue of `key` (`IPC_RMID`); returns the id it had.
pub fn remove(key: i32) -> Result<i32, MsgqError> {
    let id = open(key)?;
    msgctl_rmid(id).map_err(sys("msgctl"))?;
    Ok(id)
}

/// The slides' pingpong over one `IPC_PRIVATE` queue: the parent sends types 2..=count
/// and waits each time for the child's type-1 reply, then a `data[0] == 0` message stops
/// the child. Returns the seconds spent in the parent's `msgsnd` calls.
pub fn pingpong(count: u32) -> Result<f64, MsgqError> {
    let id = msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600).map_err(sys("msgget"))?;
    let mut m: PingMsg = Msg {
        mtype: 1,
        mtext: [0; PING_INTS],
    };
    let pid = fork_or_remove(id)?;
    if pid == 0 {
        pong(id, m);
    }
    let total_time = match ping(id, &mut m, count) {
        Ok(t) => t,
        Err(e) => return Err(abandon(id, pid, e)),
    };
    // Notify end.
    m.mtext[0] = 0;
    if let Err(e) = msgsnd(id, &m, PING_BYTES) {
        return Err(abandon(
            id,
            pid,
            MsgqError::Sys {
                call: "msgsnd",
                source: e,
            },
        ));
    }
    reap(pid);
    msgctl_rmid(id).map_err(sys("msgctl"))?;
    Ok(total_time)
}

/// The parent's half: one round trip per type 2..=count, timing only `msgsnd`.
fn ping(id: c_int, m: &mut PingMsg, count: u32) -> Result<f64, MsgqError> {
    let mut total_time = 0.0;
    for i in 2..=count {
        m.mtext[0] = i as c_int;
        m.mtype = c_long::from(i);
        let start = Instant::now();
        msgsnd(id, m, PING_BYTES).map_err(sys("msgsnd"))?;
        total_time += start.elapsed().as_secs_f64();
        msgrcv(id, m, PING_BYTES, 1, 0).map_err(sys("msgrcv"))?;
    }
    Ok(total_time)
}

/// The child's half: answer anything with type 1; stop after answering `data[0] == 0`.
/// Runs after fork, so only system calls, then `_exit`.
fn pong(id: c_int, mut m: PingMsg) -> ! {
    loop {
        // An error means the parent removed the queue (it gave up): leave.
        if msgrcv(id, &mut m, PING_BYTES, 0, 0).is_err() {
            exit_child(1);
        }
        let stop = m.mtext[0] == 0;
        m.mtype = 1;
        if msgsnd(id, &m, PING_BYTES).is_err() {
            exit_child(1);
        }
        if stop {
            exit_child(0);
        }
    }
}

/// Error path of the parent: removing the queue wakes the child (its msgrcv fails with
/// EIDRM, so it exits), then it can be reaped without hanging.
fn abandon(id: c_int, pid: pid_t, err: MsgqError) -> MsgqError {
    let _ = msgctl_rmid(id);
    reap(pid);
    err
}

/// `msgget(key, 0)`: the existing queue of `key`.
fn open(key: i32) -> Result<c_int, MsgqError> {
    msgget(key, 0).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => MsgqError::NoQueue { key },
        _ => MsgqError::Sys {
            call: "msgget",
            source: e,
        },
    })
}

/// A text message of type `mtype` holding `text`.
fn text_msg(mtype: i64, text: &[u8]) -> Result<TextMsg, MsgqError> {
    if text.len() > MTEXT_MAX {
        return Err(MsgqError::TooLong { len: text.len() });
    }
    let mut msg: TextMsg = Msg {
        mtype: mtype as c_long,
        mtext: [0; MTEXT_MAX],
    };
    msg.mtext[..text.len()].copy_from_slice(text);
    Ok(msg)
}

/// Maps an OS error to [`MsgqError::Sys`] for `call`.
fn sys(call: &'static str) -> impl Fn(io::Error) -> MsgqError {
    move |source| MsgqError::Sys { call, source }
}

fn msgget(key: i32, flags: c_int) -> io::Result<c_int> {
    // SAFETY: msgget takes two integers and touches none of our memory.
    let id = unsafe { libc::msgget(key, flags) };
    if id < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(id)
}

/// `msgsnd(id, msg, size, 0)`: sends the type and the first `size` payload bytes.
fn msgsnd<T: Copy>(id: c_int, msg: &Msg<T>, size: usize) -> io::Result<()> {
    assert!(
        size <= std::mem::size_of::<T>(),
        "payload size exceeds the message buffer"
    );
    // SAFETY: `msg` is a live #[repr(C)] { long; T } whose payload has at least `size`
    // bytes (checked above); the kernel only reads them.
    let rc = unsafe { libc::msgsnd(id, (msg as *const Msg<T>).cast(), size, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `msgrcv(id, msg, size, mtype, flags)`: returns the payload size received.
fn msgrcv<T: Copy>(
    id: c_int,
    msg: &mut Msg<T>,
    size: usize,
    mtype: c_long,
    flags: c_int,
) -> io::Result<usize> {
    assert!(
        size <= std::mem::size_of::<T>(),
        "receive size exceeds the message buffer"
    );
    // SAFETY: `msg` is a live, exclusively borrowed #[repr(C)] { long; T } with room for
    // the type and `size` payload bytes (checked above), which is all the kernel writes.
    let got = unsafe { libc::msgrcv(id, (msg as *mut Msg<T>).cast(), size, mtype, flags) };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(got as usize)
}

fn msgctl_rmid(id: c_int) -> io::Result<()> {
    // SAFETY: IPC_RMID ignores the buffer argument, so a null pointer is allowed.
    let rc = unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Forks; if that fails, removes the queue `id` so nothing is left behind.
fn fork_or_remove(id: c_int) -> Result<pid_t, MsgqError> {
    // SAFETY: this program is single-threaded, and every child path only makes
    // async-signal-safe calls (msgsnd, msgrcv, _exit).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let err = MsgqError::last_os("fork");
        let _ = msgctl_rmid(id);
        return Err(err);
    }
    Ok(pid)
}

/// Waits for the child `pid` (its exit status does not matter here).
fn reap(pid: pid_t) {
    let mut status: c_int = 0;
    // SAFETY: `status` is a valid place for waitpid to write the status to.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

/// Ends a forked child at once: no destructors, no flushing of stdio buffers copied
/// from the parent.
fn exit_child(code: c_int) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key of this test process alone: tests run in parallel, and so may other runs.
    fn test_key(n: i32) -> i32 {
        0x4c00_0000 | ((std::process::id() as i32 & 0xffff) << 8) | n
    }

    /// A fresh queue for `key`, with these (type, text) messages queued in order.
    fn queue_with(key: i32, msgs: &[(i64, &str)]) -> i32 {
        let id = create(key).expect("create a test queue");
        for (t, text) in msgs {
            send(key, *t, text).expect("queue a test message");
        }
        id
    }

    fn drain(key: i32) -> Vec<i64> {
        let mut types = Vec::new();
        while let Ok((t, _)) = receive(key, 0, true, false) {
            types.push(t);
        }
        types
    }

    #[test]
    fn negative_type_takes_the_lowest_type_not_the_first() {
        let key = test_key(1);
        queue_with(
            key,
            &[(5, "five"), (7, "seven"), (3, "three"), (12, "twelve")],
        );
        let got = receive(key, -6, true, false).unwrap();
        assert_eq!(got, (3, b"three".to_vec()));
        assert_eq!(drain(key), [5, 7, 12]);
        remove(key).unwrap();
    }

    #[test]
    fn except_skips_the_given_type_and_nowait_reports_enomsg() {
        let key = test_key(2);
        queue_with(key, &[(11, "a"), (9, "b"), (4, "c")]);
        assert_eq!(receive(key, 11, true, true).unwrap(), (9, b"b".to_vec()));
        let err = receive(key, 99, true, false).unwrap_err();
        assert!(matches!(err, MsgqError::NoMessage { mtype: 99 }), "{err}");
        assert_eq!(drain(key), [11, 4]);
        remove(key).unwrap();
    }

    #[test]
    fn create_is_exclusive_and_rm_really_removes() {
        let key = test_key(3);
        let id = create(key).unwrap();
        assert!(matches!(create(key), Err(MsgqError::Exists { .. })));
        assert_eq!(remove(key).unwrap(), id);
        assert!(matches!(send(key, 1, "x"), Err(MsgqError::NoQueue { .. })));
        assert!(matches!(remove(key), Err(MsgqError::NoQueue { .. })));
    }

    #[test]
    fn send_refuses_non_positive_types_and_sends_the_bare_text() {
        let key = test_key(4);
        queue_with(key, &[]);
        assert!(matches!(send(key, 0, "x"), Err(MsgqError::BadType)));
        assert!(matches!(send(key, -3, "x"), Err(MsgqError::BadType)));
        assert_eq!(send(key, 4, "hello world!").unwrap(), 12);
        assert_eq!(
            receive(key, 0, true, false).unwrap(),
            (4, b"hello world!".to_vec())
        );
        assert!(
            receive(key, 0, true, false).is_err(),
            "only one message was queued"
        );
        remove(key).unwrap();
    }

    #[test]
    fn private_exchange_and_pingpong_run_between_parent_and_child() {
        assert_eq!(
            private_exchange("ping from the child").unwrap(),
            b"ping from the child"
        );
        let total = pingpong(200).unwrap();
        assert!(
            total > 0.0 && total < 10.0,
            "time spent in msgsnd: {total}s"
        );
    }

    #[test]
    fn ftok_follows_the_file_and_the_project() {
        let a = ftok("/", 1).unwrap();
        assert_eq!(a, ftok("/", 1).unwrap());
        assert_ne!(a, ftok("/", 2).unwrap());
        assert!(matches!(
            ftok("/no/such/file", 1),
            Err(MsgqError::Ftok { .. })
        ));
    }
}
