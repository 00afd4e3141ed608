//! Starts the guest image under QEMU for one job — by booting it, or by restoring a
//! snapshot of it taken while its agent waited for a job — sends the job frame (job,
//! programs, entropy, clock) down the agent's virtio serial port, and collects what the
//! agent answers on the same port, under a host-side deadline for the whole run.
//!
//! QEMU never outlives [`LiveGuest`]: every exit path kills and reaps it, and the child
//! asks the kernel to SIGKILL it should the grader die first (`PR_SET_PDEATHSIG`).

pub mod channel;
pub mod initrd;
pub mod line;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::image::scratch::{self, ScratchDir};
use crate::image::Image;
use crate::protocol::{FrameFile, Job, JobFrame, Limits, GUEST_BIN_DIR, RESULTS_PORT_NAME};
use crate::qmp::{Qmp, QmpError};
use crate::sandbox::child::{self, Reaper};
pub use channel::Marks;
pub use initrd::InitrdError;
pub use line::QemuLine;

/// The QEMU binary looked up in `PATH`.
pub const QEMU_BINARY: &str = "qemu-system-x86_64";
/// How to get it on Debian (`qemu-utils` in the same command, see the README).
pub const QEMU_INSTALL_HINT: &str =
    "apt-get install -y --no-install-recommends qemu-system-x86 qemu-utils";
/// Kernel command line: serial console, and a panic reboots at once, which
/// `-no-reboot` turns into QEMU exiting instead of a guest hanging forever.
/// `no_timer_check`: under emulation on a loaded host the kernel's check of the timer
/// interrupt can fail and panic at boot ("IO-APIC + timer doesn't work"); the check is
/// meaningless in a virtual machine. `pci=noacpi`: PCI interrupts routed from the
/// firmware's table instead of ACPI's link objects, whose AML methods the kernel
/// interprets slowly under emulation (it halves the virtio modules' load time).
pub const KERNEL_APPEND: &str = "console=ttyS0 quiet panic=-1 no_timer_check pci=noacpi";
/// Bytes of console output kept (the end of it).
pub const CONSOLE_CAP: u64 = 64 << 10;
/// Time QEMU gets to exit after SIGTERM before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(2);
/// Per-run scratch directories, in the temporary directory.
const SCRATCH_PREFIX: &str = "grader-qemu-";
/// Deadline of the KVM probe boot; TCG boots in under 2 s, working KVM faster.
const KVM_PROBE_DEADLINE: Duration = Duration::from_secs(4);
/// Deadline of QMP's greeting and answers (QEMU answers in milliseconds).
const QMP_TIMEOUT: Duration = Duration::from_secs(20);

/// How QEMU executes guest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Software emulation: works everywhere, the default.
    Tcg,
    /// Hardware virtualisation; only after [`probe_kvm`] said it works.
    Kvm,
}

/// Per-run settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuOptions {
    /// Guest RAM in MiB.
    pub memory_mb: u32,
    /// Wall-clock budget from QEMU's start; past it QEMU is terminated.
    pub deadline: Duration,
    /// Accelerator.
    pub accel: Accel,
    /// Virtual CPUs.
    pub vcpus: u32,
}

/// How a guest starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot<'a> {
    /// The kernel boots; RAM is QEMU's own.
    Cold,
    /// The kernel boots with its RAM in the file `ram`, mapped shared: the making of a
    /// snapshot (QMP is connected).
    ToSnapshot {
        /// The RAM file, created by QEMU.
        ram: &'a Path,
    },
    /// The snapshot's RAM file mapped private (the guest's writes stay its own) and its
    /// device state loaded from `state` (`-incoming defer`, then `migrate-incoming`).
    Restore {
        /// The snapshot's RAM file.
        ram: &'a Path,
        /// The snapshot's device state (a migration stream).
        state: &'a Path,
    },
}

/// What a run left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRun {
    /// Everything the agent wrote to its port, byte-exact.
    pub results: Vec<u8>,
    /// The end of the serial console ([`CONSOLE_CAP`] bytes), without `\r` and escape codes.
    pub console: String,
    /// QEMU's own stderr (why it refused to start, or to load a snapshot).
    pub qemu_stderr: String,
    /// From spawning QEMU to reaping it.
    pub duration: Duration,
    /// The deadline passed and QEMU was terminated.
    pub timed_out: bool,
    /// No `hello` came within the time allowed to a restore, and QEMU was stopped.
    pub no_hello: bool,
    /// QEMU's exit code; `None` if a signal ended it. Says nothing about the guest.
    pub qemu_status: Option<i32>,
    /// When the agent's milestone events arrived.
    pub marks: Marks,
}

