//! Where and how a grading runs: the backend chosen on the command line, the sandbox
//! made for it (the guest image built or taken from the cache first), and the scratch
//! directories of a run. Commands (CLI, check, bench, bulk, Slurm) ask here; nothing
//! here knows about them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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

/// Makes the sandbox for a backend (building the guest image if needed).
pub fn make_sandbox(
    course: &Course,
    backend: BackendChoice,
    work: &Path,
    quiet: bool,
) -> Result<Box<dyn Sandbox>> {
    match backend {
        BackendChoice::Local => Ok(Box::new(LocalSandbox::from_current_exe(work)?)),
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
/// directory.
#[derive(Debug, Clone)]
pub enum SandboxFactory {
    /// QEMU guests from this image.
    Guest(GuestSandbox),
    /// The agent on this host.
    Local,
}

impl SandboxFactory {
    /// Prepares the backend (building the guest image if needed).
    pub fn new(course: &Course, backend: BackendChoice, quiet: bool) -> Result<SandboxFactory> {
        Ok(match backend {
            BackendChoice::Qemu => SandboxFactory::Guest(guest_sandbox(course, quiet)?),
            BackendChoice::Local => SandboxFactory::Local,
        })
    }

    /// The backend's name in `bulk.json`.
    pub fn name(&self) -> &'static str {
        match self {
            SandboxFactory::Guest(_) => "qemu",
            SandboxFactory::Local => "local",
        }
    }

    /// The backend reports will name.
    pub fn backend(&self) -> Backend {
        match self {
            SandboxFactory::Guest(_) => Backend::Qemu,
            SandboxFactory::Local => Backend::Local,
        }
    }

    /// A sandbox for a worker whose scratch directory is `work`.
    pub fn make(&self, work: &Path) -> Result<Box<dyn Sandbox>, SandboxError> {
        Ok(match self {
            SandboxFactory::Guest(g) => Box::new(g.clone()),
            SandboxFactory::Local => Box::new(LocalSandbox::from_current_exe(work)?),
        })
    }
}
