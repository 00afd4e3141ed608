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
        "turn the path into a std::ffi::CString, call libc::ftok; on -1 return \
         MsgqError::Ftok with std::io::Error::last_os_error()"
    )
}

/// Creates a new queue for `key` (`IPC_CREAT | IPC_EXCL | 0600`); returns its id.
pub fn create(_key: i32) -> Result<i32, MsgqError> {
    todo!(
        "libc::msgget(key, IPC_CREAT | IPC_EXCL | 0o600); errno EEXIST means the key is \
         taken: return MsgqError::Exists, any other error MsgqError::last_os(\"msgget\")"
    )
}

/// Parent and child share an `IPC_PRIVATE` queue: the child sends `text` as type 1, the
/// parent receives it, reaps the child and removes the queue. Returns the text received.
pub fn private_exchange(_text: &str) -> Result<Vec<u8>, MsgqError> {
    todo!(
        "build the message first, then msgget(IPC_PRIVATE, 0o600), fork; child: msgsnd of \
         text.len() bytes, then libc::_exit; parent: msgrcv of type 1 (it blocks until the \
         child has sent), waitpid, msgctl(id, IPC_RMID, null)"
    )
}

/// Sends `text` with type `mtype` to the existing queue of `key`; returns the size sent.
pub fn send(_key: i32, _mtype: i64, _text: &str) -> Result<usize, MsgqError> {
    todo!(
        "msgget(key, 0): ENOENT means no queue (MsgqError::NoQueue); a type <= 0 is \
         refused (MsgqError::BadType) before anything is sent; then msgsnd with a size of \
         exactly text.len() (more than 8192 bytes: MsgqError::TooLong)"
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
        "msgget(key, 0) as in send; msgrcv(id, &mut msg, 8192, mtype, flags) with \
         flags IPC_NOWAIT and/or MSG_EXCEPT: pass mtype unchanged, the kernel applies the \
         rule; errno ENOMSG (only with IPC_NOWAIT) is MsgqError::NoMessage"
    )
}

/// Removes the queue of `key` (`IPC_RMID`); returns the id it had.
pub fn remove(_key: i32) -> Result<i32, MsgqError> {
    todo!("msgget(key, 0) as in send, then msgctl(id, IPC_RMID, null)")
}

/// The slides' pingpong over one `IPC_PRIVATE` queue. Returns the seconds spent in the
/// parent's `msgsnd` calls (the slides time only those).
pub fn pingpong(_count: u32) -> Result<f64, MsgqError> {
    todo!(
        "messages of 16 c_int (crate::format::PING_INTS); msgget(IPC_PRIVATE, IPC_CREAT | \
         0o600); fork; child: loop {{ msgrcv type 0; reply with type 1; stop after \
         answering data[0] == 0 }} then _exit; parent: for i in 2..=count {{ data[0] = i, \
         type i, time the msgsnd, msgrcv type 1 }}, then send data[0] = 0, waitpid, \
         IPC_RMID"
    )
}
