//! The layout of the 1 MiB window both transfer programs map, and the hand-over protocol:
//! a page of header holding two process-shared semaphores, then a ring of 64 KiB slots.
//! `free` counts the slots B has emptied (A waits on it before filling one), `full` the
//! slots A has filled (B waits on it before reading one): a bounded buffer, so neither
//! side's speed matters.

use std::io;
use std::ptr;

use crate::mapping::SharedMap;
use crate::window_file::{CHUNK_BYTES, WINDOW_BYTES};

/// Bytes before the first slot (one page, holding [`Header`]).
pub const HEADER_BYTES: usize = 4096;
/// Number of slots in the ring: as many as fit after the header.
pub const SLOTS: usize = (WINDOW_BYTES - HEADER_BYTES) / CHUNK_BYTES;

/// What lives at offset 0 of the window.
#[repr(C)]
struct Header {
    free: libc::sem_t,
    full: libc::sem_t,
}

/// A mapped window: the producer's or the consumer's view.
#[derive(Debug)]
pub struct Window {
    map: SharedMap,
}

impl Window {
    /// Wraps a mapping of a window file another process has already initialised.
    pub fn attach(map: SharedMap) -> io::Result<Window> {
        if map.len() < WINDOW_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the window is smaller than 1 MiB",
            ));
        }
        Ok(Window { map })
    }

    /// Initialises the semaphores of a fresh window: every slot free, none full.
    pub fn init(map: SharedMap) -> io::Result<Window> {
        let w = Window::attach(map)?;
        // SAFETY: the header lies in our live shared mapping, no other process has the
        // window yet (it is published afterwards); pshared = 1 because the semaphores are
        // used across processes.
        check(unsafe { libc::sem_init(w.free(), 1, SLOTS as u32) })?;
        // SAFETY: as above.
        check(unsafe { libc::sem_init(w.full(), 1, 0) })?;
        Ok(w)
    }

    /// Producer: waits for slot `i % SLOTS` to be free, fills it with `chunk`, hands it to
    /// the consumer.
    pub fn put(&self, i: usize, chunk: &[u8]) -> io::Result<()> {
        assert!(chunk.len() <= CHUNK_BYTES);
        wait(self.free())?;
        // SAFETY: the slot lies in the mapping; after the wait on `free` the consumer has
        // finished with it and will not touch it until we post `full`.
        unsafe { ptr::copy_nonoverlapping(chunk.as_ptr(), self.slot(i), chunk.len()) };
        // SAFETY: `full` was initialised by `init`.
        check(unsafe { libc::sem_post(self.full()) })
    }

    /// Consumer: waits for slot `i % SLOTS` to be filled, lets `read` see its first `len`
    /// bytes, gives the slot back.
    pub fn take(&self, i: usize, len: usize, read: impl FnOnce(&[u8])) -> io::Result<()> {
        assert!(len <= CHUNK_BYTES);
        wait(self.full())?;
        // SAFETY: the slot lies in the mapping; after the wait on `full` the producer has
        // filled it and will not write it again until we post `free`, after `read` ends.
        read(unsafe { std::slice::from_raw_parts(self.slot(i), len) });
        // SAFETY: `free` was initialised by `init`.
        check(unsafe { libc::sem_post(self.free()) })
    }

    fn header(&self) -> *mut Header {
        self.map.as_ptr().cast()
    }

    fn free(&self) -> *mut libc::sem_t {
        // SAFETY: the header is within the mapping; addr_of_mut! makes no reference.
        unsafe { ptr::addr_of_mut!((*self.header()).free) }
    }

    fn full(&self) -> *mut libc::sem_t {
        // SAFETY: as in `free`.
        unsafe { ptr::addr_of_mut!((*self.header()).full) }
    }

    fn slot(&self, i: usize) -> *mut u8 {
        // SAFETY: HEADER_BYTES + SLOTS * CHUNK_BYTES <= WINDOW_BYTES <= the mapping's length.
        unsafe {
            self.map
                .as_ptr()
                .add(HEADER_BYTES + (i % SLOTS) * CHUNK_BYTES)
        }
    }
}

/// `sem_wait`, retried when a signal interrupts it.
fn wait(sem: *mut libc::sem_t) -> io::Result<()> {
    loop {
        // SAFETY: `sem` points to an initialised semaphore in the live mapping.
        if unsafe { libc::sem_wait(sem) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// The header must fit before the slots, and a ring needs at least two slots to overlap work.
const _: () = assert!(std::mem::size_of::<Header>() <= HEADER_BYTES);
const _: () = assert!(SLOTS >= 2 && HEADER_BYTES + SLOTS * CHUNK_BYTES <= WINDOW_BYTES);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{data_from_seed, Fnv1a64};
    use std::fs::OpenOptions;

    #[test]
    fn a_slow_consumer_still_gets_every_chunk_in_order() {
        let path = std::env::temp_dir().join(format!("lab5-window-ring-{}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.set_len(WINDOW_BYTES as u64).unwrap();
        let producer_view = file.try_clone().unwrap();
        let w = Window::init(SharedMap::new(&file, WINDOW_BYTES).unwrap()).unwrap();
        let data = data_from_seed(5, 3 * SLOTS * CHUNK_BYTES);
        let sent = data.clone();
        // Its own mapping of the same file, as process A would have.
        let producer = std::thread::spawn(move || {
            let a = Window::attach(SharedMap::new(&producer_view, WINDOW_BYTES).unwrap()).unwrap();
            for (i, chunk) in sent.chunks(CHUNK_BYTES).enumerate() {
                a.put(i, chunk).unwrap();
            }
        });
        let mut got = Vec::new();
        for i in 0..3 * SLOTS {
            std::thread::sleep(std::time::Duration::from_micros(200));
            w.take(i, CHUNK_BYTES, |b| got.extend_from_slice(b))
                .unwrap();
        }
        producer.join().unwrap();
        let (mut want, mut seen) = (Fnv1a64::default(), Fnv1a64::default());
        want.update(&data);
        seen.update(&got);
        assert_eq!(want, seen);
        std::fs::remove_file(&path).unwrap();
    }
}
