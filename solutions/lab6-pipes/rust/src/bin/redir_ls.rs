//! `redir_ls`: the shell's `ls -la > out.dat` by hand (slides "Redirection de sortie dans un
//! fichier"): a child opens `./out.dat` (created with mode 0600), puts it in place of its
//! standard output with `dup2` and becomes `ls -la`; the parent waits for it. Prints nothing
//! itself; exits 0 once `ls` has ended.

use std::ffi::CStr;
use std::io;

use pipes_lab::sys::{self, Forked};
use pipes_lab::{die, restore_sigpipe, Argv};

/// Where the listing goes, relative to the current directory.
const OUT_FILE: &CStr = c"./out.dat";

fn main() {
    restore_sigpipe();
    let argv = Argv::new(&["ls", "-la"]).unwrap_or_else(|e| die("ls", e));
    run_into_file(&argv, OUT_FILE).unwrap_or_else(|e| die("redir_ls", e));
}

/// Runs `argv` in a child whose standard output is the file `path`, and waits for it.
fn run_into_file(argv: &Argv, path: &CStr) -> io::Result<()> {
    match sys::fork()? {
        Forked::Child => {
            // Replace stdout with the file (dup2 closes the old stdout, and the extra
            // descriptor open() returned is closed: ls needs only fd 1).
            sys::child_open_as(
                path,
                libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
                0o600,
                libc::STDOUT_FILENO,
            );
            sys::child_exec(argv, b"redir_ls: ls: command not found\n")
        }
        Forked::Parent(pid) => sys::wait_for(pid).map(|_| ()),
    }
}
