//! `grader-agent`: runs a job's scenarios (inside the guest, or locally).
fn main() {}
