//! Bulk grading of a generated class of 30 (correct, wrong, non-compiling, hanging,
//! crashing, tampered, disguised; folders, tarballs and zips): the gradebook matches the
//! expected verdicts row by row in the guest, the Slurm path (a real single-node cluster,
//! `.ci/slurm-setup.sh`) gives the same gradebook, and a run killed halfway resumes
//! without redoing what finished.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use grader::bulk::class;
use grader::course::Course;
use grader::report::csv;

use crate::util::{gradebook, grader, root, tempdir, text};

const CLASS_SEED: &str = "77";

fn course() -> Course {
    Course::discover(&root()).expect("the course loads")
}

fn gen_class(label: &str) -> PathBuf {
    crate::util::gen_class(label, 30)
}

fn bulk_args<'a>(class: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    crate::util::bulk_args(class, out, CLASS_SEED, extra)
}

fn assert_matches_class(class_dir: &Path, results: &Path) {
    let bad =
        class::check(&course(), class_dir, results).expect("expected.json and gradebook.csv load");
    assert!(
        bad.is_empty(),
        "{} mismatch(es) with the expected verdicts:\n  {}",
        bad.len(),
        bad.join("\n  ")
    );
}

/// The class graded once in the guest, shared by the tests that need it.
struct Graded {
    class: PathBuf,
    results: PathBuf,
}

fn graded_in_guest() -> &'static Graded {
    static ONCE: OnceLock<Graded> = OnceLock::new();
    ONCE.get_or_init(|| {
        let class = gen_class("bulk-guest-class");
        let results = class.join("results");
        let subs = class.join("submissions");
        let out = grader(&root(), &bulk_args(&subs, &results, &["--similarity"]));
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "bulk failed:\n{stdout}\n{stderr}"
        );
        assert!(stdout.contains("30 students:"), "{stdout}");
        Graded { class, results }
    })
}

fn expected() -> Vec<class::Expected> {
    class::load_expected(&graded_in_guest().class).unwrap()
}

#[test]
fn a_generated_class_gets_its_expected_gradebook_in_the_guest() {
    let g = graded_in_guest();
    assert_matches_class(&g.class, &g.results);
    for e in expected() {
        let dir = g.results.join("students").join(&e.student);
        let report: grader::report::GradeReport =
            serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
        assert_eq!(
            report.backend,
            grader::report::Backend::Qemu,
            "{}",
            e.student
        );
        let human = std::fs::read_to_string(dir.join("report.txt")).unwrap();
        assert!(
            human.contains(&format!("Score: {}/{}", e.score, e.max_score)),
            "{}: {human}",
            e.student
        );
    }
}

#[test]
fn a_tampered_spec_changes_nothing_and_the_report_says_so() {
    let g = graded_in_guest();
    let book = gradebook(&g.results);
    let all = expected();
    for t in all.iter().filter(|e| e.variant == "tampered") {
        let twin = all
            .iter()
            .find(|e| e.variant == "plain" && e.fixture == t.fixture)
            .expect("an untampered twin");
        assert_eq!(
            book[&t.student]["score"], book[&twin.student]["score"],
            "{} vs {}",
            t.student, twin.student
        );
        assert_eq!(
            book[&t.student]["max_score"],
            book[&twin.student]["max_score"]
        );
        let report = std::fs::read_to_string(
            g.results
                .join("students")
                .join(&t.student)
                .join("report.json"),
        )
        .unwrap();
        assert!(
            report.contains("the local copy was ignored"),
            "{}: {report}",
            t.student
        );
    }
}

fn language(results: &Path, student: &str) -> Option<grader::build::Language> {
    let bytes = std::fs::read(results.join("students").join(student).join("report.json")).unwrap();
    serde_json::from_slice::<grader::report::GradeReport>(&bytes)
        .unwrap()
        .language
}

