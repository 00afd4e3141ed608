//! A QMP client: QEMU's JSON monitor over a unix socket, with a deadline on every read,
//! asynchronous events set aside, and typed answers for the queries lab 7 checks.
//!
//! The wire format: QEMU greets with `{"QMP": …}`, the client sends `qmp_capabilities`,
//! then each command is one JSON object (`{"execute": …, "arguments": …, "id": …}`) and
//! each answer one JSON object on its own line (`{"return": …}` or `{"error": {"class",
//! "desc"}}`, carrying the command's `id`). Events (`{"event": …}`) may arrive at any
//! time, between or before answers.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// Largest message accepted; QMP answers of lab 7 are a few KiB.
const MAX_MESSAGE: usize = 1 << 20;

/// Failures to talk QMP. A command QEMU refuses is [`QmpError::Command`].
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    /// The socket could not be connected.
    #[error("failed to connect to the QMP socket {path}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("failed to exchange messages with QMP")]
    Io(#[source] std::io::Error),
    /// No complete message arrived in time.
    #[error("failed to get a QMP message within {0:?}")]
    Timeout(Duration),
    /// QEMU closed the connection (it exited).
    #[error("failed to read from QMP: QEMU closed the connection")]
    Closed,
    /// A message that is not what QMP sends.
    #[error("failed to understand the QMP message {message:?}: {why}")]
    Protocol {
        /// The message (truncated).
        message: String,
        /// What is wrong with it.
        why: String,
    },
    /// QEMU answered the command with an error.
    #[error("failed to run the QMP command {command}: {class}: {desc}")]
    Command {
        /// The command.
        command: String,
        /// QMP's error class (`CommandNotFound`, `DeviceNotActive`, `GenericError`…).
        class: String,
        /// QMP's description.
        desc: String,
    },
}

/// A connected, negotiated QMP session.
#[derive(Debug)]
pub struct Qmp {
    stream: UnixStream,
    /// Bytes read after the last complete line.
    pending: Vec<u8>,
    next_id: u64,
    events: Vec<Value>,
    timeout: Duration,
    greeting: Value,
}

/// One entry of `query-hotpluggable-cpus`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HotpluggableCpu {
    /// The device driver to `device_add` (`qemu64-x86_64-cpu`).
    #[serde(rename = "type")]
    pub driver: String,
    /// The slot's topology ids.
    pub props: CpuProps,
    /// Set when a CPU occupies the slot.
    #[serde(rename = "qom-path")]
    pub qom_path: Option<String>,
}

/// Topology ids of a CPU slot (absent ids do not apply to the machine).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CpuProps {
    /// `socket-id`.
    #[serde(rename = "socket-id")]
    pub socket_id: Option<i64>,
    /// `die-id`.
    #[serde(rename = "die-id")]
    pub die_id: Option<i64>,
    /// `core-id`.
    #[serde(rename = "core-id")]
    pub core_id: Option<i64>,
    /// `thread-id`.
    #[serde(rename = "thread-id")]
    pub thread_id: Option<i64>,
}

impl HotpluggableCpu {
    /// The HMP command that plugs a CPU into this slot, with the given device id.
    pub fn device_add(&self, id: &str) -> String {
        let mut line = format!("device_add driver={}", self.driver);
        let p = &self.props;
        for (name, value) in [
            ("socket-id", p.socket_id),
            ("die-id", p.die_id),
            ("core-id", p.core_id),
            ("thread-id", p.thread_id),
        ] {
            if let Some(v) = value {
                line.push_str(&format!(",{name}={v}"));
            }
        }
        line.push_str(&format!(",id={id}"));
        line
    }
}

/// One entry of `query-cpus-fast`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CpuInfo {
    /// QEMU's index of the vCPU.
    #[serde(rename = "cpu-index")]
    pub cpu_index: i64,
    /// Its QOM path (`/machine/peripheral/cpu1` for a `device_add`-ed one).
    #[serde(rename = "qom-path")]
    pub qom_path: String,
}

/// `query-status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunStatus {
    /// Whether guest code runs.
    pub running: bool,
    /// `running`, `paused`, `shutdown`, …
    pub status: String,
}

/// One entry of `query-block`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockInfo {
    /// The drive's id (`virtio0`, `ide0-hd0`, …; empty for `-blockdev`).
    pub device: String,
    /// The medium, when one is inserted.
    pub inserted: Option<BlockInserted>,
}

/// The medium of a [`BlockInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockInserted {
    /// The image file.
    pub file: String,
    /// The format driver (`qcow2`, `raw`).
    pub drv: String,
}

