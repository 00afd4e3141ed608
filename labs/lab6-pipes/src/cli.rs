//! Fatal error messages (the support crate's, the same way in every program), and the
//! signal set-up every program starting other programs needs.

pub use lab_support::{die, program};

/// Puts SIGPIPE back to its default action (terminate the process). The Rust runtime
/// ignores SIGPIPE at startup, and an ignored signal stays ignored across `execvp`: without
/// this, in `yes | head -n 1` the program `yes` would get EPIPE errors ("Broken pipe") when
/// `head` exits instead of quietly ending as it does under any shell.
pub fn restore_sigpipe() {
    // SAFETY: installs the default action, no handler; called at the start of main, before
    // any thread or child exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}
