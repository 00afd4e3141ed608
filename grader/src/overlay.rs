//! Directories stored as a base plus the files that differ: the course's reference
//! solutions (`overlay.toml`: the lab's skeleton, then the solution's own modules) and
//! the fixture submissions (`fixture.toml`: a base, then exact textual edits) are
//! materialised by the one mechanism here, so code shared with a base exists once.
//!
//! Trust: an `overlay.toml` is honoured only in the course's own solution directories
//! ([`is_course_solution`]) and in the bases that course files name (always inside the
//! course root). A submission carrying one is graded as it is, with a notice: a student
//! must not be able to say "my submission is `solutions/lab1-msgq/rust`".

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::build::{self, Language};
use crate::config::{self, ConfigError};
use crate::course::{Course, LabEntry};
use crate::image::scratch::ScratchDir;

/// The file that makes a directory an overlay.
pub const OVERLAY_FILE: &str = "overlay.toml";
/// The only `format_version` of `overlay.toml` this grader reads.
pub const OVERLAY_FORMAT_VERSION: u32 = 1;
/// The most layers one tree may stack (a guard against runaway chains).
pub const MAX_DEPTH: usize = 8;
/// Where [`stage`] writes a materialised solution inside a run's scratch directory.
pub const STAGE_DIR: &str = "materialized";

/// `overlay.toml`: this directory is `base` with the files beside this one copied on top
/// (at their relative paths), then `remove` deleted, then the edits applied.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayFile {
    /// Must be [`OVERLAY_FORMAT_VERSION`].
    pub format_version: u32,
    /// The directory this one is stored against, relative to the course root (e.g.
    /// `labs/lab1-msgq`). It may itself hold an `overlay.toml`.
    pub base: PathBuf,
    /// Files or directories of the base (relative paths) the materialised tree leaves out.
    #[serde(default)]
    pub remove: Vec<PathBuf>,
    /// Exact textual edits, applied last.
    #[serde(default, rename = "edit")]
    pub edits: Vec<Edit>,
}

/// One exact textual edit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// File relative to the tree.
    pub file: PathBuf,
    /// Text that must occur exactly once.
    pub replace: String,
    /// Replacement.
    pub with: String,
}

/// Failures to resolve or materialise a tree. Each names the file that asked for it.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    /// An `overlay.toml` could not be read or parsed (file, line and key in the message).
    #[error(transparent)]
    Manifest(#[from] ConfigError),
    /// A base directory does not exist.
    #[error(
        "{manifest}: base {base} does not exist (a base is relative to the course root {root})"
    )]
    MissingBase {
        /// The file naming the base.
        manifest: PathBuf,
        /// The base as written.
        base: PathBuf,
        /// The course root.
        root: PathBuf,
    },
    /// A base directory lies outside the course.
    #[error("{manifest}: base {base} is outside the course root {root}")]
    BaseOutside {
        /// The file naming the base.
        manifest: PathBuf,
        /// The base, resolved.
        base: PathBuf,
        /// The course root.
        root: PathBuf,
    },
    /// A chain of bases comes back to a directory already in it.
    #[error("{manifest}: base {base} is already in this stack of overlays (a cycle)")]
    Cycle {
        /// The file naming the base.
        manifest: PathBuf,
        /// The base, resolved.
        base: PathBuf,
    },
    /// Too many overlays stacked.
    #[error("{manifest}: more than {MAX_DEPTH} overlays stacked on each other")]
    TooDeep {
        /// The file naming the base that is one too many.
        manifest: PathBuf,
    },
    /// A path in `remove` or an edit leaves the tree.
    #[error("{manifest}: {path} must be a relative path inside the tree (no `..`, not absolute)")]
    BadPath {
        /// The file holding the path.
        manifest: PathBuf,
        /// The path as written.
        path: PathBuf,
    },
    /// Copying a layer's files failed.
    #[error("failed to copy {from} into {to}: {source}")]
    Copy {
        /// The layer's directory.
        from: PathBuf,
        /// The tree being written.
        to: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A file listed in `remove` could not be removed (e.g. the base has no such file).
    #[error("{manifest}: failed to remove {file} from the base: {source}")]
    Remove {
        /// The file listing it.
        manifest: PathBuf,
        /// The path as written.
        file: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// An edited file could not be read or written.
    #[error("{manifest}: failed to edit {file}: {source}")]
    EditIo {
        /// The file holding the edit.
        manifest: PathBuf,
        /// The edited file.
        file: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The text an edit replaces does not occur exactly once.
    #[error("{manifest}: failed to edit {file}: the text to replace occurs {count} times (must be exactly once): {replace:?}")]
    EditCount {
        /// The file holding the edit.
        manifest: PathBuf,
        /// The edited file.
        file: PathBuf,
        /// Occurrences found.
        count: usize,
        /// The text.
        replace: String,
    },
    /// Writing the exported solution failed.
    #[error("failed to write the solution into {path}: {source}")]
    Write {
        /// The directory asked for.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// `solution --out` names a directory that already has files.
    #[error("failed to write the solution into {0}: it already exists and is not empty")]
    OutNotEmpty(PathBuf),
    /// The lab lists no solution in the language asked for.
    #[error(
        "failed to find a {lang} solution of {lab} among {listed:?} (course.toml `solutions`)"
    )]
    NoSolution {
        /// Lab id.
        lab: String,
        /// `rust`, `c` or `any`.
        lang: String,
        /// The solutions listed.
        listed: Vec<PathBuf>,
    },
}

/// One layer of a tree: a directory's files copied over what is below, then removals and
/// edits.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The file describing the layer (`overlay.toml`, `fixture.toml`), named in errors;
    /// `None` for a plain directory at the bottom.
    pub manifest: Option<PathBuf>,
    /// The directory whose files are copied.
    pub dir: PathBuf,
    /// Top-level names in `dir` not copied (the manifest itself).
    pub skip: Vec<String>,
    /// Paths deleted after the copy.
    pub remove: Vec<PathBuf>,
    /// Edits applied after the removals.
    pub edits: Vec<Edit>,
}

