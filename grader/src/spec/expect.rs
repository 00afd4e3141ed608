//! Expectations a step's outcome must meet, and the matching of output streams. Each
//! check returns a sentence saying what was expected and what was seen.

use serde::Deserialize;

use crate::config::{render, Vars};
use crate::protocol::IpcKind;
use crate::spec::{IntOrTemplate, MessageSpec};

/// `expect = { … }` of a step; which keys make sense depends on the step's verb.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// Exit status: a number, or `"any"` (anything but a crash or timeout).
    pub exit: Option<ExitSpec>,
    /// Expected terminating signal name (`SEGV`, `KILL`…).
    pub signal: Option<String>,
    /// Matchers on stdout.
    pub stdout: Option<Matchers>,
    /// Matchers on stderr.
    pub stderr: Option<Matchers>,
    /// For `wait_for`: whether the condition must hold (default true).
    pub satisfied: Option<bool>,
    /// For `ipc_snapshot`: objects that must exist.
    #[serde(default)]
    pub ipc: Vec<IpcMatch>,
    /// For `ipc_snapshot`: objects that must not exist.
    #[serde(default)]
    pub no_ipc: Vec<IpcMatch>,
    /// For `msg_drain`: the exact messages, in order.
    pub messages: Option<Vec<MessageSpec>>,
    /// For `file`: must it exist.
    pub exists: Option<bool>,
    /// For `file`: size in bytes.
    pub size: Option<IntOrTemplate>,
    /// For `file`: permission bits.
    pub mode: Option<u32>,
    /// For `file`: hex SHA-256 (template).
    pub sha256: Option<String>,
    /// For `file`: the first 4 KiB contain this (template).
    pub contains: Option<String>,
    /// For `file`: the first 4 KiB do not contain this (template): what a program that
    /// left old bytes behind shows.
    pub not_contains: Option<String>,
    /// Why the check matters, appended to its failure message (template): the likely
    /// cause in the student's terms (`opened without O_TRUNC`).
    pub because: Option<String>,
    /// For `file`: holds exactly the sorted `ints_from_seed(seed, count)`.
    pub sorted_ints_of: Option<IntsOf>,
}

/// `exit = 3` or `exit = "any"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ExitSpec {
    /// This exact code.
    Code(i32),
    /// `"any"`.
    Any(String),
}

/// `sorted_ints_of = { count, seed }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntsOf {
    /// How many ints.
    pub count: IntOrTemplate,
    /// Generator seed.
    pub seed: IntOrTemplate,
}

/// An IPC object pattern; unset fields match anything.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpcMatch {
    /// Kind.
    pub ipc: IpcKind,
    /// SysV key.
    pub key: Option<IntOrTemplate>,
    /// POSIX name (template, with or without the leading `/`).
    pub name: Option<String>,
    /// Size (bytes / semaphores).
    pub size: Option<IntOrTemplate>,
    /// Permission bits.
    pub mode: Option<u32>,
    /// Messages in queue / attach count.
    pub count: Option<IntOrTemplate>,
}

/// One matcher or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Matchers {
    /// A single matcher.
    One(Matcher),
    /// All of these.
    Many(Vec<Matcher>),
}

impl Matchers {
    /// The matchers as a slice.
    pub fn as_slice(&self) -> &[Matcher] {
        match self {
            Matchers::One(m) => std::slice::from_ref(m),
            Matchers::Many(v) => v,
        }
    }
}

/// A check on an output stream; exactly one field is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// The whole stream.
    pub exact: Option<String>,
    /// A substring.
    pub contains: Option<String>,
    /// A forbidden substring.
    pub not_contains: Option<String>,
    /// A regex searched in multi-line mode.
    pub regex: Option<String>,
    /// Exactly these lines in order.
    pub lines: Option<Vec<String>>,
    /// Exactly these lines in any order.
    pub line_set: Option<Vec<String>>,
    /// Lines matching these regexes, in this order, others allowed between.
    pub in_order: Option<Vec<String>>,
    /// Exactly n lines match a regex.
    pub count: Option<CountSpec>,
    /// The stream is empty.
    pub empty: Option<bool>,
}

