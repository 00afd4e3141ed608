//! The wire contract between the grader (host) and the agent (in the guest, or on the host
//! for the `local` backend): a [`Job`] goes in as JSON, a stream of [`AgentEvent`] JSON lines
//! comes back. The agent only *observes*; the host evaluates expectations and scores.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where the job file lives inside the guest.
pub const GUEST_JOB_PATH: &str = "/job/job.json";
/// Where the submission's programs live inside the guest.
pub const GUEST_BIN_DIR: &str = "/job/bin";
/// Where the agent makes each scenario's scratch working directory (the local backend's
/// jail gives it a writable mount there).
pub const AGENT_WORK_ROOT: &str = "/tmp/grader-agent";
/// The virtio serial port name the agent writes its events to.
pub const RESULTS_PORT_NAME: &str = "results";

/// Everything the agent needs to run one lab's scenarios.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    /// Lab id (`lab1`…), for logs.
    pub lab: String,
    /// Directory holding the submission's programs.
    pub bin_dir: PathBuf,
    /// Scenarios, run in order, each in a fresh IPC namespace.
    pub scenarios: Vec<ScenarioJob>,
    /// Resource limits applied to every student process.
    pub limits: Limits,
    /// uid/gid student programs run as; `None` keeps the agent's own.
    pub run_as: Option<(u32, u32)>,
    /// Seeded schedule perturbation (`--perturb`); `None` runs undisturbed.
    #[serde(default)]
    pub perturb: Option<Perturbation>,
    /// Scenarios run at once (1: one after the other). Scenario `k` of the ones running
    /// together runs its programs as `run_as` + k, so that none can signal, or count
    /// against the process limit of, another.
    #[serde(default = "one")]
    pub parallel: u32,
}

fn one() -> u32 {
    1
}

/// Seeded schedule perturbation: the agent holds the student's process-creating calls
/// (for up to 5 × `max_delay_us`) and one IPC call in four (up to `max_delay_us`), every
/// draw made from `seed`, so that a
/// race the usual schedule hides is lost (see `agent/perturb.rs`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Perturbation {
    /// The seed of every draw (the run's `--seed`).
    pub seed: u64,
    /// The longest a call is held, in microseconds.
    pub max_delay_us: u64,
}

impl Perturbation {
    /// The longest hold of a `--perturb` run: long enough for the other processes to run
    /// past a race window, short enough not to matter to a synchronised program.
    pub const DEFAULT_MAX_DELAY_US: u64 = 4000;

    /// The perturbation of a `--perturb` run with `seed`.
    pub fn with_seed(seed: u64) -> Perturbation {
        Perturbation {
            seed,
            max_delay_us: Self::DEFAULT_MAX_DELAY_US,
        }
    }
}

impl Job {
    /// The deadline for a whole sandbox run: every scenario's own deadline plus `base`.
    pub fn whole_run_deadline(&self, base: std::time::Duration) -> std::time::Duration {
        base + self
            .scenarios
            .iter()
            .map(|s| std::time::Duration::from_millis(s.timeout_ms))
            .sum::<std::time::Duration>()
    }
}

/// Resource limits for student processes (setrlimit before exec).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Limits {
    /// RLIMIT_NPROC: processes of the student uid.
    pub nproc: u64,
    /// RLIMIT_FSIZE in bytes: the largest file a student process may write.
    pub fsize_bytes: u64,
    /// RLIMIT_AS in bytes.
    pub address_space_bytes: u64,
    /// RLIMIT_CPU in seconds.
    pub cpu_seconds: u64,
    /// RLIMIT_NOFILE.
    pub nofile: u64,
    /// Bytes of stdout/stderr kept per process; the rest is dropped and flagged.
    pub output_cap_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            nproc: 64,
            fsize_bytes: 256 << 20,
            address_space_bytes: 1 << 30,
            cpu_seconds: 60,
            nofile: 256,
            output_cap_bytes: 64 << 10,
        }
    }
}

