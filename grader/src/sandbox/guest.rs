//! The `qemu` backend: every grading gets a fresh QEMU guest, restored from the snapshot
//! of the image taken while its agent waited for a job (see [`super::snapshot`]), or
//! booted cold when there is no usable snapshot (with a notice saying why, and the
//! snapshot made again meanwhile). The job frame goes down the agent's virtio serial
//! port, events come back on it. A guest that fails is an infrastructure fault, never
//! the student's.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use super::qemu::{self, Accel, Boot, GuestRun, QemuOptions};
use super::snapshot::{Lookup, Snapshot, SnapshotStore};
use super::{Sandbox, SandboxError, SandboxRun};
use crate::image::Image;
use crate::protocol::{AgentEvent, FrameFile, Job, GUEST_BIN_DIR};
use crate::report::{Backend, GuestPhases, GuestStart};

/// Boots tried before a guest that never starts its agent is declared not gradable.
const BOOT_ATTEMPTS: u32 = 2;
/// A restored agent has its job within a second; past this the snapshot is deemed broken.
const RESTORE_HELLO_WITHIN: Duration = Duration::from_secs(20);

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
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Scenarios run at once.
    pub parallel: u32,
    /// Where the snapshots are; `None`: every run boots cold (`--cold-boot`, or
    /// `[guest] snapshot = false`).
    pub snapshots: Option<SnapshotStore>,
    /// Said in every report when guests boot cold because no snapshot could be made.
    pub cold_notice: Option<String>,
    /// A guest restored ahead of its job ([`Sandbox::prestart`]), used by the next run.
    pub ready: ReadySlot,
}

/// The guest restored ahead of its job; a copy of the sandbox starts with none of its own.
#[derive(Debug, Default)]
pub struct ReadySlot(Mutex<Option<Prestarted>>);

impl Clone for ReadySlot {
    fn clone(&self) -> Self {
        ReadySlot::default()
    }
}

/// A guest restored from the snapshot, its agent waiting for the job the sender brings.
#[derive(Debug)]
pub struct Prestarted {
    guest: qemu::LiveGuest,
    frame: mpsc::Sender<Vec<u8>>,
}

impl Prestarted {
    /// Sends `frame` and waits for the run, as a restore does; `None` when the agent never
    /// answered (the caller then starts a guest the usual way).
    fn run(self, frame: Vec<u8>, whole_run: Duration) -> Option<GuestRun> {
        self.frame.send(frame).ok()?;
        let now = Instant::now();
        // Its restore was hidden by the build: its times count from the job.
        let waited = now - self.guest.spawned;
        let mut run = self
            .guest
            .finish(now + whole_run, Some(now + RESTORE_HELLO_WITHIN))
            .ok()?;
        run.marks = run.marks.since(waited);
        run.duration = run.duration.saturating_sub(waited);
        run.marks.hello.is_some().then_some(run)
    }
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

    /// QEMU settings for a run with this deadline.
    pub fn qemu_options(&self, deadline: Duration) -> QemuOptions {
        QemuOptions {
            memory_mb: self.memory_mb,
            deadline,
            accel: self.accel,
            vcpus: self.vcpus,
        }
    }

    /// The snapshot store for this image and machine under `root` (the deadline bounds a
    /// snapshot build's boot).
    pub fn snapshot_store(&self, root: &Path) -> Result<SnapshotStore, qemu::QemuError> {
        SnapshotStore::new(root, &self.image, &self.qemu_options(self.boot_deadline))
    }

