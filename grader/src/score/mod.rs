//! Scoring: evaluates the agent's observations of one scenario against the spec's
//! expectations. A student's failure is a [`TestResult`] with a status and a sentence that
//! says what was expected and what happened, never an error of the grader.

mod death;
mod hang;
mod observed;
mod output;

use serde::{Deserialize, Serialize};

use death::{limits_text, open_fds_text, sender_text, sigkill_explained, strays_text};
pub use observed::describe_object;
use observed::{check_file, check_messages, check_snapshot, kind_name};

use crate::config::Vars;
use crate::protocol::{Exit, HangReport, ProcessResult, ScenarioResult, Step, StepOutcome};
use crate::spec::compile::{signal_name, signal_number};
use crate::spec::expect::{quote, ExitSpec, ExpectSpec};
use crate::spec::{ScenarioSpec, StepSpec};

/// Outcome class of a scenario (the JSON contract's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every check held and nothing leaked.
    Passed,
    /// A check did not hold (or objects leaked).
    Failed,
    /// A process was still running at its deadline.
    Timeout,
    /// A process died of a signal or a panic.
    Crashed,
    /// The scenario could not be run (agent-side problem).
    Error,
}

impl Status {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Crashed => "crashed",
            Status::Error => "error",
        }
    }
}

/// One scored scenario (the JSON contract's `tests[]` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Scenario name.
    pub name: String,
    /// Scenario title.
    pub title: Option<String>,
    /// Outcome class.
    pub status: Status,
    /// Points earned.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// What went wrong (empty when passed).
    pub message: String,
    /// The hint, when the scenario did not pass: the levels revealed (see `hints`), one per
    /// line.
    pub hint: Option<String>,
    /// The hint levels revealed, in order: the concept first, the recipe last. Reports
    /// reveal the first; `cargo grader hint` the next ones (see `crate::hints`).
    #[serde(default)]
    pub hints: Vec<String>,
    /// How many hint levels the scenario has (0 when the course shows no hints).
    #[serde(default)]
    pub hint_levels: u32,
    /// Wall time in the sandbox.
    pub duration_ms: u64,
    /// CPU time the student's processes used (what `cargo grader calibrate` records).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cpu_ms: u64,
    /// Objects the scenario left behind.
    #[serde(default)]
    pub leaks: Vec<crate::protocol::Leak>,
    /// The student's own output at the step that failed (absent when the scenario
    /// passed, or failed at a step that runs no program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<StepOutput>,
    /// What every program of the scenario printed, step by step (`-v` shows them; not
    /// in the JSON report, which carries the failing step's only).
    #[serde(skip)]
    pub steps: Vec<StepOutput>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What one `run` step's program printed, cut to [`StepOutput::CAP`] per stream with
/// control characters neutralised (it is shown to people, and in HTML).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOutput {
    /// 1-based step number in the scenario.
    pub step: u32,
    /// The command line, as the report names it (`msgq create 0x1234`).
    pub command: String,
    /// How it ended, in words: `exit 0`, `killed by SIGSEGV`, `still running at the deadline`.
    pub ended: String,
    /// Its standard output (the start of it, when longer than the cap).
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// Some output was cut (by the cap here, or by the grader's capture limit).
    pub truncated: bool,
}

/// A check that did not hold.
struct Miss {
    status: Status,
    message: String,
    /// The step (0-based) it failed at, when it is one step's.
    step: Option<usize>,
}

fn fail(message: String) -> Miss {
    Miss {
        status: Status::Failed,
        message,
        step: None,
    }
}

/// Scores one scenario. `steps` are the compiled agent steps (for commands in messages).
pub fn evaluate(
    spec: &ScenarioSpec,
    steps: &[Step],
    result: &ScenarioResult,
    vars: &Vars,
) -> TestResult {
    let mut out = TestResult {
        name: spec.name.clone(),
        title: spec.title.clone(),
        status: Status::Passed,
        score: 0,
        max_score: spec.max_points(),
        message: String::new(),
        hint: None,
        hints: Vec::new(),
        hint_levels: 0,
        duration_ms: result.duration_ms,
        cpu_ms: result.cpu_ms,
        leaks: result.leaks.clone(),
        output: None,
        steps: Vec::new(),
    };
    out.steps = output::every_step(&result.steps, &result.leftovers);
    match check_scenario(spec, steps, result, vars) {
        Err(miss) => {
            out.status = miss.status;
            out.message = with_limits(miss.message, &result.limits);
            out.hint = spec.hint_levels().first().map(|h| h.to_string());
            out.output = output::at_failure(&out.steps, miss.step);
        }
        Ok(()) if !result.leaks.is_empty() && spec.audit.leaks => {
            out.status = Status::Failed;
            out.score = spec.points;
            out.message = leak_message(result);
            out.hint = spec.hint_levels().first().map(|h| h.to_string());
        }
        Ok(()) => out.score = spec.max_points(),
    }
    if out.status != Status::Error {
        charge_strays(spec, result, &mut out);
    }
    out
}

