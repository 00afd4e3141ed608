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
    let sub = tmp(&format!("{name}-sub"));
    for (f, text) in files {
        fs::write(sub.join(f), text).unwrap();
    }
    let work = tmp(&format!("{name}-work"));
    let host = host();
    build(&BuildRequest {
        submission: &sub,
        programs: &["hello".to_string()],
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
    assert_eq!(out.language, Language::C);
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
