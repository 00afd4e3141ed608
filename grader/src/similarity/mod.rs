//! Code similarity between submissions, for a teacher to review (never a verdict): the
//! sources become token streams in which every identifier and literal is the same token,
//! so renaming and reformatting change nothing; k-grams of tokens are hashed and winnowed
//! into fingerprints (the MOSS scheme); code handed out to everyone (the lab skeleton) is
//! subtracted; pairs are ranked by the share of fingerprints they have in common.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Failures to read sources.
#[derive(Debug, thiserror::Error)]
pub enum SimilarityError {
    /// A directory or file could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

mod lexer;

pub use lexer::{is_keyword, tokenize, Lang, TokKind, Token};

fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The normalised token: names and literals lose their text.
fn normal<'a>(src: &'a str, t: &Token) -> Option<&'a str> {
    match t.kind {
        TokKind::Ident => Some("$id"),
        TokKind::Number => Some("$num"),
        TokKind::Str => Some("$str"),
        TokKind::Char => Some("$chr"),
        TokKind::Lifetime => Some("$lt"),
        TokKind::Directive => None,
        TokKind::Keyword | TokKind::Punct => Some(&src[t.start..t.end]),
    }
}

/// Fingerprinting parameters.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Tokens per k-gram: shorter matches are noise.
    pub k: usize,
    /// Winnowing window: any match of `k + window - 1` tokens is guaranteed to be seen.
    pub window: usize,
    /// Pairs below this share of common fingerprints are not reported.
    pub threshold: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            k: 12,
            window: 6,
            threshold: 0.5,
        }
    }
}

/// Where a fingerprint was first seen: file index and line.
type Place = (usize, u32);

/// One submission's fingerprints.
#[derive(Debug, Clone, Default)]
pub struct Fingerprints {
    /// Source files, relative to the submission.
    pub files: Vec<String>,
    /// Hash → first place.
    pub hashes: HashMap<u64, Place>,
}

/// Winnowed k-gram hashes of one file, with the line each k-gram starts on.
fn winnow(src: &str, lang: Lang, opts: &Options) -> Vec<(u64, u32)> {
    let toks: Vec<(u64, u32)> = tokenize(src, lang)
        .iter()
        .filter_map(|t| normal(src, t).map(|n| (fnv(n.as_bytes(), FNV_OFFSET), t.line)))
        .collect();
    if toks.len() < opts.k {
        return Vec::new();
    }
    let grams: Vec<(u64, u32)> = toks
        .windows(opts.k)
        .map(|w| {
            (
                w.iter()
                    .fold(FNV_OFFSET, |h, (t, _)| fnv(&t.to_le_bytes(), h)),
                w[0].1,
            )
        })
        .collect();
    let mut picked: Vec<(u64, u32)> = Vec::new();
    let mut last = usize::MAX;
    for (i, win) in grams
        .windows(opts.window.min(grams.len()).max(1))
        .enumerate()
    {
        // The rightmost minimum of each window (MOSS): one pick per run of equal windows.
        let (j, g) = win
            .iter()
            .enumerate()
            .rev()
            .min_by_key(|(_, g)| g.0)
            .expect("windows are not empty");
        if i + j != last {
            last = i + j;
            picked.push(*g);
        }
    }
    picked
}

/// Fingerprints every C and Rust source under `dir` (build products and VCS data left out).
pub fn fingerprint_dir(dir: &Path, opts: &Options) -> Result<Fingerprints, SimilarityError> {
    let mut files = Vec::new();
    collect_sources(dir, dir, &mut files)?;
    files.sort();
    let mut fp = Fingerprints::default();
    for rel in files {
        let path = dir.join(&rel);
        let text = std::fs::read(&path).map_err(|source| SimilarityError::Read {
            path: path.clone(),
            source,
        })?;
        let text = String::from_utf8_lossy(&text);
        let lang = Lang::of(&path).expect("collected by extension");
        let idx = fp.files.len();
        fp.files.push(rel.display().to_string());
        for (h, line) in winnow(&text, lang, opts) {
            fp.hashes.entry(h).or_insert((idx, line));
        }
    }
    Ok(fp)
}

fn collect_sources(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SimilarityError> {
    let read = std::fs::read_dir(dir).map_err(|source| SimilarityError::Read {
        path: dir.to_owned(),
        source,
    })?;
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let Ok(ty) = entry.file_type() else { continue };
        if ty.is_dir() && !["target", ".git", ".grader"].contains(&name.to_string_lossy().as_ref())
        {
            collect_sources(root, &path, out)?;
        } else if ty.is_file()
            && Lang::of(&path).is_some()
            && entry.metadata().is_ok_and(|m| m.len() < 1 << 20)
        {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_owned());
        }
    }
    Ok(())
}

