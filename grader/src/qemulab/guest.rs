//! The lab7 guest and the grader's own QEMU options. The guest is the grader's image
//! (Debian cloud kernel, busybox initramfs) with `vm-images/lab7/init` and this run's
//! `/etc/lab7.env` appended as a second cpio archive: the later `/init` replaces the
//! IPC agent's. The kernel is copied into the run directory so that an unprivileged QEMU
//! can read it wherever the workspace lives.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::console::{Console, Stop, READY};
use super::procs::{self, Launcher, Token};
use crate::cpio::Tree;
use crate::image::Image;
use crate::sandbox::qemu::QemuLine;

/// The lab7 guest's `/init`, relative to the workspace root.
pub const INIT_PATH: &str = "vm-images/lab7/init";

/// Failures to prepare the guest (infrastructure, never the student's).
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// A file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("failed to write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The overlay archive could not be built.
    #[error("failed to build the lab7 guest's archive")]
    Cpio(#[from] crate::cpio::CpioError),
    /// The guest's initrd could not be written.
    #[error("failed to write the lab7 guest's initrd")]
    Initrd(#[from] crate::sandbox::qemu::InitrdError),
}

/// The files the student's `-kernel` and `-initrd` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFiles {
    /// `$KERNEL`.
    pub kernel: PathBuf,
    /// `$INITRD`.
    pub initrd: PathBuf,
}

/// Writes the guest for one run into `run_dir`.
pub fn prepare(
    root: &Path,
    image: &Image,
    run_dir: &Path,
    guest_port: u16,
    nonce: &str,
) -> Result<GuestFiles, GuestError> {
    let read =
        |path: PathBuf| std::fs::read(&path).map_err(|source| GuestError::Read { path, source });
    let init = read(root.join(INIT_PATH))?;
    let kernel = run_dir.join("vmlinuz");
    std::fs::copy(&image.kernel, &kernel).map_err(|source| GuestError::Write {
        path: kernel.clone(),
        source,
    })?;
    let mut overlay = Tree::new();
    overlay.file("init", 0o755, init)?;
    let env = format!("GUEST_PORT={guest_port}\nLAB7_NONCE={nonce}\n");
    overlay.file("etc/lab7.env", 0o644, env.into_bytes())?;
    let initrd = run_dir.join("initrd.cpio");
    crate::sandbox::qemu::initrd::append(&image.initrd, &overlay, &initrd)?;
    Ok(GuestFiles { kernel, initrd })
}

/// The grader's QMP socket as a `-readconfig` file: unlike `-qmp`, which cancels the
/// monitor `-nographic` puts on stdio, a monitor from a config file leaves it there.
pub fn write_qmp_config(run_dir: &Path, socket: &Path) -> Result<PathBuf, GuestError> {
    let path = run_dir.join("grader-qmp.cfg");
    let text = format!(
        "# Written by the grader: its QMP socket, next to the student's monitor.\n\
         [chardev \"grader-qmp\"]\n  backend = \"socket\"\n  path = \"{}\"\n  server = \"on\"\n  wait = \"off\"\n\n\
         [mon \"grader-qmp\"]\n  mode = \"control\"\n  chardev = \"grader-qmp\"\n",
        socket.display()
    );
    std::fs::write(&path, text).map_err(|source| GuestError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Boots the guest with the grader's own known-good command line and waits for its
/// shell: `Ok` means the guest works here (a failure of the student's boot is theirs),
/// `Err` says why it does not (an infrastructure fault).
pub fn probe(
    files: &GuestFiles,
    launcher: &Launcher,
    token: &Token,
    deadline: Duration,
) -> Result<(), String> {
    let qemu = crate::sandbox::qemu::qemu_available().map_err(|e| e.to_string())?;
    let mut line = QemuLine::new();
    // See sandbox::qemu::KERNEL_APPEND: a loaded host must not fail this probe.
    line.nographic()
        .memory(256)
        .boot(&files.kernel, &files.initrd, "console=ttyS0 no_timer_check");
    let args = line.as_args();
    let mut command = launcher.command(&qemu, args, token);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command
        .spawn()
        .map_err(|e| format!("the probe QEMU could not start: {e}"))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("the probe QEMU has no stdio".into());
    };
    let mut console = Console::new(stdin, stdout);
    let waited = console.wait_for(READY.as_bytes(), Instant::now() + deadline);
    procs::kill_tagged(token);
    let _ = child.wait();
    match waited {
        Ok(_) => Ok(()),
        Err(Stop::Closed) => Err(format!(
            "QEMU exited while booting the lab7 guest:\n{}",
            console.tail(15)
        )),
        Err(Stop::Timeout) => Err(format!(
            "the lab7 guest did not boot within {} s with the grader's own command line:\n{}",
            deadline.as_secs(),
            console.tail(15)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::scratch::ScratchDir;

    #[test]
    fn the_overlay_follows_the_base_aligned_and_names_the_port() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "grader-lab7-guest-test-").unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let base = dir.path().join("base.cpio");
        let mut tree = Tree::new();
        tree.file("init", 0o755, b"#!/bin/sh\n".to_vec()).unwrap();
        let mut bytes = tree.write(Vec::new()).unwrap();
        bytes.push(0); // unaligned on purpose
        std::fs::write(&base, &bytes).unwrap();
        std::fs::write(dir.path().join("k"), b"kernel").unwrap();
        let image = Image {
            kernel: dir.path().join("k"),
            initrd: base,
            hash: "h".into(),
        };
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let files = prepare(root, &image, &run, 8123, "n0nce").unwrap();
        assert_eq!(std::fs::read(&files.kernel).unwrap(), b"kernel");
        let all = std::fs::read(&files.initrd).unwrap();
        let appended = crate::cpio::tests::parse(&all[bytes.len().next_multiple_of(4)..]);
        let env = appended.iter().find(|e| e.0 == "etc/lab7.env").unwrap();
        assert_eq!(env.3, b"GUEST_PORT=8123\nLAB7_NONCE=n0nce\n");
        let init = appended.iter().find(|e| e.0 == "init").unwrap();
        assert!(String::from_utf8_lossy(&init.3).contains("lab7-facts"));
    }

    #[test]
    fn the_qmp_config_names_the_socket() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "grader-lab7-cfg-test-").unwrap();
        let cfg = write_qmp_config(dir.path(), &dir.path().join("qmp.sock")).unwrap();
        let text = std::fs::read_to_string(cfg).unwrap();
        assert!(text.contains(&format!(
            "path = \"{}\"",
            dir.path().join("qmp.sock").display()
        )));
        assert!(text.contains("mode = \"control\""));
    }
}