/// One scenario, parameters already substituted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioJob {
    /// Scenario name from the spec.
    pub name: String,
    /// Whole-scenario deadline; at it, every process left is diagnosed then killed.
    pub timeout_ms: u64,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// What to audit.
    pub audit: AuditRequest,
    /// Runs with no other scenario at once: its pace is measured (round trips).
    #[serde(default)]
    pub alone: bool,
}

/// Audits the agent performs for a scenario.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AuditRequest {
    /// List SysV/POSIX IPC objects left after the scenario.
    pub leaks: bool,
    /// System call names to count across the student's process tree (seccomp user
    /// notification); empty = no syscall tracing.
    pub syscalls: Vec<String>,
    /// Record the descriptors each student process still has open when it exits.
    #[serde(default)]
    pub fds: bool,
    /// How to count the scenario's round trips from the audited calls (a pingpong), so
    /// the agent can tell a program too slow to finish from a blocked one.
    #[serde(default)]
    pub round_trips: Option<RoundTrips>,
}

/// The round trips a scenario needs, counted from audited system calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RoundTrips {
    /// Round trips the scenario needs.
    pub count: u64,
    /// Audited call → how many of them one round trip makes (all processes together).
    pub calls: BTreeMap<String, u64>,
}

/// Kinds of IPC object the agent can see.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum IpcKind {
    /// SysV message queue.
    Msg,
    /// SysV shared memory segment.
    Shm,
    /// SysV semaphore set.
    Sem,
    /// POSIX message queue (`/dev/mqueue`).
    PosixMq,
    /// POSIX shared memory object (`/dev/shm/NAME`).
    PosixShm,
    /// POSIX named semaphore (`/dev/shm/sem.NAME`).
    PosixSem,
}

/// One step of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Start a program. Foreground: wait for it (or the scenario deadline).
    Run {
        /// Name used by later `wait`/`kill` steps and in reports.
        id: String,
        /// Absolute path of the program.
        program: PathBuf,
        /// argv[1..].
        args: Vec<String>,
        /// Bytes written to stdin, then closed; `None` = /dev/null.
        stdin: Option<String>,
        /// Extra environment variables.
        env: Vec<(String, String)>,
        /// Do not wait for it.
        background: bool,
    },
    /// Wait for a background process to end (scenario deadline applies).
    Wait {
        /// The `Run` id.
        id: String,
        /// Give up after this many ms (the process keeps running); `None` = scenario deadline.
        timeout_ms: Option<u64>,
    },
    /// Send a signal to a background process's process group.
    Kill {
        /// The `Run` id.
        id: String,
        /// Signal number.
        signal: i32,
    },
    /// Sleep.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
    /// Poll until a condition holds or `timeout_ms` passes.
    WaitFor {
        /// What to wait for.
        condition: Condition,
        /// Polling limit.
        timeout_ms: u64,
    },
    /// Record every IPC object visible now.
    IpcSnapshot,
    /// The agent itself sends messages to a SysV queue.
    MsgSend {
        /// Queue key.
        key: i32,
        /// Create the queue (`IPC_CREAT|0666`) if missing.
        create: bool,
        /// Messages, in order.
        messages: Vec<Message>,
    },
    /// The agent drains a SysV queue (non-blocking) and records what it got.
    MsgDrain {
        /// Queue key.
        key: i32,
    },
    /// The agent creates an IPC object (e.g. a stale segment left by a "crashed" run).
    IpcCreate {
        /// Kind (SysV kinds, or POSIX shm/mq by name).
        ipc: IpcKind,
        /// SysV key.
        key: Option<i32>,
        /// POSIX name (with leading `/`).
        name: Option<String>,
        /// Size in bytes (shm) or number of semaphores (sem).
        size: u64,
        /// Permission bits.
        mode: u32,
    },
    /// The agent removes an IPC object (by key or name), if present.
    IpcRemove {
        /// Kind.
        ipc: IpcKind,
        /// SysV key.
        key: Option<i32>,
        /// POSIX name.
        name: Option<String>,
    },
    /// Write a file (relative paths are in the scenario's working directory).
    WriteFile {
        /// Path.
        path: String,
        /// Content.
        content: String,
        /// Permission bits.
        mode: u32,
    },
    /// Write `count` native-endian `i32`s drawn from `seed` (see [`ints_from_seed`]).
    GenInts {
        /// Path.
        path: String,
        /// How many ints.
        count: u64,
        /// Generator seed.
        seed: u64,
    },
    /// Record facts about a file.
    FileProbe {
        /// Path.
        path: String,
    },
    /// Compute `ftok(path, proj)` in the agent.
    Ftok {
        /// Path.
        path: String,
        /// Project id.
        proj: i32,
    },
}

