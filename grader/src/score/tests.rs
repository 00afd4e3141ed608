//! Scoring of fabricated observations: each status, leaks, the syscall audit.

use super::*;
use crate::protocol::{EarlyStop, IpcKind, IpcObject, Leak, Pace, ProcInfo, Starved};
use crate::spec::LabSpec;

const SPEC: &str = r#"
format_version = 1
programs = ["p"]
[params.key]
kind = "int"
min = 4096
max = 4096
format = "hex"
[[scenario]]
name = "s"
points = 2
cleanup_points = 1
timeout = "1s"
hint = "read the man page"
audit = { syscalls = { require = { msgsnd = 3 }, forbid = ["shmget"] } }
[[scenario.step]]
run = "p"
args = ["{key}"]
expect = { stdout = { exact = "key={key}\n" } }
[[scenario.step]]
ipc_snapshot = true
expect = { ipc = [{ ipc = "msg", key = "{key}", mode = 0o600 }] }
"#;

fn setup() -> (LabSpec, Vec<Step>, Vars) {
    let spec = LabSpec::parse(std::path::Path::new("t.toml"), SPEC).unwrap();
    let vars = crate::spec::params::draw(&spec.params, 1).unwrap();
    let target = crate::spec::compile::Target {
        bin_dir: std::path::Path::new("/job/bin"),
        timeout_scale: 1.0,
    };
    let job = crate::spec::compile::scenario(&spec, &spec.scenarios[0], &vars, &target).unwrap();
    (spec, job.steps, vars)
}

fn process(exit: Exit, stdout: &str, stderr: &str) -> StepOutcome {
    StepOutcome::Process(ProcessResult {
        id: "p".into(),
        command: "p 0x00001000".into(),
        exit,
        stdout: stdout.into(),
        stderr: stderr.into(),
        truncated: false,
        duration_ms: 1,
        error: None,
        death: None,
        limits: Vec::new(),
    })
}

fn queue(mode: u32) -> IpcObject {
    IpcObject {
        ipc: IpcKind::Msg,
        key: Some(4096),
        id: Some(3),
        name: None,
        mode,
        size: 0,
        uid: 1000,
        count: 0,
        pid: None,
    }
}

fn result(first: StepOutcome, mode: u32, msgsnd: u64) -> ScenarioResult {
    ScenarioResult {
        name: "s".into(),
        steps: vec![
            first,
            StepOutcome::Snapshot {
                objects: vec![queue(mode)],
            },
        ],
        syscalls: [("msgsnd".to_string(), msgsnd)].into(),
        ..Default::default()
    }
}

fn eval(r: &ScenarioResult) -> TestResult {
    let (spec, steps, vars) = setup();
    evaluate(&spec.scenarios[0], &steps, r, &vars)
}

#[test]
fn all_expectations_hold_full_marks() {
    let t = eval(&result(
        process(Exit::Code(0), "key=0x00001000\n", ""),
        0o600,
        3,
    ));
    assert_eq!(
        (t.status, t.score, t.max_score),
        (Status::Passed, 3, 3),
        "{}",
        t.message
    );
    assert!(t.hint.is_none());
}

#[test]
fn wrong_output_fails_with_both_texts_and_the_hint() {
    let t = eval(&result(process(Exit::Code(0), "key=4096\n", ""), 0o600, 3));
    assert_eq!(t.status, Status::Failed);
    assert_eq!(t.score, 0);
    assert!(
        t.message
            .starts_with("step 1 `p 0x00001000`: stdout should be exactly"),
        "{}",
        t.message
    );
    assert!(t.message.contains("\"key=4096\\n\""), "{}", t.message);
    assert_eq!(t.hint.as_deref(), Some("read the man page"));
}

#[test]
fn unexpected_exit_status_shows_stderr() {
    let t = eval(&result(process(Exit::Code(1), "", "p: boom\n"), 0o600, 3));
    assert_eq!(t.status, Status::Failed);
    assert!(
        t.message.contains("exited with status 1, expected 0") && t.message.contains("p: boom"),
        "{}",
        t.message
    );
}

#[test]
fn signal_is_a_crash_named_and_explained() {
    let t = eval(&result(
        process(Exit::Signal(libc::SIGSEGV), "", ""),
        0o600,
        3,
    ));
    assert_eq!(t.status, Status::Crashed);
    assert!(
        t.message.contains("SIGSEGV (invalid memory access"),
        "{}",
        t.message
    );
}