/// Adds the scenario's limits to a message, before the list of what ran at the deadline
/// (the limit is the cause, the list its symptoms).
fn with_limits(message: String, limits: &[crate::protocol::LimitHit]) -> String {
    let text = limits_text(limits);
    let at = [". At the deadline: ", ". Still running at the deadline: "]
        .iter()
        .find_map(|m| message.find(m));
    match at {
        Some(i) => format!("{}{text}{}", &message[..i], &message[i..]),
        None => message + &text,
    }
}

/// Processes left behind, and descriptors left open at exit, cost `audit.stray_cost`
/// points (0: a warning in the message).
fn charge_strays(spec: &ScenarioSpec, result: &ScenarioResult, out: &mut TestResult) {
    let mut parts = Vec::new();
    if !result.strays.is_empty() {
        parts.push(strays_text(&result.strays));
    }
    if !result.open_at_exit.is_empty() {
        parts.push(open_fds_text(&result.open_at_exit));
    }
    if parts.is_empty() {
        return;
    }
    let text = parts.join("; ");
    let cost = spec.audit.stray_cost;
    if out.status == Status::Passed {
        out.message = if cost == 0 {
            format!("warning: {text}")
        } else {
            out.status = Status::Failed;
            out.hint = spec.hint_levels().first().map(|h| h.to_string());
            text
        };
    } else {
        out.message = format!("{}; {text}", out.message);
    }
    out.score = out.score.saturating_sub(cost);
}

fn check_scenario(
    spec: &ScenarioSpec,
    steps: &[Step],
    result: &ScenarioResult,
    vars: &Vars,
) -> Result<(), Miss> {
    if let Some(e) = &result.error {
        return Err(Miss {
            status: Status::Error,
            message: format!("the scenario could not be run: {e}"),
            step: None,
        });
    }
    let mut vars = vars.clone();
    for (i, st) in spec.steps.iter().enumerate() {
        let Some(outcome) = result.steps.get(i) else {
            return Err(cut_short(i, result));
        };
        capture(outcome, &mut vars);
        check_step(st, steps.get(i), outcome, &vars, result.hang.as_ref()).map_err(|m| Miss {
            message: format!("step {} {}", i + 1, m.message),
            step: Some(i),
            ..m
        })?;
    }
    check_syscalls(spec, result, &vars)
}

fn cut_short(i: usize, result: &ScenarioResult) -> Miss {
    match &result.hang {
        Some(h) => Miss {
            status: Status::Timeout,
            message: hang::cut_short(i + 1, h),
            step: Some(i),
        },
        // Every step before passed and none was running: the waits used up the deadline.
        None => Miss {
            status: Status::Timeout,
            message: format!(
                "the scenario's deadline came before step {} could run: the steps before it took all its time",
                i + 1
            ),
            step: Some(i),
        },
    }
}

/// Values a step makes available to later expectations (`{ftok}`).
fn capture(outcome: &StepOutcome, vars: &mut Vars) {
    if let StepOutcome::Ftok { key: Some(k), .. } = outcome {
        vars.insert("ftok".into(), format!("0x{:08x}", *k as u32));
    }
}

/// [`check_outcome`], with the step's `because` after a failure's message.
fn check_step(
    st: &StepSpec,
    step: Option<&Step>,
    outcome: &StepOutcome,
    vars: &Vars,
    hang: Option<&HangReport>,
) -> Result<(), Miss> {
    let because = st.expect.as_ref().and_then(|e| e.because.as_ref());
    check_outcome(st, step, outcome, vars, hang).map_err(|mut m| {
        if let Some(b) = because {
            let b = crate::config::render(b, vars).unwrap_or_else(|_| b.clone());
            m.message = format!("{}: {b}", m.message);
        }
        m
    })
}

