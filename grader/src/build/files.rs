//! The files of a build, on the grader's side: the submission copied into the jail's
//! directory (regular files and directories only — a link to `/etc/shadow` is refused,
//! never followed by the grader), and the programs copied back out, again without ever
//! following a link or opening a FIFO the build left behind.

use std::ffi::CString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{lchown, OpenOptionsExt};
use std::path::{Component, Path};

/// Names never copied from a submission: build products and VCS data.
const NEVER_COPIED: &[&str] = &["target", ".git", ".grader"];
/// Directories of the jail's build directory: sources, C outputs, temporary files, the
/// Rust target directory and cargo's home.
pub(super) const JAIL_SUBDIRS: &[&str] = &["src", "out", "tmp", "target", "cargo-home"];

/// Copies a directory, leaving out build products, VCS data, links, special files and
/// `skip` (top-level names).
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> io::Result<()> {
    let limits = CopyLimits {
        file_bytes: u64::MAX,
        total_bytes: u64::MAX,
    };
    let mut copy = Copy {
        owner: None,
        limits,
        copied: 0,
        notes: Vec::new(),
    };
    copy.tree(from, to, Path::new(""), skip)
}

/// How much of a submission is copied into a build.
#[derive(Debug, Clone, Copy)]
pub(super) struct CopyLimits {
    /// Largest file.
    pub file_bytes: u64,
    /// All files.
    pub total_bytes: u64,
}

struct Copy {
    owner: Option<(u32, u32)>,
    limits: CopyLimits,
    copied: u64,
    notes: Vec<String>,
}

impl Copy {
    fn own(&self, path: &Path) -> io::Result<()> {
        match self.owner {
            Some((uid, gid)) => lchown(path, Some(uid), Some(gid)),
            None => Ok(()),
        }
    }

    fn tree(&mut self, from: &Path, to: &Path, rel: &Path, skip: &[&str]) -> io::Result<()> {
        fs::create_dir_all(to)?;
        self.own(to)?;
        let mut entries: Vec<fs::DirEntry> = fs::read_dir(from)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let name_s = name.to_string_lossy();
            if NEVER_COPIED.contains(&name_s.as_ref()) || skip.contains(&name_s.as_ref()) {
                continue;
            }
            let shown = rel.join(&name);
            let ty = entry.file_type()?;
            let dest = to.join(&name);
            if ty.is_dir() {
                self.tree(&entry.path(), &dest, &shown, &[])?;
            } else if ty.is_file() {
                self.file(&entry.path(), &dest, &shown)?;
            } else if ty.is_symlink() {
                let target = fs::read_link(entry.path()).unwrap_or_default();
                self.notes.push(format!(
                    "`{}` is a symbolic link (to {}): refused, it was not copied into the build (a submission's files must be regular files)",
                    shown.display(),
                    target.display()
                ));
            } else {
                self.notes.push(format!(
                    "`{}` is not a regular file (a device, FIFO or socket): refused, it was not copied into the build",
                    shown.display()
                ));
            }
        }
        Ok(())
    }

    fn file(&mut self, from: &Path, to: &Path, shown: &Path) -> io::Result<()> {
        let len = fs::symlink_metadata(from)?.len();
        if len > self.limits.file_bytes {
            self.notes.push(format!(
                "`{}` is larger than {} MiB: refused, it was not copied into the build",
                shown.display(),
                self.limits.file_bytes >> 20
            ));
            return Ok(());
        }
        if self.copied + len > self.limits.total_bytes {
            self.notes.push(format!(
                "the submission is larger than {} MiB: `{}` and what follows were not copied into the build",
                self.limits.total_bytes >> 20,
                shown.display()
            ));
            self.limits.total_bytes = 0;
            return Ok(());
        }
        self.copied += len;
        fs::copy(from, to)?;
        self.own(to)
    }
}

/// Creates the jail's build directory `dir` (`src`, `out`, `tmp`, `target`,
/// `cargo-home`), owned by `owner`, with a copy of the submission in `src`; returns what
/// was refused, one sentence each.
pub(super) fn prepare_jail_dir(
    submission: &Path,
    dir: &Path,
    skip: &[&str],
    owner: Option<(u32, u32)>,
    limits: CopyLimits,
) -> io::Result<Vec<String>> {
    let mut copy = Copy {
        owner,
        limits,
        copied: 0,
        notes: Vec::new(),
    };
    fs::create_dir_all(dir)?;
    copy.own(dir)?;
    for sub in JAIL_SUBDIRS {
        fs::create_dir_all(dir.join(sub))?;
        copy.own(&dir.join(sub))?;
    }
    copy.tree(submission, &dir.join("src"), Path::new(""), skip)?;
    Ok(copy.notes)
}

/// Copies the course's support library to `dest` (the build directory's `support`),
/// owned by `owner` like the sources beside it.
pub(super) fn copy_support(from: &Path, dest: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    let mut copy = Copy {
        owner,
        limits: CopyLimits {
            file_bytes: u64::MAX,
            total_bytes: u64::MAX,
        },
        copied: 0,
        notes: Vec::new(),
    };
    copy.tree(from, dest, Path::new(""), &["target", "Cargo.lock"])
}

