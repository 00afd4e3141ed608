//! Host processes of one lab 7 run. The student's scripts, and the QEMU they start, run
//! in a process group of their own, as `nobody` when the grader is root, under rlimits,
//! with the run's token in their environment (`GRADER_LAB7_RUN`). The environment is
//! inherited by everything they start, even a QEMU that left the group (`setsid`, `&`),
//! so killing every process whose environment holds the token ends them all; a
//! [`RunGuard`] does that on every exit path. The kernel kills the direct child if the
//! grader dies (`PR_SET_PDEATHSIG`), and [`sweep_orphans`] ends what a killed grader
//! left behind (tokens carry the grader's pid).

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The environment variable carrying the run's token.
pub const TOKEN_VAR: &str = "GRADER_LAB7_RUN";
/// uid and gid of `nobody` on Debian.
pub const NOBODY: u32 = 65534;
/// Bytes of a script's stdout and stderr kept.
const OUTPUT_CAP: u64 = 64 << 10;
/// Rounds of SIGKILL before giving up on a process that keeps forking.
const KILL_ROUNDS: usize = 200;

/// Identifies the processes of one run (`<grader pid>-<nanos>-<n>`) or of one part of it
/// (`…/<label>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A fresh run token owned by this process.
    pub fn new() -> Token {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Token(format!(
            "{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// The token of one part of the run (a script): killing it spares the rest.
    pub fn child(&self, label: &str) -> Token {
        Token(format!("{}/{label}", self.0))
    }

    /// The text put in the environment.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a process's token value belongs to this token (is it, or one of its parts).
    fn covers(&self, value: &str) -> bool {
        value == self.0
            || value
                .strip_prefix(self.0.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

impl Default for Token {
    fn default() -> Self {
        Token::new()
    }
}

/// Who the student's processes run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
}

/// `nobody` when the grader runs as root (student scripts never need root here); else
/// the grader's own user.
pub fn identity() -> Option<Identity> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    root.then_some(Identity {
        uid: NOBODY,
        gid: NOBODY,
    })
}

/// How the run's processes are started.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// Working directory (the run directory).
    pub cwd: PathBuf,
    /// The whole environment (the grader's own is not passed on).
    pub env: Vec<(String, String)>,
    /// Who they run as.
    pub identity: Option<Identity>,
}

impl Launcher {
    /// `program args…` in its own process group, with the token, limits and identity.
    pub fn command<S: AsRef<OsStr>>(&self, program: &Path, args: &[S], token: &Token) -> Command {
        let mut command = Command::new(program);
        command.args(args).current_dir(&self.cwd).env_clear();
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command.env(TOKEN_VAR, token.as_str()).process_group(0);
        if let Some(id) = self.identity {
            command.uid(id.uid).gid(id.gid);
        }
        crate::sandbox::child::tie_to_parent(&mut command, &LIMITS);
        command
    }
}

/// rlimits for everything a lab 7 run starts, set before exec with the death signal
/// (see [`crate::sandbox::child::tie_to_parent`]).
const LIMITS: [crate::sandbox::child::Rlimit; 5] = [
    (libc::RLIMIT_CORE, 0),
    // A raw disk of the largest drawn size is a sparse file of that length.
    (libc::RLIMIT_FSIZE, 2 << 30),
    (libc::RLIMIT_NOFILE, 1024),
    (libc::RLIMIT_CPU, 600),
    // Counts threads of the uid (QEMU has a dozen); stops a fork bomb as nobody.
    (libc::RLIMIT_NPROC, 512),
];

/// Pids (not zombies) whose environment holds a token `token` covers.
pub fn tagged(token: &Token) -> Vec<i32> {
    processes()
        .filter(|(_, value)| token.covers(value))
        .map(|(pid, _)| pid)
        .collect()
}

/// Every live process of this machine carrying some run token, with that token.
fn processes() -> impl Iterator<Item = (i32, String)> {
    let me = std::process::id() as i32;
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    entries.filter_map(move |entry| {
        let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
        if pid == me || is_zombie(pid) {
            return None;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        let prefix = format!("{TOKEN_VAR}=");
        let value = environ
            .split(|&b| b == 0)
            .find_map(|v| v.strip_prefix(prefix.as_bytes()))?;
        Some((pid, String::from_utf8_lossy(value).into_owned()))
    })
}

fn is_zombie(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name, which is in parentheses and may hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .is_some_and(|s| s == 'Z' || s == 'X')
}

/// SIGKILLs every process `token` covers until none is left (a process forking as fast as
/// it is killed gets [`KILL_ROUNDS`] rounds). Returns whether none is left.
pub fn kill_tagged(token: &Token) -> bool {
    for _ in 0..KILL_ROUNDS {
        let pids = tagged(token);
        if pids.is_empty() {
            return true;
        }
        for pid in pids {
            // SAFETY: kill(2) with a pid read from /proc; at worst the pid was reused by
            // a process that is not ours, which the token check just before makes
            // vanishingly unlikely.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    tagged(token).is_empty()
}

/// Kills processes of runs whose grader is gone (killed before its guard could run).
pub fn sweep_orphans() {
    let mut dead = std::collections::BTreeSet::new();
    for (_, value) in processes() {
        let owner = value
            .split(['-', '/'])
            .next()
            .and_then(|p| p.parse::<u32>().ok());
        if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            dead.insert(value.split('/').next().unwrap_or_default().to_owned());
        }
    }
    for token in dead {
        kill_tagged(&Token(token));
    }
}

/// The QEMU processes `token` covers, with their command lines.
pub fn qemu_processes(token: &Token) -> Vec<(i32, Vec<String>)> {
    tagged(token)
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.starts_with("qemu-system"))
        })
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args = raw
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned());
            Some((pid, args.collect()))
        })
        .collect()
}