fn check_outcome(
    st: &StepSpec,
    step: Option<&Step>,
    outcome: &StepOutcome,
    vars: &Vars,
    hang: Option<&HangReport>,
) -> Result<(), Miss> {
    let default = ExpectSpec::default();
    let e = st.expect.as_ref().unwrap_or(&default);
    let foreground_run = matches!(
        step,
        Some(Step::Run {
            background: false,
            ..
        })
    );
    match outcome {
        StepOutcome::Process(p) => check_process(p, e, foreground_run, vars, hang),
        StepOutcome::Spawned {
            id,
            pid: None,
            error,
        } => Err(fail(format!(
            "(`{id}`): the program could not start: {}",
            error.as_deref().unwrap_or("unknown reason")
        ))),
        StepOutcome::Spawned { .. } | StepOutcome::Killed { .. } => Ok(()),
        StepOutcome::Waited {
            satisfied,
            waited_ms,
            nobody_left,
        } => {
            let want = e.satisfied.unwrap_or(true);
            if *satisfied == want {
                return Ok(());
            }
            let what = describe_wait(step);
            Err(fail(if want {
                format!(
                    "waited {:.1} s for {what}; it never happened{}",
                    *waited_ms as f64 / 1000.0,
                    if *nobody_left {
                        ": no process of the submission was left running to make it happen"
                    } else {
                        ""
                    }
                )
            } else {
                format!("{what} happened, but should not have")
            }))
        }
        StepOutcome::Snapshot { objects } => check_snapshot(objects, e, vars),
        StepOutcome::Messages { messages, error } => {
            check_messages(messages, error.as_deref(), e, vars)
        }
        StepOutcome::File(f) => check_file(f, e, vars),
        StepOutcome::Ftok {
            error: Some(err), ..
        }
        | StepOutcome::Done { error: Some(err) } => Err(Miss {
            status: Status::Error,
            message: format!("(set-up by the grader) failed: {err}"),
            step: None,
        }),
        StepOutcome::Ftok { .. } | StepOutcome::Done { error: None } => Ok(()),
    }
}

fn describe_wait(step: Option<&Step>) -> String {
    use crate::protocol::Condition;
    match step {
        Some(Step::WaitFor {
            condition: Condition::Ipc {
                ipc, key: Some(k), ..
            },
            ..
        }) => {
            format!(
                "a {} with key 0x{:08x} to appear",
                kind_name(*ipc),
                *k as u32
            )
        }
        Some(Step::WaitFor {
            condition: Condition::Ipc {
                ipc, name: Some(n), ..
            },
            ..
        }) => {
            format!("a {} named {n} to appear", kind_name(*ipc))
        }
        Some(Step::WaitFor {
            condition: Condition::File { path },
            ..
        }) => format!("file `{path}` to appear"),
        Some(Step::WaitFor {
            condition: Condition::Output { id, contains },
            ..
        }) => {
            format!("`{id}` to print {}", quote(contains))
        }
        _ => "the condition".into(),
    }
}

fn check_process(
    p: &ProcessResult,
    e: &ExpectSpec,
    foreground_run: bool,
    vars: &Vars,
    hang: Option<&HangReport>,
) -> Result<(), Miss> {
    let cmd = format!("`{}`", p.command);
    match p.exit {
        Exit::NotStarted => {
            return Err(fail(format!(
                "{cmd} could not start: {}",
                p.error.as_deref().unwrap_or("exec failed")
            )))
        }
        Exit::Timeout => {
            return Err(Miss {
                status: Status::Timeout,
                message: format!(
                    "{cmd} {}{}{}",
                    hang::ended(hang),
                    limits_text(&p.limits),
                    output_tail(p)
                ),
                step: None,
            })
        }
        Exit::Signal(sig) => {
            let expected = e
                .signal
                .as_deref()
                .map(signal_number)
                .transpose()
                .ok()
                .flatten();
            if expected != Some(sig) {
                let name = if sig == libc::SIGKILL && sigkill_explained(p) {
                    signal_name(sig).to_string()
                } else {
                    describe_signal(sig)
                };
                return Err(Miss {
                    status: Status::Crashed,
                    message: format!(
                        "{cmd} was killed by {name}{}{}{}",
                        sender_text(p),
                        limits_text(&p.limits),
                        output_tail(p)
                    ),
                    step: None,
                });
            }
        }
        Exit::Code(code) => {
            if let Some(panic) = rust_panic(p, code) {
                return Err(Miss {
                    status: Status::Crashed,
                    message: format!("{cmd} panicked: {panic}"),
                    step: None,
                });
            }
            if let Some(sig) = &e.signal {
                return Err(fail(format!(
                    "{cmd} exited with status {code}; it should have been killed by SIG{}",
                    sig.trim_start_matches("SIG")
                )));
            }
            let want = match &e.exit {
                Some(ExitSpec::Code(c)) => Some(*c),
                Some(ExitSpec::Any(_)) => None,
                None if foreground_run => Some(0),
                None => None,
            };
            if let Some(w) = want.filter(|w| *w != code) {
                return Err(fail(format!(
                    "{cmd} exited with status {code}, expected {w}{}{}",
                    limits_text(&p.limits),
                    output_tail(p)
                )));
            }
        }
    }
    for (name, text, ms) in [
        ("stdout", &p.stdout, &e.stdout),
        ("stderr", &p.stderr, &e.stderr),
    ] {
        for m in ms.iter().flat_map(|m| m.as_slice()) {
            m.check(name, text, vars)
                .map_err(|msg| fail(format!("{cmd}: {msg}{}", limits_text(&p.limits))))?;
        }
    }
    Ok(())
}

