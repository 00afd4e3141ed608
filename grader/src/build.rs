//! Building a submission: a Rust crate (cargo, static glibc, one shared target directory so
//! dependencies compile once per machine) or C sources (`gcc -static`, or the student's
//! Makefile). A compile error is a result with the compiler's own message, not an error.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Target triple for guest binaries.
pub const GUEST_TARGET: &str = "x86_64-unknown-linux-gnu";
/// Longest a build may take.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// What a submission is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// A cargo package.
    Rust,
    /// C sources or a Makefile.
    C,
}

/// The result of a build.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// Detected language.
    pub language: Language,
    /// Whether every program was produced.
    pub ok: bool,
    /// The compiler's output (and our own explanation on failure).
    pub log: String,
    /// Program name → binary.
    pub programs: Vec<(String, PathBuf)>,
    /// Wall time.
    pub duration: Duration,
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
}

/// What to build and where.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The student's directory (never modified).
    pub submission: &'a Path,
    /// Programs the lab needs.
    pub programs: &'a [String],
    /// A fresh directory for this build (sources are copied to `work/src`, binaries land in
    /// `work/bin`).
    pub work: &'a Path,
    /// Shared cargo target directory (dependencies compiled once).
    pub cargo_target_dir: &'a Path,
    /// File names (relative to the submission) not to copy: grader-owned files such as
    /// the spec, which the course supplies.
    pub skip: &'a [&'a str],
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

/// Builds a submission.
pub fn build(req: &BuildRequest<'_>) -> Result<BuildOutput, BuildError> {
    let start = Instant::now();
    let language = detect(req.submission)?;
    let src = req.work.join("src");
    let bin = req.work.join("bin");
    let wd = |source| BuildError::Workdir {
        path: req.work.to_owned(),
        source,
    };
    let _ = fs::remove_dir_all(req.work);
    fs::create_dir_all(&bin).map_err(wd)?;
    copy_tree(req.submission, &src, req.skip).map_err(wd)?;
    let (ok, log) = match language {
        Language::Rust => build_rust(&src, &bin, req)?,
        Language::C => build_c(&src, &bin, req.programs)?,
    };
    let mut out = BuildOutput {
        language,
        ok,
        log,
        programs: Vec::new(),
        duration: Duration::ZERO,
    };
    if out.ok {
        for p in req.programs {
            let path = bin.join(p);
            if path.is_file() {
                out.programs.push((p.clone(), path));
            } else {
                out.ok = false;
                out.log.push_str(&missing_program_help(language, p));
            }
        }
    }
    out.duration = start.elapsed();
    Ok(out)
}

fn missing_program_help(language: Language, p: &str) -> String {
    match language {
        Language::Rust => format!("\ngrader: the crate builds no binary named `{p}`: the lab needs it (add a [[bin]] name = \"{p}\" to Cargo.toml)\n"),
        Language::C => format!("\ngrader: no program `{p}` was built: the lab needs `{p}.c` (with a main) or a Makefile target `{p}`\n"),
    }
}

/// Copies a directory, leaving out build products, VCS data and `skip`.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_s = name.to_string_lossy();
        if ["target", ".git", ".grader"].contains(&name_s.as_ref())
            || skip.contains(&name_s.as_ref())
        {
            continue;
        }
        let ty = entry.file_type()?;
        let dest = to.join(&name);
        if ty.is_dir() {
            copy_tree(&entry.path(), &dest, &[])?;
        } else if ty.is_file() {
            fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// The copy builds on its own, wherever the scratch directory is: a manifest without a
/// `[workspace]` table would otherwise be claimed by an enclosing workspace.
fn standalone_manifest(src: &Path) -> std::io::Result<()> {
    let path = src.join("Cargo.toml");
    let text = fs::read_to_string(&path)?;
    let has_table = text.lines().any(|l| l.trim() == "[workspace]");
    if !has_table {
        fs::write(&path, format!("{text}\n[workspace]\n"))?;
    }
    Ok(())
}

fn build_rust(
    src: &Path,
    bin: &Path,
    req: &BuildRequest<'_>,
) -> Result<(bool, String), BuildError> {
    standalone_manifest(src).map_err(|source| BuildError::Workdir {
        path: src.to_owned(),
        source,
    })?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    fs::create_dir_all(req.cargo_target_dir).map_err(|source| BuildError::Workdir {
        path: req.cargo_target_dir.to_owned(),
        source,
    })?;
    // Builds sharing the target directory must not copy each other's binaries: hold a lock
    // from the build until our binaries are copied out.
    let _lock = DirLock::acquire(&req.cargo_target_dir.join(".grader.lock")).map_err(|source| {
        BuildError::Workdir {
            path: req.cargo_target_dir.to_owned(),
            source,
        }
    })?;
    // Cargo deems a path package fresh when its sources are older than its last build, and
    // that fingerprint ignores the package's path: sources copied before another
    // submission of the same crate name finished building would be handed that
    // submission's binary. Dated now, under the lock, they are newer than every build.
    touch_tree(src).map_err(|source| BuildError::Workdir {
        path: src.to_owned(),
        source,
    })?;
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "--release",
        "--bins",
        "--color",
        "never",
        "--message-format",
        "short",
    ])
    .args(["--target", GUEST_TARGET])
    .arg("--manifest-path")
    .arg(src.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(req.cargo_target_dir)
    .env("RUSTFLAGS", "-C target-feature=+crt-static")
    .env_remove("CARGO_TARGET_DIR")
    .env_remove("RUSTC_WRAPPER");
    let (ok, log) = run_logged(cmd, &cargo)?;
    if ok {
        let out_dir = req.cargo_target_dir.join(GUEST_TARGET).join("release");
        for p in req.programs {
            let built = out_dir.join(p);
            if built.is_file() {
                fs::copy(&built, bin.join(p)).map_err(|source| BuildError::Workdir {
                    path: built.clone(),
                    source,
                })?;
                // A later build of another crate must not hand us this binary again.
                let _ = fs::remove_file(&built);
            }
        }
    }
    Ok((ok, log))
}

