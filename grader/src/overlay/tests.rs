use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::course::{GuestSettings, LabKind};
use crate::image::scratch::ScratchDir;

fn scratch() -> ScratchDir {
    ScratchDir::new(&std::env::temp_dir(), "grader-overlay-test-").unwrap()
}

/// Writes `files` (path, content) under `dir`.
fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = dir.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}

fn read(dir: &Path, path: &str) -> String {
    fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A course root with a skeleton `labs/l` and its solution `solutions/l/rust` stored as
/// an overlay: one module replaced, one added, one edit.
fn course_tree_fixture(root: &Path) {
    write(
        &root.join("labs/l"),
        &[
            ("Cargo.toml", "[package]\nname = \"l\"\n"),
            ("src/cli.rs", "shared code\n"),
            ("src/queue.rs", "todo!()\n"),
            ("README.md", "the exercise\n"),
        ],
    );
    write(
        &root.join("solutions/l/rust"),
        &[
            (
                "overlay.toml",
                "format_version = 1\nbase = \"labs/l\"\n\n[[edit]]\nfile = \"src/cli.rs\"\nreplace = \"shared\"\nwith = \"common\"\n",
            ),
            ("src/queue.rs", "msgsnd()\n"),
            ("src/extra.rs", "helper\n"),
        ],
    );
}

fn course(root: &Path, labs: Vec<LabEntry>) -> Course {
    Course {
        format_version: 1,
        title: "test".into(),
        guest: GuestSettings {
            memory_mb: 256,
            timeout_scale: 1.0,
            boot_deadline: crate::config::Dur(std::time::Duration::from_secs(1)),
            accel: "tcg".into(),
        },
        limits: Default::default(),
        labs,
        root: root.to_owned(),
    }
}

fn lab(solutions: &[&str]) -> LabEntry {
    LabEntry {
        id: "lab1".into(),
        name: "l".into(),
        title: "L".into(),
        dir: "labs/l".into(),
        spec: "labs/l/lab.toml".into(),
        spec_sha256: None,
        solutions: solutions.iter().map(PathBuf::from).collect(),
        kind: LabKind::Ipc,
    }
}

#[test]
fn base_then_overlay_files_then_edits() {
    let root = scratch();
    course_tree_fixture(root.path());
    let out = root.path().join("out");
    let stack = Stack::of_overlay_dir(root.path(), &root.path().join("solutions/l/rust")).unwrap();
    assert_eq!(stack.layers.len(), 2);
    stack.materialize(&out).unwrap();
    assert_eq!(
        read(&out, "src/queue.rs"),
        "msgsnd()\n",
        "overlay file wins"
    );
    assert_eq!(read(&out, "src/extra.rs"), "helper\n", "overlay adds files");
    assert_eq!(read(&out, "src/cli.rs"), "common code\n", "edit applied");
    assert_eq!(read(&out, "Cargo.toml"), "[package]\nname = \"l\"\n");
    assert!(
        !out.join("overlay.toml").exists(),
        "the manifest is not copied"
    );
    assert!(stack.has_file(Path::new("src/extra.rs")));
    assert!(!stack.has_file(Path::new("overlay.toml")));
}

#[test]
fn remove_deletes_base_files_and_directories() {
    let root = scratch();
    write(
        &root.path().join("base"),
        &[("keep.c", "k"), ("drop.c", "d"), ("old/x.c", "x")],
    );
    write(
        &root.path().join("top"),
        &[(
            "overlay.toml",
            "format_version = 1\nbase = \"base\"\nremove = [\"drop.c\", \"old\"]\n",
        )],
    );
    let stack = Stack::of_overlay_dir(root.path(), &root.path().join("top")).unwrap();
    assert!(!stack.has_file(Path::new("drop.c")));
    assert!(!stack.has_file(Path::new("old/x.c")));
    assert!(stack.has_file(Path::new("keep.c")));
    let out = root.path().join("out");
    stack.materialize(&out).unwrap();
    assert!(out.join("keep.c").is_file());
    assert!(!out.join("drop.c").exists());
    assert!(!out.join("old").exists());
}

#[test]
fn removing_what_the_base_lacks_names_the_manifest() {
    let root = scratch();
    write(&root.path().join("base"), &[("a.c", "a")]);
    write(
        &root.path().join("top"),
        &[(
            "overlay.toml",
            "format_version = 1\nbase = \"base\"\nremove = [\"gone.c\"]\n",
        )],
    );
    let stack = Stack::of_overlay_dir(root.path(), &root.path().join("top")).unwrap();
    let err = stack.materialize(&root.path().join("out")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, OverlayError::Remove { .. }), "{msg}");
    assert!(
        msg.contains("top/overlay.toml") && msg.contains("gone.c"),
        "{msg}"
    );
}

