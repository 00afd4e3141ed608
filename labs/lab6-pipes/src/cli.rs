//! Fatal error messages, the same way in every program, and the signal set-up every
//! program starting other programs needs.

use std::fmt::Display;
use std::process::exit;

/// The program's name as invoked (for messages).
pub fn program() -> String {
    let argv0 = std::env::args().next().unwrap_or_default();
    argv0.rsplit('/').next().unwrap_or("?").to_string()
}

/// Prints `PROGRAM: WHAT: ERR` on stderr and exits 1 (what `perror` then `exit(1)` do in C).
pub fn die(what: impl Display, err: impl Display) -> ! {
    eprintln!("{}: {what}: {err}", program());
    exit(1)
}

/// Puts SIGPIPE back to its default action (terminate the process). The Rust runtime
/// ignores SIGPIPE at startup, and an ignored signal stays ignored across `execvp`: without
/// this, in `yes | head -n 1` the program `yes` would get EPIPE errors ("Broken pipe") when
/// `head` exits instead of quietly ending as it does under any shell.
pub fn restore_sigpipe() {
    // SAFETY: installs the default action, no handler; called at the start of main, before
    // any thread or child exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}
