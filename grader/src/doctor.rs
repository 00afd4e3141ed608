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

const APT: &str = "apt-get update && apt-get install -y --no-install-recommends --allow-downgrades qemu-system-x86 qemu-utils/bookworm busybox-static gcc libc6-dev make bubblewrap";

/// Whether the build jail (also the local backend's) works here, and as whom.
fn jail_finding(uid: u32) -> Finding {
    use crate::sandbox::jail::{self, Confinement, Identity};
    let what = "build jail (bubblewrap)";
    let refusal =
        "; until then grading refuses to build untrusted code unless --unsafe-host-build is given";
    match Confinement::for_host(uid, false) {
        Ok(Confinement::Jailed(j)) => {
            let who = match j.identity {
                Identity::Dedicated { uid, .. } => format!("as the dedicated host uid {uid}"),
                Identity::Own => "as this (unprivileged) user".to_string(),
            };
            let taken = matches!(j.identity, Identity::Dedicated { .. })
                .then(|| jail::uid_owner(uid))
                .flatten();
            match taken {
                Some(name) => finding(
                    what,
                    false,
                    format!("uid {uid} belongs to the account `{name}`"),
                    "set [build] uid in course.toml to a uid no account uses",
                ),
                None => finding(
                    what,
                    true,
                    format!("{}: builds and --backend local runs work {who}, without network, in their own user, mount, pid, network, IPC, UTS and cgroup namespaces", j.version),
                    "",
                ),
            }
        }
        Ok(Confinement::Unconfined { reason }) => {
            finding(what, false, reason, "install bubblewrap")
        }
        Err(e) => finding(what, false, e.to_string(), &format!("{}{refusal}", e.fix())),
    }
}

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
    let uid = course.as_ref().map_or_else(
        |_| crate::course::BuildSettings::default().uid,
        |c| c.build.uid,
    );
    out.push(jail_finding(uid));
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