/// A Rust program that panicked exits with 101 and says so on stderr.
fn rust_panic(p: &ProcessResult, code: i32) -> Option<String> {
    if code != 101 {
        return None;
    }
    let at = p.stderr.find("panicked at")?;
    let text = p.stderr[at..].lines().take(2).collect::<Vec<_>>().join(" ");
    Some(text)
}

fn describe_signal(sig: i32) -> String {
    let why = match sig {
        libc::SIGSEGV => " (invalid memory access: a NULL, dangling or out-of-bounds pointer)",
        libc::SIGBUS => " (bad memory access: e.g. touching a mapping past the end of its file)",
        libc::SIGABRT => " (abort: a failed assertion or a detected heap corruption)",
        libc::SIGFPE => " (arithmetic error, e.g. division by zero)",
        libc::SIGPIPE => " (wrote to a pipe nobody reads any more)",
        libc::SIGXFSZ => " (wrote a file larger than the allowed limit)",
        libc::SIGXCPU => " (used more CPU time than allowed)",
        libc::SIGKILL => " (killed: out of memory or a resource limit)",
        libc::SIGSYS => " (a forbidden system call)",
        _ => "",
    };
    format!("{}{why}", signal_name(sig))
}

fn output_tail(p: &ProcessResult) -> String {
    let tail = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    };
    let mut out = String::new();
    if !p.stderr.trim().is_empty() {
        out.push_str(&format!("; stderr ended with {}", quote(&tail(&p.stderr))));
    } else if !p.stdout.trim().is_empty() {
        out.push_str(&format!("; stdout ended with {}", quote(&tail(&p.stdout))));
    }
    out
}

fn leak_message(result: &ScenarioResult) -> String {
    let items: Vec<String> = result
        .leaks
        .iter()
        .map(|l| {
            format!(
                "{} — remove it with `{}`",
                describe_object(&l.object),
                l.remove_command
            )
        })
        .collect();
    format!(
        "everything worked, but the program left IPC objects behind: {}. IPC objects outlive processes: remove them before exiting (msgctl/shmctl/semctl IPC_RMID, mq_unlink, shm_unlink, sem_unlink)",
        items.join("; ")
    )
}

fn check_syscalls(spec: &ScenarioSpec, result: &ScenarioResult, vars: &Vars) -> Result<(), Miss> {
    let s = &spec.audit.syscalls;
    let count = |name: &str| result.syscalls.get(name).copied().unwrap_or(0);
    for name in &s.forbid {
        let n = count(name);
        if n > 0 {
            return Err(fail(format!(
                "the program called {name} {n} time(s); this exercise must not use it"
            )));
        }
    }
    let mut missing = Vec::new();
    for (name, min) in &s.require {
        let min = min.resolve(vars).map_err(fail)?;
        let n = count(name) as i64;
        if n < min {
            missing.push(format!("{name} {n} time(s) (at least {min} expected)"));
        }
    }
    if !missing.is_empty() {
        return Err(fail(format!("the program called {} — the data must really go through the IPC object, printing the expected output is not enough", missing.join(", "))));
    }
    for (name, max) in &s.at_most {
        let max = max.resolve(vars).map_err(fail)?;
        let n = count(name) as i64;
        if n > max {
            return Err(fail(format!(
                "the program called {name} {n} time(s); at most {max} expected"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
