//! `mmap_sort FILE`: sorts a file of native-endian `int`s in place, in a shared mapping.
//! Prints nothing on success (the grader checks that no `write(2)` is made at all).

use std::fs::{File, OpenOptions};
use std::io;

use mmap_lab::{die, Args};

fn main() {
    let args = Args::parse("mmap_sort FILE", 1, 0);
    let path = args.path(0);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| die(path.display(), e));
    let len = file
        .metadata()
        .unwrap_or_else(|e| die(path.display(), e))
        .len() as usize;
    if len % 4 != 0 {
        die(path.display(), format!("size {len} is not a multiple of 4"));
    }
    // An empty file has nothing to sort (and mmap refuses a zero length).
    if len > 0 {
        sort_in_place(&file, len).unwrap_or_else(|e| die(path.display(), e));
    }
}

/// Maps the whole file shared and writable, sorts its `len / 4` ints in the mapping,
/// flushes the mapping to the file and unmaps it.
fn sort_in_place(_file: &File, _len: usize) -> io::Result<()> {
    todo!(
        "sort the len / 4 ints in place, in memory that is the file: map all of it \
         readable, writable and shared (a private mapping is a copy the file never sees), \
         sort them there (a &mut [i32] over the mapping: std::slice::from_raw_parts_mut), \
         make sure the file holds the result before unmapping, unmap. Never \
         read(2)/write(2) the data; errors are io::Error::last_os_error(). See mmap(2), \
         msync(2), munmap(2)"
    )
}
