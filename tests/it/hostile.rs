//! The hostile-build corpus (`tests/fixtures/hostile/*`): each submission gets its
//! expected build verdict, naming what the jail refused, and the host is unchanged
//! afterwards — the files it targets, no process of it left running, nothing heard on the
//! loopback port it dials, no secret in the report, the shared dependency artefacts byte
//! for byte. Graded in a copy of the course whose `[build]` deadline and limits are
//! small, so that the corpus runs in seconds.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use grader::build::BuildHost;
use grader::course::Course;
use grader::fixture::{Fixture, HostExpectation};
use grader::report::GradeReport;

use crate::util::{course_copy, grader, root, tempdir, text, tree_digest};

/// `[build]` of the test course: a short deadline, small disk and file allowances.
const TEST_BUILD: &[(&str, &str)] = &[
    ("deadline", "\"10s\""),
    ("file_size_mb", "32"),
    ("disk_mb", "64"),
];

/// A copy of the course (the same labs, specs, image and target directory) whose
/// `[build]` section has [`TEST_BUILD`]'s values.
pub fn test_course() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| course_copy("hostile-course", with_test_build))
}

/// course.toml with [`TEST_BUILD`]'s values in its `[build]` section.
fn with_test_build(text: String) -> String {
    let (head, rest) = text.split_at(text.find("\n[build]\n").expect("a [build] section"));
    let end = rest.find("\n[[lab]]").unwrap_or(rest.len());
    let mut build = rest[..end].to_string();
    for (key, value) in TEST_BUILD {
        let line = build
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("course.toml's [build] has no {key}"))
            .to_string();
        build = build.replacen(&line, &format!("{key} = {value}"), 1);
    }
    format!("{head}{build}{}", &rest[end..])
}

/// The shared dependency artefacts, prepared (by building the Rust skeleton once).
pub fn shared_deps() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let course = Course::discover(&root()).unwrap();
        let host = BuildHost::probe(&course, false).unwrap_or_else(|e| panic!("{e}: {}", e.fix()));
        let work = tempdir("hostile-warm");
        let built = grader::build::build(&grader::build::BuildRequest {
            submission: &root().join("labs/lab1-msgq"),
            programs: &["msgq".to_string()],
            work: &work,
            skip: &[],
            host: &host,
        })
        .unwrap();
        assert!(built.ok, "{}", built.log);
        host.deps.shared_target(&host).unwrap()
    })
    .clone()
}

fn expand(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest),
        Err(_) if path.is_relative() => root().join(path),
        Err(_) => path.to_owned(),
    }
}

fn file_hash(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| grader::course::sha256_hex(&b))
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(marker))
        .collect()
}

/// What the host looked like before; checked against after.
struct Before {
    unchanged: Vec<(PathBuf, Option<String>)>,
    listener: Option<TcpListener>,
    deps: BTreeMap<PathBuf, (u32, String)>,
}

fn before(h: &HostExpectation) -> Before {
    for p in &h.absent {
        let _ = std::fs::remove_file(expand(p));
    }
    let listener = h.listen.map(|port| {
        let l = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} on 127.0.0.1 must be free for this test: {e}"));
        l.set_nonblocking(true).unwrap();
        l
    });
    Before {
        unchanged: h
            .unchanged
            .iter()
            .map(|p| (expand(p), file_hash(&expand(p))))
            .collect(),
        listener,
        deps: tree_digest(&shared_deps()),
    }
}

/// Every text of the report a person or a program reads.
fn report_text(r: &GradeReport) -> String {
    let mut t = r.build.log.clone();
    for test in &r.tests {
        t.push_str(&test.message);
    }
    t.push_str(&r.notices.join("\n"));
    t.push_str(r.not_gradable_reason.as_deref().unwrap_or(""));
    t
}

fn after(h: &HostExpectation, b: Before, report: &GradeReport) {
    for p in &h.absent {
        assert!(
            !expand(p).exists(),
            "{} was created on the host",
            p.display()
        );
    }
    for (p, hash) in &b.unchanged {
        assert_eq!(&file_hash(p), hash, "{} changed on the host", p.display());
    }
    if let Some(marker) = &h.marker {
        let deadline = Instant::now() + Duration::from_secs(3);
        while !processes_with(marker).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(processes_with(marker), Vec::<String>::new(), "survivors");
    }
    if let Some(l) = &b.listener {
        match l.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the host's 127.0.0.1 listener was reached: {other:?}"),
        }
    }
    let text = report_text(report);
    for s in &h.secrets {
        let secret = std::fs::read_to_string(expand(s)).unwrap_or_default();
        for line in secret.lines().map(str::trim).filter(|l| l.len() >= 12) {
            assert!(
                !text.contains(line),
                "the report holds a line of {}: {line}",
                s.display()
            );
        }
    }
    assert_eq!(
        tree_digest(&shared_deps()),
        b.deps,
        "the shared dependency artefacts changed"
    );
}

