//! The course's Rust dependencies, shared by every Rust build yet read-only to each:
//! vendored from the course's own lockfile by the grader (trusted crates, fetched outside
//! the jail, from the registry cache or crates.io), compiled once in the jail at the very
//! paths every build uses (`/deps/vendor`, `/build/target`), then frozen — owned by root
//! and read-only when the grader is root. Each build gets a target directory of its own
//! whose dependency artefacts are hard links to the frozen ones (which the build's uid
//! cannot modify) or, when the build runs as the grader's own uid, copies. No lock is
//! held while a submission builds.

use std::fs;
use std::io;
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::rust::{self, Toolchain, JAIL_VENDOR};
use super::{BuildError, BuildHost, DirLock, GUEST_TARGET, JAIL_BUILD_DIR};
use crate::course::{sha256_hex, Course};
use crate::sandbox::jail::{force_remove, JailCommand, Mount};

/// Bumped when the cache's layout changes.
const LAYOUT: &str = "grader-deps 1";

/// Where the course's Rust dependencies come from and where they are kept.
#[derive(Debug, Clone)]
pub struct RustDeps {
    /// `<course>/target/grader-deps`.
    pub root: PathBuf,
    /// The course's crates whose dependencies students get (lab skeletons, Rust
    /// solutions).
    pub seeds: Vec<PathBuf>,
    /// The course's `Cargo.lock`, which fixes the versions.
    pub lockfile: PathBuf,
    /// Share the compiled dependencies (`false`: every build compiles its own, as the
    /// benchmark's "empty target directory" figure).
    pub shared: bool,
    /// The course's support crate, which the labs name as `../support`: copied beside the
    /// seeds so that their path dependency resolves, and vendored with them.
    pub support: Option<PathBuf>,
    course_root: PathBuf,
}

/// The prepared dependencies.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    /// The vendored sources (a cargo directory source).
    pub vendor: PathBuf,
    /// The frozen target directory holding the compiled dependencies.
    pub target: Option<PathBuf>,
    /// `name version` of each vendored crate.
    pub packages: Vec<String>,
}

impl RustDeps {
    /// The dependencies of a course: those of every lab skeleton and Rust solution that
    /// is a cargo package.
    pub fn for_course(course: &Course) -> RustDeps {
        let mut seeds: Vec<PathBuf> = course
            .labs
            .iter()
            .flat_map(|l| std::iter::once(&l.dir).chain(&l.solutions))
            .map(|d| course.path(d))
            .filter(|d| d.join("Cargo.toml").is_file())
            .collect();
        seeds.sort();
        seeds.dedup();
        RustDeps {
            root: course.root.join("target").join("grader-deps"),
            seeds,
            lockfile: course.root.join("Cargo.lock"),
            shared: true,
            support: course.support.as_deref().map(|s| course.path(s)),
            course_root: course.root.clone(),
        }
    }

    /// The same dependencies, compiled by each build for itself.
    pub fn unshared(&self) -> RustDeps {
        RustDeps {
            shared: false,
            ..self.clone()
        }
    }

    /// The course's directory.
    pub(super) fn course_root(&self) -> &Path {
        &self.course_root
    }

    /// The frozen target directory of the current key, if prepared (for checks that it
    /// never changes).
    pub fn shared_target(&self, host: &BuildHost) -> Result<PathBuf, BuildError> {
        let tc = Toolchain::discover(&self.course_root)?;
        Ok(self.dir(host, &tc)?.join("target"))
    }

    fn key(&self, host: &BuildHost, tc: &Toolchain) -> Result<String, BuildError> {
        let mut text = format!(
            "{LAYOUT}\njailed {}\n{}\n{}\n{GUEST_TARGET}\n{}\n",
            host.confinement.is_jailed(),
            tc.sysroot.display(),
            tc.version(),
            rust::RUSTFLAGS
        );
        // Contents only, not paths: a copy of the course shares the cache.
        for (i, f) in std::iter::once(self.lockfile.clone())
            .chain(self.seeds.iter().map(|s| s.join("Cargo.toml")))
            .chain(self.support.iter().map(|s| s.join("Cargo.toml")))
            .enumerate()
        {
            let bytes =
                fs::read(&f).map_err(|e| self.err(format!("reading {}: {e}", f.display())))?;
            text.push_str(&format!("{i} {}\n", sha256_hex(&bytes)));
        }
        Ok(sha256_hex(text.as_bytes())[..16].to_string())
    }

    fn dir(&self, host: &BuildHost, tc: &Toolchain) -> Result<PathBuf, BuildError> {
        Ok(self.root.join(self.key(host, tc)?))
    }

    fn err(&self, message: String) -> BuildError {
        BuildError::Deps {
            dir: self.root.clone(),
            message,
        }
    }