    /// One run: restored when a good snapshot is there, else cold with a notice.
    fn start_and_run(&self, frame: Vec<u8>, opts: &QemuOptions) -> Result<Started, SandboxError> {
        let Some(store) = &self.snapshots else {
            let run = cold_boot(&self.image, frame, opts)?;
            return Ok(match &self.cold_notice {
                Some(notice) => Started::fallback(run, notice.clone()),
                None => Started::cold(run),
            });
        };
        let why = match store.lookup() {
            Lookup::Ready(snapshot) => match snapshot.verify() {
                Ok(()) => match restore(&self.image, &snapshot, frame.clone(), opts) {
                    Ok(run) => return Ok(Started::restored(run)),
                    Err(why) => format!("restoring the snapshot failed ({why})"),
                },
                Err(why) => format!("the snapshot is unusable ({why})"),
            },
            Lookup::Missing => "there is no snapshot of the guest yet".into(),
            Lookup::Stale(why) => format!("the snapshot is stale ({why})"),
        };
        // Made again meanwhile, on the other core, for the gradings that follow.
        let rebuild = std::thread::spawn({
            let store = store.clone();
            move || store.rebuild()
        });
        let run = cold_boot(&self.image, frame, opts);
        let rebuilt = match rebuild.join() {
            Ok(Ok(Some(_))) => "it was made again",
            Ok(Ok(None)) => "another grader is making it again",
            Ok(Err(e)) => {
                return run.map(|run| {
                    let why = crate::errors::error_chain(&e);
                    Started::fallback(
                        run,
                        format!("the guest was booted cold: {why}; making it again failed too"),
                    )
                })
            }
            Err(_) => "making it again crashed",
        };
        Ok(Started::fallback(
            run?,
            format!("the guest was booted cold: {why}; {rebuilt}"),
        ))
    }
}

/// A finished run and how its guest started.
struct Started {
    run: GuestRun,
    start: GuestStart,
    notice: Option<String>,
}

impl Started {
    fn cold(run: GuestRun) -> Started {
        Started {
            run,
            start: GuestStart::Cold,
            notice: None,
        }
    }

    fn restored(run: GuestRun) -> Started {
        Started {
            run,
            start: GuestStart::Restored,
            notice: None,
        }
    }

    fn fallback(run: GuestRun, notice: String) -> Started {
        Started {
            run,
            start: GuestStart::Cold,
            notice: Some(notice),
        }
    }
}

/// Boots cold, once more when the agent never said hello (e.g. a kernel panic at boot
/// on an overloaded host): that failed before running any student code.
fn cold_boot(image: &Image, frame: Vec<u8>, opts: &QemuOptions) -> Result<GuestRun, SandboxError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let run = qemu::run_guest(image, Boot::Cold, Some(frame.clone()), opts, None)
            .map_err(|e| SandboxError::Guest(crate::errors::error_chain(&e)))?;
        if run.marks.hello.is_some() || attempts == BOOT_ATTEMPTS {
            return Ok(run);
        }
    }
}

/// Restores `snapshot`; `Err` says why the snapshot did not give a working guest.
fn restore(
    image: &Image,
    snapshot: &Snapshot,
    frame: Vec<u8>,
    opts: &QemuOptions,
) -> Result<GuestRun, String> {
    let (ram, state) = (snapshot.ram(), snapshot.state());
    let boot = Boot::Restore {
        ram: &ram,
        state: &state,
    };
    let run = qemu::run_guest(image, boot, Some(frame), opts, Some(RESTORE_HELLO_WITHIN))
        .map_err(|e| crate::errors::error_chain(&e))?;
    if run.marks.hello.is_some() {
        return Ok(run);
    }
    let said = run.qemu_stderr.trim();
    Err(if run.no_hello {
        format!(
            "its agent did not answer within {} s",
            RESTORE_HELLO_WITHIN.as_secs()
        )
    } else if said.is_empty() {
        "QEMU exited before the agent answered".into()
    } else {
        format!("QEMU said: {}", said.lines().last().unwrap_or(said))
    })
}

impl GuestSandbox {
    /// Restores the snapshot with `frame` (the bench's probe of the restore alone, an
    /// empty job): `Err` when there is no usable snapshot or the restore failed.
    pub fn restore_once(&self, frame: Vec<u8>) -> Result<GuestRun, String> {
        let store = self.snapshots.as_ref().ok_or("snapshots are off")?;
        let Lookup::Ready(snapshot) = store.lookup() else {
            return Err("there is no usable snapshot".into());
        };
        let opts = self.qemu_options(self.boot_deadline);
        restore(&self.image, &snapshot, frame, &opts)
    }
}

