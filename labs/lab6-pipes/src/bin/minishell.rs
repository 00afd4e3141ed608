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
        "change the working directory of the shell process itself: a child's would change \
         only the child's, which is why cd must be a builtin. See chdir(2), or \
         std::env::set_current_dir"
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
        "run commands[0] | commands[1] | …, each in a child: each command's stdout into the \
         next one's stdin through a pipe, and its own redirections (input; output appended \
         or truncated, created 0o644) win over the pipe. Every command starts with exactly \
         fds 0, 1 and 2: close what you put in place, and close in the shell each pipe end \
         once the child that needs it is forked (a write end left open keeps a reader \
         waiting for end-of-file). Fork every command first, then wait for every one. A \
         command that cannot start: write `not_found` to fd 2 and _exit(127). See pipe(2), \
         fork(2), open(2), dup2(2), close(2), execvp(3), waitpid(2)"
    )
}
