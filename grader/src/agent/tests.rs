//! End-to-end tests of the agent: real forks and execs in a private namespace (root, or
//! unprivileged user namespaces, is needed), serialised on one lock.

use std::path::PathBuf;
use std::sync::Mutex;

use super::*;
use crate::protocol::{
    AuditRequest, Condition, Exit, IpcKind, Limits, Message, ProcessResult, ScenarioJob,
    ScenarioResult, Step, StepOutcome,
};

/// Tests that fork, wait or change namespaces take this lock.
pub(crate) static FORK_LOCK: Mutex<()> = Mutex::new(());

pub(super) fn job(
    timeout_ms: u64,
    steps: Vec<Step>,
    audit: AuditRequest,
    run_as: Option<(u32, u32)>,
) -> Job {
    Job {
        lab: "test".into(),
        bin_dir: PathBuf::from("/job/bin"),
        scenarios: vec![ScenarioJob {
            name: "t".into(),
            timeout_ms,
            steps,
            audit,
            alone: false,
        }],
        limits: Limits::default(),
        run_as,
        perturb: None,
        parallel: 1,
    }
}

/// Runs one job locally and returns its only scenario, checking the event framing.
pub(super) fn run(job: &Job) -> ScenarioResult {
    let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::new();
    run_job(job, &mut out, Mode::Local).expect("agent failed");
    let events: Vec<AgentEvent> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        matches!(events.first(), Some(AgentEvent::Hello { .. })),
        "{events:?}"
    );
    assert_eq!(events.last(), Some(&AgentEvent::Done));
    assert_eq!(events.len(), 3);
    match events.into_iter().nth(1) {
        Some(AgentEvent::Scenario(s)) => *s,
        other => panic!("expected a scenario, got {other:?}"),
    }
}

pub(super) fn scenario(timeout_ms: u64, steps: Vec<Step>) -> ScenarioResult {
    run(&job(timeout_ms, steps, AuditRequest::default(), None))
}

pub(super) fn cmd(id: &str, program: &str, args: &[&str], background: bool) -> Step {
    Step::Run {
        id: id.into(),
        program: program.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        stdin: None,
        env: Vec::new(),
        background,
    }
}

pub(super) fn sh(id: &str, script: &str) -> Step {
    cmd(id, "/bin/sh", &["-c", script], false)
}

pub(super) fn process(outcome: &StepOutcome) -> &ProcessResult {
    match outcome {
        StepOutcome::Process(p) => p,
        other => panic!("expected a process result, got {other:?}"),
    }
}

#[test]
fn exit_code_and_output_are_captured() {
    let s = scenario(10_000, vec![sh("p", "echo hi; echo oops >&2; exit 3")]);
    let p = process(&s.steps[0]);
    assert_eq!(p.exit, Exit::Code(3));
    assert_eq!((p.stdout.as_str(), p.stderr.as_str()), ("hi\n", "oops\n"));
    assert_eq!(p.command, "/bin/sh -c 'echo hi; echo oops >&2; exit 3'");
    assert!(s.hang.is_none() && s.error.is_none(), "{s:?}");
}

#[test]
fn crash_by_signal_is_reported_as_signal() {
    let s = scenario(10_000, vec![sh("p", "kill -SEGV $$")]);
    assert_eq!(process(&s.steps[0]).exit, Exit::Signal(libc::SIGSEGV));
}

#[test]
fn stdin_env_and_working_directory_reach_the_program() {
    let mut run = sh(
        "p",
        "read line; echo \"$line $GREETING $HOME\"; pwd; echo $PATH",
    );
    if let Step::Run { stdin, env, .. } = &mut run {
        *stdin = Some("from-stdin\n".into());
        env.push(("GREETING".into(), "hello".into()));
    }
    let p = process(&scenario(10_000, vec![run]).steps[0]).clone();
    let lines: Vec<&str> = p.stdout.lines().collect();
    assert_eq!(lines[0], "from-stdin hello /tmp/grader-agent/t");
    assert_eq!(lines[1], "/tmp/grader-agent/t");
    assert!(lines[2].starts_with("/job/bin:"), "{}", lines[2]);
}

