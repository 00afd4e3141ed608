//! `cargo grader doctor`: what this machine has and lacks for grading, each missing piece
//! with the command that fixes it.

use std::path::Path;
use std::process::Command;

use crate::course::Course;

/// One check.
#[derive(Debug, Clone)]
pub struct Finding {
    /// What was checked.
    pub what: String,
    /// Whether it is fine.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// The command or action that fixes it.
    pub fix: Option<String>,
}

fn finding(what: &str, ok: bool, detail: String, fix: &str) -> Finding {
    Finding {
        what: what.into(),
        ok,
        detail,
        fix: (!ok).then(|| fix.to_string()),
    }
}

fn version_of(program: &str, arg: &str) -> Option<String> {
    let out = Command::new(program).arg(arg).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("").trim().to_string();
    out.status.success().then_some(first)
}

fn tool(what: &str, program: &str, fix: &str) -> Finding {
    match version_of(program, "--version") {
        Some(v) => finding(what, true, v, fix),
        None => finding(what, false, format!("`{program}` not found"), fix),
    }
}

const APT: &str = "apt-get update && apt-get install -y --no-install-recommends --allow-downgrades qemu-system-x86 qemu-utils/bookworm busybox-static gcc libc6-dev make";

/// Runs every check.
pub fn diagnose(cwd: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let course = Course::discover(cwd);
    match &course {
        Ok(c) => out.push(finding(
            "course.toml",
            true,
            format!("{} labs, root {}", c.labs.len(), c.root.display()),
            "",
        )),
        Err(e) => out.push(finding(
            "course.toml",
            false,
            e.to_string(),
            "run from a checkout of the course repository",
        )),
    }
    if let Ok(c) = &course {
        for lab in &c.labs {
            if let Err(e) = crate::grade::engine(c, lab) {
                out.push(finding(
                    &format!("{} spec", lab.id),
                    false,
                    e.to_string(),
                    "fix the spec file named above",
                ));
            }
        }
    }
    out.push(tool("cargo", "cargo", "install Rust with rustup"));
    out.push(tool("gcc (C submissions)", "gcc", APT));
    out.push(finding(
        "static glibc (libc.a)",
        Path::new("/usr/lib/x86_64-linux-gnu/libc.a").is_file(),
        "needed to link guest binaries statically".into(),
        "apt-get install -y libc6-dev",
    ));
    out.push(tool("qemu-system-x86_64", "qemu-system-x86_64", APT));
    out.push(tool("qemu-img (lab7)", "qemu-img", APT));
    out.push(tool(
        "apt-get (downloads the guest's Debian packages)",
        "apt-get",
        "run on Debian, or copy vm-images/cache/debs from a machine that has them",
    ));
    out.push(finding(
        "dpkg-deb (unpacks the guest's packages)",
        version_of("dpkg-deb", "--version").is_some(),
        "needed to build the guest image".into(),
        "run on Debian",
    ));
    out.push(finding(
        "/dev/kvm",
        Path::new("/dev/kvm").exists(),
        "optional: used only when a probe boot shows it works; TCG is the normal case".into(),
        "nothing to do: the guest runs under TCG",
    ));
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    out.push(finding(
        "local backend isolation",
        root || Path::new("/proc/self/ns/user").exists(),
        if root { "running as root: fresh IPC and mount namespaces per scenario".into() } else { "not root: a user namespace is used".into() },
        "run as root, or enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
    ));
    if let Ok(c) = &course {
        let agent = crate::image::agent_path(&c.root);
        let status = crate::image::status(&c.root, &agent);
        let snapshot = crate::session::snapshot_status(c, status.image.as_ref());
        out.push(finding("guest image", true, status.to_string(), ""));
        out.push(finding(
            "guest snapshot (every guest starts from it)",
            true,
            snapshot,
            "",
        ));
    }
    out
}