impl Layer {
    /// A plain directory, copied as it is.
    pub fn plain(dir: &Path) -> Layer {
        Layer {
            manifest: None,
            dir: dir.to_owned(),
            skip: Vec::new(),
            remove: Vec::new(),
            edits: Vec::new(),
        }
    }

    /// What errors name: the manifest, else the directory.
    pub fn origin(&self) -> &Path {
        self.manifest.as_deref().unwrap_or(&self.dir)
    }

    fn check_paths(&self) -> Result<(), OverlayError> {
        let paths = self.remove.iter().chain(self.edits.iter().map(|e| &e.file));
        match paths.into_iter().find(|p| !is_inside(p)) {
            Some(p) => Err(OverlayError::BadPath {
                manifest: self.origin().to_owned(),
                path: p.clone(),
            }),
            None => Ok(()),
        }
    }

    fn apply(&self, dest: &Path) -> Result<(), OverlayError> {
        let skip: Vec<&str> = self.skip.iter().map(String::as_str).collect();
        build::copy_tree(&self.dir, dest, &skip).map_err(|source| OverlayError::Copy {
            from: self.dir.clone(),
            to: dest.to_owned(),
            source,
        })?;
        for file in &self.remove {
            remove_path(&dest.join(file)).map_err(|source| OverlayError::Remove {
                manifest: self.origin().to_owned(),
                file: file.clone(),
                source,
            })?;
        }
        self.edits
            .iter()
            .try_for_each(|e| e.apply(dest, self.origin()))
    }

    /// Whether this layer's copy writes `rel`.
    fn writes(&self, rel: &Path) -> bool {
        let first = rel.components().next().map(|c| c.as_os_str());
        let skipped = first.is_some_and(|f| self.skip.iter().any(|s| f == s.as_str()));
        !skipped && self.dir.join(rel).is_file()
    }
}

impl Edit {
    fn apply(&self, dest: &Path, manifest: &Path) -> Result<(), OverlayError> {
        let path = dest.join(&self.file);
        let io = |source| OverlayError::EditIo {
            manifest: manifest.to_owned(),
            file: self.file.clone(),
            source,
        };
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let count = text.matches(&self.replace).count();
        if count != 1 {
            return Err(OverlayError::EditCount {
                manifest: manifest.to_owned(),
                file: self.file.clone(),
                count,
                replace: self.replace.clone(),
            });
        }
        std::fs::write(&path, text.replacen(&self.replace, &self.with, 1)).map_err(io)
    }
}

