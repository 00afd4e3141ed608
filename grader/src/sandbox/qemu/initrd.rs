//! One way to give a guest more files: the base initramfs, zero-padded to a multiple of
//! 4 bytes (else the kernel reports "invalid magic" and silently ignores what follows),
//! then a `newc` cpio of the extra files, which the kernel unpacks over the base.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cpio::{CpioError, Tree};

/// Failures to write a per-run initrd.
#[derive(Debug, thiserror::Error)]
pub enum InitrdError {
    /// The base could not be copied, or the copy not extended.
    #[error("failed to write the initrd {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The appended archive could not be written.
    #[error("failed to write the appended archive")]
    Cpio(#[from] CpioError),
}

/// Writes `dest`: `base`, padded, then `extra` (nothing more when `extra` is empty).
pub fn append(base: &Path, extra: &Tree, dest: &Path) -> Result<(), InitrdError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| InitrdError::Io { path, source }
    };
    let len = std::fs::copy(base, dest).map_err(io(base))?;
    let mut out = OpenOptions::new()
        .append(true)
        .open(dest)
        .map_err(io(dest))?;
    let pad = (4 - len % 4) % 4;
    out.write_all(&[0u8; 3][..pad as usize]).map_err(io(dest))?;
    if !extra.is_empty() {
        // The writer flushes its buffer when it writes the trailer; no fsync: QEMU reads
        // the file back through the page cache.
        extra.write(std::io::BufWriter::new(&mut out))?;
    }
    Ok(())
}
