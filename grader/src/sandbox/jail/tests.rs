//! The jail on this machine (bubblewrap must be installed: a missing bwrap fails, it is
//! not skipped — CI installs it with scripts/setup-debian.sh).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn confinement() -> Confinement {
    Confinement::for_host(64999, false).unwrap_or_else(|e| panic!("{e}; fix: {}", e.fix()))
}

fn sh(script: &str) -> JailCommand {
    JailCommand {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        mounts: Vec::new(),
        dirs: Vec::new(),
        cwd: "/".into(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        limits: Rlimits {
            nproc: 32,
            fsize_bytes: 4 << 20,
            address_space_bytes: 1 << 30,
            cpu_seconds: 30,
            nofile: 64,
        },
        deadline: Duration::from_secs(20),
        quota: None,
        output_cap: 64 << 10,
        merge_output: true,
        nested_userns: false,
        tmp_bytes: None,
    }
}

fn text(out: &JailOutput) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A directory the jail's uid may write.
fn writable_dir(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("grader-jail-test-{label}-{}", std::process::id()));
    let _ = force_remove(&d);
    std::fs::create_dir_all(&d).unwrap();
    if let Some((uid, gid)) = confinement().owner() {
        std::os::unix::fs::chown(&d, Some(uid), Some(gid)).unwrap();
    }
    d
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(marker))
        .collect()
}

#[test]
fn the_deadline_kills_every_process_even_with_the_output_held_open() {
    let cmd = JailCommand {
        deadline: Duration::from_secs(1),
        ..sh("sleep 61.25 & sleep 61.25; echo never")
    };
    let out = confinement().run(&cmd).unwrap();
    assert_eq!(out.ended, Ended::Deadline);
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(processes_with("61.25"), Vec::<String>::new());
}

#[test]
fn the_system_is_read_only_and_secrets_are_absent() {
    let out = confinement()
        .run(&sh("echo x > /usr/pwned; echo x > /tmp/pwned; cat /etc/shadow; ls /root /home; id -u; cat /etc/passwd"))
        .unwrap();
    let t = text(&out);
    assert!(t.contains("/usr/pwned: Read-only file system"), "{t}");
    assert!(t.contains("/tmp/pwned: Read-only file system"), "{t}");
    assert!(t.contains("/etc/shadow: No such file or directory"), "{t}");
    assert!(t.contains("'/root': No such file or directory"), "{t}");
    assert!(t.contains(&format!("\n{INSIDE_ID}\n")), "{t}");
    assert!(!Path::new("/tmp/pwned").exists());
}

/// The host uid of the first process whose command line contains `marker`.
fn host_uid_of(marker: &str) -> Option<u32> {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            let status = std::fs::read_to_string(e.path().join("status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            return line.split_whitespace().nth(1)?.parse().ok();
        }
    }
    None
}

#[test]
fn a_root_grader_jails_as_the_dedicated_uid_without_network() {
    let c = confinement();
    let runner = {
        let c = c.clone();
        std::thread::spawn(move || c.run(&sh("cat /proc/net/dev; sleep 3.75")).unwrap())
    };
    let mut uid = None;
    for _ in 0..100 {
        uid = host_uid_of("3.75");
        if uid.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = runner.join().unwrap();
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let want = c.owner().map_or(me, |(uid, _)| uid);
    assert_eq!(uid, Some(want), "the jailed process's host uid");
    assert_ne!(uid, Some(0));
    let t = text(&out);
    let interfaces: Vec<&str> = t.lines().skip(2).map(|l| l.trim()).collect();
    assert!(interfaces.iter().all(|l| l.starts_with("lo:")), "{t}");
}

#[test]
fn writes_past_the_quota_stop_the_command() {
    let dir = writable_dir("quota");
    let cmd = JailCommand {
        mounts: vec![Mount::rw(&dir, "/build")],
        quota: Some(DiskQuota {
            bytes: 8 << 20,
            files: 1000,
        }),
        ..sh("i=0; while :; do head -c 3000000 /dev/zero > /build/f$i || exit 9; i=$((i+1)); done")
    };
    let out = confinement().run(&cmd).unwrap();
    assert!(
        matches!(out.ended, Ended::Quota(u) if u.bytes > 8 << 20),
        "{:?}",
        out.ended
    );
    force_remove(&dir).unwrap();
}

#[test]
fn the_process_limit_holds_inside_the_jail() {
    let out = confinement()
        .run(&sh("for i in $(seq 60); do sleep 2 & done 2>&1; wait"))
        .unwrap();
    let t = text(&out);
    assert!(t.to_lowercase().contains("fork"), "{t}");
}

#[test]
fn a_missing_mount_source_is_a_setup_error_not_an_exit() {
    let cmd = JailCommand {
        mounts: vec![Mount::ro("/no/such/dir", "/x")],
        ..sh("true")
    };
    let err = confinement().run(&cmd).unwrap_err();
    assert!(
        matches!(err, JailError::Stage { .. } | JailError::Setup { .. }),
        "{err}"
    );
}
