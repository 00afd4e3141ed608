//! Scores lab 7's observations: one [`TestResult`] per check, and for each failure a
//! sentence that says what was expected, what happened, and which option or command
//! fixes it — in the course's vocabulary (`-smp N,maxcpus=M`, `device_add`, `balloon`,
//! `quit`). Pure: everything it needs is in the [`Observations`].

use std::time::Duration;

use super::cmdline::QemuCmdline;
use super::net::NetError;
use super::params::Params;
use super::record::{
    BalloonObs, BootObs, Booted, DiskObs, HotplugObs, LiveObs, Observations, OnlineObs, PhaseRun,
    StopObs,
};
use super::spec::{CheckName, QemuLabSpec};
use crate::qmp::BlockInfo;
use crate::score::{Status, TestResult};

/// MemTotal may shrink by a little less than the balloon takes (KiB).
const MEM_TOLERANCE_KB: u64 = 4 << 10;

/// A check that did not pass: its status and why.
type Verdict = Result<(), (Status, String)>;

fn fail(message: String) -> Verdict {
    Err((Status::Failed, message))
}

/// What the judge needs besides the observations.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The drawn values.
    pub params: &'a Params,
    /// `$DISK`.
    pub disk: &'a str,
    /// Per-script deadline (for messages).
    pub script_deadline: Duration,
    /// Stop deadline (for messages).
    pub stop_deadline: Duration,
}

/// Every check's result, in [`CheckName::ALL`] order.
pub fn judge(spec: &QemuLabSpec, ctx: &Context, obs: &Observations) -> Vec<TestResult> {
    CheckName::ALL
        .iter()
        .map(|&name| {
            let check = spec.check(name);
            let verdict = verdict(name, ctx, obs);
            let (status, message) = verdict.err().unwrap_or((Status::Passed, String::new()));
            TestResult {
                name: name.as_str().to_owned(),
                title: Some(check.title.clone()),
                status,
                score: if status == Status::Passed {
                    check.points
                } else {
                    0
                },
                max_score: check.points,
                message,
                hint: (status != Status::Passed)
                    .then(|| check.hint.clone())
                    .flatten(),
                hints: Vec::new(),
                hint_levels: 0,
                duration_ms: 0,
                cpu_ms: 0,
                leaks: Vec::new(),
                output: None,
                steps: Vec::new(),
            }
        })
        .collect()
}

fn verdict(name: CheckName, ctx: &Context, obs: &Observations) -> Verdict {
    if name == CheckName::Disk {
        return disk(ctx, &obs.disk);
    }
    if name == CheckName::Boot {
        return boot(&obs.boot);
    }
    let Some(live) = &obs.live else {
        return fail(match obs.boot.booted {
            Booted::Ready => {
                "not checked: the grader could not reach your VM over QMP (see boot)".into()
            }
            Booted::Exited | Booted::Silent => "not checked: the VM did not boot (see boot)".into(),
        });
    };
    let cmdline = obs.boot.cmdline.as_ref();
    match name {
        CheckName::Network => network(ctx, live, cmdline),
        CheckName::Drive => drive(ctx, live.drives.as_ref()),
        CheckName::Hotplug => hotplug(ctx, &live.hotplug, cmdline),
        CheckName::Online => online(ctx, live),
        CheckName::Balloon => balloon(ctx, &live.balloon, cmdline),
        CheckName::Stop => stop(ctx, &live.stop),
        CheckName::Disk | CheckName::Boot => unreachable!("judged above"),
    }
}

fn disk(ctx: &Context, obs: &DiskObs) -> Verdict {
    let p = ctx.params;
    let create = format!(
        "qemu-img create -f qcow2 \"$DISK\" \"$DISK_SIZE\" (here DISK_SIZE={})",
        p.disk_size()
    );
    let script = obs
        .script
        .failure("disk.sh", ctx.script_deadline)
        .map(|f| format!(". {f}"))
        .unwrap_or_default();
    match &obs.info {
        None => fail(format!("disk.sh did not create $DISK ({}): {create}{script}", ctx.disk)),
        Some(Err(e)) => fail(format!("qemu-img cannot read the disk disk.sh made: {e}")),
        Some(Ok((format, _))) if format != "qcow2" => fail(format!("the disk is {format}, expected qcow2: {create}")),
        Some(Ok((_, size))) if *size != p.disk_bytes() => fail(format!(
            "the disk's virtual size is {size} bytes ({}), expected DISK_SIZE={} = {} bytes: give \"$DISK_SIZE\" to qemu-img create",
            mib(*size),
            p.disk_size(),
            p.disk_bytes()
        )),
        Some(Ok(_)) => Ok(()),
    }
}

