//! Builds in the jail (bubblewrap must be installed: CI installs it).

use std::path::PathBuf;
use std::process::Command;

use super::*;
use crate::course::Course;

fn host() -> BuildHost {
    let course = Course::discover(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    BuildHost::probe(&course, false).unwrap_or_else(|e| panic!("{e}; fix: {}", e.fix()))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("grader-build-{name}-{}", std::process::id()));
    let _ = crate::sandbox::jail::force_remove(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn c_build(name: &str, files: &[(&str, &str)]) -> BuildOutput {
    c_build_programs(name, files, &["hello"])
}

fn c_build_programs(name: &str, files: &[(&str, &str)], programs: &[&str]) -> BuildOutput {
    let sub = tmp(&format!("{name}-sub"));
    for (f, text) in files {
        fs::write(sub.join(f), text).unwrap();
    }
    let work = tmp(&format!("{name}-work"));
    let host = host();
    let programs: Vec<String> = programs.iter().map(|p| p.to_string()).collect();
    build(&BuildRequest {
        submission: &sub,
        programs: &programs,
        work: &work,
        skip: &[],
        host: &host,
    })
    .unwrap()
}

#[test]
fn c_program_builds_static_with_helper_sources() {
    let out = c_build(
        "ok",
        &[
            (
                "hello.c",
                "int helper(void);\nint main(void){return helper();}\n",
            ),
            ("util.c", "int helper(void){return 0;}\n"),
        ],
    );
    assert!(out.ok, "{}", out.log);
    assert_eq!(out.language, Some(Language::C));
    assert!(out.log.contains("util.c"), "{}", out.log);
    let status = Command::new(&out.programs[0].1).status().unwrap();
    assert!(status.success());
}

#[test]
fn compile_error_is_a_result_with_the_compiler_message() {
    let out = c_build("bad", &[("hello.c", "int main(void){ return nope; }\n")]);
    assert!(!out.ok);
    assert!(out.log.contains("nope"), "{}", out.log);
    assert!(out.log.contains("error"), "{}", out.log);
}

#[test]
fn missing_program_is_explained() {
    let out = c_build("missing", &[("other.c", "int main(void){return 0;}\n")]);
    assert!(!out.ok);
    assert!(out.log.contains("needs `hello.c`"), "{}", out.log);
}

#[test]
fn a_makefile_runs_in_the_jail_and_its_program_is_taken_out() {
    let out = c_build(
        "make",
        &[
            ("hello.c", "int main(void){return 0;}\n"),
            (
                "Makefile",
                "hello: hello.c\n\t$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<\n\techo pwned > /tmp/PWNED_BY_UNIT_TEST || true\n",
            ),
        ],
    );
    assert!(out.ok, "{}", out.log);
    assert!(!Path::new("/tmp/PWNED_BY_UNIT_TEST").exists());
    assert!(
        out.log.contains(
            "tried to write /tmp/PWNED_BY_UNIT_TEST, outside its build directory: refused"
        ),
        "{}",
        out.log
    );
}

#[test]
fn empty_dir_is_nothing_to_build() {
    let d = tmp("empty");
    assert!(matches!(detect(&d), Err(BuildError::NothingToBuild { .. })));
    // Graded as the student's failed build, saying what was looked for.
    let out = c_build_programs("empty-build", &[], &["hello", "bye"]);
    assert!(!out.ok && out.language.is_none() && out.programs.is_empty());
    assert!(
        out.log
            .contains("no hello.c, bye.c, Makefile or Cargo.toml in"),
        "{}",
        out.log
    );
    assert!(out.log.contains("the directory is empty"), "{}", out.log);
    assert_eq!(out.failed.len(), 2);
    let py = c_build_programs("py-build", &[("hello.py", "print(1)\n")], &["hello"]);
    assert!(
        py.log.contains("Python sources are not built"),
        "{}",
        py.log
    );
}

#[test]
fn each_program_builds_on_its_own() {
    let files = [
        ("good.c", "int main(void){return 0;}\n"),
        ("bad.c", "int main(void){ return nope; }\n"),
    ];
    let out = c_build_programs("partial", &files, &["good", "bad", "absent"]);
    assert!(!out.ok);
    let built: Vec<&str> = out.programs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(built, ["good"]);
    assert!(
        out.failure("bad").is_some_and(|w| w.contains("nope")),
        "{:?}",
        out.failed
    );
    assert!(
        out.failure("absent")
            .is_some_and(|w| w.contains("needs `absent.c`")),
        "{:?}",
        out.failed
    );
    // With a Makefile: one `make` per target.
    let mut files = files.to_vec();
    files.push((
        "Makefile",
        "good: good.c\n\t$(CC) -o $@ $<\nbad: bad.c\n\t$(CC) -o $@ $<\n",
    ));
    let out = c_build_programs("partial-make", &files, &["good", "bad"]);
    let built: Vec<&str> = out.programs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(built, ["good"], "{}", out.log);
    let why = out.failure("bad").unwrap();
    assert!(
        why.starts_with("$ make -B bad") && why.contains("nope"),
        "{why}"
    );
}

#[test]
fn a_dependency_the_course_does_not_provide_fails_offline_with_a_clear_message() {
    let sub = tmp("newdep-sub");
    fs::create_dir_all(sub.join("src")).unwrap();
    fs::write(
        sub.join("Cargo.toml"),
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nlibc = \"0.2\"\nrand = \"0.8\"\n",
    )
    .unwrap();
    fs::write(sub.join("src/main.rs"), "fn main() {}\n").unwrap();
    let work = tmp("newdep-work");
    let host = host();
    let out = build(&BuildRequest {
        submission: &sub,
        programs: &["hello".to_string()],
        work: &work,
        skip: &[],
        host: &host,
    })
    .unwrap();
    assert!(!out.ok, "{}", out.log);
    assert!(
        out.log.contains("grader: the crate depends on `rand`, which the course does not provide: builds are offline and only the course's dependencies are available (libc "),
        "{}",
        out.log
    );
}
