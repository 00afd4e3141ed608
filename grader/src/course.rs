//! The course model: `course.toml` at the workspace root lists the labs, where their specs
//! live (pinned by content hash), and the guest and resource settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{self, ConfigError, Dur};
use crate::protocol::Limits;

/// The only `format_version` this grader reads.
pub const COURSE_FORMAT_VERSION: u32 = 1;

/// `course.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    /// Must be [`COURSE_FORMAT_VERSION`].
    pub format_version: u32,
    /// Course title, shown in reports.
    pub title: String,
    /// Guest (QEMU) settings.
    pub guest: GuestSettings,
    /// Resource limits for student processes.
    #[serde(default)]
    pub limits: LimitSettings,
    /// What reports say to help a failing scenario: `levels` (the default: the first,
    /// concept-level hint, and the next ones on request with `cargo grader hint`), `all`
    /// (every level at once) or `none` (no hint in any report, e.g. for an exam).
    #[serde(default)]
    pub hints: HintPolicy,
    /// How submissions are built: the build jail's deadline and limits.
    #[serde(default)]
    pub build: BuildSettings,
    /// The support library every lab builds with (`c/support.h` and `c/support.c` for the
    /// C labs, a Rust crate beside them for the Rust ones), relative to the course root:
    /// handed out with the labs, and supplied by the grader to every build from the
    /// course's own copy, so that a submission's edits to it change nothing.
    #[serde(default)]
    pub support: Option<PathBuf>,
    /// The labs, in course order.
    #[serde(rename = "lab")]
    pub labs: Vec<LabEntry>,
    /// Workspace root (the directory holding `course.toml`); set after loading.
    #[serde(skip)]
    pub root: PathBuf,
}

/// How the guest runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestSettings {
    /// Guest RAM in MiB.
    pub memory_mb: u32,
    /// Spec deadlines are written for a native run; the guest (TCG) multiplies them by this.
    pub timeout_scale: f64,
    /// Deadline for one whole guest run, on top of the scenarios' own deadlines.
    pub boot_deadline: Dur,
    /// `auto` (KVM only if a probe shows it works), `tcg` or `kvm`.
    #[serde(default = "default_accel")]
    pub accel: String,
    /// Start every guest from a snapshot of the image taken while its agent waits for a
    /// job (a fresh VM per submission either way); `false` boots each one cold.
    #[serde(default = "default_snapshot")]
    pub snapshot: bool,
    /// The guest's virtual CPUs (`-smp`): under TCG each is a host thread.
    #[serde(default = "default_vcpus")]
    pub vcpus: u32,
    /// Scenarios run at once in one guest, each in its own namespaces and with a uid of
    /// its own; the scenarios that measure a pace (round trips) always run alone.
    #[serde(default = "default_parallel")]
    pub parallel: u32,
}

fn default_vcpus() -> u32 {
    2
}

fn default_parallel() -> u32 {
    3
}

fn default_snapshot() -> bool {
    true
}

fn default_accel() -> String {
    "auto".into()
}

/// Resource limits (see [`Limits`]); every field optional, defaults from [`Limits`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Processes of the student uid.
    pub nproc: Option<u64>,
    /// Largest file a student process may write, in MiB.
    pub file_size_mb: Option<u64>,
    /// Address space per process, in MiB.
    pub memory_mb: Option<u64>,
    /// CPU seconds per process.
    pub cpu_seconds: Option<u64>,
    /// Open files per process.
    pub open_files: Option<u64>,
    /// Captured output per process stream, in KiB.
    pub output_kb: Option<u64>,
}

impl LimitSettings {
    /// The limits handed to the agent.
    pub fn to_limits(&self) -> Limits {
        let d = Limits::default();
        Limits {
            nproc: self.nproc.unwrap_or(d.nproc),
            fsize_bytes: self.file_size_mb.map_or(d.fsize_bytes, |m| m << 20),
            address_space_bytes: self.memory_mb.map_or(d.address_space_bytes, |m| m << 20),
            cpu_seconds: self.cpu_seconds.unwrap_or(d.cpu_seconds),
            nofile: self.open_files.unwrap_or(d.nofile),
            output_cap_bytes: self.output_kb.map_or(d.output_cap_bytes, |k| k << 10),
        }
    }
}

