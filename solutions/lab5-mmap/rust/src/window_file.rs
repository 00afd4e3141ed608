//! The window file `xfer_a` and `xfer_b` share: its size, how A creates it and makes it
//! visible only once ready, how B finds it, and the per-chunk pacing the grader asks for.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// One mebibyte (the unit of the MB arguments).
pub const MIB: usize = 1 << 20;
/// Size of the window file: 1 MiB, header (if any) included.
pub const WINDOW_BYTES: usize = MIB;
/// Data moves in chunks of 64 KiB; DELAY_US is slept once per chunk.
pub const CHUNK_BYTES: usize = 64 << 10;

/// Creates `PATH.tmp` (mode 0600, truncated) sized [`WINDOW_BYTES`] of zeros; returns it
/// open read-write with its path. Initialise what lives in it, then [`publish_window`].
pub fn create_window(path: &Path) -> io::Result<(File, PathBuf)> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.set_len(WINDOW_BYTES as u64)?;
    Ok((file, tmp))
}

/// Renames `tmp` to `path`: B (waiting in [`open_window`]) sees the window appear at once,
/// fully initialised, never half-made.
pub fn publish_window(tmp: &Path, path: &Path) -> io::Result<()> {
    fs::rename(tmp, path)
}

/// Opens `path` read-write, waiting up to `patience` for A to publish it. Polling with a
/// sleep is fine here: it is a one-time rendezvous, not the data synchronisation.
pub fn open_window(path: &Path, patience: Duration) -> io::Result<File> {
    let start = Instant::now();
    loop {
        match OpenOptions::new().read(true).write(true).open(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && start.elapsed() < patience => {
                sleep(Duration::from_millis(5))
            }
            other => return other,
        }
    }
}

/// Sleeps `delay_us` microseconds (nothing for 0): call it once per chunk moved, after the
/// chunk is handed over, so the grader can make either side the slow one.
pub fn pace(delay_us: u64) {
    if delay_us > 0 {
        sleep(Duration::from_micros(delay_us));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_invisible_until_published() {
        let dir = std::env::temp_dir().join(format!("lab5-window-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("win.map");
        let (file, tmp) = create_window(&path).unwrap();
        assert_eq!(file.metadata().unwrap().len(), WINDOW_BYTES as u64);
        let early = open_window(&path, Duration::from_millis(20)).unwrap_err();
        assert_eq!(early.kind(), io::ErrorKind::NotFound);
        publish_window(&tmp, &path).unwrap();
        assert!(open_window(&path, Duration::ZERO).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}