fn mib(bytes: u64) -> String {
    if bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

fn boot(obs: &BootObs) -> Verdict {
    let kvm = match &obs.cmdline {
        Some(c) if c.kvm() => {
            "\nThis grader runs QEMU without KVM (TCG emulation): remove -enable-kvm / accel=kvm."
        }
        _ => "",
    };
    let said = |what: &str, text: &str| {
        if text.trim().is_empty() {
            String::new()
        } else {
            format!("; {what}:\n{text}")
        }
    };
    match obs.booted {
        Booted::Exited if obs.cmdline.is_none() && obs.stderr.trim().is_empty() => fail(format!(
            "boot.sh ended{} without starting QEMU: it must run qemu-system-x86_64 (exec qemu-system-x86_64 … \"$@\"){}",
            obs.exit.as_deref().map(|e| format!(" ({e})")).unwrap_or_default(),
            said("the console showed", &obs.console)
        )),
        Booted::Exited => fail(format!(
            "QEMU stopped before the guest booted{}{}{kvm}",
            said("QEMU said", &obs.stderr),
            said("the console showed", &obs.console)
        )),
        Booted::Silent => fail(format!(
            "QEMU ran for {:.0} s but the guest's shell never appeared on its standard output: {}{}{kvm}",
            obs.seconds,
            silent_reason(obs.cmdline.as_ref()),
            said("the console showed", &obs.console)
        )),
        Booted::Ready => match &obs.qmp_error {
            Some(e) => fail(format!("the guest booted, but the grader cannot check your VM: {e}")),
            None => Ok(()),
        },
    }
}

fn silent_reason(cmdline: Option<&QemuCmdline>) -> &'static str {
    match cmdline {
        Some(c) if !c.has("nographic") => {
            "your command line has no -nographic, so the guest's serial console and the monitor are not on your terminal"
        }
        _ => "boot with -nographic and -kernel \"$KERNEL\" -initrd \"$INITRD\" -append \"console=ttyS0\" (the serial console on your terminal)",
    }
}

fn network(ctx: &Context, live: &LiveObs, cmdline: Option<&QemuCmdline>) -> Verdict {
    let (host, guest) = (ctx.params.host_port, ctx.params.guest_port);
    let problem = cmdline
        .and_then(|c| c.network_problem(host, guest))
        .unwrap_or_else(|| format!("use -netdev user,id=net0,hostfwd=tcp::{host}-:{guest} -device virtio-net-pci,netdev=net0"));
    match &live.network {
        Some(Ok(_)) => Ok(()),
        Some(Err(NetError::Refused)) => fail(format!("nothing answers on 127.0.0.1:{host} (HOST_PORT): {problem}")),
        Some(Err(NetError::NoAnswer)) => fail(format!(
            "127.0.0.1:{host} accepts connections but the guest's service on port {guest} (GUEST_PORT) never answered: {problem}"
        )),
        Some(Err(NetError::Foreign(text))) => fail(format!("127.0.0.1:{host} answers, but not with this run's guest: {text:?}")),
        Some(Err(NetError::Other(e))) => fail(format!("connecting to 127.0.0.1:{host} failed: {e}")),
        None => fail("not checked".into()),
    }
}

