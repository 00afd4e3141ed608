//! Snapshots of the guest at the instant its agent waits for a job, so that every grading
//! starts a fresh VM from it in a fraction of a cold boot.
//!
//! A snapshot is two files: `ram`, the guest's whole memory (QEMU's RAM backed by that
//! file, mapped shared while it is made), and `state`, QEMU's migration stream of the
//! devices and CPU, without the RAM (`x-ignore-shared`). A restore maps `ram` private —
//! pages are read lazily from the page cache and the guest's writes stay its own, so any
//! number of guests restore one snapshot at once and none of them changes it — then loads
//! `state` (`-incoming defer` + `migrate-incoming`). The guest holds no state of any run
//! (the agent has not received a job yet): each submission still gets a fresh machine.
//!
//! Snapshots live in `<root>/<key>/` with `meta.json`; the key is a SHA-256 of everything
//! a restore depends on: the image hash (which covers the agent), `qemu --version`, the
//! machine line, the memory size and the accelerator. A directory is built in a scratch
//! directory and renamed into place under a lock, so concurrent graders never see half a
//! snapshot and never build one twice.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::qemu::{self, Boot, LiveGuest, QemuError, QemuOptions};
use crate::image::scratch::{self, ScratchDir};
use crate::image::Image;
use crate::protocol::{AgentEvent, BootTimes};

/// Bump when snapshots are made differently, to invalidate the cached ones.
pub const SNAPSHOT_LAYOUT: u32 = 1;
/// The guest's memory, in the snapshot directory.
const RAM_FILE: &str = "ram";
/// The device state, in the snapshot directory.
const STATE_FILE: &str = "state";
/// What the snapshot is, in the snapshot directory.
const META_FILE: &str = "meta.json";
/// Scratch directories of snapshot builds, in the snapshots directory.
const BUILD_PREFIX: &str = ".build-";
/// Snapshot directories being deleted.
const TRASH_PREFIX: &str = ".trash-";
/// After `ready`, the agent is blocked reading its port within microseconds; the pause
/// lets the kernel finish deferred boot work so the snapshot is of an idle guest.
const SETTLE: Duration = Duration::from_millis(200);
/// Saving the device state takes well under a second.
const SAVE_DEADLINE: Duration = Duration::from_secs(60);

/// `meta.json`: what a snapshot was made from and of.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// [`SNAPSHOT_LAYOUT`].
    pub layout: u32,
    /// The key (the directory's name).
    pub key: String,
    /// The guest image's hash.
    pub image_hash: String,
    /// First line of `qemu-system-x86_64 --version`.
    pub qemu_version: String,
    /// The machine line restores must repeat.
    pub machine: String,
    /// Guest RAM, MiB.
    pub memory_mb: u32,
    /// Hex SHA-256 of `state`, checked before every restore.
    pub state_sha256: String,
    /// Size of `state`.
    pub state_bytes: u64,
    /// Apparent size of `ram` (the guest's memory size).
    pub ram_bytes: u64,
    /// Bytes `ram` occupies on disk (it is sparse).
    pub ram_disk_bytes: u64,
    /// The guest kernel's boot id, which a restored guest still has.
    pub boot_id: String,
    /// From QEMU's spawn to the agent's `ready`, while making it.
    pub boot_ms: u64,
    /// Saving the device state.
    pub save_ms: u64,
    /// When it was made (seconds since the epoch).
    pub built_unix: u64,
}

/// A complete snapshot on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Its directory.
    pub dir: PathBuf,
    /// Its `meta.json`.
    pub meta: SnapshotMeta,
}

impl Snapshot {
    /// The RAM file.
    pub fn ram(&self) -> PathBuf {
        self.dir.join(RAM_FILE)
    }

