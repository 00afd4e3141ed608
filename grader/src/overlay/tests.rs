use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::course::{GuestSettings, LabKind};
use crate::image::scratch::ScratchDir;

/// A scratch course root to lay trees out in.
struct Root(ScratchDir);

impl Root {
    fn new() -> Root {
        Root(ScratchDir::new(&std::env::temp_dir(), "grader-overlay-test-").unwrap())
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `files` (path, content) under `dir`.
    fn files(&self, dir: &str, files: &[(&str, &str)]) {
        for (path, text) in files {
            let p = self.path().join(dir).join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
    }

    /// Writes `dir/overlay.toml`: format version 1, then `body`.
    fn overlay(&self, dir: &str, body: &str) {
        let text = format!("format_version = 1\n{body}");
        self.files(dir, &[(OVERLAY_FILE, &text)]);
    }

    fn resolve(&self, dir: &str) -> Result<Stack, OverlayError> {
        Stack::of_overlay_dir(self.path(), &self.path().join(dir))
    }

    /// The error resolving or materialising `dir` gives, and its message.
    fn error(&self, dir: &str) -> (OverlayError, String) {
        let out = self.path().join("out");
        let err = self
            .resolve(dir)
            .and_then(|s| s.materialize(&out))
            .expect_err("must fail");
        let msg = err.to_string();
        (err, msg)
    }

    /// A skeleton `labs/l` and its solution `solutions/l/rust` stored as an overlay: one
    /// module replaced, one added, one edit.
    fn with_course_tree(self) -> Root {
        self.files(
            "labs/l",
            &[
                ("Cargo.toml", "[package]\nname = \"l\"\n"),
                ("src/cli.rs", "shared code\n"),
                ("src/queue.rs", "todo!()\n"),
            ],
        );
        let edit = "[[edit]]\nfile = \"src/cli.rs\"\nreplace = \"shared\"\nwith = \"common\"\n";
        self.overlay("solutions/l/rust", &format!("base = \"labs/l\"\n{edit}"));
        self.files(
            "solutions/l/rust",
            &[("src/queue.rs", "msgsnd()\n"), ("src/extra.rs", "helper\n")],
        );
        self
    }

    fn course(&self, solutions: &[&str]) -> Course {
        Course {
            format_version: 1,
            title: "test".into(),
            guest: GuestSettings {
                memory_mb: 256,
                timeout_scale: 1.0,
                boot_deadline: crate::config::Dur(std::time::Duration::from_secs(1)),
                accel: "tcg".into(),
                snapshot: false,
                vcpus: 1,
                parallel: 1,
            },
            limits: Default::default(),
            hints: Default::default(),
            build: Default::default(),
            support: None,
            labs: vec![lab(solutions)],
            root: self.path().to_owned(),
        }
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
        skeletons: Default::default(),
    }
}

fn read(dir: &Path, path: &str) -> String {
    fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn base_then_overlay_files_then_edits() {
    let root = Root::new().with_course_tree();
    let out = root.path().join("out");
    let stack = root.resolve("solutions/l/rust").unwrap();
    assert_eq!(stack.layers.len(), 2);
    stack.materialize(&out).unwrap();
    assert_eq!(read(&out, "src/queue.rs"), "msgsnd()\n", "overlay wins");
    assert_eq!(read(&out, "src/extra.rs"), "helper\n", "overlay adds");
    assert_eq!(read(&out, "src/cli.rs"), "common code\n", "edit applied");
    assert_eq!(read(&out, "Cargo.toml"), "[package]\nname = \"l\"\n");
    assert!(
        !out.join(OVERLAY_FILE).exists(),
        "the manifest is not copied"
    );
    assert!(stack.has_file(Path::new("src/extra.rs")));
    assert!(!stack.has_file(Path::new(OVERLAY_FILE)));
}

#[test]
fn remove_deletes_base_files_and_directories() {
    let root = Root::new();
    root.files(
        "base",
        &[("keep.c", "k"), ("drop.c", "d"), ("old/x.c", "x")],
    );
    root.overlay("top", "base = \"base\"\nremove = [\"drop.c\", \"old\"]\n");
    let stack = root.resolve("top").unwrap();
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
    let root = Root::new();
    root.files("base", &[("a.c", "a")]);
    root.overlay("top", "base = \"base\"\nremove = [\"gone.c\"]\n");
    let (err, msg) = root.error("top");
    assert!(matches!(err, OverlayError::Remove { .. }), "{msg}");
    assert!(
        msg.contains("top/overlay.toml") && msg.contains("gone.c"),
        "{msg}"
    );
}

#[test]
fn a_base_that_is_itself_an_overlay_is_materialised_first() {
    let root = Root::new().with_course_tree();
    // A fixture-like top layer whose base is the solution overlay: its edit applies to a
    // file the solution overlays, and its own extra file is added.
    root.files(
        "fx",
        &[("fixture.toml", "not read here"), ("Makefile", "all:\n")],
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
    let root = Root::new();
    root.overlay("a", "base = \"b\"\n");
    root.overlay("b", "base = \"a\"\n");
    let (err, msg) = root.error("a");
    assert!(matches!(err, OverlayError::Cycle { .. }), "{msg}");
    assert!(
        msg.contains("b/overlay.toml") && msg.contains("cycle"),
        "{msg}"
    );
    root.overlay("self", "base = \"self\"\n");
    let (err, msg) = root.error("self");
    assert!(matches!(err, OverlayError::Cycle { .. }), "{msg}");
}

#[test]
fn too_many_stacked_overlays_is_an_error() {
    let root = Root::new();
    for i in 0..=MAX_DEPTH {
        root.overlay(&format!("d{i}"), &format!("base = \"d{}\"\n", i + 1));
    }
    root.files(&format!("d{}", MAX_DEPTH + 1), &[("a", "a")]);
    let (err, msg) = root.error("d0");
    assert!(matches!(err, OverlayError::TooDeep { .. }), "{msg}");
}

#[test]
fn a_missing_base_names_the_file_and_the_base() {
    let root = Root::new();
    root.overlay("top", "base = \"labs/nope\"\n");
    let (err, msg) = root.error("top");
    assert!(matches!(err, OverlayError::MissingBase { .. }), "{msg}");
    assert!(
        msg.contains("top/overlay.toml") && msg.contains("labs/nope"),
        "{msg}"
    );
}

#[test]
fn a_base_outside_the_course_is_refused() {
    let outside = Root::new();
    let root = Root::new();
    let name = outside.path().file_name().unwrap().to_string_lossy();
    root.overlay("top", &format!("base = \"../{name}\"\n"));
    let (err, msg) = root.error("top");
    assert!(matches!(err, OverlayError::BaseOutside { .. }), "{msg}");
}

#[test]
fn paths_leaving_the_tree_unknown_keys_and_other_versions_are_refused() {
    let root = Root::new();
    root.files("base", &[("a", "a")]);
    root.overlay("dots", "base = \"base\"\nremove = [\"../a\"]\n");
    let (err, msg) = root.error("dots");
    assert!(matches!(err, OverlayError::BadPath { .. }), "{msg}");
    root.overlay("typo", "base = \"base\"\nremoves = []\n");
    let (_, msg) = root.error("typo");
    assert!(
        msg.contains("typo/overlay.toml:3") && msg.contains("removes"),
        "{msg}"
    );
    root.files(
        "v2",
        &[(OVERLAY_FILE, "format_version = 2\nbase = \"base\"\n")],
    );
    let (_, msg) = root.error("v2");
    assert!(
        msg.contains("v2/overlay.toml") && msg.contains("format_version = 2"),
        "{msg}"
    );
}

#[test]
fn an_edit_whose_text_is_not_there_once_names_the_file() {
    let root = Root::new();
    root.files("base", &[("a.c", "x x")]);
    root.overlay(
        "top",
        "base = \"base\"\n[[edit]]\nfile = \"a.c\"\nreplace = \"x\"\nwith = \"y\"\n",
    );
    let (err, msg) = root.error("top");
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
    let root = Root::new().with_course_tree();
    let c = root.course(&["solutions/l/rust"]);
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
    let root = Root::new().with_course_tree();
    let c = root.course(&["solutions/l/rust"]);
    // A student's directory claiming the reference solution as its base.
    let student = Root::new();
    student.overlay("", "base = \"solutions/l/rust\"\n");
    student.files("", &[("src/queue.rs", "todo!()\n")]);
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
    let root = Root::new().with_course_tree();
    let c = root.course(&["solutions/l/rust"]);
    let skeleton = root.path().join("labs/l");
    let staged = stage(&c, &skeleton, &root.path().join("work")).unwrap();
    assert_eq!(staged.dir, skeleton);
    assert_eq!(staged.notice, None);
}

#[test]
fn export_picks_the_solution_in_the_language_asked() {
    let root = Root::new().with_course_tree();
    root.files("solutions/l/c", &[("msgq.c", "int main;")]);
    let c = root.course(&["solutions/l/rust", "solutions/l/c"]);
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
    let c_only = root.course(&["solutions/l/c"]);
    let nowhere = root.path().join("x");
    let err = export_solution(&c_only, &c_only.labs[0], Some(Language::Rust), &nowhere);
    let err = err.unwrap_err().to_string();
    assert!(err.contains("rust solution of lab1"), "{err}");
    assert!(!nowhere.exists(), "nothing half-written");
}

/// The course's own solutions hold only what differs from their base: no file of an
/// overlay is a byte-for-byte copy of the one it replaces, and each still builds in its
/// language (a Rust crate, or C sources with their Makefile).
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
        let buildable = ["Cargo.toml", "Makefile"];
        assert!(
            buildable.iter().any(|f| stack.has_file(Path::new(f))),
            "{} materialises into neither a crate nor C sources with a Makefile",
            dir.display()
        );
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
        overlays >= 12,
        "every Rust and C solution of labs 1-6 is an overlay ({overlays} found)"
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
