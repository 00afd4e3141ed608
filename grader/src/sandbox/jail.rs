//! The jail: every command a submission controls — a build step (`make` and its recipes,
//! `gcc` on the student's sources, `cargo` with the student's `build.rs` and proc macros)
//! or the local backend's agent and the student programs it starts — runs under
//! bubblewrap (`bwrap`, Debian's `bubblewrap`) in its own user, mount, pid, network, IPC,
//! UTS and cgroup namespaces, as an unprivileged uid, seeing only a read-only `/usr`, a
//! minimal `/etc` and the mounts it is given, under rlimits set inside its user namespace
//! (so that process counts are per jail), and with a wall-clock deadline that kills every
//! process it started however it holds its output. When the grader runs as root, bwrap
//! itself starts as a dedicated host uid, so the jail is unprivileged on the host too.
//!
//! Where the jail cannot be made (no bwrap, user namespaces disabled), [`Confinement`]
//! says so; the teacher may then choose, explicitly, to run the same commands on the host
//! ([`Confinement::Unconfined`]).

mod argv;
mod disk;
mod probe;
mod run;
mod stage;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use disk::{force_remove, DiskUsage};
pub use probe::{uid_owner, Unavailable, BWRAP_ENV, BWRAP_INSTALL_HINT};
pub use run::{Ended, JailOutput};

/// The uid/gid a jail's processes have inside it (`student` in its `/etc/passwd`).
pub const INSIDE_ID: u32 = 1000;

/// A host path the jailed command sees at `jail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The host file or directory.
    pub host: PathBuf,
    /// Where the command sees it.
    pub jail: PathBuf,
    /// Writable (else read-only).
    pub writable: bool,
}

impl Mount {
    /// A read-only mount.
    pub fn ro(host: impl Into<PathBuf>, jail: impl Into<PathBuf>) -> Mount {
        Mount {
            host: host.into(),
            jail: jail.into(),
            writable: false,
        }
    }

    /// A writable mount.
    pub fn rw(host: impl Into<PathBuf>, jail: impl Into<PathBuf>) -> Mount {
        Mount {
            host: host.into(),
            jail: jail.into(),
            writable: true,
        }
    }
}

/// Resource limits of every process a jailed command starts (soft = hard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimits {
    /// RLIMIT_NPROC: processes and threads at once, counted in the jail's own user
    /// namespace (two jails never share the count).
    pub nproc: u64,
    /// RLIMIT_FSIZE in bytes: the largest file a process may write.
    pub fsize_bytes: u64,
    /// RLIMIT_AS in bytes, per process.
    pub address_space_bytes: u64,
    /// RLIMIT_CPU in seconds, per process.
    pub cpu_seconds: u64,
    /// RLIMIT_NOFILE.
    pub nofile: u64,
}

/// How much a jailed command may write to its writable mounts, in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskQuota {
    /// Bytes allocated on disk, beyond what the mounts held at the start.
    pub bytes: u64,
    /// Files and directories, beyond the start.
    pub files: u64,
}

/// One command to run confined. Paths in `program`, `args`, `cwd` and `env` are the
/// command's own view: jail paths when jailed, host paths when unconfined (see
/// [`Confinement::view`]).
#[derive(Debug, Clone)]
pub struct JailCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// What it sees besides `/usr` and a minimal `/etc`.
    pub mounts: Vec<Mount>,
    /// Empty directories to create in the jail (mount points the command needs).
    pub dirs: Vec<PathBuf>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The whole environment.
    pub env: Vec<(String, String)>,
    /// Limits of every process.
    pub limits: Rlimits,
    /// Wall-clock deadline of the whole command, all its processes included.
    pub deadline: Duration,
    /// Cap on what it writes to its writable mounts (checked while it runs).
    pub quota: Option<DiskQuota>,
    /// Bytes of stdout (and of stderr) kept; the rest is read and dropped.
    pub output_cap: usize,
    /// stderr goes to the same pipe as stdout, interleaved as on a terminal.
    pub merge_output: bool,
    /// The command may create user namespaces of its own (the local agent does, for its
    /// per-scenario IPC namespaces and mounts); builds may not.
    pub nested_userns: bool,
    /// A writable tmpfs of this size at `/tmp`; without, `/tmp` is read-only (builds
    /// get a `TMPDIR` in their build directory instead).
    pub tmp_bytes: Option<u64>,
}