/// A condition for [`Step::WaitFor`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Condition {
    /// A SysV object with this key (or POSIX object with this name) exists.
    Ipc {
        /// Kind.
        ipc: IpcKind,
        /// SysV key.
        key: Option<i32>,
        /// POSIX name.
        name: Option<String>,
    },
    /// A file exists.
    File {
        /// Path.
        path: String,
    },
    /// A process's stdout so far contains a string.
    Output {
        /// The `Run` id.
        id: String,
        /// Substring.
        contains: String,
    },
}

/// A SysV message (type + payload bytes as text).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Message {
    /// `mtype`, > 0.
    pub mtype: i64,
    /// Payload (sent without a terminating NUL).
    pub text: String,
}

/// What the agent writes, one JSON object per line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AgentEvent {
    /// First line: the agent is up.
    Hello {
        /// `uname -r` of the machine the agent runs on.
        kernel: String,
        /// Agent version.
        version: String,
    },
    /// One finished scenario.
    Scenario(Box<ScenarioResult>),
    /// The agent could not run the job at all.
    Fatal {
        /// Why.
        message: String,
    },
    /// Last line: everything was run.
    Done,
    /// In the guest, before any job: the agent booted the machine and waits for its job
    /// on the port (a snapshot of the guest is taken at this point).
    Ready(BootTimes),
}

/// Parses the agent's JSON lines; a garbled line is skipped (a truncated last line after a
/// crash is expected).
pub fn parse_events(bytes: &[u8]) -> Vec<AgentEvent> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| serde_json::from_str(l.trim()).ok())
        .collect()
}

/// Observations for one scenario.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// One outcome per step that ran, aligned with the job's steps by index.
    pub steps: Vec<StepOutcome>,
    /// Background processes never waited for, killed at the end.
    pub leftovers: Vec<ProcessResult>,
    /// IPC objects left after the scenario (when audited).
    pub leaks: Vec<Leak>,
    /// Syscall counts across the student processes (when audited).
    pub syscalls: BTreeMap<String, u64>,
    /// Set when the scenario deadline passed: who was still running and on what.
    pub hang: Option<HangReport>,
    /// Agent-side failure (not the student's): the scenario could not be run.
    pub error: Option<String>,
    /// Limits the scenario's processes ran into as a whole (the process limit).
    #[serde(default)]
    pub limits: Vec<LimitHit>,
    /// Student processes left behind: orphans after their program ended, daemons,
    /// zombies at the end.
    #[serde(default)]
    pub strays: Vec<Stray>,
    /// Descriptors beyond 0–2 still open when a student process exited (when audited).
    #[serde(default)]
    pub open_at_exit: Vec<OpenAtExit>,
    /// CPU time the student's processes used (user + system), in ms.
    #[serde(default)]
    pub cpu_ms: u64,
    /// Wall time.
    pub duration_ms: u64,
}