#[test]
fn a_base_that_is_itself_an_overlay_is_materialised_first() {
    let root = scratch();
    course_tree_fixture(root.path());
    // A fixture-like top layer whose base is the solution overlay: its edit applies to a
    // file the solution overlays, and its own extra file is added.
    write(
        &root.path().join("fx"),
        &[("fixture.toml", "ignored here"), ("Makefile", "all:\n")],
    );
    let top = Layer {
        manifest: Some(root.path().join("fx/fixture.toml")),
        dir: root.path().join("fx"),
        skip: vec!["fixture.toml".into()],
        remove: Vec::new(),
        edits: vec![Edit {
            file: "src/queue.rs".into(),
            replace: "msgsnd".into(),
            with: "msgrcv".into(),
        }],
    };
    let stack = Stack::resolve(root.path(), top, Some(Path::new("solutions/l/rust"))).unwrap();
    assert_eq!(stack.layers.len(), 3, "skeleton, solution, fixture");
    let out = root.path().join("out");
    stack.materialize(&out).unwrap();
    assert_eq!(read(&out, "src/queue.rs"), "msgrcv()\n");
    assert_eq!(read(&out, "src/cli.rs"), "common code\n");
    assert_eq!(read(&out, "Makefile"), "all:\n");
    assert!(!out.join("fixture.toml").exists());
}

#[test]
fn a_cycle_of_bases_is_an_error_naming_the_file() {
    let root = scratch();
    write(
        &root.path().join("a"),
        &[("overlay.toml", "format_version = 1\nbase = \"b\"\n")],
    );
    write(
        &root.path().join("b"),
        &[("overlay.toml", "format_version = 1\nbase = \"a\"\n")],
    );
    let err = Stack::of_overlay_dir(root.path(), &root.path().join("a")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, OverlayError::Cycle { .. }), "{msg}");
    assert!(
        msg.contains("b/overlay.toml") && msg.contains("cycle"),
        "{msg}"
    );
}

#[test]
fn a_base_naming_its_own_directory_is_a_cycle() {
    let root = scratch();
    write(
        &root.path().join("a"),
        &[("overlay.toml", "format_version = 1\nbase = \"a\"\n")],
    );
    let err = Stack::of_overlay_dir(root.path(), &root.path().join("a")).unwrap_err();
    assert!(matches!(err, OverlayError::Cycle { .. }), "{err}");
}

#[test]
fn too_many_stacked_overlays_is_an_error() {
    let root = scratch();
    for i in 0..=MAX_DEPTH {
        let text = format!("format_version = 1\nbase = \"d{}\"\n", i + 1);
        write(
            &root.path().join(format!("d{i}")),
            &[("overlay.toml", &text)],
        );
    }
    write(
        &root.path().join(format!("d{}", MAX_DEPTH + 1)),
        &[("a", "a")],
    );
    let err = Stack::of_overlay_dir(root.path(), &root.path().join("d0")).unwrap_err();
    assert!(matches!(err, OverlayError::TooDeep { .. }), "{err}");
}