/// Why a program could not be taken out of the build directory.
#[derive(Debug)]
pub(super) enum TakeError {
    /// It is not there.
    Missing,
    /// It (or a directory on its way) is a link or not a regular file: what it is.
    Refused(&'static str),
    /// Reading or writing failed.
    Io(io::Error),
}

fn open_at(
    dir: &OwnedFd,
    name: &std::ffi::OsStr,
    flags: libc::c_int,
) -> Result<OwnedFd, TakeError> {
    use std::os::fd::AsRawFd;
    let c = CString::new(name.as_bytes()).map_err(|_| TakeError::Missing)?;
    // SAFETY: openat on a directory descriptor we own with a valid C string.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ENOENT) => TakeError::Missing,
            Some(libc::ELOOP) => TakeError::Refused("a symbolic link"),
            Some(libc::ENOTDIR) => TakeError::Refused("under something that is not a directory"),
            _ => TakeError::Io(e),
        });
    }
    // SAFETY: a fresh descriptor owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Copies `root/rel` to `dest` (mode 0755), refusing links anywhere on the way, FIFOs,
/// devices and directories.
pub(super) fn take_output(root: &Path, rel: &Path, dest: &Path) -> Result<(), TakeError> {
    let mut dir: OwnedFd = fs::File::open(root).map_err(TakeError::Io)?.into();
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let (last, dirs) = parts.split_last().ok_or(TakeError::Missing)?;
    for d in dirs {
        dir = open_at(
            &dir,
            d,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        )?;
    }
    let fd = open_at(
        &dir,
        last,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
    )?;
    let mut file = fs::File::from(fd);
    let meta = file.metadata().map_err(TakeError::Io)?;
    if !meta.is_file() {
        return Err(TakeError::Refused("not a regular file"));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut data).map_err(TakeError::Io)?;
    let _ = fs::remove_file(dest);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(dest)
        .and_then(|mut f| f.write_all(&data))
        .map_err(TakeError::Io)
}

/// What a directory with nothing to build holds instead, for the student: its first
/// entries, sources in a language the course does not take, C or Rust one level down.
pub(super) fn found_instead(dir: &Path) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    if names.is_empty() {
        return "the directory is empty: put your sources (e.g. the lab's C skeleton files) in it"
            .into();
    }
    let mut text = format!(
        "found instead: {}{}",
        names
            .iter()
            .take(8)
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
        if names.len() > 8 { ", …" } else { "" }
    );
    let foreign = |n: &String| {
        let ext = n.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("cpp" | "cc" | "cxx" | "c++") => Some("C++"),
            Some("py") => Some("Python"),
            Some("java") => Some("Java"),
            Some("go") => Some("Go"),
            Some("sh") => Some("shell"),
            _ => None,
        }
    };
    if let Some(lang) = names.iter().find_map(foreign) {
        text.push_str(&format!(
            "; {lang} sources are not built: the course takes C (`NAME.c` or a Makefile) or Rust (a Cargo crate)"
        ));
    }
    let nested = names.iter().find(|n| {
        let d = dir.join(n);
        d.is_dir()
            && (d.join("Cargo.toml").is_file() || d.join("Makefile").is_file() || has_c_file(&d))
    });
    if let Some(sub) = nested {
        text.push_str(&format!(
            "; `{sub}/` holds sources: grade that directory (--submission {})",
            dir.join(sub).display()
        ));
    }
    text
}

fn has_c_file(dir: &Path) -> bool {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".c"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("grader-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn links_and_special_files_are_refused_and_named() {
        let sub = tmp("sub");
        fs::write(sub.join("msgq.c"), "int main(void){return 0;}").unwrap();
        std::os::unix::fs::symlink("/etc/shadow", sub.join("shadow.c")).unwrap();
        let fifo = CString::new(sub.join("pipe").as_os_str().as_bytes()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let dir = tmp("jail").join("j");
        let limits = CopyLimits {
            file_bytes: 1 << 20,
            total_bytes: 1 << 20,
        };
        let notes = prepare_jail_dir(&sub, &dir, &[], None, limits).unwrap();
        assert!(dir.join("src/msgq.c").is_file());
        assert!(!dir.join("src/shadow.c").exists());
        assert!(!dir.join("src/pipe").exists());
        let text = notes.join("\n");
        assert!(
            text.contains("`shadow.c` is a symbolic link (to /etc/shadow): refused"),
            "{text}"
        );
        assert!(text.contains("`pipe` is not a regular file"), "{text}");
        for sub in JAIL_SUBDIRS {
            assert!(dir.join(sub).is_dir(), "{sub}");
        }
    }

    #[test]
    fn outputs_are_taken_without_following_links() {
        let root = tmp("take");
        fs::create_dir_all(root.join("a")).unwrap();
        fs::write(root.join("a/prog"), b"ELF").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("a/link")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("up")).unwrap();
        let dest = root.join("out");
        take_output(&root, Path::new("a/prog"), &dest).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"ELF");
        assert!(matches!(
            take_output(&root, Path::new("a/link"), &dest),
            Err(TakeError::Refused("a symbolic link"))
        ));
        assert!(matches!(
            take_output(&root, Path::new("up/hostname"), &dest),
            Err(TakeError::Refused(_))
        ));
        assert!(matches!(
            take_output(&root, Path::new("a/none"), &dest),
            Err(TakeError::Missing)
        ));
    }
}
