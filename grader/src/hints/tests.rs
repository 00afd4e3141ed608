//! Which hint levels a report shows under each policy, and the reveal command's rules.

use super::*;

fn report(build_ok: bool) -> GradeReport {
    let test = |name: &str, status: &str| {
        serde_json::json!({"name": name, "title": null, "status": status, "score": 0,
            "max_score": 1, "message": "m", "hint": "stale", "duration_ms": 0})
    };
    serde_json::from_value(serde_json::json!({
        "format_version": 1, "lab": "lab1", "title": "t", "submission": "/s",
        "language": "c", "backend": "local", "gradable": true, "score": 0, "max_score": 3,
        "build": {"ok": build_ok, "log": ""},
        "tests": [test("a", "failed"), test("b", "passed"), test("c", "timeout")],
        "audit": {"leaks": []}, "duration_ms": 0, "seed": 1
    }))
    .unwrap()
}

fn hints() -> Vec<ScenarioHints> {
    let h = |name: &str, levels: &[&str]| ScenarioHints {
        name: name.into(),
        title: None,
        levels: levels.iter().map(|l| l.to_string()).collect(),
    };
    vec![
        h("a", &["concept", "closer", "recipe"]),
        h("b", &["b1", "b2"]),
        h("c", &["only"]),
    ]
}

#[test]
fn levels_show_the_first_level_then_what_was_revealed() {
    let mut r = report(true);
    apply(&mut r, &hints(), HintPolicy::Levels, &|_| 0);
    assert_eq!(r.tests[0].hints, ["concept"]);
    assert_eq!(r.tests[0].hint.as_deref(), Some("concept"));
    assert_eq!(r.tests[0].hint_levels, 3);
    assert!(
        r.tests[1].hints.is_empty() && r.tests[1].hint.is_none(),
        "passed"
    );
    assert_eq!(r.tests[2].hints, ["only"]);
    apply(&mut r, &hints(), HintPolicy::Levels, &|n| {
        if n == "a" {
            2
        } else {
            9
        }
    });
    assert_eq!(r.tests[0].hints, ["concept", "closer"]);
    assert_eq!(r.tests[0].hint.as_deref(), Some("concept\ncloser"));
    assert_eq!(r.tests[2].hints, ["only"], "never more than there are");
}

#[test]
fn all_shows_every_level_and_none_shows_nothing_at_all() {
    let mut r = report(true);
    apply(&mut r, &hints(), HintPolicy::All, &|_| 0);
    assert_eq!(r.tests[0].hints, ["concept", "closer", "recipe"]);
    apply(&mut r, &hints(), HintPolicy::None, &|_| 3);
    for t in &r.tests {
        assert!(
            t.hint.is_none() && t.hints.is_empty() && t.hint_levels == 0,
            "{t:?}"
        );
    }
}

#[test]
fn an_unbuilt_submission_gets_no_hint() {
    let mut r = report(false);
    apply(&mut r, &hints(), HintPolicy::All, &|_| 0);
    assert!(r.tests.iter().all(|t| t.hint.is_none()));
}

#[test]
fn shown_is_at_least_one_and_at_most_the_total() {
    assert_eq!(shown(HintPolicy::Levels, 3, 0), 1);
    assert_eq!(shown(HintPolicy::Levels, 3, 7), 3);
    assert_eq!(shown(HintPolicy::Levels, 0, 2), 0);
    assert_eq!(shown(HintPolicy::All, 4, 0), 4);
    assert_eq!(shown(HintPolicy::None, 4, 4), 0);
}
