//! Gets the Debian packages the image is made of: resolves the kernel metapackage with
//! `apt-cache depends`, downloads with `apt-get download` into `vm-images/cache/debs/`
//! (reusing what is there), fingerprints each `.deb`, and unpacks with `dpkg-deb -x`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

use super::scratch::ScratchDir;
use super::ImageError;

/// apt's package lists: `apt-get update` changes this directory's mtime.
const APT_LISTS: &str = "/var/lib/apt/lists";

/// Scratch directories of downloads, in the `.deb` directory.
pub const DOWNLOAD_PREFIX: &str = ".download-";

/// A downloaded package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deb {
    /// Package name.
    pub package: String,
    /// The `.deb` file.
    pub path: PathBuf,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

/// Runs a tool to completion, capturing its output; a non-zero exit is an error.
pub fn run(command: &mut Command) -> Result<Output, ImageError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ImageError::Spawn {
            program: program.clone(),
            source,
        })?;
    if output.status.success() {
        return Ok(output);
    }
    Err(ImageError::Tool {
        program,
        status: output.status,
        stderr: tail(&output.stderr),
    })
}

/// The last lines of a tool's stderr, enough to say what went wrong.
pub fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

/// The concrete kernel package behind `meta` (`linux-image-cloud-amd64` →
/// `linux-image-6.1.0-NN-cloud-amd64`); a name already concrete is returned as is.
pub fn resolve_kernel(meta: &str) -> Result<String, ImageError> {
    if meta
        .strip_prefix("linux-image-")
        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    {
        return Ok(meta.to_string());
    }
    let output = run(Command::new("apt-cache").args(["depends", meta])).map_err(|err| {
        ImageError::ResolveKernel {
            package: meta.into(),
            why: err.to_string(),
        }
    })?;
    parse_depends(&String::from_utf8_lossy(&output.stdout)).ok_or_else(|| {
        ImageError::ResolveKernel {
            package: meta.into(),
            why: "`apt-cache depends` lists no linux-image-<version> dependency".into(),
        }
    })
}

/// [`resolve_kernel`], remembered in `memo` until the apt lists change: `apt-cache`
/// takes about a second when apt keeps no binary cache (as in Debian containers), and
/// this runs on every grader start.
pub fn resolve_kernel_memo(meta: &str, memo: &Path) -> Result<String, ImageError> {
    let lists = std::fs::metadata(APT_LISTS).and_then(|m| m.modified()).ok();
    let key = lists
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| format!("{meta} {}", d.as_nanos()));
    if let Some(key) = &key {
        let text = std::fs::read_to_string(memo).unwrap_or_default();
        let hit = text.trim_end().rsplit_once(' ').filter(|(k, _)| k == key);
        if let Some((_, resolved)) = hit {
            return Ok(resolved.to_string());
        }
    }
    let resolved = resolve_kernel(meta)?;
    if let Some(key) = key {
        // Only a memo: failing to write it costs an apt-cache run next time.
        let tmp = memo.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::write(&tmp, format!("{key} {resolved}\n"))
            .and_then(|()| std::fs::rename(&tmp, memo));
    }
    Ok(resolved)
}

/// The first `Depends: linux-image-<digit>…` line of `apt-cache depends` output.
fn parse_depends(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.trim().trim_start_matches('|').strip_prefix("Depends:"))
        .map(str::trim)
        .find(|dep| {
            dep.strip_prefix("linux-image-")
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// The newest `.deb` of `package` already in `dir`, if any.
pub fn cached(dir: &Path, package: &str) -> Option<PathBuf> {
    let prefix = format!("{package}_");
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(".deb")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, path)| path)
}

/// The package's `.deb` in `dir`: reused when present, else downloaded.
pub fn fetch(dir: &Path, package: &str, log: &mut dyn Write) -> Result<Deb, ImageError> {
    let path = match cached(dir, package) {
        Some(path) => path,
        None => download(dir, package, log)?,
    };
    let sha256 = fingerprint(&path)?;
    Ok(Deb {
        package: package.into(),
        path,
        sha256,
    })
}

/// `apt-get download` in a private directory, then a rename into `dir`, so concurrent
/// graders never see a partial file.
fn download(dir: &Path, package: &str, log: &mut dyn Write) -> Result<PathBuf, ImageError> {
    let _ = writeln!(log, "image: downloading {package} with apt-get download");
    let scratch = ScratchDir::new(dir, DOWNLOAD_PREFIX).map_err(|source| ImageError::Write {
        path: dir.into(),
        source,
    })?;
    let failed = |why: String| ImageError::Download {
        package: package.into(),
        why,
    };
    run(Command::new("apt-get")
        .args(["download", "-q", package])
        .current_dir(scratch.path()))
    .map_err(|err| failed(err.to_string()))?;
    let got = cached(scratch.path(), package)
        .ok_or_else(|| failed("apt-get wrote no .deb file".into()))?;
    let target = dir.join(got.file_name().expect("a file"));
    std::fs::rename(&got, &target).map_err(|source| ImageError::Write {
        path: target.clone(),
        source,
    })?;
    Ok(target)
}