    /// The device state.
    pub fn state(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Checks the device state against its checksum and the RAM file's size (the cheap
    /// part of the snapshot is hashed, the 256 MiB of RAM are not).
    pub fn verify(&self) -> Result<(), String> {
        let state = std::fs::read(self.state())
            .map_err(|e| format!("{} is unreadable: {e}", self.state().display()))?;
        if hex(&Sha256::digest(&state)) != self.meta.state_sha256 {
            return Err(format!(
                "{} is corrupt (its checksum differs from meta.json)",
                self.state().display()
            ));
        }
        let ram = std::fs::metadata(self.ram())
            .map_err(|e| format!("{} is unreadable: {e}", self.ram().display()))?;
        if ram.len() != self.meta.ram_bytes {
            return Err(format!(
                "{} is {} bytes, meta.json says {}",
                self.ram().display(),
                ram.len(),
                self.meta.ram_bytes
            ));
        }
        Ok(())
    }
}

/// Failures to make a snapshot (a grading then boots cold).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A file or directory could not be written or read.
    #[error("failed to write or read {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// QEMU failed.
    #[error("failed to run the guest to snapshot it")]
    Qemu(#[from] QemuError),
    /// The guest never said `ready`.
    #[error("failed to snapshot the guest: its agent never said ready within {secs} s{tail}")]
    NotReady {
        /// The deadline.
        secs: u64,
        /// The console's end.
        tail: String,
    },
    /// The migration did not complete.
    #[error("failed to save the guest's state: {0}")]
    Save(String),
}

/// Where snapshots of one image, for one machine line, live: everything but the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotStore {
    /// The directory holding one subdirectory per key.
    pub root: PathBuf,
    /// The key of snapshots usable with this image, QEMU and machine line.
    pub key: String,
    /// The image.
    pub image: Image,
    /// Memory and accelerator; the deadline bounds a build's boot.
    pub opts: QemuOptions,
    /// `qemu --version`.
    pub qemu_version: String,
    /// The machine line, as text (with the RAM file's path left out).
    pub machine: String,
}

/// What [`SnapshotStore::lookup`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A complete snapshot for the current key.
    Ready(Snapshot),
    /// None for the current key.
    Missing,
    /// One for the current key whose `meta.json` disagrees with the key: why.
    Stale(String),
}

impl SnapshotStore {
    /// The store for `image` run with `opts`, under `root`.
    pub fn new(root: &Path, image: &Image, opts: &QemuOptions) -> Result<Self, QemuError> {
        let qemu_version = qemu::qemu_version()?;
        let placeholder = Path::new("<snapshot>/ram");
        let line = qemu::machine_line(image, opts, Some((placeholder, false)));
        let machine: Vec<String> = line
            .as_args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let machine = machine.join(" ");
        let mut hasher = Sha256::new();
        for part in [
            format!("snapshot layout {SNAPSHOT_LAYOUT}"),
            format!("image {}", image.hash),
            format!("qemu {qemu_version}"),
            format!("machine {machine}"),
            format!("memory {}", opts.memory_mb),
            format!("accel {:?}", opts.accel),
        ] {
            hasher.update(format!("{} {part}\n", part.len()));
        }
        Ok(SnapshotStore {
            root: root.to_owned(),
            key: hex(&hasher.finalize()),
            image: image.clone(),
            opts: opts.clone(),
            qemu_version,
            machine,
        })
    }

    /// The directory of the current key's snapshot.
    pub fn dir(&self) -> PathBuf {
        self.root.join(&self.key)
    }

    /// What is on disk for the current key (cheap: `meta.json` and two `stat`s).
    pub fn lookup(&self) -> Lookup {
        let dir = self.dir();
        let Ok(text) = std::fs::read(dir.join(META_FILE)) else {
            return Lookup::Missing;
        };
        let meta: SnapshotMeta = match serde_json::from_slice(&text) {
            Ok(meta) => meta,
            Err(e) => return Lookup::Stale(format!("its meta.json is unreadable: {e}")),
        };
        let mismatch = [
            (meta.layout != SNAPSHOT_LAYOUT, "layout"),
            (meta.key != self.key, "key"),
            (meta.image_hash != self.image.hash, "image"),
            (meta.qemu_version != self.qemu_version, "QEMU version"),
            (meta.machine != self.machine, "machine line"),
            (meta.memory_mb != self.opts.memory_mb, "memory size"),
        ];
        if let Some((_, what)) = mismatch.iter().find(|(differs, _)| *differs) {
            return Lookup::Stale(format!("it was made for another {what}"));
        }
        if !dir.join(RAM_FILE).is_file() || !dir.join(STATE_FILE).is_file() {
            return Lookup::Stale("a file of it is missing".into());
        }
        Lookup::Ready(Snapshot { dir, meta })
    }

