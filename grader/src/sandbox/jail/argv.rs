//! The bwrap command line for one [`JailCommand`]: every namespace, the identity, the
//! read-only system view (`/usr` and the merged-`/usr` links, a minimal `/etc` without
//! `shadow`, fresh `/proc` and `/dev`), the command's own mounts, a read-only root, and
//! `prlimit` in front of the command so that its limits are set inside the jail's user
//! namespace. The options are handed to bwrap through a pipe (`--args`), so the jail's
//! `/proc/1/cmdline` shows the command (jail paths only), never the host paths.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{JailCommand, INSIDE_ID};

/// Descriptor bwrap writes its JSON status documents to.
pub(super) const STATUS_FD: i32 = 3;
/// Descriptor holding the jail's `/etc/passwd`.
pub(super) const PASSWD_FD: i32 = 4;
/// Descriptor holding the jail's `/etc/group`.
pub(super) const GROUP_FD: i32 = 5;
/// Descriptor holding the NUL-separated argument list.
pub(super) const ARGS_FD: i32 = 6;
/// util-linux's `prlimit`, which sets the limits and execs the command.
pub(super) const PRLIMIT: &str = "/usr/bin/prlimit";

/// Entries of `/` that hold the system: links into `/usr` on a merged-`/usr` system,
/// directories otherwise.
const SYSTEM_ENTRIES: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32"];
/// What a toolchain needs from the host's `/etc`: the dynamic loader's cache and
/// configuration, and the alternatives links (`cc` → `gcc`).
const HOST_ETC: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
];

/// The jail's `/etc/passwd`: the build user and `nobody`, no password hashes anywhere.
pub(super) fn passwd() -> String {
    format!(
        "student:x:{INSIDE_ID}:{INSIDE_ID}:student:/home/student:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
}

/// The jail's `/etc/group`.
pub(super) fn group() -> String {
    format!("student:x:{INSIDE_ID}:\nnogroup:x:65534:\n")
}

fn push(args: &mut Vec<OsString>, items: &[&str]) {
    args.extend(items.iter().map(OsString::from));
}

fn push_path(args: &mut Vec<OsString>, flag: &str, a: &Path, b: &Path) {
    args.push(flag.into());
    args.push(a.as_os_str().to_owned());
    args.push(b.as_os_str().to_owned());
}

/// How the host's `/bin`, `/lib`… appear: the same links, or read-only binds.
fn system_entries(args: &mut Vec<OsString>) {
    for name in SYSTEM_ENTRIES {
        let path = Path::new("/").join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(&path) {
                    push_path(args, "--symlink", &target, &path);
                }
            }
            Ok(m) if m.is_dir() => push_path(args, "--ro-bind", &path, &path),
            _ => {}
        }
    }
}

/// Namespaces, identity and the status descriptor.
fn isolation(args: &mut Vec<OsString>, cmd: &JailCommand) {
    push(args, &["--unshare-all", "--unshare-user"]);
    if !cmd.nested_userns {
        push(args, &["--disable-userns"]);
    }
    let id = INSIDE_ID.to_string();
    push(
        args,
        &[
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--hostname",
            "grader-jail",
            "--uid",
            &id,
            "--gid",
            &id,
            "--json-status-fd",
            &STATUS_FD.to_string(),
        ],
    );
}

/// The read-only system: `/usr`, the links into it, a minimal `/etc`, fresh `/proc` and
/// `/dev`, `/tmp` (read-only, or a sized tmpfs) and the command's empty directories.
fn system(args: &mut Vec<OsString>, cmd: &JailCommand) {
    push(args, &["--ro-bind", "/usr", "/usr"]);
    system_entries(args);
    for etc in HOST_ETC {
        push(args, &["--ro-bind-try", etc, etc]);
    }
    for (fd, file) in [(PASSWD_FD, "/etc/passwd"), (GROUP_FD, "/etc/group")] {
        push(
            args,
            &["--perms", "0644", "--ro-bind-data", &fd.to_string(), file],
        );
    }
    push(args, &["--proc", "/proc", "--dev", "/dev"]);
    match cmd.tmp_bytes {
        Some(n) => push(args, &["--size", &n.to_string(), "--tmpfs", "/tmp"]),
        None => push(args, &["--dir", "/tmp"]),
    }
    for dir in &cmd.dirs {
        args.push("--dir".into());
        args.push(dir.as_os_str().to_owned());
    }
    // The device nodes stay usable; nothing else on the /dev tmpfs can be written.
    push(args, &["--remount-ro", "/dev"]);
}

