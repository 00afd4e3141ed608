//! Deadlines from the reference solutions' own times. `cargo grader calibrate LAB` runs
//! the lab's reference solutions in the guest and locally and writes, beside the spec,
//! `timings.toml`: each scenario's longest wall time and CPU time. A scenario's deadline
//! is then what its reference needs, with room — its idle time (sleeps, waits) one and a
//! half times, its CPU time four times (a loaded or slower machine, an emulated guest),
//! plus a floor — and never more than the spec's own deadline. A broken program that never
//! ends is stopped after about what a working one takes, not after a static ×4 of a
//! generous native deadline. Without the file (or with one measured for another version
//! of the spec) deadlines are the spec's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::protocol::ScenarioJob;
use crate::report::Backend;

/// The file's name, beside the lab's spec.
pub const FILE_NAME: &str = "timings.toml";
/// [`Timings::format_version`].
pub const FORMAT_VERSION: u32 = 1;
/// Idle time (wall minus CPU) is given this many times over.
pub const IDLE_FACTOR: f64 = 1.5;
/// CPU time is given this many times over.
pub const CPU_FACTOR: f64 = 4.0;
/// Added to every deadline in the guest, in ms (a program's start, the agent's own
/// steps, a cold translation cache).
pub const GUEST_FLOOR_MS: u64 = 1500;
/// Added to every deadline on the local backend, in ms.
pub const LOCAL_FLOOR_MS: u64 = 1000;
/// Added when the schedule is perturbed (held forks and IPC calls), in ms.
pub const PERTURB_MS: u64 = 1000;

/// One scenario's measured times on one backend (the longest of the runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    /// Wall time, ms.
    pub wall_ms: u64,
    /// CPU time of the student's processes, ms.
    pub cpu_ms: u64,
    /// For a scenario counted in round trips: the count these times are for (the
    /// deadline scales with the count drawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trips: Option<u64>,
}

impl Measured {
    /// The larger of two measurements (compared per round trip when counted in them).
    pub fn max(self, other: Measured) -> Measured {
        let per = |m: &Measured, v: u64| match (m.round_trips, self.round_trips) {
            (Some(n), Some(base)) if n > 0 => v * base / n,
            _ => v,
        };
        Measured {
            wall_ms: self.wall_ms.max(per(&other, other.wall_ms)),
            cpu_ms: self.cpu_ms.max(per(&other, other.cpu_ms)),
            round_trips: self.round_trips,
        }
    }

    /// The deadline these times give, in ms, for `round_trips` round trips.
    pub fn deadline_ms(&self, floor_ms: u64, round_trips: Option<u64>) -> u64 {
        let scale = match (self.round_trips, round_trips) {
            (Some(base), Some(n)) if base > 0 => n as f64 / base as f64,
            _ => 1.0,
        };
        let wall = self.wall_ms as f64 * scale;
        let cpu = (self.cpu_ms as f64 * scale).min(wall);
        floor_ms + ((wall - cpu) * IDLE_FACTOR + cpu * CPU_FACTOR).round() as u64
    }
}

/// One scenario's times, per backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioTimes {
    /// In the guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<Measured>,
    /// On the local backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Measured>,
}

/// A lab's `timings.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The spec these were measured for: another spec's times are not used.
    pub spec_sha256: String,
    /// Where and how they were measured, for people.
    #[serde(default)]
    pub measured: String,
    /// Scenario name → its times.
    #[serde(default)]
    pub scenario: BTreeMap<String, ScenarioTimes>,
}

/// The timings in force for one lab, or why the spec's deadlines are used.
#[derive(Debug, Clone, Default)]
pub struct Deadlines {
    /// The file's timings, when they apply.
    pub timings: Option<Timings>,
    /// Why they do not (a notice for the report), when the file exists but is not used.
    pub notice: Option<String>,
    /// The host's load stretch (see [`host_load_factor`]); 0 or 1: none.
    pub load_factor: f64,
}

/// Where a lab's timings are: beside its spec.
pub fn path_for(spec: &Path) -> PathBuf {
    spec.with_file_name(FILE_NAME)
}

impl Deadlines {
    /// The timings beside `spec`, checked against the spec's hash. A missing file is no
    /// timings; a broken one is an error (the course's own file).
    pub fn load(spec: &Path, spec_sha256: &str) -> Result<Deadlines, ConfigError> {
        let path = path_for(spec);
        if !path.is_file() {
            return Ok(Deadlines::default());
        }
        let (t, _): (Timings, _) = crate::config::load_toml(&path)?;
        if t.format_version != FORMAT_VERSION {
            return Err(ConfigError::Invalid {
                path,
                message: format!(
                    "format_version {} is not supported (this grader reads {FORMAT_VERSION})",
                    t.format_version
                ),
            });
        }
        if t.spec_sha256 != spec_sha256 {
            let notice = format!(
                "{} was measured for another version of the spec: the spec's own deadlines were used (run `cargo grader calibrate` again)",
                path.display()
            );
            return Ok(Deadlines {
                timings: None,
                notice: Some(notice),
                load_factor: 1.0,
            });
        }
        Ok(Deadlines {
            timings: Some(t),
            notice: None,
            load_factor: 1.0,
        })
    }

