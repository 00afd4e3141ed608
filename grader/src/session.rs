//! Where and how a grading runs: the backend chosen on the command line, the sandbox
//! made for it (the guest image built or taken from the cache first), and the scratch
//! directories of a run. Commands (CLI, check, bench, bulk, Slurm) ask here; nothing
//! here knows about them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::build::BuildHost;
use crate::course::Course;
use crate::report::Backend;
use crate::sandbox::guest::GuestSandbox;
use crate::sandbox::local::LocalSandbox;
use crate::sandbox::{Sandbox, SandboxError};

/// Which sandbox to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// The QEMU guest.
    Qemu,
    /// This host.
    Local,
}

/// A fresh scratch directory under `target/grader-runs`.
pub fn scratch_dir(course: &Course, label: &str) -> Result<PathBuf> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let dir = course.root.join("target").join("grader-runs").join(format!(
        "{label}-{}-{}",
        std::process::id(),
        t.as_nanos()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    Ok(dir)
}

/// The build jail (and the local backend's), or — when it cannot be made here and the
/// teacher passed `--unsafe-host-build` — this host; otherwise a usage error saying why
/// and what fixes it.
pub fn build_host(course: &Course, allow_unsafe: bool) -> Result<BuildHost> {
    BuildHost::probe(course, allow_unsafe).map_err(|e| {
        anyhow::anyhow!(
            "refusing to build untrusted code: {e}\n  fix: {}\n  (`cargo grader doctor` checks the jail; to build and run submissions on this host WITHOUT the jail anyway, pass --unsafe-host-build)",
            e.fix()
        )
    })
}

/// Makes the sandbox for a backend (building the guest image if needed); the local
/// backend runs in the jail of `build`.
pub fn make_sandbox(
    course: &Course,
    backend: BackendChoice,
    work: &Path,
    quiet: bool,
    build: &BuildHost,
) -> Result<Box<dyn Sandbox>> {
    match backend {
        BackendChoice::Local => Ok(Box::new(LocalSandbox::from_current_exe(
            work,
            build.confinement.clone(),
        )?)),
        BackendChoice::Qemu => Ok(Box::new(guest_sandbox(course, quiet)?)),
    }
}

/// The guest sandbox, with its image built or taken from the cache.
pub fn guest_sandbox(course: &Course, quiet: bool) -> Result<GuestSandbox> {
    crate::sandbox::qemu::qemu_available()
        .context("QEMU is needed for the guest backend (or use --backend local)")?;
    let mut sink: Box<dyn Write> = if quiet {
        Box::new(std::io::sink())
    } else {
        Box::new(std::io::stderr())
    };
    let agent = crate::image::build_agent(&course.root, &mut *sink)
        .context("failed to build the in-guest agent")?;
    let image = crate::image::ensure(&course.root, &agent, &mut *sink)
        .context("failed to build the guest image")?;
    let accel = GuestSandbox::accel_for(&course.guest.accel, &image);
    Ok(GuestSandbox {
        image,
        memory_mb: course.guest.memory_mb,
        timeout_scale: course.guest.timeout_scale,
        boot_deadline: course.guest.boot_deadline.0,
        accel,
    })
}

/// Makes one sandbox per worker of a bulk run: the guest image is prepared once and
/// shared (each job still boots its own guest); the local backend needs a private bin
/// directory. Every worker builds in the jail the factory found.
#[derive(Debug, Clone)]
pub struct SandboxFactory {
    kind: FactoryKind,
    /// Where builds (and local runs) happen.
    pub build: BuildHost,
}

#[derive(Debug, Clone)]
enum FactoryKind {
    /// QEMU guests from this image.
    Guest(GuestSandbox),
    /// The agent on this host, jailed.
    Local,
}

impl SandboxFactory {
    /// Prepares the backend (building the guest image if needed) and the build jail
    /// (refused when it cannot be made, unless `allow_unsafe`).
    pub fn new(
        course: &Course,
        backend: BackendChoice,
        quiet: bool,
        allow_unsafe: bool,
    ) -> Result<SandboxFactory> {
        let build = build_host(course, allow_unsafe)?;
        let kind = match backend {
            BackendChoice::Qemu => FactoryKind::Guest(guest_sandbox(course, quiet)?),
            BackendChoice::Local => FactoryKind::Local,
        };
        Ok(SandboxFactory { kind, build })
    }

    /// The backend's name in `bulk.json`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            FactoryKind::Guest(_) => "qemu",
            FactoryKind::Local => "local",
        }
    }

    /// The backend reports will name.
    pub fn backend(&self) -> Backend {
        match self.kind {
            FactoryKind::Guest(_) => Backend::Qemu,
            FactoryKind::Local => Backend::Local,
        }
    }

    /// A sandbox for a worker whose scratch directory is `work`.
    pub fn make(&self, work: &Path) -> Result<Box<dyn Sandbox>, SandboxError> {
        Ok(match &self.kind {
            FactoryKind::Guest(g) => Box::new(g.clone()),
            FactoryKind::Local => Box::new(LocalSandbox::from_current_exe(
                work,
                self.build.confinement.clone(),
            )?),
        })
    }
}
