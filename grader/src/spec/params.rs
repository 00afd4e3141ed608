//! Parameters drawn per run from a seed, so that no expected output can be hard-coded and
//! any grade can be replayed with `--seed`.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::Vars;
use crate::protocol::ints_from_seed;

/// One `[params.NAME]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ParamSpec {
    /// An integer in `[min, max]`.
    Int {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
        /// `dec` (default) or `hex` (`0x%08x`).
        #[serde(default)]
        format: IntFormat,
    },
    /// A random `[a-z0-9]` word.
    Word {
        /// Length.
        len: usize,
    },
    /// One of the listed strings.
    Choice {
        /// Candidates.
        of: Vec<String>,
    },
    /// A digest of `ints_from_seed(seed, count)` (optionally sorted).
    IntsDigest {
        /// Name of the int parameter used as the seed.
        seed: String,
        /// Number of ints (literal or a parameter name in braces).
        count: crate::spec::IntOrTemplate,
        /// Digest of the sorted ints.
        #[serde(default)]
        sorted: bool,
        /// `fnv1a64` or `sha256`.
        algo: DigestAlgo,
    },
}

/// How an int parameter renders.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IntFormat {
    /// Decimal.
    #[default]
    Dec,
    /// `0x%08x`.
    Hex,
}

/// Digest algorithms for [`ParamSpec::IntsDigest`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DigestAlgo {
    /// FNV-1a 64-bit, 16 lowercase hex digits.
    Fnv1a64,
    /// SHA-256, 64 lowercase hex digits.
    Sha256,
}

/// Checks ranges and references between parameters.
pub fn validate(params: &BTreeMap<String, ParamSpec>) -> Result<(), String> {
    for (name, p) in params {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("parameter name `{name}` must match [A-Za-z0-9_]+"));
        }
        match p {
            ParamSpec::Int { min, max, .. } if min > max => {
                return Err(format!("params.{name}: min {min} > max {max}"))
            }
            ParamSpec::Word { len } if *len == 0 || *len > 4096 => {
                return Err(format!("params.{name}: len must be 1..=4096"))
            }
            ParamSpec::Choice { of } if of.is_empty() => {
                return Err(format!("params.{name}: `of` is empty"))
            }
            ParamSpec::IntsDigest { seed, .. } => match params.get(seed) {
                Some(ParamSpec::Int { .. }) => {}
                _ => {
                    return Err(format!(
                        "params.{name}: seed `{seed}` is not an int parameter"
                    ))
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// splitmix64: small, fast, and identical on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for one parameter: independent of the other parameters' names, so
    /// adding a parameter does not change the values of the others.
    pub fn for_param(seed: u64, name: &str) -> Rng {
        let h = Sha256::digest(name.as_bytes());
        let mut salt = [0u8; 8];
        salt.copy_from_slice(&h[..8]);
        Rng(seed ^ u64::from_le_bytes(salt))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[min, max]`.
    pub fn range(&mut self, min: i64, max: i64) -> i64 {
        let span = (max as i128 - min as i128 + 1) as u128;
        (min as i128 + (self.next_u64() as u128 % span) as i128) as i64
    }
}

/// Draws every parameter for `seed`. Derived parameters are computed after the plain ones.
pub fn draw(params: &BTreeMap<String, ParamSpec>, seed: u64) -> Result<Vars, String> {
    let mut vars = Vars::new();
    for (name, p) in params {
        let mut rng = Rng::for_param(seed, name);
        let value = match p {
            ParamSpec::Int { min, max, format } => {
                let v = rng.range(*min, *max);
                match format {
                    IntFormat::Dec => v.to_string(),
                    IntFormat::Hex => format!("0x{v:08x}"),
                }
            }
            ParamSpec::Word { len } => {
                const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
                (0..*len)
                    .map(|_| ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize] as char)
                    .collect()
            }
            ParamSpec::Choice { of } => of[(rng.next_u64() % of.len() as u64) as usize].clone(),
            ParamSpec::IntsDigest { .. } => continue,
        };
        vars.insert(name.clone(), value);
    }
    for (name, p) in params {
        if let ParamSpec::IntsDigest {
            seed: seed_param,
            count,
            sorted,
            algo,
        } = p
        {
            let seed_value = crate::config::parse_int(&vars[seed_param]).unwrap_or(0) as u64;
            let count = count.resolve(&vars)?;
            let count =
                u64::try_from(count).map_err(|_| format!("params.{name}: negative count"))?;
            vars.insert(name.clone(), ints_digest(seed_value, count, *sorted, *algo));
        }
    }
    Ok(vars)
}

/// The native-endian bytes of `ints_from_seed(seed, count)`, optionally sorted.
pub fn ints_bytes(seed: u64, count: u64, sorted: bool) -> Vec<u8> {
    let mut ints: Vec<i32> = ints_from_seed(seed, count).collect();
    if sorted {
        ints.sort_unstable();
    }
    ints.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// Digest of [`ints_bytes`].
pub fn ints_digest(seed: u64, count: u64, sorted: bool, algo: DigestAlgo) -> String {
    let bytes = ints_bytes(seed, count, sorted);
    match algo {
        DigestAlgo::Fnv1a64 => format!("{:016x}", fnv1a64(&bytes)),
        DigestAlgo::Sha256 => crate::course::sha256_hex(&bytes),
    }
}

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BTreeMap<String, ParamSpec> {
        let text = r#"
            key = { kind = "int", min = 65536, max = 2147483647, format = "hex" }
            word = { kind = "word", len = 12 }
            pick = { kind = "choice", of = ["a", "b", "c"] }
            seed = { kind = "int", min = 1, max = 1000000 }
            sum = { kind = "ints_digest", seed = "seed", count = 4, algo = "fnv1a64" }
        "#;
        toml::from_str(text).unwrap()
    }

    #[test]
    fn same_seed_same_values_other_seed_other_values() {
        let a = draw(&spec(), 42).unwrap();
        assert_eq!(a, draw(&spec(), 42).unwrap());
        let b = draw(&spec(), 43).unwrap();
        assert_ne!(a["key"], b["key"]);
        assert_ne!(a["word"], b["word"]);
        assert!(a["key"].starts_with("0x") && a["key"].len() == 10);
        assert_eq!(a["word"].len(), 12);
        assert_eq!(a["sum"].len(), 16);
    }

    #[test]
    fn adding_a_parameter_keeps_the_others() {
        let mut more = spec();
        more.insert("extra".into(), ParamSpec::Word { len: 3 });
        let a = draw(&spec(), 7).unwrap();
        let b = draw(&more, 7).unwrap();
        assert_eq!(a["key"], b["key"]);
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn validation_catches_bad_ranges_and_references() {
        let mut p = spec();
        p.insert(
            "bad".into(),
            ParamSpec::Int {
                min: 5,
                max: 1,
                format: IntFormat::Dec,
            },
        );
        assert!(validate(&p).unwrap_err().contains("min 5 > max 1"));
        let mut p = spec();
        p.insert(
            "d".into(),
            ParamSpec::IntsDigest {
                seed: "word".into(),
                count: crate::spec::IntOrTemplate::Int(1),
                sorted: false,
                algo: DigestAlgo::Sha256,
            },
        );
        assert!(validate(&p).unwrap_err().contains("not an int parameter"));
    }
}
