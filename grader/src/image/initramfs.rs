//! Lays out the base initramfs: busybox and `/init`, the account files, the kernel
//! modules with their load order, the agent, and the extra binaries together with the
//! dynamic loader and shared libraries they need (found by reading their ELF headers).

use std::collections::VecDeque;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use super::config::ImageConfig;
use super::elf::{self, Elf};
use super::modules::Module;
use super::ImageError;
use crate::cpio::{Entry, Node, Tree};

/// Where the kernel modules go, flat, in the guest (`/etc/modules.order` names files here).
pub const GUEST_MODULES_DIR: &str = "lib/modules";
/// Where the agent goes in the guest; `/init` execs it.
pub const GUEST_AGENT_PATH: &str = "sbin/grader-agent";
/// Directories searched for `DT_NEEDED` libraries, in the loader's order.
const LIBRARY_DIRS: &[&str] = &[
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu",
    "lib64",
    "usr/lib64",
    "lib",
    "usr/lib",
];

/// Everything the layout is made from, already on disk.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The parsed `image.toml`.
    pub config: &'a ImageConfig,
    /// The `/init` script.
    pub init: &'a [u8],
    /// The static agent binary.
    pub agent: &'a [u8],
    /// Kernel modules, in load order.
    pub modules: &'a [Module],
    /// `(package, unpacked root)` of every non-kernel package.
    pub packages: &'a [(String, PathBuf)],
}

/// Builds the whole base tree.
pub fn assemble(inputs: &Inputs) -> Result<Tree, ImageError> {
    let mut tree = Tree::new();
    skeleton(&mut tree, inputs.config)?;
    let busybox = inputs.config.busybox.binary.as_str();
    let (data, _) = read_in(
        root_of(inputs, &inputs.config.busybox.package)?,
        busybox,
        &inputs.config.busybox.package,
    )?;
    tree.file(busybox, 0o755, data)?;
    let busybox_host = resolve_in(root_of(inputs, &inputs.config.busybox.package)?, busybox)
        .ok_or_else(|| ImageError::MissingFile {
            package: inputs.config.busybox.package.clone(),
            path: busybox.into(),
        })?;
    if busybox != "bin/busybox" {
        tree.symlink("bin/busybox", &format!("/{busybox}"))?;
    }
    tree.symlink("bin/sh", "busybox")?;
    tree.file("init", 0o755, inputs.init.to_vec())?;
    tree.file(GUEST_AGENT_PATH, 0o755, inputs.agent.to_vec())?;
    add_modules(
        &mut tree,
        inputs.modules,
        &inputs.config.kernel.optional_modules,
    )?;
    add_extras(&mut tree, inputs)?;
    add_applets(&mut tree, &list_applets(&busybox_host)?)?;
    Ok(tree)
}

