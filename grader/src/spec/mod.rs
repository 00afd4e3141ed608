//! The lab spec (`lab.toml`): programs, parameters drawn per run, scenarios made of steps
//! with expectations. Loading validates everything a typo could break, so a broken spec
//! fails before any student code runs. The format is documented in the README.

pub mod compile;
pub mod expect;
pub mod hints;
pub mod params;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{self, ConfigError, Dur};
pub use expect::{ExpectSpec, Matcher, Matchers};
pub use params::ParamSpec;

/// The only `format_version` this grader reads.
pub const SPEC_FORMAT_VERSION: u32 = 1;

/// A whole `lab.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    /// Must be [`SPEC_FORMAT_VERSION`].
    pub format_version: u32,
    /// Programs the submission must build.
    pub programs: Vec<String>,
    /// Parameters drawn per run.
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    /// Scenarios, in order.
    #[serde(rename = "scenario")]
    pub scenarios: Vec<ScenarioSpec>,
}

/// One `[[scenario]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Unique `[a-z0-9_]+` name.
    pub name: String,
    /// One line saying what is checked.
    pub title: Option<String>,
    /// Earned when every expectation holds.
    pub points: u32,
    /// Earned in addition when the leak audit is clean.
    #[serde(default)]
    pub cleanup_points: u32,
    /// Whole-scenario deadline (native time; scaled in the guest).
    pub timeout: Dur,
    /// Shown when the scenario fails: what to read or check (one level; see `hints`).
    pub hint: Option<String>,
    /// Hints in levels, 2 to 4, shown one more at a time (`cargo grader hint`): the
    /// concept first, the recipe last. Replaces `hint` (a scenario has one or the other).
    pub hints: Option<Vec<String>>,
    /// Audits after (and during) the scenario.
    #[serde(default)]
    pub audit: AuditSpec,
    /// The steps.
    #[serde(rename = "step")]
    pub steps: Vec<StepSpec>,
}

impl ScenarioSpec {
    /// Points a perfect run earns.
    pub fn max_points(&self) -> u32 {
        self.points + self.cleanup_points
    }

    /// The lab's programs this scenario runs (its `run` steps), in order, once each.
    pub fn programs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in self.steps.iter().filter_map(|s| s.run.as_deref()) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

/// Audit settings of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSpec {
    /// Report (and charge cleanup points for) IPC objects left behind.
    #[serde(default = "yes")]
    pub leaks: bool,
    /// System-call expectations over the student's process tree.
    #[serde(default)]
    pub syscalls: SyscallSpec,
    /// Points lost when the scenario leaves processes behind (still running after the
    /// program that forked them ended, detached daemons, zombies never waited for);
    /// 0 (the default): a warning in the report, no point lost.
    #[serde(default)]
    pub stray_cost: u32,
    /// Report the descriptors (pipe ends, a queue's) each student process still has open
    /// when it exits, as a warning (costs `stray_cost` too).
    #[serde(default)]
    pub fds: bool,
    /// How many round trips the scenario makes and which audited calls count them: a
    /// program still making them at the deadline is "too slow", not "blocked", and one
    /// far too slow to finish is stopped early.
    pub round_trips: Option<RoundTripSpec>,
}

/// `audit.round_trips`, e.g. `{ count = "{count}", calls = { msgsnd = 2, msgrcv = 2 } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundTripSpec {
    /// Round trips the scenario needs (a number or a `{param}` template).
    pub count: IntOrTemplate,
    /// System call → how many calls one round trip makes, all processes together (they
    /// are counted like `audit.syscalls`).
    pub calls: BTreeMap<String, u64>,
}

impl Default for AuditSpec {
    fn default() -> Self {
        AuditSpec {
            leaks: true,
            syscalls: SyscallSpec::default(),
            round_trips: None,
            stray_cost: 0,
            fds: false,
        }
    }
}

fn yes() -> bool {
    true
}

/// `audit.syscalls`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyscallSpec {
    /// Name → minimum number of calls (a number or a `{param}` template).
    #[serde(default)]
    pub require: BTreeMap<String, IntOrTemplate>,
    /// Name → maximum number of calls.
    #[serde(default)]
    pub at_most: BTreeMap<String, IntOrTemplate>,
    /// Names that must not be called at all.
    #[serde(default)]
    pub forbid: Vec<String>,
}

impl SyscallSpec {
    /// Every syscall name the audit must count.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .require
            .keys()
            .chain(self.at_most.keys())
            .chain(self.forbid.iter())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// An integer written literally or as a template such as `"{key}"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum IntOrTemplate {
    /// A literal.
    Int(i64),
    /// A template rendered then parsed (decimal or 0x-hex).
    Template(String),
}

impl IntOrTemplate {
    /// Renders and parses.
    pub fn resolve(&self, vars: &config::Vars) -> Result<i64, String> {
        match self {
            IntOrTemplate::Int(v) => Ok(*v),
            IntOrTemplate::Template(t) => {
                let s = config::render(t, vars)?;
                config::parse_int(&s).ok_or_else(|| format!("`{t}` = `{s}` is not an integer"))
            }
        }
    }
}

