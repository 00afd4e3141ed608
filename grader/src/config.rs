//! Shared helpers for the typed TOML files (`course.toml`, `lab.toml`): parsing with
//! file/line/key in every error, durations written as `"10s"`, and `{param}` templates.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// A failure to read or understand a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML syntax, a wrong type, or an unknown key.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// What is wrong, as the TOML parser says it.
        message: String,
    },
    /// A well-formed file whose content is inconsistent.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: PathBuf,
        /// What is wrong (names the key).
        message: String,
    },
}

/// Reads and deserializes a TOML file; errors carry the file and line.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<(T, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let value = parse_toml(path, &text)?;
    Ok((value, text))
}

/// Deserializes TOML text that came from `path`.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        ConfigError::Parse {
            path: path.to_owned(),
            line,
            message: e.message().trim().to_owned(),
        }
    })
}

/// A duration written as `"250ms"`, `"10s"` or `"2m"` in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    /// Parses `"250ms"`, `"10s"`, `"1.5s"`, `"2m"`.
    pub fn parse(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        let (num, unit) = s
            .find(|c: char| c.is_ascii_alphabetic())
            .map(|i| s.split_at(i))
            .ok_or_else(|| format!("duration `{s}` needs a unit (ms, s or m)"))?;
        let n: f64 = num
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a duration like \"10s\""))?;
        let secs = match unit {
            "ms" => n / 1000.0,
            "s" => n,
            "m" | "min" => n * 60.0,
            _ => return Err(format!("unknown unit `{unit}` in `{s}` (ms, s or m)")),
        };
        if !(0.0..=86_400.0).contains(&secs) {
            return Err(format!("duration `{s}` is out of range"));
        }
        Ok(Dur(Duration::from_secs_f64(secs)))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Dur::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 1000 == 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

/// Values available to `{name}` templates.
pub type Vars = BTreeMap<String, String>;

/// Replaces `{name}` by `vars[name]`; `{{` and `}}` are literal braces.
/// Fails on an unknown name or an unclosed brace, naming it.
pub fn render(template: &str, vars: &Vars) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(format!("unmatched `}}` in `{template}` (write `}}}}`)"));
        }
        let end = tail
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
        let name = &tail[1..end];
        let value = vars
            .get(name)
            .ok_or_else(|| format!("unknown parameter `{{{name}}}` in `{template}`"))?;
        out.push_str(value);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses an integer written in decimal or `0x` hex (optionally negative).
pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = s.strip_prefix('-').map_or((false, s), |b| (true, b));
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => body.parse().ok()?,
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(Dur::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(Dur::parse("1.5s").unwrap().0, Duration::from_millis(1500));
        assert_eq!(Dur::parse("2m").unwrap().0, Duration::from_secs(120));
        assert!(Dur::parse("10").unwrap_err().contains("unit"));
        assert!(Dur::parse("3h").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn templates_substitute_and_escape() {
        let vars: Vars = [("key".to_string(), "0x10".to_string())].into();
        assert_eq!(render("k={key} {{x}}", &vars).unwrap(), "k=0x10 {x}");
        assert!(render("{nope}", &vars).unwrap_err().contains("`{nope}`"));
        assert!(render("{key", &vars).unwrap_err().contains("unclosed"));
    }

    #[test]
    fn ints_in_hex_and_decimal() {
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("-6"), Some(-6));
        assert_eq!(parse_int("zz"), None);
    }

    #[test]
    fn parse_errors_name_file_and_line() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        let err = parse_toml::<T>(Path::new("x.toml"), "a = 1\nb = 2\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x.toml:2: unknown field `b`"), "{msg}");
    }
}
