//! `redir_ls`: the shell's `ls -la > out.dat` by hand (slides "Redirection de sortie dans un
//! fichier"): a child opens `./out.dat` (created with mode 0600), puts it in place of its
//! standard output with `dup2` and becomes `ls -la`; the parent waits for it. Prints nothing
//! itself; exits 0 once `ls` has ended.

use std::ffi::CStr;
use std::io;

use pipes_lab::{die, restore_sigpipe, Argv};

/// Where the listing goes, relative to the current directory.
const OUT_FILE: &CStr = c"./out.dat";

fn main() {
    restore_sigpipe();
    let argv = Argv::new(&["ls", "-la"]).unwrap_or_else(|e| die("ls", e));
    run_into_file(&argv, OUT_FILE).unwrap_or_else(|e| die("redir_ls", e));
}

/// Runs `argv` in a child whose standard output is the file `path`, and waits for it.
fn run_into_file(_argv: &Argv, _path: &CStr) -> io::Result<()> {
    todo!(
        "libc::fork(). In the child: fd = libc::open(path.as_ptr(), O_CREAT | O_WRONLY | \
         O_TRUNC, 0o600); libc::dup2(fd, STDOUT_FILENO); libc::close(fd); \
         libc::execvp(argv.program(), argv.as_ptr()); if execvp returns, libc::write a message \
         to fd 2 and libc::_exit(127) — after fork the child makes no allocation and no \
         println!. In the parent: libc::waitpid(pid, &mut status, 0)."
    )
}
