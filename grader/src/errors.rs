//! Errors as messages for people: a failure and its causes on one line.

/// An error and its causes on one line (`failed to X: because Y: because Z`), for a
/// message a person reads.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}