/// Errors of running QEMU (the host side; a misbehaving guest is a [`GuestRun`]).
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// QEMU is not installed.
    #[error("failed to find {QEMU_BINARY} in PATH; install it with `{QEMU_INSTALL_HINT}`")]
    NotInstalled,
    /// The run's scratch files could not be created or read.
    #[error("failed to prepare or read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// QEMU could not be started.
    #[error("failed to start {program}")]
    Spawn {
        /// The binary.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for QEMU failed.
    #[error("failed to wait for QEMU (pid {pid})")]
    Wait {
        /// Its pid.
        pid: u32,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// QEMU's monitor refused or did not answer.
    #[error("failed to drive QEMU over QMP{stderr}")]
    Qmp {
        /// Why.
        #[source]
        source: QmpError,
        /// QEMU's stderr, formatted to follow the sentence.
        stderr: String,
    },
}

/// The QEMU binary, or an error naming the apt command that installs it.
pub fn qemu_available() -> Result<PathBuf, QemuError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(QEMU_BINARY))
        .find(|candidate| is_executable(candidate))
        .ok_or(QemuError::NotInstalled)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first line of `qemu-system-x86_64 --version` (part of a snapshot's key).
pub fn qemu_version() -> Result<String, QemuError> {
    let qemu = qemu_available()?;
    let out = Command::new(&qemu)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| QemuError::Spawn {
            program: qemu.clone(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or("").trim().to_owned())
}

/// The job frame for `job` with `files`: fresh entropy from the host, the host's clock.
pub fn frame_for(job: &Job, files: Vec<FrameFile>) -> Result<Vec<u8>, QemuError> {
    let mut entropy = vec![0u8; 64];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut entropy))
        .map_err(|source| QemuError::Io {
            path: "/dev/urandom".into(),
            source,
        })?;
    let wall_clock_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let frame = JobFrame {
        job: job.clone(),
        files,
        entropy,
        wall_clock_ns,
    };
    Ok(frame.encode())
}

/// The part of the command line a snapshot and every restore of it share: machine,
/// memory (in `ram` when given, mapped shared or private), kernel and initrd (QEMU loads
/// them into ROM regions that are part of the machine's state even on a restore).
pub fn machine_line(image: &Image, opts: &QemuOptions, ram: Option<(&Path, bool)>) -> QemuLine {
    let mut line = QemuLine::grader_guest(opts.accel, opts.memory_mb, opts.vcpus);
    if let Some((ram, shared)) = ram {
        line.ram_file(opts.memory_mb, ram, shared);
    }
    line.boot(&image.kernel, &image.initrd, KERNEL_APPEND);
    line
}

/// Starts `image` as `boot` says and sends `frame`; then waits for the guest to power off
/// or the deadline to pass. A restore must say `hello` within `hello_within`.
pub fn run_guest(
    image: &Image,
    boot: Boot<'_>,
    frame: Option<Vec<u8>>,
    opts: &QemuOptions,
    hello_within: Option<Duration>,
) -> Result<GuestRun, QemuError> {
    let guest = LiveGuest::spawn(image, boot, frame, opts)?;
    let deadline = guest.spawned + opts.deadline;
    let hello_by = hello_within.map(|d| guest.spawned + d);
    guest.finish(deadline, hello_by)
}

/// A QEMU process running the guest.
#[derive(Debug)]
pub struct LiveGuest {
    guard: Reaper,
    pid: u32,
    channel: channel::Live,
    qmp: Option<Qmp>,
    paths: RunPaths,
    /// When QEMU was spawned.
    pub spawned: Instant,
    _scratch: ScratchDir,
}

/// The descriptors one QEMU inherits, host ends kept apart.
struct Inherited {
    agent: channel::Channel,
    qmp: Option<(UnixStream, OwnedFd)>,
    state: Option<File>,
}

impl LiveGuest {
    /// Spawns QEMU, hands it the frame, and for a restore starts loading the snapshot.
    pub fn spawn(
        image: &Image,
        boot: Boot<'_>,
        frame: Option<Vec<u8>>,
        opts: &QemuOptions,
    ) -> Result<LiveGuest, QemuError> {
        LiveGuest::spawn_with(image, boot, frame.map(channel::ready), opts)
    }

