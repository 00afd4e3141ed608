//! Command-line values every lab reads: integers in decimal or `0x`-hex, System V keys,
//! numbers in a range; a bad one is a [`UsageError`] saying why.

use std::fmt;

/// A command line that does not follow the program's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A signed integer in decimal, or in hex after `0x`/`0X` (`010` is ten, never octal).
pub fn parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None if digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse().ok()?,
        None => return None,
    };
    Some(if negative { -value } else { value })
}

/// A key: decimal or `0x`-hex, any 32-bit pattern (ftok keys may have the top bit set).
pub fn parse_key(s: &str) -> Result<i32, UsageError> {
    match parse_int(s) {
        Some(v) if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) => Ok(v as u32 as i32),
        _ => Err(UsageError(format!("bad key `{s}` (decimal or 0x-hex)"))),
    }
}

/// `what`, a number (decimal or `0x`-hex) in `min..=max`.
pub fn number(s: &str, what: &str, min: i64, max: i64) -> Result<i64, UsageError> {
    match parse_int(s) {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(UsageError(format!(
            "bad {what} `{s}` (a number from {min} to {max})"
        ))),
    }
}

/// The usage error of a command line with too few or too many arguments.
pub fn wrong_count() -> UsageError {
    UsageError("wrong number of arguments".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decimal_or_hex() {
        assert_eq!(parse_key("0x0001e240"), Ok(123456));
        assert_eq!(parse_key("123456"), Ok(123456));
        assert_eq!(parse_key("0xffffffff"), Ok(-1));
        assert!(parse_key("12z").is_err());
        assert!(parse_key("0x1ffffffff").is_err());
        assert!(parse_key("+5").is_err());
    }

    #[test]
    fn numbers_are_range_checked() {
        assert_eq!(number("010", "N", 1, 20), Ok(10));
        assert_eq!(number("0x10", "N", 1, 20), Ok(16));
        assert!(number("0", "N", 1, 20).is_err());
        assert!(number("+5", "N", 1, 20).is_err());
        assert_eq!(
            number("21", "COUNT", 1, 20).unwrap_err().to_string(),
            "bad COUNT `21` (a number from 1 to 20)"
        );
    }
}
