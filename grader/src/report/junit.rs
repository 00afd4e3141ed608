//! JUnit XML for CI dashboards (Jenkins, GitLab, GitHub test reporters): one
//! `<testsuite>` per lab, one `<testcase>` per scenario, a `<failure>` (student) or
//! `<error>` (grader) with the reason for every scenario that did not pass.

use std::io::{self, Write};

use super::GradeReport;
use crate::score::{Status, TestResult};

/// Escapes text for an XML attribute or element; characters XML 1.0 forbids even escaped
/// (most control characters, which student output may well contain) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Counts of (failures, errors) as JUnit classifies them.
fn tally(r: &GradeReport) -> (usize, usize) {
    if !r.gradable {
        return (0, 1);
    }
    let errors = r.count(Status::Error);
    (r.tests.len() - r.count(Status::Passed) - errors, errors)
}

/// Writes the report as a `<testsuites>` document holding the lab's `<testsuite>`.
pub fn write(r: &GradeReport, out: &mut dyn Write) -> io::Result<()> {
    let (failures, errors) = tally(r);
    let tests = if r.gradable { r.tests.len() } else { 1 };
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="{}" tests="{tests}" failures="{failures}" errors="{errors}" time="{}">"#,
        escape(&format!("{} — {}", r.lab, r.title)),
        secs(r.duration_ms)
    )?;
    writeln!(
        out,
        r#"  <testsuite name="{}" tests="{tests}" failures="{failures}" errors="{errors}" skipped="0" time="{}">"#,
        escape(&r.lab),
        secs(r.duration_ms)
    )?;
    write_properties(r, out)?;
    if r.gradable {
        for t in &r.tests {
            write_case(&r.lab, t, out)?;
        }
    } else {
        let reason = r
            .not_gradable_reason
            .as_deref()
            .unwrap_or("infrastructure fault");
        writeln!(
            out,
            r#"    <testcase name="grading" classname="{}">"#,
            escape(&r.lab)
        )?;
        writeln!(
            out,
            r#"      <error type="not_gradable" message="{}">{}</error>"#,
            escape(reason),
            escape(reason)
        )?;
        writeln!(out, "    </testcase>")?;
    }
    write_outputs(r, out)?;
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn write_properties(r: &GradeReport, out: &mut dyn Write) -> io::Result<()> {
    let lang = r
        .language
        .map(|l| format!("{l:?}").to_lowercase())
        .unwrap_or_default();
    let mut props = vec![
        ("title".to_string(), r.title.clone()),
        ("score".into(), r.score.to_string()),
        ("max_score".into(), r.max_score.to_string()),
        ("gradable".into(), r.gradable.to_string()),
        ("seed".into(), r.seed.to_string()),
        ("spec_sha256".into(), r.spec_sha256.clone()),
        ("language".into(), lang),
        ("backend".into(), format!("{:?}", r.backend).to_lowercase()),
    ];
    props.extend(
        r.params
            .iter()
            .map(|(k, v)| (format!("param.{k}"), v.clone())),
    );
    writeln!(out, "    <properties>")?;
    for (name, value) in props {
        writeln!(
            out,
            r#"      <property name="{}" value="{}"/>"#,
            escape(&name),
            escape(&value)
        )?;
    }
    writeln!(out, "    </properties>")
}

fn write_case(lab: &str, t: &TestResult, out: &mut dyn Write) -> io::Result<()> {
    // The name is the scenario's alone, stable across runs, so dashboards can track it.
    writeln!(
        out,
        r#"    <testcase name="{}" classname="{}" time="{}">"#,
        escape(&t.name),
        escape(lab),
        secs(t.duration_ms)
    )?;
    if t.status != Status::Passed {
        let element = if t.status == Status::Error {
            "error"
        } else {
            "failure"
        };
        let mut body = t.message.clone();
        if let Some(h) = &t.hint {
            body.push_str("\nhint: ");
            body.push_str(h);
        }
        writeln!(
            out,
            r#"      <{element} type="{}" message="{}">{}</{element}>"#,
            t.status.as_str(),
            escape(&t.message),
            escape(&body)
        )?;
    }
    let what = format!(
        "{}/{} points: {}",
        t.score,
        t.max_score,
        t.title.as_deref().unwrap_or(&t.name)
    );
    writeln!(out, "      <system-out>{}</system-out>", escape(&what))?;
    writeln!(out, "    </testcase>")
}

fn write_outputs(r: &GradeReport, out: &mut dyn Write) -> io::Result<()> {
    let mut text = format!("Score: {}/{}\n", r.score, r.max_score);
    for n in &r.notices {
        text.push_str(&format!("note: {n}\n"));
    }
    writeln!(out, "    <system-out>{}</system-out>", escape(&text))?;
    if !r.build.ok {
        writeln!(out, "    <system-err>{}</system-err>", escape(&r.build.log))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_cannot_break_the_document() {
        assert_eq!(escape("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&apos;");
        assert_eq!(escape("x\u{1}y\tz"), "x\u{fffd}y\tz");
    }

    #[test]
    fn times_match_the_surefire_pattern() {
        assert_eq!(secs(11_600), "11.600");
        assert_eq!(secs(0), "0.000");
    }
}