    /// Vendors and (when shared) compiles the dependencies, once per key: under a lock,
    /// reused as long as the toolchain, the lockfile and the seeds' manifests are the same.
    pub(super) fn prepare(&self, host: &BuildHost, tc: &Toolchain) -> Result<Prepared, BuildError> {
        let dir = self.dir(host, tc)?;
        fs::create_dir_all(&self.root).map_err(|e| self.err(e.to_string()))?;
        let _lock =
            DirLock::acquire(&dir.with_extension("lock")).map_err(|e| self.err(e.to_string()))?;
        if !dir.join("ready").is_file() {
            force_remove(&dir).map_err(|e| self.err(e.to_string()))?;
            self.vendor(&dir, tc)?;
            self.compile(&dir, host, tc)?;
            fs::write(dir.join("ready"), "").map_err(|e| self.err(e.to_string()))?;
        }
        let packages = fs::read_to_string(dir.join("packages.txt")).unwrap_or_default();
        Ok(Prepared {
            vendor: dir.join("vendor"),
            target: self.shared.then(|| dir.join("target")),
            packages: packages.lines().map(str::to_string).collect(),
        })
    }

    /// A workspace of copies of the seeds with the course's lockfile, and `cargo vendor`
    /// from the local registry cache (from crates.io if that fails), as the grader.
    fn vendor(&self, dir: &Path, tc: &Toolchain) -> Result<(), BuildError> {
        let ws = dir.join("ws");
        let mut members = Vec::new();
        for (i, seed) in self.seeds.iter().enumerate() {
            let m = format!("m{i}");
            super::copy_tree(seed, &ws.join(&m), &["Cargo.lock"])
                .map_err(|e| self.err(e.to_string()))?;
            members.push(format!("\"{m}\""));
        }
        if let Some(support) = &self.support {
            // `../support` of every member, as in the course and in every build.
            super::copy_tree(support, &ws.join("support"), &["Cargo.lock", "target"])
                .map_err(|e| self.err(e.to_string()))?;
        }
        let manifest = format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        );
        fs::write(ws.join("Cargo.toml"), manifest).map_err(|e| self.err(e.to_string()))?;
        if self.lockfile.is_file() {
            fs::copy(&self.lockfile, ws.join("Cargo.lock")).map_err(|e| self.err(e.to_string()))?;
        }
        let mut last = String::new();
        for offline in [true, false] {
            let mut cmd = Command::new(tc.sysroot.join("bin/cargo"));
            cmd.arg("vendor")
                .args(offline.then_some("--offline"))
                .arg("--manifest-path");
            cmd.arg(ws.join("Cargo.toml")).arg(dir.join("vendor"));
            cmd.env("RUSTC", tc.sysroot.join("bin/rustc"))
                .env_remove("RUSTUP_TOOLCHAIN");
            let out = cmd
                .output()
                .map_err(|e| self.err(format!("cargo vendor: {e}")))?;
            if out.status.success() {
                return self.list_packages(dir);
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        Err(self.err(format!("cargo vendor failed: {last}")))
    }

    fn list_packages(&self, dir: &Path) -> Result<(), BuildError> {
        let mut packages = Vec::new();
        for entry in fs::read_dir(dir.join("vendor"))
            .map_err(|e| self.err(e.to_string()))?
            .flatten()
        {
            let text = fs::read_to_string(entry.path().join("Cargo.toml")).unwrap_or_default();
            let value: toml::Value = toml::from_str(&text).unwrap_or(toml::Value::Boolean(false));
            let field = |k: &str| {
                value
                    .get("package")
                    .and_then(|p| p.get(k))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            if let (Some(name), Some(version)) = (field("name"), field("version")) {
                packages.push(format!("{name} {version}"));
            }
        }
        packages.sort();
        fs::write(dir.join("packages.txt"), packages.join("\n"))
            .map_err(|e| self.err(e.to_string()))
    }

    /// Compiles every vendored crate once, in the jail, exactly as a build would, then
    /// freezes the result.
    fn compile(&self, dir: &Path, host: &BuildHost, tc: &Toolchain) -> Result<(), BuildError> {
        let packages = fs::read_to_string(dir.join("packages.txt")).unwrap_or_default();
        if packages.trim().is_empty() {
            // No dependency at all: an empty target directory is the whole cache.
            return fs::create_dir_all(dir.join("target")).map_err(|e| self.err(e.to_string()));
        }
        let area = dir.join("build");
        let owner = host.confinement.owner();
        let limits = super::files::CopyLimits {
            file_bytes: u64::MAX,
            total_bytes: u64::MAX,
        };
        super::files::prepare_jail_dir(&dir.join("ws"), &area, &[], owner, limits)
            .map_err(|e| self.err(e.to_string()))?;
        let cmd = self.cache_command(dir, &area, &packages, host, tc)?;
        let out = host.confinement.run(&cmd)?;
        if !out.success() {
            return Err(self.err(format!(
                "compiling them failed ({:?}): {}",
                out.ended,
                String::from_utf8_lossy(&out.stdout)
            )));
        }
        fs::rename(area.join("target"), dir.join("target")).map_err(|e| self.err(e.to_string()))?;
        force_remove(&area).map_err(|e| self.err(e.to_string()))?;
        if owner.is_some() {
            freeze(&dir.join("target"))
                .map_err(|e| self.err(format!("freezing the cache: {e}")))?;
        }
        Ok(())
    }

    /// `cargo build -p NAME@VERSION…` of the vendored crates in `area`, at the paths and
    /// with the environment of every build.
    fn cache_command(
        &self,
        dir: &Path,
        area: &Path,
        packages: &str,
        host: &BuildHost,
        tc: &Toolchain,
    ) -> Result<JailCommand, BuildError> {
        let c = &host.confinement;
        let view = |rel: &str| c.view(&area.join(rel), &format!("{JAIL_BUILD_DIR}/{rel}"));
        let vendor = c.view(&dir.join("vendor"), JAIL_VENDOR);
        fs::write(
            area.join("cargo-home/config.toml"),
            rust::cargo_config(&vendor),
        )
        .map_err(|e| self.err(e.to_string()))?;
        let base = vec![
            ("PATH".to_string(), "/usr/bin:/bin".to_string()),
            ("HOME".into(), "/home/student".into()),
            ("TMPDIR".into(), view("tmp").display().to_string()),
            ("LC_ALL".into(), "C.UTF-8".into()),
        ];
        let mut args: Vec<std::ffi::OsString> = [
            "build",
            "--release",
            "--offline",
            "--color",
            "never",
            "--target",
            GUEST_TARGET,
        ]
        .iter()
        .map(Into::into)
        .collect();
        args.extend(["--manifest-path".into(), view("src/Cargo.toml").into()]);
        args.extend(["--target-dir".into(), view("target").into()]);
        for p in packages.lines().filter_map(|l| l.split_once(' ')) {
            args.extend(["-p".into(), format!("{}@{}", p.0, p.1).into()]);
        }
        let mut mounts = vec![
            Mount::rw(area, JAIL_BUILD_DIR),
            Mount::ro(dir.join("vendor"), JAIL_VENDOR),
        ];
        mounts.extend(tc.mounts());
        Ok(JailCommand {
            program: tc.bin(c, "cargo"),
            args,
            mounts,
            dirs: Vec::new(),
            cwd: view("src"),
            env: rust::cargo_env(base, tc, c, &view("cargo-home")),
            limits: host.limits(),
            deadline: host
                .settings
                .deadline
                .0
                .max(std::time::Duration::from_secs(600)),
            quota: None,
            output_cap: 256 << 10,
            merge_output: true,
            nested_userns: false,
            tmp_bytes: None,
        })
    }
}

/// Makes a tree root's and read-only (links untouched; execute bits kept).
fn freeze(dir: &Path) -> io::Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    let mut dirs = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            lchown(&path, Some(0), Some(0))?;
            let meta = fs::symlink_metadata(&path)?;
            if meta.is_dir() {
                stack.push(path.clone());
                dirs.push(path);
            } else if meta.is_file() {
                fs::set_permissions(&path, fs::Permissions::from_mode(meta.mode() & 0o555))?;
            }
        }
    }
    lchown(dir, Some(0), Some(0))?;
    dirs.push(dir.to_path_buf());
    for d in dirs {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o555))?;
    }
    Ok(())
}

