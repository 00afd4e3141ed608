//! Reading a build log for what the jail refused, so that the verdict names it: a write
//! outside the build directory, a file that is not in the jail (`/etc/shadow`, `~/.ssh`),
//! the shared dependency artefacts, the network, the process limit, a dependency the
//! course does not provide. One sentence per refusal, each said once.

use regex::Regex;

use crate::course::BuildSettings;

/// What the sentences need to know.
#[derive(Debug, Clone)]
pub(super) struct Context {
    nproc: u64,
    /// `name version` of the vendored crates (empty for C).
    pub packages: Vec<String>,
}

impl Context {
    pub(super) fn new(s: &BuildSettings) -> Context {
        Context {
            nproc: s.nproc,
            packages: Vec::new(),
        }
    }
}

/// Directories a build legitimately reads or writes: a missing file there is the
/// student's own mistake, not a refusal.
const OWN: &[&str] = &[
    "/build/",
    "/usr/",
    "/opt/rust/",
    "/deps/",
    "/proc/",
    "/dev/",
];

fn path_errors() -> Regex {
    // The path the error is about comes right before it: `cat: /etc/shadow: No such…`,
    // `cannot create /tmp/x: Read-only…`, `cannot access '/root': No such…`.
    Regex::new(r#"(/[^\s:'"`,()]+)['"`]?: (Read-only file system|No such file or directory|Permission denied)"#)
        .expect("static regex")
}

fn sentence_for(path: &str, error: &str) -> Option<String> {
    let own = OWN.iter().any(|p| path.starts_with(p));
    match error {
        "Read-only file system" => Some(format!(
            "the build tried to write {path}, outside its build directory: refused (a build may write only under /build)"
        )),
        "No such file or directory" if !own => Some(format!(
            "the build tried to read {path}, which is not in the build jail (it sees only the toolchain, the course's dependencies and the submission): refused"
        )),
        "Permission denied" if path.starts_with("/build/target/") => Some(format!(
            "the build tried to modify {path}, one of the course's shared dependency artefacts, which are read-only to every build: refused"
        )),
        "Permission denied" if !own => Some(format!(
            "the build tried to access {path}: permission denied in the build jail: refused"
        )),
        _ => None,
    }
}

fn dependency_sentences(log: &str, ctx: &Context, out: &mut Vec<String>) {
    let provided = if ctx.packages.is_empty() {
        "none".to_string()
    } else {
        ctx.packages.join(", ")
    };
    let missing = Regex::new(r"no matching package named `([^`]+)` found").expect("static regex");
    for c in missing.captures_iter(log) {
        out.push(format!(
            "the crate depends on `{}`, which the course does not provide: builds are offline and only the course's dependencies are available ({provided}): remove the dependency",
            &c[1]
        ));
    }
    let version = Regex::new(r"failed to select a version for the requirement `([^`]+)`")
        .expect("static regex");
    for c in version.captures_iter(log) {
        out.push(format!(
            "the crate asks for `{}`, a version the course does not provide ({provided}): builds are offline",
            &c[1]
        ));
    }
    if log.contains("offline mode")
        && (log.contains("git") || log.contains("registry"))
        && out.is_empty()
    {
        out.push("the crate needs something fetched over the network (a git or registry dependency): builds have no network: refused".into());
    }
}

/// The grader's sentences for what the log shows the jail refused.
pub(super) fn explain(log: &str, ctx: &Context) -> Vec<String> {
    let mut out = Vec::new();
    let re = path_errors();
    for line in log.lines().filter(|l| !l.starts_with("grader:")) {
        for c in re.captures_iter(line) {
            if let Some(s) = sentence_for(&c[1], &c[2]) {
                out.push(s);
            }
        }
    }
    let lower = log.to_lowercase();
    // The jail's network namespace has only its own loopback: the host's 127.0.0.1
    // services refuse ("connection refused"), everything else is unreachable.
    if [
        "network is unreachable",
        "connection refused",
        "cannot assign requested address",
        "temporary failure in name resolution",
        "could not resolve host",
    ]
    .iter()
    .any(|p| lower.contains(p))
    {
        out.push(
            "the build tried to open a network connection: builds have no network: refused".into(),
        );
    }
    if lower.contains("resource temporarily unavailable") && lower.contains("fork")
        || lower.contains("cannot fork")
    {
        out.push(format!(
            "the build tried to start more than {} processes at once, the most a build may: refused",
            ctx.nproc
        ));
    }
    if lower.contains("file size limit exceeded")
        && !log.contains("grader: the build tried to write a file larger")
    {
        out.push("the build tried to write a file larger than a build may: refused".into());
    }
    dependency_sentences(log, ctx, &mut out);
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|s| seen.insert(s.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            nproc: 64,
            packages: vec!["libc 0.2.191".into()],
        }
    }

    #[test]
    fn writes_reads_and_dependency_artefacts_are_named() {
        let log = "/bin/sh: 1: cannot create /tmp/PWNED_BY_MAKEFILE: Read-only file system\n\
                   cat: /etc/shadow: No such file or directory\n\
                   cat: /etc/shadow: No such file or directory\n\
                   msgq.c:1:10: fatal error: /root/.ssh/id_rsa: No such file or directory\n\
                   cc1: fatal error: /build/src/missing.h: No such file or directory\n\
                   panicked at build.rs:9: could not write /build/target/release/deps/liblibc-1.rlib: Permission denied (os error 13)\n";
        let s = explain(log, &ctx());
        assert_eq!(s.len(), 4, "{s:#?}");
        assert!(s[0].contains(
            "tried to write /tmp/PWNED_BY_MAKEFILE, outside its build directory: refused"
        ));
        assert!(s[1].contains("tried to read /etc/shadow, which is not in the build jail"));
        assert!(s[2].contains("/root/.ssh/id_rsa"));
        assert!(s[3].contains("shared dependency artefacts, which are read-only"));
    }

    #[test]
    fn network_processes_and_dependencies_are_named() {
        let log = "connect 127.0.0.1:22: Network is unreachable\nfork: Resource temporarily unavailable\n\
                   error: no matching package named `rand` found\n";
        let s = explain(log, &ctx()).join("\n");
        assert!(s.contains("builds have no network: refused"), "{s}");
        assert!(s.contains("more than 64 processes"), "{s}");
        assert!(
            s.contains("depends on `rand`, which the course does not provide")
                && s.contains("libc 0.2.191"),
            "{s}"
        );
    }

    #[test]
    fn an_ordinary_compile_error_explains_nothing() {
        let log = "msgq.c:3:5: error: 'nope' undeclared\ncc1: fatal error: /build/src/x.h: No such file or directory\n";
        assert!(explain(log, &ctx()).is_empty());
    }
}