#[test]
fn missing_program_is_not_started_with_the_reason() {
    let s = scenario(10_000, vec![cmd("p", "/job/bin/nope", &[], false)]);
    let p = process(&s.steps[0]);
    assert_eq!(p.exit, Exit::NotStarted);
    let why = p.error.as_deref().unwrap();
    assert!(
        why.contains("/job/bin/nope") && why.contains("No such file"),
        "{why}"
    );
}

#[test]
fn output_past_the_cap_is_cut_and_flagged() {
    let mut j = job(
        10_000,
        vec![sh(
            "p",
            "i=0; while [ $i -lt 100 ]; do echo 0123456789; i=$((i+1)); done",
        )],
        AuditRequest::default(),
        None,
    );
    j.limits.output_cap_bytes = 25;
    let s = run(&j);
    let p = process(&s.steps[0]);
    assert_eq!(p.stdout, "0123456789\n0123456789\n012");
    assert!(p.truncated);
}

#[test]
fn sleeper_past_the_deadline_times_out_with_a_hang_report() {
    let s = scenario(
        300,
        vec![
            cmd("nap", "/bin/sleep", &["30"], false),
            sh("never", "true"),
        ],
    );
    assert_eq!(s.steps.len(), 1, "no step runs after the deadline");
    let p = process(&s.steps[0]);
    assert_eq!(p.exit, Exit::Timeout);
    assert!(p.duration_ms < 5_000);
    let hang = s.hang.expect("a hang report");
    let sleep = hang
        .processes
        .iter()
        .find(|p| p.comm == "sleep")
        .expect("sleep listed");
    assert_eq!(sleep.state, "S");
    assert!(
        hang.findings
            .iter()
            .any(|f| f.contains("`sleep`") && f.contains("sleeping")),
        "{:?}",
        hang.findings
    );
}

#[test]
fn forgotten_pipe_write_end_is_named_in_the_findings() {
    // The left side moves the pipe's write end to fd 4 and keeps it while `sleep` holds
    // stdout elsewhere: `cat` waits for an end-of-file that never comes.
    let s = scenario(
        500,
        vec![sh("pipe", "{ exec 4>&1 >/dev/null; sleep 30; } | cat")],
    );
    assert_eq!(process(&s.steps[0]).exit, Exit::Timeout);
    let hang = s.hang.expect("a hang report");
    let finding = hang
        .findings
        .iter()
        .find(|f| f.starts_with("`cat`"))
        .unwrap_or_else(|| panic!("{hang:?}"));
    assert!(finding.contains("is blocked reading pipe:["), "{finding}");
    assert!(
        finding.contains("whose write end is still open in `") && finding.contains(", fd 4)"),
        "{finding}"
    );
    assert!(finding.contains("close the unused pipe ends"), "{finding}");
}