/// Kills every process of the run when dropped, whatever the student started.
#[derive(Debug)]
pub struct RunGuard {
    token: Token,
}

impl RunGuard {
    /// Guards `token`'s processes; orphans of dead graders are swept first.
    pub fn new(token: Token) -> RunGuard {
        sweep_orphans();
        RunGuard { token }
    }

    /// The guarded token.
    pub fn token(&self) -> &Token {
        &self.token
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        kill_tagged(&self.token);
    }
}

/// What running one script gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptRun {
    /// The script file does not exist.
    pub missing: bool,
    /// Why it could not be started.
    pub spawn_error: Option<String>,
    /// Its exit code.
    pub code: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// It was killed at the deadline.
    pub timed_out: bool,
    /// Its standard output (first [`OUTPUT_CAP`] bytes).
    pub stdout: String,
    /// Its standard error (first [`OUTPUT_CAP`] bytes).
    pub stderr: String,
}

impl ScriptRun {
    /// Exited with status 0 in time.
    pub fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// The lines it printed, without blank ones and `\r`.
    pub fn lines(&self) -> Vec<String> {
        self.stdout
            .lines()
            .map(|l| l.trim_end_matches('\r').trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// What went wrong, for a message (`None` when it succeeded).
    pub fn failure(&self, name: &str, deadline: Duration) -> Option<String> {
        let tail = tail_lines(&self.stderr, 6);
        let said = if tail.is_empty() {
            String::new()
        } else {
            format!("; it said:\n{tail}")
        };
        if self.missing {
            Some(format!("{name} is missing from the submission"))
        } else if let Some(e) = &self.spawn_error {
            Some(format!("{name} could not be started: {e}"))
        } else if self.timed_out {
            Some(format!(
                "{name} was still running after {} s and was killed{said}",
                deadline.as_secs()
            ))
        } else if let Some(sig) = self.signal {
            Some(format!("{name} was killed by signal {sig}{said}"))
        } else if self.code != Some(0) {
            Some(format!(
                "{name} exited with status {}{said}",
                self.code.unwrap_or(-1)
            ))
        } else {
            None
        }
    }
}

/// The last `n` non-empty lines of `text`, indented for a message.
pub fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `sh FILE ARGS…` until it exits or `deadline` passes; everything it started is
/// killed afterwards (its part of the token).
pub fn run_script(
    launcher: &Launcher,
    file: &Path,
    args: &[&str],
    token: &Token,
    deadline: Duration,
) -> ScriptRun {
    if !file.is_file() {
        return ScriptRun {
            missing: true,
            ..ScriptRun::default()
        };
    }
    let mut argv: Vec<&OsStr> = vec![file.as_os_str()];
    argv.extend(args.iter().map(OsStr::new));
    run_command(launcher, Path::new("/bin/sh"), &argv, token, deadline)
}

/// Runs `program args…` like [`run_script`] runs a script: deadline, output kept,
/// everything it started killed afterwards.
pub fn run_command<S: AsRef<OsStr>>(
    launcher: &Launcher,
    program: &Path,
    args: &[S],
    token: &Token,
    deadline: Duration,
) -> ScriptRun {
    let mut command = launcher.command(program, args, token);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return ScriptRun {
                spawn_error: Some(e.to_string()),
                ..ScriptRun::default()
            }
        }
    };
    let stdout = capture(child.stdout.take());
    let stderr = capture(child.stderr.take());
    let (status, timed_out) = wait_or_kill(&mut child, Instant::now() + deadline);
    // Background children would hold the pipes open: end them before reading.
    kill_tagged(token);
    let collect =
        |rx: mpsc::Receiver<String>| rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    ScriptRun {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        timed_out,
        stdout: collect(stdout),
        stderr: collect(stderr),
        ..ScriptRun::default()
    }
}

