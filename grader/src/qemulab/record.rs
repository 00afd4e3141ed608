//! What one lab 7 run did, as recorded by `observe.rs` and scored by `judge.rs`: the
//! scripts' runs, the monitor's answers, QMP's and the guest's views after each phase.

use std::time::Duration;

use super::cmdline::QemuCmdline;
use super::console::{Facts, Reply, Stop};
use super::net::NetError;
use super::procs::ScriptRun;
use crate::qmp::BlockInfo;

/// What `disk.sh` made.
#[derive(Debug, Clone, Default)]
pub struct DiskObs {
    /// The script's run.
    pub script: ScriptRun,
    /// `qemu-img info`'s format and virtual size, or why it failed.
    pub info: Option<Result<(String, u64), String>>,
}

/// How the boot ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Booted {
    /// The guest's shell came up.
    Ready,
    /// QEMU (or boot.sh without QEMU) ended first.
    #[default]
    Exited,
    /// Still running at the deadline, without the guest's shell on stdio.
    Silent,
}

/// What `boot.sh` did.
#[derive(Debug, Clone, Default)]
pub struct BootObs {
    /// How it ended.
    pub booted: Booted,
    /// `boot.sh`'s exit, when it ended (or why it could not start).
    pub exit: Option<String>,
    /// The end of QEMU's stderr.
    pub stderr: String,
    /// The end of the console.
    pub console: String,
    /// The student's QEMU command line, when a QEMU was seen.
    pub cmdline: Option<QemuCmdline>,
    /// Why the grader has no QMP session, when it has none.
    pub qmp_error: Option<String>,
    /// Seconds from `boot.sh` to the guest's shell.
    pub seconds: f64,
}

/// One monitor phase: `monitor.sh PHASE`'s lines typed at the monitor.
#[derive(Debug, Clone, Default)]
pub struct PhaseRun {
    /// The script's run.
    pub script: ScriptRun,
    /// The monitor's answer to each line.
    pub replies: Vec<Reply>,
    /// Why the monitor could not be reached (no `(qemu)` prompt on stdio).
    pub unreachable: Option<Stop>,
    /// QEMU was already gone: nothing was typed.
    pub qemu_gone: bool,
}

/// The hotplug phase.
#[derive(Debug, Clone, Default)]
pub struct HotplugObs {
    /// The phase.
    pub phase: PhaseRun,
    /// Free CPU slots before it (`query-hotpluggable-cpus`).
    pub free_slots: Option<usize>,
    /// vCPUs before and after (`query-cpus-fast`).
    pub before: Option<usize>,
    /// After.
    pub after: Option<usize>,
}

/// `guest.sh` at the guest's shell.
#[derive(Debug, Clone, Default)]
pub struct OnlineObs {
    /// The script's run.
    pub script: ScriptRun,
    /// The guest's present and online CPU counts afterwards.
    pub present: Option<u32>,
    /// Online.
    pub online: Option<u32>,
    /// Why the guest's facts could not be read.
    pub facts_error: Option<String>,
}

/// The balloon phase.
#[derive(Debug, Clone, Default)]
pub struct BalloonObs {
    /// The phase.
    pub phase: PhaseRun,
    /// RAM the VM was started with, MiB.
    pub base_mb: Option<u64>,
    /// The balloon before the phase (MiB), or QMP's refusal (no balloon device).
    pub before_mb: Option<Result<u64, String>>,
    /// The balloon after it, MiB.
    pub after_mb: Option<u64>,
    /// The guest's MemTotal before and after, KiB.
    pub mem_before_kb: Option<u64>,
    /// After.
    pub mem_after_kb: Option<u64>,
}

/// The stop phase.
#[derive(Debug, Clone, Default)]
pub struct StopObs {
    /// The phase.
    pub phase: PhaseRun,
    /// How long QEMU took to be gone after the phase's commands.
    pub gone_after: Option<Duration>,
    /// `query-status` when it was still there.
    pub status: Option<String>,
}

/// Everything after a successful boot.
#[derive(Debug, Clone, Default)]
pub struct LiveObs {
    /// The guest's facts through the forwarded port.
    pub network: Option<Result<Facts, NetError>>,
    /// `query-block`.
    pub drives: Option<Result<Vec<BlockInfo>, String>>,
    /// Hotplug.
    pub hotplug: HotplugObs,
    /// Online.
    pub online: OnlineObs,
    /// Balloon.
    pub balloon: BalloonObs,
    /// Stop.
    pub stop: StopObs,
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    /// Disk.
    pub disk: DiskObs,
    /// Boot.
    pub boot: BootObs,
    /// After the boot, when the guest came up with the grader's QMP.
    pub live: Option<LiveObs>,
    /// QEMU's wall time.
    pub guest_ms: Option<u64>,
}
