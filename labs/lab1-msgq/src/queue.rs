//! The System V message-queue work of the lab: ftok, msgget, msgsnd, msgrcv, msgctl.
//! This is the file you complete; everything else (parsing, printing) is done.
//!
//! A message, as the kernel sees it, is a C struct: a `long` type (always > 0 when sent)
//! followed by the payload. In Rust:
//!
//! ```text
//! #[repr(C)]
//! struct TextMsg { mtype: libc::c_long, mtext: [u8; 8192] }
//! ```
//!
//! The size you pass to `msgsnd`/`msgrcv` is the payload's only: never the `long`, and no
//! NUL terminator. Each `unsafe { libc::… }` call needs a `// SAFETY:` comment saying
//! why it is sound (clippy denies `undocumented_unsafe_blocks` in this crate). After
//! `fork`, the child may only make system calls (msgsnd, msgrcv…) and end with
//! `libc::_exit`: no allocation, no printing, no return into `main`.

use crate::error::MsgqError;

/// `ftok(path, proj)`: the key derived from the file's identity and the project id.
pub fn ftok(_path: &str, _proj: i32) -> Result<i32, MsgqError> {
    todo!(
        "compute the key of the file PATH for project PROJ: the one every program naming \
         the same existing file and project gets. A missing file makes it fail (errno as \
         stat(2) sets it): MsgqError::Ftok. The path goes to the kernel as a C string. See \
         ftok(3)"
    )
}

/// Creates a new queue for `key` (`IPC_CREAT | IPC_EXCL | 0600`); returns its id.
pub fn create(_key: i32) -> Result<i32, MsgqError> {
    todo!(
        "create a new queue for KEY, mode 0600, such that a second create of the same key \
         fails (EEXIST: MsgqError::Exists) instead of quietly reusing the queue; any other \
         error is MsgqError::last_os(\"msgget\"). See msgget(2): IPC_CREAT, IPC_EXCL"
    )
}

/// Parent and child share an `IPC_PRIVATE` queue: the child sends `text` as type 1, the
/// parent receives it, reaps the child and removes the queue. Returns the text received.
pub fn private_exchange(_text: &str) -> Result<Vec<u8>, MsgqError> {
    todo!(
        "a queue without key that parent and child share (create it before forking): the \
         child sends TEXT as one message of type 1 and _exits; the parent receives it, \
         reaps the child and removes the queue, which would outlive both otherwise. Prepare \
         the message before fork: the child only makes system calls. See msgget(2) \
         (IPC_PRIVATE), fork(2), msgsnd(2), msgrcv(2), waitpid(2), msgctl(2)"
    )
}

/// Sends `text` with type `mtype` to the existing queue of `key`; returns the size sent.
pub fn send(_key: i32, _mtype: i64, _text: &str) -> Result<usize, MsgqError> {
    todo!(
        "find the existing queue of KEY without ever creating one (ENOENT: \
         MsgqError::NoQueue); refuse a type <= 0 before anything is sent \
         (MsgqError::BadType); send TEXT as one message whose size is its bytes only: no \
         NUL, never the long (over 8192 bytes: MsgqError::TooLong). See msgget(2), \
         msgsnd(2)"
    )
}

/// Receives one message from the queue of `key` and returns its type and payload.
/// `mtype` follows `msgrcv`'s rule: 0 = the first message; > 0 = the first of that type
/// (with `except`: the first of any other type); < 0 = the first message of the LOWEST
/// type ≤ |mtype|. `nowait`: do not block when nothing matches.
pub fn receive(
    _key: i32,
    _mtype: i64,
    _nowait: bool,
    _except: bool,
) -> Result<(i64, Vec<u8>), MsgqError> {
    todo!(
        "find the queue as in send; receive one message chosen by MTYPE as the kernel \
         defines it (the rule above: pass it as given), into a payload buffer of 8192 \
         bytes; --nowait and --except are flags of the call. With nowait, nothing matching \
         (ENOMSG) is MsgqError::NoMessage. See msgrcv(2): msgtyp, msgflg"
    )
}

/// Removes the queue of `key` (`IPC_RMID`); returns the id it had.
pub fn remove(_key: i32) -> Result<i32, MsgqError> {
    todo!(
        "find the queue as in send, then remove it, so that the key has no queue any more; \
         return the id it had. See msgctl(2)"
    )
}

/// The slides' pingpong over one `IPC_PRIVATE` queue. Returns the seconds spent in the
/// parent's `msgsnd` calls (the slides time only those).
pub fn pingpong(_count: u32) -> Result<f64, MsgqError> {
    todo!(
        "the slides' program over one keyless queue shared with a forked child, messages of \
         16 c_int (crate::format::PING_INTS): the parent sends types (and data[0]) \
         2..=count, then a last message whose data[0] is 0, waiting after each for the \
         reply of type 1, and times only its sends; the child takes any type, answers each \
         with type 1 and _exits after answering data[0] == 0. Then reap the child and \
         remove the queue (README: the pingpong)"
    )
}
