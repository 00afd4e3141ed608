//! Guests start from a snapshot: a restored guest grades like a cold one, a corrupt,
//! broken or stale snapshot never costs a grade (the guest boots cold, says why, and the
//! snapshot is made again), concurrent restores of one snapshot are independent, and
//! nothing of one run is visible in the next.

use std::path::{Path, PathBuf};

use grader::fixture::Fixture;
use grader::report::{GradeReport, GuestStart};

use crate::util::{course_copy, grade_json, grader, report_in, root, tempdir, text};

/// A copy of the course (symlinks to the checkout) whose guest has `memory_mb` of RAM:
/// its snapshot has a key of its own, so damaging it disturbs no other test.
fn course_with_memory(label: &str, memory_mb: u32) -> PathBuf {
    course_copy(label, |t| {
        t.replacen("memory_mb = 256", &format!("memory_mb = {memory_mb}"), 1)
    })
}

/// Grades lab1's C solution from the course at `course` and parses the report.
fn grade_in(course: &Path, seed: u64) -> GradeReport {
    let sub = root().join("solutions/lab1-msgq/c");
    report_in(course, "lab1", &sub, &["--seed", &seed.to_string()], 0)
}

/// The snapshot directory of the course at `course` (the one `image status` names).
fn snapshot_dir(course: &Path) -> PathBuf {
    let out = grader(course, &["image", "status"]);
    let (stdout, stderr) = text(&out);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("snapshot: ready ("))
        .unwrap_or_else(|| panic!("no ready snapshot:\n{stdout}\n{stderr}"));
    let inside = line.split_once(", ").unwrap().1;
    PathBuf::from(inside.split_once("):").unwrap().0)
}

fn meta(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap()
}

fn assert_full_marks(r: &GradeReport, how: GuestStart) {
    assert!(r.gradable, "{:?}", r.not_gradable_reason);
    assert_eq!(r.score, r.max_score, "{:#?}", r.tests);
    assert_eq!(r.guest_start, Some(how), "notices: {:?}", r.notices);
}

#[test]
fn a_damaged_or_stale_snapshot_costs_no_grade_and_is_made_again() {
    let course = course_with_memory("snapshot-damage", 288);
    let first = grade_in(&course, 1);
    assert_full_marks(&first, GuestStart::Restored);
    assert!(first.notices.is_empty(), "{:?}", first.notices);
    let dir = snapshot_dir(&course);
    let state = dir.join("state");

    // Corrupt device state: caught by its checksum before QEMU sees it.
    let mut bytes = std::fs::read(&state).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&state, &bytes).unwrap();
    let corrupt = grade_in(&course, 2);
    assert_full_marks(&corrupt, GuestStart::Cold);
    let notice = corrupt.notices.join("\n");
    assert!(
        notice.contains("booted cold")
            && notice.contains("corrupt")
            && notice.contains("made again"),
        "{notice}"
    );
    assert_full_marks(&grade_in(&course, 3), GuestStart::Restored);

    // A state QEMU cannot load although its checksum matches (a snapshot from a QEMU
    // that the key did not tell apart): the restore itself fails.
    let garbage = b"QEVM\0\0\0\x03garbage, not a migration stream".to_vec();
    std::fs::write(dir.join("state"), &garbage).unwrap();
    let mut m = meta(&dir);
    m["state_sha256"] = grader::course::sha256_hex(&garbage).into();
    m["state_bytes"] = garbage.len().into();
    std::fs::write(dir.join("meta.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let broken = grade_in(&course, 4);
    assert_full_marks(&broken, GuestStart::Cold);
    let notice = broken.notices.join("\n");
    assert!(notice.contains("restoring the snapshot failed"), "{notice}");
    assert_full_marks(&grade_in(&course, 5), GuestStart::Restored);

    // Stale: made for another QEMU. Made again before grading, then restored.
    let mut m = meta(&dir);
    m["qemu_version"] = "QEMU emulator version 0.1".into();
    std::fs::write(dir.join("meta.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let stale = grade_in(&course, 6);
    assert_full_marks(&stale, GuestStart::Restored);
    assert_ne!(meta(&dir)["qemu_version"], "QEMU emulator version 0.1");
}

#[test]
fn two_restores_of_one_snapshot_at_once_grade_independently() {
    let sub = root().join("solutions/lab1-msgq/c");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| grade_json("lab1", &sub, "qemu", 101));
        let b = s.spawn(|| grade_json("lab1", &sub, "qemu", 202));
        (a.join().unwrap().0, b.join().unwrap().0)
    });
    assert_full_marks(&a, GuestStart::Restored);
    assert_full_marks(&b, GuestStart::Restored);
    assert_ne!(a.params, b.params, "each run has its own parameters");
    assert_eq!((a.seed, b.seed), (101, 202));
}

#[test]
fn nothing_of_one_run_is_visible_in_the_next() {
    let dir = root().join("tests/fixtures/lab1/fresh-guest");
    let fx = Fixture::load(&dir).unwrap();
    let sub = tempdir("fresh-guest");
    fx.materialize(&root(), &sub).unwrap();
    // Different seeds, different keys: the second run's `create` fails on the first
    // run's /tmp marker if it survived.
    for seed in [31, 32] {
        let (r, _) = grade_json("lab1", &sub, "qemu", seed);
        assert_full_marks(&r, GuestStart::Restored);
    }
}

#[test]
fn cold_boot_on_request_grades_the_same() {
    let sub = root().join("solutions/lab1-msgq/c");
    let r = report_in(&root(), "lab1", &sub, &["--seed", "7", "--cold-boot"], 0);
    assert_full_marks(&r, GuestStart::Cold);
    assert!(r.notices.is_empty(), "{:?}", r.notices);
    let phases = r.guest_phases.expect("phases");
    assert!(phases.ready_ms.is_some() && phases.kernel_ms.is_some() && phases.modules_ms.is_some());
}