/// The outcome of one step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepOutcome {
    /// A foreground run or a wait ended (or hit its deadline).
    Process(ProcessResult),
    /// A background process was started.
    Spawned {
        /// The `Run` id.
        id: String,
        /// Its pid, or `None` if it could not start (see `error`).
        pid: Option<i32>,
        /// Why it did not start.
        error: Option<String>,
    },
    /// A signal was sent (ok = the process existed).
    Killed {
        /// The `Run` id.
        id: String,
        /// Whether the signal was delivered.
        ok: bool,
    },
    /// A `wait_for` ended.
    Waited {
        /// Whether the condition held before the timeout.
        satisfied: bool,
        /// How long it took.
        waited_ms: u64,
        /// It ended unsatisfied early: no process of the submission was left to make it
        /// happen.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        nobody_left: bool,
    },
    /// Objects seen by an `ipc_snapshot`.
    Snapshot {
        /// The objects.
        objects: Vec<IpcObject>,
    },
    /// Messages drained by `msg_drain`.
    Messages {
        /// In queue order.
        messages: Vec<Message>,
        /// Set if the queue did not exist or could not be read.
        error: Option<String>,
    },
    /// A file probe.
    File(FileFacts),
    /// `ftok` computed by the agent.
    Ftok {
        /// The key, or `None` on error.
        key: Option<i32>,
        /// The error.
        error: Option<String>,
    },
    /// A step with nothing to report but success or an error
    /// (sleep, msg_send, ipc_create, ipc_remove, write_file, gen_ints).
    Done {
        /// Set when the agent failed to do it.
        error: Option<String>,
    },
}

/// How a student process ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "how", content = "value", rename_all = "snake_case")]
pub enum Exit {
    /// exit(code).
    Code(i32),
    /// Killed by a signal (not ours).
    Signal(i32),
    /// Still running at the deadline; killed by the agent.
    Timeout,
    /// Could not be started (exec failed, missing program).
    NotStarted,
}

/// One process's observable behaviour.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcessResult {
    /// The `Run` id.
    pub id: String,
    /// Command line as run, for messages.
    pub command: String,
    /// How it ended.
    pub exit: Exit,
    /// Captured stdout (lossy UTF-8, capped).
    pub stdout: String,
    /// Captured stderr (lossy UTF-8, capped).
    pub stderr: String,
    /// Output past the cap was dropped.
    pub truncated: bool,
    /// Wall time from start to end.
    pub duration_ms: u64,
    /// Why it did not start, for `NotStarted`.
    pub error: Option<String>,
    /// For a death by signal: who sent it, as the agent saw it.
    #[serde(default)]
    pub death: Option<Death>,
    /// Resource limits this process ran into (file size, CPU, output cap, a full disk).
    #[serde(default)]
    pub limits: Vec<LimitHit>,
}

/// Who sent the signal that ended a process. The agent sees every `kill`, `tkill` and
/// `tgkill` a student process makes (seccomp notification) and the signals it sends
/// itself; a signal nobody sent came from the kernel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Death {
    /// The process signalled itself (`raise`, `abort`, `kill(getpid(), …)`).
    Itself,
    /// Another student process sent it.
    Process {
        /// The sender's pid.
        pid: i32,
        /// The sender's `comm`.
        comm: String,
        /// The sender is a child of the process it killed.
        child: bool,
    },
    /// The scenario's own `kill` step (the grader).
    Grader,
    /// The kernel's OOM killer (the guest ran out of memory).
    OutOfMemory,
    /// No process sent it: the kernel (a fault, a resource limit).
    Kernel,
}

/// Which limit fired.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// RLIMIT_FSIZE (SIGXFSZ, or EFBIG from `write`).
    FileSize,
    /// RLIMIT_NPROC (EAGAIN from `fork`).
    Processes,
    /// RLIMIT_AS (ENOMEM).
    AddressSpace,
    /// RLIMIT_CPU (SIGXCPU, then SIGKILL).
    CpuTime,
    /// The grader's cap on captured stdout/stderr.
    OutputCap,
    /// The filesystem the program wrote to is full (ENOSPC).
    DiskFull,
    /// The guest ran out of memory: the kernel's OOM killer killed student processes.
    GuestMemory,
}

