//! The starter repository a teacher publishes (`cargo grader handout`): the handed-out
//! labs' skeletons (Rust and C), READMEs and specs, a course.toml listing only those labs
//! (pins kept, no solutions), the grader's sources and guest image recipe so that
//! `cargo grader LAB` works in it, the GitHub workflow wired to the course repository, and
//! a `.gitignore`. Everything is copied from an allow-list: reference solutions, fixtures
//! and anything else of the course never reach it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::course::{Course, CourseError, LabEntry};

/// Failures of writing a handout.
#[derive(Debug, thiserror::Error)]
pub enum HandoutError {
    /// A lab asked for is not in the course.
    #[error(transparent)]
    Course(#[from] CourseError),
    /// The output directory exists and holds files.
    #[error("failed to write the handout: {path} exists and is not empty")]
    NotEmpty {
        /// The output directory.
        path: PathBuf,
    },
    /// Reading from the course or writing into the handout failed.
    #[error("failed to copy {path} into the handout: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A course file the handout rewrites is not what this grader expects.
    #[error("failed to rewrite {path} for the handout: {message}")]
    Rewrite {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// What to hand out.
#[derive(Debug, Clone)]
pub struct HandoutOptions {
    /// Lab ids or names (empty: every lab of the course).
    pub labs: Vec<String>,
    /// Directory to create.
    pub out: PathBuf,
    /// The course repository the workflow checks out (`owner/name`).
    pub course_repo: String,
    /// The ref of it the workflow grades with.
    pub course_ref: String,
}

/// A handout written.
#[derive(Debug, Clone)]
pub struct Handout {
    /// The labs in it.
    pub labs: Vec<String>,
    /// Files written.
    pub files: usize,
}

/// The `.gitignore` of a handout.
pub const GITIGNORE: &str =
    "# build outputs and the grader's own files\n/target\n/vm-images/cache\n.grader/\n*.o\n";

/// Writes the handout of `opts.labs` into `opts.out`.
pub fn write(course: &Course, opts: &HandoutOptions) -> Result<Handout, HandoutError> {
    let labs = selected(course, &opts.labs)?;
    prepare_out(&opts.out)?;
    let mut w = Writer {
        from: course.root.clone(),
        to: opts.out.clone(),
        files: 0,
    };
    for lab in &labs {
        w.tree(&lab.dir)?;
        for extra in lab.skeleton_dirs().into_iter().chain([lab.spec.as_path()]) {
            if !extra.starts_with(&lab.dir) {
                w.tree(extra)?;
            }
        }
    }
    if let Some(support) = &course.support {
        w.tree(support)?;
    }
    w.tree(Path::new("grader/src"))?;
    w.tree(Path::new("vm-images"))?;
    w.tree(Path::new("scripts"))?;
    w.copy(Path::new("Cargo.lock"))?;
    w.copy(Path::new(".cargo/config.toml"))?;
    let rel = |p: &str| PathBuf::from(p);
    let grader_toml = grader_manifest(&w.read(&rel("grader/Cargo.toml"))?);
    w.put(&rel("grader/Cargo.toml"), &grader_toml)?;
    let ws = workspace_manifest(
        &w.read(&rel("Cargo.toml"))?,
        &labs,
        course.support.as_deref(),
    )
    .map_err(|message| rewrite(&course.root.join("Cargo.toml"), message))?;
    w.put(&rel("Cargo.toml"), &ws)?;
    let course_toml = course_manifest(&w.read(&rel("course.toml"))?, &labs);
    w.put(&rel("course.toml"), &course_toml)?;
    let flow = workflow(&w.read(&rel("contrib/github/grade.yml"))?, &labs, opts)
        .map_err(|message| rewrite(&course.root.join("contrib/github/grade.yml"), message))?;
    w.put(&rel(".github/workflows/grade.yml"), &flow)?;
    w.put(&rel(".gitignore"), GITIGNORE)?;
    w.put(&rel("README.md"), &readme(course, &labs))?;
    verify(&opts.out, &labs)?;
    Ok(Handout {
        labs: labs.iter().map(|l| l.id.clone()).collect(),
        files: w.files,
    })
}

fn rewrite(path: &Path, message: String) -> HandoutError {
    HandoutError::Rewrite {
        path: path.to_owned(),
        message,
    }
}

fn selected(course: &Course, names: &[String]) -> Result<Vec<LabEntry>, HandoutError> {
    if names.is_empty() {
        return Ok(course.labs.clone());
    }
    let mut ids = BTreeSet::new();
    for n in names {
        ids.insert(course.lab(n)?.id.clone());
    }
    // Course order, whatever the order asked.
    Ok(course
        .labs
        .iter()
        .filter(|l| ids.contains(&l.id))
        .cloned()
        .collect())
}

fn prepare_out(out: &Path) -> Result<(), HandoutError> {
    let io = |source| HandoutError::Io {
        path: out.to_owned(),
        source,
    };
    match std::fs::read_dir(out).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(HandoutError::NotEmpty {
            path: out.to_owned(),
        }),
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(out).map_err(io)
        }
        Err(e) => Err(io(e)),
    }
}

/// Copies from the course root into the handout, counting files.
struct Writer {
    from: PathBuf,
    to: PathBuf,
    files: usize,
}

impl Writer {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HandoutError + '_ {
        move |source| HandoutError::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn read(&self, rel: &Path) -> Result<String, HandoutError> {
        let path = self.from.join(rel);
        std::fs::read_to_string(&path).map_err(Self::io(&path))
    }

