//! The report for people: one line per scenario with its points, then what went wrong and
//! the hint levels revealed (with the command that shows the next one), then `Score: N/M`.

use std::io::{self, Write};

use super::hints::{level_line, more_command};
use super::{Backend, GradeReport};
use crate::score::{Status, TestResult};

/// Rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Show the build log even when the build succeeded.
    pub verbose: bool,
}

fn paint(style: Style, code: &str, text: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn label(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Passed => ("PASS", "32"),
        Status::Failed => ("FAIL", "31"),
        Status::Timeout => ("TIME", "33"),
        Status::Crashed => ("CRASH", "31;1"),
        Status::Error => ("ERROR", "35"),
    }
}

/// Writes the human report.
pub fn write(r: &GradeReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let backend = match r.backend {
        Backend::Qemu => "qemu guest",
        Backend::Local => "local host",
        Backend::Host => "host",
    };
    let lang = r
        .language
        .map(|l| format!("{l:?}").to_lowercase())
        // Lab 7 compiles nothing: its submission is the scripts driving QEMU.
        .unwrap_or_else(|| {
            if r.backend == Backend::Host {
                "shell scripts"
            } else {
                "no sources found"
            }
            .into()
        });
    writeln!(out, "== {} — {} ==", r.lab, r.title)?;
    writeln!(
        out,
        "submission {} ({lang}), ran in the {backend}, seed {}",
        r.submission, r.seed
    )?;
    if let Some(p) = &r.perturbation {
        writeln!(
            out,
            "schedule perturbed from seed {}: forks held up to {} ms, one IPC call in four up to {} ms",
            r.seed,
            p.max_delay_us * 5 / 1000,
            p.max_delay_us / 1000
        )?;
    }
    for n in &r.notices {
        writeln!(out, "{} {n}", paint(style, "33", "note:"))?;
    }
    if let Some(x) = r.deadline_stretch {
        writeln!(
            out,
            "{} this machine was busy: the scenarios' deadlines were stretched {x:.1}x",
            paint(style, "33", "note:")
        )?;
    }
    write_build(r, style, out)?;
    if !r.gradable {
        writeln!(
            out,
            "{} {}",
            paint(style, "35;1", "NOT GRADABLE:"),
            r.not_gradable_reason
                .as_deref()
                .unwrap_or("infrastructure fault")
        )?;
        writeln!(
            out,
            "This is not your fault and costs you nothing: run it again, or tell your teacher."
        )?;
        return Ok(());
    }
    let width = r.tests.iter().map(|t| t.name.len()).max().unwrap_or(0);
    // The first failure shows what the program printed (`-v`: every step of every test).
    let mut shown_output = false;
    for t in &r.tests {
        let (word, color) = label(t.status);
        writeln!(
            out,
            "{} {:<width$} {:>3}/{:<3} {}",
            paint(style, color, &format!("{word:<5}")),
            t.name,
            t.score,
            t.max_score,
            t.title.as_deref().unwrap_or(""),
        )?;
        if t.status != Status::Passed {
            writeln!(out, "      why:  {}", t.message)?;
            if r.perturbation.is_some() {
                writeln!(
                    out,
                    "      replay: cargo grader {} --perturb --seed {}",
                    r.lab, r.seed
                )?;
            }
            if !style.verbose && !shown_output {
                if let Some(o) = &t.output {
                    write_output(o, out)?;
                    shown_output = true;
                }
            }
            write_hints(r, t, out)?;
        } else if !t.message.is_empty() {
            // A passed scenario's message is a warning that cost nothing (see stray_cost).
            writeln!(out, "      note: {}", t.message)?;
        }
        if style.verbose {
            for o in &t.steps {
                write_output(o, out)?;
            }
        }
    }
    let total = format!("Score: {}/{}", r.score, r.max_score);
    let color = if r.score == r.max_score { "32;1" } else { "1" };
    writeln!(
        out,
        "{}  ({:.1} s)",
        paint(style, color, &total),
        r.duration_ms as f64 / 1000.0
    )?;
    Ok(())
}

/// The revealed hint levels of a failing scenario, and how to see the next one.
fn write_hints(r: &GradeReport, t: &TestResult, out: &mut dyn Write) -> io::Result<()> {
    if t.hints.is_empty() {
        // A report made before hints had levels: its one hint.
        if let Some(h) = &t.hint {
            writeln!(out, "      hint: {h}")?;
        }
        return Ok(());
    }
    let total = (t.hint_levels as usize).max(t.hints.len());
    for (i, h) in t.hints.iter().enumerate() {
        writeln!(out, "      {}", level_line(i, total, h))?;
    }
    if t.hints.len() < total {
        writeln!(out, "      more: {}", more_command(&r.lab, &t.name))?;
    }
    Ok(())
}

/// The build's outcome: the compiler's messages when a program was not built (all of
/// them, or the ones that failed when the others were graded); the log with `-v`.
fn write_build(r: &GradeReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let b = &r.build;
    if !b.ok && b.built.is_empty() {
        let head = if r.language.is_some() {
            "BUILD FAILED — the compiler says:"
        } else {
            "BUILD FAILED — nothing to build:"
        };
        writeln!(out, "{}", paint(style, "31;1", head))?;
        for line in b.log.lines().take(60) {
            writeln!(out, "  | {line}")?;
        }
    } else if !b.ok {
        let names: Vec<String> = b.failed.keys().map(|p| format!("`{p}`")).collect();
        writeln!(
            out,
            "{} {} not built: the scenarios that run {} fail, the others were graded ({} built)",
            paint(style, "31;1", "BUILD:"),
            names.join(", "),
            if names.len() == 1 { "it" } else { "them" },
            b.built.join(", ")
        )?;
        for (p, why) in &b.failed {
            writeln!(out, "  {p}:")?;
            for line in why.lines().take(30) {
                writeln!(out, "  | {line}")?;
            }
        }
        if style.verbose {
            writeln!(out, "build log:")?;
            for line in b.log.lines() {
                writeln!(out, "  | {line}")?;
            }
        }
    } else if style.verbose && !b.log.trim().is_empty() {
        writeln!(out, "build log:")?;
        for line in b.log.lines() {
            writeln!(out, "  | {line}")?;
        }
    }
    Ok(())
}

/// Lines of one stream shown per step.
const OUTPUT_LINES: usize = 12;

/// What one step's program printed, indented under its scenario.
fn write_output(o: &crate::score::StepOutput, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "      step {} `{}` ({}):", o.step, o.command, o.ended)?;
    for (name, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        if text.is_empty() {
            writeln!(out, "        {name}: (nothing)")?;
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        writeln!(out, "        {name}:")?;
        for line in lines.iter().take(OUTPUT_LINES) {
            writeln!(out, "        | {line}")?;
        }
        if lines.len() > OUTPUT_LINES {
            writeln!(
                out,
                "        | … ({} more lines)",
                lines.len() - OUTPUT_LINES
            )?;
        }
    }
    if o.truncated {
        writeln!(out, "        (cut: the whole output was longer)")?;
    }
    Ok(())
}
