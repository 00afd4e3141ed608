//! Progress for people, rendered from the run's events: [`PhaseLines`] prints a line on
//! stderr as each phase of one grading begins; on a terminal [`PhaseBar`] shows instead a
//! spinner with the phase's elapsed time (preparing the guest image, building, booting)
//! and a bar over the scenarios ([`phases`] picks one). [`BulkProgress`] follows a bulk
//! run — on a terminal, an indicatif bar with done/total, how many lost points or are not
//! gradable, and the ETA; otherwise (a log file, CI) one plain line per finished student.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::events::{Event, Subscriber};
use crate::report::csv::{GradebookRow, RowStatus};

/// `grader: building…`, one line on stderr per phase of a grading.
#[derive(Debug)]
pub struct PhaseLines {
    /// Silent.
    pub quiet: bool,
}

impl Subscriber for PhaseLines {
    fn event(&mut self, event: &Event<'_>) {
        if let (Event::Phase { what, .. }, false) = (event, self.quiet) {
            eprintln!("grader: {what}…");
        }
    }
}

/// A spinner per phase and a bar over the scenarios, on stderr (indicatif draws nothing
/// when stderr is not a terminal).
#[derive(Debug)]
pub struct PhaseBar {
    bar: indicatif::ProgressBar,
    scenarios: u64,
}

const SPIN: &str = "{spinner} {elapsed:>3} {wide_msg}";
const BAR: &str = "{spinner} {elapsed:>3} [{bar:24}] {pos}/{len} {wide_msg}";
const BULK: &str = "[{bar:24}] {pos}/{len} · {msg} · {elapsed} · ETA {eta}";

fn style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .expect("the templates are valid")
        .progress_chars("#>.")
}

impl PhaseBar {
    /// A bar for a grading of `scenarios` scenarios (0 when unknown).
    pub fn new(scenarios: usize) -> PhaseBar {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        PhaseBar {
            bar,
            scenarios: scenarios as u64,
        }
    }

    /// A phase before the grading proper (the guest image and snapshot) begins.
    pub fn preparing(&self, what: &str) {
        self.spin(what);
    }

    fn spin(&self, what: &str) {
        self.bar.set_style(style(SPIN));
        self.bar.set_message(what.to_owned());
        self.bar.reset_elapsed();
    }

    /// Removes the bar (before the report is printed).
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Subscriber for PhaseBar {
    fn event(&mut self, event: &Event<'_>) {
        match *event {
            Event::Phase {
                phase: crate::events::Phase::Scenarios,
                what,
            } if self.scenarios > 0 => {
                self.bar.set_style(style(BAR));
                self.bar.set_length(self.scenarios);
                self.bar.set_position(0);
                self.bar.set_message(what.to_owned());
                self.bar.reset_elapsed();
            }
            Event::Phase { what, .. } => self.spin(what),
            Event::Scored { result } => {
                self.bar.inc(1);
                self.bar.set_message(result.name.clone());
            }
            Event::Graded { .. } => self.clear(),
            Event::Notice { text } => self.bar.println(text),
            _ => {}
        }
    }
}

impl Drop for PhaseBar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The progress of one grading: nothing when quiet, the bar on a terminal, else lines.
pub fn phases(quiet: bool, scenarios: usize) -> Box<dyn Subscriber> {
    use std::io::IsTerminal;
    if !quiet && std::io::stderr().is_terminal() {
        Box::new(PhaseBar::new(scenarios))
    } else {
        Box::new(PhaseLines { quiet })
    }
}

/// Counts and clock of a bulk run.
pub struct BulkProgress {
    total: usize,
    done: usize,
    skipped: usize,
    below_max: usize,
    not_gradable: usize,
    start: Instant,
    tty: bool,
    quiet: bool,
    out: Box<dyn Write + Send>,
    /// On a terminal stderr: the indicatif bar (position, counts, ETA).
    bar: Option<indicatif::ProgressBar>,
}

impl std::fmt::Debug for BulkProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.status_line())
    }
}

