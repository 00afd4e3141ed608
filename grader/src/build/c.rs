//! C submissions: the student's Makefile (`make PROG`, once per program, its recipes run
//! in the jail), or one `gcc -static` per program, with every `.c` file without a `main`
//! linked in. Each program builds on its own: one that fails costs only its scenarios.
//! The course's support library (`support.h`, `support.c`) is the course's own copy:
//! `make SUPPORT=DIR`, or its sources on gcc's command line when the submission uses it.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Build, BuildError};

/// Whether the submission brings its own Makefile.
fn has_makefile(src: &Path) -> bool {
    src.join("Makefile").is_file() || src.join("makefile").is_file()
}

/// Where program `p` is once built, relative to the jail's build directory.
pub(super) fn output_path(b: &Build<'_>, p: &str) -> PathBuf {
    if has_makefile(&b.jail_dir.join("src")) {
        Path::new("src").join(p)
    } else {
        Path::new("out").join(p)
    }
}

/// Builds each program on its own; those that fail are in `b.failures` with their own
/// messages (the others are still built).
pub(super) fn build(b: &mut Build<'_>) -> Result<(), BuildError> {
    let src = b.jail_dir.join("src");
    let env = b.base_env("/usr/bin:/bin");
    if has_makefile(&src) {
        let mut env = env;
        env.extend([
            ("CC".into(), "gcc".into()),
            ("CFLAGS".into(), "-O2 -Wall".into()),
            ("LDFLAGS".into(), "-static".into()),
        ]);
        // One `make` per program, so one that does not build fails only the scenarios
        // that run it, with its own messages. -B: programs or objects copied along with
        // the sources (a student's own `make`) must not pass for up to date.
        let support = support_dir(b).map(|d| format!("SUPPORT={}", d.display()));
        for p in b.req.programs {
            let mut args = vec!["-B".into(), p.into()];
            args.extend(support.iter().map(Into::into));
            let from = b.log.len();
            b.log.push_str(&format!("$ make -B {p}\n"));
            if !b.step("/usr/bin/make".into(), args, "src", env.clone(), Vec::new())? {
                let text = b.log[from..].to_string();
                b.failures.insert(p.clone(), text);
            }
        }
        return Ok(());
    }
    let mut helpers = helper_sources(&src);
    let support = support_dir(b).filter(|_| uses_support(&src));
    let include: Vec<String> = support
        .iter()
        .map(|d| format!("-I{}", d.display()))
        .collect();
    if let Some(dir) = &support {
        let host = b.jail_dir.join(super::SUPPORT_DIR).join("c");
        helpers.extend(
            helper_sources(&host)
                .iter()
                .map(|h| dir.join(h).display().to_string()),
        );
    }
    for p in b.req.programs {
        let main = format!("{p}.c");
        if !src.join(&main).is_file() {
            continue; // reported as a missing program afterwards
        }
        let mut args: Vec<std::ffi::OsString> = ["-static", "-O2", "-Wall", "-o"]
            .iter()
            .map(Into::into)
            .collect();
        args.push(b.view(&format!("out/{p}")).into());
        args.extend(include.iter().map(Into::into));
        args.push(main.clone().into());
        args.extend(helpers.iter().map(Into::into));
        args.extend(["-lrt".into(), "-pthread".into()]);
        let from = b.log.len();
        b.log.push_str(&format!(
            "$ gcc -static -O2 -Wall -o {p} {main}{}\n",
            helpers.iter().map(|h| format!(" {h}")).collect::<String>()
        ));
        if !b.step("/usr/bin/gcc".into(), args, "src", env.clone(), Vec::new())? {
            let text = b.log[from..].to_string();
            b.failures.insert(p.clone(), text);
        }
    }
    Ok(())
}

/// The course's C support library as the build's commands see it, if the course has one.
fn support_dir(b: &Build<'_>) -> Option<PathBuf> {
    b.req.host.support.as_ref()?;
    Some(b.view(&format!("{}/c", super::SUPPORT_DIR)))
}

/// Whether a source or header of the submission includes `support.h` (a submission of
/// its own that does not is built without the library, whose names it may reuse).
fn uses_support(src: &Path) -> bool {
    fs::read_dir(src).into_iter().flatten().flatten().any(|e| {
        let p = e.path();
        p.extension().is_some_and(|x| x == "c" || x == "h")
            && fs::read_to_string(&p).is_ok_and(|t| t.contains("\"support.h\""))
    })
}

/// `.c` files without a `main`: shared code linked into every program.
fn helper_sources(src: &Path) -> Vec<String> {
    let main_re = regex::Regex::new(r"\bint\s+main\s*\(").expect("static regex");
    let mut out: Vec<String> = fs::read_dir(src)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter(|p| {
            fs::read_to_string(p)
                .map(|t| !main_re.is_match(&t))
                .unwrap_or(false)
        })
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    out.sort();
    out
}
