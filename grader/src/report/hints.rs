//! What `cargo grader hint` prints: the levels a scenario now shows, or every scenario of
//! a lab with the levels it shows.

use std::io::{self, Write};

use crate::course::{HintPolicy, LabEntry};

/// The hints of one scenario (or lab 7 check), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioHints {
    /// Scenario name.
    pub name: String,
    /// Scenario title.
    pub title: Option<String>,
    /// The levels: the concept first, the recipe last (one level for a plain `hint`).
    pub levels: Vec<String>,
}

/// What `cargo grader hint LAB SCENARIO` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revealed {
    /// Lab id.
    pub lab: String,
    /// The scenario and all its levels.
    pub scenario: ScenarioHints,
    /// Levels now shown (1-based count).
    pub shown: usize,
    /// Whether this call revealed a new level (false at the last one, or under `all`).
    pub new: bool,
}

/// One hint line: `hint: …` for a single level, `hint 2/3: …` among several.
pub fn level_line(index: usize, total: usize, text: &str) -> String {
    if total > 1 {
        format!("hint {}/{total}: {text}", index + 1)
    } else {
        format!("hint: {text}")
    }
}

/// The command that shows the next level.
pub fn more_command(lab: &str, scenario: &str) -> String {
    format!("cargo grader hint {lab} {scenario}")
}

/// After `cargo grader hint LAB SCENARIO`.
pub fn revealed(r: &Revealed, policy: HintPolicy, out: &mut dyn Write) -> io::Result<()> {
    let s = &r.scenario;
    let total = s.levels.len();
    writeln!(
        out,
        "{} {} — {}",
        r.lab,
        s.name,
        s.title.as_deref().unwrap_or("")
    )?;
    if total == 0 {
        return writeln!(
            out,
            "  this scenario has no hint: its title and the report's `why` are all there is"
        );
    }
    for (i, text) in s.levels.iter().take(r.shown).enumerate() {
        writeln!(out, "  {}", level_line(i, total, text))?;
    }
    if r.shown < total {
        let left = total - r.shown;
        writeln!(out, "{left} more: {}", more_command(&r.lab, &s.name))
    } else if policy == HintPolicy::All {
        writeln!(
            out,
            "this course shows every hint level at once (hints = \"all\")"
        )
    } else if total == 1 {
        writeln!(out, "{} has a single hint, shown above", s.name)
    } else if r.new {
        writeln!(
            out,
            "that was the last hint for {} ({total}/{total})",
            s.name
        )
    } else {
        writeln!(out, "no more hints for {}: all {total} are shown", s.name)
    }
}

/// After `cargo grader hint LAB`: one line per scenario, `shown/total`.
pub fn progress(
    lab: &LabEntry,
    rows: &[(ScenarioHints, usize)],
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(
        out,
        "{} — {}: hint levels a failure shows",
        lab.id, lab.title
    )?;
    let width = rows.iter().map(|(h, _)| h.name.len()).max().unwrap_or(0);
    for (h, shown) in rows {
        writeln!(out, "  {:<width$}  {shown}/{}", h.name, h.levels.len())?;
    }
    writeln!(
        out,
        "{} reveals the next level",
        more_command(&lab.id, "SCENARIO")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revealed_of(shown: usize, new: bool) -> Revealed {
        Revealed {
            lab: "lab1".into(),
            scenario: ScenarioHints {
                name: "rm".into(),
                title: Some("removes".into()),
                levels: vec!["a".into(), "b".into(), "c".into()],
            },
            shown,
            new,
        }
    }

    fn text(r: &Revealed, policy: HintPolicy) -> String {
        let mut buf = Vec::new();
        revealed(r, policy, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn a_reveal_lists_the_levels_so_far_and_the_way_to_the_next() {
        let t = text(&revealed_of(2, true), HintPolicy::Levels);
        assert!(t.contains("hint 1/3: a\n  hint 2/3: b\n"), "{t}");
        assert!(!t.contains("hint 3/3"), "{t}");
        assert!(t.contains("1 more: cargo grader hint lab1 rm"), "{t}");
    }

    #[test]
    fn the_last_level_says_so() {
        let t = text(&revealed_of(3, true), HintPolicy::Levels);
        assert!(t.contains("that was the last hint for rm (3/3)"), "{t}");
        let t = text(&revealed_of(3, false), HintPolicy::Levels);
        assert!(t.contains("no more hints for rm: all 3 are shown"), "{t}");
        let mut single = revealed_of(1, false);
        single.scenario.levels.truncate(1);
        let t = text(&single, HintPolicy::Levels);
        assert!(
            t.contains("  hint: a\nrm has a single hint, shown above"),
            "{t}"
        );
    }
}
