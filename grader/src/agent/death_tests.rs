//! End-to-end tests of the causes of death and the process-tree audit: real processes
//! that kill their parent, fill a file past its limit, or leave children behind.

use super::tests::{cmd, process, run, scenario, sh};
use crate::protocol::{AuditRequest, Death, Exit, LimitKind, Limits, Step, StrayKind};

#[test]
fn a_parent_killed_by_its_own_child_names_the_child() {
    // The subshell is a child of the script's shell; `$$` stays the parent's pid.
    let s = scenario(10_000, vec![sh("p", "(kill -KILL $$); sleep 5")]);
    let p = process(&s.steps[0]);
    assert_eq!(p.exit, Exit::Signal(libc::SIGKILL));
    match &p.death {
        Some(Death::Process { child: true, .. }) => {}
        other => panic!("expected its child as the sender, got {other:?}"),
    }
}

#[test]
fn a_signal_sent_to_itself_and_the_grader_s_own_are_told_apart() {
    let s = scenario(10_000, vec![sh("p", "kill -TERM $$")]);
    assert_eq!(process(&s.steps[0]).death, Some(Death::Itself));
    let steps = vec![
        cmd("nap", "/bin/sleep", &["30"], true),
        Step::Kill {
            id: "nap".into(),
            signal: libc::SIGTERM,
        },
        Step::Wait {
            id: "nap".into(),
            timeout_ms: None,
        },
    ];
    let s = scenario(10_000, steps);
    let p = process(&s.steps[2]);
    assert_eq!(p.exit, Exit::Signal(libc::SIGTERM));
    assert_eq!(p.death, Some(Death::Grader));
}

#[test]
fn a_file_past_the_size_limit_is_named_with_the_limit() {
    let mut job = super::tests::job(
        10_000,
        vec![sh("p", "head -c 200000 /dev/zero > big.dat")],
        AuditRequest::default(),
        None,
    );
    job.limits = Limits {
        fsize_bytes: 65536,
        ..Limits::default()
    };
    let s = run(&job);
    let p = process(&s.steps[0]);
    let hit = p
        .limits
        .iter()
        .find(|l| l.limit == LimitKind::FileSize)
        .unwrap_or_else(|| panic!("no file-size hit: {p:?}"));
    assert_eq!(hit.value, 65536);
    assert_eq!(hit.what, "`big.dat` (65536 bytes)");
}

#[test]
fn a_child_left_running_is_an_orphan_of_its_run() {
    let s = scenario(10_000, vec![sh("p", "sleep 30 & echo started")]);
    let p = process(&s.steps[0]);
    assert_eq!(p.exit, Exit::Code(0));
    let stray = s
        .strays
        .iter()
        .find(|x| x.comm == "sleep")
        .unwrap_or_else(|| panic!("no stray sleep: {:?}", s.strays));
    assert_eq!(stray.kind, StrayKind::Orphan);
    assert_eq!(stray.from.as_deref(), Some("p"));
    let clean = scenario(10_000, vec![sh("p", "sleep 0.05 & wait")]);
    assert!(clean.strays.is_empty(), "{:?}", clean.strays);
}

#[test]
fn descriptors_open_at_exit_are_listed_when_audited() {
    let audit = AuditRequest {
        fds: true,
        ..AuditRequest::default()
    };
    let steps = vec![sh("p", "exec 7</dev/null; true")];
    let mut job = super::tests::job(10_000, steps.clone(), audit, None);
    // The shell plays the submission's program here.
    job.bin_dir = "/".into();
    let s = run(&job);
    let open = s
        .open_at_exit
        .iter()
        .find(|o| o.fds.iter().any(|(fd, t)| *fd == 7 && t == "/dev/null"))
        .unwrap_or_else(|| panic!("fd 7 not listed: {:?}", s.open_at_exit));
    assert!(!open.comm.is_empty());
    let quiet = run(&super::tests::job(
        10_000,
        steps,
        AuditRequest::default(),
        None,
    ));
    assert!(quiet.open_at_exit.is_empty(), "{:?}", quiet.open_at_exit);
}
