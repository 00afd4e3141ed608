//! Which directory `cargo grader LAB` grades, and in which language: `--submission DIR`
//! (its language detected, and `--lang` must agree), else the lab's skeleton for `--lang`,
//! else the skeleton the command is run from, else the lab's directory.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::build::{self, Language};
use crate::course::{Course, LabEntry};

impl Language {
    /// The name used on the command line and in course.toml (`rust`, `c`).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::C => "c",
        }
    }

    /// What a directory of this language holds, for messages.
    fn described(self) -> &'static str {
        match self {
            Language::Rust => "a Rust crate (it has a Cargo.toml)",
            Language::C => "C sources (no Cargo.toml; .c files or a Makefile)",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A submission choice that cannot be honoured (a usage error).
#[derive(Debug, thiserror::Error)]
pub enum LangError {
    /// `--lang` names a language the submission is not written in.
    #[error("--lang {asked} does not match {dir}: it holds {found}; drop --lang or pick the other language")]
    Mismatch {
        /// The submission.
        dir: PathBuf,
        /// `--lang`.
        asked: Language,
        /// What it holds.
        found: &'static str,
    },
    /// The lab has no skeleton in that language.
    #[error("{lab} has no {asked} skeleton (course.toml declares {declared})")]
    NoSkeleton {
        /// Lab id.
        lab: String,
        /// `--lang`.
        asked: Language,
        /// The skeletons it has.
        declared: String,
    },
    /// The submission's language cannot be told.
    #[error(transparent)]
    Detect(#[from] build::BuildError),
}

/// The directory to grade (not yet canonical: the caller checks that it exists).
pub fn submission_dir(
    course: &Course,
    lab: &LabEntry,
    cwd: &Path,
    submission: Option<&Path>,
    lang: Option<Language>,
) -> Result<PathBuf, LangError> {
    if let Some(dir) = submission {
        let dir = cwd.join(dir);
        if let (Some(asked), true) = (lang, dir.is_dir()) {
            // A directory with nothing to build is graded: its report says what is missing.
            let found = match build::detect(&dir) {
                Ok(found) => found,
                Err(build::BuildError::NothingToBuild { .. }) => return Ok(dir),
                Err(e) => return Err(e.into()),
            };
            if found != asked {
                return Err(LangError::Mismatch {
                    dir,
                    asked,
                    found: found.described(),
                });
            }
        }
        return Ok(dir);
    }
    match lang {
        Some(asked) => skeleton(course, lab, asked),
        None => Ok(enclosing_skeleton(course, lab, cwd).unwrap_or_else(|| course.path(&lab.dir))),
    }
}

/// The lab's skeleton in `lang`: the declared one, or the lab's directory when nothing is
/// declared and it is written in `lang`.
fn skeleton(course: &Course, lab: &LabEntry, asked: Language) -> Result<PathBuf, LangError> {
    if let Some(dir) = lab.skeletons.get(&asked) {
        return Ok(course.path(dir));
    }
    let dir = course.path(&lab.dir);
    if lab.skeletons.is_empty() && build::detect(&dir).ok() == Some(asked) {
        return Ok(dir);
    }
    let declared = if lab.skeletons.is_empty() {
        format!(
            "none by language; its directory {} holds no {asked} sources",
            lab.dir.display()
        )
    } else {
        lab.skeletons
            .iter()
            .map(|(l, d)| format!("{l} = {}", d.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(LangError::NoSkeleton {
        lab: lab.id.clone(),
        asked,
        declared,
    })
}

/// The innermost declared skeleton of the lab that holds `cwd` (a student working in
/// `labs/lab1-msgq/c` grades the C skeleton).
fn enclosing_skeleton(course: &Course, lab: &LabEntry, cwd: &Path) -> Option<PathBuf> {
    let cwd = std::fs::canonicalize(cwd).ok()?;
    lab.skeletons
        .values()
        .filter_map(|d| std::fs::canonicalize(course.path(d)).ok())
        .filter(|d| cwd.starts_with(d))
        .max_by_key(|d| d.components().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A course with one lab whose Rust crate holds a C skeleton in `c/`.
    fn course(name: &str) -> Course {
        let root = std::env::temp_dir().join(format!("grader-lang-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("labs/l1/c")).unwrap();
        std::fs::create_dir_all(root.join("sub-c")).unwrap();
        std::fs::write(root.join("labs/l1/Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(root.join("labs/l1/c/l1.c"), "int main(void){return 0;}\n").unwrap();
        std::fs::write(root.join("sub-c/Makefile"), "all:\n").unwrap();
        let text = "format_version = 1\ntitle = \"t\"\n[guest]\nmemory_mb = 256\ntimeout_scale = 4.0\nboot_deadline = \"60s\"\n[[lab]]\nid = \"lab1\"\nname = \"l\"\ntitle = \"L\"\ndir = \"labs/l1\"\nspec = \"labs/l1/lab.toml\"\nskeletons = { rust = \"labs/l1\", c = \"labs/l1/c\" }\n";
        std::fs::write(root.join("course.toml"), text).unwrap();
        Course::load(&root.join("course.toml")).unwrap()
    }

    #[test]
    fn lang_picks_the_declared_skeleton() {
        let c = course("pick");
        let lab = &c.labs[0];
        let got = submission_dir(&c, lab, &c.root, None, Some(Language::C)).unwrap();
        assert_eq!(got, c.root.join("labs/l1/c"));
        let got = submission_dir(&c, lab, &c.root, None, Some(Language::Rust)).unwrap();
        assert_eq!(got, c.root.join("labs/l1"));
        let got = submission_dir(&c, lab, &c.root, None, None).unwrap();
        assert_eq!(got, c.root.join("labs/l1"), "default: the lab directory");
    }

    #[test]
    fn the_skeleton_holding_the_cwd_is_the_default() {
        let c = course("cwd");
        let lab = &c.labs[0];
        let inside = c.root.join("labs/l1/c");
        let got = submission_dir(&c, lab, &inside, None, None).unwrap();
        assert_eq!(
            std::fs::canonicalize(got).unwrap(),
            std::fs::canonicalize(&inside).unwrap()
        );
    }

    #[test]
    fn a_submission_keeps_its_detected_language_and_lang_must_agree() {
        let c = course("agree");
        let lab = &c.labs[0];
        let sub = Path::new("sub-c");
        let got = submission_dir(&c, lab, &c.root, Some(sub), Some(Language::C)).unwrap();
        assert_eq!(got, c.root.join("sub-c"));
        let err = submission_dir(&c, lab, &c.root, Some(sub), Some(Language::Rust))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--lang rust does not match") && err.contains("sub-c"),
            "{err}"
        );
        assert!(err.contains("C sources"), "{err}");
    }

    #[test]
    fn a_language_without_skeleton_is_explained() {
        let mut c = course("none");
        c.labs[0].skeletons.remove(&Language::C);
        let lab = &c.labs[0];
        let err = submission_dir(&c, lab, &c.root, None, Some(Language::C))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lab1 has no c skeleton") && err.contains("rust = labs/l1"),
            "{err}"
        );
    }
}
