//! `minishell`: reads commands on stdin, one per line, and runs them. External commands
//! with `<`, `>`, `>>` and `|` pipelines of any length; builtins `cd [DIR]` and `exit [N]`.
//! A prompt (`minishell$ `, on stderr) only when stdin is a terminal. An unknown command
//! prints `minishell: CMD: command not found` on stderr and the shell goes on. At the end
//! of input the shell exits 0.

use std::io::{self, BufRead, IsTerminal};
use std::os::fd::RawFd;
use std::process::exit;

use pipes_lab::sys::{self, Forked};
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

/// Changes the shell's own working directory (a child's chdir would not change ours).
fn change_directory(dir: &str) -> io::Result<()> {
    std::env::set_current_dir(dir)
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
fn run_pipeline(commands: &[Prepared]) -> io::Result<()> {
    let mut pids = Vec::with_capacity(commands.len());
    let mut prev_read: Option<RawFd> = None;
    let mut failure = None;
    for (i, c) in commands.iter().enumerate() {
        match start(c, prev_read.take(), i + 1 < commands.len()) {
            Ok((pid, next_read)) => {
                pids.push(pid);
                prev_read = next_read;
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(fd) = prev_read {
        sys::close(fd);
    }
    // Every child started is waited for, even when a later one could not start.
    for pid in pids {
        sys::wait_for(pid)?;
    }
    failure.map_or(Ok(()), Err)
}

/// Forks one command of a pipeline reading `stdin` (the previous pipe's read end, if any)
/// and, when `piped`, writing into a new pipe. Returns its pid and the new pipe's read end.
/// The parent closes `stdin` and the new write end before returning: a write end left open
/// in the shell would keep the reader from ever seeing end-of-file.
fn start(
    c: &Prepared,
    stdin: Option<RawFd>,
    piped: bool,
) -> io::Result<(libc::pid_t, Option<RawFd>)> {
    let pipe = match piped.then(sys::pipe).transpose() {
        Ok(pipe) => pipe,
        Err(e) => {
            close_all(&[stdin]);
            return Err(e);
        }
    };
    let pid = match sys::fork() {
        Ok(Forked::Child) => child(c, stdin, pipe),
        Ok(Forked::Parent(pid)) => pid,
        Err(e) => {
            close_all(&[stdin, pipe.map(|p| p.0), pipe.map(|p| p.1)]);
            return Err(e);
        }
    };
    close_all(&[stdin, pipe.map(|p| p.1)]);
    Ok((pid, pipe.map(|p| p.0)))
}

fn close_all(fds: &[Option<RawFd>]) {
    fds.iter().flatten().for_each(|fd| sys::close(*fd));
}

/// In the child: wires fds 0 and 1, applies the redirections, closes everything else it
/// inherited from the pipeline, and becomes the command.
fn child(c: &Prepared, stdin: Option<RawFd>, pipe: Option<(RawFd, RawFd)>) -> ! {
    if let Some(fd) = stdin {
        sys::child_move_fd(fd, libc::STDIN_FILENO);
    }
    if let Some((r, w)) = pipe {
        sys::close(r); // the next command's end, not ours
        sys::child_move_fd(w, libc::STDOUT_FILENO);
    }
    if let Some(path) = &c.input {
        sys::child_open_as(path, libc::O_RDONLY, 0, libc::STDIN_FILENO);
    }
    if let Some((path, append)) = &c.output {
        let mode = if *append {
            libc::O_APPEND
        } else {
            libc::O_TRUNC
        };
        sys::child_open_as(
            path,
            libc::O_WRONLY | libc::O_CREAT | mode,
            0o644,
            libc::STDOUT_FILENO,
        );
    }
    sys::child_exec(&c.argv, &c.not_found)
}
