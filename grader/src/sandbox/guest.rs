//! The `qemu` backend: the job and the programs go into a small cpio appended to the base
//! initramfs, the guest's agent runs the scenarios, events come back over the virtio
//! serial port. A guest that fails is an infrastructure fault, never the student's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::qemu::{self, Accel, GuestFile, QemuOptions};
use super::{Sandbox, SandboxError, SandboxRun};
use crate::image::Image;
use crate::protocol::{Job, GUEST_BIN_DIR, GUEST_JOB_PATH};
use crate::report::Backend;

/// Boots tried before a guest that never starts its agent is declared not gradable.
const BOOT_ATTEMPTS: u32 = 2;

/// uid/gid of the `student` user in the guest image.
pub const GUEST_STUDENT: (u32, u32) = (1000, 1000);

/// Runs jobs in a QEMU guest booted from an image.
#[derive(Debug, Clone)]
pub struct GuestSandbox {
    /// The image to boot.
    pub image: Image,
    /// Guest RAM.
    pub memory_mb: u32,
    /// Deadline multiplier (TCG is slower than native).
    pub timeout_scale: f64,
    /// Boot and shutdown allowance on top of the scenarios' deadlines.
    pub boot_deadline: Duration,
    /// Accelerator.
    pub accel: Accel,
}

impl GuestSandbox {
    /// Chooses the accelerator for a course setting (`auto`, `tcg`, `kvm`): `auto` uses
    /// KVM only when a probe boot proves it works.
    pub fn accel_for(setting: &str, image: &Image) -> Accel {
        match setting {
            "kvm" => Accel::Kvm,
            "auto" if qemu::probe_kvm(image) => Accel::Kvm,
            _ => Accel::Tcg,
        }
    }
}

impl Sandbox for GuestSandbox {
    fn backend(&self) -> Backend {
        Backend::Qemu
    }

    fn bin_dir(&self) -> PathBuf {
        PathBuf::from(GUEST_BIN_DIR)
    }

    fn timeout_scale(&self) -> f64 {
        self.timeout_scale
    }

    fn run_as(&self) -> Option<(u32, u32)> {
        Some(GUEST_STUDENT)
    }

    fn phase_name(&self) -> &'static str {
        "booting the guest and running the scenarios"
    }

    fn guest_image(&self) -> Option<&Image> {
        Some(&self.image)
    }

    fn run(
        &self,
        job: &Job,
        programs: &[(String, PathBuf)],
        _work: &Path,
    ) -> Result<SandboxRun, SandboxError> {
        let mut files = vec![GuestFile {
            path: GUEST_JOB_PATH.into(),
            data: serde_json::to_vec(job).map_err(|e| SandboxError::Start(e.to_string()))?,
            mode: 0o644,
        }];
        for (name, path) in programs {
            let data = std::fs::read(path).map_err(|source| SandboxError::Prepare {
                path: path.clone(),
                source,
            })?;
            files.push(GuestFile {
                path: format!("{GUEST_BIN_DIR}/{name}"),
                data,
                mode: 0o755,
            });
        }
        let deadline = job.whole_run_deadline(self.boot_deadline);
        let opts = QemuOptions {
            memory_mb: self.memory_mb,
            deadline,
            accel: self.accel,
        };
        // A guest whose agent never said hello failed before running any student code
        // (e.g. a kernel panic at boot on an overloaded host): boot it once more.
        let mut attempts = 0;
        let (run, events, log) = loop {
            attempts += 1;
            let run = qemu::run_guest(&self.image, &files, &opts)
                .map_err(|e| SandboxError::Guest(crate::errors::error_chain(&e)))?;
            let events = crate::protocol::parse_events(&run.results);
            let mut log = run.console.clone();
            if !run.qemu_stderr.trim().is_empty() {
                log.push_str("\nqemu: ");
                log.push_str(&run.qemu_stderr);
            }
            let started = events
                .iter()
                .any(|e| matches!(e, crate::protocol::AgentEvent::Hello { .. }));
            if started || attempts == BOOT_ATTEMPTS {
                break (run, events, log);
            }
        };
        if run.timed_out
            && !events
                .iter()
                .any(|e| matches!(e, crate::protocol::AgentEvent::Done))
        {
            let tail = SandboxRun {
                log: log.clone(),
                ..Default::default()
            }
            .log_tail();
            return Err(SandboxError::Deadline {
                secs: deadline.as_secs(),
                tail,
            });
        }
        Ok(SandboxRun {
            events,
            guest_ms: Some(run.duration.as_millis() as u64),
            log,
        })
    }
}
