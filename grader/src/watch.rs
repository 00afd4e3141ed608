//! `cargo grader watch LAB`: regrades the submission each time one of its files is saved
//! (on the fast local backend, then in the guest once the local run earns full marks),
//! clears the screen and shows the score and the first failing scenario; keys: `q` quits,
//! `h` reveals the next hint of the first failing scenario, `r` regrades.
//!
//! The loop only decides when to grade and what to show: grading and hints come from a
//! [`Driver`] (the CLI's, or a test's), keys from a channel, the screen is any writer.
//! Changes are found by polling the submission's file sizes and mtimes: simple, and it
//! works on every filesystem and editor (even those saving through a rename).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use crate::report::GradeReport;
use crate::score::Status;
use crate::session::BackendChoice;

/// What grades and reveals hints for the watch loop.
pub trait Driver {
    /// Grades the submission on `backend`; an `Err` is a message to show (the loop goes on).
    fn grade(&mut self, backend: BackendChoice) -> Result<GradeReport, String>;
    /// Reveals the next hint level of `scenario`; returns what to show.
    fn hint(&mut self, scenario: &str) -> Result<String, String>;
    /// Sets the hint levels of `report` to what the student has revealed.
    fn refresh(&mut self, report: &mut GradeReport);
}

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The submission directory (its files are watched).
    pub dir: PathBuf,
    /// The backend of every run.
    pub backend: BackendChoice,
    /// After a full-marks local run, grade in the guest too.
    pub then_guest: bool,
    /// How often files are polled.
    pub poll: Duration,
}

/// Failures of the watch loop itself (never a student's failure).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The screen could not be written.
    #[error("failed to draw the watch screen: {0}")]
    Screen(#[source] io::Error),
    /// The terminal could not be switched to single-key input.
    #[error("failed to set up the terminal for single-key input: {0}")]
    Terminal(#[source] io::Error),
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The student pressed `q`.
    Quit,
    /// Standard input was closed.
    InputClosed,
}

/// The watch loop's state: the latest run and what to say about it.
#[derive(Debug, Default)]
struct Shown {
    run: u32,
    first: Option<Result<GradeReport, String>>,
    guest: Option<Result<GradeReport, String>>,
    note: Option<String>,
}

impl Shown {
    /// The report whose first failing scenario is shown: the guest's when there is one.
    fn latest(&mut self) -> Option<&mut GradeReport> {
        match (&mut self.guest, &mut self.first) {
            (Some(Ok(r)), _) | (None, Some(Ok(r))) => Some(r),
            _ => None,
        }
    }
}

/// Runs the loop until `q` or the end of `keys`.
pub fn run(
    driver: &mut dyn Driver,
    opts: &WatchOptions,
    keys: &Receiver<u8>,
    screen: &mut dyn Write,
) -> Result<Ended, WatchError> {
    let mut shown = Shown::default();
    regrade(driver, opts, &mut shown, screen)?;
    loop {
        // Taken after each grading: what the build or the run left there is not a save.
        let files = snapshot(&opts.dir);
        match keys.recv_timeout(opts.poll) {
            Ok(b'q' | b'Q' | 3 | 4) => return Ok(Ended::Quit),
            Ok(b'r' | b'R') => {
                shown.note = None;
                regrade(driver, opts, &mut shown, screen)?;
            }
            Ok(b'h' | b'H') => {
                hint(driver, &mut shown);
                draw(&shown, opts, None, screen)?;
            }
            Ok(_) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(Ended::InputClosed),
            Err(RecvTimeoutError::Timeout) => {
                let now = snapshot(&opts.dir);
                if now == files {
                    continue;
                }
                shown.note = changed(&files, &now).map(|p| {
                    let p = p.strip_prefix(&opts.dir).unwrap_or(p);
                    format!("{} saved", p.display())
                });
                regrade(driver, opts, &mut shown, screen)?;
            }
        }
    }
}

fn regrade(
    driver: &mut dyn Driver,
    opts: &WatchOptions,
    shown: &mut Shown,
    screen: &mut dyn Write,
) -> Result<(), WatchError> {
    shown.run += 1;
    shown.guest = None;
    let what = format!("grading ({})…", backend_name(opts.backend));
    draw(shown, opts, Some(&what), screen)?;
    let first = driver.grade(opts.backend);
    let passed = matches!(&first, Ok(r) if r.gradable && r.score == r.max_score);
    shown.first = Some(first);
    if passed && opts.then_guest && opts.backend == BackendChoice::Local {
        draw(
            shown,
            opts,
            Some("full marks locally: grading in the guest…"),
            screen,
        )?;
        shown.guest = Some(driver.grade(BackendChoice::Qemu));
    }
    draw(shown, opts, None, screen)
}

fn hint(driver: &mut dyn Driver, shown: &mut Shown) {
    let failing = shown
        .latest()
        .and_then(|r| first_failing(r).map(|t| t.name.clone()));
    let Some(name) = failing else {
        shown.note = Some("no failing scenario: no hint to reveal".into());
        return;
    };
    shown.note = Some(
        driver
            .hint(&name)
            .unwrap_or_else(|e| format!("no hint: {e}")),
    );
    for r in [&mut shown.first, &mut shown.guest]
        .into_iter()
        .flatten()
        .flatten()
    {
        driver.refresh(r);
    }
}

fn backend_name(b: BackendChoice) -> &'static str {
    match b {
        BackendChoice::Local => "local",
        BackendChoice::Qemu => "guest",
    }
}

fn first_failing(r: &GradeReport) -> Option<&crate::score::TestResult> {
    r.tests.iter().find(|t| t.status != Status::Passed)
}