    /// Spawns QEMU whose frame comes later, on the returned sender (a guest restored while
    /// the submission builds); dropping the sender leaves the agent waiting until QEMU is
    /// stopped.
    pub fn spawn_waiting(
        image: &Image,
        boot: Boot<'_>,
        opts: &QemuOptions,
    ) -> Result<(LiveGuest, std::sync::mpsc::Sender<Vec<u8>>), QemuError> {
        let (tx, rx) = std::sync::mpsc::channel();
        Ok((LiveGuest::spawn_with(image, boot, Some(rx), opts)?, tx))
    }

    fn spawn_with(
        image: &Image,
        boot: Boot<'_>,
        frame: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
        opts: &QemuOptions,
    ) -> Result<LiveGuest, QemuError> {
        let qemu = qemu_available()?;
        let tmp = std::env::temp_dir();
        scratch::sweep(&tmp, SCRATCH_PREFIX);
        let scratch = ScratchDir::new(&tmp, SCRATCH_PREFIX).map_err(io_err(&tmp))?;
        let paths = RunPaths::new(scratch.path());
        let fds = Inherited::open(boot)?;
        let mut command = qemu_command(&qemu, image, &paths, opts, boot, &fds);
        let stderr = File::create(&paths.stderr).map_err(io_err(&paths.stderr))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        child::tie_to_parent(&mut command, &[]);
        child::keep_fds(&mut command, &fds.numbers());
        let spawned = Instant::now();
        let child = command.spawn().map_err(|source| QemuError::Spawn {
            program: qemu.clone(),
            source,
        })?;
        let pid = child.id();
        let guard = Reaper::new(child);
        let Inherited { agent, qmp, state } = fds;
        let channel = agent
            .start_with(frame, spawned)
            .map_err(io_err(&paths.stderr))?;
        let mut guest = LiveGuest {
            guard,
            pid,
            channel,
            qmp: None,
            paths,
            spawned,
            _scratch: scratch,
        };
        if let Some((host, guest_end)) = qmp {
            drop(guest_end);
            let qmp = Qmp::handshake(host, QMP_TIMEOUT).map_err(|e| guest.qmp_error(e))?;
            guest.qmp = Some(qmp);
        }
        if let Some(state) = state {
            guest.incoming(state.as_raw_fd())?;
        }
        Ok(guest)
    }

    /// Starts loading the snapshot's device state from QEMU's descriptor `fd`; the RAM
    /// is not in the stream (`x-ignore-shared`: it is the file QEMU maps).
    fn incoming(&mut self, fd: i32) -> Result<(), QemuError> {
        let caps = serde_json::json!({"capabilities": [
            {"capability": "x-ignore-shared", "state": true}
        ]});
        let uri = serde_json::json!({ "uri": format!("fd:{fd}") });
        let qmp = self.qmp.as_mut().expect("a restore has QMP");
        let result = qmp
            .execute("migrate-set-capabilities", Some(caps))
            .and_then(|_| qmp.execute("migrate-incoming", Some(uri)));
        result.map(|_| ()).map_err(|e| self.qmp_error(e))
    }

    /// A QMP failure, with what QEMU said on stderr.
    pub fn qmp_error(&mut self, source: QmpError) -> QemuError {
        // QEMU may be exiting on the error it printed: let it finish writing.
        let _ = self
            .guard
            .wait_or_stop(Instant::now() + Duration::from_millis(500), TERM_GRACE);
        let text = read_tail(&self.paths.stderr, CONSOLE_CAP).unwrap_or_default();
        let text = String::from_utf8_lossy(&text).trim().to_owned();
        let stderr = if text.is_empty() {
            String::new()
        } else {
            format!(" (QEMU said: {text})")
        };
        QemuError::Qmp { source, stderr }
    }

    /// The QMP session (guests made for or from a snapshot).
    pub fn qmp(&mut self) -> Option<&mut Qmp> {
        self.qmp.as_mut()
    }

    /// The agent channel.
    pub fn channel(&self) -> &channel::Live {
        &self.channel
    }

