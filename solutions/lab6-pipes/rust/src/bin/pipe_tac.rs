//! `pipe_tac [WORD...]`: the shell's `printf "Salut Tout Le Monde " | tac -s " "` by hand
//! (slides "Chainer deux Commandes"): one pipe, two children, each pipe end put in place
//! with `dup2`. With words on the command line, they replace the slides' text (each one
//! followed by a space), so `tac` prints them in reverse order. Exits 0 once both children
//! have ended.

use std::io;
use std::os::fd::RawFd;

use pipes_lab::sys::{self, Forked};
use pipes_lab::{die, restore_sigpipe, Argv};

/// The slides' text, used when no word is given.
const SLIDES_TEXT: &str = "Salut Tout Le Monde ";

fn main() {
    restore_sigpipe();
    let words: Vec<String> = std::env::args().skip(1).collect();
    let text = if words.is_empty() {
        SLIDES_TEXT.to_string()
    } else {
        words.iter().map(|w| format!("{w} ")).collect()
    };
    let writer = Argv::new(&["printf", "%s", &text]).unwrap_or_else(|e| die("printf", e));
    let reader = Argv::new(&["tac", "-s", " "]).unwrap_or_else(|e| die("tac", e));
    pipe_through(&writer, &reader).unwrap_or_else(|e| die("pipe_tac", e));
}

/// Runs `writer | reader` and waits for both.
fn pipe_through(writer: &Argv, reader: &Argv) -> io::Result<()> {
    let (read_end, write_end) = sys::pipe()?;
    let ends = [read_end, write_end];
    let children = spawn(writer, ends, write_end, libc::STDOUT_FILENO)
        .and_then(|w| Ok((w, spawn(reader, ends, read_end, libc::STDIN_FILENO)?)));
    // The parent uses neither end: tac only sees end-of-file once no process holds the
    // write end, this one included.
    sys::close(read_end);
    sys::close(write_end);
    let (w, r) = children?;
    sys::wait_for(w)?;
    sys::wait_for(r)?;
    Ok(())
}

/// Forks a child running `argv` with pipe end `end` as its descriptor `as_fd`; the child
/// closes both original pipe descriptors.
fn spawn(argv: &Argv, ends: [RawFd; 2], end: RawFd, as_fd: RawFd) -> io::Result<libc::pid_t> {
    match sys::fork()? {
        Forked::Child => {
            // SAFETY: dup2 on descriptor numbers, async-signal-safe.
            if unsafe { libc::dup2(end, as_fd) } == -1 {
                sys::child_say(b"pipe_tac: dup2 failed\n");
                sys::child_exit(1);
            }
            sys::close(ends[0]);
            sys::close(ends[1]);
            sys::child_exec(argv, b"pipe_tac: command not found\n")
        }
        Forked::Parent(pid) => Ok(pid),
    }
}
