//! Where and how a grading runs: the backend chosen on the command line, the build jail,
//! the sandbox made for it (the guest image and its snapshot built or taken from the cache
//! first), and the scratch directories of a run. Commands (CLI, check, bench, bulk, Slurm) ask here; nothing
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

/// How guests start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestStartOptions {
    /// Boot every guest cold (`--cold-boot`), whatever `[guest] snapshot` says.
    pub cold_boot: bool,
    /// Where the snapshots are kept (default: `snapshots/` in the image's directory);
    /// Slurm tasks keep theirs on their node.
    pub snapshot_dir: Option<PathBuf>,
}

/// Makes the sandbox for a backend (building the guest image and its snapshot if
/// needed); the local backend runs in the jail of `build`, guests start as `start` says.
pub fn make_sandbox(
    course: &Course,
    backend: BackendChoice,
    work: &Path,
    quiet: bool,
    build: &BuildHost,
    start: &GuestStartOptions,
) -> Result<Box<dyn Sandbox>> {
    match backend {
        BackendChoice::Local => Ok(Box::new(LocalSandbox::from_current_exe(
            work,
            build.confinement.clone(),
        )?)),
        BackendChoice::Qemu => Ok(Box::new(guest_sandbox(course, quiet, start)?)),
    }
}

/// A node-local directory for snapshots (Slurm tasks): the temporary directory.
pub fn node_snapshot_dir() -> PathBuf {
    std::env::temp_dir().join("aise-grader-snapshots")
}

/// The guest sandbox, with its image and snapshot built or taken from the cache; guests
/// start as `start` says. The snapshot is made here when it is missing or stale; when it
/// cannot be, guests boot cold and say why.
pub fn guest_sandbox(
    course: &Course,
    quiet: bool,
    start: &GuestStartOptions,
) -> Result<GuestSandbox> {
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
    let mut sandbox = GuestSandbox {
        image,
        memory_mb: course.guest.memory_mb,
        timeout_scale: course.guest.timeout_scale,
        boot_deadline: course.guest.boot_deadline.0,
        accel,
        vcpus: course.guest.vcpus,
        parallel: course.guest.parallel,
        snapshots: None,
        cold_notice: None,
        ready: Default::default(),
    };
    if course.guest.snapshot && !start.cold_boot {
        let root = start
            .snapshot_dir
            .clone()
            .unwrap_or_else(|| sandbox.image.dir().join("snapshots"));
        let store = sandbox
            .snapshot_store(&root)
            .context("failed to name the guest snapshot")?;
        match store.ensure(&mut *sink) {
            Ok(_) => sandbox.snapshots = Some(store),
            Err(e) => {
                let why = crate::errors::error_chain(&e);
                let _ = writeln!(sink, "snapshot: {why}; guests boot cold");
                sandbox.cold_notice = Some(format!(
                    "the guest was booted cold: its snapshot could not be made ({why})"
                ));
            }
        }
    }
    Ok(sandbox)
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
    /// QEMU guests from this image (and its snapshot).
    Guest(Box<GuestSandbox>),
    /// The agent on this host, jailed.
    Local,
}

impl SandboxFactory {
    /// Prepares the backend once for every worker (building the guest image and its
    /// snapshot if needed; guests start as `start` says) and the build jail (refused when
    /// it cannot be made, unless `allow_unsafe`).
    pub fn new(
        course: &Course,
        backend: BackendChoice,
        quiet: bool,
        allow_unsafe: bool,
        start: &GuestStartOptions,
    ) -> Result<SandboxFactory> {
        let build = build_host(course, allow_unsafe)?;
        let kind = match backend {
            BackendChoice::Qemu => {
                FactoryKind::Guest(Box::new(guest_sandbox(course, quiet, start)?))
            }
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
            FactoryKind::Guest(g) => Box::new(g.as_ref().clone()),
            FactoryKind::Local => Box::new(LocalSandbox::from_current_exe(
                work,
                self.build.confinement.clone(),
            )?),
        })
    }
}

/// One line on the snapshot of `image` for the course's machine (`image status`,
/// `doctor`): whether it is there, and its sizes; nothing is built.
pub fn snapshot_status(course: &Course, image: Option<&crate::image::Image>) -> String {
    if !course.guest.snapshot {
        return "snapshot: off ([guest] snapshot = false in course.toml)".into();
    }
    let Some(image) = image else {
        return "snapshot: none (the image is not built)".into();
    };
    // The accelerator the grader would use; a KVM probe is not worth running for a status.
    let accel = match course.guest.accel.as_str() {
        "kvm" => crate::sandbox::qemu::Accel::Kvm,
        _ => crate::sandbox::qemu::Accel::Tcg,
    };
    let opts = crate::sandbox::qemu::QemuOptions {
        memory_mb: course.guest.memory_mb,
        deadline: course.guest.boot_deadline.0,
        accel,
        vcpus: course.guest.vcpus,
    };
    let root = image.dir().join("snapshots");
    match crate::sandbox::snapshot::SnapshotStore::new(&root, image, &opts) {
        Ok(store) => crate::sandbox::snapshot::describe(&store),
        Err(e) => format!("snapshot: unknown ({})", crate::errors::error_chain(&e)),
    }
}