/// A region two submissions share: file and line range on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// `file:first-last` in the first submission.
    pub a: String,
    /// `file:first-last` in the second.
    pub b: String,
    /// Fingerprints in the region.
    pub weight: usize,
}

/// Two submissions and how alike they are.
#[derive(Debug, Clone)]
pub struct Pair {
    /// First student.
    pub a: String,
    /// Second student.
    pub b: String,
    /// Shared fingerprints / fingerprints of either (Jaccard), 0–1.
    pub score: f64,
    /// Fingerprints in common.
    pub shared: usize,
    /// The largest shared regions, for the reviewer to open.
    pub regions: Vec<Region>,
}

/// Ranks every pair at or above the threshold, most alike first. Fingerprints of `base`
/// (code every student received) are ignored.
pub fn rank(subs: &[(String, Fingerprints)], base: &Fingerprints, opts: &Options) -> Vec<Pair> {
    let sets: Vec<HashSet<u64>> = subs
        .iter()
        .map(|(_, f)| {
            f.hashes
                .keys()
                .filter(|h| !base.hashes.contains_key(h))
                .copied()
                .collect()
        })
        .collect();
    let mut pairs = Vec::new();
    for i in 0..subs.len() {
        for j in i + 1..subs.len() {
            let shared: Vec<u64> = sets[i].intersection(&sets[j]).copied().collect();
            let union = sets[i].len() + sets[j].len() - shared.len();
            let score = if union == 0 {
                0.0
            } else {
                shared.len() as f64 / union as f64
            };
            if score >= opts.threshold && !shared.is_empty() {
                let regions = regions(&subs[i].1, &subs[j].1, &shared);
                pairs.push(Pair {
                    a: subs[i].0.clone(),
                    b: subs[j].0.clone(),
                    score,
                    shared: shared.len(),
                    regions,
                });
            }
        }
    }
    pairs.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(y.shared.cmp(&x.shared))
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    pairs
}

/// Groups shared fingerprints into line ranges (same files, nearby lines on both sides).
fn regions(a: &Fingerprints, b: &Fingerprints, shared: &[u64]) -> Vec<Region> {
    let mut places: Vec<(Place, Place)> =
        shared.iter().map(|h| (a.hashes[h], b.hashes[h])).collect();
    places.sort();
    let mut runs: Vec<(Place, Place, u32, u32, usize)> = Vec::new(); // a start, b start, a end, b end, n
    for (pa, pb) in places {
        match runs.last_mut() {
            Some((sa, sb, ea, eb, n))
                if sa.0 == pa.0 && sb.0 == pb.0 && pa.1 <= *ea + 8 && pb.1.abs_diff(*eb) <= 8 =>
            {
                *ea = pa.1;
                *eb = (*eb).max(pb.1);
                sb.1 = sb.1.min(pb.1);
                *n += 1;
            }
            _ => runs.push((pa, pb, pa.1, pb.1, 1)),
        }
    }
    runs.sort_by_key(|r| std::cmp::Reverse(r.4));
    runs.truncate(3);
    runs.into_iter()
        .map(|(sa, sb, ea, eb, n)| Region {
            a: format!("{}:{}-{}", a.files[sa.0], sa.1, ea),
            b: format!("{}:{}-{}", b.files[sb.0], sb.1, eb),
            weight: n,
        })
        .collect()
}

/// Fingerprints each submission (name, directory) and ranks the pairs; `base` directories
/// hold the code handed out (their fingerprints are ignored).
pub fn compare(
    subs: &[(String, PathBuf)],
    base: &[PathBuf],
    opts: &Options,
) -> Result<Vec<Pair>, SimilarityError> {
    let mut base_fp = Fingerprints::default();
    for dir in base.iter().filter(|d| d.is_dir()) {
        base_fp.hashes.extend(fingerprint_dir(dir, opts)?.hashes);
    }
    let fps = subs
        .iter()
        .map(|(name, dir)| Ok((name.clone(), fingerprint_dir(dir, opts)?)))
        .collect::<Result<Vec<_>, SimilarityError>>()?;
    Ok(rank(&fps, &base_fp, opts))
}