fn drive(ctx: &Context, drives: Option<&Result<Vec<BlockInfo>, String>>) -> Verdict {
    let attach = "-drive file=\"$DISK\",format=qcow2,if=virtio";
    let list = match drives {
        Some(Ok(list)) => list,
        Some(Err(e)) => return fail(format!("QMP query-block failed: {e}")),
        None => return fail("not checked: no QMP session".into()),
    };
    let wanted = std::fs::canonicalize(ctx.disk).unwrap_or_else(|_| ctx.disk.into());
    let attached = list.iter().filter_map(|b| b.inserted.as_ref()).any(|m| {
        let file = std::path::Path::new(&m.file);
        file == wanted || std::fs::canonicalize(file).is_ok_and(|f| f == wanted)
    });
    if attached {
        return Ok(());
    }
    let files: Vec<&str> = list
        .iter()
        .filter_map(|b| b.inserted.as_ref())
        .map(|m| m.file.as_str())
        .collect();
    let seen = if files.is_empty() {
        "no disk at all".to_owned()
    } else {
        files.join(", ")
    };
    fail(format!(
        "$DISK is not attached to the VM (QMP query-block lists {seen}): add {attach}"
    ))
}

/// What went wrong in a monitor phase before its effect could be judged.
fn phase_problem(phase: &PhaseRun, name: &str, ctx: &Context) -> Option<String> {
    let script = format!("monitor.sh {name}");
    if let Some(f) = phase.script.failure(&script, ctx.script_deadline) {
        return Some(f);
    }
    if phase.qemu_gone {
        return Some(format!("QEMU had already exited before {script}'s commands (a command of an earlier phase ended it)"));
    }
    if phase.unreachable.is_some() {
        return Some("Ctrl-a c showed no (qemu) prompt: the monitor must be on QEMU's standard input/output, as -nographic puts it (no -monitor or -serial option of your own)".into());
    }
    if phase.script.lines().is_empty() {
        return Some(format!("{script} printed no monitor command"));
    }
    if let Some(r) = phase
        .replies
        .iter()
        .find(|r| r.ended == Some(super::console::Stop::Timeout))
    {
        return Some(format!(
            "the monitor did not answer `{}` within its deadline",
            r.command
        ));
    }
    let closed = phase
        .replies
        .iter()
        .find(|r| r.ended == Some(super::console::Stop::Closed));
    match closed {
        Some(r) if name != "stop" => Some(format!(
            "QEMU exited at `{}` of {script}, before the grader could check the phase: only monitor.sh stop may end the VM",
            r.command
        )),
        _ => None,
    }
}

/// The monitor's complaints, quoted for a message.
fn complaints(phase: &PhaseRun) -> String {
    let said: Vec<String> = phase
        .replies
        .iter()
        .filter(|r| !r.text.is_empty())
        .map(|r| format!("`{}` → {}", r.command, r.text))
        .collect();
    if said.is_empty() {
        String::new()
    } else {
        format!(" (the monitor answered: {})", said.join("; "))
    }
}

fn hotplug(ctx: &Context, obs: &HotplugObs, cmdline: Option<&QemuCmdline>) -> Verdict {
    let p = ctx.params;
    let target = p.target_cpus() as usize;
    if obs.after == Some(target) {
        return Ok(());
    }
    if let Some(problem) = phase_problem(&obs.phase, "hotplug", ctx) {
        return fail(problem);
    }
    let said = complaints(&obs.phase);
    if obs
        .phase
        .replies
        .iter()
        .any(|r| r.command.split_whitespace().next() == Some("cpu-add"))
    {
        return fail(format!(
            "`cpu-add` is not a QEMU 7.2 command: it was removed in QEMU 5.2{said}. Use device_add driver=qemu64-x86_64-cpu,socket-id=…,core-id=…,thread-id=…,id=… with the ids that `info hotpluggable-cpus` (QMP query-hotpluggable-cpus) lists for a free slot"
        ));
    }
    // QMP knows; the command line is only asked when QMP could not say.
    let no_room = match obs.free_slots {
        Some(free) => free == 0,
        None => cmdline.is_some_and(|c| !c.smp_headroom()),
    };
    if no_room {
        let smp = cmdline
            .and_then(QemuCmdline::smp)
            .map_or("no -smp".to_owned(), |s| format!("-smp {s}"));
        return fail(format!(
            "{smp} leaves no room to hot-plug a CPU: boot with -smp {},maxcpus={} (maxcpus slots, {} used at boot){said}",
            p.cpus, p.max_cpus, p.cpus
        ));
    }
    let (before, after) = (count(obs.before), count(obs.after));
    let booted = match obs.before {
        Some(b) if b != p.cpus as usize => {
            format!("; the VM booted with {b} vCPUs instead of CPUS={}", p.cpus)
        }
        _ => String::new(),
    };
    fail(format!(
        "QMP query-cpus-fast lists {after} vCPUs after your commands ({before} before), expected CPUS+ADD_CPUS = {}+{} = {target}{booted}{said}",
        p.cpus, p.add_cpus
    ))
}

