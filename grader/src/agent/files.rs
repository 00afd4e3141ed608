//! Files the agent writes for a scenario (inputs, generated ints) and the facts it
//! records about files the student's programs leave (probe, `ftok`).

use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::protocol::{ints_from_seed, FileFacts};

/// How much of a probed file is kept as text.
const HEAD_BYTES: usize = 4096;

/// Failures to write or read a scenario file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Writing failed.
    #[error("failed to write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// `ftok` failed.
    #[error("failed to compute ftok({path}, {proj})")]
    Ftok {
        /// The file.
        path: PathBuf,
        /// The project id.
        proj: i32,
        /// The OS error.
        source: io::Error,
    },
}

/// Creates `path` (and missing parents) with exactly `mode`, filled by `fill`, owned by `owner`.
fn write_with(
    path: &Path,
    mode: u32,
    owner: Option<(u32, u32)>,
    fill: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> Result<(), FileError> {
    let wrap = |source| FileError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(wrap)?;
    }
    let file = File::create(path).map_err(wrap)?;
    let mut w = BufWriter::new(&file);
    fill(&mut w).and_then(|_| w.flush()).map_err(wrap)?;
    drop(w);
    // Explicit mode: the agent's umask must not change what the spec asked for.
    file.set_permissions(fs::Permissions::from_mode(mode & 0o7777))
        .map_err(wrap)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(wrap)?;
    }
    Ok(())
}

/// `write_file`: the content, verbatim.
pub(crate) fn write_text(
    path: &Path,
    content: &str,
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), FileError> {
    write_with(path, mode, owner, |w| w.write_all(content.as_bytes()))
}

/// `gen_ints`: `count` native-endian `i32`s from `seed`.
pub(crate) fn write_ints(
    path: &Path,
    count: u64,
    seed: u64,
    owner: Option<(u32, u32)>,
) -> Result<(), FileError> {
    write_with(path, 0o644, owner, |w| {
        ints_from_seed(seed, count).try_for_each(|v| w.write_all(&v.to_ne_bytes()))
    })
}

/// `file`: existence, size, SHA-256, mode and the first 4 KiB as text.
pub(crate) fn probe(path: &Path, shown_as: &str) -> FileFacts {
    let mut facts = FileFacts {
        path: shown_as.to_string(),
        ..Default::default()
    };
    let Ok(meta) = fs::metadata(path) else {
        return facts;
    };
    facts.exists = true;
    facts.size = meta.len();
    facts.mode = meta.mode() & 0o7777;
    if let Ok(file) = File::open(path) {
        let (sha, head) = hash_and_head(file);
        facts.sha256 = sha;
        facts.head = String::from_utf8_lossy(&head).into_owned();
    }
    facts
}

fn hash_and_head(mut file: File) -> (String, Vec<u8>) {
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = HEAD_BYTES.saturating_sub(head.len()).min(n);
                head.extend_from_slice(&buf[..room]);
                hasher.update(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let sha = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (sha, head)
}

/// `ftok`, computed by the agent exactly as the student's program would.
pub(crate) fn ftok(path: &Path, proj: i32) -> Result<i32, FileError> {
    let fail = |source| FileError::Ftok {
        path: path.to_path_buf(),
        proj,
        source,
    };
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| fail(io::Error::from(io::ErrorKind::InvalidInput)))?;
    // SAFETY: ftok reads a valid C string.
    let key = unsafe { libc::ftok(c.as_ptr(), proj) };
    if key == -1 {
        return Err(fail(io::Error::last_os_error()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("grader-files-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn written_text_is_probed_back() {
        let dir = temp_dir("text");
        let path = dir.join("sub/in.txt");
        write_text(&path, "hello\n", 0o640, None).unwrap();
        let facts = probe(&path, "sub/in.txt");
        assert!(facts.exists);
        assert_eq!(
            (facts.size, facts.mode, facts.head.as_str()),
            (6, 0o640, "hello\n")
        );
        // sha256("hello\n")
        assert_eq!(
            facts.sha256,
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        assert!(!probe(&dir.join("missing"), "missing").exists);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn generated_ints_match_the_shared_generator() {
        let dir = temp_dir("ints");
        let path = dir.join("data.bin");
        write_ints(&path, 2000, 42, None).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 8000);
        let first: Vec<i32> = bytes
            .chunks(4)
            .take(3)
            .map(|c| i32::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(first, ints_from_seed(42, 3).collect::<Vec<_>>());
        let facts = probe(&path, "data.bin");
        assert_eq!((facts.size, facts.mode), (8000, 0o644));
        assert_eq!(facts.head, String::from_utf8_lossy(&bytes[..HEAD_BYTES]));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn ftok_matches_the_libc_recipe_and_reports_missing_files() {
        let key = ftok(Path::new("/"), 65).unwrap();
        let meta = fs::metadata("/").unwrap();
        let expected = ((65u32 & 0xff) << 24)
            | ((meta.dev() as u32 & 0xff) << 16)
            | (meta.ino() as u32 & 0xffff);
        assert_eq!(key as u32, expected);
        assert!(ftok(Path::new("/no/such/file"), 1).is_err());
    }
}
