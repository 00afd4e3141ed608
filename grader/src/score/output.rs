//! The student's own output in the report: what each `run` step's program printed, cut to
//! a few KiB per stream with control characters made visible, so that a report read in a
//! terminal or a browser shows the text and never acts on it.

use crate::protocol::{Exit, ProcessResult, StepOutcome};
use crate::spec::compile::signal_name;

use super::StepOutput;

impl StepOutput {
    /// Bytes kept per stream.
    pub const CAP: usize = 4096;

    /// The output of one process, step `step` (1-based).
    pub fn of(step: u32, p: &ProcessResult) -> StepOutput {
        let (stdout, cut_out) = neutralise(&p.stdout, StepOutput::CAP);
        let (stderr, cut_err) = neutralise(&p.stderr, StepOutput::CAP);
        StepOutput {
            step,
            command: p.command.clone(),
            ended: ended(&p.exit),
            stdout,
            stderr,
            truncated: p.truncated || cut_out || cut_err,
        }
    }
}

/// How a process ended, in words.
fn ended(exit: &Exit) -> String {
    match exit {
        Exit::Code(c) => format!("exit {c}"),
        Exit::Signal(s) => format!("killed by {}", signal_name(*s)),
        Exit::Timeout => "still running: killed by the grader".into(),
        Exit::NotStarted => "did not start".into(),
    }
}

/// The program's output of every `run` step, in order (the wait of a background run
/// carries its output).
pub(super) fn every_step(steps: &[StepOutcome], leftovers: &[ProcessResult]) -> Vec<StepOutput> {
    // A background program (a server) is shown under the step that started it, with how
    // it ended: from the later step that waited for it, or from the leftovers.
    let mut shown_early = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (i, o) in steps.iter().enumerate() {
        match o {
            StepOutcome::Spawned {
                id, pid: Some(_), ..
            } => {
                let later = steps
                    .iter()
                    .enumerate()
                    .skip(i + 1)
                    .find_map(|(j, o)| match o {
                        StepOutcome::Process(p) if &p.id == id => Some((j, p)),
                        _ => None,
                    });
                let ended = match later {
                    Some((j, p)) => {
                        shown_early.insert(j);
                        Some(p)
                    }
                    None => leftovers.iter().find(|p| &p.id == id),
                };
                out.extend(ended.map(|p| StepOutput::of(i as u32 + 1, p)));
            }
            StepOutcome::Process(p)
                if !shown_early.contains(&i)
                    && (p.exit != Exit::NotStarted || p.error.is_none()) =>
            {
                out.push(StepOutput::of(i as u32 + 1, p));
            }
            _ => {}
        }
    }
    out
}

/// The output to show for a failure at step `failed` (0-based; `None`: no step in
/// particular, e.g. a syscall audit): that step's program, else the last program that
/// ran before it.
pub(super) fn at_failure(all: &[StepOutput], failed: Option<usize>) -> Option<StepOutput> {
    let limit = failed.map_or(u32::MAX, |i| i as u32 + 1);
    all.iter().rev().find(|o| o.step <= limit).cloned()
}

/// `text` with control characters but `\n` and `\t` in caret notation (`^[`, `^M`),
/// cut to `cap` bytes at a character boundary; whether it was cut.
pub fn neutralise(text: &str, cap: usize) -> (String, bool) {
    let mut cut = text.len().min(cap);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut);
    for c in text[..cut].chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    (out, cut < text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_and_long_text_is_cut() {
        let (t, cut) = neutralise("a\x1b[31mred\r\n\tok\x07\u{9b}", 100);
        assert_eq!(t, "a^[[31mred^M\n\tok^G\u{fffd}");
        assert!(!cut);
        let (t, cut) = neutralise("ééé", 3);
        assert_eq!((t.as_str(), cut), ("é", true));
    }

    #[test]
    fn the_failing_step_or_the_last_program_before_it_is_shown() {
        let o = |step| StepOutput {
            step,
            ..Default::default()
        };
        let all = vec![o(1), o(3)];
        assert_eq!(at_failure(&all, Some(3)).map(|x| x.step), Some(3));
        assert_eq!(at_failure(&all, Some(1)).map(|x| x.step), Some(1));
        assert_eq!(at_failure(&all, Some(4)).map(|x| x.step), Some(3));
        assert_eq!(at_failure(&all, None).map(|x| x.step), Some(3));
        assert_eq!(at_failure(&[o(2)], Some(0)), None);
    }

    #[test]
    fn a_background_program_shows_what_it_printed_under_the_step_that_started_it() {
        let server = ProcessResult {
            id: "server".into(),
            command: "shm_server 0x1 5".into(),
            exit: Exit::Code(1),
            stdout: String::new(),
            stderr: "shm_server: not implemented yet\n".into(),
            truncated: false,
            duration_ms: 3,
            error: None,
            death: None,
            limits: Vec::new(),
        };
        let steps = vec![
            StepOutcome::Spawned {
                id: "server".into(),
                pid: Some(12),
                error: None,
            },
            StepOutcome::Waited {
                satisfied: false,
                waited_ms: 100,
                nobody_left: true,
            },
        ];
        let all = every_step(&steps, std::slice::from_ref(&server));
        let shown = at_failure(&all, Some(1)).expect("the server's output");
        assert_eq!(shown.step, 1);
        assert!(shown.stderr.contains("not implemented yet"), "{shown:?}");
    }
}
