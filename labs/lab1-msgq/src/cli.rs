//! Command-line parsing: turns `msgq`'s arguments into a [`Command`], or a usage error.

use lab_support::cli::parse_int;
pub use lab_support::cli::{parse_key, UsageError};

/// The usage text printed after a usage error.
pub const USAGE: &str = "\
usage: msgq ftok PATH PROJ
       msgq create KEY
       msgq private TEXT
       msgq send KEY TYPE TEXT
       msgq recv KEY TYPE [--nowait] [--except]
       msgq rm KEY
       msgq pingpong [COUNT]
KEY: decimal or 0x-hex; PROJ: 1..255";

/// Messages the pingpong sends by default (the slides' `NUM_MSG`).
pub const DEFAULT_PING_COUNT: u32 = 65536;

/// One `msgq` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `msgq ftok PATH PROJ`.
    Ftok {
        /// An existing file.
        path: String,
        /// Project id, 1..255.
        proj: i32,
    },
    /// `msgq create KEY`.
    Create {
        /// The key.
        key: i32,
    },
    /// `msgq private TEXT`.
    Private {
        /// What the child sends to the parent.
        text: String,
    },
    /// `msgq send KEY TYPE TEXT`.
    Send {
        /// The key.
        key: i32,
        /// Message type, as given (checking it is the command's job).
        mtype: i64,
        /// Payload.
        text: String,
    },
    /// `msgq recv KEY TYPE [--nowait] [--except]`.
    Recv {
        /// The key.
        key: i32,
        /// `msgtyp` for `msgrcv`: 0, > 0 or < 0.
        mtype: i64,
        /// `--nowait`: do not block.
        nowait: bool,
        /// `--except`: any type but `mtype`.
        except: bool,
    },
    /// `msgq rm KEY`.
    Rm {
        /// The key.
        key: i32,
    },
    /// `msgq pingpong [COUNT]`.
    Pingpong {
        /// Messages to exchange.
        count: u32,
    },
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["ftok", path, proj] => Ok(Command::Ftok {
            path: path.to_string(),
            proj: parse_proj(proj)?,
        }),
        ["create", key] => Ok(Command::Create {
            key: parse_key(key)?,
        }),
        ["private", text] => Ok(Command::Private {
            text: text.to_string(),
        }),
        ["send", key, mtype, text] => Ok(Command::Send {
            key: parse_key(key)?,
            mtype: parse_type(mtype)?,
            text: text.to_string(),
        }),
        ["recv", key, mtype, flags @ ..] => parse_recv(key, mtype, flags),
        ["rm", key] => Ok(Command::Rm {
            key: parse_key(key)?,
        }),
        ["pingpong"] => Ok(Command::Pingpong {
            count: DEFAULT_PING_COUNT,
        }),
        ["pingpong", count] => Ok(Command::Pingpong {
            count: parse_count(count)?,
        }),
        _ => Err(UsageError(
            "unknown command or wrong number of arguments".into(),
        )),
    }
}

fn parse_recv(key: &str, mtype: &str, flags: &[&str]) -> Result<Command, UsageError> {
    let (mut nowait, mut except) = (false, false);
    for flag in flags {
        match *flag {
            "--nowait" => nowait = true,
            "--except" => except = true,
            other => return Err(UsageError(format!("unknown option `{other}`"))),
        }
    }
    Ok(Command::Recv {
        key: parse_key(key)?,
        mtype: parse_type(mtype)?,
        nowait,
        except,
    })
}

fn parse_type(s: &str) -> Result<i64, UsageError> {
    parse_int(s).ok_or_else(|| UsageError(format!("bad message type `{s}`")))
}

fn parse_proj(s: &str) -> Result<i32, UsageError> {
    match parse_int(s) {
        Some(v @ 1..=255) => Ok(v as i32),
        _ => Err(UsageError(format!("bad project id `{s}` (1..255)"))),
    }
}

fn parse_count(s: &str) -> Result<u32, UsageError> {
    match parse_int(s) {
        Some(v) if (1..=i64::from(i32::MAX)).contains(&v) => Ok(v as u32),
        _ => Err(UsageError(format!("bad message count `{s}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn recv_takes_negative_types_and_flags_in_any_order() {
        let cmd = parse(&args("recv 0x10 -6 --except --nowait")).unwrap();
        let want = Command::Recv {
            key: 16,
            mtype: -6,
            nowait: true,
            except: true,
        };
        assert_eq!(cmd, want);
        assert!(parse(&args("recv 0x10 1 --later")).is_err());
    }

    #[test]
    fn send_keeps_the_type_for_the_command_to_check() {
        let cmd = parse(&args("send 77 0 hello")).unwrap();
        assert_eq!(
            cmd,
            Command::Send {
                key: 77,
                mtype: 0,
                text: "hello".into()
            }
        );
    }

    #[test]
    fn proj_and_count_are_range_checked() {
        assert!(parse(&args("ftok /etc/passwd 0")).is_err());
        assert!(parse(&args("ftok /etc/passwd 256")).is_err());
        assert_eq!(
            parse(&args("ftok /etc/passwd 0x41")).unwrap(),
            Command::Ftok {
                path: "/etc/passwd".into(),
                proj: 65
            }
        );
        assert_eq!(
            parse(&args("pingpong")).unwrap(),
            Command::Pingpong { count: 65536 }
        );
        assert!(parse(&args("pingpong 0")).is_err());
    }
}