/// A resource limit a student's process ran into.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LimitHit {
    /// Which limit.
    pub limit: LimitKind,
    /// Its value (bytes, processes or seconds).
    pub value: u64,
    /// What hit it: a file, a stream, a call, e.g. "`big.dat` (268435456 bytes)".
    pub what: String,
}

/// A student process still there when it should not be: left running after the program
/// that started it ended, detached, or a zombie nobody waited for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stray {
    /// Pid.
    pub pid: i32,
    /// `comm`.
    pub comm: String,
    /// What it is.
    pub kind: StrayKind,
    /// The `run` id of the program it came from, when known.
    pub from: Option<String>,
    /// Its parent (for a zombie: who never waited for it), as `comm (pid N)`.
    pub parent: Option<String>,
}

/// A student process that exited with descriptors still open (beyond 0–2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpenAtExit {
    /// Pid.
    pub pid: i32,
    /// `comm`.
    pub comm: String,
    /// (fd, target of the symlink: `pipe:[77]`, `/dev/mqueue/q`, a path…).
    pub fds: Vec<(i32, String)>,
}

/// Kinds of [`Stray`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StrayKind {
    /// Still running after the program that started it exited (an orphan).
    Orphan,
    /// Left its process group or session (`setsid`, `setpgid`): a daemon.
    Daemon,
    /// Ended but never waited for by its (still running) parent.
    Zombie,
}

/// Facts about a file after a step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileFacts {
    /// Path probed.
    pub path: String,
    /// Whether it exists.
    pub exists: bool,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Permission bits.
    pub mode: u32,
    /// First 4 KiB, lossy UTF-8.
    pub head: String,
}

/// An IPC object as listed by the kernel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IpcObject {
    /// Kind.
    pub ipc: IpcKind,
    /// SysV key (0 = IPC_PRIVATE).
    pub key: Option<i32>,
    /// SysV id.
    pub id: Option<i32>,
    /// POSIX name.
    pub name: Option<String>,
    /// Permission bits.
    pub mode: u32,
    /// Bytes (shm size, queue bytes) or semaphore count.
    pub size: u64,
    /// Owner uid.
    pub uid: u32,
    /// Messages in a queue / attach count of a segment.
    pub count: u64,
    /// Creator pid (shm), last sender (msg), when the kernel tells.
    pub pid: Option<i32>,
}

/// An object left behind, with the command that removes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Leak {
    /// The object.
    pub object: IpcObject,
    /// e.g. `ipcrm -q 3`, `rm /dev/shm/NAME`.
    pub remove_command: String,
}

/// What was running when the deadline hit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HangReport {
    /// Processes still alive.
    pub processes: Vec<ProcInfo>,
    /// Plain-language findings (e.g. "tac (pid 12) reads pipe:[77] whose write end is
    /// still open in minishell (pid 10, fd 4)").
    pub findings: Vec<String>,
    /// How the processes were moving, from the agent's samples of them.
    #[serde(default)]
    pub pace: Pace,
    /// Set when the agent ended the scenario before its deadline.
    #[serde(default)]
    pub stopped_early: Option<EarlyStop>,
}

