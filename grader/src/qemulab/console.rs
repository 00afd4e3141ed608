//! The student's QEMU's stdio, driven like a person at the terminal: with `-nographic`
//! the guest's serial console and the human monitor share it, and Ctrl-a c switches
//! between them. A thread reads QEMU's output into a buffer; the grader waits for text
//! in it (the guest's ready line, the `(qemu) ` prompt, the framed facts) with deadlines,
//! and types the student's monitor commands and guest lines.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The line the lab7 guest's shell prints when it is ready for input.
pub const READY: &str = "lab7-guest: ready";
/// The monitor's prompt.
const PROMPT: &[u8] = b"(qemu) ";
/// The mux's escape: Ctrl-a then c.
const SWITCH: &[u8] = b"\x01c";
/// The guest command printing its facts, and the frame around them.
const FACTS_COMMAND: &str = "lab7-facts";
const FACTS_BEGIN: &str = "@@facts-begin";
const FACTS_END: &[u8] = b"@@facts-end";
/// Output kept before the read position, for messages.
const KEEP: usize = 64 << 10;
/// How long a second Ctrl-a c may take to show the prompt.
const SECOND_SWITCH_WAIT: Duration = Duration::from_secs(3);

/// Why waiting for output stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The deadline passed.
    Timeout,
    /// QEMU closed its stdout (it exited).
    Closed,
}

#[derive(Debug, Default)]
struct Buffer {
    data: Vec<u8>,
    /// Absolute offset of `data[0]` in the whole output.
    start: usize,
    closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    buffer: Mutex<Buffer>,
    grew: Condvar,
}

/// Which side of the mux has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Guest,
    Monitor,
}

/// QEMU's stdio.
pub struct Console {
    input: Box<dyn Write + Send>,
    shared: Arc<Shared>,
    /// Absolute offset up to which output has been consumed.
    cursor: usize,
    focus: Focus,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("cursor", &self.cursor)
            .field("focus", &self.focus)
            .finish()
    }
}

/// What the monitor answered to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The command typed.
    pub command: String,
    /// Its output (escape codes and the echo removed); empty when it printed nothing.
    pub text: String,
    /// No prompt came back: QEMU exited (`quit`), or the deadline passed.
    pub ended: Option<Stop>,
}

impl Console {
    /// Drives a child's stdin and stdout; the guest console has the focus at first.
    pub fn new<W, R>(input: W, output: R) -> Console
    where
        W: Write + Send + 'static,
        R: Read + Send + 'static,
    {
        let shared = Arc::new(Shared::default());
        let reader = Arc::clone(&shared);
        std::thread::spawn(move || pump(output, &reader));
        Console {
            input: Box::new(input),
            shared,
            cursor: 0,
            focus: Focus::Guest,
        }
    }

    /// Forgets the output so far: later waits only see what comes next.
    pub fn skip(&mut self) {
        let buffer = self.shared.buffer.lock().unwrap_or_else(|e| e.into_inner());
        self.cursor = buffer.start + buffer.data.len();
    }