#[test]
fn disguised_copies_top_the_similarity_report() {
    let g = graded_in_guest();
    let text = std::fs::read_to_string(g.results.join("similarity.csv")).unwrap();
    let pairs = csv::records(&text);
    let lang = |s: &str| language(&g.results, s);
    for d in expected().iter().filter(|e| e.variant == "disguised") {
        let best = pairs
            .iter()
            .find(|p| p["student_a"] == d.student || p["student_b"] == d.student)
            .unwrap_or_else(|| panic!("{} is in no pair:\n{text}", d.student));
        let other = if best["student_a"] == d.student {
            &best["student_b"]
        } else {
            &best["student_a"]
        };
        let score: f64 = best["similarity"].parse().unwrap();
        assert!(score >= 0.9, "{} ~ {other}: {score}", d.student);
        assert_eq!(
            lang(&d.student),
            lang(other),
            "{} paired with {other}, a submission in another language",
            d.student
        );
    }
    let mixed: Vec<_> = pairs
        .iter()
        .filter(|p| lang(&p["student_a"]) != lang(&p["student_b"]))
        .collect();
    assert!(
        mixed.is_empty(),
        "a C and a Rust submission are never alike: {mixed:?}"
    );
}

#[test]
fn the_slurm_path_gives_the_same_gradebook() {
    let g = graded_in_guest();
    let results = g.class.join("results-slurm");
    let subs = g.class.join("submissions");
    let t = Instant::now();
    let out = grader(&root(), &bulk_args(&subs, &results, &["--slurm"]));
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "bulk --slurm failed (is Slurm up? .ci/slurm-setup.sh):\n{stdout}\n{stderr}"
    );
    eprintln!(
        "slurm path: 30 submissions in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    assert!(stderr.contains("submitted Slurm job"), "{stderr}");
    let jobs: grader::slurm::Jobs =
        serde_json::from_slice(&std::fs::read(results.join(".work/slurm/jobs.json")).unwrap())
            .unwrap();
    let logs = results.join(".work/slurm/logs");
    for i in 0..30 {
        let log = logs.join(format!("{}_{i}.log", jobs.jobs[0]));
        assert!(
            log.is_file(),
            "array task {i} of job {} left no log",
            jobs.jobs[0]
        );
    }
    let local = std::fs::read_to_string(g.results.join("gradebook.csv")).unwrap();
    let slurm = std::fs::read_to_string(results.join("gradebook.csv")).unwrap();
    assert_eq!(slurm, local, "the Slurm and local gradebooks differ");
    assert_matches_class(&g.class, &results);
}

fn done_files(results: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    let students = std::fs::read_dir(results.join("students"))
        .into_iter()
        .flatten()
        .flatten();
    students
        .filter_map(|e| {
            let done = e.path().join("done.json");
            let meta = std::fs::metadata(&done).ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                (std::fs::read(&done).ok()?, meta.modified().ok()?),
            ))
        })
        .collect()
}

