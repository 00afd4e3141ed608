//! The host end of the agent's virtio serial port: a socketpair whose other end QEMU
//! inherits (`-chardev socket,fd=N`). A writer thread sends the job frame as soon as QEMU
//! runs (the bytes wait in the socket until the agent reads them); a reader thread keeps
//! every byte the agent writes and notes, on the host's monotonic clock, when the
//! milestone events arrive (`ready`, `hello`, `done`), which is how boot and restore
//! times are measured without trusting the guest's clock.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When each milestone event arrived, from QEMU's spawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    /// The agent booted and waits for its job (cold boots only: a restored agent said
    /// it before its snapshot was taken).
    pub ready: Option<Duration>,
    /// The agent has its job.
    pub hello: Option<Duration>,
    /// The agent ran everything.
    pub done: Option<Duration>,
    /// The guest closed the channel (QEMU exited).
    pub closed: Option<Duration>,
}

impl Marks {
    /// The marks measured from `by` later than QEMU's spawn (a guest restored ahead of
    /// its job counts from the moment the job was sent).
    pub fn since(self, by: Duration) -> Marks {
        let shift = |m: Option<Duration>| m.map(|d| d.saturating_sub(by));
        Marks {
            ready: shift(self.ready),
            hello: shift(self.hello),
            done: shift(self.done),
            closed: shift(self.closed),
        }
    }
}

/// A frame known now, as the receiver [`Channel::start_with`] takes.
pub fn ready(frame: Vec<u8>) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    // The receiver is alive: the send cannot fail.
    let _ = tx.send(frame);
    rx
}

/// A socketpair for one guest, before QEMU starts.
#[derive(Debug)]
pub struct Channel {
    host: UnixStream,
    guest: OwnedFd,
}

impl Channel {
    /// A fresh pair.
    pub fn new() -> std::io::Result<Channel> {
        let (host, guest) = UnixStream::pair()?;
        Ok(Channel {
            host,
            guest: guest.into(),
        })
    }

    /// The descriptor QEMU inherits.
    pub fn guest_fd(&self) -> RawFd {
        self.guest.as_raw_fd()
    }

    /// Once QEMU runs: closes the host's copy of the guest end (so QEMU's exit ends the
    /// stream), sends the frame when it arrives on `frame` (at once when made by
    /// [`ready`]; later for a guest restored while the submission builds; a sender dropped
    /// without sending writes nothing), and starts collecting.
    pub fn start_with(
        self,
        frame: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
        spawned: Instant,
    ) -> std::io::Result<Live> {
        drop(self.guest);
        let shared = Arc::new((Mutex::new(Marks::default()), Condvar::new()));
        if let Some(frame) = frame {
            let mut writer = self.host.try_clone()?;
            // A guest that dies before reading it makes the write fail: its run says why.
            std::thread::spawn(move || {
                if let Ok(frame) = frame.recv() {
                    let _ = writer.write_all(&frame);
                }
            });
        }
        let marks = Arc::clone(&shared);
        let mut reader = self.host;
        let thread = std::thread::spawn(move || collect(&mut reader, &marks, spawned));
        Ok(Live {
            marks: shared,
            reader: Some(thread),
        })
    }
}

/// A channel QEMU is connected to.
#[derive(Debug)]
pub struct Live {
    marks: Arc<(Mutex<Marks>, Condvar)>,
    reader: Option<JoinHandle<Vec<u8>>>,
}

impl Live {
    /// The milestones so far.
    pub fn marks(&self) -> Marks {
        *self.marks.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `pick` holds for the marks (or the channel closed), at most until
    /// `deadline`; returns the marks then.
    pub fn wait_for(&self, deadline: Instant, pick: impl Fn(&Marks) -> bool) -> Marks {
        let (lock, cvar) = &*self.marks;
        let mut marks = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            if pick(&marks) || marks.closed.is_some() || now >= deadline {
                return *marks;
            }
            marks = cvar
                .wait_timeout(marks, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Everything the agent wrote; call once QEMU has exited.
    pub fn transcript(mut self) -> Vec<u8> {
        self.reader
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

/// Reads until the guest end closes, marking milestones as their lines complete.
fn collect(stream: &mut UnixStream, marks: &(Mutex<Marks>, Condvar), spawned: Instant) -> Vec<u8> {
    let mut all = Vec::new();
    let mut line_start = 0;
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        all.extend_from_slice(&buf[..n]);
        while let Some(pos) = all[line_start..].iter().position(|&b| b == b'\n') {
            let line = &all[line_start..line_start + pos];
            mark(line, marks, spawned.elapsed());
            line_start += pos + 1;
        }
    }
    let (lock, cvar) = marks;
    lock.lock().unwrap_or_else(|p| p.into_inner()).closed = Some(spawned.elapsed());
    cvar.notify_all();
    all
}

/// Events are serialized tag first (`{"event":"hello",…}`): the prefix says which.
fn mark(line: &[u8], marks: &(Mutex<Marks>, Condvar), at: Duration) {
    let (lock, cvar) = marks;
    let mut m = lock.lock().unwrap_or_else(|p| p.into_inner());
    let slot = if line.starts_with(br#"{"event":"ready""#) {
        &mut m.ready
    } else if line.starts_with(br#"{"event":"hello""#) {
        &mut m.hello
    } else if line.starts_with(br#"{"event":"done""#) {
        &mut m.done
    } else {
        return;
    };
    slot.get_or_insert(at);
    cvar.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;

    #[test]
    fn the_frame_goes_out_and_milestones_are_marked_in_order() {
        let channel = Channel::new().unwrap();
        // SAFETY: a fresh duplicate of the guest end, owned by this stream only.
        let mut guest = unsafe { UnixStream::from_raw_fd(libc::dup(channel.guest_fd())) };
        let live = channel
            .start_with(Some(ready(b"FRAME".to_vec())), Instant::now())
            .unwrap();
        let mut got = [0u8; 5];
        guest.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"FRAME");
        guest
            .write_all(b"{\"event\":\"ready\"}\n{\"event\":\"hello\",\"k\":1}\npartial")
            .unwrap();
        let marks = live.wait_for(Instant::now() + Duration::from_secs(10), |m| {
            m.hello.is_some()
        });
        assert!(marks.ready.is_some() && marks.hello.is_some() && marks.done.is_none());
        guest.write_all(b" line\n{\"event\":\"done\"}\n").unwrap();
        drop(guest);
        let marks = live.wait_for(Instant::now() + Duration::from_secs(10), |_| false);
        assert!(marks.done.is_some() && marks.closed.is_some());
        let text = String::from_utf8(live.transcript()).unwrap();
        assert!(
            text.ends_with("partial line\n{\"event\":\"done\"}\n"),
            "{text}"
        );
    }
}
