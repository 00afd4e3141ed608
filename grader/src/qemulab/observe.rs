//! One lab 7 run, done as the student would at a terminal: create the disk, start the VM,
//! wait for the guest's shell, then each monitor phase (hotplug, balloon, stop) typed
//! into the human monitor, the grader checking each effect itself over QMP and in the
//! guest. This module only records what happened ([`Observations`]); `judge.rs` scores.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::cmdline::QemuCmdline;
use super::console::{Console, Facts, Stop, READY};
use super::guest::{self, GuestFiles};
use super::net;
use super::params::Params;
use super::procs::{self, Launcher, Token};
use super::record::{
    BalloonObs, BootObs, Booted, DiskObs, HotplugObs, LiveObs, Observations, OnlineObs, PhaseRun,
    StopObs,
};
use crate::qmp::{Qmp, QmpError};

/// Each QMP answer may take this long (TCG, a busy host).
const QMP_TIMEOUT: Duration = Duration::from_secs(10);
/// Each monitor command's prompt may take this long to come back (a loaded host running
/// TCG guests can stall QEMU's main loop for seconds).
const MONITOR_WAIT: Duration = Duration::from_secs(15);
/// How long an effect that stopped changing is still waited for.
const SETTLE: Duration = Duration::from_secs(3);
/// How often effects are polled.
const POLL: Duration = Duration::from_millis(200);
/// A QEMU silent on stdout this long has its console elsewhere (no -nographic).
const SILENCE: Duration = Duration::from_secs(20);
/// Budget for the port-forward check: QEMU forwards from its start and the guest's
/// service is up before its shell, so this only absorbs a slow first answer.
const NETWORK_WAIT: Duration = Duration::from_secs(3);

/// The fixed inputs of a run.
#[derive(Debug)]
pub struct Run {
    /// The drawn values.
    pub params: Params,
    /// Per-script deadline.
    pub script_deadline: Duration,
    /// Boot deadline.
    pub boot_deadline: Duration,
    /// Deadline of each awaited effect.
    pub step_deadline: Duration,
    /// Deadline for QEMU to be gone after the stop phase.
    pub stop_deadline: Duration,
    /// How processes start.
    pub launcher: Launcher,
    /// The copy of the student's scripts.
    pub scripts: PathBuf,
    /// `$DISK`.
    pub disk: PathBuf,
    /// The grader's QMP socket.
    pub socket: PathBuf,
    /// The `-readconfig` file the grader passes to `boot.sh`.
    pub qmp_config: PathBuf,
    /// QEMU's stderr, as written by `boot.sh`.
    pub boot_stderr: PathBuf,
    /// `$KERNEL`, `$INITRD`.
    pub guest: GuestFiles,
    /// The run's token.
    pub token: Token,
    /// Proves the facts come from this run's guest.
    pub nonce: String,
}

/// Runs everything. `Err` is an infrastructure fault (the lab7 guest itself does not
/// boot here): the run is not gradable.
pub fn observe(
    run: &Run,
    progress: &mut dyn crate::events::Subscriber,
) -> Result<Observations, String> {
    let mut obs = Observations::default();
    crate::events::phase(progress, crate::events::Phase::Step, "running disk.sh");
    obs.disk = observe_disk(run);
    crate::events::phase(
        progress,
        crate::events::Phase::Step,
        "running boot.sh (your VM)",
    );
    let started = Instant::now();
    let mut session = match Session::start(run) {
        Ok(session) => session,
        Err(why) => {
            obs.boot = BootObs {
                exit: Some(why),
                ..BootObs::default()
            };
            return Ok(obs);
        }
    };
    obs.boot = session.wait_boot();
    if obs.boot.booted != Booted::Ready {
        session.end();
        if needs_probe(&obs.boot) {
            crate::events::phase(
                progress,
                crate::events::Phase::Step,
                "booting the lab7 guest with the grader's own command line",
            );
            guest::probe(
                &run.guest,
                &run.launcher,
                &run.token.child("probe"),
                run.boot_deadline,
            )?;
        }
        return Ok(obs);
    }
    if session.qmp.is_some() {
        obs.live = Some(session.live(progress));
    }
    obs.guest_ms = Some(started.elapsed().as_millis() as u64);
    session.end();
    Ok(obs)
}

