//! Command-line parsing for the three programs (keys, numbers and usage errors come from
//! the course's support crate), and small helpers on their arguments.

use std::time::Duration;

pub use lab_support::cli::{parse_key, UsageError};

/// `semalt`'s usage line.
pub const ALT_USAGE: &str = "usage: semalt [ROUNDS [HOLD_MS]]   (defaults: 5 rounds, 1000 ms)";
/// `semhold`'s usage line.
pub const HOLD_USAGE: &str = "usage: semhold KEY [HOLD_MS]   (KEY: decimal or 0x-hex)";
/// `semcount`'s usage line.
pub const COUNT_USAGE: &str = "usage: semcount NPROCS TOTAL";

/// The slides' five rounds.
pub const DEFAULT_ROUNDS: u32 = 5;
/// The slides' `sleep(1)`.
pub const DEFAULT_HOLD: Duration = Duration::from_millis(1000);
/// Most children `semcount` forks (the grader limits the processes per user).
pub const MAX_PROCS: u32 = 32;

/// `semalt [ROUNDS [HOLD_MS]]` → (rounds, hold).
pub fn parse_alt(args: &[String]) -> Result<(u32, Duration), UsageError> {
    let rounds = match args.first() {
        Some(r) => parse_number(r, "ROUNDS", 1, u32::MAX)?,
        None => DEFAULT_ROUNDS,
    };
    let hold = match args.get(1) {
        Some(h) => Duration::from_millis(u64::from(parse_number(h, "HOLD_MS", 0, u32::MAX)?)),
        None => DEFAULT_HOLD,
    };
    if args.len() > 2 {
        return Err(UsageError("at most 2 arguments".into()));
    }
    Ok((rounds, hold))
}

/// `semhold KEY [HOLD_MS]` → (key, hold; `None` = until killed).
pub fn parse_hold(args: &[String]) -> Result<(i32, Option<Duration>), UsageError> {
    match args {
        [key] => Ok((parse_key(key)?, None)),
        [key, ms] => {
            let ms = parse_number(ms, "HOLD_MS", 0, u32::MAX)?;
            Ok((parse_key(key)?, Some(Duration::from_millis(u64::from(ms)))))
        }
        _ => Err(UsageError("expected 1 or 2 arguments".into())),
    }
}

/// `semcount NPROCS TOTAL` → (nprocs, total).
pub fn parse_count(args: &[String]) -> Result<(u32, u32), UsageError> {
    match args {
        [nprocs, total] => Ok((
            parse_number(nprocs, "NPROCS", 1, MAX_PROCS)?,
            parse_number(total, "TOTAL", 0, i32::MAX as u32)?,
        )),
        _ => Err(UsageError("expected 2 arguments".into())),
    }
}

/// Child `i`'s share of `total` increments among `nprocs`: `total / nprocs`, plus one
/// for the first `total % nprocs` children.
pub fn share(total: u32, nprocs: u32, i: u32) -> u32 {
    total / nprocs + u32::from(i < total % nprocs)
}

/// A number in `min..=max`.
fn parse_number(s: &str, what: &str, min: u32, max: u32) -> Result<u32, UsageError> {
    lab_support::cli::number(s, what, min.into(), max.into()).map(|v| v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn semalt_defaults_to_the_slides_five_rounds_of_one_second() {
        assert_eq!(parse_alt(&[]), Ok((5, Duration::from_secs(1))));
        assert_eq!(parse_alt(&args("3")), Ok((3, Duration::from_secs(1))));
        assert_eq!(
            parse_alt(&args("3 150")),
            Ok((3, Duration::from_millis(150)))
        );
        assert!(parse_alt(&args("0")).is_err());
        assert!(parse_alt(&args("3 150 1")).is_err());
    }

    #[test]
    fn semhold_holds_forever_without_a_duration() {
        assert_eq!(parse_hold(&args("0x10")), Ok((16, None)));
        let (key, hold) = parse_hold(&args("16 250")).unwrap();
        assert_eq!((key, hold), (16, Some(Duration::from_millis(250))));
        assert!(parse_hold(&[]).is_err());
        assert!(parse_hold(&args("zz")).is_err());
    }

    #[test]
    fn semcount_bounds_the_number_of_children() {
        assert_eq!(parse_count(&args("4 1000")), Ok((4, 1000)));
        assert!(parse_count(&args("0 1000")).is_err());
        assert!(parse_count(&args("33 1000")).is_err());
        assert!(parse_count(&args("4")).is_err());
    }

    #[test]
    fn shares_add_up_to_the_total() {
        for (total, nprocs) in [(1000, 3), (7, 4), (2, 5), (0, 2), (1500, 5)] {
            let sum: u32 = (0..nprocs).map(|i| share(total, nprocs, i)).sum();
            assert_eq!(sum, total, "total {total} over {nprocs}");
        }
        assert_eq!(share(7, 4, 0), 2);
        assert_eq!(share(7, 4, 3), 1);
    }
}