/// What sampling the student's processes (twice a second while the agent waits on the
/// deadline) showed when the scenario was cut.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pace {
    /// Too few samples to say.
    #[default]
    Unknown,
    /// Every thread was blocked on another process (msgrcv, semop, wait, a pipe…) and no
    /// state, call, context switch, CPU tick or audited call changed.
    Deadlocked {
        /// How long nothing changed.
        unchanged_ms: u64,
    },
    /// The processes were still moving: slow, not stuck.
    Progressing {
        /// Time since the scenario started, at the last sample.
        elapsed_ms: u64,
        /// Audited IPC calls so far (`None`: the scenario audits no calls).
        ipc_calls: Option<u64>,
        /// Round trips done and needed, when the scenario declares them.
        round_trips: Option<(u64, u64)>,
        /// Context switches between the last two samples.
        switches: u64,
        /// Time between the last two samples.
        interval_ms: u64,
        /// Threads that lost every race for what they wait on while the others ran.
        #[serde(default)]
        starved: Vec<Starved>,
    },
}

/// A thread seen waiting in `futex` (a POSIX semaphore, a mutex) at every sample for a
/// while, woken again and again meanwhile: each time it woke, another process had taken
/// what it waits for (`sem_post` and a mutex unlock hand nothing to the one they wake).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Starved {
    /// Its process id.
    pub pid: i32,
    /// The process's `comm`.
    pub comm: String,
    /// Times it was woken (context switches) while it waited.
    pub woken: u64,
    /// How long it was seen waiting.
    pub for_ms: u64,
}

/// A scenario the agent stopped before its deadline: a deadlock, or a program far too
/// slow to finish (see [`HangReport::pace`]).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EarlyStop {
    /// When it stopped, since the scenario started.
    pub at_ms: u64,
    /// The scenario's deadline (scaled, as the agent ran it).
    pub timeout_ms: u64,
}

/// A live process at the deadline.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProcInfo {
    /// Pid.
    pub pid: i32,
    /// Parent pid.
    pub ppid: i32,
    /// `comm`.
    pub comm: String,
    /// State letter from `/proc/PID/stat`.
    pub state: String,
    /// Kernel function it sleeps in.
    pub wchan: String,
    /// Open descriptors: (fd, target of the symlink).
    pub fds: Vec<(i32, String)>,
}

/// The deterministic int generator shared by the agent (writes files) and the host
/// (computes expected results): splitmix64, low 32 bits as `i32`.
pub fn ints_from_seed(seed: u64, count: u64) -> impl Iterator<Item = i32> {
    let mut state = seed;
    (0..count).map(move |_| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as u32 as i32
    })
}

/// Guest-side boot milestones the agent reports in [`AgentEvent::Ready`], read from
/// `CLOCK_BOOTTIME` (time since the guest kernel started its clock), in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BootTimes {
    /// When the agent started (the kernel's boot and `/init` before it).
    pub agent_start_ms: u64,
    /// Spent mounting `/proc`, `/sys`, `/dev`, `/tmp`, `/run`.
    pub mounts_ms: u64,
    /// Spent loading the kernel modules.
    pub modules_ms: u64,
    /// Spent waiting for the virtio serial ports to be named.
    pub ports_ms: u64,
    /// When the agent was ready for its job.
    pub ready_ms: u64,
    /// The guest kernel's boot id: a restored guest reports its snapshot's.
    pub boot_id: String,
    /// What went wrong but did not stop the agent (a module that did not load…).
    pub warnings: Vec<String>,
}

/// Magic opening a job frame on the agent's port.
pub const JOB_FRAME_MAGIC: [u8; 8] = *b"AISEJOB1";
/// The largest frame body accepted (programs are a few MB).
pub const JOB_FRAME_MAX_BYTES: u64 = 256 << 20;

/// What reaches the agent in the guest, after boot or restore, on its port: the job, the
/// submission's programs, fresh entropy and the wall clock. Nothing of a run exists in
/// the guest before its frame arrives, so a snapshot taken while the agent waits holds
/// no state of any run.
///
/// Wire format: [`JOB_FRAME_MAGIC`], the body length (u64 LE), the SHA-256 of the body,
/// the body: the header length (u32 LE), the header (JSON: job, entropy, clock, file
/// list), then every file's bytes in list order.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFrame {
    /// The job.
    pub job: Job,
    /// Files to create before the job runs (the programs).
    pub files: Vec<FrameFile>,
    /// Random bytes the agent mixes into the guest kernel's RNG before reseeding it (a
    /// restored guest would otherwise replay its snapshot's random state).
    pub entropy: Vec<u8>,
    /// The host's wall clock (ns since the epoch): a restored guest's clock is as old as
    /// its snapshot.
    pub wall_clock_ns: u64,
}

