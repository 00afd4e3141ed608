//! A class's submissions: one entry per student in the submissions directory — a folder
//! (a git working copy is one too), a bare git repository (`NAME.git`), or an archive
//! (`NAME.tar.gz`, `NAME.tgz`, `NAME.zip`) — named, unpacked into the results directory
//! when needed, and fingerprinted by content so a rerun notices a changed submission.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::store::write_atomic;
use super::BulkError;

/// How a submission arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A directory, graded in place.
    Dir,
    /// A bare git repository, cloned.
    Git,
    /// A gzipped tarball, unpacked with `tar`.
    TarGz,
    /// A zip archive, unpacked with `unzip`.
    Zip,
}

/// One student's entry in the submissions directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Student name: the entry's name without extension, made safe for file names and CSV.
    pub student: String,
    /// The entry.
    pub path: PathBuf,
    /// Its kind.
    pub source: Source,
}

/// A submission ready to grade.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Student name.
    pub student: String,
    /// The directory to build (the lab directory inside it, when the student sent more).
    pub dir: PathBuf,
    /// Content hash of the sources.
    pub sha256: String,
}

/// The student name for an entry name, and how to read the entry.
fn classify(name: &str, path: &Path) -> Option<(String, Source)> {
    let is_dir = path.is_dir();
    let (stem, source) = if is_dir && path.join("HEAD").is_file() && path.join("objects").is_dir() {
        (name.strip_suffix(".git").unwrap_or(name), Source::Git)
    } else if is_dir {
        (name, Source::Dir)
    } else if let Some(s) = name
        .strip_suffix(".tar.gz")
        .or_else(|| name.strip_suffix(".tgz"))
    {
        (s, Source::TarGz)
    } else if let Some(s) = name.strip_suffix(".zip") {
        (s, Source::Zip)
    } else {
        return None;
    };
    Some((safe_name(stem), source))
}

/// Keeps `[A-Za-z0-9._-]`, replacing anything else by `_`; never starts with `.` or `-`.
pub fn safe_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(['.', '-']) {
        s.insert(0, '_');
    }
    s
}

/// Lists the submissions, sorted by student; hidden entries and other files are skipped,
/// two entries for one student are an error.
pub fn discover(dir: &Path) -> Result<Vec<Entry>, BulkError> {
    let read = std::fs::read_dir(dir).map_err(|source| BulkError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut out: Vec<Entry> = Vec::new();
    for e in read.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        if let Some((student, source)) = classify(&name, &path) {
            out.push(Entry {
                student,
                path,
                source,
            });
        }
    }
    out.sort_by(|a, b| a.student.cmp(&b.student));
    if let Some(w) = out.windows(2).find(|w| w[0].student == w[1].student) {
        return Err(BulkError::Duplicate {
            student: w[0].student.clone(),
            a: w[0].path.clone(),
            b: w[1].path.clone(),
        });
    }
    Ok(out)
}

/// Makes every entry gradable: archives and bare repositories are unpacked under `unpack`
/// (reused when the archive did not change), then the lab directory is located.
pub fn prepare(
    entries: &[Entry],
    unpack: &Path,
    lab_dir: &Path,
) -> Result<Vec<Prepared>, BulkError> {
    entries
        .iter()
        .map(|e| prepare_one(e, unpack, lab_dir))
        .collect()
}

/// Makes one entry gradable (see [`prepare`]).
pub fn prepare_one(e: &Entry, unpack: &Path, lab_dir: &Path) -> Result<Prepared, BulkError> {
    let root = match e.source {
        Source::Dir => e.path.clone(),
        _ => unpacked(e, unpack)?,
    };
    let dir = locate(&root, lab_dir);
    let sha256 = tree_hash(&dir).map_err(|source| BulkError::Io {
        path: dir.clone(),
        source,
    })?;
    Ok(Prepared {
        student: e.student.clone(),
        dir,
        sha256,
    })
}