/// Whether a failed boot may be the guest's fault rather than the student's: unless QEMU
/// complained about its options, or was never started, the grader's own boot decides.
fn needs_probe(boot: &BootObs) -> bool {
    match boot.booted {
        Booted::Ready => false,
        Booted::Silent => true,
        Booted::Exited => boot.cmdline.is_some() && boot.stderr.trim().is_empty(),
    }
}

fn observe_disk(run: &Run) -> DiskObs {
    let file = run.scripts.join("disk.sh");
    let script = procs::run_script(
        &run.launcher,
        &file,
        &[],
        &run.token.child("disk"),
        run.script_deadline,
    );
    let info = std::fs::symlink_metadata(&run.disk)
        .is_ok()
        .then(|| image_info(run));
    DiskObs { script, info }
}

/// `qemu-img info --output=json`: the format and the virtual size. Run like the
/// student's scripts (unprivileged, with a deadline): `$DISK` is theirs, and could be a
/// FIFO or a link to anything.
fn image_info(run: &Run) -> Result<(String, u64), String> {
    let args = [
        "info".as_ref(),
        "--output=json".as_ref(),
        run.disk.as_os_str(),
    ];
    let token = run.token.child("qemu-img");
    let out = procs::run_command(
        &run.launcher,
        Path::new("qemu-img"),
        &args,
        &token,
        run.script_deadline,
    );
    if let Some(why) = out.failure("qemu-img info", run.script_deadline) {
        return Err(why);
    }
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).map_err(|e| format!("qemu-img printed no JSON: {e}"))?;
    let format = v["format"].as_str().unwrap_or("?").to_owned();
    Ok((format, v["virtual-size"].as_u64().unwrap_or(0)))
}

/// The student's running VM.
struct Session<'a> {
    run: &'a Run,
    child: Child,
    console: Console,
    qmp: Option<Qmp>,
}