fn count(n: Option<usize>) -> String {
    n.map_or("?".into(), |n| n.to_string())
}

fn online(ctx: &Context, live: &LiveObs) -> Verdict {
    let p = ctx.params;
    let target = p.target_cpus();
    let obs: &OnlineObs = &live.online;
    if obs.online == Some(target) && obs.present == Some(target) {
        return Ok(());
    }
    if live.hotplug.after != Some(target as usize) {
        return fail("the CPUs were not all hot-plugged, so the guest cannot bring them online (see hotplug)".into());
    }
    if let Some(f) = obs.script.failure("guest.sh", ctx.script_deadline) {
        return fail(f);
    }
    if let Some(e) = &obs.facts_error {
        return fail(format!("after guest.sh's lines {e}"));
    }
    let last = target - 1;
    fail(format!(
        "the guest has {} CPUs present but {} online after guest.sh's lines: write 1 to /sys/devices/system/cpu/cpuN/online for each new CPU (N from {} to {last} here)",
        obs.present.map_or("?".into(), |n| n.to_string()),
        obs.online.map_or("?".into(), |n| n.to_string()),
        p.cpus
    ))
}

fn balloon(ctx: &Context, obs: &BalloonObs, cmdline: Option<&QemuCmdline>) -> Verdict {
    let target = u64::from(ctx.params.balloon_mb);
    if obs.phase.qemu_gone {
        return fail(phase_problem(&obs.phase, "balloon", ctx).unwrap_or_default());
    }
    let before = match &obs.before_mb {
        Some(Ok(mb)) => *mb,
        Some(Err(e)) => {
            let device = if cmdline.is_some_and(QemuCmdline::balloon) {
                ""
            } else {
                ": add -device virtio-balloon-pci to boot.sh"
            };
            return fail(format!(
                "no virtio-balloon device (QMP query-balloon: {e}){device}"
            ));
        }
        None => return fail("not checked: no QMP session".into()),
    };
    let reached = obs.after_mb == Some(target);
    if !reached {
        if let Some(problem) = phase_problem(&obs.phase, "balloon", ctx) {
            return fail(problem);
        }
        let memory = match obs.base_mb {
            Some(m) if m != u64::from(ctx.params.memory_mb) => format!(
                "; the VM has {m} MiB instead of MEMORY={} (-m \"$MEMORY\")",
                ctx.params.memory_mb
            ),
            _ => String::new(),
        };
        return fail(format!(
            "QMP query-balloon shows {} MiB, expected BALLOON={target} MiB: type `balloon {target}` (balloon \"$BALLOON\") at the monitor{memory}{}",
            obs.after_mb.map_or("?".into(), |m| m.to_string()),
            complaints(&obs.phase)
        ));
    }
    let want_kb = (before.saturating_sub(target) << 10).saturating_sub(MEM_TOLERANCE_KB);
    match (obs.mem_before_kb, obs.mem_after_kb) {
        (Some(b), Some(a)) if b.saturating_sub(a) >= want_kb => Ok(()),
        (Some(b), Some(a)) => fail(format!(
            "QMP reached {target} MiB but the guest's MemTotal went from {b} to {a} KiB, expected about {} KiB less (is the guest's virtio_balloon driver bound?)",
            before.saturating_sub(target) << 10
        )),
        _ => fail("the balloon reached its target but the guest's memory could not be read (see online)".into()),
    }
}