#[test]
fn a_run_killed_halfway_resumes_without_redoing_finished_rows() {
    let class = gen_class("bulk-kill-class");
    let results = class.join("results");
    let subs = class.join("submissions");
    let args = bulk_args(&subs, &results, &["--backend", "local"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-grader"))
        .arg("grader")
        .args(&args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while done_files(&results).len() < 12 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = done_files(&results);
    assert!(before.len() < 30, "killed too late to test anything");

    let out = grader(&root(), &args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("{} of 30 already graded", before.len())),
        "{stderr}"
    );
    let after = done_files(&results);
    for (student, kept) in &before {
        assert_eq!(&after[student], kept, "{student} was graded again");
    }
    assert_eq!(after.len(), 30);
    assert_matches_class(&class, &results);
}

/// Two submissions of the same crate name built at the same moment, each in its own jail
/// and target directory over the shared read-only dependencies (no lock any more): each
/// gets its own verdict, never the other's binary, and the shared artefacts are unchanged.
#[test]
fn two_rust_builds_at_once_each_get_their_own_binary_and_the_shared_deps_stay_intact() {
    use grader::build::{build, BuildHost, BuildRequest};
    let course = course();
    let host = BuildHost::probe(&course, false).unwrap_or_else(|e| panic!("{e}: {}", e.fix()));
    let fixture = |case: &str| {
        let fx =
            grader::fixture::Fixture::load(&root().join("tests/fixtures/lab1").join(case)).unwrap();
        let dir = tempdir(&format!("race-{case}"));
        fx.materialize(&root(), &dir).unwrap();
        dir
    };
    let (good, bad) = (fixture("correct-rust"), fixture("no-compile"));
    let programs = vec!["msgq".to_string()];
    // Prepares the shared dependencies first, so both builds below use them.
    let warm = tempdir("race-warm");
    let req = |sub: &Path, work: &Path| {
        build(&BuildRequest {
            submission: sub,
            programs: &programs,
            work,
            skip: &[],
            host: &host,
        })
        .unwrap()
    };
    assert!(req(&good, &warm).ok);
    let shared = host.deps.shared_target(&host).unwrap();
    let before = crate::util::tree_digest(&shared);
    let (w1, w2) = (tempdir("race-w1"), tempdir("race-w2"));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| req(&good, &w1));
        let b = s.spawn(|| req(&bad, &w2));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.ok, "{}", a.log);
    assert!(
        !b.ok,
        "the non-compiling submission was handed a binary:\n{}",
        b.log
    );
    assert!(b.log.contains("mismatched types"), "{}", b.log);
    assert_eq!(crate::util::tree_digest(&shared), before);
}

/// A generated class plus two students whose build.rs attack the class — one edits the
/// results folder (found through the grader's command line or the build directory's
/// parents), one overwrites the shared compiled libc the others link — graded together,
/// two at a time: every neighbour gets exactly its expected row, the two a build failure
/// naming the refusal, and the shared dependency artefacts are byte for byte the same.
#[test]
fn hostile_builds_in_a_class_cost_no_neighbour_its_grade() {
    let class_dir = crate::util::gen_class("bulk-hostile-class", 12);
    let subs = class_dir.join("submissions");
    let course = course();
    let pinned = grader::ipclab::load_spec(&course, course.lab("lab1").unwrap()).unwrap();
    let mut expected = class::load_expected(&class_dir).unwrap();
    for (student, case) in [
        ("mallory", "buildrs-edits-results"),
        ("trudy", "buildrs-overwrites-deps"),
    ] {
        let rel = PathBuf::from("tests/fixtures/hostile").join(case);
        let fx = grader::fixture::Fixture::load(&root().join(&rel)).unwrap();
        fx.materialize(&root(), &subs.join(student)).unwrap();
        expected.push(class::Expected {
            student: student.into(),
            fixture: rel,
            variant: "hostile".into(),
            packaging: "dir".into(),
            score: 0,
            max_score: pinned.spec.max_score(),
            points: pinned
                .spec
                .scenarios
                .iter()
                .map(|s| (s.name.clone(), 0))
                .collect(),
            status: "build_failed".into(),
            notice: None,
        });
    }
    std::fs::write(
        class_dir.join("expected.json"),
        serde_json::to_vec_pretty(&expected).unwrap(),
    )
    .unwrap();
    let deps = crate::hostile::shared_deps();
    let before = crate::util::tree_digest(&deps);
    let results = class_dir.join("results");
    let out = grader(
        &root(),
        &bulk_args(&subs, &results, &["--backend", "local"]),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("14 students:"), "{stdout}");
    assert_matches_class(&class_dir, &results);
    assert_eq!(
        crate::util::tree_digest(&deps),
        before,
        "the shared artefacts changed"
    );
    let gradebook = std::fs::read_to_string(results.join("gradebook.csv")).unwrap();
    assert!(!gradebook.contains("pwned"), "{gradebook}");
    for e in &expected {
        let report = results
            .join("students")
            .join(&e.student)
            .join("report.json");
        let text = std::fs::read_to_string(&report).unwrap();
        assert!(
            !text.starts_with("pwned"),
            "{} was overwritten",
            report.display()
        );
    }
}