/// The course-wide hint policy (`hints = "levels" | "all" | "none"`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HintPolicy {
    /// The first level on failure; `cargo grader hint` reveals the next ones, one by one.
    #[default]
    Levels,
    /// Every level at once.
    All,
    /// No hint at all (exams).
    None,
}

/// `[build]`: every build step a submission controls (`make`, `gcc`, `cargo` with the
/// student's `build.rs`) runs in the build jail under these limits; every field optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuildSettings {
    /// Wall-clock deadline of a whole build; at it every process of the build is killed
    /// and the build fails ("did not finish within N s").
    pub deadline: Dur,
    /// Processes and threads of one build at once (counted per build).
    pub nproc: u64,
    /// Largest file a build may write, in MiB.
    pub file_size_mb: u64,
    /// Address space per build process, in MiB.
    pub memory_mb: u64,
    /// CPU seconds per build process.
    pub cpu_seconds: u64,
    /// Open files per build process.
    pub open_files: u64,
    /// Everything one build may write to its build directory, in MiB.
    pub disk_mb: u64,
    /// Files and directories one build may create.
    pub max_files: u64,
    /// Build log kept in the report, in KiB (the rest is dropped and said so).
    pub log_kb: u64,
    /// Host uid (and gid) the jail runs as when the grader runs as root; no account may
    /// use it (`cargo grader doctor` checks).
    pub uid: u32,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings {
            deadline: Dur(std::time::Duration::from_secs(120)),
            nproc: 256,
            file_size_mb: 256,
            memory_mb: 4096,
            cpu_seconds: 120,
            open_files: 1024,
            disk_mb: 512,
            max_files: 20_000,
            log_kb: 256,
            uid: 64_999,
        }
    }
}

/// What a submission is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// A cargo package.
    Rust,
    /// C sources or a Makefile.
    C,
}

/// How a lab is graded.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LabKind {
    /// Student programs run as scenarios inside the guest (labs 1–6).
    #[default]
    Ipc,
    /// The student drives QEMU itself; graded on the host (lab 7).
    Qemu,
}

/// One `[[lab]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabEntry {
    /// `lab1`…`lab7`.
    pub id: String,
    /// Short name (`msgq`…); `cargo grader msgq` works like `cargo grader lab1`.
    pub name: String,
    /// Title shown in reports.
    pub title: String,
    /// The lab directory the student edits (relative to the root).
    pub dir: PathBuf,
    /// The spec (relative to the root).
    pub spec: PathBuf,
    /// SHA-256 of the spec file as the course ships it: grading refuses a spec that differs.
    pub spec_sha256: Option<String>,
    /// Reference solutions (relative to the root), checked by `cargo grader check`. A
    /// directory holding `overlay.toml` is stored as a base plus the files that differ and
    /// materialised before grading (see [`crate::overlay`]).
    #[serde(default)]
    pub solutions: Vec<PathBuf>,
    /// How the lab is graded.
    #[serde(default)]
    pub kind: LabKind,
    /// The untouched skeletons handed out, by language (relative to the root), e.g.
    /// `{ rust = "labs/lab1-msgq", c = "labs/lab1-msgq/c" }`: `cargo grader LAB --lang c`
    /// grades `skeletons.c`, and `cargo grader check` expects every one of them to build and
    /// score below max. Absent: `dir` is the lab's only skeleton.
    #[serde(default)]
    pub skeletons: BTreeMap<Language, PathBuf>,
}

impl LabEntry {
    /// Checks spec text against the pin; returns its SHA-256.
    pub fn verify_pin(&self, path: &Path, text: &str) -> Result<String, ConfigError> {
        let sha256 = sha256_hex(text.as_bytes());
        match &self.spec_sha256 {
            Some(pin) if *pin != sha256 => Err(ConfigError::Invalid {
                path: path.to_owned(),
                message: format!(
                    "content hash {sha256} differs from the spec_sha256 pinned in course.toml for {} ({pin}): if the change is intended, run `cargo grader pin`",
                    self.id
                ),
            }),
            _ => Ok(sha256),
        }
    }

    /// Every skeleton `cargo grader check` grades (relative to the root): the declared
    /// ones, else `dir`.
    pub fn skeleton_dirs(&self) -> Vec<&Path> {
        if self.skeletons.is_empty() {
            vec![self.dir.as_path()]
        } else {
            self.skeletons.values().map(PathBuf::as_path).collect()
        }
    }

