//! Turns a spec scenario and the drawn parameters into the agent's [`ScenarioJob`].

use std::path::Path;

use crate::config::{render, Vars};
use crate::protocol::{AuditRequest, Condition, IpcKind, Message, RoundTrips, ScenarioJob, Step};
use crate::spec::{IntOrTemplate, IpcRefSpec, LabSpec, ScenarioSpec, StepSpec};

/// Variables filled in by the run itself, usable in expectations only.
pub const RUNTIME_VARS: &[&str] = &["ftok"];

/// Where and how the job will run.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// Directory holding the submission's programs, as the agent sees it.
    pub bin_dir: &'a Path,
    /// Multiplier for deadlines (the guest under TCG is slower than native).
    pub timeout_scale: f64,
}

/// Compiles one scenario.
pub fn scenario(
    spec: &LabSpec,
    s: &ScenarioSpec,
    vars: &Vars,
    target: &Target<'_>,
) -> Result<ScenarioJob, String> {
    let steps = s
        .steps
        .iter()
        .enumerate()
        .map(|(i, st)| step(spec, st, vars, target).map_err(|e| format!("step {}: {e}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut syscalls = s.audit.syscalls.names();
    let round_trips = round_trips(s, vars)?;
    if let Some(rt) = &round_trips {
        syscalls.extend(rt.calls.keys().cloned());
        syscalls.sort();
        syscalls.dedup();
    }
    for name in &syscalls {
        if crate::agent::syscall_number(name).is_none() {
            return Err(format!("audit.syscalls: unknown system call `{name}`"));
        }
    }
    Ok(ScenarioJob {
        name: s.name.clone(),
        timeout_ms: scaled_ms(s.timeout.0, target.timeout_scale),
        steps,
        audit: AuditRequest {
            leaks: s.audit.leaks,
            syscalls,
            fds: s.audit.fds,
            round_trips,
        },
        alone: s.audit.round_trips.is_some(),
    })
}

/// `audit.round_trips` with its count resolved.
fn round_trips(s: &ScenarioSpec, vars: &Vars) -> Result<Option<RoundTrips>, String> {
    let Some(rt) = &s.audit.round_trips else {
        return Ok(None);
    };
    let count = rt
        .count
        .resolve(vars)
        .map_err(|e| format!("audit.round_trips.count: {e}"))?;
    if rt.calls.is_empty() || rt.calls.values().any(|&n| n == 0) {
        return Err("audit.round_trips.calls: name at least one call, each made at least once per round trip".into());
    }
    Ok(Some(RoundTrips {
        count: count.max(0) as u64,
        calls: rt.calls.clone(),
    }))
}

fn scaled_ms(d: std::time::Duration, scale: f64) -> u64 {
    (d.as_secs_f64() * scale * 1000.0).round() as u64
}

/// Validates a scenario by compiling it with `vars` (see [`placeholder_vars`]) and
/// rendering every expectation template.
pub fn check_scenario(spec: &LabSpec, s: &ScenarioSpec, vars: &Vars) -> Result<(), String> {
    let target = Target {
        bin_dir: Path::new("/job/bin"),
        timeout_scale: 1.0,
    };
    scenario(spec, s, vars, &target)?;
    for (i, st) in s.steps.iter().enumerate() {
        check_expect(st, vars).map_err(|e| format!("step {}: {e}", i + 1))?;
    }
    for (name, n) in s
        .audit
        .syscalls
        .require
        .iter()
        .chain(&s.audit.syscalls.at_most)
    {
        n.resolve(vars)
            .map_err(|e| format!("audit.syscalls.{name}: {e}"))?;
    }
    Ok(())
}

/// Parameters drawn once (derived digests can be costly) plus the runtime variables.
pub fn placeholder_vars(spec: &LabSpec) -> Result<Vars, String> {
    let mut vars = super::params::draw(&spec.params, 0)?;
    for v in RUNTIME_VARS {
        vars.insert((*v).to_string(), "0".into());
    }
    Ok(vars)
}

fn check_expect(st: &StepSpec, vars: &Vars) -> Result<(), String> {
    let Some(e) = &st.expect else { return Ok(()) };
    for (name, ms) in [("stdout", &e.stdout), ("stderr", &e.stderr)] {
        for m in ms.iter().flat_map(|m| m.as_slice()) {
            if m.set_fields() != 1 {
                return Err(format!("expect.{name}: each matcher needs exactly one of exact, contains, not_contains, regex, lines, line_set, in_order, count, empty"));
            }
            // Rendering against an empty stream exercises templates and regexes.
            if let Err(msg) = m.check(name, "", vars) {
                if msg.contains("unknown parameter")
                    || msg.contains("bad regex")
                    || msg.contains("unclosed")
                {
                    return Err(format!("expect.{name}: {msg}"));
                }
            }
        }
    }
    if let Some(sig) = &e.signal {
        signal_number(sig)?;
    }
    for t in [&e.because, &e.not_contains].into_iter().flatten() {
        crate::config::render(t, vars).map_err(|m| format!("expect: {m}"))?;
    }
    if let Some(crate::spec::expect::ExitSpec::Any(s)) = &e.exit {
        if s != "any" {
            return Err(format!("expect.exit = \"{s}\": use a number or \"any\""));
        }
    }
    Ok(())
}

fn step(spec: &LabSpec, st: &StepSpec, vars: &Vars, target: &Target<'_>) -> Result<Step, String> {
    let verbs = [
        st.run.is_some(),
        st.exec.is_some(),
        st.wait.is_some(),
        st.kill.is_some(),
        st.sleep.is_some(),
        st.wait_for.is_some(),
        st.ipc_snapshot.is_some(),
        st.msg_send.is_some(),
        st.msg_drain.is_some(),
        st.ipc_create.is_some(),
        st.ipc_remove.is_some(),
        st.write_file.is_some(),
        st.gen_ints.is_some(),
        st.file.is_some(),
        st.ftok.is_some(),
    ];
    match verbs.iter().filter(|v| **v).count() {
        1 => {}
        0 => return Err("no verb: set one of run, exec, wait, kill, sleep, wait_for, ipc_snapshot, msg_send, msg_drain, ipc_create, ipc_remove, write_file, gen_ints, file, ftok".into()),
        _ => return Err("more than one verb in one step: split it".into()),
    }
    let r = |t: &str| render(t, vars);
    if let Some(prog) = &st.run {
        if !spec.programs.contains(prog) {
            return Err(format!(
                "run = \"{prog}\" is not in programs {:?}",
                spec.programs
            ));
        }
        return run_step(st, prog, target.bin_dir.join(prog), vars);
    }
    if let Some(path) = &st.exec {
        if !path.starts_with('/') {
            return Err(format!("exec = \"{path}\" must be an absolute path"));
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        return run_step(st, name, path.into(), vars);
    }
    if let Some(id) = &st.wait {
        let timeout_ms = st.within.map(|d| scaled_ms(d.0, target.timeout_scale));
        return Ok(Step::Wait {
            id: id.clone(),
            timeout_ms,
        });
    }
    if let Some(id) = &st.kill {
        let signal = signal_number(st.signal.as_deref().unwrap_or("TERM"))?;
        return Ok(Step::Kill {
            id: id.clone(),
            signal,
        });
    }
    if let Some(d) = st.sleep {
        return Ok(Step::Sleep {
            ms: d.0.as_millis() as u64,
        });
    }
    if let Some(w) = &st.wait_for {
        let within = st.within.ok_or("wait_for needs `within`")?;
        return Ok(Step::WaitFor {
            condition: condition(w, vars)?,
            timeout_ms: scaled_ms(within.0, target.timeout_scale),
        });
    }
    if st.ipc_snapshot.is_some() {
        return Ok(Step::IpcSnapshot);
    }
    if let Some(m) = &st.msg_send {
        let messages = m
            .messages
            .iter()
            .map(|msg| {
                Ok(Message {
                    mtype: msg.mtype,
                    text: r(&msg.text)?,
                })
            })
            .collect::<Result<_, String>>()?;
        return Ok(Step::MsgSend {
            key: key(&m.key, vars)?,
            create: m.create,
            messages,
        });
    }
    if let Some(d) = &st.msg_drain {
        let k = d.key.as_ref().ok_or("msg_drain needs `key`")?;
        return Ok(Step::MsgDrain { key: key(k, vars)? });
    }
    if let Some(c) = &st.ipc_create {
        let (k, name) = ipc_ref(c.ipc, c.key.as_ref(), c.name.as_deref(), vars)?;
        return Ok(Step::IpcCreate {
            ipc: c.ipc,
            key: k,
            name,
            size: c.size,
            mode: c.mode,
        });
    }
    if let Some(c) = &st.ipc_remove {
        return ipc_remove(c, vars);
    }
    if let Some(w) = &st.write_file {
        return Ok(Step::WriteFile {
            path: r(&w.path)?,
            content: r(&w.content)?,
            mode: w.mode,
        });
    }
    if let Some(g) = &st.gen_ints {
        let count =
            u64::try_from(g.count.resolve(vars)?).map_err(|_| "gen_ints: negative count")?;
        let seed = g.seed.resolve(vars)? as u64;
        return Ok(Step::GenInts {
            path: r(&g.path)?,
            count,
            seed,
        });
    }
    if let Some(p) = &st.file {
        return Ok(Step::FileProbe { path: r(p)? });
    }
    let f = st.ftok.as_ref().expect("one verb is set");
    Ok(Step::Ftok {
        path: r(&f.path)?,
        proj: f.proj.resolve(vars)? as i32,
    })
}

fn run_step(
    st: &StepSpec,
    name: &str,
    program: std::path::PathBuf,
    vars: &Vars,
) -> Result<Step, String> {
    let r = |t: &str| render(t, vars);
    Ok(Step::Run {
        id: st.id.clone().unwrap_or_else(|| name.to_string()),
        program,
        args: st.args.iter().map(|a| r(a)).collect::<Result<_, _>>()?,
        stdin: st.stdin.as_deref().map(r).transpose()?,
        env: st
            .env
            .iter()
            .map(|(k, v)| Ok((k.clone(), r(v)?)))
            .collect::<Result<_, String>>()?,
        background: st.background,
    })
}

fn ipc_remove(c: &IpcRefSpec, vars: &Vars) -> Result<Step, String> {
    let ipc = c.ipc.ok_or("ipc_remove needs `ipc`")?;
    let (key, name) = ipc_ref(ipc, c.key.as_ref(), c.name.as_deref(), vars)?;
    Ok(Step::IpcRemove { ipc, key, name })
}

fn condition(w: &crate::spec::WaitForSpec, vars: &Vars) -> Result<Condition, String> {
    if let Some(ipc) = w.ipc {
        let (key, name) = ipc_ref(ipc, w.key.as_ref(), w.name.as_deref(), vars)?;
        return Ok(Condition::Ipc { ipc, key, name });
    }
    if let Some(path) = &w.file {
        return Ok(Condition::File {
            path: render(path, vars)?,
        });
    }
    if let (Some(id), Some(contains)) = (&w.output, &w.contains) {
        return Ok(Condition::Output {
            id: id.clone(),
            contains: render(contains, vars)?,
        });
    }
    Err("wait_for needs one of `ipc` (+ key or name), `file`, or `output` + `contains`".into())
}

/// SysV kinds need a key, POSIX kinds a name.
fn ipc_ref(
    ipc: IpcKind,
    k: Option<&IntOrTemplate>,
    name: Option<&str>,
    vars: &Vars,
) -> Result<(Option<i32>, Option<String>), String> {
    let sysv = matches!(ipc, IpcKind::Msg | IpcKind::Shm | IpcKind::Sem);
    match (sysv, k, name) {
        (true, Some(k), None) => Ok((Some(key(k, vars)?), None)),
        (false, None, Some(n)) => {
            let n = render(n, vars)?;
            Ok((
                None,
                Some(if n.starts_with('/') {
                    n
                } else {
                    format!("/{n}")
                }),
            ))
        }
        (true, _, _) => Err(format!("{ipc:?} objects are named by `key` only")),
        (false, _, _) => Err(format!("{ipc:?} objects are named by `name` only")),
    }
}

fn key(k: &IntOrTemplate, vars: &Vars) -> Result<i32, String> {
    let v = k.resolve(vars)?;
    i32::try_from(v)
        .or_else(|_| u32::try_from(v).map(|u| u as i32))
        .map_err(|_| format!("key {v} does not fit in a key_t"))
}

/// Signal names as written in specs (`KILL`, `SIGKILL`, `9`).
pub fn signal_number(name: &str) -> Result<i32, String> {
    let n = name.trim_start_matches("SIG");
    let table = [
        ("HUP", libc::SIGHUP),
        ("INT", libc::SIGINT),
        ("QUIT", libc::SIGQUIT),
        ("ILL", libc::SIGILL),
        ("ABRT", libc::SIGABRT),
        ("BUS", libc::SIGBUS),
        ("FPE", libc::SIGFPE),
        ("KILL", libc::SIGKILL),
        ("USR1", libc::SIGUSR1),
        ("SEGV", libc::SIGSEGV),
        ("USR2", libc::SIGUSR2),
        ("PIPE", libc::SIGPIPE),
        ("ALRM", libc::SIGALRM),
        ("TERM", libc::SIGTERM),
        ("CHLD", libc::SIGCHLD),
        ("CONT", libc::SIGCONT),
        ("STOP", libc::SIGSTOP),
        ("XCPU", libc::SIGXCPU),
        ("XFSZ", libc::SIGXFSZ),
        ("SYS", libc::SIGSYS),
    ];
    if let Ok(num) = n.parse::<i32>() {
        return Ok(num);
    }
    table
        .iter()
        .find(|(s, _)| *s == n)
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("unknown signal `{name}`"))
}

/// The conventional name of a signal number, for messages (`SIGSEGV`).
pub fn signal_name(num: i32) -> String {
    for cand in [
        "HUP", "INT", "QUIT", "ILL", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
        "ALRM", "TERM", "CHLD", "CONT", "STOP", "XCPU", "XFSZ", "SYS",
    ] {
        if signal_number(cand) == Ok(num) {
            return format!("SIG{cand}");
        }
    }
    format!("signal {num}")
}
