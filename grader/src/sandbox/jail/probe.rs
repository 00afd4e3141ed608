//! Whether the jail works on this machine: bwrap and prlimit present, and a trivial
//! command run through the very same path as every build. When it does not, why, and
//! the command that fixes it (`cargo grader doctor` prints both).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::{Identity, Jail, JailCommand, Rlimits};

/// Environment variable naming the bwrap binary (default: `bwrap` in `PATH`).
pub const BWRAP_ENV: &str = "GRADER_BWRAP";
/// How to get bwrap on Debian.
pub const BWRAP_INSTALL_HINT: &str = "apt-get install -y --no-install-recommends bubblewrap";

/// Why the jail cannot be made here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// No bwrap binary.
    #[error("bubblewrap (bwrap) is not installed: {looked}")]
    Missing {
        /// Where it was looked for.
        looked: String,
    },
    /// No prlimit (util-linux), which sets the jail's limits.
    #[error(
        "{} is missing (util-linux), which sets the jail's limits",
        super::argv::PRLIMIT
    )]
    NoPrlimit,
    /// bwrap is there but cannot create the jail.
    #[error("bwrap cannot create the jail on this machine: {message}")]
    Refused {
        /// What bwrap (or the probe) said.
        message: String,
        /// What to do about it.
        fix: String,
    },
}

impl Unavailable {
    /// The command or action that makes the jail work.
    pub fn fix(&self) -> String {
        match self {
            Unavailable::Missing { .. } => BWRAP_INSTALL_HINT.to_string(),
            Unavailable::NoPrlimit => "apt-get install -y util-linux".to_string(),
            Unavailable::Refused { fix, .. } => fix.clone(),
        }
    }
}

fn find_bwrap() -> Result<PathBuf, Unavailable> {
    if let Some(path) = std::env::var_os(BWRAP_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Unavailable::Missing {
                looked: format!("{BWRAP_ENV}={} does not exist", path.display()),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("bwrap"))
        .find(|p| p.is_file())
        .ok_or_else(|| Unavailable::Missing {
            looked: "no `bwrap` in PATH or /usr/bin".into(),
        })
}

fn read_sysctl(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// What blocks user namespaces here, if a known switch does.
fn userns_fix() -> String {
    let switches = [
        (
            "/proc/sys/kernel/unprivileged_userns_clone",
            "0",
            "sysctl -w kernel.unprivileged_userns_clone=1 (and put kernel.unprivileged_userns_clone=1 in /etc/sysctl.d/90-grader.conf)",
        ),
        (
            "/proc/sys/user/max_user_namespaces",
            "0",
            "sysctl -w user.max_user_namespaces=15000 (and put it in /etc/sysctl.d/90-grader.conf)",
        ),
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1",
            "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile allowing userns for /usr/bin/bwrap",
        ),
    ];
    for (path, blocking, fix) in switches {
        if read_sysctl(path).as_deref() == Some(blocking) {
            return format!("{path} is {blocking}: {fix}");
        }
    }
    "check that unprivileged user namespaces are allowed (a container may forbid them: run the grader on the host or in a VM), or pass --unsafe-host-build to build without the jail".into()
}

/// The trivial command the probe runs.
fn probe_command() -> JailCommand {
    JailCommand {
        program: "/usr/bin/true".into(),
        args: Vec::new(),
        mounts: Vec::new(),
        dirs: Vec::new(),
        cwd: "/".into(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        limits: Rlimits {
            nproc: 16,
            fsize_bytes: 1 << 20,
            address_space_bytes: 1 << 30,
            cpu_seconds: 10,
            nofile: 64,
        },
        deadline: Duration::from_secs(20),
        quota: None,
        output_cap: 16 << 10,
        merge_output: true,
        nested_userns: false,
        tmp_bytes: None,
    }
}

fn version(bwrap: &Path) -> String {
    std::process::Command::new(bwrap)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn probe_uncached(uid: u32) -> Result<Jail, Unavailable> {
    let bwrap = find_bwrap()?;
    if !Path::new(super::argv::PRLIMIT).is_file() {
        return Err(Unavailable::NoPrlimit);
    }
    // SAFETY: geteuid has no preconditions.
    let identity = if unsafe { libc::geteuid() } == 0 {
        Identity::Dedicated { uid, gid: uid }
    } else {
        Identity::Own
    };
    let jail = Jail {
        version: version(&bwrap),
        bwrap,
        identity,
    };
    match super::run::jailed(&jail, &probe_command()) {
        Ok(out) if out.success() => Ok(jail),
        Ok(out) => Err(Unavailable::Refused {
            message: format!(
                "a trivial command failed in the jail ({:?}): {}",
                out.ended,
                String::from_utf8_lossy(&out.stdout).trim()
            ),
            fix: userns_fix(),
        }),
        Err(e) => Err(Unavailable::Refused {
            message: e.to_string(),
            fix: userns_fix(),
        }),
    }
}

/// Probes the jail once per process (per dedicated uid and bwrap choice).
pub(super) fn probe(uid: u32) -> Result<Jail, Unavailable> {
    type Cache = Vec<((u32, Option<std::ffi::OsString>), Result<Jail, Unavailable>)>;
    static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
    let key = (uid, std::env::var_os(BWRAP_ENV));
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, r)) = cache.iter().find(|(k, _)| *k == key) {
        return r.clone();
    }
    let r = probe_uncached(uid);
    cache.push((key, r.clone()));
    r
}

/// The account that holds `uid` in `/etc/passwd`, if any: the dedicated uid must be
/// nobody's.
pub fn uid_owner(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}
