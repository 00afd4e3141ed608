//! Lab 7 (QEMU driven by the student's scripts, graded on the host): no QEMU outlives the
//! grader whatever the submission does, an unbootable guest is not the student's fault,
//! and `cargo grader check` covers the lab. The fixtures' verdicts are in fixtures.rs.

use std::process::Command;

use grader::report::{Backend, GradeReport};
use grader::score::Status;

use crate::util::{grader, report_in, root, tempdir, text};

/// Processes whose environment carries a lab 7 run token of grader process `pid`.
fn leftovers(pid: u32) -> Vec<String> {
    let needle = format!("GRADER_LAB7_RUN={pid}-");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie
            && environ
                .split(|&b| b == 0)
                .any(|v| v.starts_with(needle.as_bytes()))
        {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
        }
    }
    found
}

/// The reference solution with `boot.sh` hiding its QEMU (new session, in the background
/// with boot.sh's stdin, boot.sh itself sleeping) and `monitor.sh stop` doing nothing: the
/// VM is never stopped by the student and is out of boot.sh's process group.
fn hidden_vm_submission() -> std::path::PathBuf {
    let sub = tempdir("lab7-hidden-vm");
    let solution = root().join("solutions/lab7-qemu");
    std::fs::create_dir_all(&sub).unwrap();
    for file in ["disk.sh", "boot.sh", "monitor.sh", "guest.sh"] {
        std::fs::copy(solution.join(file), sub.join(file)).unwrap();
    }
    let boot = std::fs::read_to_string(sub.join("boot.sh")).unwrap();
    // A background command's stdin is /dev/null unless it comes through another fd.
    let hidden = boot
        .replacen(
            "exec qemu-system-x86_64",
            "exec 3<&0\nsetsid qemu-system-x86_64",
            1,
        )
        .replacen("    \"$@\"\n", "    \"$@\" <&3 &\nsleep 600\n", 1);
    assert_ne!(hidden, boot);
    std::fs::write(sub.join("boot.sh"), hidden).unwrap();
    let monitor = std::fs::read_to_string(sub.join("monitor.sh")).unwrap();
    std::fs::write(
        sub.join("monitor.sh"),
        monitor.replacen("echo \"quit\"", ":", 1),
    )
    .unwrap();
    sub
}

#[test]
fn no_qemu_outlives_the_grader_even_one_hidden_from_it() {
    let sub = hidden_vm_submission();
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-grader"))
        .args([
            "grader",
            "lab7",
            "--submission",
            sub.to_str().unwrap(),
            "--seed",
            "99",
            "--format",
            "json",
            "--quiet",
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let report: GradeReport = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report.backend, Backend::Host);
    let stop = report.tests.iter().find(|t| t.name == "stop").unwrap();
    assert_eq!(stop.status, Status::Timeout, "{}", stop.message);
    let hotplug = report.tests.iter().find(|t| t.name == "hotplug").unwrap();
    assert_eq!(
        hotplug.status,
        Status::Passed,
        "a QEMU in its own session is still graded: {}",
        hotplug.message
    );
    assert_eq!(
        leftovers(pid),
        Vec::<String>::new(),
        "processes of the run survived the grader"
    );
    for key in [
        "DISK_SIZE",
        "MEMORY",
        "BALLOON",
        "CPUS",
        "MAXCPUS",
        "ADD_CPUS",
        "HOST_PORT",
        "GUEST_PORT",
    ] {
        assert!(
            report.params.contains_key(key),
            "report.params lacks {key}: {:?}",
            report.params
        );
    }
}

/// A copy of the course whose lab7 guest powers itself off at boot: an infrastructure
/// fault, which must not cost the student anything.
#[test]
fn a_lab7_guest_that_cannot_boot_is_not_gradable() {
    let dir = tempdir("lab7-broken-guest");
    std::fs::create_dir_all(dir.join("vm-images/lab7")).unwrap();
    for entry in [
        "course.toml",
        "labs",
        "solutions",
        "grader",
        "target",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        std::os::unix::fs::symlink(root().join(entry), dir.join(entry)).unwrap();
    }
    for entry in ["image.toml", "init", "cache"] {
        std::os::unix::fs::symlink(
            root().join("vm-images").join(entry),
            dir.join("vm-images").join(entry),
        )
        .unwrap();
    }
    let init = "#!/bin/sh\n/bin/busybox mount -t proc proc /proc\necho 'lab7 init: broken on purpose'\n/bin/busybox poweroff -f\n";
    std::fs::write(dir.join("vm-images/lab7/init"), init).unwrap();
    let sub = root().join("solutions/lab7-qemu");
    let report = report_in(&dir, "lab7", &sub, &[], 3);
    assert!(!report.gradable && report.tests.is_empty());
    let reason = report.not_gradable_reason.unwrap();
    assert!(reason.contains("the lab7 guest does not boot"), "{reason}");
}

#[test]
fn check_grades_the_lab7_solution_and_skeleton() {
    let out = grader(&root(), &["check", "lab7"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line = |dir: &str| {
        stdout
            .lines()
            .find(|l| l.contains(dir))
            .unwrap_or_else(|| panic!("no line for {dir}:\n{stdout}"))
            .to_owned()
    };
    assert!(
        line("solutions/lab7-qemu").starts_with("ok")
            && line("solutions/lab7-qemu").contains("100/100"),
        "{stdout}"
    );
    assert!(line("labs/lab7-qemu").starts_with("ok"), "{stdout}");
}

#[test]
fn backend_local_is_refused_for_a_qemu_lab() {
    let out = grader(&root(), &["lab7", "--backend", "local"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("not --backend local"), "{stderr}");
}