    /// The current key's snapshot, made now if it is missing or stale (`log` hears why).
    /// Another grader making it at the same time is waited for, not repeated.
    pub fn ensure(&self, log: &mut dyn Write) -> Result<Snapshot, SnapshotError> {
        if let Lookup::Ready(s) = self.lookup() {
            return Ok(s);
        }
        let _lock = self.lock(true)?.expect("a blocking lock is always taken");
        let why = match self.lookup() {
            Lookup::Ready(s) => return Ok(s),
            Lookup::Missing => "none for this image, QEMU and machine yet".to_owned(),
            Lookup::Stale(why) => why,
        };
        let _ = writeln!(log, "snapshot: making the guest snapshot ({why})");
        self.discard();
        self.build()
    }

    /// Makes the snapshot again unless another grader is already doing it (then `None`).
    pub fn rebuild(&self) -> Result<Option<Snapshot>, SnapshotError> {
        let Some(_lock) = self.lock(false)? else {
            return Ok(None);
        };
        self.discard();
        self.build().map(Some)
    }

    /// Deletes the current key's snapshot; guests restoring it keep their mappings.
    /// Snapshots of other keys are left alone: another course sharing the image (another
    /// memory size) may be using them; they go with their image directory when it is
    /// pruned.
    pub fn discard(&self) {
        scratch::sweep(&self.root, BUILD_PREFIX);
        scratch::sweep(&self.root, TRASH_PREFIX);
        if !self.dir().exists() {
            return;
        }
        if let Ok(trash) = ScratchDir::new(&self.root, TRASH_PREFIX) {
            // Renamed first: a reader sees the whole snapshot or none; the trash
            // directory is deleted when `trash` drops.
            let _ = std::fs::rename(self.dir(), trash.path().join("old"));
        }
    }