/// `1m05s`, `42s`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl BulkProgress {
    /// Progress on stderr: an indicatif bar when stderr is a terminal, else lines.
    pub fn stderr(quiet: bool) -> BulkProgress {
        use std::io::IsTerminal;
        let mut p = BulkProgress::new(Box::new(std::io::stderr()), false, quiet);
        if !quiet && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(0).with_style(style(BULK));
            bar.enable_steady_tick(Duration::from_millis(500));
            p.bar = Some(bar);
        }
        p
    }

    /// Progress on any writer.
    pub fn new(out: Box<dyn Write + Send>, tty: bool, quiet: bool) -> BulkProgress {
        BulkProgress {
            total: 0,
            done: 0,
            skipped: 0,
            below_max: 0,
            not_gradable: 0,
            start: Instant::now(),
            tty,
            quiet,
            out,
            bar: None,
        }
    }

    /// The run begins: `total` students, `skipped` of them already graded earlier.
    pub fn start(&mut self, total: usize, skipped: usize) {
        self.total = total;
        self.skipped = skipped;
        self.done = skipped;
        self.start = Instant::now();
        if skipped > 0 {
            self.say(&format!(
                "{skipped} of {total} already graded by an earlier run: kept, not redone"
            ));
        }
        self.draw(None);
        if let Some(bar) = &self.bar {
            // Students kept from an earlier run took no time: they must not speed the ETA.
            bar.reset_eta();
        }
    }

    /// Counts a row that an earlier run finished (so failures include it).
    pub fn count_kept(&mut self, row: &GradebookRow) {
        self.tally(row);
    }

    fn tally(&mut self, row: &GradebookRow) {
        match row.status {
            RowStatus::FullMarks => {}
            RowStatus::PointsLost | RowStatus::BuildFailed => self.below_max += 1,
            RowStatus::NotGradable | RowStatus::Missing => self.not_gradable += 1,
        }
    }

    /// A student is finished.
    pub fn finished(&mut self, row: &GradebookRow, elapsed: Duration, attempts: u32) {
        self.done += 1;
        self.tally(row);
        let score = row.score.map_or("-".to_string(), |s| s.to_string());
        let retry = if attempts > 1 {
            format!(", {attempts} attempts")
        } else {
            String::new()
        };
        let line = format!(
            "[{}/{}] {}: {score}/{} {} ({:.1} s{retry})",
            self.done,
            self.total,
            row.student,
            row.max_score,
            row.status.as_str(),
            elapsed.as_secs_f64()
        );
        self.draw(Some(&line));
    }

    /// A free-form message (kept above the bar on a terminal).
    pub fn say(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.println(format!("bulk: {text}"));
            return;
        }
        if self.tty {
            let _ = write!(self.out, "\r\x1b[2K");
        }
        let _ = writeln!(self.out, "bulk: {text}");
        if self.tty {
            self.draw(None);
        }
    }

    fn eta(&self) -> Option<Duration> {
        let graded = self.done.saturating_sub(self.skipped);
        let left = self.total.saturating_sub(self.done);
        (graded > 0 && left > 0).then(|| self.start.elapsed().mul_f64(left as f64 / graded as f64))
    }

    /// The status line: bar, counts, ETA.
    pub fn status_line(&self) -> String {
        const WIDTH: usize = 24;
        let filled = (self.done * WIDTH)
            .checked_div(self.total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let eta = self
            .eta()
            .map_or(String::new(), |d| format!(" · ETA {}", clock(d)));
        format!(
            "[{}{}] {}/{} · {} below max · {} not gradable · {}{eta}",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            self.done,
            self.total,
            self.below_max,
            self.not_gradable,
            clock(self.start.elapsed())
        )
    }

    fn draw(&mut self, line: Option<&str>) {
        if self.quiet {
            return;
        }
        if let Some(bar) = &self.bar {
            if let Some(l) = line {
                bar.println(l);
            }
            bar.set_length(self.total as u64);
            bar.set_position(self.done as u64);
            bar.set_message(format!(
                "{} below max · {} not gradable",
                self.below_max, self.not_gradable
            ));
            return;
        }
        if self.tty {
            if let Some(l) = line {
                let _ = writeln!(self.out, "\r\x1b[2K{l}");
            }
            let _ = write!(self.out, "\r\x1b[2K{}", self.status_line());
        } else if let Some(l) = line {
            let _ = writeln!(self.out, "bulk: {l}");
        }
        let _ = self.out.flush();
    }

    /// The run is over: leave the bar's line.
    pub fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        } else if self.tty && !self.quiet {
            let _ = writeln!(self.out);
        }
    }
}