fn is_inside(p: &Path) -> bool {
    p.components().count() > 0 && p.components().all(|c| matches!(c, Component::Normal(_)))
}

fn remove_path(path: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(path)?.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

impl OverlayFile {
    /// Loads `dir/overlay.toml` as the layer it describes, and its base.
    pub fn layer(dir: &Path) -> Result<(Layer, PathBuf), OverlayError> {
        let path = dir.join(OVERLAY_FILE);
        let (o, _): (OverlayFile, _) = config::load_toml(&path)?;
        if o.format_version != OVERLAY_FORMAT_VERSION {
            return Err(ConfigError::Invalid {
                path,
                message: format!(
                    "format_version = {} is not supported (this grader reads {OVERLAY_FORMAT_VERSION})",
                    o.format_version
                ),
            }
            .into());
        }
        let layer = Layer {
            manifest: Some(path),
            dir: dir.to_owned(),
            skip: vec![OVERLAY_FILE.to_owned()],
            remove: o.remove,
            edits: o.edits,
        };
        Ok((layer, o.base))
    }
}

/// A tree as its layers, bottom first.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The layers, the plain base first.
    pub layers: Vec<Layer>,
}

impl Stack {
    /// The tree `top` describes: its `base` (relative to `root`, resolved through any
    /// `overlay.toml` it holds) under it; no base means `top` alone.
    pub fn resolve(root: &Path, top: Layer, base: Option<&Path>) -> Result<Stack, OverlayError> {
        let mut seen = vec![std::fs::canonicalize(&top.dir).unwrap_or_else(|_| top.dir.clone())];
        let mut layers = vec![top];
        let mut next = base.map(Path::to_owned);
        while let Some(rel) = next.take() {
            let above = layers.last().expect("the top is always there").origin();
            let dir = locate_base(root, above, &rel, &seen)?;
            if layers.len() >= MAX_DEPTH {
                return Err(OverlayError::TooDeep {
                    manifest: above.to_owned(),
                });
            }
            seen.push(dir.clone());
            let layer = if dir.join(OVERLAY_FILE).is_file() {
                let (layer, base) = OverlayFile::layer(&dir)?;
                next = Some(base);
                layer
            } else {
                Layer::plain(&dir)
            };
            layers.push(layer);
        }
        layers.iter().try_for_each(Layer::check_paths)?;
        layers.reverse();
        Ok(Stack { layers })
    }

    /// The tree of a directory holding `overlay.toml`.
    pub fn of_overlay_dir(root: &Path, dir: &Path) -> Result<Stack, OverlayError> {
        let (top, base) = OverlayFile::layer(dir)?;
        Stack::resolve(root, top, Some(&base))
    }

    /// Writes the tree into `dest` (created; files already there are overwritten).
    pub fn materialize(&self, dest: &Path) -> Result<(), OverlayError> {
        self.layers.iter().try_for_each(|l| l.apply(dest))
    }

    /// Whether the materialised tree has the file `rel`, without writing it.
    pub fn has_file(&self, rel: &Path) -> bool {
        self.layers.iter().fold(false, |present, l| {
            let removed = l.remove.iter().any(|r| rel.starts_with(r));
            (present || l.writes(rel)) && !removed
        })
    }
}

/// The base `rel` named by `manifest`: existing, inside the course, not already stacked.
fn locate_base(
    root: &Path,
    manifest: &Path,
    rel: &Path,
    seen: &[PathBuf],
) -> Result<PathBuf, OverlayError> {
    let missing = || OverlayError::MissingBase {
        manifest: manifest.to_owned(),
        base: rel.to_owned(),
        root: root.to_owned(),
    };
    let root = std::fs::canonicalize(root).map_err(|_| missing())?;
    let dir = std::fs::canonicalize(root.join(rel))
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(missing)?;
    // A base written as a plain relative path (no `..`) names a place inside the course
    // even when the course links that place elsewhere (a course directory made of links
    // to a shared checkout): the links are the teacher's. Only `..` or an absolute path
    // must resolve back inside the root.
    if !is_inside(rel) && !dir.starts_with(&root) {
        return Err(OverlayError::BaseOutside {
            manifest: manifest.to_owned(),
            base: dir,
            root,
        });
    }
    if seen.contains(&dir) {
        return Err(OverlayError::Cycle {
            manifest: manifest.to_owned(),
            base: dir,
        });
    }
    Ok(dir)
}