impl<'a> Session<'a> {
    /// `sh boot.sh -readconfig CFG` with stdio on pipes and stderr in a file.
    fn start(run: &'a Run) -> Result<Session<'a>, String> {
        let file = run.scripts.join("boot.sh");
        if !file.is_file() {
            return Err("boot.sh is missing from the submission".into());
        }
        let stderr = std::fs::File::create(&run.boot_stderr).map_err(|e| {
            format!(
                "the grader could not create {}: {e}",
                run.boot_stderr.display()
            )
        })?;
        let args = [
            file.as_os_str(),
            "-readconfig".as_ref(),
            run.qmp_config.as_os_str(),
        ];
        let mut command =
            run.launcher
                .command(Path::new("/bin/sh"), &args, &run.token.child("boot"));
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = command
            .spawn()
            .map_err(|e| format!("boot.sh could not be started: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("boot.sh has no stdio".into());
        };
        Ok(Session {
            run,
            child,
            console: Console::new(stdin, stdout),
            qmp: None,
        })
    }

    fn qemu_cmdline(&self) -> Option<QemuCmdline> {
        procs::qemu_processes(&self.run.token)
            .into_iter()
            .next()
            .map(|(_, args)| QemuCmdline::new(args))
    }

    fn qemu_running(&self) -> bool {
        !procs::qemu_processes(&self.run.token).is_empty()
    }

    /// Waits for the guest's shell (and connects QMP meanwhile).
    fn wait_boot(&mut self) -> BootObs {
        let start = Instant::now();
        let deadline = start + self.run.boot_deadline;
        let mut obs = BootObs {
            booted: Booted::Silent,
            ..BootObs::default()
        };
        let mut qmp_error = None;
        loop {
            self.try_qmp(&mut qmp_error);
            if obs.cmdline.is_none() {
                obs.cmdline = self.qemu_cmdline();
            }
            match self
                .console
                .wait_for(READY.as_bytes(), deadline.min(Instant::now() + POLL))
            {
                Ok(_) => {
                    obs.booted = Booted::Ready;
                    break;
                }
                Err(Stop::Closed) => {
                    obs.booted = Booted::Exited;
                    break;
                }
                Err(Stop::Timeout) => {}
            }
            if self.child.try_wait().ok().flatten().is_some() && !self.qemu_running() {
                obs.booted = Booted::Exited;
                break;
            }
            // With -nographic the firmware writes to stdio within a second: after
            // SILENCE without a byte, the console is elsewhere and will not come.
            if Instant::now() >= deadline
                || (start.elapsed() >= SILENCE && self.console.received() == 0)
            {
                break;
            }
        }
        obs.seconds = start.elapsed().as_secs_f64();
        obs.cmdline = obs.cmdline.take().or_else(|| self.qemu_cmdline());
        if obs.booted == Booted::Ready {
            self.settle_qmp(&mut qmp_error, &obs);
            obs.qmp_error = qmp_error;
        } else {
            self.collect_failure(&mut obs);
        }
        obs
    }

    fn try_qmp(&mut self, error: &mut Option<String>) {
        if self.qmp.is_none() && self.run.socket.exists() {
            match Qmp::connect(&self.run.socket, QMP_TIMEOUT) {
                Ok(q) => self.qmp = Some(q),
                Err(e) => *error = Some(e.to_string()),
            }
        }
    }

    /// After the guest is up, QMP must be too (its socket exists from QEMU's start).
    fn settle_qmp(&mut self, error: &mut Option<String>, obs: &BootObs) {
        let until = Instant::now() + SETTLE;
        while self.qmp.is_none() && Instant::now() < until {
            self.try_qmp(error);
            std::thread::sleep(POLL);
        }
        if self.qmp.is_some() {
            *error = None;
            return;
        }
        let config = self.run.qmp_config.display().to_string();
        if obs
            .cmdline
            .as_ref()
            .is_some_and(|c| !c.reads_config(&config))
        {
            *error = Some(format!("QEMU did not get the grader's options (-readconfig {config}): boot.sh must end its qemu command with \"$@\""));
        } else if error.is_none() {
            *error = Some("the grader's QMP socket never appeared".into());
        }
    }

    fn collect_failure(&mut self, obs: &mut BootObs) {
        if obs.booted == Booted::Exited {
            // Give QEMU's stderr a moment to be complete.
            let _ = procs::wait_or_kill(&mut self.child, Instant::now() + Duration::from_secs(2));
            obs.exit = self.child.try_wait().ok().flatten().map(|s| s.to_string());
        }
        obs.stderr = procs::tail_lines(
            &std::fs::read_to_string(&self.run.boot_stderr).unwrap_or_default(),
            15,
        );
        obs.console = self.console.tail(15);
    }

    /// Every phase after the boot.
    fn live(&mut self, progress: &mut dyn crate::events::Subscriber) -> LiveObs {
        let deadline = Instant::now() + NETWORK_WAIT;
        let mut live = LiveObs {
            network: Some(net::fetch_facts(
                self.run.params.host_port,
                &self.run.nonce,
                deadline,
            )),
            drives: self
                .qmp
                .as_mut()
                .map(|q| q.blocks().map_err(|e| e.to_string())),
            ..LiveObs::default()
        };
        crate::events::phase(progress, crate::events::Phase::Step, "monitor.sh hotplug");
        live.hotplug = self.hotplug();
        crate::events::phase(progress, crate::events::Phase::Step, "guest.sh");
        live.online = self.online(&live.hotplug);
        crate::events::phase(progress, crate::events::Phase::Step, "monitor.sh balloon");
        live.balloon = self.balloon(live.online.facts_error.is_none());
        crate::events::phase(progress, crate::events::Phase::Step, "monitor.sh stop");
        live.stop = self.stop();
        live
    }

    fn hotplug(&mut self) -> HotplugObs {
        let mut obs = HotplugObs::default();
        if let Some(q) = self.qmp.as_mut() {
            obs.free_slots = q
                .hotpluggable_cpus()
                .ok()
                .map(|s| s.iter().filter(|c| c.qom_path.is_none()).count());
            obs.before = q.cpus().ok().map(|c| c.len());
        }
        obs.phase = self.monitor_phase("hotplug");
        let target = self.run.params.target_cpus() as usize;
        // device_add is synchronous: a CPU it added is listed at once; the wait is slack.
        let wait = if obs.phase.replies.is_empty() {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        obs.after = self.poll(wait, |q| q.cpus().ok().map(|c| c.len()), |n| *n == target);
        obs
    }

    fn online(&mut self, hotplug: &HotplugObs) -> OnlineObs {
        let mut obs = OnlineObs::default();
        let plugged = hotplug.after.unwrap_or(0) as u32;
        // The guest sees a plugged CPU a second or so later (ACPI); then it can be onlined.
        let until = Instant::now() + self.run.step_deadline;
        if plugged > hotplug.before.unwrap_or(0) as u32 {
            while Instant::now() < until {
                match self.facts() {
                    Ok(f) if f.cpu_count("present").unwrap_or(0) >= plugged => break,
                    Ok(_) => std::thread::sleep(POLL),
                    Err(_) => break,
                }
            }
        }
        let file = self.run.scripts.join("guest.sh");
        obs.script = procs::run_script(
            &self.run.launcher,
            &file,
            &[],
            &self.run.token.child("guest"),
            self.run.script_deadline,
        );
        for line in obs.script.lines() {
            if self.console.guest_line(&line).is_err() {
                break;
            }
        }
        let target = self.run.params.target_cpus();
        // The shell runs the facts command after guest.sh's lines, so one look is enough;
        // the slack is for a line that onlines a CPU in the background.
        let slack = if plugged == target {
            SETTLE
        } else {
            Duration::ZERO
        };
        let settle = Instant::now() + slack;
        loop {
            match self.facts() {
                Ok(f) => {
                    (obs.present, obs.online) = (f.cpu_count("present"), f.cpu_count("online"));
                    if obs.online == Some(target) || Instant::now() >= settle {
                        break;
                    }
                    std::thread::sleep(POLL);
                }
                Err(why) => {
                    obs.facts_error = Some(why);
                    break;
                }
            }
        }
        obs
    }

    fn balloon(&mut self, facts_ok: bool) -> BalloonObs {
        let mut obs = BalloonObs::default();
        if let Some(q) = self.qmp.as_mut() {
            obs.base_mb = q.base_memory().ok().map(|b| b >> 20);
            obs.before_mb = Some(
                q.balloon_bytes()
                    .map(|b| b >> 20)
                    .map_err(|e| qmp_refusal(&e)),
            );
        }
        if facts_ok {
            obs.mem_before_kb = self.facts().ok().and_then(|f| f.memtotal_kb());
        }
        obs.phase = self.monitor_phase("balloon");
        let typed = !obs.phase.replies.is_empty();
        let settle = if typed { SETTLE } else { Duration::ZERO };
        if matches!(obs.before_mb, Some(Ok(_))) {
            let target = u64::from(self.run.params.balloon_mb);
            obs.after_mb =
                self.poll_settling(|q| q.balloon_bytes().ok().map(|b| b >> 20), target, settle);
        }
        // The guest's side only matters once QMP shows the target.
        let reached = obs.after_mb == Some(u64::from(self.run.params.balloon_mb));
        if let (Some(before), true) = (obs.mem_before_kb, facts_ok && reached) {
            let until = Instant::now() + settle;
            loop {
                obs.mem_after_kb = self.facts().ok().and_then(|f| f.memtotal_kb());
                if obs.mem_after_kb.map_or(true, |m| m < before) || Instant::now() >= until {
                    break;
                }
                std::thread::sleep(POLL);
            }
        }
        obs
    }

    fn stop(&mut self) -> StopObs {
        let mut obs = StopObs {
            phase: self.monitor_phase("stop"),
            ..StopObs::default()
        };
        let start = Instant::now();
        // Nothing typed, nothing to wait for (QEMU does not stop by itself).
        let wait = if obs.phase.replies.is_empty() {
            Duration::ZERO
        } else {
            self.run.stop_deadline
        };
        loop {
            let _ = self.child.try_wait();
            if !self.qemu_running() {
                obs.gone_after = Some(start.elapsed());
                return obs;
            }
            if start.elapsed() >= wait {
                break;
            }
            std::thread::sleep(POLL);
        }
        obs.status = self
            .qmp
            .as_mut()
            .and_then(|q| q.status().ok())
            .map(|s| s.status);
        obs
    }

    /// `monitor.sh PHASE`, its lines typed at the monitor, the keyboard given back.
    fn monitor_phase(&mut self, phase: &str) -> PhaseRun {
        let file = self.run.scripts.join("monitor.sh");
        let token = self.run.token.child(&format!("monitor-{phase}"));
        let mut run = PhaseRun {
            script: procs::run_script(
                &self.run.launcher,
                &file,
                &[phase],
                &token,
                self.run.script_deadline,
            ),
            ..PhaseRun::default()
        };
        if !self.qemu_running() {
            run.qemu_gone = true;
            return run;
        }
        if let Err(stop) = self.console.enter_monitor(Instant::now() + MONITOR_WAIT) {
            run.unreachable = Some(stop);
            return run;
        }
        for line in run.script.lines() {
            let reply = self.console.monitor(&line, Instant::now() + MONITOR_WAIT);
            let ended = reply.ended;
            run.replies.push(reply);
            match ended {
                Some(Stop::Closed) => return run,
                Some(Stop::Timeout) => break,
                None => {}
            }
        }
        let _ = self.console.leave_monitor();
        run
    }

    /// The guest's facts from its console; one Ctrl-C and a retry if the shell was busy
    /// (a guest command that never ended).
    fn facts(&mut self) -> Result<Facts, String> {
        let wait = self.run.step_deadline;
        match self.console.facts(Instant::now() + wait) {
            Ok(f) => Ok(f),
            Err(Stop::Closed) => Err("QEMU had exited".into()),
            Err(Stop::Timeout) => {
                let _ = self.console.guest_line("\x03");
                self.console.facts(Instant::now() + wait).map_err(|_| {
                    format!("the guest's shell did not answer within {} s (a command from guest.sh still running?)", wait.as_secs())
                })
            }
        }
    }

    /// Polls a QMP query until `done` or `wait` passes; the last value seen.
    fn poll<T>(
        &mut self,
        wait: Duration,
        query: impl Fn(&mut Qmp) -> Option<T>,
        done: impl Fn(&T) -> bool,
    ) -> Option<T> {
        let until = Instant::now() + wait;
        let mut last = None;
        while let Some(q) = self.qmp.as_mut() {
            last = query(q);
            if last.as_ref().is_some_and(&done) || Instant::now() >= until {
                break;
            }
            std::thread::sleep(POLL);
        }
        last
    }

    /// Polls a value that moves towards `target` (the balloon) until it gets there, moved
    /// and then stopped for `settle`, or the step deadline passes (a guest starved of CPU
    /// may take a while to start moving it; `settle` zero: look once).
    fn poll_settling(
        &mut self,
        query: impl Fn(&mut Qmp) -> Option<u64>,
        target: u64,
        settle: Duration,
    ) -> Option<u64> {
        let until = Instant::now() + self.run.step_deadline;
        let first = self.qmp.as_mut().and_then(&query);
        let (mut last, mut since) = (first, Instant::now());
        while let Some(q) = self.qmp.as_mut() {
            let now = query(q);
            if now != last {
                (last, since) = (now, Instant::now());
            }
            let stuck = last != first && since.elapsed() >= settle;
            if last == Some(target)
                || last.is_none()
                || settle.is_zero()
                || stuck
                || Instant::now() >= until
            {
                break;
            }
            std::thread::sleep(POLL);
        }
        last
    }

    /// Kills every process of the run and reaps `boot.sh`.
    fn end(mut self) {
        procs::kill_tagged(&self.run.token);
        let _ = self.child.wait();
        self.qmp = None;
    }
}

/// QMP's words when it refuses a query (`DeviceNotActive: No balloon device…`).
fn qmp_refusal(e: &QmpError) -> String {
    match e {
        QmpError::Command { class, desc, .. } => format!("{class}: {desc}"),
        other => other.to_string(),
    }
}
