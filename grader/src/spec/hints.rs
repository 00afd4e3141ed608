//! A scenario's hints: one `hint = "…"`, or `hints = ["…", …]` in levels (the concept
//! first, the recipe last) that reports reveal one at a time.

use super::ScenarioSpec;

/// Fewest levels a `hints` list may have (one level is written `hint`).
pub const MIN_LEVELS: usize = 2;
/// Most levels a `hints` list may have.
pub const MAX_LEVELS: usize = 4;

impl ScenarioSpec {
    /// The hint levels in order: `hints`, or `hint` as the only level, or none.
    pub fn hint_levels(&self) -> Vec<&str> {
        match (&self.hints, &self.hint) {
            (Some(levels), _) => levels.iter().map(String::as_str).collect(),
            (None, Some(h)) => vec![h.as_str()],
            (None, None) => Vec::new(),
        }
    }
}

/// Checks `hint`/`hints`: not both, 2 to 4 levels, none empty or repeated.
pub fn validate(s: &ScenarioSpec) -> Result<(), String> {
    if let Some(h) = &s.hint {
        if s.hints.is_some() {
            return Err("has both `hint` and `hints`: keep one (`hints` holds every level)".into());
        }
        return non_empty(h, "hint");
    }
    let Some(levels) = &s.hints else {
        return Ok(());
    };
    if !(MIN_LEVELS..=MAX_LEVELS).contains(&levels.len()) {
        return Err(format!(
            "`hints` has {} level(s): write {MIN_LEVELS} to {MAX_LEVELS} (a single one is `hint = \"…\"`)",
            levels.len()
        ));
    }
    for (i, h) in levels.iter().enumerate() {
        non_empty(h, &format!("hints[{i}]"))?;
        if levels[..i].contains(h) {
            return Err(format!("hints[{i}] repeats an earlier level"));
        }
    }
    Ok(())
}

fn non_empty(text: &str, key: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        Err(format!("`{key}` is empty"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::spec::LabSpec;

    fn spec(hint_lines: &str) -> Result<LabSpec, String> {
        let text = format!(
            r#"
format_version = 1
programs = ["p"]
[[scenario]]
name = "s"
points = 1
timeout = "1s"
{hint_lines}
[[scenario.step]]
run = "p"
"#
        );
        LabSpec::parse(Path::new("lab.toml"), &text).map_err(|e| e.to_string())
    }

    #[test]
    fn levels_come_in_order_and_a_single_hint_is_one_level() {
        let s = spec(r#"hints = ["concept", "closer", "recipe"]"#).unwrap();
        assert_eq!(
            s.scenarios[0].hint_levels(),
            ["concept", "closer", "recipe"]
        );
        let s = spec(r#"hint = "only""#).unwrap();
        assert_eq!(s.scenarios[0].hint_levels(), ["only"]);
        assert!(spec("").unwrap().scenarios[0].hint_levels().is_empty());
    }

    #[test]
    fn too_few_or_too_many_levels_are_refused_naming_the_scenario() {
        let err = spec(r#"hints = ["alone"]"#).unwrap_err();
        assert!(
            err.contains("scenario `s`") && err.contains("1 level(s)"),
            "{err}"
        );
        let err = spec(r#"hints = ["a", "b", "c", "d", "e"]"#).unwrap_err();
        assert!(
            err.contains("5 level(s)") && err.contains("2 to 4"),
            "{err}"
        );
    }

    #[test]
    fn both_keys_empty_or_repeated_levels_are_refused() {
        let err = spec("hint = \"x\"\nhints = [\"a\", \"b\"]").unwrap_err();
        assert!(err.contains("both `hint` and `hints`"), "{err}");
        let err = spec(r#"hints = ["a", " "]"#).unwrap_err();
        assert!(err.contains("`hints[1]` is empty"), "{err}");
        let err = spec(r#"hints = ["a", "a"]"#).unwrap_err();
        assert!(err.contains("hints[1] repeats"), "{err}");
        let err = spec(r#"hint = """#).unwrap_err();
        assert!(err.contains("`hint` is empty"), "{err}");
    }

    #[test]
    fn hints_must_be_a_list_of_strings() {
        let err = spec("hints = \"one string\"").unwrap_err();
        assert!(err.contains("lab.toml:8"), "{err}");
    }
}
