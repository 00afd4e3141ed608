//! `RESULTS/index.html`: the class at a glance — the status counts with their students,
//! the score histogram, each scenario's share of passes (the one the class missed first),
//! the sortable table of students and, after `--similarity`, the pairs found alike.

use maud::{html, Markup};

use super::page::{self, document};
use super::stats::{self, STATUSES};
use super::{student_href, Class, SimilarPair, StudentResult};
use crate::report::csv::RowStatus;

/// The table sorter: the page's only script.
pub const SORT_JS: &str = include_str!("sort.js");

/// The class page.
pub fn render(class: &Class) -> Markup {
    let title = format!("{} — {}: class results", class.lab, class.title);
    let body = html! {
        header {
            h1 { (class.lab) " — " (class.title) }
            p.lead { (summary(class)) }
        }
        (statuses(class))
        section #histogram {
            h2 { "Scores" }
            (super::svg::histogram(&stats::histogram(class), &format!(
                "Histogram of the scores of the {} students who have one, out of {}",
                scored(class), class.max_score)))
        }
        (scenarios(class))
        (students(class))
        @if let Some(pairs) = &class.similarity { (similarity(pairs)) }
        footer.muted {
            p { "Written from this directory's results by " code { "cargo grader dashboard RESULTS" } "." }
        }
    };
    document(&title, Some(SORT_JS), body)
}

fn scored(class: &Class) -> usize {
    class
        .students
        .iter()
        .filter(|s| s.row.score.is_some())
        .count()
}

fn summary(class: &Class) -> String {
    let n = class.students.len();
    match stats::mean_median(class) {
        Some((mean, median)) => format!(
            "{n} students; mean score {mean:.1} / {max}, median {median:.1} (over the {s} with a score)",
            max = class.max_score,
            s = scored(class)
        ),
        None => format!("{n} students; none has a score yet"),
    }
}

/// A link to the student: their page, or their row when they have none.
fn student_link(s: &StudentResult) -> Markup {
    let name = &s.row.student;
    html! {
        @if s.has_page() {
            a.student href=(student_href(name)) { (name) }
        } @else {
            a.student href={ "#" (row_id(name)) } { (name) }
        }
    }
}

fn row_id(student: &str) -> String {
    format!("student-{student}")
}

fn statuses(class: &Class) -> Markup {
    html! {
        section #statuses {
            h2 { "Status" }
            div.cards {
                @for status in STATUSES {
                    @let who = stats::with_status(class, status);
                    div.card id={ "status-" (status.as_str()) } data-status=(status.as_str()) data-count=(who.len()) {
                        span.n { (who.len()) }
                        (page::status(status))
                        @if !who.is_empty() {
                            ul { @for s in &who { li { (student_link(s)) } } }
                        }
                    }
                }
            }
        }
    }
}

fn scenarios(class: &Class) -> Markup {
    html! {
        section #scenarios {
            h2 { "Scenarios, the least passed first" }
            table #scenario-table {
                thead { tr { th { "scenario" } th.num { "passed" } th.num { "share" } th { } } }
                tbody {
                    @for s in stats::shares(class) {
                        @let pct = format!("{:.0}%", s.ratio() * 100.0);
                        tr.scenario-row data-scenario=(s.scenario.name) data-passed=(s.passed) data-graded=(s.graded) {
                            td {
                                code { (s.scenario.name) }
                                @if let Some(t) = &s.scenario.title { br; span.muted { (t) } }
                            }
                            td.num { (s.passed) " / " (s.graded) }
                            td.num { (pct) }
                            td { (super::svg::meter(s.ratio(), &format!("{pct} passed"))) }
                        }
                    }
                }
            }
        }
    }
}

fn students(class: &Class) -> Markup {
    html! {
        section #students {
            h2 { "Students" }
            p.muted.noprint { "Click a column's name to sort by it." }
            table.sortable #student-table {
                thead { tr {
                    th { button type="button" { "student" } }
                    th.num data-type="num" { button type="button" { "score" } }
                    th { button type="button" { "status" } }
                    th.num data-type="num" { button type="button" { "time" } }
                    th.num data-type="num" { button type="button" { "attempts" } }
                    th.num data-type="num" { button type="button" { "seed" } }
                } }
                tbody { @for s in &class.students { (student_row(s)) } }
            }
        }
    }
}

fn student_row(s: &StudentResult) -> Markup {
    let r = &s.row;
    let score = r.score.map(|v| v.to_string()).unwrap_or_default();
    html! {
        tr id=(row_id(&r.student)) data-student=(r.student) data-status=(r.status.as_str()) {
            td { (student_link(s)) }
            td.num data-sort=(score) {
                @if let Some(v) = r.score { (v) " / " (r.max_score) } @else { span.muted { "—" } }
            }
            td data-sort=(r.status.as_str()) { (page::status(r.status)) }
            @match &s.done {
                Some(d) => {
                    td.num data-sort=(d.duration_ms) { (page::seconds(d.duration_ms)) }
                    td.num { (d.attempts) }
                }
                None => { td.num data-sort="" { "—" } td.num data-sort="" { "—" } }
            }
            td.num { (r.seed) }
        }
    }
}

fn similarity(pairs: &[SimilarPair]) -> Markup {
    html! {
        section #similarity {
            h2 { "Similar submissions" }
            p.muted {
                (pairs.len()) " pair(s) above the threshold of " code { "--similarity" }
                ". A high share is a reason to look, not a proof: read the shared regions."
            }
            @if !pairs.is_empty() {
                table #similarity-table {
                    thead { tr { th { "students" } th.num { "similarity" } th.num { "shared" } th { "shared regions" } } }
                    tbody { @for p in pairs {
                        tr.pair data-a=(p.a) data-b=(p.b) {
                            td { a href=(student_href(&p.a)) { (p.a) } " ~ " a href=(student_href(&p.b)) { (p.b) } }
                            td.num { (format!("{:.0}%", p.similarity * 100.0)) }
                            td.num { (p.shared) }
                            td { ul { @for (a, b) in &p.regions { li { code { (a) } " ~ " code { (b) } } } } }
                        }
                    } }
                }
            }
        }
    }
}

/// The number of students per status, as the page counts them (for tests and summaries).
pub fn counts(class: &Class) -> Vec<(RowStatus, usize)> {
    STATUSES
        .iter()
        .map(|&s| (s, stats::with_status(class, s).len()))
        .collect()
}