/// The applets a static busybox offers, as paths (`bin/ls`, `usr/bin/tac`…): what
/// `busybox --install -s` would link, asked of the binary itself at build time so the
/// guest's `/init` need not run it at every boot.
fn list_applets(busybox: &Path) -> Result<Vec<String>, ImageError> {
    let program = busybox.display().to_string();
    let out = std::process::Command::new(busybox)
        .arg("--list-full")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| ImageError::Spawn {
            program: program.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(ImageError::Tool {
            program,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .map(|l| l.trim().trim_start_matches('/').to_owned())
        .filter(|l| !l.is_empty())
        .collect())
}

/// A symlink to `/bin/busybox` for every applet path not taken by a real file (GNU
/// `tac` stays GNU), as `busybox --install -s` does.
fn add_applets(tree: &mut Tree, applets: &[String]) -> Result<(), ImageError> {
    for applet in applets {
        if !tree.contains(applet) {
            tree.symlink(applet, "/bin/busybox")?;
        }
    }
    Ok(())
}

/// Directories, device node and `/etc` files every guest has.
fn skeleton(tree: &mut Tree, config: &ImageConfig) -> Result<(), ImageError> {
    for dir in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "lib", "proc", "sys", "dev", "run", "mnt",
        "var",
    ] {
        tree.dir(dir, 0o755)?;
    }
    tree.dir("tmp", 0o1777)?;
    tree.dir("root", 0o700)?;
    // The kernel opens /dev/console for init before /init can mount devtmpfs.
    tree.insert(
        "dev/console",
        Entry::root(Node::CharDev { major: 5, minor: 1 }, 0o600),
    )?;
    let guest = &config.guest;
    let home = format!("home/{}", guest.student);
    let owned = Entry {
        node: Node::Dir,
        mode: 0o755,
        uid: guest.student_uid,
        gid: guest.student_gid,
    };
    tree.insert(&home, owned)?;
    let passwd = format!(
        "root:x:0:0:root:/root:/bin/sh\n{0}:x:{1}:{2}:{0}:/{home}:/bin/sh\n",
        guest.student, guest.student_uid, guest.student_gid
    );
    tree.file("etc/passwd", 0o644, passwd.into_bytes())?;
    let group = format!("root:x:0:\n{}:x:{}:\n", guest.student, guest.student_gid);
    tree.file("etc/group", 0o644, group.into_bytes())?;
    tree.file(
        "etc/hostname",
        0o644,
        format!("{}\n", guest.hostname).into_bytes(),
    )?;
    Ok(())
}

/// The `.ko` files plus `/etc/modules.order` (loaded by `/init`) and
/// `/etc/modules-optional.order` (the `optional` ones, loaded only by the lab7 guest's
/// init), one file name per line, in load order.
fn add_modules(tree: &mut Tree, modules: &[Module], optional: &[String]) -> Result<(), ImageError> {
    let (mut order, mut optional_order) = (String::new(), String::new());
    for module in modules {
        let data = std::fs::read(&module.path).map_err(|source| ImageError::Read {
            path: module.path.clone(),
            source,
        })?;
        let file = format!("{}.ko", module.name);
        tree.file(&format!("{GUEST_MODULES_DIR}/{file}"), 0o644, data)?;
        let list = if optional
            .iter()
            .any(|o| super::modules::canonical(o) == module.name)
        {
            &mut optional_order
        } else {
            &mut order
        };
        list.push_str(&file);
        list.push('\n');
    }
    tree.file("etc/modules.order", 0o644, order.into_bytes())?;
    tree.file(
        "etc/modules-optional.order",
        0o644,
        optional_order.into_bytes(),
    )?;
    Ok(())
}

/// Each `[[extra]]` file at its own path, then the libraries they need, transitively.
fn add_extras(tree: &mut Tree, inputs: &Inputs) -> Result<(), ImageError> {
    let mut pending = VecDeque::new();
    for extra in &inputs.config.extra {
        let root = root_of(inputs, &extra.package)?;
        for file in &extra.files {
            let (data, mode) = read_in(root, file, &extra.package)?;
            pending.extend(dependencies(&data, file)?);
            tree.file(file, mode, data)?;
        }
    }
    let search: Vec<&Path> = library_roots(inputs);
    while let Some((wanted, by)) = pending.pop_front() {
        let (guest_path, host_path) =
            find_library(&search, &wanted).ok_or_else(|| ImageError::MissingLibrary {
                library: wanted.clone(),
                binary: by.clone(),
            })?;
        if tree.contains(&guest_path) {
            continue;
        }
        let (data, mode) = read_file(&host_path)?;
        pending.extend(dependencies(&data, &guest_path)?);
        tree.file(&guest_path, mode, data)?;
    }
    Ok(())
}

/// What an ELF file needs at run time: its interpreter (an absolute path) and its
/// `DT_NEEDED` names, each paired with the file that needs it (for error messages).
fn dependencies(data: &[u8], path: &str) -> Result<Vec<(String, String)>, ImageError> {
    if !elf::is_elf(data) {
        return Ok(Vec::new());
    }
    let elf_err = |source| ImageError::Elf {
        path: path.into(),
        source,
    };
    let elf = Elf::parse(data).map_err(elf_err)?;
    let mut wanted: Vec<String> = elf.interp().map_err(elf_err)?.into_iter().collect();
    wanted.extend(elf.needed().map_err(elf_err)?);
    Ok(wanted.into_iter().map(|w| (w, path.to_string())).collect())
}

/// The library packages first, then every other package, as search roots.
fn library_roots<'a>(inputs: &'a Inputs) -> Vec<&'a Path> {
    let libs = &inputs.config.libraries.packages;
    let (mut first, rest): (Vec<_>, Vec<_>) =
        inputs.packages.iter().partition(|(p, _)| libs.contains(p));
    first.extend(rest);
    first.into_iter().map(|(_, root)| root.as_path()).collect()
}

/// `(guest path, host file)` of a library: an absolute name (the interpreter) is looked
/// up as is, a bare name in [`LIBRARY_DIRS`].
fn find_library(roots: &[&Path], wanted: &str) -> Option<(String, PathBuf)> {
    let candidates: Vec<String> = match wanted.strip_prefix('/') {
        Some(absolute) => vec![absolute.to_string()],
        None => LIBRARY_DIRS
            .iter()
            .map(|dir| format!("{dir}/{wanted}"))
            .collect(),
    };
    roots.iter().find_map(|root| {
        candidates
            .iter()
            .find_map(|rel| resolve_in(root, rel).map(|host| (rel.clone(), host)))
    })
}

