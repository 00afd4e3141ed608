//! Boots the guest image under QEMU for one job: the job's files go in as a cpio archive
//! appended to the base initramfs, the agent's events come out through a virtio serial
//! port written to a host file, and a host-side deadline bounds the whole run.
//!
//! QEMU never outlives [`run_guest`]: every exit path kills and reaps it, and the child
//! asks the kernel to SIGKILL it should the grader die first (`PR_SET_PDEATHSIG`).

pub mod initrd;
pub mod line;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cpio::{CpioError, Tree};
use crate::image::scratch::{self, ScratchDir};
use crate::image::Image;
use crate::protocol::RESULTS_PORT_NAME;
use crate::sandbox::child::{self, Reaper};
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
/// meaningless in a virtual machine.
pub const KERNEL_APPEND: &str = "console=ttyS0 quiet panic=-1 no_timer_check";
/// Bytes of console output kept (the end of it).
pub const CONSOLE_CAP: u64 = 64 << 10;
/// Time QEMU gets to exit after SIGTERM before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(2);
/// Per-run scratch directories, in the temporary directory.
const SCRATCH_PREFIX: &str = "grader-qemu-";
/// Deadline of the KVM probe boot; TCG boots in under 2 s, working KVM faster.
const KVM_PROBE_DEADLINE: Duration = Duration::from_secs(4);

/// A file put into the guest for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFile {
    /// Absolute guest path, e.g. `/job/job.json`, `/job/bin/msgq`; parents are created.
    pub path: String,
    /// Contents.
    pub data: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
}

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
}

/// What a run left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRun {
    /// Everything the agent wrote to the results port, byte-exact.
    pub results: Vec<u8>,
    /// The end of the serial console ([`CONSOLE_CAP`] bytes), without `\r` and escape codes.
    pub console: String,
    /// QEMU's own stderr (why it refused to start, if it did).
    pub qemu_stderr: String,
    /// From spawning QEMU to reaping it.
    pub duration: Duration,
    /// The deadline passed and QEMU was terminated.
    pub timed_out: bool,
    /// QEMU's exit code; `None` if a signal ended it. Says nothing about the guest.
    pub qemu_status: Option<i32>,
}

