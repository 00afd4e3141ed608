//! Private scratch directories, removed when dropped unless published: the image is built
//! in one and renamed into place, so no reader ever sees a half-built directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory that is deleted (with its contents) on drop.
#[derive(Debug)]
pub struct ScratchDir {
    path: Option<PathBuf>,
}

impl ScratchDir {
    /// Creates `<parent>/<prefix><pid>-<nanos>-<n>`, unique across threads and processes.
    pub fn new(parent: &Path, prefix: &str) -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        std::fs::create_dir_all(parent)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!("{prefix}{}-{nanos}-{n}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(ScratchDir { path: Some(path) })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.path.as_deref().expect("path is only taken by publish")
    }

    /// Renames the directory to `target` (same filesystem) and stops owning it. When
    /// `target` already exists (another process published first) this one is deleted and
    /// `Ok(false)` is returned: both hold the same content, the first one wins.
    pub fn publish(mut self, target: &Path) -> std::io::Result<bool> {
        let path = self.path.take().expect("published once");
        match std::fs::rename(&path, target) {
            Ok(()) => Ok(true),
            Err(_) if target.is_dir() => {
                let _ = std::fs::remove_dir_all(&path);
                Ok(false)
            }
            Err(err) => {
                self.path = Some(path);
                Err(err)
            }
        }
    }
}

/// Deletes `<parent>/<prefix><pid>-…` directories whose process is gone: what a grader
/// killed mid-run (SIGKILL skips destructors) left behind. Best effort.
pub fn sweep(parent: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let gone = pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            // Best effort: a leftover scratch dir only costs disk space.
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_on_drop_and_first_publisher_wins() {
        let parent =
            std::env::temp_dir().join(format!("grader-scratch-test-{}", std::process::id()));
        let a = ScratchDir::new(&parent, "a-").unwrap();
        let b = ScratchDir::new(&parent, "a-").unwrap();
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path().join("f"), "a").unwrap();
        std::fs::write(b.path().join("f"), "b").unwrap();
        let (a_path, b_path) = (a.path().to_path_buf(), b.path().to_path_buf());
        let target = parent.join("final");
        assert!(a.publish(&target).unwrap());
        assert!(!b.publish(&target).unwrap());
        assert_eq!(std::fs::read_to_string(target.join("f")).unwrap(), "a");
        assert!(!a_path.exists() && !b_path.exists());
        let c = ScratchDir::new(&parent, "c-").unwrap();
        let c_path = c.path().to_path_buf();
        drop(c);
        assert!(!c_path.exists());
        std::fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn sweep_removes_only_directories_of_dead_processes() {
        let parent = ScratchDir::new(&std::env::temp_dir(), "grader-sweep-test-").unwrap();
        let live = ScratchDir::new(parent.path(), "x-").unwrap();
        // Pid 0 is never a process we could have been.
        let dead = parent.path().join("x-0-1-2");
        let other = parent.path().join("y-0-1-2");
        std::fs::create_dir(&dead).unwrap();
        std::fs::create_dir(&other).unwrap();
        sweep(parent.path(), "x-");
        assert!(live.path().exists() && other.exists() && !dead.exists());
    }
}