/// Gives a build its own target directory `dest` holding the shared dependency
/// artefacts: directories of its own (owned by `owner`), files hard-linked when the build
/// runs as another uid than the cache's owner (it cannot modify them), copied with their
/// times otherwise. cargo's lock files are left out.
pub(super) fn farm(shared: &Path, dest: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    let mut stack = vec![(shared.to_path_buf(), dest.to_path_buf())];
    while let Some((from, to)) = stack.pop() {
        fs::create_dir_all(&to)?;
        if let Some((uid, gid)) = owner {
            lchown(&to, Some(uid), Some(gid))?;
        }
        for entry in fs::read_dir(&from)? {
            let entry = entry?;
            let name = entry.file_name();
            let (src, dst) = (entry.path(), to.join(&name));
            let ty = entry.file_type()?;
            if ty.is_dir() {
                stack.push((src, dst));
            } else if ty.is_file() && name != ".cargo-lock" {
                link_or_copy(
                    &src,
                    &dst,
                    owner.is_some() && name != ".rustc_info.json",
                    owner,
                )?;
            }
        }
    }
    Ok(())
}

fn link_or_copy(src: &Path, dst: &Path, link: bool, owner: Option<(u32, u32)>) -> io::Result<()> {
    if link {
        return fs::hard_link(src, dst);
    }
    fs::copy(src, dst)?;
    let meta = fs::metadata(src)?;
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() | 0o200))?;
    fs::File::options()
        .write(true)
        .open(dst)?
        .set_modified(meta.modified()?)?;
    if let Some((uid, gid)) = owner {
        lchown(dst, Some(uid), Some(gid))?;
    }
    Ok(())
}
