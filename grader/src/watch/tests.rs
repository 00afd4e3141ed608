//! The watch loop with a scripted driver: a save regrades, `h` reveals, `q` quits, a full
//! local run is followed by the guest's.

use super::*;

fn report(score: u32, hints_shown: usize) -> GradeReport {
    let shown = &["think", "closer", "recipe"][..hints_shown];
    let test = |name: &str, status: &str| {
        serde_json::json!({"name": name, "title": null, "status": status, "score": 0,
            "max_score": 1, "message": "expected 3 lines, got 2", "hint": null,
            "hints": shown, "hint_levels": 3,
            "duration_ms": 0})
    };
    let failing = if score == 2 { "passed" } else { "failed" };
    serde_json::from_value(serde_json::json!({
        "format_version": 1, "lab": "lab1", "title": "t", "submission": "/s",
        "language": "c", "backend": "local", "gradable": true, "score": score, "max_score": 2,
        "build": {"ok": true, "log": ""},
        "tests": [test("first_ok", "passed"), test("recv_order", failing)],
        "audit": {"leaks": []}, "duration_ms": 0, "seed": 1
    }))
    .unwrap()
}

#[derive(Default)]
struct Script {
    grades: Vec<BackendChoice>,
    scores: Vec<u32>,
    hints: Vec<String>,
    shown: usize,
}

impl Driver for Script {
    fn grade(&mut self, backend: BackendChoice) -> Result<GradeReport, String> {
        self.grades.push(backend);
        let score = self.scores.get(self.grades.len() - 1).copied().unwrap_or(2);
        Ok(report(score, self.shown.max(1)))
    }
    fn hint(&mut self, scenario: &str) -> Result<String, String> {
        self.hints.push(scenario.to_owned());
        self.shown = (self.shown.max(1) + 1).min(3);
        Ok(format!("hint {}/3 revealed", self.shown))
    }
    fn refresh(&mut self, report: &mut GradeReport) {
        for t in &mut report.tests {
            if t.status != Status::Passed {
                t.hints = ["think", "closer", "recipe"][..self.shown]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
            }
        }
    }
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("grader-watch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("target")).unwrap();
    std::fs::write(d.join("msgq.c"), "int main;").unwrap();
    d
}

fn opts(dir: PathBuf) -> WatchOptions {
    WatchOptions {
        dir,
        backend: BackendChoice::Local,
        then_guest: true,
        poll: Duration::from_millis(20),
    }
}

#[test]
fn a_save_regrades_h_reveals_the_first_failing_scenarios_hint_and_q_quits() {
    let o = opts(dir("save"));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut driver = Script {
        scores: vec![1, 2, 2],
        ..Default::default()
    };
    let path = o.dir.join("msgq.c");
    let o2 = o.clone();
    let feeder = std::thread::spawn(move || {
        let pause = || std::thread::sleep(Duration::from_millis(150));
        pause();
        tx.send(b'h').unwrap();
        pause();
        // Build outputs and target/ are not saves.
        std::fs::write(o2.dir.join("target/x"), "1").unwrap();
        std::fs::write(o2.dir.join("msgq.o"), "1").unwrap();
        pause();
        std::fs::write(&path, "int main(void) { return 0; }").unwrap();
        pause();
        pause();
        tx.send(b'q').unwrap();
    });
    let mut screen = Vec::new();
    let ended = run(&mut driver, &o, &rx, &mut screen).unwrap();
    feeder.join().unwrap();
    assert_eq!(ended, Ended::Quit);
    assert_eq!(driver.hints, ["recv_order"]);
    assert_eq!(
        driver.grades,
        [
            BackendChoice::Local,
            BackendChoice::Local,
            BackendChoice::Qemu
        ],
        "one regrade for the save, then the guest after full marks locally"
    );
    let text = String::from_utf8(screen).unwrap();
    assert!(text.contains("\x1b[2J\x1b[H"), "the screen is cleared");
    assert!(text.contains("score 1/2 (local)\r\n"), "{text}");
    assert!(
        text.contains("first failing scenario (1 failing): recv_order [failed] 0/1\r\n  expected 3 lines, got 2"),
        "{text}"
    );
    assert!(
        text.contains("  hint 2/3: closer\r\n  (1 more: press h)"),
        "{text}"
    );
    assert!(text.contains("msgq.c saved"), "{text}");
    let last = text.rsplit("\x1b[2J").next().unwrap();
    assert!(
        last.contains("run 2")
            && last.contains("score 2/2 (local)  ✔ full marks")
            && last.contains("score 2/2 (guest)"),
        "{last}"
    );
}

#[test]
fn r_regrades_and_the_end_of_input_ends_the_loop() {
    let mut o = opts(dir("eof"));
    o.then_guest = false;
    let (tx, rx) = std::sync::mpsc::channel();
    tx.send(b'x').unwrap();
    tx.send(b'r').unwrap();
    drop(tx);
    let mut driver = Script::default();
    let ended = run(&mut driver, &o, &rx, &mut std::io::sink()).unwrap();
    assert_eq!(ended, Ended::InputClosed);
    assert_eq!(driver.grades, [BackendChoice::Local, BackendChoice::Local]);
}
