//! Words for a scenario cut short: whether the program was stopped early or ran into its
//! deadline, and whether it was deadlocked, merely too slow, or doing something else (the
//! agent's per-process findings).

use crate::protocol::{HangReport, Pace};

/// How the run ended, after its command: "did not finish before its deadline and was
/// killed", or "was stopped after 2.1 s of its 16.0 s deadline and killed", then why.
pub(super) fn ended(hang: Option<&HangReport>) -> String {
    let Some(h) = hang else {
        return "did not finish before its deadline and was killed".into();
    };
    let how = match &h.stopped_early {
        Some(e) => format!(
            "was stopped after {} of its {} deadline and killed",
            secs(e.at_ms),
            secs(e.timeout_ms)
        ),
        None => "did not finish before its deadline and was killed".into(),
    };
    format!("{how}{}", why(h))
}

/// "the scenario hit its deadline before step 3…" or "…was stopped early before…".
pub(super) fn cut_short(step: usize, h: &HangReport) -> String {
    let how = match &h.stopped_early {
        Some(e) => format!(
            "the scenario was stopped after {} of its {} deadline, before step {step}",
            secs(e.at_ms),
            secs(e.timeout_ms)
        ),
        None => format!("the scenario hit its deadline before step {step}"),
    };
    format!("{how}{}", why(h))
}

/// Why it was cut: the pace the samples showed, or the per-process findings.
fn why(h: &HangReport) -> String {
    match &h.pace {
        Pace::Deadlocked { unchanged_ms } => format!(
            ": deadlock, every process was blocked and none made progress for {}{}",
            secs(*unchanged_ms),
            listing(h, ": ")
        ),
        Pace::Progressing { starved, .. } if !starved.is_empty() => {
            let who: Vec<String> = starved
                .iter()
                .map(|s| {
                    format!(
                        "`{}` (pid {}) was woken {} times in {} and went back to waiting in futex each time",
                        s.comm,
                        s.pid,
                        s.woken,
                        secs(s.for_ms)
                    )
                })
                .collect();
            format!(
                ": starvation, not a deadlock: {} while the others ran. sem_post (or a mutex \
                 unlock) hands nothing to the process it wakes: the one that posted took it back \
                 first; let the other side run (sleep after posting) before taking it again",
                who.join("; ")
            )
        }
        Pace::Progressing {
            elapsed_ms,
            ipc_calls,
            round_trips,
            switches,
            interval_ms,
            ..
        } => match (round_trips, ipc_calls) {
            (Some((done, needed)), _) if crate::protocol::overshoots(*done, *needed) => format!(
                ": it does not stop at its count: {done} round trips in {}, where the scenario asked for {needed} (does the program read its COUNT argument?)",
                secs(*elapsed_ms)
            ),
            (Some((done, needed)), _) if done >= needed => format!(
                ": not deadlocked: {done} round trips in {}, as many as the {needed} asked, but the program did not end after them",
                secs(*elapsed_ms)
            ),
            (Some((done, needed)), _) if *done > 0 => format!(
                ": too slow, not deadlocked: {done} round trips in {}, the scenario needs {needed}",
                secs(*elapsed_ms)
            ),
            (_, Some(calls)) if *calls > 0 => format!(
                ": too slow, not deadlocked: {calls} IPC calls in {}",
                secs(*elapsed_ms)
            ),
            // Still switching between processes (a pingpong of its own, say) without the
            // audited calls: moving, so the per-process "waits forever" findings of one
            // instant would be false.
            _ if *switches > 0 && h.processes.len() > 1 && some_asleep(h) => format!(
                ": still working, not deadlocked ({switches} context switches in the last {}): \
                 it ran past a deadline that gives a correct program several times its time{}",
                secs(*interval_ms),
                where_they_were(h)
            ),
            // Moving without IPC: a busy loop, or work that never reaches the IPC part.
            _ => listing(h, ". At the deadline: "),
        },
        Pace::Unknown => listing(h, ". At the deadline: "),
    }
}

/// The findings (or, without any, each process and where it waits) after `lead`.
fn listing(h: &HangReport, lead: &str) -> String {
    if !h.findings.is_empty() {
        return format!("{lead}{}", condensed(&h.findings).join("; "));
    }
    let procs: Vec<String> = h
        .processes
        .iter()
        .map(|p| {
            format!(
                "{} (pid {}) in state {} waiting in {}",
                p.comm,
                p.pid,
                p.state,
                if p.wchan.is_empty() { "?" } else { &p.wchan }
            )
        })
        .collect();
    match (procs.is_empty(), h.pace == Pace::Unknown) {
        (true, _) => String::new(),
        (false, true) => format!(". Still running at the deadline: {}", procs.join(", ")),
        (false, false) => format!("{lead}{}", procs.join(", ")),
    }
}

/// Two or more processes, one of them asleep in the kernel, while switches went on: they
/// hand work to each other (a busy loop alone is all `R`).
fn some_asleep(h: &HangReport) -> bool {
    h.processes.iter().any(|p| p.state == "S" || p.state == "D")
}

/// ". At the deadline: `msgq` (pid 12) in state S in msgrcv, …" without the findings.
fn where_they_were(h: &HangReport) -> String {
    let procs: Vec<String> = h
        .processes
        .iter()
        .map(|p| {
            let wchan = if p.wchan.is_empty() { "?" } else { &p.wchan };
            format!(
                "`{}` (pid {}) in state {} in {wchan}",
                p.comm, p.pid, p.state
            )
        })
        .collect();
    if procs.is_empty() {
        String::new()
    } else {
        format!(". At the deadline: {}", procs.join(", "))
    }
}

/// The findings, those that differ only by their pid said once: "`msgq` (41 processes:
/// pids 3, 4, 5, …) was still running…" instead of 41 sentences.
fn condensed(findings: &[String]) -> Vec<String> {
    const SHOWN: usize = 3;
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for f in findings {
        let (key, pid) = without_pid(f);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, pids)) => pids.extend(pid),
            None => groups.push((key, pid.into_iter().collect())),
        }
    }
    groups
        .into_iter()
        .map(|(key, pids)| match pids.len() {
            0 | 1 => key.replacen("(pid {})", &format!("(pid {})", pids.join("")), 1),
            n => {
                let mut shown: Vec<&str> = pids.iter().take(SHOWN).map(String::as_str).collect();
                if n > SHOWN {
                    shown.push("…");
                }
                key.replacen(
                    "(pid {})",
                    &format!("({n} processes: pids {})", shown.join(", ")),
                    1,
                )
            }
        })
        .collect()
}

/// A finding with its first "(pid N)" made "(pid {})", and N.
fn without_pid(f: &str) -> (String, Option<String>) {
    let Some(at) = f.find("(pid ") else {
        return (f.to_string(), None);
    };
    let rest = &f[at + 5..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || !rest[digits.len()..].starts_with(')') {
        return (f.to_string(), None);
    }
    let key = format!("{}(pid {{}}){}", &f[..at], &rest[digits.len() + 1..]);
    (key, Some(digits))
}

/// "2.1 s".
fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}
