//! Compiler messages pointed back at the student's own files: the build compiles a copy
//! (at `/build/src` in the jail, or the scratch directory when the build runs unjailed),
//! so gcc, rustc and cargo name that copy. Every such path, absolute or relative to the
//! copy, is rewritten to the same file in the student's directory; line and column are
//! kept (the copy is the student's file byte for byte).

use std::path::{Path, PathBuf};

use regex::{Captures, Regex};

/// Where the copy is and where the student's files are.
#[derive(Debug, Clone)]
pub(super) struct PathMap {
    /// Absolute spellings of the copy's source directory, each ending in `/`.
    internal: Vec<String>,
    /// The student's directory, as the grader was given it.
    student: PathBuf,
}

impl PathMap {
    /// A map from the copies at `internal` (directories) to `student`.
    pub(super) fn new(internal: &[PathBuf], student: &Path) -> PathMap {
        let mut internal: Vec<String> = internal
            .iter()
            .map(|p| format!("{}/", p.display().to_string().trim_end_matches('/')))
            .collect();
        // Longest first: a host scratch path may contain a shorter spelling.
        internal.sort_by_key(|p| std::cmp::Reverse(p.len()));
        internal.dedup();
        PathMap {
            internal,
            student: student.to_owned(),
        }
    }

    fn student_file(&self, rel: &str) -> String {
        self.student.join(rel).display().to_string()
    }

    /// Rewrites one compiler line.
    fn line(&self, line: &str, relative: &Regex) -> String {
        // A relative path (`src/queue.rs:89:22:`, `msgq.c: In function`, `In file
        // included from msgq.c:2:`) is rewritten only when it names a student's file.
        let line = relative.replace_all(line, |c: &Captures| {
            let rel = &c[2];
            if !rel.contains("..") && self.student.join(rel).is_file() {
                format!("{}{}{}", &c[1], self.student_file(rel), &c[3])
            } else {
                c[0].to_string()
            }
        });
        let mut out = line.into_owned();
        for prefix in &self.internal {
            out = out.replace(prefix.as_str(), &format!("{}/", self.student.display()));
        }
        out
    }

    /// The log with every compiler path at the copy made the student's; the grader's own
    /// lines (`grader: …`, `$ …`) are left as they are.
    pub(super) fn rewrite(&self, log: &str) -> String {
        let relative = Regex::new(r"(^|[\s\[(`'])([A-Za-z0-9_][A-Za-z0-9_./-]*)(:(?:\d|\s|\())")
            .expect("static regex");
        let mut out = String::with_capacity(log.len());
        for line in log.split_inclusive('\n') {
            if line.starts_with("grader:") || line.starts_with("$ ") {
                out.push_str(line);
            } else {
                out.push_str(&self.line(line, &relative));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student() -> PathBuf {
        let d = std::env::temp_dir().join(format!("grader-diag-{}", std::process::id()));
        std::fs::create_dir_all(d.join("src")).unwrap();
        for f in ["src/queue.rs", "msgq.c", "msgq.h", "Makefile", "Cargo.toml"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        d
    }

    fn map(s: &Path) -> PathMap {
        PathMap::new(
            &[
                PathBuf::from("/build/src"),
                PathBuf::from("/tmp/scratch/work/jail/src/"),
            ],
            s,
        )
    }

    #[test]
    fn rustc_short_messages_name_the_students_file_with_the_same_line() {
        let s = student();
        let log = "src/queue.rs:89:22: error[E0308]: mismatched types\n\
                   error: could not compile `lab1` (bin \"msgq\") due to 1 previous error\n";
        let out = map(&s).rewrite(log);
        let want = format!("{}/src/queue.rs:89:22: error[E0308]", s.display());
        assert!(out.starts_with(&want), "{out}");
        assert!(out.contains("error: could not compile `lab1`"), "{out}");
    }

    #[test]
    fn gcc_messages_absolute_and_relative_name_the_students_files() {
        let s = student();
        let log = "In file included from msgq.c:2:\n\
                   /build/src/msgq.h:3:1: error: unknown type name 'nope'\n\
                   msgq.c: In function 'main':\n\
                   msgq.c:7:5: warning: unused variable 'x' [-Wunused-variable]\n\
                   make: *** [Makefile:5: msgq] Error 1\n\
                   error: failed to parse manifest at `/tmp/scratch/work/jail/src/Cargo.toml`\n";
        let out = map(&s).rewrite(log);
        let d = s.display();
        for want in [
            format!("In file included from {d}/msgq.c:2:"),
            format!("{d}/msgq.h:3:1: error: unknown type name"),
            format!("{d}/msgq.c: In function 'main':"),
            format!("{d}/msgq.c:7:5: warning"),
            format!("[{d}/Makefile:5: msgq]"),
            format!("manifest at `{d}/Cargo.toml`"),
        ] {
            assert!(out.contains(&want), "lacks {want:?}:\n{out}");
        }
        assert!(!out.contains("/build/src"), "{out}");
    }

    #[test]
    fn other_paths_and_the_graders_lines_are_left_alone() {
        let s = student();
        let log = "$ gcc -static -O2 -Wall -o msgq msgq.c\n\
                   /usr/include/stdio.h:12:1: note: here\n\
                   other.c:1:1: error: not a student's file\n\
                   grader: cc1: /build/src/x.h: refused\n";
        let out = map(&s).rewrite(log);
        assert_eq!(out, log);
    }
}
