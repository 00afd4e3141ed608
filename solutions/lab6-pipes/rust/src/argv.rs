//! C strings for `execvp` and `open`, built *before* `fork`: between `fork` and `execvp` a
//! child may only make async-signal-safe calls, and allocating memory is not one of them.

use std::ffi::{c_char, CString};
use std::io;
use std::ptr;

use crate::parse::Command;

/// `path` as a C string (an error if it holds a NUL byte).
pub fn cpath(path: &str) -> io::Result<CString> {
    CString::new(path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
}

/// A NULL-terminated `char *argv[]` and the strings it points into.
#[derive(Debug)]
pub struct Argv {
    strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl Argv {
    /// Builds `argv` from words (the first is the program, looked up in `PATH` by
    /// `execvp`). An error if there is no word or a word holds a NUL byte.
    pub fn new<S: AsRef<str>>(words: &[S]) -> io::Result<Argv> {
        if words.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty command",
            ));
        }
        let strings = words
            .iter()
            .map(|w| cpath(w.as_ref()))
            .collect::<io::Result<Vec<_>>>()?;
        let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        pointers.push(ptr::null());
        Ok(Argv { strings, pointers })
    }

    /// `argv[0]`, the program: `execvp`'s first argument.
    pub fn program(&self) -> *const c_char {
        self.strings[0].as_ptr()
    }

    /// The NULL-terminated array: `execvp`'s second argument. Valid while `self` lives.
    pub fn as_ptr(&self) -> *const *const c_char {
        self.pointers.as_ptr()
    }

    /// The program's name as text, for messages.
    pub fn name(&self) -> String {
        self.strings[0].to_string_lossy().into_owned()
    }
}

/// One command of a pipeline with everything its child needs, built before `fork`.
#[derive(Debug)]
pub struct Prepared {
    /// The words, for `execvp`.
    pub argv: Argv,
    /// `< FILE`: the file to open `O_RDONLY` as standard input.
    pub input: Option<CString>,
    /// `> FILE` / `>> FILE`: the file to open as standard output, and whether to append.
    pub output: Option<(CString, bool)>,
    /// What to write on stderr when `execvp` fails with `ENOENT`:
    /// `minishell: CMD: command not found\n`.
    pub not_found: Vec<u8>,
}

impl Prepared {
    /// Prepares a parsed command.
    pub fn new(c: &Command) -> io::Result<Prepared> {
        Ok(Prepared {
            argv: Argv::new(&c.argv)?,
            input: c.input.as_deref().map(cpath).transpose()?,
            output: c
                .output
                .as_ref()
                .map(|r| Ok::<_, io::Error>((cpath(&r.path)?, r.append)))
                .transpose()?,
            not_found: format!("minishell: {}: command not found\n", c.argv[0]).into_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn argv_is_null_terminated_and_points_at_the_words() {
        let a = Argv::new(&["tac", "-s", " "]).unwrap();
        let p = a.as_ptr();
        // SAFETY: `a` is alive; the array has 3 words then NULL.
        unsafe {
            assert_eq!(CStr::from_ptr(*p.add(2)).to_str().unwrap(), " ");
            assert!((*p.add(3)).is_null());
        }
        assert_eq!(a.name(), "tac");
    }

    #[test]
    fn nul_bytes_and_empty_commands_are_refused() {
        assert!(Argv::new(&["a\0b"]).is_err());
        assert!(Argv::new::<&str>(&[]).is_err());
    }

    #[test]
    fn prepared_command_carries_its_redirections() {
        let line = crate::parse::parse_line("sort >> out.txt < in.txt").unwrap();
        let crate::parse::Line::Run(p) = line else {
            panic!("not a pipeline")
        };
        let prep = Prepared::new(&p.commands[0]).unwrap();
        assert_eq!(prep.input.unwrap().to_str().unwrap(), "in.txt");
        let (out, append) = prep.output.unwrap();
        assert_eq!((out.to_str().unwrap(), append), ("out.txt", true));
        assert_eq!(prep.not_found, b"minishell: sort: command not found\n");
    }
}
