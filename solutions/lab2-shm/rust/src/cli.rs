//! Command-line parsing for both programs, and the `0x%08x` key format the messages use.

use std::fmt;
use std::time::Duration;

/// `shm_server`'s usage line.
pub const SERVER_USAGE: &str = "usage: shm_server KEY TICK_MS   (KEY: decimal or 0x-hex)";
/// `shm_client`'s usage line.
pub const CLIENT_USAGE: &str = "usage: shm_client KEY MAX   (KEY: decimal or 0x-hex)";

/// A command line that does not follow the usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// `shm_server KEY TICK_MS` → (key, tick).
pub fn parse_server(args: &[String]) -> Result<(i32, Duration), UsageError> {
    match args {
        [key, tick] => {
            let ms = parse_positive(tick, "TICK_MS")?;
            Ok((parse_key(key)?, Duration::from_millis(u64::from(ms))))
        }
        _ => Err(UsageError("expected 2 arguments".into())),
    }
}

/// `shm_client KEY MAX` → (key, max).
pub fn parse_client(args: &[String]) -> Result<(i32, i32), UsageError> {
    match args {
        [key, max] => Ok((parse_key(key)?, parse_positive(max, "MAX")? as i32)),
        _ => Err(UsageError("expected 2 arguments".into())),
    }
}

/// A key: decimal or `0x`-hex, any 32-bit pattern (ftok keys may have the top bit set).
pub fn parse_key(s: &str) -> Result<i32, UsageError> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None if s.bytes().all(|b| b.is_ascii_digit()) => s.parse::<u32>().ok(),
        None => None,
    };
    parsed
        .map(|v| v as i32)
        .ok_or_else(|| UsageError(format!("bad key `{s}` (decimal or 0x-hex)")))
}

/// A decimal number in 1..=i32::MAX.
fn parse_positive(s: &str, what: &str) -> Result<u32, UsageError> {
    match s.parse::<u32>() {
        Ok(v) if (1..=i32::MAX as u32).contains(&v) => Ok(v),
        _ => Err(UsageError(format!("bad {what} `{s}` (a positive number)"))),
    }
}

/// A key as the course prints it: `0x%08x` of the 32-bit value.
pub fn hex_key(key: i32) -> String {
    format!("0x{:08x}", key as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn keys_are_decimal_or_hex_and_print_as_eight_hex_digits() {
        assert_eq!(parse_key("0x00004e1f"), Ok(19999));
        assert_eq!(parse_key("19999"), Ok(19999));
        assert_eq!(parse_key("0xffffffff"), Ok(-1));
        assert!(parse_key("-5").is_err());
        assert!(parse_key("0x1ffffffff").is_err());
        assert_eq!(hex_key(19999), "0x00004e1f");
        assert_eq!(hex_key(-2), "0xfffffffe");
    }

    #[test]
    fn server_and_client_take_two_arguments() {
        let (key, tick) = parse_server(&args("0x10 250")).unwrap();
        assert_eq!((key, tick), (16, Duration::from_millis(250)));
        assert_eq!(parse_client(&args("16 60")), Ok((16, 60)));
        assert!(parse_server(&args("16")).is_err());
        assert!(parse_server(&args("16 0")).is_err());
        assert!(parse_client(&args("16 60 1")).is_err());
        assert!(parse_client(&args("16 -1")).is_err());
    }
}
