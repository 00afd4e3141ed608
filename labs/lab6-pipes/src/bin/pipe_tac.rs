//! `pipe_tac [WORD...]`: the shell's `printf "Salut Tout Le Monde " | tac -s " "` by hand
//! (slides "Chainer deux Commandes"): one pipe, two children, each pipe end put in place
//! with `dup2`. With words on the command line, they replace the slides' text (each one
//! followed by a space), so `tac` prints them in reverse order. Exits 0 once both children
//! have ended.

use std::io;

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
fn pipe_through(_writer: &Argv, _reader: &Argv) -> io::Result<()> {
    todo!(
        "libc::pipe(&mut fds) gives [read end, write end]. Fork the writer: in it \
         dup2(fds[1], STDOUT_FILENO), close both fds, execvp. Fork the reader: dup2(fds[0], \
         STDIN_FILENO), close both fds, execvp. (If execvp returns: libc::write a message to fd 2, \
         libc::_exit(127).) The parent closes BOTH ends — tac only sees end-of-file once no \
         process holds the write end — then waitpid()s both children."
    )
}