#[test]
fn messages_sent_by_the_agent_drain_back_in_order() {
    let messages = vec![
        Message {
            mtype: 7,
            text: "seven".into(),
        },
        Message {
            mtype: 3,
            text: "three".into(),
        },
    ];
    let steps = vec![
        Step::MsgSend {
            key: 0x1234,
            create: true,
            messages: messages.clone(),
        },
        Step::MsgDrain { key: 0x1234 },
        Step::MsgDrain { key: 0x9999 },
    ];
    let s = scenario(10_000, steps);
    assert_eq!(s.steps[0], StepOutcome::Done { error: None });
    assert_eq!(
        s.steps[1],
        StepOutcome::Messages {
            messages,
            error: None
        }
    );
    match &s.steps[2] {
        StepOutcome::Messages {
            messages,
            error: Some(e),
        } => assert!(messages.is_empty() && e.contains("0x00009999")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn leaked_queue_is_listed_with_its_ipcrm_command_then_removed() {
    let create = Step::IpcCreate {
        ipc: IpcKind::Msg,
        key: Some(0x4242),
        name: None,
        size: 0,
        mode: 0o600,
    };
    let shm = Step::IpcCreate {
        ipc: IpcKind::PosixShm,
        key: None,
        name: Some("/seg".into()),
        size: 64,
        mode: 0o640,
    };
    let audit = AuditRequest {
        leaks: true,
        syscalls: Vec::new(),
        ..Default::default()
    };
    let s = run(&job(
        10_000,
        vec![create, shm, Step::IpcSnapshot],
        audit,
        None,
    ));
    let StepOutcome::Snapshot { objects } = &s.steps[2] else {
        panic!("{s:?}")
    };
    assert_eq!(
        objects.len(),
        2,
        "a fresh namespace holds only ours: {objects:?}"
    );
    let q = s
        .leaks
        .iter()
        .find(|l| l.object.ipc == IpcKind::Msg)
        .expect("queue leak");
    assert_eq!((q.object.key, q.object.mode), (Some(0x4242), 0o600));
    assert_eq!(
        q.remove_command,
        format!("ipcrm -q {}", q.object.id.unwrap())
    );
    let seg = s
        .leaks
        .iter()
        .find(|l| l.object.ipc == IpcKind::PosixShm)
        .expect("shm leak");
    assert_eq!((seg.object.size, seg.object.mode), (64, 0o640));
    assert_eq!(seg.remove_command, "rm /dev/shm/seg");
}

#[test]
fn syscalls_of_the_whole_tree_are_counted() {
    let audit = AuditRequest {
        leaks: false,
        syscalls: vec!["msgget".into(), "execve".into(), "shmget".into()],
        ..Default::default()
    };
    // sh forks ipcmk: counting msgget proves the filter is inherited by children.
    let steps = vec![sh("mk", "/usr/bin/ipcmk -Q && /usr/bin/ipcmk -Q")];
    let s = run(&job(10_000, steps, audit, None));
    assert_eq!(process(&s.steps[0]).exit, Exit::Code(0), "{s:?}");
    assert_eq!(s.syscalls.get("msgget"), Some(&2), "{:?}", s.syscalls);
    // The agent's own exec of sh is not the student's; sh's two execs of ipcmk are.
    assert_eq!(s.syscalls.get("execve"), Some(&2), "{:?}", s.syscalls);
    assert_eq!(s.syscalls.get("shmget"), Some(&0));
}

/// Auditing the calls the agent's own hand-off makes (read, write, dup2, close) must
/// neither deadlock the launch nor count the hand-off.
#[test]
fn auditing_read_and_write_counts_only_the_student() {
    let audit = AuditRequest {
        leaks: false,
        syscalls: vec!["read".into(), "write".into(), "dup2".into(), "close".into()],
        ..Default::default()
    };
    let steps = vec![sh("io", "echo one; echo two")];
    let s = run(&job(10_000, steps, audit, None));
    let p = process(&s.steps[0]);
    assert_eq!(p.exit, Exit::Code(0), "{s:?}");
    assert_eq!(p.stdout, "one\ntwo\n");
    assert!(
        s.syscalls.get("write").copied().unwrap_or(0) >= 2,
        "{:?}",
        s.syscalls
    );
}

#[test]
fn background_run_is_watched_signalled_and_left_over() {
    let steps = vec![
        Step::Run {
            id: "srv".into(),
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "echo ready; exec sleep 30".into()],
            stdin: None,
            env: Vec::new(),
            background: true,
        },
        Step::WaitFor {
            condition: Condition::Output {
                id: "srv".into(),
                contains: "ready".into(),
            },
            timeout_ms: 5_000,
        },
        cmd("other", "/bin/sleep", &["30"], true),
        Step::Kill {
            id: "srv".into(),
            signal: libc::SIGTERM,
        },
        Step::Wait {
            id: "srv".into(),
            timeout_ms: Some(5_000),
        },
        Step::Wait {
            id: "other".into(),
            timeout_ms: Some(50),
        },
        Step::Kill {
            id: "nobody".into(),
            signal: libc::SIGTERM,
        },
    ];
    let s = scenario(20_000, steps);
    assert!(
        matches!(
            s.steps[0],
            StepOutcome::Spawned {
                pid: Some(_),
                error: None,
                ..
            }
        ),
        "{s:?}"
    );
    assert!(
        matches!(
            s.steps[1],
            StepOutcome::Waited {
                satisfied: true,
                ..
            }
        ),
        "{s:?}"
    );
    assert_eq!(
        s.steps[3],
        StepOutcome::Killed {
            id: "srv".into(),
            ok: true
        }
    );
    let srv = process(&s.steps[4]);
    assert_eq!(
        (srv.exit, srv.stdout.as_str()),
        (Exit::Signal(libc::SIGTERM), "ready\n")
    );
    assert_eq!(
        process(&s.steps[5]).exit,
        Exit::Timeout,
        "a wait that gives up"
    );
    assert_eq!(
        s.steps[6],
        StepOutcome::Killed {
            id: "nobody".into(),
            ok: false
        }
    );
    assert_eq!(s.leftovers.len(), 1);
    assert_eq!(
        (s.leftovers[0].id.as_str(), s.leftovers[0].exit),
        ("other", Exit::Timeout)
    );
    assert!(s.hang.is_none());
}

#[test]
fn agent_file_steps_write_probe_and_ftok() {
    let steps = vec![
        Step::WriteFile {
            path: "in.txt".into(),
            content: "abc\n".into(),
            mode: 0o600,
        },
        Step::GenInts {
            path: "data.bin".into(),
            count: 10,
            seed: 5,
        },
        Step::FileProbe {
            path: "in.txt".into(),
        },
        Step::FileProbe {
            path: "data.bin".into(),
        },
        Step::Ftok {
            path: "in.txt".into(),
            proj: 65,
        },
        Step::Ftok {
            path: "missing".into(),
            proj: 65,
        },
        Step::WaitFor {
            condition: Condition::File {
                path: "nope".into(),
            },
            timeout_ms: 30,
        },
        sh("cat", "cat in.txt"),
    ];
    let s = scenario(10_000, steps);
    let StepOutcome::File(f) = &s.steps[2] else {
        panic!("{s:?}")
    };
    assert_eq!(
        (f.exists, f.size, f.mode, f.head.as_str()),
        (true, 4, 0o600, "abc\n")
    );
    let StepOutcome::File(d) = &s.steps[3] else {
        panic!("{s:?}")
    };
    assert_eq!(d.size, 40);
    assert!(matches!(
        s.steps[4],
        StepOutcome::Ftok {
            key: Some(_),
            error: None
        }
    ));
    assert!(matches!(
        s.steps[5],
        StepOutcome::Ftok {
            key: None,
            error: Some(_)
        }
    ));
    assert!(matches!(
        s.steps[6],
        StepOutcome::Waited {
            satisfied: false,
            ..
        }
    ));
    assert_eq!(process(&s.steps[7]).stdout, "abc\n");
}

#[test]
fn run_as_drops_to_the_student_uid_with_the_audit_still_counting() {
    let audit = AuditRequest {
        leaks: true,
        syscalls: vec!["msgget".into()],
        ..Default::default()
    };
    let steps = vec![
        Step::IpcCreate {
            ipc: IpcKind::Msg,
            key: Some(0x77),
            name: None,
            size: 0,
            mode: 0o600,
        },
        sh(
            "who",
            "id -u; id -g; touch mine; ls -n mine | cut -d' ' -f3; ipcrm -Q 0x77 && echo removed",
        ),
    ];
    let s = run(&job(10_000, steps, audit, Some((65534, 65534))));
    let p = process(&s.steps[1]);
    assert_eq!(p.stdout, "65534\n65534\n65534\nremoved\n", "{p:?}");
    assert!(
        s.leaks.is_empty(),
        "the student could remove the agent's queue: {:?}",
        s.leaks
    );
    assert!(s.syscalls["msgget"] >= 1, "{:?}", s.syscalls);
}

#[test]
fn unknown_audited_syscall_is_an_agent_error() {
    let audit = AuditRequest {
        leaks: false,
        syscalls: vec!["frobnicate".into()],
        ..Default::default()
    };
    let s = run(&job(10_000, vec![sh("p", "true")], audit, None));
    assert!(s.steps.is_empty());
    assert!(s.error.unwrap().contains("frobnicate"));
}

#[test]
fn every_scenario_gets_a_fresh_ipc_namespace() {
    let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut j = job(
        10_000,
        vec![
            Step::IpcCreate {
                ipc: IpcKind::Sem,
                key: Some(9),
                name: None,
                size: 2,
                mode: 0o600,
            },
            Step::IpcSnapshot,
        ],
        AuditRequest::default(),
        None,
    );
    j.scenarios.push(ScenarioJob {
        name: "second".into(),
        timeout_ms: 10_000,
        steps: vec![Step::IpcSnapshot],
        audit: AuditRequest::default(),
        alone: false,
    });
    let mut out = Vec::new();
    run_job(&j, &mut out, Mode::Local).unwrap();
    let text = String::from_utf8(out).unwrap();
    let snaps: Vec<usize> = text
        .lines()
        .filter_map(|l| match serde_json::from_str(l).unwrap() {
            AgentEvent::Scenario(s) => s.steps.iter().find_map(|o| match o {
                StepOutcome::Snapshot { objects } => Some(objects.len()),
                _ => None,
            }),
            _ => None,
        })
        .collect();
    assert_eq!(snaps, vec![1, 0]);
    assert!(list_ipc_objects().is_ok());
}

/// Steps that use up the deadline with nothing running: the rest is not run, and it is no
/// agent error (the scorer calls it a timeout at the first step not run).
#[test]
fn steps_that_overrun_the_deadline_with_nothing_running_stop_the_scenario() {
    let s = scenario(100, vec![Step::Sleep { ms: 300 }, Step::Sleep { ms: 1 }]);
    assert_eq!(s.steps.len(), 1);
    assert!(matches!(&s.steps[0], StepOutcome::Done { error: Some(e) } if e.contains("deadline")));
    assert!(s.hang.is_none());
    assert_eq!(s.error, None);
}

/// A wait that no process of the submission is left to satisfy ends at once.
#[test]
fn a_wait_nobody_is_left_to_satisfy_ends_at_once() {
    let s = scenario(
        10_000,
        vec![Step::WaitFor {
            condition: Condition::Ipc {
                ipc: IpcKind::Shm,
                key: Some(77),
                name: None,
            },
            timeout_ms: 5_000,
        }],
    );
    match &s.steps[0] {
        StepOutcome::Waited {
            satisfied,
            nobody_left,
            ..
        } => assert!(!satisfied && *nobody_left, "{s:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn agent_created_objects_are_waited_for_listed_and_removed() {
    let ipc_cond = |ipc, key: Option<i32>, name: Option<&str>| Condition::Ipc {
        ipc,
        key,
        name: name.map(String::from),
    };
    let mq = Step::IpcCreate {
        ipc: IpcKind::PosixMq,
        key: None,
        name: Some("/jobs".into()),
        size: 0,
        mode: 0o620,
    };
    let sem = Step::IpcCreate {
        ipc: IpcKind::PosixSem,
        key: None,
        name: Some("/lock".into()),
        size: 1,
        mode: 0o600,
    };
    let steps = vec![
        Step::IpcCreate {
            ipc: IpcKind::Shm,
            key: Some(5),
            name: None,
            size: 4096,
            mode: 0o600,
        },
        Step::WaitFor {
            condition: ipc_cond(IpcKind::Shm, Some(5), None),
            timeout_ms: 1_000,
        },
        Step::IpcRemove {
            ipc: IpcKind::Shm,
            key: Some(5),
            name: None,
        },
        Step::WaitFor {
            condition: ipc_cond(IpcKind::Shm, Some(5), None),
            timeout_ms: 30,
        },
        mq,
        sem,
        Step::WaitFor {
            condition: ipc_cond(IpcKind::PosixMq, None, Some("/jobs")),
            timeout_ms: 1_000,
        },
        Step::IpcRemove {
            ipc: IpcKind::PosixSem,
            key: None,
            name: Some("/missing".into()),
        },
    ];
    let s = run(&job(
        10_000,
        steps,
        AuditRequest {
            leaks: true,
            syscalls: Vec::new(),
            ..Default::default()
        },
        None,
    ));
    assert!(
        matches!(
            s.steps[1],
            StepOutcome::Waited {
                satisfied: true,
                ..
            }
        ),
        "{s:?}"
    );
    assert_eq!(s.steps[2], StepOutcome::Done { error: None });
    assert!(
        matches!(
            s.steps[3],
            StepOutcome::Waited {
                satisfied: false,
                ..
            }
        ),
        "{s:?}"
    );
    assert!(
        matches!(
            s.steps[6],
            StepOutcome::Waited {
                satisfied: true,
                ..
            }
        ),
        "{s:?}"
    );
    assert_eq!(
        s.steps[7],
        StepOutcome::Done { error: None },
        "removing nothing is fine"
    );
    let commands: Vec<&str> = s.leaks.iter().map(|l| l.remove_command.as_str()).collect();
    assert_eq!(
        commands,
        vec!["rm /dev/mqueue/jobs", "rm /dev/shm/sem.lock"]
    );
    let mq = &s.leaks[0].object;
    assert_eq!(
        (mq.ipc, mq.name.as_deref(), mq.mode),
        (IpcKind::PosixMq, Some("/jobs"), 0o620)
    );
}
