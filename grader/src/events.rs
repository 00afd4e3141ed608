//! What a run tells whoever watches it: the engine (one grading) and bulk grading (a
//! class) emit [`Event`]s to a [`Subscriber`]. The progress lines on stderr, bulk's
//! progress display, and anything else that wants to follow a run (a progress bar, a
//! watch loop) subscribe; subscribers only observe, they never steer the run.

use std::time::Duration;

use crate::report::csv::GradebookRow;
use crate::report::GradeReport;
use crate::score::TestResult;

/// Which part of one grading a [`Event::Phase`] begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Compiling the submission.
    Build,
    /// Running the scenarios (booting the guest first, when there is one).
    Scenarios,
    /// One step of a lab that drives QEMU itself (lab 7): a script, the probe guest; or
    /// getting the guest ready (agent, image, snapshot) before a grading.
    Step,
}

/// One thing that happened during a run.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A phase of one grading begins; `what` says it for people (`building`…).
    Phase {
        /// The phase.
        phase: Phase,
        /// Its description.
        what: &'a str,
    },
    /// One scenario (or check) of the grading was scored.
    Scored {
        /// Its result.
        result: &'a TestResult,
    },
    /// One grading is over.
    Graded {
        /// Its report.
        report: &'a GradeReport,
    },
    /// A message for people that is not a result (bulk: "submitted job 12").
    Notice {
        /// The message.
        text: &'a str,
    },
    /// Bulk: the class is known.
    ClassStarted {
        /// Students in the class.
        students: usize,
        /// Of which already graded by an earlier run.
        kept: usize,
    },
    /// Bulk: a student graded by an earlier run, kept as it is.
    StudentKept {
        /// Their gradebook row.
        row: &'a GradebookRow,
    },
    /// Bulk: a student's grading is over (or they could not be graded at all).
    StudentGraded {
        /// Their gradebook row.
        row: &'a GradebookRow,
        /// Wall time of all attempts.
        elapsed: Duration,
        /// Gradings it took.
        attempts: u32,
    },
    /// Bulk: nothing more will be graded by this run.
    ClassFinished,
}

/// Receives the events of a run, in order, on the thread that runs it.
pub trait Subscriber {
    /// One event.
    fn event(&mut self, event: &Event<'_>);
}

/// A subscriber that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Subscriber for Discard {
    fn event(&mut self, _event: &Event<'_>) {}
}

/// Shorthand for emitting a phase.
pub fn phase(to: &mut dyn Subscriber, phase: Phase, what: &str) {
    to.event(&Event::Phase { phase, what });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Log(Vec<String>);

    impl Subscriber for Log {
        fn event(&mut self, event: &Event<'_>) {
            self.0.push(match event {
                Event::Phase { phase, what } => format!("{phase:?} {what}"),
                Event::Notice { text } => format!("notice {text}"),
                other => format!("{other:?}"),
            });
        }
    }

    #[test]
    fn a_subscriber_sees_events_in_order() {
        let mut log = Log::default();
        phase(&mut log, Phase::Build, "building");
        log.event(&Event::Notice { text: "hi" });
        log.event(&Event::ClassFinished);
        assert_eq!(log.0, ["Build building", "notice hi", "ClassFinished"]);
        Discard.event(&Event::ClassFinished);
    }
}
