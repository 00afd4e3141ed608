//! The lab 7 spec (`labs/lab7-qemu/lab.toml`): the checks with their titles, points and
//! hints, the ranges each run's parameters are drawn from, and the deadlines. The checks
//! themselves are the grader's (one per [`CheckName`]); the spec says what they are worth.
//!
//! ```toml
//! format_version = 1
//! [params]                       # each drawn per run, inclusive, in steps
//! disk_mb = { min = 64, max = 512, step = 16 }
//! memory_mb = { min = 256, max = 384, step = 64 }
//! balloon_drop_mb = { min = 64, max = 128, step = 16 }   # BALLOON = MEMORY - drop
//! cpus = { min = 1, max = 2 }
//! max_cpus = 4
//! add_cpus = { min = 1, max = 2 }
//! guest_port = { min = 8000, max = 8999 }
//! host_port = { min = 20000, max = 59999 }             # the first free one from the draw
//! [deadlines]
//! script = "10s"    # each run of disk.sh, monitor.sh, guest.sh
//! boot = "60s"      # boot.sh to the guest's shell
//! step = "20s"      # each effect (CPU plugged, online, balloon reached)
//! stop = "10s"      # QEMU gone after `monitor.sh stop`
//! [[check]]         # one per check name, each exactly once
//! name = "disk"
//! title = "…"
//! points = 15
//! hint = "…"        # optional, shown when the check fails
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{self, ConfigError, Dur};

/// The only `format_version` this grader reads.
pub const FORMAT_VERSION: u32 = 1;

/// The checks, in the order they run and are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// `qemu-img info`: qcow2, the drawn virtual size.
    Disk,
    /// QEMU starts and the guest's shell comes up on stdio.
    Boot,
    /// The guest's service answers through the host port forward.
    Network,
    /// The disk is attached to the VM (`query-block`).
    Drive,
    /// `monitor.sh hotplug` adds the CPUs (`query-cpus-fast`).
    Hotplug,
    /// `guest.sh` brings them online (the guest's `/sys/devices/system/cpu/online`).
    Online,
    /// `monitor.sh balloon` reaches the target (`query-balloon`, the guest's MemTotal).
    Balloon,
    /// `monitor.sh stop` ends QEMU within the deadline.
    Stop,
}

impl CheckName {
    /// Every check, in run order.
    pub const ALL: [CheckName; 8] = [
        CheckName::Disk,
        CheckName::Boot,
        CheckName::Network,
        CheckName::Drive,
        CheckName::Hotplug,
        CheckName::Online,
        CheckName::Balloon,
        CheckName::Stop,
    ];

    /// The name used in the spec and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Disk => "disk",
            CheckName::Boot => "boot",
            CheckName::Network => "network",
            CheckName::Drive => "drive",
            CheckName::Hotplug => "hotplug",
            CheckName::Online => "online",
            CheckName::Balloon => "balloon",
            CheckName::Stop => "stop",
        }
    }
}

/// A whole lab 7 `lab.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QemuLabSpec {
    /// Must be [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Where the parameters are drawn from.
    pub params: ParamRanges,
    /// How long each phase may take.
    pub deadlines: Deadlines,
    /// Points and words of each check.
    #[serde(rename = "check")]
    pub checks: Vec<CheckSpec>,
}

/// `[params]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamRanges {
    /// Virtual size of the disk, MiB (`DISK_SIZE`).
    pub disk_mb: Range,
    /// Guest RAM, MiB (`MEMORY`).
    pub memory_mb: Range,
    /// How far the balloon shrinks the guest, MiB (`BALLOON = MEMORY - drop`).
    pub balloon_drop_mb: Range,
    /// vCPUs at boot (`CPUS`).
    pub cpus: Range,
    /// The most vCPUs the VM may have (`MAXCPUS`).
    pub max_cpus: u32,
    /// vCPUs to hot-plug (`ADD_CPUS`).
    pub add_cpus: Range,
    /// Port of the guest's service (`GUEST_PORT`).
    pub guest_port: Range,
    /// Host port to forward (`HOST_PORT`): the draw, or the next free one.
    pub host_port: Range,
}

/// An inclusive range drawn in steps from `min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Smallest value.
    pub min: u32,
    /// Largest value.
    pub max: u32,
    /// Values are `min + k * step`.
    #[serde(default = "one")]
    pub step: u32,
}

fn one() -> u32 {
    1
}

/// `[deadlines]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// Each run of `disk.sh`, `monitor.sh`, `guest.sh`.
    pub script: Dur,
    /// From starting `boot.sh` to the guest's shell on the console.
    pub boot: Dur,
    /// Each effect the grader waits for after the student's commands.
    pub step: Dur,
    /// From `monitor.sh stop`'s commands to QEMU being gone.
    pub stop: Dur,
}