/// Unpacks an archive or clones a repository into `unpack/STUDENT`, unless the marker
/// beside it says this very archive is already there.
fn unpacked(e: &Entry, unpack: &Path) -> Result<PathBuf, BulkError> {
    let dest = unpack.join(&e.student);
    let marker = unpack.join(format!("{}.source", e.student));
    let stamp = source_stamp(&e.path).map_err(|source| BulkError::Io {
        path: e.path.clone(),
        source,
    })?;
    if dest.is_dir() && std::fs::read_to_string(&marker).is_ok_and(|s| s == stamp) {
        return Ok(top_dir(&dest));
    }
    let tmp = unpack.join(format!(".{}.partial", e.student));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|source| BulkError::Io {
        path: tmp.clone(),
        source,
    })?;
    let mut cmd = match e.source {
        Source::TarGz => {
            let mut c = Command::new("tar");
            c.arg("-xzf")
                .arg(&e.path)
                .arg("-C")
                .arg(&tmp)
                .args(["--no-same-owner", "--no-same-permissions"]);
            c
        }
        Source::Zip => {
            let mut c = Command::new("unzip");
            c.args(["-q", "-o"]).arg(&e.path).arg("-d").arg(&tmp);
            c
        }
        Source::Git => {
            let mut c = Command::new("git");
            c.args(["clone", "--quiet", "--depth", "1"])
                .arg(format!("file://{}", e.path.display()))
                .arg(tmp.join("repo"));
            c
        }
        Source::Dir => unreachable!("directories are graded in place"),
    };
    run_tool(&mut cmd, &e.path)?;
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&tmp, &dest).map_err(|source| BulkError::Io {
        path: dest.clone(),
        source,
    })?;
    write_atomic(&marker, stamp.as_bytes()).map_err(|source| BulkError::Io {
        path: marker,
        source,
    })?;
    Ok(top_dir(&dest))
}

fn run_tool(cmd: &mut Command, archive: &Path) -> Result<(), BulkError> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| BulkError::Unpack {
        path: archive.to_owned(),
        message: format!("{tool}: {e}"),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(BulkError::Unpack {
        path: archive.to_owned(),
        message: format!("{tool} failed: {}", stderr.trim()),
    })
}

/// Size, mtime and path of the archive: cheap, and changes when the student resubmits.
fn source_stamp(path: &Path) -> std::io::Result<String> {
    let m = std::fs::metadata(path)?;
    let mtime = m
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(format!(
        "{} {} {}",
        path.display(),
        m.len(),
        mtime.as_nanos()
    ))
}

/// An archive holding one top-level folder (and perhaps macOS litter) is that folder.
fn top_dir(dir: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            !e.file_name().to_string_lossy().starts_with("__MACOSX")
                && !e.file_name().to_string_lossy().starts_with('.')
        })
        .map(|e| e.path())
        .collect();
    match entries.as_slice() {
        [only] if only.is_dir() => top_dir(only),
        _ => dir.to_owned(),
    }
}

/// The directory to build: `root` itself when it holds code, else the lab directory
/// inside it (the student sent a whole repository).
pub fn locate(root: &Path, lab_dir: &Path) -> PathBuf {
    let holds_code = |d: &Path| crate::build::detect(d).is_ok();
    if holds_code(root) {
        return root.to_owned();
    }
    let candidates = [
        Some(root.join(lab_dir)),
        lab_dir.file_name().map(|n| root.join(n)),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| holds_code(d))
        .unwrap_or_else(|| root.to_owned())
}