#[test]
fn a_missing_base_names_the_file_and_the_base() {
    let root = scratch();
    write(
        &root.path().join("top"),
        &[("overlay.toml", "format_version = 1\nbase = \"labs/nope\"\n")],
    );
    let err = Stack::of_overlay_dir(root.path(), &root.path().join("top")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, OverlayError::MissingBase { .. }), "{msg}");
    assert!(
        msg.contains("top/overlay.toml") && msg.contains("labs/nope"),
        "{msg}"
    );
}

#[test]
fn a_base_outside_the_course_is_refused() {
    let outside = scratch();
    let root = scratch();
    let rel = format!(
        "../{}",
        outside.path().file_name().unwrap().to_string_lossy()
    );
    let text = format!("format_version = 1\nbase = \"{rel}\"\n");
    write(&root.path().join("top"), &[("overlay.toml", &text)]);
    let err = Stack::of_overlay_dir(root.path(), &root.path().join("top")).unwrap_err();
    assert!(matches!(err, OverlayError::BaseOutside { .. }), "{err}");
}

#[test]
fn paths_leaving_the_tree_and_unknown_keys_are_refused() {
    let root = scratch();
    write(&root.path().join("base"), &[("a", "a")]);
    write(
        &root.path().join("dots"),
        &[(
            "overlay.toml",
            "format_version = 1\nbase = \"base\"\nremove = [\"../a\"]\n",
        )],
    );
    let err = Stack::of_overlay_dir(root.path(), &root.path().join("dots")).unwrap_err();
    assert!(matches!(err, OverlayError::BadPath { .. }), "{err}");
    write(
        &root.path().join("typo"),
        &[(
            "overlay.toml",
            "format_version = 1\nbase = \"base\"\nremoves = []\n",
        )],
    );
    let err = Stack::of_overlay_dir(root.path(), &root.path().join("typo")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("typo/overlay.toml:3") && msg.contains("removes"),
        "{msg}"
    );
    write(
        &root.path().join("v2"),
        &[("overlay.toml", "format_version = 2\nbase = \"base\"\n")],
    );
    let err = Stack::of_overlay_dir(root.path(), &root.path().join("v2")).unwrap_err();
    assert!(err.to_string().contains("format_version = 2"), "{err}");
}

#[test]
fn an_edit_whose_text_is_not_there_once_names_the_file() {
    let root = scratch();
    write(&root.path().join("base"), &[("a.c", "x x")]);
    let text = "format_version = 1\nbase = \"base\"\n[[edit]]\nfile = \"a.c\"\nreplace = \"x\"\nwith = \"y\"\n";
    write(&root.path().join("top"), &[("overlay.toml", text)]);
    let stack = Stack::of_overlay_dir(root.path(), &root.path().join("top")).unwrap();
    let err = stack.materialize(&root.path().join("out")).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, OverlayError::EditCount { count: 2, .. }),
        "{msg}"
    );
    assert!(
        msg.contains("top/overlay.toml") && msg.contains("a.c"),
        "{msg}"
    );
}

#[test]
fn a_course_solution_is_staged_in_the_work_dir() {
    let root = scratch();
    course_tree_fixture(root.path());
    let c = course(root.path(), vec![lab(&["solutions/l/rust"])]);
    let sub = root.path().join("solutions/l/rust");
    let work = root.path().join("work");
    let staged = stage(&c, &sub, &work).unwrap();
    assert_eq!(staged.dir, work.join(STAGE_DIR));
    assert_eq!(staged.notice, None);
    assert_eq!(read(&staged.dir, "src/queue.rs"), "msgsnd()\n");
    // Staging again (check grades several directories in one work dir) starts afresh.
    fs::write(staged.dir.join("stale.rs"), "x").unwrap();
    let again = stage(&c, &sub, &work).unwrap();
    assert!(!again.dir.join("stale.rs").exists());
}