    /// `<root>/<key>.lock`, exclusively: blocking, or `None` when it is taken.
    fn lock(&self, block: bool) -> Result<Option<File>, SnapshotError> {
        std::fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        let path = self.root.join(format!("{}.lock", self.key));
        let file = File::create(&path).map_err(io_err(&path))?;
        let op = if block {
            libc::LOCK_EX
        } else {
            libc::LOCK_EX | libc::LOCK_NB
        };
        // SAFETY: flock on a descriptor we own; the lock goes with the file.
        if unsafe { libc::flock(file.as_raw_fd(), op) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Ok(None);
            }
            return Err(io_err(&path)(err));
        }
        Ok(Some(file))
    }

    /// Boots the guest with its RAM in a file, waits for `ready`, saves the device state,
    /// and publishes the directory.
    fn build(&self) -> Result<Snapshot, SnapshotError> {
        let work = ScratchDir::new(&self.root, BUILD_PREFIX).map_err(io_err(&self.root))?;
        let (ram, state) = (work.path().join(RAM_FILE), work.path().join(STATE_FILE));
        let mut guest = LiveGuest::spawn(
            &self.image,
            Boot::ToSnapshot { ram: &ram },
            None,
            &self.opts,
        )?;
        let deadline = guest.spawned + self.opts.deadline;
        let marks = guest.channel().wait_for(deadline, |m| m.ready.is_some());
        let Some(ready) = marks.ready else {
            let run = guest.finish(Instant::now(), None)?;
            let lines: Vec<&str> = run
                .console
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect();
            let tail = lines[lines.len().saturating_sub(6)..].join(" | ");
            return Err(SnapshotError::NotReady {
                secs: self.opts.deadline.as_secs(),
                tail: if tail.is_empty() {
                    String::new()
                } else {
                    format!("; last output: {tail}")
                },
            });
        };
        std::thread::sleep(SETTLE);
        let saving = Instant::now();
        save_state(&mut guest, &state)?;
        let save_ms = saving.elapsed().as_millis() as u64;
        if let Some(qmp) = guest.qmp() {
            // QEMU exits on `quit`: a closed connection is the expected answer.
            let _ = qmp.execute("quit", None);
        }
        let run = guest.finish(Instant::now() + SAVE_DEADLINE, None)?;
        let boot = crate::protocol::parse_events(&run.results)
            .into_iter()
            .find_map(|e| match e {
                AgentEvent::Ready(times) => Some(times),
                _ => None,
            })
            .unwrap_or_else(BootTimes::default);
        let meta = self.meta(&ram, &state, &boot, ready, save_ms)?;
        let meta_path = work.path().join(META_FILE);
        let text = serde_json::to_vec_pretty(&meta).expect("meta serializes");
        std::fs::write(&meta_path, text).map_err(io_err(&meta_path))?;
        let target = self.dir();
        work.publish(&target).map_err(io_err(&target))?;
        match self.lookup() {
            Lookup::Ready(s) => Ok(s),
            _ => Err(SnapshotError::Save(format!(
                "{} is incomplete after publishing",
                target.display()
            ))),
        }
    }

    fn meta(
        &self,
        ram: &Path,
        state: &Path,
        boot: &BootTimes,
        ready: Duration,
        save_ms: u64,
    ) -> Result<SnapshotMeta, SnapshotError> {
        use std::os::unix::fs::MetadataExt;
        let state_bytes = std::fs::read(state).map_err(io_err(state))?;
        let ram_meta = std::fs::metadata(ram).map_err(io_err(ram))?;
        Ok(SnapshotMeta {
            layout: SNAPSHOT_LAYOUT,
            key: self.key.clone(),
            image_hash: self.image.hash.clone(),
            qemu_version: self.qemu_version.clone(),
            machine: self.machine.clone(),
            memory_mb: self.opts.memory_mb,
            state_sha256: hex(&Sha256::digest(&state_bytes)),
            state_bytes: state_bytes.len() as u64,
            ram_bytes: ram_meta.len(),
            ram_disk_bytes: ram_meta.blocks() * 512,
            boot_id: boot.boot_id.clone(),
            boot_ms: ready.as_millis() as u64,
            save_ms,
            built_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        })
    }
}

/// One line saying what is on disk for the store's key, for people.
pub fn describe(store: &SnapshotStore) -> String {
    let short = &store.key[..12];
    match store.lookup() {
        Lookup::Ready(s) => format!(
            "snapshot: ready ({short}, {}): state {} KiB, RAM {} MiB on disk of {} MiB, made in {:.1} s",
            s.dir.display(),
            s.meta.state_bytes >> 10,
            s.meta.ram_disk_bytes >> 20,
            s.meta.ram_bytes >> 20,
            (s.meta.boot_ms + s.meta.save_ms) as f64 / 1000.0
        ),
        Lookup::Missing => format!(
            "snapshot: not made yet for {short} in {} (made on first use, or by `cargo grader image build`)",
            store.root.display()
        ),
        Lookup::Stale(why) => format!("snapshot: stale ({why}); made again on first use"),
    }
}