#[test]
fn rust_panic_is_a_crash_with_its_message() {
    let stderr = "thread 'main' panicked at src/q.rs:3:5:\nnot yet implemented: msgget\n";
    let t = eval(&result(process(Exit::Code(101), "", stderr), 0o600, 3));
    assert_eq!(t.status, Status::Crashed);
    assert!(
        t.message.contains("not yet implemented: msgget"),
        "{}",
        t.message
    );
}

#[test]
fn timeout_reports_what_was_blocked() {
    let mut r = result(process(Exit::Timeout, "", ""), 0o600, 3);
    r.hang = Some(HangReport {
        processes: vec![ProcInfo {
            pid: 9,
            comm: "p".into(),
            state: "S".into(),
            wchan: "do_msgrcv".into(),
            ..Default::default()
        }],
        findings: vec!["`p` (pid 9) is blocked in msgrcv".into()],
        ..Default::default()
    });
    let t = eval(&r);
    assert_eq!(t.status, Status::Timeout);
    assert!(
        t.message.contains("did not finish") && t.message.contains("blocked in msgrcv"),
        "{}",
        t.message
    );
}

fn cut(pace: Pace, stopped_early: Option<EarlyStop>) -> TestResult {
    let mut r = result(process(Exit::Timeout, "", ""), 0o600, 3);
    r.hang = Some(HangReport {
        findings: vec!["`p` (pid 9) is blocked in msgsnd: the queue is full".into()],
        pace,
        stopped_early,
        ..Default::default()
    });
    eval(&r)
}

#[test]
fn a_deadlock_stopped_early_says_when_and_why() {
    let early = EarlyStop {
        at_ms: 2_140,
        timeout_ms: 16_000,
    };
    let t = cut(
        Pace::Deadlocked {
            unchanged_ms: 1_020,
        },
        Some(early),
    );
    assert_eq!(t.status, Status::Timeout);
    assert_eq!(
        t.message,
        "step 1 `p 0x00001000` was stopped after 2.1 s of its 16.0 s deadline and killed: \
         deadlock, every process was blocked and none made progress for 1.0 s: \
         `p` (pid 9) is blocked in msgsnd: the queue is full"
    );
}

#[test]
fn many_processes_in_the_same_state_are_said_once() {
    let mut r = result(process(Exit::Timeout, "", ""), 0o600, 3);
    let busy = |pid| {
        format!("`msgq` (pid {pid}) was still running (state R) at the deadline: a busy loop, or far too slow")
    };
    let mut findings: Vec<String> = (3..44).map(busy).collect();
    findings.push("`msgq` (pid 2) is waiting for its child `msgq` (pid 3) to exit".into());
    r.hang = Some(HangReport {
        findings,
        ..Default::default()
    });
    let t = eval(&r);
    assert!(
        t.message.ends_with(
            "At the deadline: `msgq` (41 processes: pids 3, 4, 5, …) was still running (state R) \
             at the deadline: a busy loop, or far too slow; `msgq` (pid 2) is waiting for its \
             child `msgq` (pid 3) to exit"
        ),
        "{}",
        t.message
    );
}

