//! Lab 7, graded on the host: the student drives QEMU (`disk.sh`, `boot.sh`,
//! `monitor.sh PHASE`, `guest.sh`) against the lab7 guest, and the grader checks each
//! effect itself, over QMP and in the guest, then scores it into a [`GradeReport`]
//! (backend `host`). Everything runs in a private temporary directory under deadlines,
//! and every process the run started is killed at the end, whatever the student did.

pub mod cmdline;
pub mod console;
pub mod guest;
pub mod judge;
pub mod net;
pub mod observe;
pub mod params;
pub mod procs;
pub mod record;
pub mod spec;

use std::path::Path;
use std::time::Instant;

use crate::config::ConfigError;
use crate::course::{Course, LabEntry, LabKind};
use crate::events::{self, Phase, Subscriber};
use crate::image::scratch::{self, ScratchDir};
use crate::image::Image;
use crate::lab::{fresh_seed, local_spec_notice, GradeError, GradeOptions, LabKindSpec, LoadedLab};
use crate::report::hints::ScenarioHints;
use crate::report::{Backend, GradeReport};
use crate::sandbox::Sandbox;
use observe::Run;
use procs::{Launcher, RunGuard, Token};
use record::Observations;
use spec::QemuLabSpec;

/// Run directories, in the temporary directory (short: the QMP socket path must fit in
/// a `sockaddr_un`).
const RUN_PREFIX: &str = "grader-lab7-";

/// The course's spec for a QEMU lab, checked against its pin.
pub type PinnedQemuSpec = crate::lab::Pinned<QemuLabSpec>;

/// Loads a QEMU lab's spec and checks its pin.
pub fn load_spec(course: &Course, lab: &LabEntry) -> Result<PinnedQemuSpec, ConfigError> {
    crate::lab::load_pinned(course, lab, QemuLabSpec::load)
}

/// A QEMU lab of a course (lab 7), its spec pinned. It is graded on the host with the
/// guest image of the sandbox it is given.
pub type QemuLab = LoadedLab<QemuLabSpec>;

impl LabKindSpec for QemuLabSpec {
    const KIND: LabKind = LabKind::Qemu;
    const ENGINE: &'static str = "driving QEMU on the host";

    fn load(path: &Path) -> Result<(QemuLabSpec, String), ConfigError> {
        QemuLabSpec::load(path)
    }

    fn max_points(&self) -> u32 {
        self.max_score()
    }

    fn test_names(&self) -> Vec<String> {
        let checks = self.checks.iter();
        checks.map(|c| c.name.as_str().to_owned()).collect()
    }

    fn outline(&self) -> String {
        format!("{} checks", self.checks.len())
    }

    fn hints(&self) -> Vec<ScenarioHints> {
        let hints = self.checks.iter().map(|c| ScenarioHints {
            name: c.name.as_str().to_owned(),
            title: Some(c.title.clone()),
            levels: c.hint.iter().cloned().collect(),
        });
        hints.collect()
    }

    fn grade(
        lab: &QemuLab,
        sandbox: &dyn Sandbox,
        opts: &GradeOptions,
        events: &mut dyn Subscriber,
    ) -> Result<GradeReport, GradeError> {
        let image = sandbox
            .guest_image()
            .ok_or_else(|| GradeError::NeedsGuestImage {
                lab: lab.lab.id.clone(),
            })?;
        grade(&lab.course, &lab.lab, &lab.pinned, image, opts, events)
    }
}

/// Grades one lab 7 submission with the guest `image` (see `crate::image::ensure`).
fn grade(
    course: &Course,
    lab: &LabEntry,
    pinned: &PinnedQemuSpec,
    image: &Image,
    opts: &GradeOptions,
    events: &mut dyn Subscriber,
) -> Result<GradeReport, GradeError> {
    let start = Instant::now();
    let seed = opts.seed.unwrap_or_else(fresh_seed);
    let mut params = params::draw(&pinned.spec.params, seed);
    let mut report = GradeReport::start(
        lab,
        &opts.submission,
        Backend::Host,
        seed,
        pinned.spec.max_score(),
        &pinned.sha256,
    );
    // Nothing is compiled: the scripts are run as they are.
    report.build.ok = true;
    report.notices.extend(local_spec_notice(
        &opts.submission,
        &pinned.file_name,
        &pinned.sha256,
    ));
    let tmp = std::env::temp_dir();
    let Some(port) = params::reserve_port(params.host_port, pinned.spec.params.host_port, &tmp)
    else {
        return Ok(not_gradable(
            report,
            "no free host port in the lab's host_port range".into(),
            start,
        ));
    };
    params.host_port = port.port;
    report.params = params.report();
    let run_result = run_and_judge(
        course,
        image,
        pinned,
        &opts.submission,
        params,
        &mut report,
        events,
    );
    if let Err(why) = run_result {
        return Ok(not_gradable(report, why, start));
    }
    report.total();
    report.duration_ms = start.elapsed().as_millis() as u64;
    Ok(report)
}