    /// Waits until `needle` appears after the cursor; returns the text up to and
    /// including it and moves the cursor past it.
    pub fn wait_for(&mut self, needle: &[u8], deadline: Instant) -> Result<Vec<u8>, Stop> {
        let mut buffer = self.shared.buffer.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let from = self
                .cursor
                .saturating_sub(buffer.start)
                .min(buffer.data.len());
            if let Some(i) = find(&buffer.data[from..], needle) {
                let end = from + i + needle.len();
                let text = buffer.data[from..end].to_vec();
                self.cursor = buffer.start + end;
                trim(&mut buffer, self.cursor);
                return Ok(text);
            }
            if buffer.closed {
                return Err(Stop::Closed);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Stop::Timeout);
            }
            buffer = self
                .shared
                .grew
                .wait_timeout(buffer, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> usize {
        let buffer = self.shared.buffer.lock().unwrap_or_else(|e| e.into_inner());
        buffer.start + buffer.data.len()
    }

    /// Whether QEMU closed its stdout.
    pub fn closed(&self) -> bool {
        self.shared
            .buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed
    }

    /// The last `lines` lines of output, cleaned for a message.
    pub fn tail(&self, lines: usize) -> String {
        let buffer = self.shared.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let text = crate::sandbox::qemu::clean_console(&buffer.data);
        let kept: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        kept[kept.len().saturating_sub(lines)..].join("\n")
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.input
            .write_all(bytes)
            .and_then(|()| self.input.flush())
            .map_err(|_| Stop::Closed)
    }

    /// Gives the keyboard to the monitor (Ctrl-a c) and waits for its prompt until
    /// `deadline` (a loaded host may be slow to switch). With no prompt by then, the
    /// monitor may have had the focus already (the switch went to the guest): a second
    /// Ctrl-a c gets it back.
    pub fn enter_monitor(&mut self, deadline: Instant) -> Result<(), Stop> {
        if self.focus == Focus::Monitor {
            return Ok(());
        }
        self.skip();
        self.send(SWITCH)?;
        let prompted = match self.wait_for(PROMPT, deadline) {
            Err(Stop::Timeout) => {
                self.send(SWITCH)?;
                self.wait_for(PROMPT, Instant::now() + SECOND_SWITCH_WAIT)
            }
            other => other,
        };
        prompted?;
        self.focus = Focus::Monitor;
        Ok(())
    }

    /// Gives the keyboard back to the guest console.
    pub fn leave_monitor(&mut self) -> Result<(), Stop> {
        if self.focus == Focus::Monitor {
            self.send(SWITCH)?;
            self.focus = Focus::Guest;
        }
        Ok(())
    }

    /// Types one command at the monitor and waits for the next prompt.
    pub fn monitor(&mut self, command: &str, deadline: Instant) -> Reply {
        let command = sanitize(command);
        self.skip();
        let typed = self.send(format!("{command}\n").as_bytes());
        let waited = typed.and_then(|()| self.wait_for(PROMPT, deadline));
        match waited {
            Ok(raw) => Reply {
                text: monitor_output(&raw),
                command,
                ended: None,
            },
            Err(stop) => Reply {
                command,
                text: String::new(),
                ended: Some(stop),
            },
        }
    }

    /// Types one line at the guest's shell (the monitor must not have the focus).
    pub fn guest_line(&mut self, line: &str) -> Result<(), Stop> {
        self.send(format!("{}\n", sanitize(line)).as_bytes())
    }

    /// Runs the guest's facts command and parses its framed output.
    pub fn facts(&mut self, deadline: Instant) -> Result<Facts, Stop> {
        self.skip();
        self.guest_line(FACTS_COMMAND)?;
        let raw = self.wait_for(FACTS_END, deadline)?;
        Ok(Facts::parse(&String::from_utf8_lossy(&raw)))
    }
}

/// Moves QEMU's output into the buffer until it closes.
fn pump<R: Read>(mut output: R, shared: &Shared) {
    let mut chunk = [0u8; 8192];
    loop {
        let n = match output.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        let mut buffer = shared.buffer.lock().unwrap_or_else(|e| e.into_inner());
        if n == 0 {
            buffer.closed = true;
        } else {
            buffer.data.extend_from_slice(&chunk[..n]);
        }
        shared.grew.notify_all();
        if n == 0 {
            return;
        }
    }
}

/// Drops consumed output beyond the [`KEEP`] bytes kept for messages.
fn trim(buffer: &mut Buffer, cursor: usize) {
    let consumed = cursor.saturating_sub(buffer.start);
    if consumed > 2 * KEEP {
        let drop = consumed - KEEP;
        buffer.data.drain(..drop);
        buffer.start += drop;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One line of printable text: control characters (a stray Ctrl-a would switch the mux)
/// become spaces.
fn sanitize(line: &str) -> String {
    line.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The monitor's answer in what it printed after a command: the echo (redrawn once per
/// typed character) ends with the first line break; the answer runs to the prompt.
fn monitor_output(raw: &[u8]) -> String {
    let body = &raw[..raw.len().saturating_sub(PROMPT.len())];
    let after_echo = find(body, b"\n").map_or(&body[..0], |i| &body[i + 1..]);
    crate::sandbox::qemu::clean_console(after_echo)
        .trim()
        .to_owned()
}

/// What the guest's facts command printed: `key=value` lines (a key may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    values: BTreeMap<String, Vec<String>>,
}

impl Facts {
    /// Parses the text between the last begin marker and the end marker.
    pub fn parse(text: &str) -> Facts {
        let body = text.rsplit_once(FACTS_BEGIN).map_or(text, |(_, b)| b);
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in body.lines() {
            if let Some((k, v)) = line.trim().split_once('=') {
                values
                    .entry(k.trim().to_owned())
                    .or_default()
                    .push(v.trim().to_owned());
            }
        }
        Facts { values }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> &[String] {
        self.values.get(key).map_or(&[], Vec::as_slice)
    }

    /// How many CPUs a sysfs list (`online`, `present`: `0-2,4`) names.
    pub fn cpu_count(&self, key: &str) -> Option<u32> {
        cpu_list_len(self.get(key)?)
    }

    /// The guest's MemTotal in KiB.
    pub fn memtotal_kb(&self) -> Option<u64> {
        self.get("memtotal_kb")?.parse().ok()
    }
}

/// Counts a kernel CPU list: `0`, `0-3`, `0-1,3`.
pub fn cpu_list_len(list: &str) -> Option<u32> {
    let mut n = 0;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        n += match part.split_once('-') {
            Some((a, b)) => {
                b.trim()
                    .parse::<u32>()
                    .ok()?
                    .checked_sub(a.trim().parse().ok()?)?
                    + 1
            }
            None => part.trim().parse::<u32>().map(|_| 1).ok()?,
        };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;
    use std::os::unix::net::UnixStream;

    /// A fake QEMU stdio: a guest shell answering `lab7-facts`, and a monitor behind
    /// Ctrl-a c that redraws the line per character as HMP's readline does.
    fn fake_qemu() -> Console {
        fake_qemu_focused(false)
    }

    fn fake_qemu_focused(monitor_first: bool) -> Console {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut out = theirs.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut monitor = monitor_first;
            write!(out, "Linux booting\r\n{READY}\r\nlab7# ").unwrap();
            let (mut bytes, mut line) = (BufReader::new(theirs).bytes(), Vec::new());
            while let Some(Ok(b)) = bytes.next() {
                if b == SWITCH[0] && matches!(bytes.next(), Some(Ok(b'c'))) {
                    monitor = !monitor;
                    if monitor {
                        write!(out, "QEMU 7.2.22 monitor\r\n(qemu) ").unwrap();
                    }
                    continue;
                }
                if b != b'\n' {
                    line.push(b);
                    continue;
                }
                let text = String::from_utf8(std::mem::take(&mut line)).unwrap();
                if monitor {
                    for i in 1..=text.len() {
                        write!(out, "{}\x1b[K\x1b[D", &text[..i]).unwrap();
                    }
                    match text.as_str() {
                        "quit" => return,
                        "cpu-add 1" => {
                            write!(out, "\r\nunknown command: 'cpu-add'\r\n(qemu) ").unwrap()
                        }
                        _ => write!(out, "\r\n(qemu) ").unwrap(),
                    }
                } else if text == FACTS_COMMAND {
                    write!(out, "{text}\r\n{FACTS_BEGIN}\r\nonline=0-1,3\r\nmemtotal_kb=91780\r\ndisk=vda:262144\r\ndisk=vdb:8\r\n@@facts-end\r\nlab7# ").unwrap();
                } else {
                    write!(out, "{text}\r\nlab7# ").unwrap();
                }
            }
        });
        Console::new(ours.try_clone().unwrap(), ours)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn monitor_replies_are_read_between_prompts_and_quit_ends_it() {
        let mut c = fake_qemu();
        c.wait_for(READY.as_bytes(), soon()).unwrap();
        c.enter_monitor(soon()).unwrap();
        let r = c.monitor("cpu-add 1", soon());
        assert_eq!(
            (r.text.as_str(), r.ended),
            ("unknown command: 'cpu-add'", None)
        );
        let r = c.monitor("balloon 128", soon());
        assert_eq!((r.text.as_str(), r.ended), ("", None));
        c.leave_monitor().unwrap();
        let facts = c.facts(soon()).unwrap();
        assert_eq!(facts.cpu_count("online"), Some(3));
        assert_eq!(facts.memtotal_kb(), Some(91780));
        assert_eq!(facts.all("disk"), ["vda:262144", "vdb:8"]);
        c.enter_monitor(soon()).unwrap();
        let r = c.monitor("quit", soon());
        assert_eq!(r.ended, Some(Stop::Closed));
        assert!(c.closed());
        assert!(c.received() > 100);
        assert!(c.tail(3).contains("quit"), "{}", c.tail(3));
    }

    #[test]
    fn a_monitor_that_had_the_focus_is_reached_with_a_second_switch() {
        let mut c = fake_qemu_focused(true);
        c.wait_for(READY.as_bytes(), soon()).unwrap();
        c.enter_monitor(Instant::now() + Duration::from_millis(300))
            .unwrap();
        assert_eq!(
            c.monitor("cpu-add 1", soon()).text,
            "unknown command: 'cpu-add'"
        );
    }

    #[test]
    fn waiting_for_text_that_never_comes_times_out() {
        let mut c = fake_qemu();
        let start = Instant::now();
        let got = c.wait_for(
            b"never printed",
            Instant::now() + Duration::from_millis(200),
        );
        assert_eq!(got, Err(Stop::Timeout));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn cpu_lists_count_ranges_and_singles() {
        assert_eq!(cpu_list_len("0"), Some(1));
        assert_eq!(cpu_list_len("0-3"), Some(4));
        assert_eq!(cpu_list_len("0-1,3\n"), Some(3));
        assert_eq!(cpu_list_len("3-1"), None);
        assert_eq!(cpu_list_len("x"), None);
    }

    #[test]
    fn typed_lines_lose_control_characters() {
        assert_eq!(sanitize("echo 1\x01c\r"), "echo 1 c ");
        assert_eq!(
            monitor_output(b"b\x1b[K\x1b[Dba\x1b[K\r\nError: x\r\n(qemu) "),
            "Error: x"
        );
    }
}
