//! What can go wrong in the three programs, worded as they print it (the program's name
//! is prefixed by `main`).

use std::fmt;
use std::io;

/// A failed run. `main` prints it as `PROGRAM: <message>` on stderr and exits with 1.
#[derive(Debug)]
pub enum SemError {
    /// A failed system call, reported perror-style.
    Sys {
        /// The call that failed (`semget`, `semop`, `fork`…).
        call: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// Some children did not exit with status 0.
    Children {
        /// How many.
        failed: usize,
    },
}

impl SemError {
    /// A [`SemError::Sys`] for `call`, from the current `errno`. Allocation-free, so a
    /// child may use it after `fork`.
    pub fn last_os(call: &'static str) -> Self {
        SemError::Sys {
            call,
            source: io::Error::last_os_error(),
        }
    }
}

impl fmt::Display for SemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SemError::Sys { call, source } => write!(f, "{call}: {source}"),
            SemError::Children { failed } => write!(f, "{failed} child(ren) failed"),
        }
    }
}

impl std::error::Error for SemError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SemError::Sys { source, .. } => Some(source),
            SemError::Children { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_perror() {
        let e = SemError::Sys {
            call: "semop",
            source: io::Error::from_raw_os_error(libc::EIDRM),
        };
        assert!(
            e.to_string().starts_with("semop: Identifier removed"),
            "{e}"
        );
        assert_eq!(
            SemError::Children { failed: 2 }.to_string(),
            "2 child(ren) failed"
        );
    }
}