/// Follows symlinks inside an unpacked package, absolute targets being relative to its
/// root; returns the regular file reached, if any.
pub fn resolve_in(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut rel = normalize(Path::new(rel))?;
    for _ in 0..16 {
        let path = root.join(&rel);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if meta.is_file() {
            return Some(path);
        }
        if !meta.file_type().is_symlink() {
            return None;
        }
        let target = std::fs::read_link(&path).ok()?;
        let next = match target.strip_prefix("/") {
            Ok(absolute) => absolute.to_path_buf(),
            Err(_) => rel.parent().unwrap_or(Path::new("")).join(target),
        };
        rel = normalize(&next)?;
    }
    None
}

/// Resolves `.` and `..` lexically; `None` if it climbs out of the root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.iter().collect())
}

fn root_of<'a>(inputs: &'a Inputs, package: &str) -> Result<&'a Path, ImageError> {
    let found = inputs.packages.iter().find(|(p, _)| p == package);
    found
        .map(|(_, root)| root.as_path())
        .ok_or_else(|| ImageError::MissingFile {
            package: package.into(),
            path: "(package not unpacked)".into(),
        })
}

/// A file of an unpacked package, through symlinks: its bytes and permission bits.
fn read_in(root: &Path, rel: &str, package: &str) -> Result<(Vec<u8>, u32), ImageError> {
    let path = resolve_in(root, rel).ok_or_else(|| ImageError::MissingFile {
        package: package.into(),
        path: rel.into(),
    })?;
    read_file(&path)
}

fn read_file(path: &Path) -> Result<(Vec<u8>, u32), ImageError> {
    let read_err = |source| ImageError::Read {
        path: path.into(),
        source,
    };
    let mode = std::fs::metadata(path)
        .map_err(read_err)?
        .permissions()
        .mode()
        & 0o7777;
    Ok((std::fs::read(path).map_err(read_err)?, mode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::scratch::ScratchDir;

    #[test]
    fn applet_links_never_replace_real_files() {
        let mut tree = Tree::new();
        tree.file("usr/bin/tac", 0o755, b"GNU".to_vec()).unwrap();
        tree.file("bin/busybox", 0o755, b"bb".to_vec()).unwrap();
        let applets = ["bin/ls".to_owned(), "usr/bin/tac".to_owned()];
        add_applets(&mut tree, &applets).unwrap();
        let archive = tree.write(Vec::new()).unwrap();
        let entries = crate::cpio::tests::parse(&archive);
        let find = |name: &str| entries.iter().find(|e| e.0 == name).unwrap().3.clone();
        assert_eq!(find("bin/ls"), b"/bin/busybox");
        assert_eq!(find("usr/bin/tac"), b"GNU");
    }

    #[test]
    fn symlinks_resolve_inside_the_package_root() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "grader-initramfs-test-").unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("lib/x86_64-linux-gnu")).unwrap();
        std::fs::create_dir_all(root.join("lib64")).unwrap();
        std::fs::write(root.join("lib/x86_64-linux-gnu/ld-2.so"), b"ld").unwrap();
        let link =
            |target: &str, at: &str| std::os::unix::fs::symlink(target, root.join(at)).unwrap();
        link("/lib/x86_64-linux-gnu/ld-2.so", "lib64/ld.so");
        link("ld-2.so", "lib/x86_64-linux-gnu/ld.so");
        link("../../../../etc/passwd", "lib/escape");
        link("loop", "lib/loop");
        let real = root.join("lib/x86_64-linux-gnu/ld-2.so");
        assert_eq!(resolve_in(root, "lib64/ld.so"), Some(real.clone()));
        assert_eq!(
            resolve_in(root, "lib/x86_64-linux-gnu/ld.so"),
            Some(real.clone())
        );
        assert_eq!(resolve_in(root, "lib/escape"), None);
        assert_eq!(resolve_in(root, "lib/loop"), None);
        let (guest, host) = find_library(&[root], "/lib64/ld.so").unwrap();
        assert_eq!((guest.as_str(), host), ("lib64/ld.so", real.clone()));
        let (guest, _) = find_library(&[root], "ld.so").unwrap();
        assert_eq!(guest, "lib/x86_64-linux-gnu/ld.so");
        assert_eq!(find_library(&[root], "libnone.so.1"), None);
    }
}
