//! Rust submissions: `cargo build --release --offline` in the jail, with the toolchain's
//! own `cargo`/`rustc` (never the rustup proxy, so a `rust-toolchain.toml` in the
//! submission changes nothing), the course's vendored dependencies as the only registry,
//! and a target directory of the build's own whose dependency artefacts are the shared,
//! read-only ones compiled once.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Build, BuildError, GUEST_TARGET};
use crate::sandbox::jail::{Confinement, Mount};

/// Where the toolchain is in the jail.
pub(super) const JAIL_TOOLCHAIN: &str = "/opt/rust";
/// Where the vendored dependencies are in the jail.
pub(super) const JAIL_VENDOR: &str = "/deps/vendor";
/// Flags of every Rust build: static glibc for the guest, and not position-independent:
/// a static-pie binary relocates itself at every start, touching pages that an emulated
/// guest pays dearly for (a lab1 run went from ~15 ms to ~4 ms in the TCG guest).
pub(super) const RUSTFLAGS: &str = "-C target-feature=+crt-static -C relocation-model=static";

/// The Rust toolchain the course is built with: a sysroot holding `bin/cargo`,
/// `bin/rustc` and the standard library.
#[derive(Debug, Clone)]
pub(super) struct Toolchain {
    /// The sysroot.
    pub sysroot: PathBuf,
}

impl Toolchain {
    /// The toolchain of the `cargo` that started the grader (`$CARGO`), or the one
    /// `rustc --print sysroot` names in the course's directory.
    pub fn discover(course_root: &Path) -> Result<Toolchain, BuildError> {
        if let Some(cargo) = std::env::var_os("CARGO") {
            let sysroot = Path::new(&cargo).parent().and_then(Path::parent);
            if let Some(s) = sysroot.filter(|s| s.join("bin/rustc").is_file()) {
                return Ok(Toolchain {
                    sysroot: s.to_owned(),
                });
            }
        }
        let out = Command::new("rustc")
            .args(["--print", "sysroot"])
            .current_dir(course_root)
            .output()
            .map_err(|e| BuildError::Toolchain(format!("rustc --print sysroot: {e}")))?;
        let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if !out.status.success() || !sysroot.join("bin/cargo").is_file() {
            return Err(BuildError::Toolchain(format!(
                "`rustc --print sysroot` gave {} without bin/cargo: {}",
                sysroot.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(Toolchain { sysroot })
    }

    fn in_usr(&self) -> bool {
        self.sysroot.starts_with("/usr")
    }

    /// The read-only mount of the toolchain (none when it lives in `/usr`).
    pub fn mounts(&self) -> Vec<Mount> {
        if self.in_usr() {
            Vec::new()
        } else {
            vec![Mount::ro(&self.sysroot, JAIL_TOOLCHAIN)]
        }
    }

    /// `bin/<tool>` as the build's commands see it.
    pub fn bin(&self, confinement: &Confinement, tool: &str) -> PathBuf {
        if self.in_usr() || !confinement.is_jailed() {
            self.sysroot.join("bin").join(tool)
        } else {
            Path::new(JAIL_TOOLCHAIN).join("bin").join(tool)
        }
    }

    /// `rustc -vV` (part of the dependency cache's key).
    pub fn version(&self) -> String {
        Command::new(self.sysroot.join("bin/rustc"))
            .arg("-vV")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

/// Where program `p` is once built, relative to the jail's build directory.
pub(super) fn output_path(p: &str) -> PathBuf {
    Path::new("target")
        .join(GUEST_TARGET)
        .join("release")
        .join(p)
}

/// cargo's configuration for a build: the vendored directory replaces crates.io, and
/// nothing is fetched.
pub(super) fn cargo_config(vendor: &Path) -> String {
    format!(
        "[source.crates-io]\nreplace-with = \"course\"\n\n[source.course]\ndirectory = \"{}\"\n\n[net]\noffline = true\n",
        vendor.display()
    )
}

/// The environment of a cargo run (a build's or the dependency cache's).
pub(super) fn cargo_env(
    b_env: Vec<(String, String)>,
    tc: &Toolchain,
    c: &Confinement,
    cargo_home: &Path,
) -> Vec<(String, String)> {
    let bin = tc.bin(c, "cargo");
    let bin_dir = bin.parent().unwrap_or(Path::new("/")).display().to_string();
    let mut env: Vec<(String, String)> = b_env
        .into_iter()
        .map(|(k, v)| {
            if k == "PATH" {
                (k, format!("{bin_dir}:{v}"))
            } else {
                (k, v)
            }
        })
        .collect();
    env.extend([
        ("CARGO_HOME".into(), cargo_home.display().to_string()),
        ("RUSTC".into(), tc.bin(c, "rustc").display().to_string()),
        ("RUSTFLAGS".into(), RUSTFLAGS.into()),
        ("CARGO_TERM_COLOR".into(), "never".into()),
    ]);
    env
}

/// The copy builds on its own, wherever it is: a manifest without a `[workspace]` table
/// would otherwise be claimed by an enclosing workspace.
fn standalone_manifest(src: &Path) -> std::io::Result<()> {
    let path = src.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)?;
    let has_table = text.lines().any(|l| l.trim() == "[workspace]");
    if !has_table {
        std::fs::write(&path, format!("{text}\n[workspace]\n"))?;
    }
    Ok(())
}

/// Builds the crate's binaries; `Ok(true)` when cargo succeeded.
pub(super) fn build(b: &mut Build<'_>) -> Result<bool, BuildError> {
    let host = b.req.host;
    let src = b.jail_dir.join("src");
    standalone_manifest(&src).map_err(super::workdir_err(&src))?;
    if b.req.submission.join("Cargo.lock").is_file() {
        b.log.push_str("grader: the submission's Cargo.lock is not used: builds use the course's dependency versions\n");
    }
    let course_root = host.deps.course_root();
    let tc = Toolchain::discover(course_root)?;
    let deps = host.deps.prepare(host, &tc)?;
    let owner = host.confinement.owner();
    if let Some(shared) = &deps.target {
        super::deps::farm(shared, &b.jail_dir.join("target"), owner)
            .map_err(super::workdir_err(&b.jail_dir))?;
    }
    let vendor = host.confinement.view(&deps.vendor, JAIL_VENDOR);
    let cargo_home = b.jail_dir.join("cargo-home");
    std::fs::write(cargo_home.join("config.toml"), cargo_config(&vendor))
        .map_err(super::workdir_err(&cargo_home))?;
    let env = cargo_env(
        b.base_env("/usr/bin:/bin"),
        &tc,
        &host.confinement,
        &b.view("cargo-home"),
    );
    let mut args: Vec<OsString> = [
        "build",
        "--release",
        "--bins",
        "--offline",
        "--color",
        "never",
        "--message-format",
        "short",
        "--target",
        GUEST_TARGET,
        "--manifest-path",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(b.view("src/Cargo.toml").into());
    args.push("--target-dir".into());
    args.push(b.view("target").into());
    b.log.push_str("$ cargo build --release --bins --offline\n");
    let mut mounts = tc.mounts();
    mounts.push(Mount::ro(&deps.vendor, JAIL_VENDOR));
    b.context_packages = deps.packages.clone();
    b.step(tc.bin(&host.confinement, "cargo"), args, "src", env, mounts)
}