/// Whether `dir` is one of the course's own reference solutions: inside the course's
/// `solutions/` directory or listed as a lab's solution, after resolving links.
pub fn is_course_solution(course: &Course, dir: &Path) -> bool {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return false;
    };
    let canonical = |p: PathBuf| std::fs::canonicalize(p).ok();
    let in_solutions = canonical(course.root.join("solutions")).is_some_and(|s| dir.starts_with(s));
    let listed = course
        .labs
        .iter()
        .flat_map(|l| &l.solutions)
        .filter_map(|s| canonical(course.path(s)))
        .any(|s| s == dir);
    in_solutions || listed
}

/// A submission ready to build.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The directory to grade: the submission itself, or its materialised tree.
    pub dir: PathBuf,
    /// Told to the student (an `overlay.toml` of theirs was ignored).
    pub notice: Option<String>,
}

/// The directory to grade for `submission`: a course solution stored as an overlay is
/// materialised into `work/`[`STAGE_DIR`]; anything else is graded as it is, and an
/// `overlay.toml` in it is ignored (with a notice).
pub fn stage(course: &Course, submission: &Path, work: &Path) -> Result<Staged, OverlayError> {
    let as_is = |notice| Staged {
        dir: submission.to_owned(),
        notice,
    };
    if !submission.join(OVERLAY_FILE).is_file() {
        return Ok(as_is(None));
    }
    if !is_course_solution(course, submission) {
        return Ok(as_is(Some(format!(
            "{} was ignored: only the course's own reference solutions are stored as overlays; this directory was graded as it is",
            submission.join(OVERLAY_FILE).display()
        ))));
    }
    let stack = Stack::of_overlay_dir(&course.root, submission)?;
    let dest = work.join(STAGE_DIR);
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|source| OverlayError::Copy {
            from: submission.to_owned(),
            to: dest.clone(),
            source,
        })?;
    }
    stack.materialize(&dest)?;
    Ok(Staged {
        dir: dest,
        notice: None,
    })
}

/// The tree of a course directory: through its `overlay.toml` when it has one.
pub fn course_tree(course: &Course, dir: &Path) -> Result<Stack, OverlayError> {
    if dir.join(OVERLAY_FILE).is_file() {
        Stack::of_overlay_dir(&course.root, dir)
    } else {
        Stack::resolve(&course.root, Layer::plain(dir), None)
    }
}

/// `cargo grader solution`: writes the lab's first solution in `lang` (any when `None`)
/// into `out`, which must not exist or be empty. Returns the solution's directory (as
/// listed) and its layers. The tree is written beside `out` and renamed into place, so a
/// failure leaves nothing half-written.
pub fn export_solution(
    course: &Course,
    lab: &LabEntry,
    lang: Option<Language>,
    out: &Path,
) -> Result<(PathBuf, Stack), OverlayError> {
    let empty = std::fs::read_dir(out).map_or(true, |mut d| d.next().is_none());
    if !empty {
        return Err(OverlayError::OutNotEmpty(out.to_owned()));
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or(Path::new("."));
    let write = |source| OverlayError::Write {
        path: out.to_owned(),
        source,
    };
    for listed in &lab.solutions {
        let stack = course_tree(course, &course.path(listed))?;
        let scratch = ScratchDir::new(parent, ".grader-solution-").map_err(write)?;
        stack.materialize(scratch.path())?;
        if lang.is_some_and(|l| build::detect(scratch.path()).ok() != Some(l)) {
            continue;
        }
        scratch.publish(out).map_err(write)?;
        return Ok((listed.clone(), stack));
    }
    Err(OverlayError::NoSolution {
        lab: lab.id.clone(),
        lang: lang.map_or("any".into(), |l| format!("{l:?}").to_lowercase()),
        listed: lab.solutions.clone(),
    })
}

#[cfg(test)]
mod tests;
