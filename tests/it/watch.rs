//! `cargo grader watch` on a pseudo-terminal: it grades, regrades when a file of the
//! submission is saved (the new score shows), reveals a hint on `h`, and quits on `q`
//! with exit 0; its scores count for `cargo grader progress`.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::{root, tempdir};

/// A pseudo-terminal pair: (master, slave).
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: both out-pointers are valid; name, termios and winsize may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh descriptors that nothing else owns.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Everything the program wrote on the terminal so far, read on a thread.
fn collect(master: &OwnedFd) -> Arc<Mutex<String>> {
    let seen = Arc::new(Mutex::new(String::new()));
    let mut file = std::fs::File::from(master.try_clone().unwrap());
    let out = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // EIO once the last slave descriptor is closed: the program is gone.
        while let Ok(n @ 1..) = file.read(&mut buf) {
            out.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    seen
}

fn wait_for(seen: &Mutex<String>, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let text = seen.lock().unwrap().clone();
        if ok(&text) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "no {what} on the terminal:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last screen drawn (after the last clear), once it is idle again.
fn idle_screen(seen: &Mutex<String>, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let text = wait_for(seen, what, |t| {
        let last = t.rsplit("\x1b[2J").next().unwrap_or("");
        last.contains("watching for saves") && ok(last)
    });
    text.rsplit("\x1b[2J").next().unwrap().to_owned()
}

fn spawn(sub: &std::path::Path, state: &std::path::Path, slave: &OwnedFd) -> Child {
    let io = || Stdio::from(slave.try_clone().unwrap());
    Command::new(env!("CARGO_BIN_EXE_cargo-grader"))
        .args([
            "grader",
            "watch",
            "lab1",
            "--lang",
            "c",
            "--no-guest",
            "--submission",
        ])
        .arg(sub)
        .current_dir(root())
        .env(grader::hints::state::STATE_ENV, state)
        .stdin(io())
        .stdout(io())
        .stderr(io())
        .spawn()
        .expect("cargo-grader runs")
}

fn score(screen: &str) -> (u32, u32) {
    let at = screen.find("score ").expect("a score") + "score ".len();
    let (s, rest) = screen[at..].split_once('/').unwrap();
    let max: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (s.parse().unwrap(), max.parse().unwrap())
}

#[test]
fn watch_regrades_on_save_shows_the_new_score_and_quits_on_q() {
    let sub = tempdir("watch-sub");
    std::fs::create_dir_all(&sub).unwrap();
    for f in ["Makefile", "common.c", "common.h", "msgq.c"] {
        std::fs::copy(root().join("labs/lab1-msgq/c").join(f), sub.join(f)).unwrap();
    }
    let (master, slave) = openpty();
    let state = tempdir("watch-state").join("state.json");
    let mut child = spawn(&sub, &state, &slave);
    drop(slave);
    let seen = collect(&master);
    let mut keys = std::fs::File::from(master.try_clone().unwrap());

    let first = idle_screen(&seen, "first score", |s| s.contains("run 1"));
    let (got, max) = score(&first);
    assert!(got < max, "the skeleton is below max:\n{first}");
    assert!(first.contains("first failing scenario"), "{first}");

    keys.write_all(b"h").unwrap();
    let hinted = idle_screen(&seen, "hint", |s| {
        s.contains("revealed") || s.contains("every hint is shown")
    });
    assert!(hinted.contains("hint"), "{hinted}");

    // Saving the solved file regrades: full marks.
    let solved = std::fs::read(root().join("solutions/lab1-msgq/c/msgq.c")).unwrap();
    std::fs::write(sub.join("msgq.c"), solved).unwrap();
    let second = idle_screen(&seen, "second run", |s| s.contains("run 2"));
    assert!(second.contains("msgq.c saved"), "{second}");
    assert_eq!(score(&second), (max, max), "{second}");
    assert!(second.contains("full marks"), "{second}");

    keys.write_all(b"q").unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "q did not quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let runs = seen.lock().unwrap().matches("grading (local)").count();
    assert_eq!(runs, 2, "one grading at start, one per save");
    let progress = crate::util::grader_with_state(&root(), &["progress"], &state);
    let (stdout, _) = crate::util::text(&progress);
    let want = format!("lab1  msgq    best {max}/{max} on ");
    assert!(stdout.contains(&want), "watch runs count:\n{stdout}");
    assert!(stdout.contains("✔ full marks"), "{stdout}");
}