impl Qmp {
    /// Connects to `path` (one attempt) and negotiates; every read waits at most `timeout`.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let stream = UnixStream::connect(path).map_err(|source| QmpError::Connect {
            path: path.to_owned(),
            source,
        })?;
        Qmp::handshake(stream, timeout)
    }

    /// Reads the greeting from a connected stream and sends `qmp_capabilities`.
    pub fn handshake(stream: UnixStream, timeout: Duration) -> Result<Qmp, QmpError> {
        let mut qmp = Qmp {
            stream,
            pending: Vec::new(),
            next_id: 1,
            events: Vec::new(),
            timeout,
            greeting: Value::Null,
        };
        let greeting = qmp.read_message(Instant::now() + timeout)?;
        if greeting.get("QMP").is_none() {
            return Err(protocol_error(
                &greeting,
                "expected the {\"QMP\": …} greeting",
            ));
        }
        qmp.greeting = greeting;
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    /// The greeting (QEMU's version is in `QMP.version.qemu`).
    pub fn greeting(&self) -> &Value {
        &self.greeting
    }

    /// Events received so far, oldest first.
    pub fn events(&self) -> &[Value] {
        &self.events
    }

    /// Runs a command and returns its `return` value; events read meanwhile are kept.
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "execute": command, "id": id });
        if let Some(arguments) = arguments {
            message["arguments"] = arguments;
        }
        let mut line = message.to_string();
        line.push('\n');
        self.stream
            .write_all(line.as_bytes())
            .map_err(write_error)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let reply = self.read_message(deadline)?;
            if reply.get("event").is_some() {
                self.events.push(reply);
                continue;
            }
            if reply.get("id") != Some(&json!(id)) {
                // An answer to nobody's question (none is outstanding): not ours to use.
                continue;
            }
            return answer(command, reply);
        }
    }

    /// Runs a command and deserializes its answer.
    fn query<T: DeserializeOwned>(&mut self, command: &str) -> Result<T, QmpError> {
        let value = self.execute(command, None)?;
        serde_json::from_value(value.clone()).map_err(|e| protocol_error(&value, &e.to_string()))
    }

    /// `query-hotpluggable-cpus`: every CPU slot, occupied or free.
    pub fn hotpluggable_cpus(&mut self) -> Result<Vec<HotpluggableCpu>, QmpError> {
        self.query("query-hotpluggable-cpus")
    }

    /// `query-cpus-fast`: the vCPUs that exist.
    pub fn cpus(&mut self) -> Result<Vec<CpuInfo>, QmpError> {
        self.query("query-cpus-fast")
    }

    /// `query-balloon`: the guest's memory as the balloon sees it, in bytes.
    pub fn balloon_bytes(&mut self) -> Result<u64, QmpError> {
        #[derive(Deserialize)]
        struct Balloon {
            actual: u64,
        }
        Ok(self.query::<Balloon>("query-balloon")?.actual)
    }

    /// `query-status`.
    pub fn status(&mut self) -> Result<RunStatus, QmpError> {
        self.query("query-status")
    }

    /// `query-block`: the drives and their media.
    pub fn blocks(&mut self) -> Result<Vec<BlockInfo>, QmpError> {
        self.query("query-block")
    }

    /// `query-memory-size-summary`: the RAM the VM was started with, in bytes.
    pub fn base_memory(&mut self) -> Result<u64, QmpError> {
        #[derive(Deserialize)]
        struct Summary {
            #[serde(rename = "base-memory")]
            base_memory: u64,
        }
        Ok(self
            .query::<Summary>("query-memory-size-summary")?
            .base_memory)
    }

    /// The next complete JSON line, waiting until `deadline` at most.
    fn read_message(&mut self, deadline: Instant) -> Result<Value, QmpError> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                if text.trim().is_empty() {
                    continue;
                }
                return serde_json::from_str(text.trim()).map_err(|e| QmpError::Protocol {
                    message: truncate(&text),
                    why: e.to_string(),
                });
            }
            if self.pending.len() > MAX_MESSAGE {
                let message = truncate(&String::from_utf8_lossy(&self.pending));
                return Err(QmpError::Protocol {
                    message,
                    why: format!("longer than {MAX_MESSAGE} bytes"),
                });
            }
            self.fill(deadline)?;
        }
    }

    /// Reads whatever is available into `pending`.
    fn fill(&mut self, deadline: Instant) -> Result<(), QmpError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(QmpError::Timeout(self.timeout));
        }
        self.stream
            .set_read_timeout(Some(left))
            .map_err(QmpError::Io)?;
        let mut buf = [0u8; 4096];
        match self.stream.read(&mut buf) {
            Ok(0) => Err(QmpError::Closed),
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err(QmpError::Timeout(self.timeout))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Err(QmpError::Closed),
            Err(e) => Err(QmpError::Io(e)),
        }
    }
}

/// A peer that went away while we wrote is QEMU having exited.
fn write_error(e: std::io::Error) -> QmpError {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => QmpError::Closed,
        _ => QmpError::Io(e),
    }
}

/// `{"return": X}` → X; `{"error": …}` → [`QmpError::Command`].
fn answer(command: &str, reply: Value) -> Result<Value, QmpError> {
    if let Some(value) = reply.get("return") {
        return Ok(value.clone());
    }
    match reply.get("error") {
        Some(error) => Err(QmpError::Command {
            command: command.to_owned(),
            class: error
                .get("class")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            desc: error
                .get("desc")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        }),
        None => Err(protocol_error(&reply, "neither `return` nor `error`")),
    }
}

