//! Command-line parsing for the four programs: POSIX object names and counts, or a usage
//! error.

use std::ffi::CString;
use std::fmt;

pub use lab_support::cli::UsageError;
use lab_support::cli::{number, wrong_count};

/// Messages the pingpong exchanges by default (the slides' `NUM_MSG`).
pub const DEFAULT_PING_COUNT: u32 = 65536;
/// Rounds the parent holds the semaphore by default (the slides' 5).
pub const DEFAULT_ROUNDS: u32 = 5;
/// How long each holder keeps the semaphore by default (the slides' `sleep(1)`).
pub const DEFAULT_HOLD_MS: u64 = 1000;

/// Usage of `mq_pingpong`.
pub const PINGPONG_USAGE: &str = "usage: mq_pingpong /NAME [COUNT]";
/// Usage of `pshm_server`.
pub const SERVER_USAGE: &str = "usage: pshm_server /NAME TICK_MS";
/// Usage of `pshm_client`.
pub const CLIENT_USAGE: &str = "usage: pshm_client /NAME MAX";
/// Usage of `psem_alt`.
pub const ALT_USAGE: &str = "usage: psem_alt /NAME [ROUNDS] [HOLD_MS]";

/// A POSIX IPC object name: `/` then 1 to 200 characters, none of them `/` or NUL.
/// (The kernel allows up to NAME_MAX = 255; the pingpong appends `.req`/`.rep` and a
/// named semaphore gets a `sem.` prefix, so the limit leaves room for both.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosixName(CString);

impl PosixName {
    /// Checks and wraps a name given on the command line.
    pub fn parse(s: &str) -> Result<PosixName, UsageError> {
        let rest = s
            .strip_prefix('/')
            .ok_or_else(|| UsageError(format!("name `{s}` must start with `/`")))?;
        if rest.is_empty() || rest.len() > 200 || rest.contains(['/', '\0']) {
            return Err(UsageError(format!(
                "name `{s}` must be `/` then 1 to 200 characters without `/`"
            )));
        }
        Ok(PosixName(CString::new(s).expect("NUL was rejected above")))
    }

    /// The name with `suffix` appended (`/x` + `.req` = `/x.req`).
    pub fn with_suffix(&self, suffix: &str) -> PosixName {
        PosixName::parse(&format!("{self}{suffix}")).expect("suffixes keep a name valid")
    }

    /// The name as a C string, for the `*_open`/`*_unlink` calls.
    pub fn as_c(&self) -> &std::ffi::CStr {
        &self.0
    }
}

impl fmt::Display for PosixName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_string_lossy())
    }
}

/// `mq_pingpong /NAME [COUNT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingpongArgs {
    /// Base name of the two queues.
    pub name: PosixName,
    /// Messages the parent sends, the stop message included (>= 2).
    pub count: u32,
}

/// `pshm_server /NAME TICK_MS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerArgs {
    /// Name of the shared memory object.
    pub name: PosixName,
    /// Milliseconds between two increments of the counter (> 0).
    pub tick_ms: u64,
}

/// `pshm_client /NAME MAX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientArgs {
    /// Name of the shared memory object.
    pub name: PosixName,
    /// The counter value at which the client stops the server.
    pub max: i32,
}

/// `psem_alt /NAME [ROUNDS] [HOLD_MS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AltArgs {
    /// Name of the semaphore.
    pub name: PosixName,
    /// Times the parent takes the semaphore (>= 1).
    pub rounds: u32,
    /// Milliseconds each holder keeps it.
    pub hold_ms: u64,
}

/// Parses `mq_pingpong`'s arguments (after the program name).
pub fn parse_pingpong(args: &[String]) -> Result<PingpongArgs, UsageError> {
    let (name, count) = match args {
        [name] => (name, DEFAULT_PING_COUNT),
        [name, count] => (name, number(count, "COUNT", 2, i64::from(i32::MAX))? as u32),
        _ => return Err(wrong_count()),
    };
    Ok(PingpongArgs {
        name: PosixName::parse(name)?,
        count,
    })
}

/// Parses `pshm_server`'s arguments.
pub fn parse_server(args: &[String]) -> Result<ServerArgs, UsageError> {
    let [name, tick] = args else {
        return Err(wrong_count());
    };
    let tick_ms = number(tick, "TICK_MS", 1, 3_600_000)? as u64;
    Ok(ServerArgs {
        name: PosixName::parse(name)?,
        tick_ms,
    })
}

/// Parses `pshm_client`'s arguments.
pub fn parse_client(args: &[String]) -> Result<ClientArgs, UsageError> {
    let [name, max] = args else {
        return Err(wrong_count());
    };
    let max = number(max, "MAX", 0, i64::from(i32::MAX))? as i32;
    Ok(ClientArgs {
        name: PosixName::parse(name)?,
        max,
    })
}

/// Parses `psem_alt`'s arguments.
pub fn parse_alt(args: &[String]) -> Result<AltArgs, UsageError> {
    let (name, rest) = args.split_first().ok_or_else(wrong_count)?;
    if rest.len() > 2 {
        return Err(wrong_count());
    }
    let rounds = match rest.first() {
        Some(r) => number(r, "ROUNDS", 1, 1_000_000)? as u32,
        None => DEFAULT_ROUNDS,
    };
    let hold_ms = match rest.get(1) {
        Some(h) => number(h, "HOLD_MS", 0, 3_600_000)? as u64,
        None => DEFAULT_HOLD_MS,
    };
    Ok(AltArgs {
        name: PosixName::parse(name)?,
        rounds,
        hold_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn names_need_one_leading_slash_and_no_other() {
        assert_eq!(
            PosixName::parse("/aise_x1").unwrap().to_string(),
            "/aise_x1"
        );
        assert!(PosixName::parse("aise").is_err());
        assert!(PosixName::parse("/").is_err());
        assert!(PosixName::parse("/a/b").is_err());
        assert!(PosixName::parse(&format!("/{}", "a".repeat(201))).is_err());
        let q = PosixName::parse("/q").unwrap().with_suffix(".req");
        assert_eq!(q.as_c().to_bytes(), b"/q.req");
    }

    #[test]
    fn pingpong_count_defaults_to_the_slides_and_needs_two() {
        let a = parse_pingpong(&args("/p")).unwrap();
        assert_eq!(a.count, 65536);
        assert_eq!(parse_pingpong(&args("/p 300")).unwrap().count, 300);
        assert!(parse_pingpong(&args("/p 1")).is_err());
        assert!(parse_pingpong(&args("/p 3 4")).is_err());
    }

    #[test]
    fn server_and_client_take_exactly_two_arguments() {
        let s = parse_server(&args("/s 25")).unwrap();
        assert_eq!((s.name.to_string(), s.tick_ms), ("/s".to_string(), 25));
        assert!(parse_server(&args("/s 0")).is_err());
        assert!(parse_server(&args("/s")).is_err());
        assert_eq!(parse_client(&args("/s 60")).unwrap().max, 60);
        assert!(parse_client(&args("/s -1")).is_err());
        assert!(parse_client(&args("/s +5")).is_err());
    }

    #[test]
    fn alternation_defaults_to_five_rounds_of_one_second() {
        let a = parse_alt(&args("/m")).unwrap();
        assert_eq!((a.rounds, a.hold_ms), (5, 1000));
        let b = parse_alt(&args("/m 3 40")).unwrap();
        assert_eq!((b.rounds, b.hold_ms), (3, 40));
        assert!(parse_alt(&args("/m 0")).is_err());
        assert!(parse_alt(&args("/m 1 2 3")).is_err());
        assert!(parse_alt(&[]).is_err());
    }
}