/// Prepares the run, observes it, and puts the checks' results in `report`. `Err` says
/// why the run is not gradable (an infrastructure fault).
fn run_and_judge(
    course: &Course,
    image: &Image,
    pinned: &PinnedQemuSpec,
    submission: &Path,
    params: params::Params,
    report: &mut GradeReport,
    events: &mut dyn Subscriber,
) -> Result<(), String> {
    tools_present()?;
    events::phase(events, Phase::Step, "preparing the lab7 guest");
    let (run, _dir) = prepare(course, image, &pinned.spec, submission, params)?;
    let guard = RunGuard::new(run.token.clone());
    let observed = observe::observe(&run, events);
    drop(guard);
    let obs =
        observed.map_err(|why| format!("the lab7 guest does not boot on this machine: {why}"))?;
    if let Some(why) = port_race(&obs, &run) {
        return Err(why);
    }
    let ctx = judge::Context {
        params: &run.params,
        disk: &run.disk.display().to_string(),
        script_deadline: run.script_deadline,
        stop_deadline: run.stop_deadline,
    };
    report.tests = judge::judge(&pinned.spec, &ctx, &obs);
    for result in &report.tests {
        events.event(&crate::events::Event::Scored { result });
    }
    report.guest_ms = obs.guest_ms;
    Ok(())
}

/// QEMU and qemu-img, or what to install.
fn tools_present() -> Result<(), String> {
    crate::sandbox::qemu::qemu_available().map_err(|e| e.to_string())?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|d| d.join("qemu-img").is_file()) {
        Ok(())
    } else {
        Err(format!(
            "failed to find qemu-img in PATH; install it with `{}`",
            crate::sandbox::qemu::QEMU_INSTALL_HINT
        ))
    }
}

/// The run directory (scripts, guest, QMP files), owned by whoever runs the scripts.
fn prepare(
    course: &Course,
    image: &Image,
    spec: &QemuLabSpec,
    submission: &Path,
    params: params::Params,
) -> Result<(Run, ScratchDir), String> {
    let tmp = std::env::temp_dir();
    scratch::sweep(&tmp, RUN_PREFIX);
    let dir = ScratchDir::new(&tmp, RUN_PREFIX)
        .map_err(|e| format!("failed to create a run directory in {}: {e}", tmp.display()))?;
    let root = dir.path().to_owned();
    let scripts = root.join("submission");
    crate::build::copy_tree(submission, &scripts, &[])
        .map_err(|e| format!("failed to copy {}: {e}", submission.display()))?;
    let nonce = format!("{:016x}", fresh_seed());
    let guest = guest::prepare(&course.root, image, &root, params.guest_port, &nonce)
        .map_err(|e| crate::errors::error_chain(&e))?;
    let socket = root.join("qmp.sock");
    let qmp_config =
        guest::write_qmp_config(&root, &socket).map_err(|e| crate::errors::error_chain(&e))?;
    let identity = procs::identity();
    if let Some(id) = identity {
        chown_tree(&root, id)
            .map_err(|e| format!("failed to hand {} to uid {}: {e}", root.display(), id.uid))?;
    }
    let disk = root.join("disk.qcow2");
    let env = environment(&params, &disk, &guest, &root);
    let d = &spec.deadlines;
    let run = Run {
        params,
        script_deadline: d.script.0,
        boot_deadline: d.boot.0,
        step_deadline: d.step.0,
        stop_deadline: d.stop.0,
        launcher: Launcher {
            cwd: root.clone(),
            env,
            identity,
        },
        scripts,
        disk,
        socket,
        qmp_config,
        boot_stderr: root.join("boot.stderr"),
        guest,
        token: Token::new(),
        nonce,
    };
    Ok((run, dir))
}

/// What every script gets: the parameters, the paths, a PATH to find QEMU, a HOME.
fn environment(
    params: &params::Params,
    disk: &Path,
    guest: &guest::GuestFiles,
    root: &Path,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = params
        .vars()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    for (key, path) in [
        ("DISK", disk),
        ("KERNEL", &guest.kernel),
        ("INITRD", &guest.initrd),
        ("HOME", root),
        ("TMPDIR", root),
    ] {
        env.push((key.to_owned(), path.display().to_string()));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    env.extend([
        ("PATH".to_owned(), path),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ]);
    env
}

fn chown_tree(path: &Path, id: procs::Identity) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(id.uid), Some(id.gid))?;
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), id)?;
        }
    }
    Ok(())
}

/// A QEMU that could not forward the drawn port because something took it after the
/// grader checked it was free: nobody's fault, run again.
fn port_race(obs: &Observations, run: &Run) -> Option<String> {
    let port = run.params.host_port;
    let refused = obs
        .boot
        .stderr
        .contains("Could not set up host forwarding rule")
        && obs.boot.stderr.contains(&format!(":{port}-"));
    let taken = std::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port)).is_err();
    (refused && taken).then(|| {
        format!("host port {port} was taken by another program while QEMU started: run again")
    })
}

fn not_gradable(report: GradeReport, reason: String, start: Instant) -> GradeReport {
    report.not_gradable(reason, start.elapsed())
}
