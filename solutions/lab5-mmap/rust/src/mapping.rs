//! A shared, writable mapping of the start of a file, unmapped when dropped.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::{self, NonNull};

/// `mmap(PROT_READ|PROT_WRITE, MAP_SHARED)` of the first `len` bytes of a file: stores
/// into it reach the file (and every other process mapping it).
#[derive(Debug)]
pub struct SharedMap {
    addr: NonNull<u8>,
    len: usize,
}

impl SharedMap {
    /// Maps the first `len` (> 0) bytes of `file`, which must be open read-write. The
    /// mapping outlives the descriptor: `file` may be closed afterwards.
    pub fn new(file: &File, len: usize) -> io::Result<SharedMap> {
        // SAFETY: a fresh mapping chosen by the kernel (addr NULL) overlaps nothing Rust
        // owns; the result is checked against MAP_FAILED before use.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let addr = NonNull::new(addr.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        Ok(SharedMap { addr, len })
    }

    /// First byte of the mapping (page-aligned).
    pub fn as_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: `new` needs a length > 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapping as native-endian ints (trailing bytes past a multiple of 4 left out).
    /// The caller's contract: no other process writes the file meanwhile.
    pub fn ints_mut(&mut self) -> &mut [i32] {
        // SAFETY: the mapping is page-aligned (so 4-aligned), `len / 4` ints long, readable
        // and writable, and borrowed exclusively through `&mut self` for the slice's life.
        unsafe { std::slice::from_raw_parts_mut(self.addr.as_ptr().cast::<i32>(), self.len / 4) }
    }

    /// `msync(MS_SYNC)`: waits until the file holds what the mapping holds.
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: the range is exactly our live mapping.
        let rc = unsafe { libc::msync(self.addr.as_ptr().cast(), self.len, libc::MS_SYNC) };
        if rc == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the range `new` mapped; no reference into it outlives
        // `self` (slices borrow `self`).
        unsafe { libc::munmap(self.addr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};

    #[test]
    fn stores_in_the_mapping_reach_the_file() {
        let path = std::env::temp_dir().join(format!("lab5-map-{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.write_all(&[3i32.to_ne_bytes(), 1i32.to_ne_bytes()].concat())
            .unwrap();
        let mut map = SharedMap::new(&file, 8).unwrap();
        map.ints_mut().sort_unstable();
        map.sync().unwrap();
        drop(map);
        let mut back = Vec::new();
        file.rewind().unwrap();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back, [1i32.to_ne_bytes(), 3i32.to_ne_bytes()].concat());
        std::fs::remove_file(&path).unwrap();
    }
}