    /// Names of the skeleton directories that sit directly inside `dir` (the C skeleton
    /// `c/` inside the Rust crate's directory): building `dir` must leave them out.
    pub fn skeletons_inside(&self, root: &Path, dir: &Path) -> Vec<String> {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        self.skeletons
            .values()
            .filter_map(|s| std::fs::canonicalize(root.join(s)).ok())
            .filter(|s| s.parent() == Some(dir.as_path()))
            .filter_map(|s| s.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect()
    }

    /// The spec's file name (`lab.toml`): a submission's own copy of it is ignored.
    pub fn spec_file_name(&self) -> String {
        self.spec
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// A failure to load or use the course.
#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    /// `course.toml` itself is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No `course.toml` in this directory or above.
    #[error("failed to find course.toml in {start} or any parent directory")]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// An unknown lab name.
    #[error("no lab named `{name}` in {course} (known: {known})")]
    UnknownLab {
        /// What was asked.
        name: String,
        /// course.toml path.
        course: PathBuf,
        /// The ids and names.
        known: String,
    },
}

impl Course {
    /// Finds `course.toml` in `start` or its ancestors and loads it.
    pub fn discover(start: &Path) -> Result<Course, CourseError> {
        let found = start
            .ancestors()
            .map(|d| d.join("course.toml"))
            .find(|p| p.is_file())
            .ok_or_else(|| CourseError::NotFound {
                start: start.to_owned(),
            })?;
        Ok(Course::load(&found)?)
    }

    /// Loads and validates a `course.toml`.
    pub fn load(path: &Path) -> Result<Course, ConfigError> {
        let (mut course, _): (Course, _) = config::load_toml(path)?;
        course.root = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        course.validate(path)?;
        Ok(course)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if self.format_version != COURSE_FORMAT_VERSION {
            return Err(invalid(format!(
                "format_version = {} is not supported (this grader reads {COURSE_FORMAT_VERSION})",
                self.format_version
            )));
        }
        if !(self.guest.timeout_scale >= 1.0 && self.guest.timeout_scale <= 100.0) {
            return Err(invalid(
                "guest.timeout_scale must be between 1 and 100".into(),
            ));
        }
        if !(1..=16).contains(&self.guest.vcpus) || !(1..=16).contains(&self.guest.parallel) {
            return Err(invalid(format!(
                "guest.vcpus = {} and guest.parallel = {}: each must be between 1 and 16",
                self.guest.vcpus, self.guest.parallel
            )));
        }
        let b = &self.build;
        if b.deadline.0.is_zero() || b.nproc == 0 || b.disk_mb == 0 || b.uid == 0 {
            return Err(invalid(
                "build.deadline, build.nproc, build.disk_mb and build.uid must be above 0".into(),
            ));
        }
        if !["auto", "tcg", "kvm"].contains(&self.guest.accel.as_str()) {
            return Err(invalid(format!(
                "guest.accel = `{}`: expected auto, tcg or kvm",
                self.guest.accel
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for lab in &self.labs {
            for key in [&lab.id, &lab.name] {
                if !seen.insert(key.clone()) {
                    return Err(invalid(format!("lab id or name `{key}` appears twice")));
                }
            }
        }
        Ok(())
    }

    /// The lab named by id (`lab1`) or short name (`msgq`).
    pub fn lab(&self, name: &str) -> Result<&LabEntry, CourseError> {
        self.labs
            .iter()
            .find(|l| l.id == name || l.name == name)
            .ok_or_else(|| CourseError::UnknownLab {
                name: name.to_owned(),
                course: self.root.join("course.toml"),
                known: self
                    .labs
                    .iter()
                    .map(|l| format!("{} ({})", l.id, l.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Absolute path of a path written relative to the root.
    pub fn path(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
format_version = 1
title = "t"
[guest]
memory_mb = 256
timeout_scale = 4.0
boot_deadline = "60s"
[[lab]]
id = "lab1"
name = "msgq"
title = "Queues"
dir = "labs/lab1-msgq"
spec = "labs/lab1-msgq/lab.toml"
"#;

    fn write(dir: &Path, text: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join("course.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("grader-course-{name}-{}", std::process::id()))
    }

    #[test]
    fn labs_are_found_by_id_or_name() {
        let p = write(&tmp("ok"), MINIMAL);
        let c = Course::load(&p).unwrap();
        assert_eq!(c.lab("lab1").unwrap().name, "msgq");
        assert_eq!(c.lab("msgq").unwrap().id, "lab1");
        let err = c.lab("lab9").unwrap_err().to_string();
        assert!(err.contains("lab1 (msgq)"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_line() {
        let text = MINIMAL.replace("memory_mb = 256", "memory_mb = 256\nmemroy = 1");
        let p = write(&tmp("bad"), &text);
        let err = Course::load(&p).unwrap_err().to_string();
        assert!(
            err.contains("course.toml:6: unknown field `memroy`"),
            "{err}"
        );
    }

    #[test]
    fn skeletons_by_language_and_the_hint_policy_are_typed() {
        let text = MINIMAL.replace("title = \"t\"\n", "title = \"t\"\nhints = \"none\"\n")
            + "skeletons = { rust = \"labs/lab1-msgq\", c = \"labs/lab1-msgq/c\" }\n";
        let c = Course::load(&write(&tmp("skel"), &text)).unwrap();
        assert_eq!(c.hints, HintPolicy::None);
        let lab = c.lab("lab1").unwrap();
        assert_eq!(
            lab.skeleton_dirs(),
            [Path::new("labs/lab1-msgq"), Path::new("labs/lab1-msgq/c")]
        );
        let plain = Course::load(&write(&tmp("plain"), MINIMAL)).unwrap();
        assert_eq!(plain.hints, HintPolicy::Levels);
        assert_eq!(plain.labs[0].skeleton_dirs(), [Path::new("labs/lab1-msgq")]);
    }

    #[test]
    fn an_unknown_language_or_policy_is_an_error_with_its_line() {
        let lang = MINIMAL.to_string() + "skeletons = { cpp = \"x\" }\n";
        let err = Course::load(&write(&tmp("cpp"), &lang))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("course.toml:14") && err.contains("cpp"),
            "{err}"
        );
        let policy = MINIMAL.replace("title = \"t\"\n", "title = \"t\"\nhints = \"some\"\n");
        let err = Course::load(&write(&tmp("pol"), &policy))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("course.toml:4") && err.contains("some"),
            "{err}"
        );
    }

    #[test]
    fn a_skeleton_inside_another_is_named_for_the_build_to_skip() {
        let root = tmp("inside");
        std::fs::create_dir_all(root.join("labs/l1/c")).unwrap();
        let text = MINIMAL.to_string() + "skeletons = { rust = \"labs/l1\", c = \"labs/l1/c\" }\n";
        let c = Course::load(&write(&root, &text)).unwrap();
        let lab = &c.labs[0];
        assert_eq!(lab.skeletons_inside(&root, &root.join("labs/l1")), ["c"]);
        assert!(lab
            .skeletons_inside(&root, &root.join("labs/l1/c"))
            .is_empty());
    }

    #[test]
    fn build_settings_default_and_reject_unknown_keys() {
        let c = Course::load(&write(&tmp("build"), MINIMAL)).unwrap();
        assert_eq!(c.build.deadline.0, std::time::Duration::from_secs(120));
        let text = format!("{MINIMAL}\n[build]\ndeadline = \"30s\"\ndisk_mb = 64\n");
        let c = Course::load(&write(&tmp("build2"), &text)).unwrap();
        assert_eq!(c.build.deadline.0, std::time::Duration::from_secs(30));
        assert_eq!((c.build.disk_mb, c.build.nproc), (64, 256));
        let bad = text.replacen("disk_mb = 64", "disk_mb = 64\ndeadlin = \"1s\"", 1);
        let err = Course::load(&write(&tmp("build3"), &bad))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `deadlin`"), "{err}");
    }

    #[test]
    fn wrong_format_version_is_explained() {
        let p = write(
            &tmp("ver"),
            &MINIMAL.replace("format_version = 1", "format_version = 9"),
        );
        let err = Course::load(&p).unwrap_err().to_string();
        assert!(err.contains("format_version = 9 is not supported"), "{err}");
    }
}
