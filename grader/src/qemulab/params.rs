//! The parameters of one lab 7 run, drawn from the seed within the spec's ranges (so
//! nothing can be hard-coded and `--seed` replays a run), and the environment variables
//! that hand them to the student's scripts.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use super::spec::{ParamRanges, Range};
use crate::spec::params::Rng;

/// Ports tried after the drawn host port when it is taken.
const PORT_TRIES: u32 = 500;
/// Reservation files, in the temporary directory.
const PORT_FILE_PREFIX: &str = "grader-lab7-port-";

/// One run's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Virtual size of the disk, MiB.
    pub disk_mb: u32,
    /// Guest RAM, MiB.
    pub memory_mb: u32,
    /// Balloon target, MiB.
    pub balloon_mb: u32,
    /// vCPUs at boot.
    pub cpus: u32,
    /// The most vCPUs.
    pub max_cpus: u32,
    /// vCPUs to hot-plug.
    pub add_cpus: u32,
    /// The guest's service port.
    pub guest_port: u16,
    /// The host port to forward to it.
    pub host_port: u16,
}

/// Draws every value for `seed`; the host port is the drawn one, see [`free_port`].
pub fn draw(ranges: &ParamRanges, seed: u64) -> Params {
    let memory_mb = pick(ranges.memory_mb, seed, "memory_mb");
    let drop = pick(ranges.balloon_drop_mb, seed, "balloon_drop_mb");
    Params {
        disk_mb: pick(ranges.disk_mb, seed, "disk_mb"),
        memory_mb,
        balloon_mb: memory_mb - drop,
        cpus: pick(ranges.cpus, seed, "cpus"),
        max_cpus: ranges.max_cpus,
        add_cpus: pick(ranges.add_cpus, seed, "add_cpus"),
        guest_port: port(pick(ranges.guest_port, seed, "guest_port")),
        host_port: port(pick(ranges.host_port, seed, "host_port")),
    }
}

/// `min + k * step` for a uniform `k`; each name has its own generator, so adding a
/// parameter keeps the others' values.
fn pick(range: Range, seed: u64, name: &str) -> u32 {
    let steps = (range.max - range.min) / range.step;
    let k = Rng::for_param(seed, name).range(0, i64::from(steps));
    range.min + range.step * k as u32
}