/// One file of a [`JobFrame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameFile {
    /// Absolute guest path; parent directories are created.
    pub path: String,
    /// Permission bits.
    pub mode: u32,
    /// Contents.
    pub data: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct FrameHeader {
    job: Job,
    entropy: Vec<u8>,
    wall_clock_ns: u64,
    /// (path, mode, length) of each file.
    files: Vec<(String, u32, u64)>,
}

/// Failures to read a job frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The channel failed or ended early.
    #[error("failed to read the job frame")]
    Io(#[source] std::io::Error),
    /// Not a frame.
    #[error("failed to read the job frame: bad magic {0:02x?}")]
    Magic([u8; 8]),
    /// Larger than [`JOB_FRAME_MAX_BYTES`].
    #[error("failed to read the job frame: {0} bytes is more than the limit")]
    TooLarge(u64),
    /// The body does not match its checksum.
    #[error("failed to read the job frame: checksum mismatch")]
    Checksum,
    /// The header is not valid.
    #[error("failed to read the job frame header")]
    Header(#[source] serde_json::Error),
    /// The file lengths do not add up to the body.
    #[error("failed to read the job frame: its file lengths do not match its size")]
    Lengths,
}

impl JobFrame {
    /// The frame's bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let header = FrameHeader {
            job: self.job.clone(),
            entropy: self.entropy.clone(),
            wall_clock_ns: self.wall_clock_ns,
            files: self
                .files
                .iter()
                .map(|f| (f.path.clone(), f.mode, f.data.len() as u64))
                .collect(),
        };
        let header = serde_json::to_vec(&header).expect("a job serializes");
        let mut body = Vec::with_capacity(4 + header.len());
        body.extend_from_slice(&(header.len() as u32).to_le_bytes());
        body.extend_from_slice(&header);
        for file in &self.files {
            body.extend_from_slice(&file.data);
        }
        let mut out = Vec::with_capacity(48 + body.len());
        out.extend_from_slice(&JOB_FRAME_MAGIC);
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&body));
        out.extend_from_slice(&body);
        out
    }

    /// Reads one frame, checking its magic, size and checksum.
    pub fn read_from(r: &mut dyn std::io::Read) -> Result<JobFrame, FrameError> {
        use sha2::{Digest, Sha256};
        let mut fixed = [0u8; 48];
        r.read_exact(&mut fixed).map_err(FrameError::Io)?;
        let magic: [u8; 8] = fixed[..8].try_into().expect("8 bytes");
        if magic != JOB_FRAME_MAGIC {
            return Err(FrameError::Magic(magic));
        }
        let len = u64::from_le_bytes(fixed[8..16].try_into().expect("8 bytes"));
        if len > JOB_FRAME_MAX_BYTES {
            return Err(FrameError::TooLarge(len));
        }
        let mut body = vec![0u8; len as usize];
        r.read_exact(&mut body).map_err(FrameError::Io)?;
        if Sha256::digest(&body)[..] != fixed[16..48] {
            return Err(FrameError::Checksum);
        }
        JobFrame::from_body(&body)
    }

    fn from_body(body: &[u8]) -> Result<JobFrame, FrameError> {
        let header_len = body
            .get(..4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
            .ok_or(FrameError::Lengths)?;
        let header = body.get(4..4 + header_len).ok_or(FrameError::Lengths)?;
        let header: FrameHeader = serde_json::from_slice(header).map_err(FrameError::Header)?;
        let mut rest = &body[4 + header_len..];
        let mut files = Vec::with_capacity(header.files.len());
        for (path, mode, len) in header.files {
            let len = usize::try_from(len).map_err(|_| FrameError::Lengths)?;
            if len > rest.len() {
                return Err(FrameError::Lengths);
            }
            let (data, tail) = rest.split_at(len);
            files.push(FrameFile {
                path,
                mode,
                data: data.to_vec(),
            });
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(FrameError::Lengths);
        }
        Ok(JobFrame {
            job: header.job,
            files,
            entropy: header.entropy,
            wall_clock_ns: header.wall_clock_ns,
        })
    }
}