/// SHA-256 over the relative paths and contents of every file (build products and VCS
/// data left out, as the build leaves them out).
pub fn tree_hash(dir: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    for rel in files {
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(dir.join(&rel))?);
        h.update([0]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if ["target", ".git", ".grader"].contains(&name.to_string_lossy().as_ref()) {
            continue;
        }
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk(root, &e.path(), out)?;
        } else if ty.is_file() {
            out.push(e.path().strip_prefix(root).unwrap_or(&e.path()).to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("grader-subs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn names_are_safe_for_files_and_spreadsheets() {
        assert_eq!(safe_name("Zoé Martin"), "Zo__Martin");
        assert_eq!(safe_name("-rf"), "_-rf");
        assert_eq!(safe_name("..x"), "_..x");
    }

    #[test]
    fn folders_tarballs_and_zips_are_found_and_unpacked() {
        let subs = tmp("kinds");
        write(&subs.join("alice/msgq.c"), "int main(void){return 0;}\n");
        write(
            &subs.join("src-bob/bob/labs/lab1-msgq/msgq.c"),
            "int main(void){return 1;}\n",
        );
        let st = Command::new("tar")
            .arg("-czf")
            .arg(subs.join("bob.tar.gz"))
            .arg("-C")
            .arg(subs.join("src-bob"))
            .arg("bob")
            .status()
            .unwrap();
        assert!(st.success());
        write(
            &subs.join("src-carol/msgq.c"),
            "int main(void){return 2;}\n",
        );
        let st = Command::new("zip")
            .arg("-qr")
            .arg(subs.join("carol.zip"))
            .arg(".")
            .current_dir(subs.join("src-carol"))
            .status()
            .unwrap();
        assert!(st.success());
        write(&subs.join("notes.txt"), "not a submission");
        std::fs::remove_dir_all(subs.join("src-bob")).unwrap();
        std::fs::remove_dir_all(subs.join("src-carol")).unwrap();

        let entries = discover(&subs).unwrap();
        let names: Vec<(&str, Source)> = entries
            .iter()
            .map(|e| (e.student.as_str(), e.source))
            .collect();
        assert_eq!(
            names,
            [
                ("alice", Source::Dir),
                ("bob", Source::TarGz),
                ("carol", Source::Zip)
            ]
        );
        let unpack = tmp("kinds-unpack");
        let prepared = prepare(&entries, &unpack, Path::new("labs/lab1-msgq")).unwrap();
        assert_eq!(prepared[0].dir, subs.join("alice"));
        assert!(
            prepared[1].dir.ends_with("bob/bob/labs/lab1-msgq"),
            "{:?}",
            prepared[1].dir
        );
        assert!(prepared[2].dir.join("msgq.c").is_file());
        let again = prepare(&entries, &unpack, Path::new("labs/lab1-msgq")).unwrap();
        assert_eq!(
            again[1].sha256, prepared[1].sha256,
            "unchanged archive, same hash"
        );
        assert_ne!(prepared[0].sha256, prepared[2].sha256);
    }

    #[test]
    fn a_corrupt_archive_is_an_error_for_that_student_only() {
        let subs = tmp("corrupt");
        write(&subs.join("eve.zip"), "this is not a zip");
        let entries = discover(&subs).unwrap();
        let err =
            prepare_one(&entries[0], &tmp("corrupt-unpack"), Path::new("labs/x")).unwrap_err();
        assert!(
            err.to_string().contains("failed to unpack") && err.to_string().contains("eve.zip"),
            "{err}"
        );
    }

    #[test]
    fn two_entries_for_one_student_are_refused() {
        let subs = tmp("dup");
        write(&subs.join("dave/msgq.c"), "x");
        write(&subs.join("dave.zip"), "x");
        let err = discover(&subs).unwrap_err().to_string();
        assert!(err.contains("dave"), "{err}");
    }

    #[test]
    fn a_bare_repository_is_cloned() {
        let work = tmp("git");
        let wc = work.join("wc");
        write(&wc.join("msgq.c"), "int main(void){return 0;}\n");
        let git = |args: &[&str]| {
            let st = Command::new("git")
                .args(args)
                .current_dir(&wc)
                .env("GIT_CEILING_DIRECTORIES", &work)
                .status()
                .unwrap();
            assert!(st.success(), "git {args:?}");
        };
        git(&["init", "-q"]);
        git(&["add", "msgq.c"]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "x",
        ]);
        let subs = work.join("subs");
        std::fs::create_dir_all(&subs).unwrap();
        let st = Command::new("git")
            .args(["clone", "-q", "--bare"])
            .arg(&wc)
            .arg(subs.join("erin.git"))
            .status()
            .unwrap();
        assert!(st.success());
        let entries = discover(&subs).unwrap();
        assert_eq!(entries[0].source, Source::Git);
        let p = prepare(&entries, &work.join("unpack"), Path::new("labs/lab1-msgq")).unwrap();
        assert!(p[0].dir.join("msgq.c").is_file(), "{:?}", p[0].dir);
    }
}
