//! The two ways the agent binary starts: as PID 1 of the guest (it boots the machine,
//! says `ready` on its port, takes one job frame from that port, answers there, and
//! powers off whatever happens), or on the host with explicit files.
//!
//! In the guest the agent holds nothing of a run until the frame arrives: the host may
//! snapshot the guest while it waits, and start every grading from that snapshot.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::protocol::{AgentEvent, Job, JobFrame, RESULTS_PORT_NAME};

use super::{boot, emit, fatal, hello, run_job, AgentError, Mode};

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

/// `grader-agent guest`: PID 1 of the guest. Boots the machine, reports `Ready`, reads
/// one job frame from the port, runs it, and always powers the guest off, after a
/// `Fatal` event on failure or panic.
pub fn guest_main() -> ! {
    let times = boot::setup();
    let port = open_results_port();
    let mut out: Box<dyn Write> = match port.as_ref().map(File::try_clone) {
        Ok(Ok(port)) => Box::new(port),
        Ok(Err(e)) => {
            eprintln!(
                "grader-agent: failed to duplicate the results port: {e}; writing to the console"
            );
            Box::new(io::stdout())
        }
        Err(e) => {
            eprintln!("grader-agent: {}; writing to the console", chain(e));
            Box::new(io::stdout())
        }
    };
    for w in &times.warnings {
        eprintln!("grader-agent: {w}");
    }
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        emit(&mut *out, &AgentEvent::Ready(times.clone()))?;
        let mut port = port?;
        serve_frame(&mut port, &mut *out)
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

/// Waits for the job frame on `port`, prepares the guest for it, and runs it. A frame
/// that cannot be read or applied is reported (`Hello`, `Fatal`).
fn serve_frame(port: &mut File, out: &mut dyn Write) -> Result<(), AgentError> {
    let frame = JobFrame::read_from(&mut Retrying(port)).map_err(AgentError::Frame);
    let prepared = frame.and_then(|frame| apply_frame(&frame).map(|()| frame.job));
    match prepared {
        Ok(job) => run_job(&job, out, Mode::Guest),
        Err(e) => {
            emit(out, &hello())?;
            emit(out, &fatal(&e))?;
            Err(e)
        }
    }
}

/// The wall clock, fresh entropy, then the files.
fn apply_frame(frame: &JobFrame) -> Result<(), AgentError> {
    let failed = |what: &str| {
        let what = what.to_owned();
        move |source| AgentError::Prepare { what, source }
    };
    boot::set_wall_clock(frame.wall_clock_ns).map_err(failed("set the wall clock"))?;
    boot::reseed(&frame.entropy).map_err(failed("reseed the kernel RNG"))?;
    for file in &frame.files {
        boot::write_job_file(&file.path, file.mode, &file.data)
            .map_err(failed(&format!("write {}", file.path)))?;
    }
    Ok(())
}

/// Reads from a virtio port whose host side may not be connected yet: there a read
/// returns 0 at once, which is not the end of the stream.
struct Retrying<'a>(&'a mut File);

impl io::Read for Retrying<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Ok(0) if !buf.is_empty() => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                other => return other,
            }
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    match fatal(e) {
        AgentEvent::Fatal { message } => message,
        _ => e.to_string(),
    }
}

/// The virtio serial port named `results`, both ways: the job frame comes in, the events
/// go out (udev-less guests may only have `/dev/vportNpM`).
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
        match OpenOptions::new().read(true).write(true).open(path) {
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