/// Validation keeps ports within 1..=65535.
fn port(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

/// A host port kept for one run: other graders on this machine skip it until it is
/// dropped (two runs with the same seed draw the same port, and nothing listens on it
/// until their QEMU starts).
#[derive(Debug)]
pub struct PortReservation {
    /// The port.
    pub port: u16,
    file: PathBuf,
}

impl Drop for PortReservation {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// The drawn port if nothing listens on it and no other run holds it, else the next such
/// one in the range (wrapping); `None` after [`PORT_TRIES`] ports. QEMU's `hostfwd`
/// binds every address, so that is what is probed.
pub fn reserve_port(drawn: u16, range: Range, dir: &Path) -> Option<PortReservation> {
    sweep_reservations(dir);
    let span = range.max - range.min + 1;
    (0..PORT_TRIES.min(span))
        .map(|i| port(range.min + (u32::from(drawn) - range.min + i) % span))
        .filter(|&p| TcpListener::bind((Ipv4Addr::UNSPECIFIED, p)).is_ok())
        .find_map(|p| claim(p, dir))
}

/// Creates `dir/grader-lab7-port-P` holding our pid; one left by a dead process is
/// taken over.
fn claim(port: u16, dir: &Path) -> Option<PortReservation> {
    let file = dir.join(format!("{PORT_FILE_PREFIX}{port}"));
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
        {
            Ok(mut f) => {
                let _ = write!(f, "{}", std::process::id());
                return Some(PortReservation { port, file });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !stale(&file) {
                    return None;
                }
                let _ = std::fs::remove_file(&file);
            }
            Err(_) => return None,
        }
    }
    None
}

/// A reservation whose owner is gone (a grader killed before its drop ran). An empty
/// file is a claim being written, not stale; pid 0 is nobody's.
fn stale(file: &Path) -> bool {
    let Ok(owner) = std::fs::read_to_string(file) else {
        return false;
    };
    let pid = owner.trim().parse::<u32>().ok();
    let alive = pid.is_some_and(|pid| pid != 0 && Path::new(&format!("/proc/{pid}")).exists());
    !owner.trim().is_empty() && !alive
}

/// Removes the stale reservations of `dir`, so that they do not pile up.
fn sweep_reservations(dir: &Path) {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    for entry in entries.filter(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with(PORT_FILE_PREFIX)
    }) {
        if stale(&entry.path()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Params {
    /// `DISK_SIZE` as `qemu-img create` reads it.
    pub fn disk_size(&self) -> String {
        format!("{}M", self.disk_mb)
    }

    /// The disk's expected virtual size.
    pub fn disk_bytes(&self) -> u64 {
        u64::from(self.disk_mb) << 20
    }

    /// vCPUs once the hot-plug is done.
    pub fn target_cpus(&self) -> u32 {
        self.cpus + self.add_cpus
    }

    /// The variables every script gets (the paths are added by the run).
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DISK_SIZE", self.disk_size()),
            ("MEMORY", self.memory_mb.to_string()),
            ("BALLOON", self.balloon_mb.to_string()),
            ("CPUS", self.cpus.to_string()),
            ("MAXCPUS", self.max_cpus.to_string()),
            ("ADD_CPUS", self.add_cpus.to_string()),
            ("HOST_PORT", self.host_port.to_string()),
            ("GUEST_PORT", self.guest_port.to_string()),
        ]
    }

    /// The report's `params`.
    pub fn report(&self) -> BTreeMap<String, String> {
        self.vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges() -> ParamRanges {
        let r = |min, max, step| Range { min, max, step };
        ParamRanges {
            disk_mb: r(64, 512, 16),
            memory_mb: r(256, 384, 64),
            balloon_drop_mb: r(64, 128, 16),
            cpus: r(1, 2, 1),
            max_cpus: 4,
            add_cpus: r(1, 2, 1),
            guest_port: r(8000, 8999, 1),
            host_port: r(20000, 59999, 1),
        }
    }

    #[test]
    fn draws_are_replayable_and_within_ranges() {
        let a = draw(&ranges(), 7);
        assert_eq!(a, draw(&ranges(), 7));
        let all: Vec<Params> = (0..200).map(|s| draw(&ranges(), s)).collect();
        for p in &all {
            assert!(
                (64..=512).contains(&p.disk_mb) && p.disk_mb % 16 == 0,
                "{p:?}"
            );
            assert!([256, 320, 384].contains(&p.memory_mb), "{p:?}");
            assert!(
                p.memory_mb - p.balloon_mb >= 64 && p.memory_mb - p.balloon_mb <= 128,
                "{p:?}"
            );
            assert!(p.target_cpus() <= p.max_cpus, "{p:?}");
        }
        assert!(
            all.iter().any(|p| p.disk_mb != a.disk_mb),
            "another seed, another size"
        );
        assert!(all.iter().any(|p| p.add_cpus == 2) && all.iter().any(|p| p.add_cpus == 1));
        assert_eq!(a.disk_size(), format!("{}M", a.disk_mb));
        assert_eq!(a.disk_bytes(), u64::from(a.disk_mb) * 1024 * 1024);
    }

    #[test]
    fn a_taken_or_reserved_host_port_moves_to_a_free_one() {
        let dir =
            crate::image::scratch::ScratchDir::new(&std::env::temp_dir(), "grader-port-test-")
                .unwrap();
        let taken = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let p = taken.local_addr().unwrap().port();
        let range = Range {
            min: u32::from(p),
            max: u32::from(p) + 50,
            step: 1,
        };
        let first = reserve_port(p, range, dir.path()).unwrap();
        assert_ne!(first.port, p, "a port something listens on is skipped");
        assert!(u32::from(first.port) <= range.max);
        let second = reserve_port(first.port, range, dir.path()).unwrap();
        assert_ne!(
            second.port, first.port,
            "a port another run holds is skipped"
        );
        let again = first.port;
        drop(first);
        assert_eq!(
            reserve_port(again, range, dir.path()).unwrap().port,
            again,
            "released on drop"
        );
        let next = second.port + 1;
        std::fs::write(dir.path().join(format!("{PORT_FILE_PREFIX}{next}")), "0").unwrap();
        let stale = reserve_port(next, range, dir.path()).unwrap();
        assert_eq!(stale.port, next, "a dead owner's reservation is taken over");
        let single = Range {
            min: u32::from(p),
            max: u32::from(p),
            step: 1,
        };
        assert!(reserve_port(p, single, dir.path()).is_none());
    }
}