fn stop(ctx: &Context, obs: &StopObs) -> Verdict {
    if obs.gone_after.is_some() && !obs.phase.qemu_gone {
        return Ok(());
    }
    if let Some(problem) = phase_problem(&obs.phase, "stop", ctx) {
        let status = if obs.phase.qemu_gone {
            Status::Failed
        } else {
            Status::Timeout
        };
        return Err((status, problem));
    }
    let secs = ctx.stop_deadline.as_secs();
    let message = match obs.status.as_deref() {
        Some("paused") => format!(
            "the VM was only paused (QMP status `paused`) and QEMU was still running {secs} s later: `stop` freezes the guest; `quit` ends QEMU (or `system_powerdown`, the ACPI power button)"
        ),
        status => format!(
            "the VM was still running {secs} s after your monitor commands (QMP status `{}`): `quit` (or `system_powerdown`) stops it{}",
            status.unwrap_or("?"),
            complaints(&obs.phase)
        ),
    };
    Err((Status::Timeout, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qemulab::console::Reply;
    use crate::qemulab::procs::ScriptRun;
    use crate::qemulab::record::BootObs;
    use crate::qemulab::spec::QemuLabSpec;

    fn spec() -> QemuLabSpec {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/lab7-qemu/lab.toml");
        QemuLabSpec::load(&path).unwrap().0
    }

    fn params() -> Params {
        Params {
            disk_mb: 192,
            memory_mb: 256,
            balloon_mb: 160,
            cpus: 1,
            max_cpus: 4,
            add_cpus: 2,
            guest_port: 8080,
            host_port: 20001,
        }
    }

    fn ctx(p: &Params) -> Context<'_> {
        Context {
            params: p,
            disk: "/nonexistent/disk.qcow2",
            script_deadline: Duration::from_secs(10),
            stop_deadline: Duration::from_secs(10),
        }
    }

    fn printed(lines: &str) -> ScriptRun {
        ScriptRun {
            code: Some(0),
            stdout: lines.into(),
            ..ScriptRun::default()
        }
    }

    fn phase(lines: &str, replies: &[(&str, &str)]) -> PhaseRun {
        let replies = replies
            .iter()
            .map(|(c, t)| Reply {
                command: (*c).into(),
                text: (*t).into(),
                ended: None,
            })
            .collect();
        PhaseRun {
            script: printed(lines),
            replies,
            ..PhaseRun::default()
        }
    }

    fn result(obs: &Observations, name: CheckName) -> TestResult {
        let p = params();
        judge(&spec(), &ctx(&p), obs)
            .into_iter()
            .find(|t| t.name == name.as_str())
            .unwrap()
    }

    fn booted(cmdline: &str) -> Observations {
        Observations {
            boot: BootObs {
                booted: Booted::Ready,
                cmdline: Some(QemuCmdline::new(
                    cmdline.split(' ').map(String::from).collect(),
                )),
                ..BootObs::default()
            },
            live: Some(LiveObs::default()),
            ..Observations::default()
        }
    }

    #[test]
    fn disk_messages_name_format_and_size() {
        let mut obs = Observations::default();
        obs.disk.info = Some(Ok(("raw".into(), 192 << 20)));
        let t = result(&obs, CheckName::Disk);
        assert!(
            t.message.contains("the disk is raw, expected qcow2")
                && t.message.contains("qemu-img create -f qcow2"),
            "{}",
            t.message
        );
        obs.disk.info = Some(Ok(("qcow2".into(), 5 << 30)));
        let t = result(&obs, CheckName::Disk);
        assert!(
            t.message.contains("5120 MiB") && t.message.contains("DISK_SIZE=192M"),
            "{}",
            t.message
        );
        obs.disk.info = Some(Ok(("qcow2".into(), 192 << 20)));
        assert_eq!(
            (
                result(&obs, CheckName::Disk).status,
                result(&obs, CheckName::Disk).score
            ),
            (Status::Passed, 15)
        );
    }

    #[test]
    fn cpu_add_and_missing_maxcpus_teach_the_modern_way() {
        let mut obs = booted("q -nographic -smp 1,maxcpus=4");
        let live = obs.live.as_mut().unwrap();
        live.hotplug = HotplugObs {
            phase: phase(
                "cpu-add 1\ncpu-add 2\n",
                &[("cpu-add 1", "unknown command: 'cpu-add'")],
            ),
            free_slots: Some(3),
            before: Some(1),
            after: Some(1),
        };
        let t = result(&obs, CheckName::Hotplug);
        assert!(
            t.message.contains("`cpu-add` is not a QEMU 7.2 command")
                && t.message.contains("device_add"),
            "{}",
            t.message
        );
        let online = result(&obs, CheckName::Online);
        assert!(online.message.contains("see hotplug"), "{}", online.message);
        let mut obs = booted("q -nographic -smp 1");
        obs.live.as_mut().unwrap().hotplug = HotplugObs {
            phase: phase("device_add x\n", &[("device_add x", "Error: …")]),
            free_slots: Some(0),
            before: Some(1),
            after: Some(1),
        };
        let t = result(&obs, CheckName::Hotplug);
        assert!(
            t.message.starts_with("-smp 1 leaves no room")
                && t.message.contains("-smp 1,maxcpus=4"),
            "{}",
            t.message
        );
    }

    #[test]
    fn a_missing_balloon_device_and_a_paused_vm_are_explained() {
        let mut obs = booted("q -nographic");
        let live = obs.live.as_mut().unwrap();
        live.balloon.before_mb = Some(Err(
            "DeviceNotActive: No balloon device has been activated".into()
        ));
        live.stop = StopObs {
            phase: phase("stop\n", &[("stop", "")]),
            gone_after: None,
            status: Some("paused".into()),
        };
        let t = result(&obs, CheckName::Balloon);
        assert!(
            t.message.contains("no virtio-balloon device")
                && t.message.contains("-device virtio-balloon-pci"),
            "{}",
            t.message
        );
        let t = result(&obs, CheckName::Stop);
        assert_eq!(t.status, Status::Timeout);
        assert!(
            t.message.contains("only paused") && t.message.contains("`quit`"),
            "{}",
            t.message
        );
    }

    #[test]
    fn a_quit_before_the_stop_phase_is_named() {
        let mut obs = booted("q -smp 1,maxcpus=4");
        let live = obs.live.as_mut().unwrap();
        let mut hot = phase("device_add x\nquit\n", &[("device_add x", "")]);
        hot.replies.push(Reply {
            command: "quit".into(),
            text: String::new(),
            ended: Some(crate::qemulab::console::Stop::Closed),
        });
        live.hotplug = HotplugObs {
            phase: hot,
            free_slots: Some(3),
            before: Some(1),
            after: None,
        };
        live.stop = StopObs {
            phase: PhaseRun {
                qemu_gone: true,
                ..phase("quit\n", &[])
            },
            gone_after: Some(Duration::ZERO),
            status: None,
        };
        let t = result(&obs, CheckName::Hotplug);
        assert!(
            t.message
                .starts_with("QEMU exited at `quit` of monitor.sh hotplug"),
            "{}",
            t.message
        );
        let t = result(&obs, CheckName::Stop);
        assert_eq!(t.status, Status::Failed);
        assert!(
            t.message.contains("already exited before monitor.sh stop"),
            "{}",
            t.message
        );
    }

    #[test]
    fn everything_after_a_failed_boot_is_not_checked() {
        let boot = BootObs {
            booted: Booted::Exited,
            stderr: "    qemu: -drive …: Image is not in qcow2 format".into(),
            cmdline: None,
            ..BootObs::default()
        };
        let obs = Observations {
            boot,
            ..Observations::default()
        };
        let all = judge(&spec(), &ctx(&params()), &obs);
        assert!(
            all[1].message.contains("Image is not in qcow2 format"),
            "{}",
            all[1].message
        );
        assert!(all[2..]
            .iter()
            .all(|t| t.status == Status::Failed && t.message.contains("did not boot")));
        assert!(all.iter().all(|t| t.score == 0));
    }

    #[test]
    fn the_balloon_passes_when_qmp_and_the_guest_agree() {
        let mut obs = booted("q");
        obs.live.as_mut().unwrap().balloon = BalloonObs {
            phase: phase("balloon 160\n", &[("balloon 160", "")]),
            base_mb: Some(256),
            before_mb: Some(Ok(256)),
            after_mb: Some(160),
            mem_before_kb: Some(223_632),
            mem_after_kb: Some(223_632 - (96 << 10)),
        };
        assert_eq!(result(&obs, CheckName::Balloon).status, Status::Passed);
        obs.live.as_mut().unwrap().balloon.mem_after_kb = Some(223_000);
        assert!(result(&obs, CheckName::Balloon)
            .message
            .contains("MemTotal"));
    }
}
