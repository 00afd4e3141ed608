//! The `local` backend: the agent runs on this host (its own IPC and mount namespaces, as
//! root or through a user namespace). Fast to iterate with; the guest is the reference.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::child::Reaper;
use super::{Sandbox, SandboxError, SandboxRun};
use crate::protocol::Job;
use crate::report::Backend;

/// Runs the agent as a child process of the grader.
#[derive(Debug, Clone)]
pub struct LocalSandbox {
    /// The command that starts the agent in local mode, without `--job`/`--out`
    /// (e.g. `[cargo-grader, __agent]`).
    pub agent: Vec<OsString>,
    /// Where the programs are copied (world-readable, so a dropped uid can run them).
    pub bin_dir: PathBuf,
    /// Extra time on top of the scenarios' deadlines.
    pub margin: Duration,
}

impl LocalSandbox {
    /// The agent is this very executable's hidden `__agent` subcommand.
    pub fn from_current_exe(work: &Path) -> Result<LocalSandbox, SandboxError> {
        let exe = std::env::current_exe().map_err(|e| SandboxError::Start(e.to_string()))?;
        Ok(LocalSandbox {
            agent: vec![exe.into_os_string(), "__agent".into()],
            bin_dir: work.join("bin"),
            margin: Duration::from_secs(20),
        })
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
        self.bin_dir.clone()
    }

    fn timeout_scale(&self) -> f64 {
        1.0
    }

    fn run_as(&self) -> Option<(u32, u32)> {
        // Local runs are for a student iterating on their own code, as themselves.
        None
    }

    fn phase_name(&self) -> &'static str {
        "running the scenarios on this host"
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
        let job_path = work.join("job.json");
        let out_path = work.join("events.jsonl");
        let json = serde_json::to_vec(job).map_err(|e| SandboxError::Start(e.to_string()))?;
        std::fs::write(&job_path, json).map_err(prep(&job_path))?;
        let _ = std::fs::remove_file(&out_path);
        let (program, args) = self
            .agent
            .split_first()
            .ok_or_else(|| SandboxError::Start("empty agent command".into()))?;
        let mut child = Command::new(program)
            .args(args)
            .args(["local", "--job"])
            .arg(&job_path)
            .arg("--out")
            .arg(&out_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SandboxError::Start(format!("{}: {e}", program.to_string_lossy())))?;
        let deadline = job.whole_run_deadline(self.margin);
        let stderr = child.stderr.take().expect("piped");
        let mut child = Reaper::new(child);
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let mut s = String::new();
            let _ = stderr.take(64 << 10).read_to_string(&mut s);
            s
        });
        let ended = child
            .wait_or_stop(Instant::now() + deadline, Duration::ZERO)
            .map_err(|e| SandboxError::Start(e.to_string()))?;
        if ended.timed_out {
            return Err(SandboxError::Deadline {
                secs: deadline.as_secs(),
                tail: String::new(),
            });
        }
        let log = reader.join().unwrap_or_default();
        let bytes = std::fs::read(&out_path).unwrap_or_default();
        Ok(SandboxRun {
            events: crate::protocol::parse_events(&bytes),
            log,
            ..Default::default()
        })
    }
}
