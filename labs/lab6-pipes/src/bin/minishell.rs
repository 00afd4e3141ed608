//! `minishell`: reads commands on stdin, one per line, and runs them. External commands
//! with `<`, `>`, `>>` and `|` pipelines of any length; builtins `cd [DIR]` and `exit [N]`.
//! A prompt (`minishell$ `, on stderr) only when stdin is a terminal. An unknown command
//! prints `minishell: CMD: command not found` on stderr and the shell goes on. At the end
//! of input the shell exits 0.

use std::io::{self, BufRead, IsTerminal};
use std::process::exit;

use pipes_lab::{die, parse_line, restore_sigpipe, Line, Pipeline, Prepared};

fn main() {
    restore_sigpipe();
    let interactive = io::stdin().is_terminal();
    let mut lines = io::stdin().lock().lines();
    loop {
        if interactive {
            eprint!("minishell$ ");
        }
        let line = match lines.next() {
            None => exit(0),
            Some(Ok(line)) => line,
            Some(Err(e)) => die("stdin", e),
        };
        match parse_line(&line) {
            Ok(Line::Empty) => {}
            Ok(Line::Exit(code)) => exit(code),
            Ok(Line::Cd(dir)) => cd(dir),
            Ok(Line::Run(pipeline)) => run(&pipeline),
            Err(e) => eprintln!("minishell: {e}"),
        }
    }
}

/// The `cd` builtin (to `$HOME` without an argument).
fn cd(dir: Option<String>) {
    let Some(dir) = dir.or_else(|| std::env::var("HOME").ok()) else {
        eprintln!("minishell: cd: HOME not set");
        return;
    };
    if let Err(e) = change_directory(&dir) {
        eprintln!("minishell: cd: {dir}: {e}");
    }
}

/// Changes the shell's own working directory.
fn change_directory(_dir: &str) -> io::Result<()> {
    todo!(
        "chdir in the shell process itself (std::env::set_current_dir, or libc::chdir): a \
         child's chdir would change the child's directory, not the shell's, which is why \
         cd must be a builtin."
    )
}

/// Prepares every command (C strings, before any fork) then runs the pipeline.
fn run(pipeline: &Pipeline) {
    let prepared = pipeline
        .commands
        .iter()
        .map(Prepared::new)
        .collect::<io::Result<Vec<_>>>();
    let result = prepared.and_then(|commands| run_pipeline(&commands));
    if let Err(e) = result {
        eprintln!("minishell: {e}");
    }
}

/// Runs `commands[0] | commands[1] | …` and waits for every one of them.
fn run_pipeline(_commands: &[Prepared]) -> io::Result<()> {
    todo!(
        "For each command i: if it is not the last, libc::pipe() a new pipe; libc::fork(). \
         In the child: dup2 the previous pipe's read end onto STDIN_FILENO and the new pipe's \
         write end onto STDOUT_FILENO; then the redirections: open(input, O_RDONLY) onto \
         stdin, open(output, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644) onto \
         stdout; close every pipe or file descriptor you dup2-ed or do not need (the child \
         must start with only 0, 1 and 2); execvp(argv.program(), argv.as_ptr()); if it fails \
         with ENOENT write `not_found` to fd 2; libc::_exit(127). In the parent: close the \
         previous read end and the new write end right after forking (a write end left open \
         in the shell means the reader never sees end-of-file), keep the new read end for the \
         next command. Fork them all first, then waitpid() every child."
    )
}
