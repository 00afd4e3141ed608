//! Building a submission: a Rust crate (cargo, static glibc, the course's dependencies
//! compiled once per machine and read-only to every build) or C sources (`gcc -static`,
//! or the student's Makefile). Every step the submission controls runs in the build jail
//! ([`crate::sandbox::jail`]) under the course's `[build]` limits and deadline. A compile
//! error, and a build that tries what the jail refuses, is a result with the compiler's
//! own message and the grader's explanation, never an error.

mod c;
mod deps;
mod diagnostics;
mod explain;
mod files;
mod rust;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::course::{BuildSettings, Course};
use crate::sandbox::jail::{
    Confinement, DiskQuota, Ended, JailCommand, JailOutput, Mount, Rlimits,
};

pub use deps::RustDeps;
pub use files::copy_tree;

/// Target triple for guest binaries.
pub const GUEST_TARGET: &str = "x86_64-unknown-linux-gnu";
/// Where the build directory is in the jail: the sources at `/build/src`.
pub const JAIL_BUILD_DIR: &str = "/build";
/// The course's support library in the build directory: `/build/support`, the sources'
/// sibling as `labs/support` is the Rust labs' in the course.
pub const SUPPORT_DIR: &str = "support";

pub use crate::course::Language;

/// The result of a build.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// Detected language (`None`: nothing the grader can build was found).
    pub language: Option<Language>,
    /// Whether every program was produced.
    pub ok: bool,
    /// The compiler's output (and our own explanation on failure).
    pub log: String,
    /// Program name → binary, for every program that was built.
    pub programs: Vec<(String, PathBuf)>,
    /// Programs that were not built, each with why: its own compiler messages (paths
    /// rewritten to the student's), or what is missing.
    pub failed: BTreeMap<String, String>,
    /// Wall time.
    pub duration: Duration,
}

impl BuildOutput {
    /// Why `program` was not built, when it was not.
    pub fn failure(&self, program: &str) -> Option<&str> {
        self.failed.get(program).map(String::as_str)
    }
}