/// Sets the modification time of every file under `dir` to now.
fn touch_tree(dir: &Path) -> std::io::Result<()> {
    let now = std::time::SystemTime::now();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            touch_tree(&entry.path())?;
        } else {
            // futimens needs ownership, not write access: read-only copies are fine.
            fs::File::open(entry.path())?.set_modified(now)?;
        }
    }
    Ok(())
}

fn build_c(src: &Path, bin: &Path, programs: &[String]) -> Result<(bool, String), BuildError> {
    if src.join("Makefile").is_file() || src.join("makefile").is_file() {
        let mut cmd = Command::new("make");
        // -B: programs or objects copied along with the sources (a student's own `make`)
        // must not pass for up to date.
        cmd.current_dir(src)
            .arg("-B")
            .args(programs)
            .env("CC", "gcc")
            .env("CFLAGS", "-O2 -Wall")
            .env("LDFLAGS", "-static");
        let (ok, log) = run_logged(cmd, "make")?;
        for p in programs {
            let built = src.join(p);
            if built.is_file() {
                let _ = fs::copy(&built, bin.join(p));
            }
        }
        return Ok((ok, log));
    }
    let helpers = c_helper_sources(src);
    let mut log = String::new();
    let mut ok = true;
    for p in programs {
        let main = src.join(format!("{p}.c"));
        if !main.is_file() {
            continue; // reported as a missing program by the caller
        }
        let mut cmd = Command::new("gcc");
        cmd.current_dir(src)
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(bin.join(p))
            .arg(&main)
            .args(&helpers)
            .args(["-lrt", "-pthread"]);
        log.push_str(&format!(
            "$ gcc -static -O2 -Wall -o {p} {p}.c{}\n",
            helpers
                .iter()
                .map(|h| format!(" {}", h.display()))
                .collect::<String>()
        ));
        let (this_ok, this_log) = run_logged(cmd, "gcc")?;
        log.push_str(&this_log);
        ok &= this_ok;
    }
    Ok((ok, log))
}

/// `.c` files without a `main`: shared code linked into every program.
fn c_helper_sources(src: &Path) -> Vec<PathBuf> {
    let main_re = regex::Regex::new(r"\bint\s+main\s*\(").expect("static regex");
    let mut out: Vec<PathBuf> = fs::read_dir(src)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter(|p| {
            fs::read_to_string(p)
                .map(|t| !main_re.is_match(&t))
                .unwrap_or(false)
        })
        .map(|p| PathBuf::from(p.file_name().unwrap_or_default()))
        .collect();
    out.sort();
    out
}

/// Runs a command with a deadline, returning (success, stdout+stderr).
fn run_logged(mut cmd: Command, tool: &str) -> Result<(bool, String), BuildError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| BuildError::Tool {
        tool: tool.into(),
        source,
    })?;
    let mut err = child.stderr.take().expect("piped");
    let mut outp = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut out = Vec::new();
    let _ = outp.read_to_end(&mut out);
    let deadline = Instant::now() + BUILD_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    out.extend(reader.join().unwrap_or_default());
    let mut log = String::from_utf8_lossy(&out).into_owned();
    match status {
        Some(st) => Ok((st.success(), log)),
        None => {
            log.push_str(&format!(
                "\ngrader: {tool} did not finish within {} s\n",
                BUILD_TIMEOUT.as_secs()
            ));
            Ok((false, log))
        }
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
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("grader-build-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn c_build(name: &str, files: &[(&str, &str)]) -> BuildOutput {
        let sub = tmp(&format!("{name}-sub"));
        for (f, text) in files {
            fs::write(sub.join(f), text).unwrap();
        }
        let work = tmp(&format!("{name}-work"));
        let target = tmp(&format!("{name}-target"));
        build(&BuildRequest {
            submission: &sub,
            programs: &["hello".to_string()],
            work: &work,
            cargo_target_dir: &target,
            skip: &[],
        })
        .unwrap()
    }

    #[test]
    fn c_program_builds_static_with_helper_sources() {
        let out = c_build(
            "ok",
            &[
                (
                    "hello.c",
                    "int helper(void);\nint main(void){return helper();}\n",
                ),
                ("util.c", "int helper(void){return 0;}\n"),
            ],
        );
        assert!(out.ok, "{}", out.log);
        assert_eq!(out.language, Language::C);
        assert!(out.log.contains("util.c"), "{}", out.log);
        let status = Command::new(&out.programs[0].1).status().unwrap();
        assert!(status.success());
    }

    #[test]
    fn compile_error_is_a_result_with_the_compiler_message() {
        let out = c_build("bad", &[("hello.c", "int main(void){ return nope; }\n")]);
        assert!(!out.ok);
        assert!(out.log.contains("nope"), "{}", out.log);
        assert!(out.log.contains("error"), "{}", out.log);
    }

    #[test]
    fn missing_program_is_explained() {
        let out = c_build("missing", &[("other.c", "int main(void){return 0;}\n")]);
        assert!(!out.ok);
        assert!(out.log.contains("needs `hello.c`"), "{}", out.log);
    }

    #[test]
    fn empty_dir_is_nothing_to_build() {
        let d = tmp("empty");
        assert!(matches!(detect(&d), Err(BuildError::NothingToBuild { .. })));
    }
}