/// SHA-256 of a `.deb`, remembered next to it (`<file>.sha256`) with the file size.
pub fn fingerprint(deb: &Path) -> Result<String, ImageError> {
    let read_err = |source| ImageError::Read {
        path: deb.into(),
        source,
    };
    let size = std::fs::metadata(deb).map_err(read_err)?.len();
    let sidecar = PathBuf::from(format!("{}.sha256", deb.display()));
    if let Some(hex) = read_sidecar(&sidecar, size) {
        return Ok(hex);
    }
    let hex = sha256_file(deb)?;
    // The sidecar is only a cache: failing to write it costs a re-hash next time.
    let _ = std::fs::write(&sidecar, format!("{hex} {size}\n"));
    Ok(hex)
}

fn read_sidecar(sidecar: &Path, size: u64) -> Option<String> {
    let text = std::fs::read_to_string(sidecar).ok()?;
    let (hex, recorded) = text.trim().split_once(' ')?;
    let valid = recorded.parse::<u64>().ok()? == size && hex.len() == 64;
    valid.then(|| hex.to_string())
}

/// Hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ImageError> {
    let read_err = |source| ImageError::Read {
        path: path.into(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unpacks a package's files into `dest`.
pub fn extract(deb: &Deb, dest: &Path) -> Result<(), ImageError> {
    std::fs::create_dir_all(dest).map_err(|source| ImageError::Write {
        path: dest.into(),
        source,
    })?;
    run(Command::new("dpkg-deb").arg("-x").arg(&deb.path).arg(dest))
        .map(drop)
        .map_err(|err| ImageError::Extract {
            deb: deb.path.clone(),
            why: err.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_dependency_is_picked_from_apt_cache_output() {
        let out = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n";
        assert_eq!(
            parse_depends(out).as_deref(),
            Some("linux-image-6.1.0-56-cloud-amd64")
        );
        let out =
            "x\n  PreDepends: dpkg\n |Depends: linux-image-6.1.0-9-cloud-amd64\n  Depends: y\n";
        assert_eq!(
            parse_depends(out).as_deref(),
            Some("linux-image-6.1.0-9-cloud-amd64")
        );
        assert_eq!(parse_depends("x\n  Depends: initramfs-tools\n"), None);
        assert_eq!(
            resolve_kernel("linux-image-6.1.0-9-cloud-amd64").unwrap(),
            "linux-image-6.1.0-9-cloud-amd64"
        );
    }

    #[test]
    fn kernel_resolution_is_memoized_until_the_apt_lists_change() {
        let Ok(modified) = std::fs::metadata(APT_LISTS).and_then(|m| m.modified()) else {
            eprintln!("no {APT_LISTS}: the memo is never used on this host");
            return;
        };
        let dir = ScratchDir::new(&std::env::temp_dir(), "grader-memo-test-").unwrap();
        let memo = dir.path().join("kernel-package");
        let nanos = modified
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let fake = "linux-image-9.9.9-1-test-amd64";
        std::fs::write(&memo, format!("meta-for-test {nanos} {fake}\n")).unwrap();
        assert_eq!(resolve_kernel_memo("meta-for-test", &memo).unwrap(), fake);
        std::fs::write(&memo, format!("meta-for-test {} {fake}\n", nanos + 1)).unwrap();
        // A stale memo is not trusted: apt-cache is asked, and knows no such package.
        assert!(resolve_kernel_memo("meta-for-test", &memo).is_err());
    }

    #[test]
    fn fingerprints_are_remembered_and_checked_against_the_size() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "grader-debs-test-").unwrap();
        let deb = dir.path().join("abc_1.0_amd64.deb");
        std::fs::write(&deb, b"abc").unwrap();
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(fingerprint(&deb).unwrap(), expected);
        let sidecar = dir.path().join("abc_1.0_amd64.deb.sha256");
        assert_eq!(
            std::fs::read_to_string(&sidecar).unwrap(),
            format!("{expected} 3\n")
        );
        std::fs::write(&deb, b"abcd").unwrap();
        assert_ne!(
            fingerprint(&deb).unwrap(),
            expected,
            "stale sidecar trusted"
        );
        assert_eq!(cached(dir.path(), "abc").unwrap(), deb);
        assert_eq!(cached(dir.path(), "ab"), None);
    }
}