/// Reads a pipe to its end in a thread (keeping the first [`OUTPUT_CAP`] bytes).
fn capture<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = (&mut pipe).take(OUTPUT_CAP).read_to_end(&mut kept);
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        }
        let _ = tx.send(String::from_utf8_lossy(&kept).into_owned());
    });
    rx
}

/// Waits for `child` until `deadline`, then SIGKILLs its process group. Returns its
/// status (`None` if it could not be reaped) and whether the deadline hit.
pub fn wait_or_kill(child: &mut Child, deadline: Instant) -> (Option<ExitStatus>, bool) {
    if let Ok(Some(status)) = crate::sandbox::child::wait_until(child, deadline) {
        return (Some(status), false);
    }
    // SAFETY: kill(2) on the process group our unreaped child leads (process_group(0)
    // made its pid the group id; the pid cannot be reused before we reap it).
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    (child.wait().ok(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLL: Duration = Duration::from_millis(10);

    fn launcher(dir: &Path) -> Launcher {
        let path = std::env::var("PATH").unwrap_or_default();
        Launcher {
            cwd: dir.to_owned(),
            env: vec![("PATH".into(), path), ("GREETING".into(), "hi".into())],
            identity: None,
        }
    }

    fn script(name: &str, text: &str) -> (crate::image::scratch::ScratchDir, PathBuf) {
        let dir = crate::image::scratch::ScratchDir::new(
            &std::env::temp_dir(),
            &format!("grader-procs-{name}-"),
        )
        .unwrap();
        let file = dir.path().join("s.sh");
        std::fs::write(&file, text).unwrap();
        (dir, file)
    }

    #[test]
    fn scripts_get_the_environment_and_arguments_and_report_failures() {
        let (dir, file) = script(
            "env",
            "echo \"$GREETING $1\"; echo oops >&2; [ -z \"$HOME\" ] && exit 3\n",
        );
        let token = Token::new();
        let run = run_script(
            &launcher(dir.path()),
            &file,
            &["there"],
            &token.child("s"),
            Duration::from_secs(10),
        );
        assert_eq!(run.lines(), ["hi there"]);
        assert_eq!(
            run.code,
            Some(3),
            "the grader's own environment (HOME) is not passed on"
        );
        let why = run.failure("s.sh", Duration::from_secs(10)).unwrap();
        assert!(
            why.contains("exited with status 3") && why.contains("oops"),
            "{why}"
        );
        let missing = run_script(
            &launcher(dir.path()),
            &dir.path().join("none.sh"),
            &[],
            &token,
            Duration::from_secs(1),
        );
        assert_eq!(
            missing.failure("none.sh", Duration::from_secs(1)).unwrap(),
            "none.sh is missing from the submission"
        );
    }

    #[test]
    fn a_script_past_its_deadline_is_killed_with_what_it_left_behind() {
        let (dir, file) = script("hang", "setsid sleep 300 & sleep 300\n");
        let token = Token::new();
        let start = Instant::now();
        let run = run_script(
            &launcher(dir.path()),
            &file,
            &[],
            &token.child("hang"),
            Duration::from_millis(300),
        );
        assert!(run.timed_out);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(
            tagged(&token).is_empty(),
            "the setsid'd sleep escaped the group but not the token"
        );
    }

    #[test]
    fn the_guard_kills_processes_that_left_the_group_and_spares_others() {
        let dir =
            crate::image::scratch::ScratchDir::new(&std::env::temp_dir(), "grader-procs-guard-")
                .unwrap();
        let l = launcher(dir.path());
        let (mine, other) = (Token::new(), Token::new());
        let mut a = l
            .command(
                Path::new("/bin/sh"),
                &["-c", "setsid sleep 300 & exec sleep 300"],
                &mine.child("boot"),
            )
            .spawn()
            .unwrap();
        let mut b = l
            .command(Path::new("/bin/sh"), &["-c", "exec sleep 300"], &other)
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while tagged(&mine).len() < 2 && Instant::now() < until {
            std::thread::sleep(POLL);
        }
        assert_eq!(tagged(&mine).len(), 2);
        drop(RunGuard::new(mine.clone()));
        assert!(tagged(&mine).is_empty());
        assert_eq!(
            tagged(&other).len(),
            1,
            "another run's process is left alone"
        );
        kill_tagged(&other);
        let _ = (a.wait(), b.wait());
    }

    #[test]
    fn tokens_cover_their_parts_only() {
        let t = Token("12-3-4".into());
        assert!(t.covers("12-3-4") && t.covers("12-3-4/boot"));
        assert!(!t.covers("12-3-45") && !t.covers("12-3"));
        assert!(!t.child("boot").covers("12-3-4"));
    }
}