#[test]
fn a_program_still_making_round_trips_is_too_slow_not_blocked() {
    let moving = |round_trips, ipc_calls| Pace::Progressing {
        elapsed_ms: 16_000,
        ipc_calls,
        round_trips,
        switches: 40,
        interval_ms: 500,
        starved: vec![],
    };
    let t = cut(moving(Some((160, 734)), Some(640)), None);
    assert_eq!(t.status, Status::Timeout);
    assert_eq!(
        t.message,
        "step 1 `p 0x00001000` did not finish before its deadline and was killed: \
         too slow, not deadlocked: 160 round trips in 16.0 s, the scenario needs 734"
    );
    // Far past the count: it does not read it, never "too slow".
    let t = cut(moving(Some((27_889, 316)), None), None);
    assert!(
        t.message.ends_with(
            "it does not stop at its count: 27889 round trips in 16.0 s, where the scenario \
             asked for 316 (does the program read its COUNT argument?)"
        ),
        "{}",
        t.message
    );
    // Just past it (an end message, calls counted twice on a busy machine): done, not ended.
    let t = cut(moving(Some((330, 316)), None), None);
    assert!(
        t.message.ends_with(
            "not deadlocked: 330 round trips in 16.0 s, as many as the 316 asked, but the \
             program did not end after them"
        ),
        "{}",
        t.message
    );
    let t = cut(moving(None, Some(640)), None);
    assert!(
        t.message
            .ends_with("too slow, not deadlocked: 640 IPC calls in 16.0 s"),
        "{}",
        t.message
    );
    // One process woken again and again but never getting the semaphore: starvation.
    let mut starving = moving(None, Some(491));
    if let Pace::Progressing { starved, .. } = &mut starving {
        starved.push(Starved {
            pid: 12,
            comm: "psem_alt".into(),
            woken: 212,
            for_ms: 20_000,
        });
    }
    let t = cut(starving, None);
    assert_eq!(
        t.message,
        "step 1 `p 0x00001000` did not finish before its deadline and was killed: \
         starvation, not a deadlock: `psem_alt` (pid 12) was woken 212 times in 20.0 s and \
         went back to waiting in futex each time while the others ran. sem_post (or a mutex \
         unlock) hands nothing to the process it wakes: the one that posted took it back \
         first; let the other side run (sleep after posting) before taking it again"
    );
    // Two processes passing work to each other without the audited calls (the slides'
    // pingpong run as `msgq ftok`): still working, so no "waits forever" finding.
    let mut r = result(process(Exit::Timeout, "", ""), 0o600, 3);
    let proc_info = |pid, state: &str| crate::protocol::ProcInfo {
        pid,
        ppid: 1,
        comm: "msgq".into(),
        state: state.into(),
        wchan: "do_msgrcv".into(),
        fds: vec![],
    };
    r.hang = Some(HangReport {
        findings: vec![
            "`msgq` (pid 9) is blocked in msgrcv waiting for a message that never comes".into(),
        ],
        processes: vec![proc_info(9, "S"), proc_info(10, "R")],
        pace: moving(None, None),
        ..Default::default()
    });
    let t = eval(&r);
    assert_eq!(
        t.message,
        "step 1 `p 0x00001000` did not finish before its deadline and was killed: still \
         working, not deadlocked (40 context switches in the last 0.5 s): it ran past a \
         deadline that gives a correct program several times its time. At the deadline: \
         `msgq` (pid 9) in state S in do_msgrcv, `msgq` (pid 10) in state R in do_msgrcv"
    );
    // Moving without any IPC (a busy loop): the per-process findings, as before.
    let t = cut(moving(None, Some(0)), None);
    assert!(
        t.message
            .ends_with(". At the deadline: `p` (pid 9) is blocked in msgsnd: the queue is full"),
        "{}",
        t.message
    );
}

#[test]
fn wrong_permissions_fail_the_snapshot() {
    let t = eval(&result(
        process(Exit::Code(0), "key=0x00001000\n", ""),
        0o666,
        3,
    ));
    assert_eq!(t.status, Status::Failed);
    assert!(
        t.message.contains("has permissions 666, expected 600"),
        "{}",
        t.message
    );
}

#[test]
fn a_leak_costs_only_the_cleanup_points_and_names_the_command() {
    let mut r = result(process(Exit::Code(0), "key=0x00001000\n", ""), 0o600, 3);
    r.leaks = vec![Leak {
        object: queue(0o600),
        remove_command: "ipcrm -q 3".into(),
    }];
    let t = eval(&r);
    assert_eq!((t.status, t.score), (Status::Failed, 2));
    assert!(
        t.message.contains("ipcrm -q 3") && t.message.contains("key 0x00001000"),
        "{}",
        t.message
    );
}

#[test]
fn syscall_audit_requires_and_forbids() {
    let t = eval(&result(
        process(Exit::Code(0), "key=0x00001000\n", ""),
        0o600,
        1,
    ));
    assert_eq!(t.status, Status::Failed);
    assert!(
        t.message.contains("msgsnd 1 time(s) (at least 3 expected)"),
        "{}",
        t.message
    );
    let mut r = result(process(Exit::Code(0), "key=0x00001000\n", ""), 0o600, 3);
    r.syscalls.insert("shmget".into(), 2);
    let t = eval(&r);
    assert!(
        t.message
            .contains("called shmget 2 time(s); this exercise must not use it"),
        "{}",
        t.message
    );
}

#[test]
fn missing_steps_after_a_deadline_are_a_timeout() {
    let mut r = result(process(Exit::Code(0), "key=0x00001000\n", ""), 0o600, 3);
    r.steps.truncate(1);
    r.hang = Some(HangReport::default());
    let t = eval(&r);
    assert_eq!(t.status, Status::Timeout);
    assert!(
        t.message.contains("deadline before step 2"),
        "{}",
        t.message
    );
}

#[test]
fn agent_side_failure_is_an_error_not_a_fail() {
    let mut r = result(process(Exit::Code(0), "", ""), 0o600, 3);
    r.error = Some("mount failed".into());
    assert_eq!(eval(&r).status, Status::Error);
}