/// Infrastructure failures (the student is not to blame).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The submission directory is missing or unreadable.
    #[error("failed to read submission {path}: {source}")]
    Submission {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Nothing to build.
    #[error("{path} holds no Cargo.toml, Makefile or .c file: nothing to build")]
    NothingToBuild {
        /// Directory.
        path: PathBuf,
    },
    /// A tool could not be started.
    #[error("failed to run {tool}: {source} (is it installed? `cargo grader doctor` says how)")]
    Tool {
        /// Program name.
        tool: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Copying files failed.
    #[error("failed to prepare the build directory {path}: {source}")]
    Workdir {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The jail could not run a build step.
    #[error("failed to run the build in its jail: {0}")]
    Jail(#[from] crate::sandbox::jail::JailError),
    /// The Rust toolchain could not be found.
    #[error("failed to find the Rust toolchain: {0}")]
    Toolchain(String),
    /// The course's Rust dependencies could not be prepared.
    #[error("failed to prepare the course's Rust dependencies in {dir}: {message}")]
    Deps {
        /// The cache directory.
        dir: PathBuf,
        /// What went wrong (with the tool's output).
        message: String,
    },
}

fn workdir_err(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Workdir {
        path: path.to_owned(),
        source,
    }
}

/// What every build on this host shares: where its commands run (the jail, or — by the
/// teacher's explicit choice — the host), their limits and deadline, and the course's
/// Rust dependencies.
#[derive(Debug, Clone)]
pub struct BuildHost {
    /// The jail, or the host.
    pub confinement: Confinement,
    /// The course's `[build]`.
    pub settings: BuildSettings,
    /// The course's Rust dependencies.
    pub deps: RustDeps,
    /// The course's support library (see [`Course::support`]), copied next to every
    /// submission (`/build/support`) before it builds.
    pub support: Option<PathBuf>,
}

impl BuildHost {
    /// The build host for a course.
    pub fn for_course(course: &Course, confinement: Confinement) -> BuildHost {
        BuildHost {
            confinement,
            settings: course.build.clone(),
            deps: RustDeps::for_course(course),
            support: course.support.as_deref().map(|s| course.path(s)),
        }
    }

    /// The jail (or this host, when the teacher allows building unjailed and the jail
    /// cannot be made here) for a course.
    pub fn probe(
        course: &Course,
        allow_unsafe: bool,
    ) -> Result<BuildHost, crate::sandbox::jail::Unavailable> {
        let confinement = Confinement::for_host(course.build.uid, allow_unsafe)?;
        Ok(BuildHost::for_course(course, confinement))
    }

    fn limits(&self) -> Rlimits {
        let s = &self.settings;
        Rlimits {
            nproc: s.nproc,
            fsize_bytes: s.file_size_mb << 20,
            address_space_bytes: s.memory_mb << 20,
            cpu_seconds: s.cpu_seconds,
            nofile: s.open_files,
        }
    }

    fn quota(&self) -> DiskQuota {
        DiskQuota {
            bytes: self.settings.disk_mb << 20,
            files: self.settings.max_files,
        }
    }
}

/// What to build and where.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The student's directory (never modified).
    pub submission: &'a Path,
    /// Programs the lab needs.
    pub programs: &'a [String],
    /// A fresh directory for this build (the jail's writable directory is `work/jail`,
    /// the programs land in `work/bin`).
    pub work: &'a Path,
    /// File names (relative to the submission) not to copy: grader-owned files such as
    /// the spec, which the course supplies.
    pub skip: &'a [&'a str],
    /// Where and how the build runs.
    pub host: &'a BuildHost,
}

/// Detects the language of a submission directory.
pub fn detect(dir: &Path) -> Result<Language, BuildError> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(Language::Rust);
    }
    let entries = fs::read_dir(dir).map_err(|source| BuildError::Submission {
        path: dir.to_owned(),
        source,
    })?;
    let has_c = entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name.ends_with(".c") || name == "Makefile" || name == "makefile"
    });
    if has_c {
        Ok(Language::C)
    } else {
        Err(BuildError::NothingToBuild {
            path: dir.to_owned(),
        })
    }
}

/// One build in progress: its directories (host and jail view), its deadline, its log.
#[derive(Debug)]
struct Build<'a> {
    req: &'a BuildRequest<'a>,
    /// `work/jail`: the only directory the build may write (mounted at `/build`).
    jail_dir: PathBuf,
    /// `work/bin`: where the programs are copied out to.
    bin: PathBuf,
    deadline: Instant,
    log: String,
    /// The build was stopped (deadline or quota): no further step runs.
    stopped: bool,
    /// `name version` of the dependencies the course provides (Rust).
    context_packages: Vec<String>,
    /// Programs whose own build step failed, with that step's part of the log.
    failures: BTreeMap<String, String>,
}