/// Migrates the running guest's device state into `state` (its RAM is the shared file
/// and is left out), waiting for the migration to complete; the guest is stopped then.
fn save_state(guest: &mut LiveGuest, state: &Path) -> Result<(), SnapshotError> {
    let quoted = format!("'{}'", state.display().to_string().replace('\'', r"'\''"));
    let qmp = guest.qmp().expect("a snapshot guest has QMP");
    let caps = serde_json::json!({"capabilities": [
        {"capability": "x-ignore-shared", "state": true}
    ]});
    let save = |e: crate::qmp::QmpError| SnapshotError::Save(crate::errors::error_chain(&e));
    qmp.execute("migrate-set-capabilities", Some(caps))
        .map_err(save)?;
    let uri = serde_json::json!({ "uri": format!("exec:cat > {quoted}") });
    qmp.execute("migrate", Some(uri)).map_err(save)?;
    let until = Instant::now() + SAVE_DEADLINE;
    loop {
        let info = qmp.execute("query-migrate", None).map_err(save)?;
        match info.get("status").and_then(|s| s.as_str()) {
            Some("completed") => return Ok(()),
            Some("failed") | Some("cancelled") => {
                let why = info.get("error-desc").and_then(|d| d.as_str());
                return Err(SnapshotError::Save(
                    why.unwrap_or("migration failed").into(),
                ));
            }
            _ if Instant::now() >= until => {
                return Err(SnapshotError::Save(format!(
                    "the migration did not complete within {} s",
                    SAVE_DEADLINE.as_secs()
                )))
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::qemu::Accel;

    fn store(root: &Path) -> SnapshotStore {
        let image = Image {
            kernel: "/k".into(),
            initrd: "/i".into(),
            hash: "h".repeat(64),
        };
        let opts = QemuOptions {
            memory_mb: 256,
            deadline: Duration::from_secs(1),
            accel: Accel::Tcg,
            vcpus: 2,
        };
        SnapshotStore {
            root: root.to_owned(),
            key: "a".repeat(64),
            machine: "-M pc".into(),
            qemu_version: "QEMU emulator version 7.2".into(),
            image,
            opts,
        }
    }

    fn publish(store: &SnapshotStore, meta: &SnapshotMeta, state: &[u8]) {
        let dir = store.dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(STATE_FILE), state).unwrap();
        let ram = File::create(dir.join(RAM_FILE)).unwrap();
        ram.set_len(meta.ram_bytes).unwrap();
        std::fs::write(dir.join(META_FILE), serde_json::to_vec(meta).unwrap()).unwrap();
    }

    fn meta(store: &SnapshotStore, state: &[u8]) -> SnapshotMeta {
        SnapshotMeta {
            layout: SNAPSHOT_LAYOUT,
            key: store.key.clone(),
            image_hash: store.image.hash.clone(),
            qemu_version: store.qemu_version.clone(),
            machine: store.machine.clone(),
            memory_mb: 256,
            state_sha256: hex(&Sha256::digest(state)),
            state_bytes: state.len() as u64,
            ram_bytes: 4096,
            ram_disk_bytes: 0,
            boot_id: "b".into(),
            boot_ms: 1,
            save_ms: 1,
            built_unix: 0,
        }
    }

    #[test]
    fn lookup_tells_ready_stale_and_missing_apart_and_verify_catches_corruption() {
        let root = ScratchDir::new(&std::env::temp_dir(), "grader-snapshot-test-").unwrap();
        let store = store(root.path());
        assert_eq!(store.lookup(), Lookup::Missing);
        let good = meta(&store, b"state");
        publish(&store, &good, b"state");
        let Lookup::Ready(snapshot) = store.lookup() else {
            panic!("{:?}", store.lookup())
        };
        snapshot.verify().unwrap();
        std::fs::write(snapshot.state(), b"stat3").unwrap();
        let err = snapshot.verify().unwrap_err();
        assert!(err.contains("corrupt"), "{err}");
        let other_qemu = SnapshotMeta {
            qemu_version: "QEMU emulator version 8.0".into(),
            ..good
        };
        publish(&store, &other_qemu, b"state");
        assert_eq!(
            store.lookup(),
            Lookup::Stale("it was made for another QEMU version".into())
        );
        store.discard();
        assert_eq!(store.lookup(), Lookup::Missing);
    }

    #[test]
    fn a_held_lock_makes_rebuild_step_aside() {
        let root = ScratchDir::new(&std::env::temp_dir(), "grader-snapshot-lock-").unwrap();
        let store = store(root.path());
        let held = store.lock(true).unwrap();
        assert!(held.is_some());
        // flock locks belong to the open file: a second open is a second owner.
        assert!(store.lock(false).unwrap().is_none());
        assert_eq!(store.rebuild().unwrap(), None);
        drop(held);
        assert!(store.lock(false).unwrap().is_some());
    }
}
