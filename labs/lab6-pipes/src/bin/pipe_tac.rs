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
        "run WRITER | READER: one pipe, the writer's stdout into the reader's stdin, then \
         wait for both. The reader sees end-of-file only once every copy of the write end \
         is closed, in every process, this one included. A child that cannot start its \
         program writes a message to fd 2 and _exit(127)s. See pipe(2), fork(2), dup2(2), \
         close(2), execvp(3), waitpid(2)"
    )
}