fn protocol_error(value: &Value, why: &str) -> QmpError {
    QmpError::Protocol {
        message: truncate(&value.to_string()),
        why: why.to_owned(),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixListener;

    const GREETING: &str = r#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}"#;

    /// A fake QEMU: greets, then answers each command with `reply(command, id)`, split
    /// in two writes and preceded by an event, as the real one may do.
    fn fake_qemu(
        reply: fn(&str, &Value) -> Option<String>,
    ) -> (PathBuf, std::thread::JoinHandle<Vec<String>>) {
        let dir =
            std::env::temp_dir().join(format!("grader-qmp-test-{}-{}", std::process::id(), next()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("qmp.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            writeln!(stream, "{GREETING}\r").unwrap();
            let mut seen = Vec::new();
            let mut lines = BufReader::new(stream.try_clone().unwrap()).lines();
            while let Some(Ok(line)) = lines.next() {
                let msg: Value = serde_json::from_str(&line).unwrap();
                let command = msg["execute"].as_str().unwrap().to_string();
                seen.push(command.clone());
                let Some(text) = reply(&command, &msg["id"]) else {
                    break;
                };
                writeln!(
                    stream,
                    r#"{{"event": "BALLOON_CHANGE", "data": {{"actual": 1}}}}"#
                )
                .unwrap();
                let (a, b) = text.split_at(text.len() / 2);
                stream.write_all(a.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(5));
                writeln!(stream, "{b}\r").unwrap();
            }
            seen
        });
        (path, handle)
    }

    fn next() -> usize {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    fn scripted(command: &str, id: &Value) -> Option<String> {
        let ret = match command {
            "qmp_capabilities" => json!({}),
            "query-balloon" => json!({"actual": 268435456u64}),
            "query-hotpluggable-cpus" => json!([
                {"props": {"core-id": 1, "thread-id": 0, "socket-id": 0}, "vcpus-count": 1, "type": "qemu64-x86_64-cpu"},
                {"props": {"core-id": 0, "thread-id": 0, "socket-id": 0}, "vcpus-count": 1, "qom-path": "/machine/unattached/device[0]", "type": "qemu64-x86_64-cpu"}
            ]),
            "cpu-add" => {
                return Some(json!({"id": id, "error": {"class": "CommandNotFound", "desc": "The command cpu-add has not been found"}}).to_string())
            }
            "quit" => return None,
            _ => json!(null),
        };
        Some(json!({"id": id, "return": ret}).to_string())
    }

    #[test]
    fn commands_get_their_answers_and_events_are_kept() {
        let (path, server) = fake_qemu(scripted);
        let mut qmp = Qmp::connect(&path, Duration::from_secs(5)).unwrap();
        assert_eq!(qmp.greeting()["QMP"]["version"]["qemu"]["major"], 7);
        assert_eq!(qmp.balloon_bytes().unwrap(), 256 << 20);
        let slots = qmp.hotpluggable_cpus().unwrap();
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[0].qom_path, None);
        assert_eq!(
            slots[0].device_add("cpu1"),
            "device_add driver=qemu64-x86_64-cpu,socket-id=0,core-id=1,thread-id=0,id=cpu1"
        );
        let err = qmp.execute("cpu-add", Some(json!({"id": 1}))).unwrap_err();
        assert!(
            matches!(&err, QmpError::Command { class, .. } if class == "CommandNotFound"),
            "{err}"
        );
        assert_eq!(qmp.events().len(), 4, "one event before each answer");
        let closed = qmp.execute("quit", None).unwrap_err();
        assert!(matches!(closed, QmpError::Closed), "{closed}");
        let seen = server.join().unwrap();
        assert_eq!(
            seen,
            [
                "qmp_capabilities",
                "query-balloon",
                "query-hotpluggable-cpus",
                "cpu-add",
                "quit"
            ]
        );
    }

    #[test]
    fn a_silent_server_times_out_instead_of_hanging() {
        let (a, b) = UnixStream::pair().unwrap();
        let start = Instant::now();
        let err = Qmp::handshake(a, Duration::from_millis(150)).unwrap_err();
        assert!(matches!(err, QmpError::Timeout(_)), "{err}");
        assert!(start.elapsed() < Duration::from_secs(2));
        drop(b);
    }

    #[test]
    fn a_greeting_that_is_not_qmp_is_refused() {
        let (a, mut b) = UnixStream::pair().unwrap();
        writeln!(b, r#"{{"hello": 1}}"#).unwrap();
        let err = Qmp::handshake(a, Duration::from_secs(2)).unwrap_err();
        assert!(
            matches!(&err, QmpError::Protocol { why, .. } if why.contains("greeting")),
            "{err}"
        );
        let (a, mut b) = UnixStream::pair().unwrap();
        writeln!(b, "not json").unwrap();
        assert!(matches!(
            Qmp::handshake(a, Duration::from_secs(2)),
            Err(QmpError::Protocol { .. })
        ));
    }

    #[test]
    fn a_connection_closed_mid_message_is_reported_as_closed() {
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(br#"{"QMP": {"vers"#).unwrap();
        drop(b);
        assert!(matches!(
            Qmp::handshake(a, Duration::from_secs(2)),
            Err(QmpError::Closed)
        ));
    }
}