/// One `[[scenario.step]]`: exactly one verb key is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Run a program of the submission.
    pub run: Option<String>,
    /// Run a program of the guest system (absolute path).
    pub exec: Option<String>,
    /// Name for later `wait`/`kill`; defaults to the program name.
    pub id: Option<String>,
    /// Arguments (templates).
    #[serde(default)]
    pub args: Vec<String>,
    /// Standard input (template).
    pub stdin: Option<String>,
    /// Extra environment variables (templates).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Do not wait for the program.
    #[serde(default)]
    pub background: bool,
    /// Wait for a background program.
    pub wait: Option<String>,
    /// Limit for `wait` and `wait_for`.
    pub within: Option<Dur>,
    /// Signal a background program.
    pub kill: Option<String>,
    /// Signal name for `kill` (default `TERM`).
    pub signal: Option<String>,
    /// Pause.
    pub sleep: Option<Dur>,
    /// Poll until a condition holds.
    pub wait_for: Option<WaitForSpec>,
    /// List the IPC objects now.
    pub ipc_snapshot: Option<bool>,
    /// The agent sends SysV messages.
    pub msg_send: Option<MsgSendSpec>,
    /// The agent drains a SysV queue.
    pub msg_drain: Option<IpcRefSpec>,
    /// The agent creates an IPC object.
    pub ipc_create: Option<IpcCreateSpec>,
    /// The agent removes an IPC object.
    pub ipc_remove: Option<IpcRefSpec>,
    /// The agent writes a file.
    pub write_file: Option<WriteFileSpec>,
    /// The agent writes a file of ints from a seed.
    pub gen_ints: Option<GenIntsSpec>,
    /// Probe a file.
    pub file: Option<String>,
    /// The agent computes `ftok`.
    pub ftok: Option<FtokSpec>,
    /// Expectations on this step's outcome.
    pub expect: Option<ExpectSpec>,
}

/// `wait_for = { … }`: exactly one of `ipc`, `file`, `output`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitForSpec {
    /// IPC kind (`msg`, `shm`, `sem`, `posix_mq`, `posix_shm`, `posix_sem`).
    pub ipc: Option<crate::protocol::IpcKind>,
    /// SysV key.
    pub key: Option<IntOrTemplate>,
    /// POSIX name.
    pub name: Option<String>,
    /// A file path.
    pub file: Option<String>,
    /// A process id whose stdout is watched.
    pub output: Option<String>,
    /// The substring for `output`.
    pub contains: Option<String>,
}

/// `msg_send = { key, create, messages }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsgSendSpec {
    /// Queue key.
    pub key: IntOrTemplate,
    /// Create the queue if missing.
    #[serde(default)]
    pub create: bool,
    /// Messages in order.
    #[serde(default)]
    pub messages: Vec<MessageSpec>,
}

/// A message in a spec.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// Type (> 0).
    pub mtype: i64,
    /// Payload (template).
    pub text: String,
}

/// An IPC object named by key or name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpcRefSpec {
    /// Kind (defaults to `msg` for `msg_drain`).
    pub ipc: Option<crate::protocol::IpcKind>,
    /// SysV key.
    pub key: Option<IntOrTemplate>,
    /// POSIX name.
    pub name: Option<String>,
}

/// `ipc_create = { ipc, key|name, size, mode }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpcCreateSpec {
    /// Kind.
    pub ipc: crate::protocol::IpcKind,
    /// SysV key.
    pub key: Option<IntOrTemplate>,
    /// POSIX name.
    pub name: Option<String>,
    /// Bytes (shm) or semaphores (sem).
    #[serde(default)]
    pub size: u64,
    /// Permission bits.
    #[serde(default = "default_mode")]
    pub mode: u32,
}

fn default_mode() -> u32 {
    0o600
}

/// `write_file = { path, content, mode }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteFileSpec {
    /// Path (template).
    pub path: String,
    /// Content (template).
    pub content: String,
    /// Permission bits.
    #[serde(default = "default_file_mode")]
    pub mode: u32,
}

fn default_file_mode() -> u32 {
    0o644
}

/// `gen_ints = { path, count, seed }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenIntsSpec {
    /// Path (template).
    pub path: String,
    /// How many ints.
    pub count: IntOrTemplate,
    /// Generator seed.
    pub seed: IntOrTemplate,
}

/// `ftok = { path, proj }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtokSpec {
    /// Path (template).
    pub path: String,
    /// Project id.
    pub proj: IntOrTemplate,
}

/// A failure to load a spec.
pub type SpecError = ConfigError;

impl LabSpec {
    /// Loads and validates a spec; returns it with its raw text (for pinning).
    pub fn load(path: &Path) -> Result<(LabSpec, String), SpecError> {
        let (spec, text): (LabSpec, String) = config::load_toml(path)?;
        spec.validate(path)?;
        Ok((spec, text))
    }

    /// Parses spec text (already read) and validates it.
    pub fn parse(path: &Path, text: &str) -> Result<LabSpec, SpecError> {
        let spec: LabSpec = config::parse_toml(path, text)?;
        spec.validate(path)?;
        Ok(spec)
    }

    /// Total points.
    pub fn max_score(&self) -> u32 {
        self.scenarios.iter().map(ScenarioSpec::max_points).sum()
    }

    fn validate(&self, path: &Path) -> Result<(), SpecError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: PathBuf::from(path),
            message,
        };
        if self.format_version != SPEC_FORMAT_VERSION {
            return Err(invalid(format!(
                "format_version = {} is not supported (this grader reads {SPEC_FORMAT_VERSION})",
                self.format_version
            )));
        }
        params::validate(&self.params).map_err(&invalid)?;
        let vars = compile::placeholder_vars(self).map_err(&invalid)?;
        let mut names = std::collections::BTreeSet::new();
        for s in &self.scenarios {
            if !names.insert(&s.name) {
                return Err(invalid(format!("scenario `{}` appears twice", s.name)));
            }
            if s.name.is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(invalid(format!(
                    "scenario name `{}` must match [a-z0-9_]+",
                    s.name
                )));
            }
            hints::validate(s).map_err(|e| invalid(format!("scenario `{}`: {e}", s.name)))?;
            // Compiling with a fixed seed exercises every template, verb and name.
            compile::check_scenario(self, s, &vars)
                .map_err(|e| invalid(format!("scenario `{}`: {e}", s.name)))?;
        }
        Ok(())
    }
}
