//! GitHub Actions output: workflow commands (`::error …::`) that annotate the run and,
//! for compiler errors, the offending source line; and a Markdown job summary (the step
//! summary page) with the score table.

use std::io::{self, Write};
use std::path::Path;

use super::GradeReport;
use crate::score::Status;

/// GitHub shows at most this many annotations of one kind per step.
const MAX_COMPILER_ANNOTATIONS: usize = 10;

/// Escapes a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The submission directory relative to the checkout (`$GITHUB_WORKSPACE`), so that
/// compiler annotations land on the repository's files; empty when not under it.
pub fn path_prefix(submission: &str, workspace: Option<&Path>) -> String {
    let Some(ws) = workspace else {
        return String::new();
    };
    match Path::new(submission).strip_prefix(ws) {
        Ok(rel) if rel.as_os_str().is_empty() => String::new(),
        Ok(rel) => format!("{}/", rel.display()),
        Err(_) => String::new(),
    }
}

/// The file of one compiler message, relative to the checkout.
fn annotation_file(file: &str, submission: &str, prefix: &str) -> String {
    match Path::new(file).strip_prefix(submission) {
        Ok(rel) => format!("{prefix}{}", rel.display()),
        Err(_) if Path::new(file).is_absolute() => file.to_owned(),
        Err(_) => format!("{prefix}{file}"),
    }
}

/// Writes the annotations: one per scenario that did not pass, one per compiler error
/// (with file and line), one per notice.
pub fn annotations(r: &GradeReport, prefix: &str, out: &mut dyn Write) -> io::Result<()> {
    for n in &r.notices {
        writeln!(
            out,
            "::notice title={}::{}",
            escape_property("grader"),
            escape_data(n)
        )?;
    }
    if !r.gradable {
        let reason = r
            .not_gradable_reason
            .as_deref()
            .unwrap_or("infrastructure fault");
        let msg = format!("{reason}\nThis is not your fault and costs you nothing: re-run the job, or tell your teacher.");
        return writeln!(
            out,
            "::error title={}::{}",
            escape_property(&format!("{}: not gradable", r.lab)),
            escape_data(&msg)
        );
    }
    if !r.build.ok {
        compiler_annotations(&r.build.log, &r.submission, prefix, out)?;
    }
    for t in r.tests.iter().filter(|t| t.status != Status::Passed) {
        let title = format!("{} {} ({}/{})", r.lab, t.name, t.score, t.max_score);
        let mut msg = t.message.clone();
        if let Some(h) = &t.hint {
            msg.push_str("\nhint: ");
            msg.push_str(h);
        }
        let level = if t.status == Status::Error {
            "warning"
        } else {
            "error"
        };
        writeln!(
            out,
            "::{level} title={}::{}",
            escape_property(&title),
            escape_data(&msg)
        )?;
    }
    Ok(())
}

/// `path:line:col: error: message` lines of rustc (`--message-format short`) and gcc.
/// Paths are the student's own (the build log names the submission's files): relative to
/// the submission, or absolute under it; either lands on the repository's file.
fn compiler_annotations(
    log: &str,
    submission: &str,
    prefix: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let re = regex::Regex::new(r"^([^\s:][^:]*):(\d+):(\d+): (error|warning)(?:\[\w+\])?: (.*)$")
        .expect("static regex");
    let mut n = 0;
    for caps in log.lines().filter_map(|l| re.captures(l)) {
        if &caps[4] != "error" || n == MAX_COMPILER_ANNOTATIONS {
            continue;
        }
        n += 1;
        writeln!(
            out,
            "::error file={},line={},col={},title={}::{}",
            escape_property(&annotation_file(&caps[1], submission, prefix)),
            &caps[2],
            &caps[3],
            escape_property("build error"),
            escape_data(&caps[5])
        )?;
    }
    if n == 0 {
        writeln!(
            out,
            "::error title={}::{}",
            escape_property("build failed"),
            escape_data(&tail(log, 20))
        )?;
    }
    Ok(())
}

fn tail(text: &str, lines: usize) -> String {
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Writes the Markdown job summary.
pub fn summary(r: &GradeReport, out: &mut dyn Write) -> io::Result<()> {
    let mark = if !r.gradable {
        "⚠️"
    } else if r.score == r.max_score {
        "✅"
    } else {
        "❌"
    };
    writeln!(
        out,
        "## {mark} {} — {}: {}/{}\n",
        r.lab, r.title, r.score, r.max_score
    )?;
    if !r.gradable {
        writeln!(
            out,
            "**Not gradable**: {}\n",
            r.not_gradable_reason
                .as_deref()
                .unwrap_or("infrastructure fault")
        )?;
        writeln!(
            out,
            "This is not your fault and costs you nothing: re-run the job, or tell your teacher.\n"
        )?;
    }
    for n in &r.notices {
        writeln!(out, "> **note:** {}\n", cell(n))?;
    }
    if !r.build.ok {
        writeln!(out, "<details><summary>Build failed: the compiler's output</summary>\n\n```\n{}\n```\n</details>\n", tail(&r.build.log, 60).replace("```", "'''"))?;
    }
    if !r.tests.is_empty() {
        writeln!(out, "| | scenario | points | why |")?;
        writeln!(out, "|---|---|---:|---|")?;
        for t in &r.tests {
            let icon = if t.status == Status::Passed {
                "✅"
            } else {
                "❌"
            };
            let why = if t.status == Status::Passed {
                String::new()
            } else {
                cell(&t.message)
            };
            writeln!(
                out,
                "| {icon} | `{}` | {}/{} | {why} |",
                t.name, t.score, t.max_score
            )?;
        }
    }
    writeln!(
        out,
        "\nReplay these parameters with `cargo grader {} --seed {}`.",
        r.lab, r.seed
    )
}

/// Text made safe for one Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_newlines_and_separators() {
        assert_eq!(escape_data("50%\nok"), "50%25%0Aok");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn compiler_errors_point_at_the_repository_file() {
        let sub = "/home/runner/work/repo/repo/labs/lab1-msgq";
        let want = "::error file=labs/lab1-msgq/src/queue.rs,line=79,col=33,title=build error::mismatched types\n";
        // Relative to the submission, and absolute under it (the build log names the
        // student's own files): the same annotation.
        for file in ["src/queue.rs", &format!("{sub}/src/queue.rs")] {
            let log = format!("   Compiling lab1\n{file}:79:33: error[E0308]: mismatched types\nsrc/x.rs:1:1: warning: unused\n");
            let mut out = Vec::new();
            compiler_annotations(&log, sub, "labs/lab1-msgq/", &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "{file}");
        }
    }

    #[test]
    fn prefix_is_relative_to_the_workspace() {
        let ws = Path::new("/home/runner/work/repo/repo");
        assert_eq!(
            path_prefix("/home/runner/work/repo/repo/labs/lab1-msgq", Some(ws)),
            "labs/lab1-msgq/"
        );
        assert_eq!(path_prefix("/elsewhere", Some(ws)), "");
        assert_eq!(path_prefix("/x", None), "");
    }
}