    /// Waits for QEMU to exit (stopping it at `deadline`, or at `hello_by` when the agent
    /// has not said `hello` by then) and collects the run.
    pub fn finish(
        mut self,
        deadline: Instant,
        hello_by: Option<Instant>,
    ) -> Result<GuestRun, QemuError> {
        let pid = self.pid;
        let mut no_hello = false;
        if let Some(by) = hello_by {
            let marks = self
                .channel
                .wait_for(by.min(deadline), |m| m.hello.is_some());
            no_hello = marks.hello.is_none() && marks.closed.is_none();
        }
        let stop_at = if no_hello { Instant::now() } else { deadline };
        let ended = self
            .guard
            .wait_or_stop(stop_at, TERM_GRACE)
            .map_err(|source| QemuError::Wait { pid, source })?;
        let duration = self.spawned.elapsed();
        drop(self.qmp.take());
        let marks = self.channel.marks();
        let results = self.channel.transcript();
        Ok(GuestRun {
            results,
            console: clean_console(&read_tail(&self.paths.console, CONSOLE_CAP)?),
            qemu_stderr: String::from_utf8_lossy(&read_tail(&self.paths.stderr, CONSOLE_CAP)?)
                .into_owned(),
            duration,
            timed_out: ended.timed_out && !no_hello,
            no_hello,
            qemu_status: ended.status.and_then(|s| s.code()),
            marks,
        })
    }
}

impl Inherited {
    fn open(boot: Boot<'_>) -> Result<Inherited, QemuError> {
        let agent = channel::Channel::new().map_err(io_err(Path::new("socketpair")))?;
        let qmp = match boot {
            Boot::Cold => None,
            _ => {
                let (host, guest) = UnixStream::pair().map_err(io_err(Path::new("socketpair")))?;
                Some((host, OwnedFd::from(guest)))
            }
        };
        let state = match boot {
            Boot::Restore { state, .. } => Some(File::open(state).map_err(io_err(state))?),
            _ => None,
        };
        Ok(Inherited { agent, qmp, state })
    }

    fn numbers(&self) -> Vec<i32> {
        let mut fds = vec![self.agent.guest_fd()];
        fds.extend(self.qmp.as_ref().map(|(_, g)| g.as_raw_fd()));
        fds.extend(self.state.as_ref().map(File::as_raw_fd));
        fds
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> QemuError + '_ {
    move |source| QemuError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The files of one run, all in its scratch directory.
#[derive(Debug)]
struct RunPaths {
    console: PathBuf,
    stderr: PathBuf,
}

impl RunPaths {
    fn new(dir: &Path) -> Self {
        RunPaths {
            console: dir.join("console.log"),
            stderr: dir.join("qemu.stderr"),
        }
    }
}

/// The scenario guest's command line: the grader's own guest (see
/// [`QemuLine::grader_guest`] and [`machine_line`]), the console to a file, the agent's
/// port to the inherited socket (the console mangles bytes, the port does not), and for
/// snapshots the monitor and the incoming migration.
fn qemu_command(
    qemu: &Path,
    image: &Image,
    paths: &RunPaths,
    opts: &QemuOptions,
    boot: Boot<'_>,
    fds: &Inherited,
) -> Command {
    let ram = match boot {
        Boot::Cold => None,
        Boot::ToSnapshot { ram } => Some((ram, true)),
        Boot::Restore { ram, .. } => Some((ram, false)),
    };
    let mut line = machine_line(image, opts, ram);
    line.console_file(&paths.console)
        .port_to_fd(RESULTS_PORT_NAME, fds.agent.guest_fd());
    if let Some((_, guest)) = &fds.qmp {
        line.qmp_fd(guest.as_raw_fd());
    }
    if fds.state.is_some() {
        line.args(["-incoming", "defer"]);
    }
    line.command(qemu)
}

/// An empty job (no scenario): the agent says hello and done, and powers off.
pub fn empty_job() -> Job {
    Job {
        lab: "probe".into(),
        bin_dir: GUEST_BIN_DIR.into(),
        scenarios: Vec::new(),
        limits: Limits::default(),
        run_as: None,
        perturb: None,
        parallel: 1,
    }
}

/// The last `cap` bytes of a file (empty if it does not exist).
fn read_tail(path: &Path, cap: u64) -> Result<Vec<u8>, QemuError> {
    let io_err = |source| QemuError::Io {
        path: path.into(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io_err(err)),
    };
    let len = file.metadata().map_err(io_err)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(cap)))
        .map_err(io_err)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_err)?;
    Ok(bytes)
}