impl Build<'_> {
    fn confinement(&self) -> &Confinement {
        &self.req.host.confinement
    }

    /// The command's view of `work/jail/<rel>`.
    fn view(&self, rel: &str) -> PathBuf {
        let host = self.jail_dir.join(rel);
        self.confinement()
            .view(&host, &format!("{JAIL_BUILD_DIR}/{rel}"))
    }

    /// The environment every build step gets.
    fn base_env(&self, path: &str) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), path.into()),
            ("HOME".into(), "/home/student".into()),
            ("TMPDIR".into(), self.view("tmp").display().to_string()),
            ("LC_ALL".into(), "C.UTF-8".into()),
            ("TERM".into(), "dumb".into()),
        ]
    }

    /// Runs one step with what is left of the build's deadline; its output goes to the
    /// log. `Ok(true)` when it exited 0.
    fn step(
        &mut self,
        program: PathBuf,
        args: Vec<std::ffi::OsString>,
        cwd: &str,
        env: Vec<(String, String)>,
        extra: Vec<Mount>,
    ) -> Result<bool, BuildError> {
        if self.stopped {
            return Ok(false);
        }
        let host = self.req.host;
        let mut mounts = vec![Mount::rw(&self.jail_dir, JAIL_BUILD_DIR)];
        mounts.extend(extra);
        let cmd = JailCommand {
            program,
            args,
            mounts,
            dirs: Vec::new(),
            cwd: self.view(cwd),
            env,
            limits: host.limits(),
            deadline: self.deadline.saturating_duration_since(Instant::now()),
            quota: Some(host.quota()),
            output_cap: (host.settings.log_kb << 10) as usize,
            merge_output: true,
            nested_userns: false,
            tmp_bytes: None,
        };
        let out = self.confinement().run(&cmd)?;
        self.record(&out);
        Ok(out.success())
    }

    fn record(&mut self, out: &JailOutput) {
        self.log.push_str(&String::from_utf8_lossy(&out.stdout));
        if out.dropped > 0 {
            self.log.push_str(&format!(
                "\ngrader: {} more bytes of build output were dropped (the log keeps {} KiB)\n",
                out.dropped, self.req.host.settings.log_kb
            ));
        }
        let s = &self.req.host.settings;
        match out.ended {
            Ended::Exited(_) => {}
            Ended::Deadline => {
                self.stopped = true;
                self.log.push_str(&format!(
                    "\ngrader: the build did not finish within {} s: stopped (every process it started was killed)\n",
                    s.deadline.0.as_secs()
                ));
            }
            Ended::Quota(u) => {
                self.stopped = true;
                self.log.push_str(&format!(
                    "\ngrader: the build tried to fill the disk: it wrote {} MiB in {} files to its build directory, more than the {} MiB / {} files a build may: stopped (every process it started was killed) and refused\n",
                    u.bytes >> 20, u.files, s.disk_mb, s.max_files
                ));
            }
        }
        if out.written.largest >= s.file_size_mb << 20 {
            self.log.push_str(&format!(
                "\ngrader: the build tried to write a file larger than {} MiB, the largest a build may write: refused\n",
                s.file_size_mb
            ));
        }
    }
}

/// Builds a submission. A directory with nothing to build (no sources, or sources in
/// another language) is the student's failed build, not an error.
pub fn build(req: &BuildRequest<'_>) -> Result<BuildOutput, BuildError> {
    let start = Instant::now();
    let language = match detect(req.submission) {
        Ok(l) => l,
        Err(BuildError::NothingToBuild { path }) => return Ok(nothing_to_build(req, &path, start)),
        Err(e) => return Err(e),
    };
    let _ = crate::sandbox::jail::force_remove(req.work);
    let mut b = Build {
        req,
        jail_dir: req.work.join("jail"),
        bin: req.work.join("bin"),
        deadline: start + req.host.settings.deadline.0,
        log: String::new(),
        stopped: false,
        context_packages: Vec::new(),
        failures: BTreeMap::new(),
    };
    fs::create_dir_all(&b.bin).map_err(workdir_err(req.work))?;
    let mut skip: Vec<&str> = req.skip.to_vec();
    if language == Language::Rust {
        // The course fixes the dependency versions (only those are available offline).
        skip.push("Cargo.lock");
    }
    let owner = req.host.confinement.owner();
    let limits = files::CopyLimits {
        file_bytes: req.host.settings.file_size_mb << 20,
        total_bytes: req.host.settings.disk_mb << 20,
    };
    let notes = files::prepare_jail_dir(req.submission, &b.jail_dir, &skip, owner, limits)
        .map_err(workdir_err(&b.jail_dir))?;
    for note in notes {
        b.log.push_str(&format!("grader: {note}\n"));
    }
    if let Some(support) = &req.host.support {
        // The course's copy, beside the sources as in the course (`../support` of a Rust
        // lab; the C build is told where it is): a submission's own copy is not used.
        files::copy_support(support, &b.jail_dir.join(SUPPORT_DIR), owner)
            .map_err(workdir_err(&b.jail_dir))?;
    }
    let crate_ok = match language {
        Language::Rust => rust::build(&mut b)?,
        Language::C => {
            c::build(&mut b)?;
            true
        }
    };
    let programs = collect_programs(&mut b, language, crate_ok);
    let mut ctx = explain::Context::new(&req.host.settings);
    ctx.packages = std::mem::take(&mut b.context_packages);
    let paths = diagnostics::PathMap::new(
        &[
            PathBuf::from(format!("{JAIL_BUILD_DIR}/src")),
            b.view("src"),
            b.jail_dir.join("src"),
        ],
        req.submission,
    );
    let mut log = paths.rewrite(&b.log);
    for line in explain::explain(&b.log, &ctx) {
        log.push_str(&format!("grader: {line}\n"));
    }
    let failed = b
        .failures
        .iter()
        .map(|(p, text)| (p.clone(), paths.rewrite(text).trim().to_string()))
        .collect();
    Ok(BuildOutput {
        language: Some(language),
        ok: programs.len() == req.programs.len(),
        log,
        programs,
        failed,
        duration: start.elapsed(),
    })
}