/// One `[[check]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Which check.
    pub name: CheckName,
    /// One line for the report.
    pub title: String,
    /// Points when it passes.
    pub points: u32,
    /// Shown when it fails.
    pub hint: Option<String>,
}

impl QemuLabSpec {
    /// Reads and validates a spec; also returns its text (for the pin).
    pub fn load(path: &Path) -> Result<(QemuLabSpec, String), ConfigError> {
        let (spec, text): (QemuLabSpec, String) = config::load_toml(path)?;
        spec.validate().map_err(|message| ConfigError::Invalid {
            path: PathBuf::from(path),
            message,
        })?;
        Ok((spec, text))
    }

    /// Parses spec text and validates it (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<QemuLabSpec, ConfigError> {
        let spec: QemuLabSpec = config::parse_toml(path, text)?;
        spec.validate().map_err(|message| ConfigError::Invalid {
            path: PathBuf::from(path),
            message,
        })?;
        Ok(spec)
    }

    /// Total points.
    pub fn max_score(&self) -> u32 {
        self.checks.iter().map(|c| c.points).sum()
    }

    /// The spec of one check (validation guarantees it exists).
    pub fn check(&self, name: CheckName) -> &CheckSpec {
        self.checks
            .iter()
            .find(|c| c.name == name)
            .expect("validated: every check is in the spec")
    }

    fn validate(&self) -> Result<(), String> {
        if self.format_version != FORMAT_VERSION {
            return Err(format!(
                "format_version = {} is not supported (this grader reads {FORMAT_VERSION})",
                self.format_version
            ));
        }
        for name in CheckName::ALL {
            let n = self.checks.iter().filter(|c| c.name == name).count();
            if n != 1 {
                return Err(format!(
                    "check `{}` appears {n} times (every check exactly once)",
                    name.as_str()
                ));
            }
        }
        self.params.validate()
    }
}

impl ParamRanges {
    fn validate(&self) -> Result<(), String> {
        let ranges = [
            ("disk_mb", self.disk_mb),
            ("memory_mb", self.memory_mb),
            ("balloon_drop_mb", self.balloon_drop_mb),
            ("cpus", self.cpus),
            ("add_cpus", self.add_cpus),
            ("guest_port", self.guest_port),
            ("host_port", self.host_port),
        ];
        for (name, r) in ranges {
            if r.min > r.max || r.step == 0 || r.min == 0 {
                return Err(format!("params.{name}: need 0 < min <= max and step >= 1"));
            }
        }
        if self.cpus.max + self.add_cpus.max > self.max_cpus {
            return Err(
                "params: cpus.max + add_cpus.max exceeds max_cpus (no room to hot-plug)".into(),
            );
        }
        if self.memory_mb.min < self.balloon_drop_mb.max + 96 {
            return Err(
                "params: memory_mb.min - balloon_drop_mb.max leaves the guest under 96 MiB".into(),
            );
        }
        if self.host_port.min < 1024 || self.host_port.max > 65535 || self.guest_port.max > 65535 {
            return Err(
                "params: host_port must be within 1024..=65535, guest_port within 1..=65535".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs/lab7-qemu/lab.toml");
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn the_shipped_spec_is_valid_and_worth_100() {
        let spec = QemuLabSpec::parse(Path::new("lab.toml"), &shipped()).unwrap();
        assert_eq!(spec.max_score(), 100);
        assert_eq!(spec.check(CheckName::Stop).name, CheckName::Stop);
    }

    #[test]
    fn a_missing_or_doubled_check_is_refused() {
        let text = shipped().replacen("name = \"stop\"", "name = \"boot\"", 1);
        let err = QemuLabSpec::parse(Path::new("lab.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("check `boot` appears 2 times"), "{err}");
    }

    #[test]
    fn unknown_keys_and_check_names_name_the_line() {
        let text = shipped().replacen("[deadlines]", "[deadlines]\nboto = \"1s\"", 1);
        let line = text.lines().position(|l| l.starts_with("boto")).unwrap() + 1;
        let err = QemuLabSpec::parse(Path::new("lab.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("lab.toml:{line}: unknown field `boto`")),
            "{err}"
        );
        let text = shipped().replacen("name = \"stop\"", "name = \"halt\"", 1);
        let err = QemuLabSpec::parse(Path::new("lab.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `halt`"), "{err}");
    }

    #[test]
    fn ranges_without_hotplug_room_are_refused() {
        let text = shipped().replacen("max_cpus = 4", "max_cpus = 2", 1);
        let err = QemuLabSpec::parse(Path::new("lab.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no room to hot-plug"), "{err}");
    }
}