    fn put(&mut self, rel: &Path, text: &str) -> Result<(), HandoutError> {
        let path = self.to.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Self::io(dir))?;
        }
        std::fs::write(&path, text).map_err(Self::io(&path))?;
        self.files += 1;
        Ok(())
    }

    fn copy(&mut self, rel: &Path) -> Result<(), HandoutError> {
        let (src, dst) = (self.from.join(rel), self.to.join(rel));
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir).map_err(Self::io(dir))?;
        }
        // `copy` keeps the mode: the lab 7 scripts stay executable.
        std::fs::copy(&src, &dst).map_err(Self::io(&src))?;
        self.files += 1;
        Ok(())
    }

    /// Copies a file or a directory tree, leaving out build outputs.
    fn tree(&mut self, rel: &Path) -> Result<(), HandoutError> {
        let src = self.from.join(rel);
        let meta = std::fs::metadata(&src).map_err(Self::io(&src))?;
        if !meta.is_dir() {
            return if is_build_output(&src) {
                Ok(())
            } else {
                self.copy(rel)
            };
        }
        let mut entries: Vec<_> = std::fs::read_dir(&src)
            .map_err(Self::io(&src))?
            .collect::<Result<_, _>>()
            .map_err(Self::io(&src))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            if SKIPPED_DIRS.iter().any(|s| name == *s) {
                continue;
            }
            self.tree(&rel.join(name))?;
        }
        Ok(())
    }
}

/// Directories never handed out: build outputs, caches, the student's state, VCS data.
const SKIPPED_DIRS: &[&str] = &["target", "cache", ".grader", ".git"];

/// Objects and executables `make` leaves in a C skeleton, editor leftovers.
pub fn is_build_output(path: &Path) -> bool {
    let name = path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    if name.ends_with(".o") || name.ends_with(".swp") || name.ends_with('~') {
        return true;
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| magic == *b"\x7fELF")
}

/// The grader's manifest without the course's integration tests (not handed out).
fn grader_manifest(text: &str) -> String {
    let cut = text
        .find("\n# One integration-test binary")
        .or_else(|| text.find("\n[[test]]"))
        .unwrap_or(text.len());
    format!("{}\n", text[..cut].trim_end())
}