/// The scratch directories a grader process `pid` left (it removes them at the end, with
/// whatever the build wrote there).
fn scratch_left_by(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(root().join("target/grader-runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.split('-').nth(1) == Some(pid.to_string().as_str())
        })
        .collect()
}

fn run_hostile(case: &str, backend: &str) {
    let dir = root().join("tests/fixtures/hostile").join(case);
    let fx = Fixture::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let sub = tempdir(&format!("hostile-{case}"));
    fx.materialize(&root(), &sub)
        .unwrap_or_else(|e| panic!("{e}"));
    let host = fx.host.clone().unwrap_or_default();
    let b = before(&host);
    let t = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grader"))
        .arg("grader")
        .args([
            &fx.lab,
            "--submission",
            sub.to_str().unwrap(),
            "--backend",
            backend,
            "--seed",
            "4242",
            "--format",
            "json",
            "--quiet",
        ])
        .current_dir(test_course())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    let report: GradeReport = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); exit {:?}\n{stdout}\n{stderr}",
            out.status.code()
        )
    });
    eprintln!(
        "hostile/{case}: graded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let problems = fx.check(&report);
    assert!(
        problems.is_empty(),
        "hostile/{case}:\n  {}\nstderr: {stderr}",
        problems.join("\n  ")
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a hostile submission loses points: {stderr}"
    );
    after(&host, b, &report);
    assert_eq!(
        scratch_left_by(pid),
        Vec::<PathBuf>::new(),
        "the build's files were left"
    );
}

macro_rules! hostile_tests {
    ($($name:ident => ($lab:literal, $case:literal, $backend:literal);)*) => {
        $(#[test] fn $name() { assert_eq!($lab, "hostile"); run_hostile($case, $backend); })*
    };
}

hostile_tests! {
    makefile_writes_outside => ("hostile", "makefile-writes-outside", "local");
    makefile_sleeps_forever => ("hostile", "makefile-sleeps-forever", "local");
    makefile_reads_secrets => ("hostile", "makefile-reads-secrets", "local");
    include_shadow => ("hostile", "include-shadow", "local");
    fork_bomb => ("hostile", "fork-bomb", "local");
    fills_disk => ("hostile", "fills-disk", "local");
    socket_localhost => ("hostile", "socket-localhost", "local");
    c_symlink_shadow => ("hostile", "c-symlink-shadow", "local");
    buildrs_overwrites_deps => ("hostile", "buildrs-overwrites-deps", "local");
    buildrs_edits_results => ("hostile", "buildrs-edits-results", "local");
    quiet_makefile_in_the_guest => ("hostile", "quiet-makefile", "qemu");
    program_local => ("hostile", "program-local", "local");
}

/// Where the jail cannot be made, grading refuses to build untrusted code (a usage error
/// naming the fix), unless the teacher passes --unsafe-host-build — and then the report
/// says so.
#[test]
fn without_a_jail_grading_refuses_unless_told_and_then_says_so() {
    let sub = root().join("solutions/lab1-msgq/c");
    let args = |extra: &'static [&'static str]| {
        let mut a = vec![
            "lab1",
            "--submission",
            sub.to_str().unwrap(),
            "--backend",
            "local",
            "--format",
            "json",
            "--quiet",
        ];
        a.extend_from_slice(extra);
        a
    };
    let run = |a: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grader"))
            .arg("grader")
            .args(a)
            .env(grader::sandbox::jail::BWRAP_ENV, "/nonexistent/bwrap")
            .current_dir(root())
            .output()
            .unwrap()
    };
    let out = run(&args(&[]));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to build untrusted code: bubblewrap (bwrap) is not installed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("apt-get install -y --no-install-recommends bubblewrap"),
        "{stderr}"
    );
    assert!(stderr.contains("--unsafe-host-build"), "{stderr}");
    let out = run(&args(&["--unsafe-host-build"]));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: GradeReport = serde_json::from_str(&stdout).unwrap();
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("WITHOUT the jail")),
        "{:?}",
        report.notices
    );
}

/// `cargo grader doctor` says whether the jail works and, when it does not, what to do.
#[test]
fn doctor_reports_the_jail_and_its_fix() {
    let out = grader(&root(), &["doctor"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("[ok  ] build jail (bubblewrap)"),
        "{stdout}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-grader"))
        .args(["grader", "doctor"])
        .env(grader::sandbox::jail::BWRAP_ENV, "/nonexistent/bwrap")
        .current_dir(root())
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("[MISS] build jail (bubblewrap)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fix: apt-get install -y --no-install-recommends bubblewrap"),
        "{stdout}"
    );
    assert!(stdout.contains("--unsafe-host-build"), "{stdout}");
}