/// bwrap's options, read from `--args FD`; `sources[i]` is the host path bwrap binds for
/// `cmd.mounts[i]` (the mount's own path, or its staged copy when bwrap starts as the
/// dedicated uid).
pub(super) fn bwrap_options(cmd: &JailCommand, sources: &[PathBuf]) -> Vec<OsString> {
    let mut args = Vec::new();
    isolation(&mut args, cmd);
    system(&mut args, cmd);
    for (mount, source) in cmd.mounts.iter().zip(sources) {
        let flag = if mount.writable {
            "--bind"
        } else {
            "--ro-bind"
        };
        push_path(&mut args, flag, source, &mount.jail);
    }
    // The root tmpfs itself (what is not a mount) is read-only: no unbounded RAM to fill.
    push(&mut args, &["--remount-ro", "/"]);
    args.push("--chdir".into());
    args.push(cmd.cwd.as_os_str().to_owned());
    for (k, v) in &cmd.env {
        push(&mut args, &["--setenv", k, v]);
    }
    args
}

/// The command bwrap runs (after `--` on its own command line, which bwrap requires):
/// `prlimit --nproc=N:N … -- PROGRAM ARGS`.
pub(super) fn command(cmd: &JailCommand) -> Vec<OsString> {
    let l = &cmd.limits;
    let mut args: Vec<OsString> = vec![PRLIMIT.into()];
    for (flag, v) in [
        ("nproc", l.nproc),
        ("fsize", l.fsize_bytes),
        ("as", l.address_space_bytes),
        ("cpu", l.cpu_seconds),
        ("nofile", l.nofile),
        ("core", 0),
    ] {
        args.push(format!("--{flag}={v}:{v}").into());
    }
    args.push("--".into());
    args.push(cmd.program.as_os_str().to_owned());
    args.extend(cmd.args.iter().cloned());
    args
}

/// The argument list as bwrap's `--args` reads it: each argument NUL-terminated.
pub(super) fn encode(args: &[OsString]) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    for a in args {
        out.extend_from_slice(a.as_bytes());
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::jail::{Mount, Rlimits};
    use std::time::Duration;

    fn sample() -> JailCommand {
        JailCommand {
            program: "/usr/bin/make".into(),
            args: vec!["msgq".into()],
            mounts: vec![
                Mount::rw("/host/work/src", "/build/src"),
                Mount::ro("/host/rust", "/opt/rust"),
            ],
            dirs: vec!["/dev/mqueue".into()],
            cwd: "/build/src".into(),
            env: vec![("PATH".into(), "/usr/bin".into())],
            limits: Rlimits {
                nproc: 64,
                fsize_bytes: 1 << 20,
                address_space_bytes: 1 << 30,
                cpu_seconds: 10,
                nofile: 256,
            },
            deadline: Duration::from_secs(5),
            quota: None,
            output_cap: 1024,
            merge_output: true,
            nested_userns: false,
            tmp_bytes: None,
        }
    }

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn every_namespace_is_new_and_user_namespaces_are_closed_to_builds() {
        let args = strings(&bwrap_options(&sample(), &["/s/0".into(), "/s/1".into()]));
        let text = args.join(" ");
        assert!(text.starts_with("--unshare-all --unshare-user --disable-userns --die-with-parent --new-session --clearenv"), "{text}");
        let mut nested = sample();
        nested.nested_userns = true;
        let text = strings(&bwrap_options(&nested, &["/a".into(), "/b".into()])).join(" ");
        assert!(!text.contains("--disable-userns"), "{text}");
    }

    #[test]
    fn mounts_use_their_sources_and_the_root_ends_read_only() {
        let args = strings(&bwrap_options(&sample(), &["/s/0".into(), "/s/1".into()]));
        let text = args.join(" ");
        assert!(text.contains("--bind /s/0 /build/src"), "{text}");
        assert!(text.contains("--ro-bind /s/1 /opt/rust"), "{text}");
        assert!(
            text.contains("--dir /dev/mqueue --remount-ro /dev"),
            "{text}"
        );
        let root_ro = args.iter().position(|a| a == "/").unwrap();
        let last_mount = args.iter().rposition(|a| a == "/opt/rust").unwrap();
        assert!(root_ro > last_mount, "{text}");
        assert!(
            !text.contains("shadow") && !text.contains("/home"),
            "{text}"
        );
        assert!(text.contains("--dir /tmp"), "{text}");
        let mut tmp = sample();
        tmp.tmp_bytes = Some(1 << 20);
        let text = strings(&bwrap_options(&tmp, &["/a".into(), "/b".into()])).join(" ");
        assert!(text.contains("--size 1048576 --tmpfs /tmp"), "{text}");
    }

    #[test]
    fn the_command_runs_under_prlimit_with_soft_equal_hard() {
        let args = strings(&command(&sample()));
        assert_eq!(
            args,
            [
                PRLIMIT,
                "--nproc=64:64",
                "--fsize=1048576:1048576",
                "--as=1073741824:1073741824",
                "--cpu=10:10",
                "--nofile=256:256",
                "--core=0:0",
                "--",
                "/usr/bin/make",
                "msgq"
            ]
        );
    }

    #[test]
    fn arguments_are_nul_terminated_for_bwrap() {
        assert_eq!(encode(&["a".into(), "b c".into()]), b"a\0b c\0");
    }
}