/// The build of a directory holding nothing the grader can build: every program fails,
/// and the log says what was looked for and what was found instead.
fn nothing_to_build(req: &BuildRequest<'_>, dir: &Path, start: Instant) -> BuildOutput {
    let wanted: Vec<String> = req.programs.iter().map(|p| format!("{p}.c")).collect();
    let mut log = format!(
        "grader: no {}, Makefile or Cargo.toml in {}: nothing to build\n",
        wanted.join(", "),
        dir.display()
    );
    log.push_str(&format!("grader: {}\n", files::found_instead(dir)));
    let why = log
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("grader: ");
    let failed = req
        .programs
        .iter()
        .map(|p| (p.clone(), why.to_string()))
        .collect();
    BuildOutput {
        language: None,
        ok: false,
        log,
        programs: Vec::new(),
        failed,
        duration: start.elapsed(),
    }
}

/// Copies the programs out of the jail's directory (never following a link the build
/// left), explaining each one missing (in the log and in `b.failures`).
fn collect_programs(
    b: &mut Build<'_>,
    language: Language,
    crate_ok: bool,
) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for p in b.req.programs {
        if !crate_ok {
            let why = "the crate did not compile (see the compiler's messages in build.log)";
            b.failures.insert(p.clone(), why.into());
            continue;
        }
        if b.failures.contains_key(p) {
            continue; // its own build step failed: its messages are recorded
        }
        let rel = match language {
            Language::Rust => rust::output_path(p),
            Language::C => c::output_path(b, p),
        };
        let dest = b.bin.join(p);
        let why = match files::take_output(&b.jail_dir, &rel, &dest) {
            Ok(()) => {
                out.push((p.clone(), dest));
                continue;
            }
            Err(files::TakeError::Missing) => missing_program_help(language, p),
            Err(files::TakeError::Refused(why)) => format!(
                "\ngrader: the program `{p}` the build left is {why}: refused (a program must be a regular file)\n"
            ),
            Err(files::TakeError::Io(e)) => {
                format!("\ngrader: failed to copy the program `{p}` out: {e}\n")
            }
        };
        b.log.push_str(&why);
        let text = why.trim().trim_start_matches("grader: ").to_string();
        b.failures.insert(p.clone(), text);
    }
    out
}

fn missing_program_help(language: Language, p: &str) -> String {
    match language {
        Language::Rust => format!("\ngrader: the crate builds no binary named `{p}`: the lab needs it (add a [[bin]] name = \"{p}\" to Cargo.toml)\n"),
        Language::C => format!("\ngrader: no program `{p}` was built: the lab needs `{p}.c` (with a main) or a Makefile target `{p}`\n"),
    }
}

/// An exclusive `flock` held until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: fs::File,
}

impl DirLock {
    /// Blocks until the lock is ours.
    pub fn acquire(path: &Path) -> std::io::Result<DirLock> {
        use std::os::fd::AsRawFd;
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        // SAFETY: flock on a descriptor we own; no memory is shared with the kernel.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(DirLock { _file: f })
    }
}

#[cfg(test)]
mod tests;
