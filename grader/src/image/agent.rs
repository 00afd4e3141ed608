//! Builds the guest agent as a static executable: the initramfs has no libc of its own
//! for it, so `grader-agent` must carry everything (`-C target-feature=+crt-static`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::elf::Elf;
use super::ImageError;

/// The target the agent is built for; naming it keeps `RUSTFLAGS` away from build scripts
/// and proc macros, which must stay dynamic host binaries.
pub const AGENT_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Where [`build_agent`] puts the binary.
pub fn agent_path(root: &Path) -> PathBuf {
    root.join("target/guest")
        .join(AGENT_TARGET)
        .join("release/grader-agent")
}

/// Builds the static `grader-agent` with `$CARGO` (or `cargo`) in the workspace at `root`,
/// streaming cargo's progress to `log`, and returns the binary's path.
pub fn build_agent(root: &Path, log: &mut dyn Write) -> Result<PathBuf, ImageError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--bin",
            "grader-agent",
            "-p",
            "grader",
            "--target",
            AGENT_TARGET,
        ])
        .arg("--target-dir")
        .arg(root.join("target/guest"))
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        // Set by an enclosing cargo, it would override RUSTFLAGS.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let program = cargo.to_string_lossy().into_owned();
    let _ = writeln!(log, "image: building the static guest agent");
    let mut child = command.spawn().map_err(|source| ImageError::Spawn {
        program: program.clone(),
        source,
    })?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut recent = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let _ = writeln!(log, "{line}");
        recent.push(line);
    }
    let status = child.wait().map_err(|source| ImageError::Spawn {
        program: program.clone(),
        source,
    })?;
    if !status.success() {
        let tail = recent[recent.len().saturating_sub(20)..].join("\n");
        return Err(ImageError::Tool {
            program,
            status,
            stderr: tail,
        });
    }
    let path = agent_path(root);
    check_static(&path)?;
    Ok(path)
}

/// Refuses a binary that needs a dynamic loader: it could not start in the guest.
pub fn check_static(path: &Path) -> Result<(), ImageError> {
    let bytes = std::fs::read(path).map_err(|source| ImageError::Read {
        path: path.into(),
        source,
    })?;
    check_static_bytes(path, &bytes)
}

/// [`check_static`] on bytes already read from `path`.
pub fn check_static_bytes(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    let elf_err = |source| ImageError::Elf {
        path: path.into(),
        source,
    };
    let elf = Elf::parse(bytes).map_err(elf_err)?;
    let needs: Vec<String> = elf
        .interp()
        .map_err(elf_err)?
        .into_iter()
        .chain(elf.needed().map_err(elf_err)?)
        .collect();
    if !needs.is_empty() {
        return Err(ImageError::AgentNotStatic {
            path: path.into(),
            needs,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_binary_is_not_accepted_as_the_agent() {
        let err = check_static(Path::new("/proc/self/exe")).unwrap_err();
        assert!(
            matches!(&err, ImageError::AgentNotStatic { needs, .. } if !needs.is_empty()),
            "{err}"
        );
        let dir =
            crate::image::scratch::ScratchDir::new(&std::env::temp_dir(), "grader-agent-test-")
                .unwrap();
        let object = dir.path().join("static");
        std::fs::write(
            &object,
            crate::image::elf::test_object(&[(".text", b"\x90")]),
        )
        .unwrap();
        check_static(&object).unwrap();
    }
}