#[test]
fn a_students_overlay_toml_is_not_honoured() {
    let root = scratch();
    course_tree_fixture(root.path());
    let c = course(root.path(), vec![lab(&["solutions/l/rust"])]);
    // A student's directory claiming to be the reference solution.
    let student = scratch();
    write(
        student.path(),
        &[
            (
                "overlay.toml",
                "format_version = 1\nbase = \"solutions/l/rust\"\n",
            ),
            ("src/queue.rs", "todo!()\n"),
        ],
    );
    let work = root.path().join("work");
    let staged = stage(&c, student.path(), &work).unwrap();
    assert_eq!(staged.dir, student.path(), "graded as it is");
    assert!(!work.join(STAGE_DIR).exists(), "nothing materialised");
    let notice = staged.notice.expect("the student is told");
    assert!(notice.contains("overlay.toml was ignored"), "{notice}");
    assert!(!is_course_solution(&c, student.path()));
    assert!(is_course_solution(
        &c,
        &root.path().join("solutions/l/rust")
    ));
}

#[test]
fn a_plain_submission_is_staged_as_it_is() {
    let root = scratch();
    course_tree_fixture(root.path());
    let c = course(root.path(), vec![lab(&["solutions/l/rust"])]);
    let skeleton = root.path().join("labs/l");
    let staged = stage(&c, &skeleton, &root.path().join("work")).unwrap();
    assert_eq!(staged.dir, skeleton);
    assert_eq!(staged.notice, None);
}

#[test]
fn export_picks_the_solution_in_the_language_asked() {
    let root = scratch();
    course_tree_fixture(root.path());
    write(
        &root.path().join("solutions/l/c"),
        &[("msgq.c", "int main;")],
    );
    let c = course(
        root.path(),
        vec![lab(&["solutions/l/rust", "solutions/l/c"])],
    );
    let out = root.path().join("exported-c");
    let (which, _) = export_solution(&c, &c.labs[0], Some(Language::C), &out).unwrap();
    assert_eq!(which, Path::new("solutions/l/c"));
    assert!(out.join("msgq.c").is_file() && !out.join("Cargo.toml").exists());
    let out = root.path().join("exported-rust");
    let (which, stack) = export_solution(&c, &c.labs[0], None, &out).unwrap();
    assert_eq!(which, Path::new("solutions/l/rust"));
    assert_eq!(stack.layers.len(), 2);
    assert_eq!(read(&out, "src/queue.rs"), "msgsnd()\n");
    let err = export_solution(&c, &c.labs[0], None, &out).unwrap_err();
    assert!(matches!(err, OverlayError::OutNotEmpty(_)), "{err}");
    let none = course(root.path(), vec![lab(&["solutions/l/c"])]);
    let err = export_solution(
        &none,
        &none.labs[0],
        Some(Language::Rust),
        &root.path().join("x"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("rust solution of lab1"), "{err}");
    assert!(!root.path().join("x").exists(), "nothing half-written");
}

/// The course's own Rust solutions hold only what differs from their base: no file of an
/// overlay is a byte-for-byte copy of the one it replaces, and each still builds as Rust.
#[test]
fn course_solution_overlays_hold_only_differing_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let c = Course::load(&root.join("course.toml")).unwrap();
    let mut overlays = 0;
    for dir in c.labs.iter().flat_map(|l| &l.solutions).map(|s| c.path(s)) {
        if !dir.join(OVERLAY_FILE).is_file() {
            continue;
        }
        overlays += 1;
        let stack = Stack::of_overlay_dir(&c.root, &dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(stack.has_file(Path::new("Cargo.toml")), "{}", dir.display());
        let (top, below) = stack.layers.split_last().unwrap();
        for file in files_under(&top.dir)
            .iter()
            .filter(|f| !f.ends_with(OVERLAY_FILE))
        {
            let rel = file.strip_prefix(&top.dir).unwrap();
            for b in below
                .iter()
                .map(|l| l.dir.join(rel))
                .filter(|b| b.is_file())
            {
                assert_ne!(
                    fs::read(file).unwrap(),
                    fs::read(&b).unwrap(),
                    "{} repeats {}: delete it from the overlay",
                    file.display(),
                    b.display()
                );
            }
        }
    }
    assert!(
        overlays >= 6,
        "every Rust solution is an overlay ({overlays} found)"
    );
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}