/// Round trips clearly past the count asked (half as many again, ten at least): the
/// program does not stop at its count. The margin covers a correct program's extra
/// calls: the slides' pingpong child receives with type 0, so on a busy machine it takes
/// its own reply back now and then and answers it again (seen: 10 % more calls); a
/// program that ignores its count overshoots by far more (the slides' makes 65 536
/// whatever it is asked).
pub fn overshoots(done: u64, needed: u64) -> bool {
    done > needed + (needed / 2).max(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_json_lines() {
        let ev = AgentEvent::Scenario(Box::new(ScenarioResult {
            name: "s".into(),
            steps: vec![StepOutcome::Process(ProcessResult {
                id: "p".into(),
                command: "msgq create 0x1".into(),
                exit: Exit::Signal(11),
                stdout: String::new(),
                stderr: "x".into(),
                truncated: false,
                duration_ms: 3,
                error: None,
                death: Some(Death::Process {
                    pid: 12,
                    comm: "msgq".into(),
                    child: true,
                }),
                limits: Vec::new(),
            })],
            ..Default::default()
        }));
        let line = serde_json::to_string(&ev).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<AgentEvent>(&line).unwrap(), ev);
    }

    #[test]
    fn int_generator_is_deterministic_and_seed_dependent() {
        let a: Vec<i32> = ints_from_seed(7, 5).collect();
        assert_eq!(a, ints_from_seed(7, 5).collect::<Vec<_>>());
        assert_ne!(a, ints_from_seed(8, 5).collect::<Vec<_>>());
    }

    fn frame() -> JobFrame {
        JobFrame {
            job: Job {
                lab: "lab1".into(),
                bin_dir: GUEST_BIN_DIR.into(),
                scenarios: Vec::new(),
                limits: Limits::default(),
                run_as: Some((1000, 1000)),
                perturb: Some(Perturbation::with_seed(9)),
                parallel: 3,
            },
            files: vec![
                FrameFile {
                    path: "/job/bin/a".into(),
                    mode: 0o755,
                    data: b"\x7fELF a".to_vec(),
                },
                FrameFile {
                    path: "/job/bin/empty".into(),
                    mode: 0o644,
                    data: Vec::new(),
                },
            ],
            entropy: vec![7; 32],
            wall_clock_ns: 1_700_000_000_000_000_000,
        }
    }

    #[test]
    fn a_job_frame_round_trips() {
        let bytes = frame().encode();
        let back = JobFrame::read_from(&mut &bytes[..]).unwrap();
        assert_eq!(back, frame());
    }

    #[test]
    fn a_damaged_job_frame_is_refused_with_the_reason() {
        let bytes = frame().encode();
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let err = JobFrame::read_from(&mut &flipped[..]).unwrap_err();
        assert!(matches!(err, FrameError::Checksum), "{err}");
        let err = JobFrame::read_from(&mut &bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(err, FrameError::Io(_)), "{err}");
        let mut magic = bytes.clone();
        magic[0] = b'X';
        let err = JobFrame::read_from(&mut &magic[..]).unwrap_err();
        assert!(err.to_string().contains("bad magic"), "{err}");
        let mut huge = bytes;
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = JobFrame::read_from(&mut &huge[..]).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge(_)), "{err}");
    }
}