/// Errors of running QEMU (the host side; a misbehaving guest is a [`GuestRun`]).
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// QEMU is not installed.
    #[error("failed to find {QEMU_BINARY} in PATH; install it with `{QEMU_INSTALL_HINT}`")]
    NotInstalled,
    /// A guest path is not absolute.
    #[error("failed to place {path:?} in the guest: guest paths must be absolute")]
    RelativePath {
        /// The path.
        path: String,
    },
    /// The run's scratch files could not be created or read.
    #[error("failed to prepare or read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The job archive could not be assembled.
    #[error("failed to assemble the job archive")]
    Cpio(#[from] CpioError),
    /// The per-run initrd could not be written.
    #[error(transparent)]
    Initrd(#[from] InitrdError),
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

/// Boots `image` with `files` added, until the guest powers off or the deadline passes.
pub fn run_guest(
    image: &Image,
    files: &[GuestFile],
    opts: &QemuOptions,
) -> Result<GuestRun, QemuError> {
    let qemu = qemu_available()?;
    scratch::sweep(&std::env::temp_dir(), SCRATCH_PREFIX);
    let scratch =
        ScratchDir::new(&std::env::temp_dir(), SCRATCH_PREFIX).map_err(|source| QemuError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let paths = RunPaths::new(scratch.path());
    write_initrd(&image.initrd, files, &paths.initrd)?;
    let mut command = qemu_command(&qemu, image, &paths, opts);
    let stderr = File::create(&paths.stderr).map_err(|source| QemuError::Io {
        path: paths.stderr.clone(),
        source,
    })?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    child::tie_to_parent(&mut command, &[]);
    let start = Instant::now();
    let spawned = command.spawn().map_err(|source| QemuError::Spawn {
        program: qemu.clone(),
        source,
    })?;
    let pid = spawned.id();
    let mut guard = Reaper::new(spawned);
    let ended = guard
        .wait_or_stop(start + opts.deadline, TERM_GRACE)
        .map_err(|source| QemuError::Wait { pid, source })?;
    let duration = start.elapsed();
    Ok(GuestRun {
        results: read_all(&paths.results)?,
        console: clean_console(&read_tail(&paths.console, CONSOLE_CAP)?),
        qemu_stderr: String::from_utf8_lossy(&read_tail(&paths.stderr, CONSOLE_CAP)?).into_owned(),
        duration,
        timed_out: ended.timed_out,
        qemu_status: ended.status.and_then(|s| s.code()),
    })
}

/// The files of one run, all in its scratch directory.
#[derive(Debug)]
struct RunPaths {
    initrd: PathBuf,
    console: PathBuf,
    results: PathBuf,
    stderr: PathBuf,
}

impl RunPaths {
    fn new(dir: &Path) -> Self {
        RunPaths {
            initrd: dir.join("initrd.cpio"),
            console: dir.join("console.log"),
            results: dir.join("results.jsonl"),
            stderr: dir.join("qemu.stderr"),
        }
    }
}

/// The base initramfs, then a cpio of `files` and their parent directories.
fn write_initrd(base: &Path, files: &[GuestFile], dest: &Path) -> Result<(), QemuError> {
    let mut tree = Tree::new();
    for file in files {
        if !file.path.starts_with('/') {
            return Err(QemuError::RelativePath {
                path: file.path.clone(),
            });
        }
        tree.file(&file.path, file.mode, file.data.clone())?;
    }
    Ok(initrd::append(base, &tree, dest)?)
}

/// The scenario guest's command line: the grader's own guest (see
/// [`QemuLine::grader_guest`]), the console to a file, the agent's events to a virtio
/// serial port backed by another file (the console mangles bytes, the port does not).
fn qemu_command(qemu: &Path, image: &Image, paths: &RunPaths, opts: &QemuOptions) -> Command {
    let mut line = QemuLine::grader_guest(opts.accel, opts.memory_mb);
    line.boot(&image.kernel, &paths.initrd, KERNEL_APPEND)
        .console_file(&paths.console)
        .port_to_file(RESULTS_PORT_NAME, &paths.results);
    line.command(qemu)
}

fn read_all(path: &Path) -> Result<Vec<u8>, QemuError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        // QEMU never started the chardev (it refused its command line): no output.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(QemuError::Io {
            path: path.into(),
            source,
        }),
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
    };
    matches!(run_guest(image, &[], &opts), Ok(run) if !run.timed_out && run.qemu_status == Some(0))
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
    fn appended_job_archive_starts_aligned() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "grader-qemu-test-").unwrap();
        let base = dir.path().join("base.cpio");
        let mut base_tree = Tree::new();
        base_tree
            .file("init", 0o755, b"#!/bin/sh\n".to_vec())
            .unwrap();
        let mut bytes = base_tree.write(Vec::new()).unwrap();
        bytes.extend_from_slice(&[0, 0]); // a base that is not padded
        std::fs::write(&base, &bytes).unwrap();
        let file = GuestFile {
            path: "/job/bin/msgq".into(),
            data: b"ELF".to_vec(),
            mode: 0o755,
        };
        let dest = dir.path().join("initrd");
        write_initrd(&base, std::slice::from_ref(&file), &dest).unwrap();
        let all = std::fs::read(&dest).unwrap();
        let appended = crate::cpio::tests::parse(&all[bytes.len().next_multiple_of(4)..]);
        let names: Vec<&str> = appended.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(names, ["job", "job/bin", "job/bin/msgq"]);
        assert_eq!(appended[2].3, b"ELF");
        let relative = GuestFile {
            path: "job/x".into(),
            ..file
        };
        assert!(matches!(
            write_initrd(&base, &[relative], &dest),
            Err(QemuError::RelativePath { .. })
        ));
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
    fn command_line_names_every_run_file() {
        let dir = Path::new("/tmp/a,b");
        let paths = RunPaths::new(dir);
        let image = Image {
            kernel: "/k".into(),
            initrd: "/base".into(),
            hash: "h".into(),
        };
        let opts = QemuOptions {
            memory_mb: 192,
            deadline: Duration::from_secs(1),
            accel: Accel::Tcg,
        };
        let command = qemu_command(Path::new("qemu"), &image, &paths, &opts);
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let after = |flag: &str| args[args.iter().position(|a| a == flag).unwrap() + 1].clone();
        assert_eq!(after("-m"), "192");
        assert_eq!(after("-initrd"), "/tmp/a,b/initrd.cpio");
        assert_eq!(
            after("-chardev"),
            "file,id=port1,path=/tmp/a,,b/results.jsonl"
        );
        assert_eq!(after("-serial"), "file:/tmp/a,b/console.log");
        assert!(args.windows(2).any(|w| w == ["-accel", "tcg"]));
    }
}