/// `count = { regex, n }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountSpec {
    /// Regex a line must match.
    pub regex: String,
    /// How many lines.
    pub n: IntOrTemplate,
}

impl Matcher {
    /// How many of the fields are set (must be exactly one).
    pub fn set_fields(&self) -> usize {
        [
            self.exact.is_some(),
            self.contains.is_some(),
            self.not_contains.is_some(),
            self.regex.is_some(),
            self.lines.is_some(),
            self.line_set.is_some(),
            self.in_order.is_some(),
            self.count.is_some(),
            self.empty.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }

    /// Checks `text` (the stream called `what`); `Err` says what differs.
    pub fn check(&self, what: &str, text: &str, vars: &Vars) -> Result<(), String> {
        let r = |t: &String| render(t, vars);
        if let Some(e) = &self.exact {
            let e = r(e)?;
            return (text == e).then_some(()).ok_or_else(|| {
                format!(
                    "{what} should be exactly {} but was {}",
                    quote(&e),
                    quote(text)
                )
            });
        }
        if let Some(c) = &self.contains {
            let c = r(c)?;
            return text.contains(&c).then_some(()).ok_or_else(|| {
                format!(
                    "{what} should contain {} but was {}",
                    quote(&c),
                    quote(text)
                )
            });
        }
        if let Some(c) = &self.not_contains {
            let c = r(c)?;
            return (!text.contains(&c)).then_some(()).ok_or_else(|| {
                format!(
                    "{what} should not contain {} but was {}",
                    quote(&c),
                    quote(text)
                )
            });
        }
        if let Some(re) = &self.regex {
            let re = compile(&r(re)?)?;
            return re.is_match(text).then_some(()).ok_or_else(|| {
                format!(
                    "{what} should match /{}/ but was {}",
                    re.as_str(),
                    quote(text)
                )
            });
        }
        if let Some(lines) = &self.lines {
            return check_lines(what, text, &render_all(lines, vars)?);
        }
        if let Some(set) = &self.line_set {
            return check_line_set(what, text, &render_all(set, vars)?);
        }
        if let Some(order) = &self.in_order {
            return check_in_order(what, text, &render_all(order, vars)?);
        }
        if let Some(c) = &self.count {
            let re = compile(&r(&c.regex)?)?;
            let n = c.n.resolve(vars)?;
            let got = text.lines().filter(|l| re.is_match(l)).count() as i64;
            return (got == n).then_some(()).ok_or_else(|| {
                format!(
                    "{what} should have {n} line(s) matching /{}/ but has {got}",
                    re.as_str()
                )
            });
        }
        if self.empty == Some(true) && !text.is_empty() {
            return Err(format!("{what} should be empty but was {}", quote(text)));
        }
        if self.empty == Some(false) && text.is_empty() {
            return Err(format!("{what} should not be empty"));
        }
        Ok(())
    }
}

fn render_all(items: &[String], vars: &Vars) -> Result<Vec<String>, String> {
    items.iter().map(|s| render(s, vars)).collect()
}

fn compile(re: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(re)
        .multi_line(true)
        .build()
        .map_err(|e| format!("bad regex /{re}/: {e}"))
}

fn lines_of(text: &str) -> Vec<&str> {
    text.lines().map(str::trim_end).collect()
}

fn check_lines(what: &str, text: &str, want: &[String]) -> Result<(), String> {
    let got = lines_of(text);
    for (i, w) in want.iter().enumerate() {
        match got.get(i) {
            Some(g) if *g == w.trim_end() => {}
            Some(g) => {
                return Err(format!(
                    "{what} line {} should be {} but was {}",
                    i + 1,
                    quote(w),
                    quote(g)
                ))
            }
            None => {
                return Err(format!(
                    "{what} stops after {} line(s); line {} should be {}",
                    got.len(),
                    i + 1,
                    quote(w)
                ))
            }
        }
    }
    if got.len() > want.len() {
        return Err(format!(
            "{what} has {} extra line(s) after the expected ones, starting with {}",
            got.len() - want.len(),
            quote(got[want.len()])
        ));
    }
    Ok(())
}

fn check_line_set(what: &str, text: &str, want: &[String]) -> Result<(), String> {
    let mut got: Vec<&str> = lines_of(text);
    let mut missing = Vec::new();
    for w in want {
        match got.iter().position(|g| *g == w.trim_end()) {
            Some(i) => {
                got.remove(i);
            }
            None => missing.push(w.as_str()),
        }
    }
    if let Some(m) = missing.first() {
        return Err(format!(
            "{what} is missing the line {} (in any order)",
            quote(m)
        ));
    }
    if let Some(extra) = got.first() {
        return Err(format!("{what} has an unexpected line {}", quote(extra)));
    }
    Ok(())
}

fn check_in_order(what: &str, text: &str, want: &[String]) -> Result<(), String> {
    let got = lines_of(text);
    let mut at = 0;
    for w in want {
        let re = compile(w)?;
        match got[at..].iter().position(|l| re.is_match(l)) {
            Some(i) => at += i + 1,
            None => {
                let after = if at == 0 {
                    String::new()
                } else {
                    format!(" after line {}", quote(got[at - 1]))
                };
                return Err(format!(
                    "{what} has no line matching /{w}/{after}; it was {}",
                    quote(text)
                ));
            }
        }
    }
    Ok(())
}

/// Quotes text for a message, shortened to something readable.
pub fn quote(text: &str) -> String {
    const MAX: usize = 300;
    if text.is_empty() {
        return "empty".into();
    }
    if text.len() <= MAX {
        return format!("{text:?}");
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{:?}… ({} bytes in all)", &text[..cut], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(toml_text: &str) -> Matcher {
        toml::from_str(toml_text).unwrap()
    }

    fn vars() -> Vars {
        [
            ("n".to_string(), "2".to_string()),
            ("w".to_string(), "abc".to_string()),
        ]
        .into()
    }

    #[test]
    fn exact_and_contains_render_params() {
        assert!(m("exact = \"x abc\\n\"")
            .check("stdout", "x abc\n", &vars())
            .is_ok());
        let err = m("contains = \"{w}\"")
            .check("stdout", "zzz", &vars())
            .unwrap_err();
        assert_eq!(err, "stdout should contain \"abc\" but was \"zzz\"");
    }

    #[test]
    fn lines_report_the_first_difference() {
        let mm = m("lines = [\"a\", \"b\"]");
        assert!(mm.check("stdout", "a\nb  \n", &vars()).is_ok());
        assert!(mm
            .check("stdout", "a\nc\n", &vars())
            .unwrap_err()
            .contains("line 2 should be \"b\""));
        assert!(mm
            .check("stdout", "a\n", &vars())
            .unwrap_err()
            .contains("stops after 1 line"));
        assert!(mm
            .check("stdout", "a\nb\nc\n", &vars())
            .unwrap_err()
            .contains("1 extra line"));
    }

    #[test]
    fn line_set_ignores_order_but_not_multiplicity() {
        let mm = m("line_set = [\"x\", \"y\", \"x\"]");
        assert!(mm.check("out", "y\nx\nx\n", &vars()).is_ok());
        assert!(mm
            .check("out", "y\nx\n", &vars())
            .unwrap_err()
            .contains("missing the line \"x\""));
    }

    #[test]
    fn in_order_allows_lines_between() {
        let mm = m("in_order = [\"^Val is 0\", \"^Val is {n}\"]");
        assert!(mm
            .check("out", "Val is 0\nnoise\nVal is 2\n", &vars())
            .is_ok());
        assert!(mm.check("out", "Val is 2\nVal is 0\n", &vars()).is_err());
    }

    #[test]
    fn count_and_regex() {
        assert!(m("count = { regex = \"^P\", n = \"{n}\" }")
            .check("o", "P\nC\nP\n", &vars())
            .is_ok());
        assert!(m("regex = '^\\d+$'").check("o", "a\n12\n", &vars()).is_ok());
        assert!(m("regex = '('")
            .check("o", "", &vars())
            .unwrap_err()
            .contains("bad regex"));
    }

    #[test]
    fn long_text_is_shortened_in_messages() {
        let q = quote(&"x".repeat(1000));
        assert!(q.contains("(1000 bytes in all)"));
    }
}
