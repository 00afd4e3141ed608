//! Helpers: run `cargo-grader`, materialize fixtures, parse reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use grader::report::GradeReport;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grader/ is in the root")
        .to_owned()
}

/// A fresh temporary directory, unique per call.
pub fn tempdir(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = root().join("target").join("it-tmp").join(format!(
        "{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.parent().unwrap()).unwrap();
    d
}

/// `cargo-grader grader ARGS…` run from `cwd`, with a hint state file of its own (so a
/// developer's `.grader/state.json` never changes what a test sees).
pub fn grader(cwd: &Path, args: &[&str]) -> Output {
    let state = tempdir("state").join("state.json");
    grader_with_state(cwd, args, &state)
}

/// `cargo-grader grader ARGS…` run from `cwd` with `state` as the hint state file.
pub fn grader_with_state(cwd: &Path, args: &[&str], state: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-grader"))
        .arg("grader")
        .args(args)
        .current_dir(cwd)
        .env(grader::hints::state::STATE_ENV, state)
        .output()
        .expect("cargo-grader runs")
}

/// A copy of the course whose course.toml is `edit`ed; everything else is linked to the
/// checkout's.
pub fn course_copy(label: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let dir = tempdir(label);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(root().join("course.toml")).unwrap();
    std::fs::write(dir.join("course.toml"), edit(text)).unwrap();
    for entry in [
        "labs",
        "solutions",
        "tests",
        "vm-images",
        "grader",
        "target",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        std::os::unix::fs::symlink(root().join(entry), dir.join(entry)).unwrap();
    }
    dir
}

/// `cargo-grader grader LAB --submission SUB --quiet EXTRA…` from the course at `course`:
/// the one way the tests grade a submission.
pub fn grade_in(course: &Path, lab: &str, submission: &Path, extra: &[&str]) -> Output {
    let mut args = vec![lab, "--submission", submission.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    grader(course, &args)
}

/// [`grade_in`] with `--format json`, which must exit with `status`: its report.
pub fn report_in(
    course: &Path,
    lab: &str,
    submission: &Path,
    extra: &[&str],
    status: i32,
) -> GradeReport {
    let mut args = extra.to_vec();
    args.extend(["--format", "json"]);
    let out = grade_in(course, lab, submission, &args);
    assert_exit(&out, status);
    parse_report(&out)
}

/// Asserts that a run exited with `status` (showing its stdout and stderr otherwise);
/// returns them.
pub fn assert_exit(out: &Output, status: i32) -> (String, String) {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(status), "{stdout}\n{stderr}");
    (stdout, stderr)
}

/// The JSON report a run printed; panics with its output when there is none.
pub fn parse_report(out: &Output) -> GradeReport {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); exit {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Grades a directory and parses the JSON report; panics with stderr on a usage error.
pub fn grade_json(lab: &str, submission: &Path, backend: &str, seed: u64) -> (GradeReport, Output) {
    grade_json_with(lab, submission, backend, seed, &[])
}

/// [`grade_json`] with more options (`--perturb`).
pub fn grade_json_with(
    lab: &str,
    submission: &Path,
    backend: &str,
    seed: u64,
    extra: &[&str],
) -> (GradeReport, Output) {
    let seed = seed.to_string();
    let mut args = vec!["--backend", backend, "--seed", &seed, "--format", "json"];
    args.extend_from_slice(extra);
    let out = grade_in(&root(), lab, submission, &args);
    (parse_report(&out), out)
}

/// Text of a command's stdout and stderr.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A stable digest of every file under `dir` (path, mode, content); empty when absent.
pub fn tree_digest(dir: &Path) -> std::collections::BTreeMap<PathBuf, (u32, String)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                let bytes = std::fs::read(e.path()).unwrap_or_default();
                let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
                let hash = grader::course::sha256_hex(&bytes);
                out.insert(rel, (meta.permissions().mode(), hash));
            }
        }
    }
    out
}

/// `cargo grader gen-class lab1 --out DIR --size N` into a fresh directory, the way a
/// teacher types it: `--out` relative to the course root (zipped students included).
pub fn gen_class(label: &str, size: usize) -> PathBuf {
    let dir = tempdir(label);
    let rel = dir
        .strip_prefix(root())
        .expect("temporary directories are under the root");
    let size = size.to_string();
    let out = grader(
        &root(),
        &[
            "gen-class",
            "lab1",
            "--out",
            rel.to_str().unwrap(),
            "--size",
            &size,
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "gen-class failed:\n{stdout}\n{stderr}"
    );
    dir
}

/// `bulk lab1 CLASS --out OUT --jobs 2 --seed SEED EXTRA…`.
pub fn bulk_args<'a>(
    class: &'a Path,
    out: &'a Path,
    seed: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "bulk",
        "lab1",
        class.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        "2",
        "--seed",
        seed,
    ];
    args.extend_from_slice(extra);
    args
}

/// A results directory's gradebook.csv: student → record.
pub fn gradebook(
    results: &Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(results.join("gradebook.csv")).unwrap();
    grader::report::csv::records(&text)
        .into_iter()
        .map(|r| (r["student"].clone(), r))
        .collect()
}
