//! Everything that can go wrong in `msgq`, worded exactly as the lab's contract prints it.

use std::fmt;
use std::io;

use crate::format::hex_key;

/// A failed `msgq` command. `main` prints it as `msgq: <message>` on stderr and exits
/// with [`MsgqError::exit_code`].
#[derive(Debug)]
pub enum MsgqError {
    /// `msgget(key, IPC_CREAT | IPC_EXCL | …)` found the key already taken (`EEXIST`).
    Exists {
        /// The key asked for.
        key: i32,
    },
    /// `msgget(key, 0)` found no queue for the key (`ENOENT`).
    NoQueue {
        /// The key asked for.
        key: i32,
    },
    /// `send` was given a message type that is not > 0.
    BadType,
    /// The text does not fit in one message of this program (8192 bytes, MSGMAX).
    TooLong {
        /// Length of the text, in bytes.
        len: usize,
    },
    /// `msgrcv(…, IPC_NOWAIT)` found no matching message (`ENOMSG`).
    NoMessage {
        /// The type asked for, as given on the command line.
        mtype: i64,
    },
    /// `ftok` failed (it fails as `stat` does: missing file, no permission…).
    Ftok {
        /// The path given.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// Any other failed system call, reported perror-style.
    Sys {
        /// The call that failed (`msgget`, `msgsnd`, `fork`…).
        call: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

impl MsgqError {
    /// A [`MsgqError::Sys`] for `call`, from the current `errno`.
    pub fn last_os(call: &'static str) -> Self {
        MsgqError::Sys {
            call,
            source: io::Error::last_os_error(),
        }
    }

    /// The process exit status for this error: 2 for "no message" (so a script can tell
    /// an empty queue from a failure), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            MsgqError::NoMessage { .. } => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for MsgqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgqError::Exists { key } => {
                write!(f, "a queue already exists for key {}", hex_key(*key))
            }
            MsgqError::NoQueue { key } => write!(f, "no queue for key {}", hex_key(*key)),
            MsgqError::BadType => write!(f, "message type must be > 0"),
            MsgqError::TooLong { len } => {
                write!(
                    f,
                    "a message carries at most 8192 bytes, this one has {len}"
                )
            }
            MsgqError::NoMessage { mtype } => write!(f, "no message of type {mtype} (ENOMSG)"),
            MsgqError::Ftok { path, source } => write!(f, "ftok {path}: {source}"),
            MsgqError::Sys { call, source } => write!(f, "{call}: {source}"),
        }
    }
}

impl std::error::Error for MsgqError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MsgqError::Ftok { source, .. } | MsgqError::Sys { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_the_contract() {
        let exists = MsgqError::Exists { key: 0x1234 };
        assert_eq!(
            exists.to_string(),
            "a queue already exists for key 0x00001234"
        );
        let none = MsgqError::NoQueue { key: -1 };
        assert_eq!(none.to_string(), "no queue for key 0xffffffff");
        let empty = MsgqError::NoMessage { mtype: -6 };
        assert_eq!(empty.to_string(), "no message of type -6 (ENOMSG)");
        assert_eq!(MsgqError::BadType.to_string(), "message type must be > 0");
    }

    #[test]
    fn only_an_empty_queue_exits_with_2() {
        assert_eq!(MsgqError::NoMessage { mtype: 99 }.exit_code(), 2);
        assert_eq!(MsgqError::NoQueue { key: 1 }.exit_code(), 1);
        assert_eq!(MsgqError::BadType.exit_code(), 1);
    }
}
