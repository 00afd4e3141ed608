//! Everything that can go wrong in the four programs, worded as the lab's contract prints
//! it: `main` writes `PROGRAM: <message>` on stderr and exits with status 1.

use std::fmt;
use std::io;

use crate::cli::PosixName;

/// A failed run of one of the programs.
#[derive(Debug)]
pub enum LabError {
    /// `shm_open` without `O_CREAT` found no object: the client was started first.
    NoServer {
        /// The object asked for.
        name: String,
    },
    /// The object exists but the server has not given it its size yet.
    NotReady {
        /// The object.
        name: String,
        /// Its size now, in bytes.
        size: u64,
    },
    /// The pingpong child answered with another message than the one sent.
    Echo {
        /// `data[0]` sent.
        sent: i32,
        /// `data[0]` received.
        got: i32,
    },
    /// The child process failed (its `waitpid` status).
    Child {
        /// Raw wait status.
        status: i32,
    },
    /// A failed system call, reported perror-style with the object's name.
    Sys {
        /// The call (`mq_open`, `shm_open`, `sem_wait`, `fork`…).
        call: &'static str,
        /// The POSIX object it was about, if any.
        name: Option<String>,
        /// The OS error.
        source: io::Error,
    },
}

impl LabError {
    /// A [`LabError::Sys`] for `call` on `name`, from the current `errno`.
    pub fn os(call: &'static str, name: &PosixName) -> Self {
        LabError::Sys {
            call,
            name: Some(name.to_string()),
            source: io::Error::last_os_error(),
        }
    }

    /// A [`LabError::Sys`] for a call about no named object (`fork`, `mmap`…).
    pub fn os_anon(call: &'static str) -> Self {
        LabError::Sys {
            call,
            name: None,
            source: io::Error::last_os_error(),
        }
    }

    /// Whether this is the error of an `O_EXCL` create that found the name taken.
    pub fn is_exists(&self) -> bool {
        matches!(self, LabError::Sys { source, .. } if source.kind() == io::ErrorKind::AlreadyExists)
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::NoServer { name } => write!(
                f,
                "shm_open {name}: No such file or directory (is pshm_server running?)"
            ),
            LabError::NotReady { name, size } => {
                write!(
                    f,
                    "{name} holds {size} bytes, not 8 yet (is pshm_server ready?)"
                )
            }
            LabError::Echo { sent, got } => write!(f, "sent {sent}, got {got} back"),
            LabError::Child { status } => write!(f, "the child failed (wait status {status})"),
            LabError::Sys {
                call,
                name: Some(name),
                source,
            } => {
                write!(f, "{call} {name}: {source}")
            }
            LabError::Sys {
                call,
                name: None,
                source,
            } => write!(f, "{call}: {source}"),
        }
    }
}

impl std::error::Error for LabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LabError::Sys { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object_and_the_reason() {
        let e = LabError::NoServer {
            name: "/aise_x".into(),
        };
        assert_eq!(
            e.to_string(),
            "shm_open /aise_x: No such file or directory (is pshm_server running?)"
        );
        let e = LabError::Sys {
            call: "mq_open",
            name: Some("/q.req".into()),
            source: io::Error::from_raw_os_error(libc::EEXIST),
        };
        assert!(
            e.to_string().starts_with("mq_open /q.req: File exists"),
            "{e}"
        );
        assert!(e.is_exists());
        assert!(!LabError::Child { status: 256 }.is_exists());
    }
}
