//! `RESULTS/students/NAME/report.html`: one student's report, from their `report.json`,
//! to read or print and send to them — every scenario with its verdict and points, what
//! went wrong with the hint levels the course's policy reveals (as in the text report),
//! the build log, and the student's own output at the step that failed. The compiler's
//! messages name the student's files relative to their submission, not where it lay on
//! the teacher's machine.

use maud::{html, Markup};

use super::page::{self, document};
use super::{Class, StudentResult};
use crate::report::hints::{level_line, more_command};
use crate::report::GradeReport;
use crate::score::{Status, StepOutput, TestResult};

/// The student's page.
pub fn render(class: &Class, s: &StudentResult, r: &GradeReport) -> Markup {
    let name = &s.row.student;
    let title = format!("{name} — {}: {}", r.lab, r.title);
    let body = html! {
        nav { a href="../../index.html" { "← " (class.lab) " class results" } }
        header {
            h1 { (name) }
            p.lead { (r.lab) " — " (r.title) }
            (facts(s, r))
        }
        @if !r.notices.is_empty() {
            ul.notices { @for n in &r.notices { li { strong { "note: " } (n) } } }
        }
        @if !r.gradable {
            p.why #not-gradable {
                strong { "Not gradable: " }
                (r.not_gradable_reason.as_deref().unwrap_or("infrastructure fault"))
                ". This is not the student's fault and costs them nothing: it is graded again."
            }
        }
        (build(r))
        @if r.gradable {
            section #scenarios {
                h2 { "Scenarios" }
                @for t in &r.tests { (scenario(r, t)) }
            }
        }
        footer.muted { p {
            "Grade it again with the same parameters: " code { "cargo grader " (r.lab) " --seed " (r.seed) }
            "."
        } }
    };
    document(&title, None, body)
}

fn facts(s: &StudentResult, r: &GradeReport) -> Markup {
    let lang = r
        .language
        .map(|l| format!("{l:?}").to_lowercase())
        .unwrap_or_else(|| "none found".into());
    html! {
        dl.facts {
            dt { "score" } dd #score { (r.score) " / " (r.max_score) }
            dt { "status" } dd #status { (page::status(s.row.status)) }
            dt { "language" } dd { (lang) }
            dt { "seed" } dd { (r.seed) }
            dt { "time" } dd { (page::seconds(r.duration_ms)) }
            @if let Some(d) = &s.done { dt { "attempts" } dd { (d.attempts) } }
        }
    }
}

/// `text` with the submission's directory left out of the paths it names.
fn relative(r: &GradeReport, text: &str) -> String {
    let dir = r.submission.trim_end_matches('/');
    if dir.is_empty() {
        return text.to_owned();
    }
    text.replace(&format!("{dir}/"), "")
}

fn build(r: &GradeReport) -> Markup {
    let b = &r.build;
    html! {
        section #build {
            h2 { "Build" }
            @if b.ok {
                p { "Every program was built" @if !b.built.is_empty() { ": " (b.built.join(", ")) } "." }
            } @else if b.built.is_empty() {
                p.why { strong { "Build failed:" } " nothing could be graded." }
            } @else {
                p.why {
                    strong { "Not built: " } (b.failed.keys().cloned().collect::<Vec<_>>().join(", "))
                    ". The scenarios that run them fail; the others were graded (built: "
                    (b.built.join(", ")) ")."
                }
            }
            @for (program, why) in &b.failed {
                h3 { code { (program) } } pre.failed-build { (relative(r, why)) }
            }
            @if !b.log.trim().is_empty() {
                h3 { "Build log" }
                pre #build-log { (relative(r, &b.log)) }
            }
        }
    }
}

fn scenario(r: &GradeReport, t: &TestResult) -> Markup {
    html! {
        div.scenario id={ "scenario-" (t.name) } data-scenario=(t.name) data-status=(t.status.as_str()) {
            h3 {
                (page::verdict(t.status)) " " code { (t.name) }
                @if let Some(title) = &t.title { " — " (title) }
                span.pts { (t.score) " / " (t.max_score) }
            }
            @if t.status != Status::Passed {
                p.why { strong { "why: " } (t.message) }
                @if let Some(o) = &t.output { (output(o)) }
                (hints(r, t))
                @if r.perturbation.is_some() {
                    p.muted { "replay: " code { "cargo grader " (r.lab) " --perturb --seed " (r.seed) } }
                }
            } @else if !t.message.is_empty() {
                p.muted { "note: " (t.message) }
            }
            @if !t.leaks.is_empty() {
                p.why { strong { "left behind" } " (each removed by the command shown):" }
                ul.leaks { @for l in &t.leaks { li { code { (l.remove_command) } } } }
            }
        }
    }
}

/// The hint levels the report carries (those the course's policy reveals), and the
/// command that shows the next one.
fn hints(r: &GradeReport, t: &TestResult) -> Markup {
    let total = (t.hint_levels as usize).max(t.hints.len());
    html! {
        @if t.hints.is_empty() {
            @if let Some(h) = &t.hint { p.hint { "hint: " (h) } }
        } @else {
            @for (i, h) in t.hints.iter().enumerate() { p.hint { (level_line(i, total, h)) } }
            @if t.hints.len() < total {
                p.muted { "more: " code { (more_command(&r.lab, &t.name)) } }
            }
        }
    }
}

fn output(o: &StepOutput) -> Markup {
    html! {
        div.output {
            p { "What the program printed at step " (o.step) ", " code { (o.command) } " (" (o.ended) "):" }
            @for (stream, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
                @if text.is_empty() {
                    p.muted { (stream) ": (nothing)" }
                } @else {
                    p.muted { (stream) ":" }
                    pre class={ "output-" (stream) } { (text) }
                }
            }
            @if o.truncated { p.muted { "(cut: the whole output was longer)" } }
        }
    }
}
