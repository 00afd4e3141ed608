//! What can go wrong in `shm_server` and `shm_client`, worded as the lab's contract prints
//! it (the program's name is prefixed by `main`).

use std::fmt;
use std::io;

use crate::cli::hex_key;

/// A failed run. `main` prints it as `PROGRAM: <message>` on stderr and exits with 1.
#[derive(Debug)]
pub enum ShmError {
    /// `shmget(key, 0, 0)` found no segment for the key (`ENOENT`): no server runs.
    NoSegment {
        /// The key asked for.
        key: i32,
    },
    /// Any other failed system call, reported perror-style.
    Sys {
        /// The call that failed (`shmget`, `shmat`, …).
        call: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

impl ShmError {
    /// A [`ShmError::Sys`] for `call`, from the current `errno`.
    pub fn last_os(call: &'static str) -> Self {
        ShmError::Sys {
            call,
            source: io::Error::last_os_error(),
        }
    }
}

impl fmt::Display for ShmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShmError::NoSegment { key } => write!(
                f,
                "no segment for key {} (is the server running?)",
                hex_key(*key)
            ),
            ShmError::Sys { call, source } => write!(f, "{call}: {source}"),
        }
    }
}

impl std::error::Error for ShmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ShmError::Sys { source, .. } => Some(source),
            ShmError::NoSegment { .. } => None,
        }
    }
}

/// The line `shm_server` prints on stderr before removing a segment a dead server left.
pub fn stale_notice(key: i32) -> String {
    format!(
        "shm_server: removing stale segment for key {}",
        hex_key(key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_the_contract() {
        let none = ShmError::NoSegment { key: 0x4e1f };
        assert_eq!(
            none.to_string(),
            "no segment for key 0x00004e1f (is the server running?)"
        );
        assert_eq!(
            stale_notice(0x4e1f),
            "shm_server: removing stale segment for key 0x00004e1f"
        );
        let sys = ShmError::Sys {
            call: "shmat",
            source: io::Error::from_raw_os_error(libc::EINVAL),
        };
        assert!(sys.to_string().starts_with("shmat: Invalid argument"));
    }
}