/// Console text for humans: lossy UTF-8 without `\r`, terminal escape sequences (the
/// firmware clears the screen) or other control characters but `\n` and `\t`.
pub fn clean_console(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                // CSI: parameters and intermediates, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\u{1b}' => {
                chars.next();
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether KVM works here: a short timed boot with `-accel kvm` must power off by itself
/// well within [`KVM_PROBE_DEADLINE`]. Nested KVM often crashes or crawls, so anything
/// else means TCG. The verdict is cached in `vm-images/cache/kvm-probe` per host kernel.
pub fn probe_kvm(image: &Image) -> bool {
    let cache = image.dir().parent().map(|cache| cache.join("kvm-probe"));
    let host = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let key = format!("host {}", host.trim());
    if let Some(verdict) = cache.as_deref().and_then(|path| cached_verdict(path, &key)) {
        return verdict;
    }
    let verdict = kvm_boots(image);
    if let Some(path) = cache {
        // Only a cache: failing to write it means probing again next time.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let line = format!("{key}\nkvm {}\n", if verdict { "yes" } else { "no" });
        let _ = std::fs::write(&tmp, line).and_then(|()| std::fs::rename(&tmp, &path));
    }
    verdict
}

fn cached_verdict(path: &Path, key: &str) -> Option<bool> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != key {
        return None;
    }
    match lines.next()? {
        "kvm yes" => Some(true),
        "kvm no" => Some(false),
        _ => None,
    }
}

fn kvm_boots(image: &Image) -> bool {
    let usable = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if !usable {
        return false;
    }
    let opts = QemuOptions {
        memory_mb: 256,
        deadline: KVM_PROBE_DEADLINE,
        accel: Accel::Kvm,
        vcpus: 1,
    };
    let Ok(frame) = frame_for(&empty_job(), Vec::new()) else {
        return false;
    };
    matches!(run_guest(image, Boot::Cold, Some(frame), &opts, None),
        Ok(run) if !run.timed_out && run.qemu_status == Some(0) && run.marks.done.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_loses_carriage_returns_and_escape_codes() {
        let raw = b"\x1bc\x1b[?7l\x1b[2JSeaBIOS\r\nLinux up\r\n\x07tab\there\n";
        assert_eq!(clean_console(raw), "SeaBIOS\nLinux up\ntab\there\n");
    }

    #[test]
    fn kvm_verdict_cache_is_keyed_by_host() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "grader-kvm-test-").unwrap();
        let path = dir.path().join("kvm-probe");
        std::fs::write(&path, "host 6.1.0\nkvm no\n").unwrap();
        assert_eq!(cached_verdict(&path, "host 6.1.0"), Some(false));
        assert_eq!(cached_verdict(&path, "host 6.2.0"), None);
        std::fs::write(&path, "host 6.1.0\nkvm yes\n").unwrap();
        assert_eq!(cached_verdict(&path, "host 6.1.0"), Some(true));
    }

    #[test]
    fn command_line_names_every_run_file_and_descriptor() {
        let paths = RunPaths::new(Path::new("/tmp/a,b"));
        let image = Image {
            kernel: "/k".into(),
            initrd: "/base".into(),
            hash: "h".into(),
        };
        let opts = QemuOptions {
            memory_mb: 192,
            deadline: Duration::from_secs(1),
            accel: Accel::Tcg,
            vcpus: 1,
        };
        let state = std::env::temp_dir().join(format!("grader-state-test-{}", std::process::id()));
        std::fs::write(&state, b"x").unwrap();
        let ram = Path::new("/snap/ram");
        let boot = Boot::Restore { ram, state: &state };
        let fds = Inherited::open(boot).unwrap();
        let command = qemu_command(Path::new("qemu"), &image, &paths, &opts, boot, &fds);
        std::fs::remove_file(&state).unwrap();
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let after = |flag: &str| args[args.iter().position(|a| a == flag).unwrap() + 1].clone();
        assert_eq!(after("-m"), "192");
        assert_eq!(after("-initrd"), "/base");
        assert_eq!(after("-serial"), "file:/tmp/a,b/console.log");
        assert_eq!(after("-incoming"), "defer");
        let agent_fd = fds.agent.guest_fd();
        assert!(args.contains(&format!("socket,id=port1,fd={agent_fd}")));
        assert!(args
            .iter()
            .any(|a| a.ends_with("mem-path=/snap/ram,share=off")));
        assert!(args.windows(2).any(|w| w == ["-accel", "tcg"]));
        assert_eq!(fds.numbers().len(), 3);
    }
}