/// The host identity a jail runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The grader is root: bwrap starts as this dedicated uid/gid, which owns nothing
    /// else on the host.
    Dedicated {
        /// Host uid.
        uid: u32,
        /// Host gid.
        gid: u32,
    },
    /// The grader is an ordinary user: the jail runs as that user (already unprivileged).
    Own,
}

/// A working jail on this machine.
#[derive(Debug, Clone)]
pub struct Jail {
    /// The bwrap binary.
    pub bwrap: PathBuf,
    /// Its version line.
    pub version: String,
    /// Who the jail runs as.
    pub identity: Identity,
}

/// Failures to run a confined command: infrastructure faults, never the student's.
#[derive(Debug, thiserror::Error)]
pub enum JailError {
    /// The jail (or the program, unconfined) could not be started.
    #[error("failed to start {program}: {source}")]
    Spawn {
        /// What was started.
        program: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Staging the jail's mounts failed.
    #[error("failed to stage the jail's mounts in {path}: {source}")]
    Stage {
        /// The staging directory.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// bwrap refused to set the jail up (its own message).
    #[error("failed to set up the jail: {message}")]
    Setup {
        /// bwrap's words.
        message: String,
    },
    /// A path for the jail contains a NUL byte.
    #[error("failed to pass {what} to the jail: it contains a NUL byte")]
    Nul {
        /// Which path or argument.
        what: String,
    },
    /// Waiting for or reading from the command failed.
    #[error("failed to {what}: {source}")]
    Io {
        /// The operation.
        what: &'static str,
        /// Cause.
        source: std::io::Error,
    },
}

/// Where untrusted commands run on this host.
#[derive(Debug, Clone)]
pub enum Confinement {
    /// In the jail.
    Jailed(Jail),
    /// On the host as the grader, because the jail cannot be made here and the teacher
    /// passed `--unsafe-host-build`; `reason` says why the jail is unavailable.
    Unconfined {
        /// Why the jail could not be used.
        reason: String,
    },
}

impl Confinement {
    /// The jail if it works here (with `uid` as the dedicated identity when root);
    /// otherwise, only with `allow_unsafe`, unconfined; otherwise why not, with the fix.
    pub fn for_host(uid: u32, allow_unsafe: bool) -> Result<Confinement, Unavailable> {
        match probe::probe(uid) {
            Ok(jail) => Ok(Confinement::Jailed(jail)),
            Err(why) if allow_unsafe => Ok(Confinement::Unconfined {
                reason: why.to_string(),
            }),
            Err(why) => Err(why),
        }
    }

    /// Whether commands run in the jail.
    pub fn is_jailed(&self) -> bool {
        matches!(self, Confinement::Jailed(_))
    }

    /// The host uid/gid the command's writable directories must belong to, when it is
    /// not the grader's own.
    pub fn owner(&self) -> Option<(u32, u32)> {
        match self {
            Confinement::Jailed(Jail {
                identity: Identity::Dedicated { uid, gid },
                ..
            }) => Some((*uid, *gid)),
            _ => None,
        }
    }

    /// The path the command uses for something that is `host` on the host and mounted
    /// at `jail` in the jail.
    pub fn view(&self, host: &Path, jail: &str) -> PathBuf {
        match self {
            Confinement::Jailed(_) => PathBuf::from(jail),
            Confinement::Unconfined { .. } => host.to_owned(),
        }
    }

    /// The report notice for work done without the jail.
    pub fn notice(&self) -> Option<String> {
        match self {
            Confinement::Jailed(_) => None,
            Confinement::Unconfined { reason } => Some(format!(
                "this submission was built (and, with --backend local, run) on the grading host WITHOUT the jail, as the grader's own user, because --unsafe-host-build was given: {reason}"
            )),
        }
    }

    /// Runs a command, confined as decided, until it ends, its deadline passes or it
    /// writes past its quota.
    pub fn run(&self, cmd: &JailCommand) -> Result<JailOutput, JailError> {
        match self {
            Confinement::Jailed(jail) => run::jailed(jail, cmd),
            Confinement::Unconfined { .. } => run::unconfined(cmd),
        }
    }
}

#[cfg(test)]
mod tests;
