//! What a jailed command has written to its writable directories (the disk quota's
//! measure, taken while it runs), and removing those directories afterwards. Both walk a
//! tree the student controlled: symbolic links are never followed.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Space used under some directories.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Bytes allocated on disk (sparse files count what they really take).
    pub bytes: u64,
    /// Files, directories and links.
    pub files: u64,
    /// The largest regular file, in bytes (its length).
    pub largest: u64,
}

impl DiskUsage {
    /// Whether this is more than `base` plus the allowance.
    pub fn exceeds(&self, base: &DiskUsage, bytes: u64, files: u64) -> bool {
        self.bytes > base.bytes.saturating_add(bytes)
            || self.files > base.files.saturating_add(files)
    }
}

/// Walks `dirs` without following links; stops early (with what it has counted) once
/// past `stop_files` entries, so a tree of millions of files costs a bounded walk.
pub fn usage(dirs: &[PathBuf], stop_files: u64) -> DiskUsage {
    let mut total = DiskUsage::default();
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            total.files += 1;
            total.bytes += meta.blocks() * 512;
            if meta.is_file() {
                total.largest = total.largest.max(meta.len());
            } else if meta.is_dir() {
                stack.push(entry.path());
            }
            if total.files > stop_files {
                return total;
            }
        }
    }
    total
}

/// Removes a directory the jail wrote, whatever modes it left on its own directories
/// (an unprivileged grader owns them but may have been locked out by `chmod 000`).
pub fn force_remove(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            open_up(dir);
            fs::remove_dir_all(dir)
        }
    }
}

/// Makes every directory under `dir` (links not followed) readable, writable and
/// searchable by its owner.
fn open_up(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(meta) = fs::symlink_metadata(&d) else {
            continue;
        };
        if !meta.is_dir() {
            continue;
        }
        let mode = meta.permissions().mode() | 0o700;
        let _ = fs::set_permissions(&d, fs::Permissions::from_mode(mode));
        if let Ok(entries) = fs::read_dir(&d) {
            stack.extend(entries.flatten().map(|e| e.path()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("grader-disk-{name}-{}", std::process::id()));
        let _ = force_remove(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn usage_counts_files_and_never_follows_links() {
        let d = tmp("usage");
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("sub/a"), vec![1u8; 10_000]).unwrap();
        std::os::unix::fs::symlink("/usr", d.join("usr")).unwrap();
        let u = usage(std::slice::from_ref(&d), 100);
        assert_eq!(u.files, 3, "{u:?}");
        assert_eq!(u.largest, 10_000);
        assert!(u.bytes >= 10_000, "{u:?}");
        assert!(u.exceeds(&DiskUsage::default(), 100, 100));
        assert!(!u.exceeds(&u, 0, 0));
        force_remove(&d).unwrap();
    }

    #[test]
    fn a_locked_directory_is_still_removed() {
        let d = tmp("locked");
        fs::create_dir(d.join("x")).unwrap();
        fs::write(d.join("x/f"), "f").unwrap();
        fs::set_permissions(d.join("x"), fs::Permissions::from_mode(0o0)).unwrap();
        force_remove(&d).unwrap();
        assert!(!d.exists());
    }
}
