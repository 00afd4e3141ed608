//! Command-line parsing for both programs (keys, numbers and usage errors come from the
//! course's support crate).

use std::time::Duration;

use lab_support::cli::{number, wrong_count};
pub use lab_support::cli::{parse_key, UsageError};
pub use lab_support::format::hex_key;

/// `shm_server`'s usage line.
pub const SERVER_USAGE: &str = "usage: shm_server KEY TICK_MS   (KEY: decimal or 0x-hex)";
/// `shm_client`'s usage line.
pub const CLIENT_USAGE: &str = "usage: shm_client KEY MAX   (KEY: decimal or 0x-hex)";

/// `shm_server KEY TICK_MS` → (key, tick).
pub fn parse_server(args: &[String]) -> Result<(i32, Duration), UsageError> {
    let [key, tick] = args else {
        return Err(wrong_count());
    };
    let ms = number(tick, "TICK_MS", 1, 3_600_000)?;
    Ok((parse_key(key)?, Duration::from_millis(ms as u64)))
}

/// `shm_client KEY MAX` → (key, max).
pub fn parse_client(args: &[String]) -> Result<(i32, i32), UsageError> {
    let [key, max] = args else {
        return Err(wrong_count());
    };
    Ok((
        parse_key(key)?,
        number(max, "MAX", 1, i64::from(i32::MAX))? as i32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
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
