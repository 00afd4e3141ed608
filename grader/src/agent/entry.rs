//! The two ways the agent binary starts: as PID 1 of the guest (job and results at fixed
//! places, power-off at the end whatever happens), or on the host with explicit files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::protocol::{AgentEvent, Job, GUEST_JOB_PATH, RESULTS_PORT_NAME};

use super::{emit, fatal, hello, run_job, AgentError, Mode};

/// Exit code of `grader-agent local` when the agent itself failed.
pub const EXIT_AGENT_FAILED: u8 = 1;

/// Reads and parses a job file.
pub fn load_job(path: &Path) -> Result<Job, AgentError> {
    let text = fs::read_to_string(path).map_err(|source| AgentError::ReadJob {
        path: path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| AgentError::ParseJob {
        path: path.into(),
        source,
    })
}

/// Loads the job and runs it; a job that cannot be loaded is still reported (`Hello`, `Fatal`).
fn serve(job_path: &Path, out: &mut dyn Write, mode: Mode) -> Result<(), AgentError> {
    match load_job(job_path) {
        Ok(job) => run_job(&job, out, mode),
        Err(e) => {
            emit(out, &hello())?;
            emit(out, &fatal(&e))?;
            Err(e)
        }
    }
}

/// `grader-agent local --job FILE --out FILE`.
pub fn local_main(job_path: &Path, out_path: &Path) -> Result<(), AgentError> {
    let file = File::create(out_path).map_err(|source| AgentError::OpenOutput {
        path: out_path.into(),
        source,
    })?;
    let mut out = io::BufWriter::new(file);
    serve(job_path, &mut out, Mode::Local)
}

/// `grader-agent guest`: PID 1 of the guest. Runs `/job/job.json`, writes events to the
/// results port, and always powers the guest off, after a `Fatal` event on panic.
pub fn guest_main() -> ! {
    let mut out: Box<dyn Write> = match open_results_port() {
        Ok(port) => Box::new(port),
        Err(e) => {
            eprintln!("grader-agent: {e}; writing events to the console");
            Box::new(io::stdout())
        }
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        serve(Path::new(GUEST_JOB_PATH), &mut *out, Mode::Guest)
    }));
    match outcome {
        Ok(Ok(())) => {}
        // Already reported as a Fatal event when it could be written; the console gets it too.
        Ok(Err(e)) => eprintln!("grader-agent: {}", chain(&e)),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let _ = emit(
                &mut *out,
                &AgentEvent::Fatal {
                    message: format!("the agent panicked: {what}"),
                },
            );
        }
    }
    let _ = out.flush();
    drop(out);
    power_off()
}

fn chain(e: &dyn std::error::Error) -> String {
    match fatal(e) {
        AgentEvent::Fatal { message } => message,
        _ => e.to_string(),
    }
}

/// The virtio serial port named `results` (udev-less guests may only have `/dev/vportNpM`).
fn open_results_port() -> Result<File, AgentError> {
    let named = Path::new("/dev/virtio-ports").join(RESULTS_PORT_NAME);
    let mut candidates = vec![named, PathBuf::from("/dev/vport0p1")];
    if let Ok(dir) = fs::read_dir("/dev") {
        let mut ports: Vec<PathBuf> = dir
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("vport"))
            .map(|e| e.path())
            .collect();
        ports.sort();
        candidates.extend(ports);
    }
    let mut last = io::Error::from(io::ErrorKind::NotFound);
    for path in &candidates {
        match OpenOptions::new().write(true).open(path) {
            Ok(f) => return Ok(f),
            Err(e) => last = e,
        }
    }
    Err(AgentError::OpenOutput {
        path: candidates.swap_remove(0),
        source: last,
    })
}

/// Flushes the disks and powers off with the raw `reboot(2)` call: no fork needed, so it
/// works even after a fork bomb. Only PID 1 may do this; anywhere else it just exits.
fn power_off() -> ! {
    if std::process::id() == 1 {
        // SAFETY: sync and reboot take no pointers; as PID 1 of the guest this ends the VM.
        unsafe {
            libc::sync();
            libc::reboot(libc::RB_POWER_OFF);
        }
    }
    // Not PID 1 (or reboot refused): exiting PID 1 panics the kernel, which QEMU's
    // `-no-reboot` with `panic=-1` also turns into an exit.
    std::process::exit(i32::from(EXIT_AGENT_FAILED))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(out: Vec<u8>) -> Vec<AgentEvent> {
        let text = String::from_utf8(out).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn unreadable_job_is_still_reported_as_hello_then_fatal() {
        let mut out = Vec::new();
        let err = serve(Path::new("/no/such/job.json"), &mut out, Mode::Local).unwrap_err();
        assert!(matches!(err, AgentError::ReadJob { .. }));
        let events = events(out);
        assert!(matches!(events[0], AgentEvent::Hello { .. }));
        match &events[1] {
            AgentEvent::Fatal { message } => {
                assert!(
                    message.starts_with("failed to read the job /no/such/job.json: "),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_job_names_the_file_and_the_json_error() {
        let path = std::env::temp_dir().join(format!("grader-bad-job-{}.json", std::process::id()));
        fs::write(&path, "{\"lab\": 3}").unwrap();
        let mut out = Vec::new();
        assert!(serve(&path, &mut out, Mode::Local).is_err());
        fs::remove_file(&path).unwrap();
        match &events(out)[1] {
            AgentEvent::Fatal { message } => {
                assert!(
                    message.contains("failed to parse the job") && message.contains("invalid type"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