    /// Shortens `job`'s deadline to what its reference needs on `backend` (never beyond
    /// the spec's deadline already there).
    pub fn apply(&self, job: &mut ScenarioJob, backend: Backend, perturbed: bool) {
        let Some(times) = self
            .timings
            .as_ref()
            .and_then(|t| t.scenario.get(&job.name))
        else {
            return;
        };
        let (measured, floor) = match backend {
            Backend::Qemu => (times.guest, GUEST_FLOOR_MS),
            Backend::Local => (times.local, LOCAL_FLOOR_MS),
            Backend::Host => (None, 0),
        };
        let Some(m) = measured else { return };
        let floor = floor + if perturbed { PERTURB_MS } else { 0 };
        let count = job.audit.round_trips.as_ref().map(|r| r.count);
        let calibrated = m.deadline_ms(floor, count) as f64 * self.load_factor.max(1.0);
        job.timeout_ms = job.timeout_ms.min(calibrated.round() as u64);
    }

    /// Deadlines stretched on a busy host: `factor` times the calibrated ones (at most the
    /// spec's), so that a correct program graded beside other work keeps its time.
    pub fn stretched(mut self, factor: f64) -> Deadlines {
        self.load_factor = factor;
        self
    }
}

/// How much busier than its cores this host is now: the 1-minute load average over the
/// cores, between 1 and [`MAX_LOAD_FACTOR`] (1 when it cannot be read).
pub fn host_load_factor() -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    load_factor(load, cores)
}

/// The stretch for a load average of `load` on `cores` cores.
pub fn load_factor(load: f64, cores: f64) -> f64 {
    (load / cores.max(1.0)).clamp(1.0, MAX_LOAD_FACTOR)
}

/// The most a busy host stretches calibrated deadlines.
pub const MAX_LOAD_FACTOR: f64 = 3.0;

impl Timings {
    /// The file's text, with a header saying what it is.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# The reference solutions' running times per scenario, written by `cargo grader\n\
             # calibrate`: each scenario's deadline is its idle time x{IDLE_FACTOR} plus its CPU time\n\
             # x{CPU_FACTOR} plus {GUEST_FLOOR_MS} ms in the guest ({LOCAL_FLOOR_MS} ms locally), at most the spec's own.\n\
             # Measured again after a change of the spec (its hash is below) or of the guest.\n{body}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AuditRequest, RoundTrips};

    fn job(timeout_ms: u64, round_trips: Option<u64>) -> ScenarioJob {
        ScenarioJob {
            name: "s".into(),
            timeout_ms,
            steps: Vec::new(),
            audit: AuditRequest {
                round_trips: round_trips.map(|count| RoundTrips {
                    count,
                    calls: BTreeMap::new(),
                }),
                ..Default::default()
            },
            alone: false,
        }
    }

    fn deadlines(m: Measured) -> Deadlines {
        let scenario = BTreeMap::from([(
            "s".to_string(),
            ScenarioTimes {
                guest: Some(m),
                local: None,
            },
        )]);
        Deadlines {
            timings: Some(Timings {
                format_version: 1,
                spec_sha256: "x".into(),
                measured: String::new(),
                scenario,
            }),
            notice: None,
            load_factor: 1.0,
        }
    }

    #[test]
    fn a_busy_host_stretches_the_calibrated_deadlines_up_to_the_spec() {
        assert_eq!(load_factor(0.5, 2.0), 1.0);
        assert_eq!(load_factor(4.0, 2.0), 2.0);
        assert_eq!(load_factor(40.0, 2.0), MAX_LOAD_FACTOR);
        let m = Measured {
            wall_ms: 1000,
            cpu_ms: 0,
            round_trips: None,
        };
        let mut sj = job(60_000, None);
        deadlines(m).apply(&mut sj, Backend::Qemu, false);
        let calm = sj.timeout_ms;
        let mut sj = job(60_000, None);
        deadlines(m)
            .stretched(2.0)
            .apply(&mut sj, Backend::Qemu, false);
        assert_eq!(sj.timeout_ms, calm * 2);
        // Never beyond the spec's own.
        let mut sj = job(calm + 100, None);
        deadlines(m)
            .stretched(3.0)
            .apply(&mut sj, Backend::Qemu, false);
        assert_eq!(sj.timeout_ms, calm + 100);
    }

    #[test]
    fn idle_and_cpu_time_get_their_own_room_and_the_spec_caps_it() {
        let d = deadlines(Measured {
            wall_ms: 1000,
            cpu_ms: 200,
            round_trips: None,
        });
        let mut j = job(60_000, None);
        d.apply(&mut j, Backend::Qemu, false);
        assert_eq!(j.timeout_ms, 1500 + 1200 + 800);
        let mut j = job(60_000, None);
        d.apply(&mut j, Backend::Qemu, true);
        assert_eq!(j.timeout_ms, 1500 + 1000 + 1200 + 800);
        let mut short = job(2_000, None);
        d.apply(&mut short, Backend::Qemu, false);
        assert_eq!(short.timeout_ms, 2_000);
        // No local measurement: the spec's deadline.
        let mut local = job(12_000, None);
        d.apply(&mut local, Backend::Local, false);
        assert_eq!(local.timeout_ms, 12_000);
    }

    #[test]
    fn round_trips_scale_the_deadline_and_runs_compare_per_round_trip() {
        let m = Measured {
            wall_ms: 400,
            cpu_ms: 400,
            round_trips: Some(400),
        };
        assert_eq!(m.deadline_ms(0, Some(800)), 3200);
        let faster_per_trip = Measured {
            wall_ms: 600,
            cpu_ms: 600,
            round_trips: Some(1200),
        };
        assert_eq!(m.max(faster_per_trip), m);
        let slower = Measured {
            wall_ms: 900,
            cpu_ms: 600,
            round_trips: Some(600),
        };
        assert_eq!(
            m.max(slower),
            Measured {
                wall_ms: 600,
                cpu_ms: 400,
                round_trips: Some(400)
            }
        );
    }
}
