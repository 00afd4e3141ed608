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
        "run ARGV in a child whose standard output is the file PATH (created if missing, \
         emptied if not, mode 0600), and wait for it: the child arranges its descriptors, \
         keeping none the program does not need, then becomes the program, which inherits \
         them. After fork the child allocates nothing and prints only with libc::write; if \
         the program cannot start, it says so on fd 2 and _exit(127)s. See fork(2), \
         open(2), dup2(2), close(2), execvp(3), waitpid(2)"
    )
}
