//! The `local` backend: the agent runs on this host, in the jail — no network, an
//! unprivileged uid (the dedicated one when the grader is root), a read-only system, only
//! the job and the programs mounted (read-only), its own IPC namespace, and a user
//! namespace of its own in which it makes a fresh IPC namespace and `/dev/mqueue`,
//! `/dev/shm` per scenario. The student's programs run as the jail's unprivileged user,
//! with no capabilities. Events come back on the agent's stdout, which no student process
//! can reach. Fast to iterate with; the guest is the reference.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::jail::{Confinement, Ended, JailCommand, Mount, Rlimits};
use super::{Sandbox, SandboxError, SandboxRun};
use crate::protocol::{Job, Limits};
use crate::report::Backend;

/// Where the agent binary is in the jail.
const JAIL_AGENT: &str = "/grader/cargo-grader";
/// Where the job file is in the jail.
const JAIL_JOB: &str = "/job/job.json";
/// Where the programs are in the jail.
const JAIL_BIN: &str = "/job/bin";
/// Events kept from the agent's stdout.
const EVENTS_CAP: usize = 64 << 20;
/// Agent stderr kept, for diagnosing infrastructure faults.
const STDERR_CAP: usize = 64 << 10;
/// The jail's writable `/tmp` (a tmpfs: memory, hence bounded).
const TMP_BYTES: u64 = 256 << 20;

/// Runs the agent as a child process of the grader, in the jail.
#[derive(Debug, Clone)]
pub struct LocalSandbox {
    /// The command that starts the agent in local mode, without `--job`/`--out`
    /// (e.g. `[cargo-grader, __agent]`).
    pub agent: Vec<OsString>,
    /// Where the programs are copied on the host (world-readable).
    pub bin_dir: PathBuf,
    /// Extra time on top of the scenarios' deadlines.
    pub margin: Duration,
    /// The jail (or, by the teacher's explicit choice, this host).
    pub confinement: Confinement,
}

impl LocalSandbox {
    /// The agent is this very executable's hidden `__agent` subcommand.
    pub fn from_current_exe(
        work: &Path,
        confinement: Confinement,
    ) -> Result<LocalSandbox, SandboxError> {
        let exe = std::env::current_exe().map_err(|e| SandboxError::Start(e.to_string()))?;
        Ok(LocalSandbox {
            agent: vec![exe.into_os_string(), "__agent".into()],
            bin_dir: work.join("bin"),
            margin: Duration::from_secs(20),
            confinement,
        })
    }

    /// The command that runs `job_path` (host path) with the programs in `bin_dir`.
    fn command(&self, job: &Job, job_path: &Path) -> Result<JailCommand, SandboxError> {
        let (exe, rest) = self
            .agent
            .split_first()
            .ok_or_else(|| SandboxError::Start("empty agent command".into()))?;
        let jailed = self.confinement.is_jailed();
        let program = self.confinement.view(Path::new(exe), JAIL_AGENT);
        let mut args: Vec<OsString> = rest.to_vec();
        args.extend(["local".into(), "--job".into()]);
        args.push(self.confinement.view(job_path, JAIL_JOB).into());
        args.extend(["--out".into(), "-".into()]);
        let deadline = job.whole_run_deadline(self.margin);
        Ok(JailCommand {
            program,
            args,
            mounts: vec![
                Mount::ro(exe, JAIL_AGENT),
                Mount::ro(job_path, JAIL_JOB),
                Mount::ro(&self.bin_dir, JAIL_BIN),
            ],
            dirs: if jailed {
                vec![
                    "/dev/mqueue".into(),
                    crate::protocol::AGENT_WORK_ROOT.into(),
                ]
            } else {
                Vec::new()
            },
            cwd: "/".into(),
            env: vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())],
            limits: agent_limits(&job.limits, deadline),
            deadline,
            quota: None,
            output_cap: EVENTS_CAP.max(STDERR_CAP),
            merge_output: false,
            nested_userns: true,
            // Programs such as `tac` spool their input to /tmp, writable in the guest.
            tmp_bytes: Some(TMP_BYTES),
        })
    }
}

/// The jail's limits: never below the students' (the agent lowers them for each program;
/// it could not raise them), with room for the agent itself.
fn agent_limits(l: &Limits, deadline: Duration) -> Rlimits {
    Rlimits {
        nproc: (l.nproc * 4).max(256),
        fsize_bytes: l.fsize_bytes,
        address_space_bytes: l.address_space_bytes.max(4 << 30),
        cpu_seconds: l.cpu_seconds.max(deadline.as_secs() + 60),
        nofile: l.nofile.max(1024),
    }
}

fn prep(path: &Path) -> impl Fn(std::io::Error) -> SandboxError + '_ {
    move |source| SandboxError::Prepare {
        path: path.to_owned(),
        source,
    }
}

impl Sandbox for LocalSandbox {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    fn bin_dir(&self) -> PathBuf {
        self.confinement.view(&self.bin_dir, JAIL_BIN)
    }

    fn timeout_scale(&self) -> f64 {
        1.0
    }

    fn run_as(&self) -> Option<(u32, u32)> {
        // The jail's own user is unprivileged already: the agent keeps it for the programs.
        None
    }

    fn phase_name(&self) -> &'static str {
        "running the scenarios on this host, in the jail"
    }

    fn run(
        &self,
        job: &Job,
        programs: &[(String, PathBuf)],
        work: &Path,
    ) -> Result<SandboxRun, SandboxError> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&self.bin_dir).map_err(prep(&self.bin_dir))?;
        for (name, path) in programs {
            let dest = self.bin_dir.join(name);
            std::fs::copy(path, &dest).map_err(prep(&dest))?;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))
                .map_err(prep(&dest))?;
        }
        std::fs::create_dir_all(work).map_err(prep(work))?;
        let job_path = work.join("job.json");
        let json = serde_json::to_vec(job).map_err(|e| SandboxError::Start(e.to_string()))?;
        std::fs::write(&job_path, json).map_err(prep(&job_path))?;
        let cmd = self.command(job, &job_path)?;
        let out = self
            .confinement
            .run(&cmd)
            .map_err(|e| SandboxError::Start(e.to_string()))?;
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.ended == Ended::Deadline {
            let tail = SandboxRun {
                log,
                ..Default::default()
            }
            .log_tail();
            return Err(SandboxError::Deadline {
                secs: cmd.deadline.as_secs(),
                tail,
            });
        }
        Ok(SandboxRun {
            events: crate::protocol::parse_events(&out.stdout),
            log,
            ..Default::default()
        })
    }
}