/// The workspace manifest with only the grader, the support crate and the handed-out Rust
/// skeletons.
fn workspace_manifest(
    text: &str,
    labs: &[LabEntry],
    support: Option<&Path>,
) -> Result<String, String> {
    let mut doc: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    let ws = doc
        .get_mut("workspace")
        .and_then(|w| w.as_table_mut())
        .ok_or("no [workspace] table")?;
    let old: BTreeSet<String> = ws
        .get("members")
        .and_then(|m| m.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut members = vec![toml::Value::from("grader")];
    let support = support.map(|s| s.to_string_lossy().into_owned());
    members.extend(support.filter(|s| old.contains(s)).map(toml::Value::from));
    for lab in labs {
        for dir in lab.skeleton_dirs() {
            let dir = dir.to_string_lossy().into_owned();
            if old.contains(&dir) {
                members.push(dir.into());
            }
        }
    }
    ws.insert("members".into(), members.into());
    ws.insert("exclude".into(), vec![toml::Value::from("target")].into());
    let body = toml::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(format!(
        "# The labs you work on and the grader that grades them (`cargo grader LAB`).\n{body}"
    ))
}

/// course.toml with only the handed-out `[[lab]]` blocks, and none of their solutions.
fn course_manifest(text: &str, labs: &[LabEntry]) -> String {
    let keep: BTreeSet<&str> = labs.iter().map(|l| l.id.as_str()).collect();
    let mut out = String::new();
    let mut block = String::new();
    let mut in_lab = false;
    let mut in_solutions = false;
    let flush = |block: &mut String, out: &mut String| {
        let id = block
            .lines()
            .find_map(|l| l.trim().strip_prefix("id = "))
            .map(|v| v.trim().trim_matches('"').to_owned());
        if id.as_deref().map_or(true, |id| keep.contains(id)) {
            out.push_str(block);
        }
        block.clear();
    };
    for line in text.lines() {
        if line.trim() == "[[lab]]" {
            if in_lab {
                flush(&mut block, &mut out);
            }
            in_lab = true;
        }
        let t = line.trim_start();
        if in_solutions || t.starts_with("solutions =") || t.starts_with("solutions=") {
            in_solutions = !t.contains(']') && (in_solutions || t.contains('['));
            continue;
        }
        let target = if in_lab { &mut block } else { &mut out };
        target.push_str(line);
        target.push('\n');
    }
    flush(&mut block, &mut out);
    out
}

/// The workflow of contrib/github, one matrix entry per handed-out lab, on the course repo.
fn workflow(text: &str, labs: &[LabEntry], opts: &HandoutOptions) -> Result<String, String> {
    const ENTRY: &str = "          - { lab: lab1, dir: labs/lab1-msgq }";
    if !text.contains(ENTRY) {
        return Err(format!("its matrix has no line `{}`", ENTRY.trim()));
    }
    let entries: Vec<String> = labs
        .iter()
        .map(|l| format!("          - {{ lab: {}, dir: {} }}", l.id, l.dir.display()))
        .collect();
    let mut out = String::new();
    for line in text.lines() {
        let line = if line == ENTRY {
            entries.join("\n")
        } else if let Some(rest) = env_value(line, "COURSE_REPO") {
            format!("  COURSE_REPO: {}{rest}", opts.course_repo)
        } else if let Some(rest) = env_value(line, "COURSE_REF") {
            format!("  COURSE_REF: {}{rest}", opts.course_ref)
        } else {
            line.to_owned()
        };
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// For `  KEY: value   # comment`, the comment part (with its padding).
fn env_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line
        .strip_prefix("  ")?
        .strip_prefix(key)?
        .strip_prefix(": ")?;
    Some(rest.find(" #").map_or("", |i| &rest[i..]))
}

fn readme(course: &Course, labs: &[LabEntry]) -> String {
    let mut text = format!("# {}\n\nYour labs (each directory's README states the exercise; `c/` holds the C version):\n\n", course.title);
    for l in labs {
        text.push_str(&format!(
            "- `{}` ({}) — {}: `{}`\n",
            l.id,
            l.name,
            l.title,
            l.dir.display()
        ));
    }
    text.push_str(STUDENT_LOOP);
    text
}

/// The student's loop, as the course README shows it.
pub const STUDENT_LOOP: &str = "
## The loop

```sh
$EDITOR labs/lab1-msgq/src/queue.rs   # 1. edit (or labs/lab1-msgq/c/ for C)
cargo grader watch lab1               # 2. regraded at every save; q quits, h hint, r regrade
cargo grader hint lab1 SCENARIO       # 3. the next hint of a failing scenario
cargo grader progress                 # 4. your best score in every lab
git commit -am 'lab1' && git push     # 5. submit: the workflow grades it on GitHub
```

`cargo grader doctor` says what this machine is missing (QEMU, bubblewrap, compilers);
`scripts/setup-debian.sh` installs it on Debian or Ubuntu.
";

/// Loads the handout's course.toml back: it must list exactly the labs, with no solution.
fn verify(out: &Path, labs: &[LabEntry]) -> Result<(), HandoutError> {
    let path = out.join("course.toml");
    let bad = |message: String| rewrite(&path, message);
    let course = Course::load(&path).map_err(|e| bad(e.to_string()))?;
    let got: Vec<&str> = course.labs.iter().map(|l| l.id.as_str()).collect();
    let want: Vec<&str> = labs.iter().map(|l| l.id.as_str()).collect();
    if got != want {
        return Err(bad(format!("it lists {got:?} instead of {want:?}")));
    }
    if let Some(l) = course.labs.iter().find(|l| !l.solutions.is_empty()) {
        return Err(bad(format!("{} still lists solutions", l.id)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(id: &str, dir: &str) -> LabEntry {
        let text = format!(
            "id = \"{id}\"\nname = \"{id}n\"\ntitle = \"t\"\ndir = \"{dir}\"\nspec = \"{dir}/lab.toml\"\nskeletons = {{ rust = \"{dir}\", c = \"{dir}/c\" }}\n"
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn course_toml_keeps_the_header_and_the_labs_handed_out_without_solutions() {
        let text = "format_version = 1\n# guest\n[guest]\nmemory_mb = 1\n\n[[lab]]\nid = \"lab1\"\nsolutions = [\"solutions/a\",\n  \"solutions/b\"]\nspec_sha256 = \"ab\"\n\n[[lab]]\nid = \"lab2\"\nsolutions = [\"solutions/c\"]\n";
        let out = course_manifest(text, &[lab("lab1", "labs/l1")]);
        assert_eq!(
            out,
            "format_version = 1\n# guest\n[guest]\nmemory_mb = 1\n\n[[lab]]\nid = \"lab1\"\nspec_sha256 = \"ab\"\n\n"
        );
    }

    #[test]
    fn the_workspace_lists_the_grader_and_the_rust_skeletons_handed_out() {
        let text = "[workspace]\nmembers = [\"grader\", \"labs/l1\", \"labs/l2\"]\nexclude = [\"tests/fixtures\"]\n[workspace.package]\nedition = \"2021\"\n";
        let out = workspace_manifest(text, &[lab("lab2", "labs/l2")], None).unwrap();
        let doc: toml::Table = out.parse().unwrap();
        let ws = doc["workspace"].as_table().unwrap();
        assert_eq!(ws["members"].as_array().unwrap().len(), 2, "{out}");
        assert_eq!(ws["members"][1].as_str(), Some("labs/l2"));
        assert_eq!(ws["exclude"][0].as_str(), Some("target"));
        assert_eq!(ws["package"]["edition"].as_str(), Some("2021"));
    }

    #[test]
    fn the_workflow_gets_one_matrix_entry_per_lab_and_the_course_repository() {
        let text = "env:\n  COURSE_REPO: your-org/aise-course  # the course\n  COURSE_REF: main\n        include:\n          - { lab: lab1, dir: labs/lab1-msgq }\n";
        let opts = HandoutOptions {
            labs: vec![],
            out: PathBuf::new(),
            course_repo: "uni/os-course".into(),
            course_ref: "fall-2026".into(),
        };
        let labs = [lab("lab1", "labs/l1"), lab("lab2", "labs/l2")];
        let out = workflow(text, &labs, &opts).unwrap();
        assert_eq!(
            out,
            "env:\n  COURSE_REPO: uni/os-course # the course\n  COURSE_REF: fall-2026\n        include:\n          - { lab: lab1, dir: labs/l1 }\n          - { lab: lab2, dir: labs/l2 }\n"
        );
        assert!(workflow("env:\n", &labs, &opts).is_err());
    }

    #[test]
    fn the_grader_manifest_loses_the_course_tests() {
        let text = "[package]\nname = \"grader\"\n\n# One integration-test binary, at …\n[[test]]\nname = \"it\"\n";
        assert_eq!(grader_manifest(text), "[package]\nname = \"grader\"\n");
    }
}