fn draw(
    shown: &Shown,
    opts: &WatchOptions,
    busy: Option<&str>,
    screen: &mut dyn Write,
) -> Result<(), WatchError> {
    let mut text = String::new();
    render(shown, opts, busy, &mut text);
    // Clear the screen, cursor home; raw mode: every line ends with \r\n.
    let text = text.replace('\n', "\r\n");
    write!(screen, "\x1b[2J\x1b[H{text}")
        .and_then(|()| screen.flush())
        .map_err(WatchError::Screen)
}

fn render(shown: &Shown, opts: &WatchOptions, busy: Option<&str>, out: &mut String) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "cargo grader watch — {} — run {}\n",
        opts.dir.display(),
        shown.run
    );
    if let Some(first) = &shown.first {
        render_run(first, backend_name(opts.backend), out);
    }
    if let Some(guest) = &shown.guest {
        render_run(guest, "guest", out);
    }
    let failing = match (&shown.guest, &shown.first) {
        (Some(Ok(r)), _) | (None, Some(Ok(r))) => Some(r),
        _ => None,
    };
    if let Some(r) = failing.filter(|r| r.build.ok) {
        render_failing(r, out);
    }
    if let Some(note) = &shown.note {
        let _ = writeln!(out, "\n{note}");
    }
    let _ = writeln!(
        out,
        "\n{}",
        busy.unwrap_or("watching for saves · q quit · h next hint · r regrade")
    );
}

fn render_run(run: &Result<GradeReport, String>, backend: &str, out: &mut String) {
    use std::fmt::Write as _;
    match run {
        Err(e) => {
            let _ = writeln!(out, "{backend}: grading failed: {e}");
        }
        Ok(r) if !r.gradable => {
            let _ = writeln!(
                out,
                "{backend}: not gradable (not your fault): retry with r"
            );
        }
        Ok(r) if !r.build.ok => {
            let _ = writeln!(
                out,
                "score {}/{} ({backend}): the build failed\n",
                r.score, r.max_score
            );
            let lines: Vec<&str> = r.build.log.lines().collect();
            for l in &lines[lines.len().saturating_sub(20)..] {
                let _ = writeln!(out, "  {l}");
            }
        }
        Ok(r) => {
            let mark = if r.score == r.max_score {
                "  ✔ full marks"
            } else {
                ""
            };
            let _ = writeln!(out, "score {}/{} ({backend}){mark}", r.score, r.max_score);
        }
    }
}

fn render_failing(r: &GradeReport, out: &mut String) {
    use std::fmt::Write as _;
    let Some(t) = first_failing(r) else { return };
    let lost = r
        .tests
        .iter()
        .filter(|t| t.status != Status::Passed)
        .count();
    let _ = writeln!(
        out,
        "\nfirst failing scenario ({lost} failing): {} [{}] {}/{}",
        t.name,
        t.status.as_str(),
        t.score,
        t.max_score
    );
    for l in t.message.lines().take(12) {
        let _ = writeln!(out, "  {l}");
    }
    let total = t.hint_levels as usize;
    for (i, h) in t.hints.iter().enumerate() {
        let _ = writeln!(out, "  {}", crate::report::hints::level_line(i, total, h));
    }
    if t.hints.len() < total {
        let _ = writeln!(out, "  ({} more: press h)", total - t.hints.len());
    }
}

/// Size and mtime of every file of the submission, except what builds and the grader
/// write: `target/`, `.grader/`, `.git/`, objects and executables.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                let name = e.file_name();
                if ![".git", "target", ".grader"].iter().any(|s| name == *s) {
                    stack.push(path);
                }
            } else if !crate::handout::is_build_output(&path) {
                let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                out.insert(path, (meta.len(), mtime));
            }
        }
    }
    out
}

/// A file that differs between two snapshots (added, changed or removed).
fn changed<'a>(
    before: &'a BTreeMap<PathBuf, (u64, SystemTime)>,
    after: &'a BTreeMap<PathBuf, (u64, SystemTime)>,
) -> Option<&'a Path> {
    after
        .iter()
        .find(|(p, v)| before.get(*p) != Some(v))
        .or_else(|| before.iter().find(|(p, _)| !after.contains_key(*p)))
        .map(|(p, _)| p.as_path())
}

/// Keys from standard input, one byte each, read on a thread; the channel closes at the
/// end of input.
pub fn stdin_keys() -> Receiver<u8> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let mut stdin = io::stdin().lock();
        while let Ok(1) = io::Read::read(&mut stdin, &mut byte) {
            if tx.send(byte[0]).is_err() {
                break;
            }
        }
    });
    rx
}

/// Standard input switched to single keys without echo while it lives (a terminal only).
#[derive(Debug)]
pub struct RawMode {
    saved: Option<libc::termios>,
}

impl RawMode {
    /// Switches a terminal stdin; does nothing when stdin is not a terminal.
    pub fn enable() -> Result<RawMode, WatchError> {
        use std::io::IsTerminal;
        if !io::stdin().is_terminal() {
            return Ok(RawMode { saved: None });
        }
        // SAFETY: termios is plain data; tcgetattr fills it in or fails.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd 0 is open (a terminal, checked above) and `t` is a valid termios.
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return Err(WatchError::Terminal(io::Error::last_os_error()));
        }
        let saved = t;
        // Keys one at a time, unechoed; Ctrl-C and Ctrl-D come as keys (they quit, and the
        // terminal is restored) instead of killing the grader with echo still off.
        t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        // SAFETY: as above; `t` is the terminal's own settings with two flags changed.
        if unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) } != 0 {
            return Err(WatchError::Terminal(io::Error::last_os_error()));
        }
        Ok(RawMode { saved: Some(saved) })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: restores settings tcgetattr returned for the same fd.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }
}

#[cfg(test)]
mod tests;