impl Subscriber for BulkProgress {
    fn event(&mut self, event: &Event<'_>) {
        match *event {
            Event::ClassStarted { students, kept } => self.start(students, kept),
            Event::StudentKept { row } => self.count_kept(row),
            Event::StudentGraded {
                row,
                elapsed,
                attempts,
            } => self.finished(row, elapsed, attempts),
            Event::Notice { text } => self.say(text),
            Event::ClassFinished => self.finish(),
            Event::Phase { .. } | Event::Scored { .. } | Event::Graded { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn row(status: RowStatus, score: Option<u32>) -> GradebookRow {
        GradebookRow {
            student: "alice".into(),
            score,
            max_score: 26,
            points: Default::default(),
            status,
            seed: 1,
        }
    }

    #[test]
    fn plain_output_has_one_line_per_student_and_counts_failures() {
        let buf = Shared::default();
        let mut p = BulkProgress::new(Box::new(buf.clone()), false, false);
        p.start(3, 1);
        p.count_kept(&row(RowStatus::FullMarks, Some(26)));
        p.finished(
            &row(RowStatus::BuildFailed, Some(0)),
            Duration::from_millis(1500),
            1,
        );
        p.finished(
            &row(RowStatus::NotGradable, None),
            Duration::from_millis(800),
            2,
        );
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("1 of 3 already graded"), "{text}");
        assert!(
            text.contains("[2/3] alice: 0/26 build_failed (1.5 s)"),
            "{text}"
        );
        assert!(
            text.contains("[3/3] alice: -/26 not_gradable (0.8 s, 2 attempts)"),
            "{text}"
        );
        assert!(!text.contains('\x1b'), "no escape codes off a terminal");
        assert!(
            p.status_line()
                .contains("3/3 · 1 below max · 1 not gradable"),
            "{}",
            p.status_line()
        );
    }

    #[test]
    fn eta_scales_with_what_is_left() {
        let mut p = BulkProgress::new(Box::new(std::io::sink()), true, true);
        p.start(10, 0);
        p.start = Instant::now() - Duration::from_secs(20);
        p.done = 2;
        let eta = p.eta().unwrap().as_secs();
        assert!((79..=81).contains(&eta), "{eta}");
        assert_eq!(clock(Duration::from_secs(65)), "1m05s");
    }

    #[test]
    fn the_phase_bar_spins_through_phases_and_counts_the_scenarios_scored() {
        let mut bar = PhaseBar::new(3);
        crate::events::phase(&mut bar, crate::events::Phase::Build, "building");
        assert_eq!(bar.bar.message(), "building");
        crate::events::phase(&mut bar, crate::events::Phase::Scenarios, "in the guest");
        assert_eq!(bar.bar.length(), Some(3));
        let result: crate::score::TestResult = serde_json::from_value(serde_json::json!({
            "name": "rm", "title": null, "status": "passed", "score": 1, "max_score": 1,
            "message": "", "hint": null, "duration_ms": 0
        }))
        .unwrap();
        bar.event(&Event::Scored { result: &result });
        bar.event(&Event::Scored { result: &result });
        assert_eq!((bar.bar.position(), bar.bar.message()), (2, "rm".into()));
        bar.clear();
        assert!(bar.bar.is_finished());
    }
}