/// Writes the ranked pairs as CSV (a, b, score, shared, regions).
pub fn write_csv(pairs: &[Pair], out: &mut dyn Write) -> io::Result<()> {
    use crate::report::csv::write_record;
    write_record(
        &[
            "student_a",
            "student_b",
            "similarity",
            "shared_fingerprints",
            "regions",
        ]
        .map(String::from),
        out,
    )?;
    for p in pairs {
        let regions: Vec<String> = p
            .regions
            .iter()
            .map(|r| format!("{} ~ {}", r.a, r.b))
            .collect();
        write_record(
            &[
                p.a.clone(),
                p.b.clone(),
                format!("{:.3}", p.score),
                p.shared.to_string(),
                regions.join("; "),
            ],
            out,
        )?;
    }
    Ok(())
}

/// Writes the ranked pairs as Markdown for reading.
pub fn write_markdown(
    pairs: &[Pair],
    students: usize,
    opts: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "# Similar submissions\n")?;
    writeln!(
        out,
        "{} pair(s) of {students} submissions share at least {:.0}% of their code fingerprints \
         (tokens with names and literals erased, {}-token windows; the lab skeleton is ignored).\n\
         A high score is a reason to look, not a proof: read the regions listed.\n",
        pairs.len(),
        opts.threshold * 100.0,
        opts.k
    )?;
    if pairs.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "| rank | students | similarity | shared | largest shared regions |"
    )?;
    writeln!(out, "|---:|---|---:|---:|---|")?;
    let mut by_student: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in pairs.iter().enumerate() {
        *by_student.entry(&p.a).or_default() += 1;
        *by_student.entry(&p.b).or_default() += 1;
        let regions: Vec<String> = p
            .regions
            .iter()
            .map(|r| format!("`{}` ~ `{}`", r.a, r.b))
            .collect();
        writeln!(
            out,
            "| {} | {} ~ {} | {:.0}% | {} | {} |",
            i + 1,
            p.a,
            p.b,
            p.score * 100.0,
            p.shared,
            regions.join("<br>")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const C_SRC: &str = "#include <stdio.h>\n/* a comment */\nstatic int total(int *v, int n)\n{\n    int s = 0;\n    for (int i = 0; i < n; i++)\n        s += v[i];\n    return s;\n}\nint main(void) { int v[3] = {1, 2, 3}; printf(\"%d\\n\", total(v, 3)); return 0; }\n";

    #[test]
    fn renaming_and_reformatting_keep_the_fingerprints() {
        let renamed = C_SRC
            .replace("total", "sum_all")
            .replace(" s ", " acc ")
            .replace("s +=", "acc +=")
            .replace("return s;", "return acc;");
        let reformatted = renamed
            .replace("\n    ", "\n\t\t")
            .replace("{\n", "{ ")
            .replace("/* a comment */", "// other words");
        let opts = Options {
            k: 8,
            window: 4,
            threshold: 0.0,
        };
        let a: HashSet<u64> = winnow(C_SRC, Lang::C, &opts)
            .into_iter()
            .map(|x| x.0)
            .collect();
        let b: HashSet<u64> = winnow(&reformatted, Lang::C, &opts)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert!(!a.is_empty());
        assert_eq!(a, b);
    }

    #[test]
    fn pairs_are_ranked_and_the_base_is_ignored() {
        let opts = Options {
            k: 8,
            window: 4,
            threshold: 0.1,
        };
        let fp = |src: &str| Fingerprints {
            files: vec!["x.c".into()],
            hashes: winnow(src, Lang::C, &opts)
                .into_iter()
                .map(|(h, l)| (h, (0, l)))
                .collect(),
        };
        let other = "int g(char *p) { while (*p) { if (*p == 'x') return 1; p++; } return 0; } long h(long a, long b) { return a * b + a / b - a % b; }";
        let subs = vec![
            ("a".to_string(), fp(C_SRC)),
            ("b".to_string(), fp(&C_SRC.replace("total", "t"))),
            ("c".to_string(), fp(other)),
        ];
        let pairs = rank(&subs, &Fingerprints::default(), &opts);
        assert_eq!((pairs[0].a.as_str(), pairs[0].b.as_str()), ("a", "b"));
        assert!(pairs[0].score > 0.99, "{}", pairs[0].score);
        assert!(!pairs[0].regions.is_empty());
        assert!(pairs.iter().all(|p| p.b != "c" || p.score < 0.3));
        let with_base = rank(&subs, &fp(C_SRC), &opts);
        assert!(
            with_base.iter().all(|p| !(p.a == "a" && p.b == "b")),
            "shared base code is not similarity"
        );
    }
}
