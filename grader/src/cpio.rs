//! Writes `newc` cpio archives, the format the Linux kernel unpacks as an initramfs.
//!
//! Only what an initramfs needs: directories, regular files, symlinks and character
//! devices, owned by any uid/gid, with `mtime` 0 so that the same tree always gives the
//! same bytes. [`Tree`] collects entries, adds the parent directories nobody declared and
//! writes them parents first; [`Writer`] is the raw entry-by-entry encoder underneath.

use std::collections::BTreeMap;
use std::io::{self, Write};

/// Magic of the `newc` format (no checksum).
const MAGIC: &[u8; 6] = b"070701";
/// Name of the entry that ends an archive.
const TRAILER: &str = "TRAILER!!!";
/// A `newc` header: the magic then 13 fields of 8 hex digits.
const HEADER_LEN: usize = 110;

const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;

/// Errors of the cpio writer.
#[derive(Debug, thiserror::Error)]
pub enum CpioError {
    /// A path that cannot be stored (empty, `..`, NUL byte).
    #[error("failed to add {path:?} to the cpio archive: {why}")]
    BadPath {
        /// The offending path.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A file too large for the 32-bit size field.
    #[error(
        "failed to add {path:?} to the cpio archive: {len} bytes exceeds the 4 GiB newc limit"
    )]
    TooLarge {
        /// The path.
        path: String,
        /// Its size.
        len: usize,
    },
    /// The underlying writer failed.
    #[error("failed to write the cpio archive")]
    Write(#[from] io::Error),
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// A regular file with these contents.
    File(Vec<u8>),
    /// A symbolic link to this target.
    Symlink(String),
    /// A character device node.
    CharDev {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
}

/// One archive member: a node plus its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub node: Node,
    /// Permission bits (the file type bits are derived from `node`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

impl Entry {
    /// A root-owned entry.
    pub fn root(node: Node, mode: u32) -> Self {
        Entry {
            node,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    fn type_bits(&self) -> u32 {
        match self.node {
            Node::Dir => S_IFDIR,
            Node::File(_) => S_IFREG,
            Node::Symlink(_) => S_IFLNK,
            Node::CharDev { .. } => S_IFCHR,
        }
    }

    fn data(&self) -> &[u8] {
        match &self.node {
            Node::File(data) => data,
            Node::Symlink(target) => target.as_bytes(),
            Node::Dir | Node::CharDev { .. } => &[],
        }
    }
}

/// Encodes entries one by one; call [`Writer::finish`] to write the trailer.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    offset: u64,
    next_ino: u32,
}

impl<W: Write> Writer<W> {
    /// Starts an archive on `out`, which must be at a 4-byte aligned position (e.g. the
    /// end of another padded archive) for the kernel to accept the headers.
    pub fn new(out: W) -> Self {
        Writer {
            out,
            offset: 0,
            next_ino: 1,
        }
    }

    /// Appends one entry at `path` (relative; a leading `/` is dropped).
    pub fn add(&mut self, path: &str, entry: &Entry) -> Result<(), CpioError> {
        let name = archive_name(path)?;
        let data = entry.data();
        let len = u32::try_from(data.len()).map_err(|_| CpioError::TooLarge {
            path: path.into(),
            len: data.len(),
        })?;
        let ino = self.next_ino;
        self.next_ino += 1;
        let (rmajor, rminor) = match entry.node {
            Node::CharDev { major, minor } => (major, minor),
            _ => (0, 0),
        };
        let nlink = if entry.node == Node::Dir { 2 } else { 1 };
        let fields = [
            ino,
            entry.type_bits() | (entry.mode & 0o7777),
            entry.uid,
            entry.gid,
            nlink,
            0,
            len,
            0,
            0,
            rmajor,
            rminor,
        ];
        self.header(&fields, name)?;
        self.emit(data)?;
        self.pad()
    }

    /// Writes the trailer and returns the output; the archive length is a multiple of 4.
    pub fn finish(mut self) -> Result<W, CpioError> {
        self.header(&[0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], TRAILER)?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Header, then the NUL-terminated name, padded so the data starts 4-aligned.
    fn header(&mut self, fields: &[u32; 11], name: &str) -> Result<(), CpioError> {
        let mut head = Vec::with_capacity(HEADER_LEN + name.len() + 4);
        head.extend_from_slice(MAGIC);
        let namesize = name.len() as u32 + 1;
        for field in fields.iter().chain([namesize, 0].iter()) {
            head.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        head.extend_from_slice(name.as_bytes());
        head.push(0);
        self.emit(&head)?;
        self.pad()
    }

    fn emit(&mut self, bytes: &[u8]) -> Result<(), CpioError> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> Result<(), CpioError> {
        let fill = (4 - (self.offset % 4) as usize) % 4;
        self.emit(&[0; 3][..fill])
    }
}

/// The name stored in the archive: relative, no `.`/`..`/empty components, no NUL.
fn archive_name(path: &str) -> Result<&str, CpioError> {
    let bad = |why| CpioError::BadPath {
        path: path.into(),
        why,
    };
    let name = path.trim_start_matches('/');
    if name.is_empty() {
        return Err(bad("empty path"));
    }
    if name.contains('\0') {
        return Err(bad("NUL byte in path"));
    }
    if name
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad("empty, `.` or `..` component"));
    }
    Ok(name)
}

/// A set of entries keyed by path, written parents first.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    entries: BTreeMap<String, Entry>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Tree::default()
    }

    /// Adds (or replaces) the entry at `path`; `/a/b` and `a/b` are the same path.
    pub fn insert(&mut self, path: &str, entry: Entry) -> Result<(), CpioError> {
        let name = archive_name(path)?;
        self.entries.insert(name.to_string(), entry);
        Ok(())
    }

    /// Adds a root-owned directory.
    pub fn dir(&mut self, path: &str, mode: u32) -> Result<(), CpioError> {
        self.insert(path, Entry::root(Node::Dir, mode))
    }

    /// Adds a root-owned regular file.
    pub fn file(&mut self, path: &str, mode: u32, data: Vec<u8>) -> Result<(), CpioError> {
        self.insert(path, Entry::root(Node::File(data), mode))
    }

    /// Adds a symlink.
    pub fn symlink(&mut self, path: &str, target: &str) -> Result<(), CpioError> {
        self.insert(path, Entry::root(Node::Symlink(target.into()), 0o777))
    }

    /// Whether the tree has no entry at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `path` has an entry.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path.trim_start_matches('/'))
    }

    /// Writes the archive (trailer included) and returns the output.
    pub fn write<W: Write>(&self, out: W) -> Result<W, CpioError> {
        let mut writer = Writer::new(out);
        let implied_dir = Entry::root(Node::Dir, 0o755);
        for path in self.with_parents() {
            writer.add(path, self.entries.get(path).unwrap_or(&implied_dir))?;
        }
        writer.finish()
    }

    /// Every path, plus every missing ancestor, in an order where parents come first:
    /// a parent is a prefix of its children, so plain string order already does it.
    fn with_parents(&self) -> Vec<&str> {
        let mut all = std::collections::BTreeSet::new();
        for path in self.entries.keys() {
            let mut end = 0;
            while let Some(slash) = path[end..].find('/') {
                end += slash;
                all.insert(&path[..end]);
                end += 1;
            }
            all.insert(path.as_str());
        }
        all.into_iter().collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A decoded archive member: (name, mode with type bits, uid, data, rdev).
    pub(crate) type Member = (String, u32, u32, Vec<u8>, (u32, u32));

    /// Independent newc decoder, strict about magic and alignment.
    pub(crate) fn parse(mut bytes: &[u8]) -> Vec<Member> {
        let total = bytes.len();
        let mut out = Vec::new();
        loop {
            assert_eq!((total - bytes.len()) % 4, 0, "header not 4-aligned");
            assert_eq!(&bytes[..6], MAGIC);
            let field = |i: usize| {
                let hex = std::str::from_utf8(&bytes[6 + 8 * i..14 + 8 * i]).unwrap();
                u32::from_str_radix(hex, 16).unwrap()
            };
            let (mode, uid, size, namesize) = (field(1), field(2), field(6), field(11));
            let rdev = (field(9), field(10));
            let name_end = HEADER_LEN + namesize as usize;
            let name = std::str::from_utf8(&bytes[HEADER_LEN..name_end - 1]).unwrap();
            assert_eq!(bytes[name_end - 1], 0);
            let data_start = name_end.next_multiple_of(4);
            let data = bytes[data_start..data_start + size as usize].to_vec();
            bytes = &bytes[(data_start + size as usize)
                .next_multiple_of(4)
                .min(bytes.len())..];
            if name == TRAILER {
                assert!(bytes.is_empty(), "bytes after the trailer");
                return out;
            }
            out.push((name.to_string(), mode, uid, data, rdev));
        }
    }

    fn sample() -> Tree {
        let mut tree = Tree::new();
        tree.file("/bin/busybox", 0o755, b"\x7fELF-ish".to_vec())
            .unwrap();
        tree.symlink("bin/sh", "busybox").unwrap();
        tree.insert(
            "home/student",
            Entry {
                node: Node::Dir,
                mode: 0o700,
                uid: 1000,
                gid: 1000,
            },
        )
        .unwrap();
        tree.insert(
            "dev/console",
            Entry::root(Node::CharDev { major: 5, minor: 1 }, 0o600),
        )
        .unwrap();
        tree.file("etc/a", 0o644, b"12345".to_vec()).unwrap();
        tree
    }

    #[test]
    fn tree_round_trips_through_a_decoder() {
        let bytes = sample().write(Vec::new()).unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let members = parse(&bytes);
        let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin",
                "bin/busybox",
                "bin/sh",
                "dev",
                "dev/console",
                "etc",
                "etc/a",
                "home",
                "home/student"
            ]
        );
        let get = |n: &str| members.iter().find(|m| m.0 == n).unwrap().clone();
        assert_eq!(get("bin").1, S_IFDIR | 0o755);
        assert_eq!(get("bin/busybox").1, S_IFREG | 0o755);
        assert_eq!(get("bin/busybox").3, b"\x7fELF-ish");
        assert_eq!(get("bin/sh").1, S_IFLNK | 0o777);
        assert_eq!(get("bin/sh").3, b"busybox");
        assert_eq!(
            (get("home/student").1, get("home/student").2),
            (S_IFDIR | 0o700, 1000)
        );
        assert_eq!(
            (get("dev/console").1, get("dev/console").4),
            (S_IFCHR | 0o600, (5, 1))
        );
        assert_eq!(get("etc/a").3, b"12345");
    }

    #[test]
    fn concatenated_archives_stay_aligned() {
        let mut bytes = sample().write(Vec::new()).unwrap();
        let mut job = Tree::new();
        job.file("/job/job.json", 0o644, b"{}".to_vec()).unwrap();
        bytes = job.write(bytes).unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let split = sample().write(Vec::new()).unwrap().len();
        let second = parse(&bytes[split..]);
        assert_eq!(second.len(), 2);
        assert_eq!(
            (second[1].0.as_str(), second[1].3.as_slice()),
            ("job/job.json", &b"{}"[..])
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        let mut tree = Tree::new();
        for bad in ["", "/", "a/../b", "a//b", "a\0b", "./a"] {
            assert!(
                tree.file(bad, 0o644, Vec::new()).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn system_cpio_lists_the_same_names() {
        let Ok(out) = std::process::Command::new("cpio").arg("--version").output() else {
            eprintln!("cpio not installed: the decoder test above covers the format");
            return;
        };
        assert!(out.status.success());
        let dir = std::env::temp_dir().join(format!("grader-cpio-test-{}", std::process::id()));
        std::fs::write(&dir, sample().write(Vec::new()).unwrap()).unwrap();
        let listed = std::process::Command::new("cpio")
            .args(["-t", "--quiet", "-F"])
            .arg(&dir)
            .output()
            .unwrap();
        std::fs::remove_file(&dir).unwrap();
        let names = String::from_utf8(listed.stdout).unwrap();
        assert_eq!(names.lines().count(), 9, "{names}");
        assert!(names.lines().any(|l| l == "bin/busybox"));
    }
}