/// The run's phases: host marks, and for a cold boot the guest's own boot times.
fn phases(run: &GuestRun, events: &[AgentEvent], start: GuestStart) -> GuestPhases {
    let ms = |d: Duration| d.as_millis() as u64;
    let marks = run.marks;
    let hello = marks.hello.map_or(0, ms);
    let mut phases = GuestPhases {
        start_ms: hello,
        scenarios_ms: marks
            .done
            .zip(marks.hello)
            .map(|(d, h)| ms(d.saturating_sub(h))),
        poweroff_ms: marks.done.map(|d| ms(run.duration.saturating_sub(d))),
        ..Default::default()
    };
    let boot = events.iter().find_map(|e| match e {
        AgentEvent::Ready(times) => Some(times),
        _ => None,
    });
    if let (GuestStart::Cold, Some(ready), Some(boot)) = (start, marks.ready, boot) {
        phases.ready_ms = Some(ms(ready));
        phases.qemu_firmware_ms = Some(ms(ready).saturating_sub(boot.ready_ms));
        phases.kernel_ms = Some(boot.agent_start_ms);
        phases.mounts_ms = Some(boot.mounts_ms);
        phases.modules_ms = Some(boot.modules_ms);
        phases.ports_ms = Some(boot.ports_ms);
    }
    phases
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

    fn parallel(&self) -> u32 {
        self.parallel.max(1)
    }

    fn phase_name(&self) -> &'static str {
        "starting the guest and running the scenarios"
    }

    /// Restores a guest from a usable snapshot now, its job to come: the restore overlaps
    /// the build. Without a usable snapshot nothing happens (the run then says why).
    fn prestart(&self) {
        let Ok(mut ready) = self.ready.0.lock() else {
            return;
        };
        if ready.is_some() {
            return;
        }
        let Some(store) = &self.snapshots else { return };
        let Lookup::Ready(snapshot) = store.lookup() else {
            return;
        };
        if snapshot.verify().is_err() {
            return;
        }
        let (ram, state) = (snapshot.ram(), snapshot.state());
        let boot = Boot::Restore {
            ram: &ram,
            state: &state,
        };
        let opts = self.qemu_options(self.boot_deadline);
        if let Ok((guest, frame)) = qemu::LiveGuest::spawn_waiting(&self.image, boot, &opts) {
            *ready = Some(Prestarted { guest, frame });
        }
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
        let mut files = Vec::new();
        for (name, path) in programs {
            let data = std::fs::read(path).map_err(|source| SandboxError::Prepare {
                path: path.clone(),
                source,
            })?;
            files.push(FrameFile {
                path: format!("{GUEST_BIN_DIR}/{name}"),
                mode: 0o755,
                data,
            });
        }
        let frame = qemu::frame_for(job, files)
            .map_err(|e| SandboxError::Start(crate::errors::error_chain(&e)))?;
        let deadline = job.whole_run_deadline(self.boot_deadline);
        let ready = self.ready.0.lock().ok().and_then(|mut r| r.take());
        let started = match ready.and_then(|p| p.run(frame.clone(), deadline)) {
            Some(run) => Started::restored(run),
            None => self.start_and_run(frame, &self.qemu_options(deadline))?,
        };
        let run = &started.run;
        let events = crate::protocol::parse_events(&run.results);
        let mut log = run.console.clone();
        if !run.qemu_stderr.trim().is_empty() {
            log.push_str("\nqemu: ");
            log.push_str(&run.qemu_stderr);
        }
        if run.timed_out && !events.iter().any(|e| matches!(e, AgentEvent::Done)) {
            let tail = SandboxRun {
                log,
                ..Default::default()
            }
            .log_tail();
            return Err(SandboxError::Deadline {
                secs: deadline.as_secs(),
                tail,
            });
        }
        Ok(SandboxRun {
            guest_ms: Some(run.duration.as_millis() as u64),
            guest_start: Some(started.start),
            guest_phases: Some(phases(run, &events, started.start)),
            notices: started.notice.into_iter().collect(),
            events,
            log,
        })
    }
}
