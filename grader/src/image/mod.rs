//! The guest image: a Debian cloud kernel plus a busybox initramfs holding `/init`, the
//! virtio modules, the static agent and a few extra binaries, built from
//! `vm-images/image.toml` and cached under `vm-images/cache/<hash>/`.
//!
//! The hash covers every input (`image.toml`, `init`, each `.deb`'s SHA-256, the agent
//! binary and [`LAYOUT_VERSION`]), so a cached image is reused exactly when nothing that
//! went into it changed. An image is built in a scratch directory and renamed into place:
//! a directory named after a hash is always complete.

mod agent;
pub mod config;
mod debs;
pub mod elf;
mod initramfs;
pub mod modules;
pub(crate) mod scratch;
mod status;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use agent::{agent_path, build_agent, check_static, AGENT_TARGET};
pub use config::ImageConfig;
use debs::Deb;
pub use initramfs::{GUEST_AGENT_PATH, GUEST_MODULES_DIR};
use scratch::ScratchDir;
pub use status::{status, ImageStatus};

/// Bump when the builder lays the image out differently, to invalidate cached images.
pub const LAYOUT_VERSION: u32 = 3;
/// Cached images kept besides the current one; older ones are deleted after a build.
const KEEP_OLD_IMAGES: usize = 2;
/// Scratch directories of image builds, in the cache directory.
const BUILD_PREFIX: &str = ".build-";

/// A built image, ready to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The kernel (`bzImage`) for `-kernel`.
    pub kernel: PathBuf,
    /// The base initramfs for `-initrd`: an uncompressed newc cpio, 4-byte padded so an
    /// archive appended to it is read too.
    pub initrd: PathBuf,
    /// Hex SHA-256 of the inputs; the image's directory name.
    pub hash: String,
}

/// What went into an image, stored as `manifest.json` next to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// The image hash.
    pub hash: String,
    /// `uname -r` of the guest kernel.
    pub kernel_version: String,
    /// Every package used, kernel first.
    pub packages: Vec<ManifestDeb>,
    /// Modules in load order.
    pub modules: Vec<String>,
    /// Hex SHA-256 of the agent binary.
    pub agent_sha256: String,
    /// Size of `initrd.cpio`.
    pub initrd_bytes: u64,
}

/// One package of a [`Manifest`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestDeb {
    /// Package name.
    pub package: String,
    /// `.deb` file name in `vm-images/cache/debs/`.
    pub file: String,
    /// Hex SHA-256 of the `.deb`.
    pub sha256: String,
}

/// Errors of building or finding the guest image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory could not be written.
    #[error("failed to write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `image.toml` is not valid TOML for [`ImageConfig`].
    #[error("failed to parse {path}")]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// Why, with line and key.
        #[source]
        source: toml::de::Error,
    },
    /// `image.toml` parsed but holds a bad value.
    #[error("failed to accept {path}: {why}")]
    InvalidConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The kernel metapackage could not be resolved.
    #[error("failed to resolve the kernel package {package}: {why}\n(if the package lists are missing or stale, run `apt-get update`)")]
    ResolveKernel {
        /// The metapackage.
        package: String,
        /// Why.
        why: String,
    },
    /// `apt-get download` failed.
    #[error("failed to download the Debian package {package}: {why}\n(if the package lists are missing or stale, run `apt-get update`)")]
    Download {
        /// The package.
        package: String,
        /// Why.
        why: String,
    },
    /// A tool could not be started.
    #[error("failed to run {program}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A tool ran and failed.
    #[error("failed to run {program} successfully ({status}):\n{stderr}")]
    Tool {
        /// The program.
        program: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The end of its stderr.
        stderr: String,
    },
    /// `dpkg-deb -x` failed.
    #[error("failed to unpack {deb}: {why}")]
    Extract {
        /// The `.deb`.
        deb: PathBuf,
        /// Why.
        why: String,
    },
    /// A file named in `image.toml` is not in its package.
    #[error("failed to find {path} in the package {package}")]
    MissingFile {
        /// The package.
        package: String,
        /// The path inside it.
        path: String,
    },
    /// A kernel module is missing or the set cannot be ordered.
    #[error("failed to prepare kernel module {name}: {why}")]
    Module {
        /// The module (or `kernel.modules` for the whole set).
        name: String,
        /// Why.
        why: String,
    },
    /// An ELF file could not be read.
    #[error("failed to read the ELF file {path}")]
    Elf {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: elf::ElfError,
    },
    /// A shared library an extra needs is in none of the packages.
    #[error(
        "failed to find {library} (needed by {binary}) in the [libraries] packages of image.toml"
    )]
    MissingLibrary {
        /// The library (or interpreter path).
        library: String,
        /// What needs it.
        binary: String,
    },
    /// The agent binary is dynamically linked.
    #[error("failed to use {path} as the guest agent: it is not static (needs {needs:?}); build it with `build_agent`")]
    AgentNotStatic {
        /// The binary.
        path: PathBuf,
        /// Its interpreter and libraries.
        needs: Vec<String>,
    },
    /// Writing the initramfs failed.
    #[error("failed to write the initramfs")]
    Cpio(#[from] crate::cpio::CpioError),
    /// The manifest could not be written or read.
    #[error("failed to handle the image manifest {path}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// `vm-images/cache` under the workspace root.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join("vm-images/cache")
}

/// The image for the current inputs: reused from the cache, or built (downloading
/// missing packages). `agent` is the static agent binary (see [`build_agent`]).
pub fn ensure(root: &Path, agent: &Path, log: &mut dyn Write) -> Result<Image, ImageError> {
    let debs_dir = cache_dir(root).join("debs");
    std::fs::create_dir_all(&debs_dir).map_err(|source| ImageError::Write {
        path: debs_dir.clone(),
        source,
    })?;
    let sources = Sources::read(root)?;
    scratch::sweep(&cache_dir(root), BUILD_PREFIX);
    scratch::sweep(&debs_dir, debs::DOWNLOAD_PREFIX);
    let debs = sources
        .packages()
        .iter()
        .map(|package| debs::fetch(&debs_dir, package, log))
        .collect::<Result<Vec<_>, _>>()?;
    let agent_bytes = std::fs::read(agent).map_err(|source| ImageError::Read {
        path: agent.into(),
        source,
    })?;
    agent::check_static_bytes(agent, &agent_bytes)?;
    let hash = sources.hash(&debs, &sha256_hex(&agent_bytes));
    if let Some(image) = Image::cached(&cache_dir(root), &hash) {
        return Ok(image);
    }
    let _ = writeln!(log, "image: building guest image {}", short(&hash));
    let image = build(
        root,
        &Build {
            sources: &sources,
            debs: &debs,
            agent: &agent_bytes,
            hash: &hash,
        },
        log,
    )?;
    prune(&cache_dir(root), &hash);
    Ok(image)
}

impl Image {
    /// The image in `cache/<hash>/`, if it was completely built.
    pub fn cached(cache: &Path, hash: &str) -> Option<Image> {
        let dir = cache.join(hash);
        let image = Image {
            kernel: dir.join("vmlinuz"),
            initrd: dir.join("initrd.cpio"),
            hash: hash.into(),
        };
        let complete =
            dir.join("manifest.json").is_file() && image.kernel.is_file() && image.initrd.is_file();
        complete.then_some(image)
    }

    /// The directory holding the image.
    pub fn dir(&self) -> &Path {
        self.initrd
            .parent()
            .expect("initrd lives in the image directory")
    }

    /// Reads the image's `manifest.json`.
    pub fn manifest(&self) -> Result<Manifest, ImageError> {
        let path = self.dir().join("manifest.json");
        let text = std::fs::read(&path).map_err(|source| ImageError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| ImageError::Manifest { path, source })
    }
}

/// The inputs read from `vm-images/`: config, init, and the resolved kernel package.
#[derive(Debug)]
struct Sources {
    config: ImageConfig,
    config_bytes: Vec<u8>,
    init: Vec<u8>,
    kernel_package: String,
}

impl Sources {
    fn read(root: &Path) -> Result<Self, ImageError> {
        let read = |path: PathBuf| {
            std::fs::read(&path).map_err(|source| ImageError::Read { path, source })
        };
        let config_path = root.join("vm-images/image.toml");
        let config_bytes = read(config_path.clone())?;
        let config = ImageConfig::parse(&String::from_utf8_lossy(&config_bytes), &config_path)?;
        let init = read(root.join("vm-images/init"))?;
        let memo = cache_dir(root).join("kernel-package");
        let kernel_package = debs::resolve_kernel_memo(&config.kernel.package, &memo)?;
        Ok(Sources {
            config,
            config_bytes,
            init,
            kernel_package,
        })
    }

    /// Every package, the kernel first.
    fn packages(&self) -> Vec<String> {
        let others = self.config.packages().into_iter().map(String::from);
        std::iter::once(self.kernel_package.clone())
            .chain(others)
            .collect()
    }

    /// The image hash: each input length-prefixed, so no two input sets collide.
    fn hash(&self, debs: &[Deb], agent_sha256: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("grader image layout {LAYOUT_VERSION}\n"));
        for (name, bytes) in [("image.toml", &self.config_bytes), ("init", &self.init)] {
            hasher.update(format!("{name} {}\n", bytes.len()));
            hasher.update(bytes);
        }
        for deb in debs {
            hasher.update(format!("deb {} {}\n", deb.package, deb.sha256));
        }
        hasher.update(format!("agent {agent_sha256}\n"));
        debs::hex(&hasher.finalize())
    }
}

/// One image build's inputs.
#[derive(Debug)]
struct Build<'a> {
    sources: &'a Sources,
    debs: &'a [Deb],
    agent: &'a [u8],
    hash: &'a str,
}

/// Unpacks, assembles and publishes the image as `cache/<hash>/`.
fn build(root: &Path, build: &Build, log: &mut dyn Write) -> Result<Image, ImageError> {
    let cache = cache_dir(root);
    let scratch = ScratchDir::new(&cache, BUILD_PREFIX).map_err(|source| ImageError::Write {
        path: cache.clone(),
        source,
    })?;
    let unpack = scratch.path().join("unpack");
    let mut roots = Vec::new();
    for deb in build.debs {
        let dest = unpack.join(&deb.package);
        let _ = writeln!(log, "image: unpacking {}", deb.path.display());
        debs::extract(deb, &dest)?;
        roots.push((deb.package.clone(), dest));
    }
    let (vmlinuz, version) = kernel_files(&roots[0].1, &roots[0].0)?;
    let kernel = &build.sources.config.kernel;
    let wanted: Vec<String> = kernel
        .modules
        .iter()
        .chain(&kernel.optional_modules)
        .cloned()
        .collect();
    let modules = modules::resolve(&roots[0].1.join("lib/modules").join(&version), &wanted)?;
    let inputs = initramfs::Inputs {
        config: &build.sources.config,
        init: &build.sources.init,
        agent: build.agent,
        modules: &modules,
        packages: &roots[1..],
    };
    let initrd = scratch.path().join("initrd.cpio");
    let initrd_bytes = write_initrd(&initramfs::assemble(&inputs)?, &initrd)?;
    let kernel = scratch.path().join("vmlinuz");
    std::fs::copy(&vmlinuz, &kernel).map_err(|source| ImageError::Write {
        path: kernel.clone(),
        source,
    })?;
    std::fs::remove_dir_all(&unpack).map_err(|source| ImageError::Write {
        path: unpack.clone(),
        source,
    })?;
    let manifest = Manifest {
        hash: build.hash.into(),
        kernel_version: version,
        packages: build.debs.iter().map(ManifestDeb::from).collect(),
        modules: modules.into_iter().map(|m| m.name).collect(),
        agent_sha256: sha256_hex(build.agent),
        initrd_bytes,
    };
    write_manifest(&scratch.path().join("manifest.json"), &manifest)?;
    publish(scratch, &cache, build.hash)
}

/// Renames the finished build into place (or adopts a concurrent identical build).
fn publish(scratch: ScratchDir, cache: &Path, hash: &str) -> Result<Image, ImageError> {
    let target = cache.join(hash);
    scratch
        .publish(&target)
        .map_err(|source| ImageError::Write {
            path: target.clone(),
            source,
        })?;
    Image::cached(cache, hash).ok_or_else(|| ImageError::Write {
        path: target,
        source: std::io::Error::other("image directory incomplete after publishing"),
    })
}

/// `boot/vmlinuz-<version>` of the unpacked kernel package, and that version.
fn kernel_files(root: &Path, package: &str) -> Result<(PathBuf, String), ImageError> {
    let boot = root.join("boot");
    let entries = std::fs::read_dir(&boot).map_err(|source| ImageError::Read {
        path: boot.clone(),
        source,
    })?;
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix("vmlinuz-")
                .map(String::from)
        })
        .collect();
    found.sort();
    match found.as_slice() {
        [version] => Ok((boot.join(format!("vmlinuz-{version}")), version.clone())),
        _ => Err(ImageError::MissingFile {
            package: package.into(),
            path: "boot/vmlinuz-<version> (exactly one)".into(),
        }),
    }
}

/// Writes the archive and returns its size (a multiple of 4 by construction).
fn write_initrd(tree: &crate::cpio::Tree, path: &Path) -> Result<u64, ImageError> {
    let write_err = |source| ImageError::Write {
        path: path.into(),
        source,
    };
    let file = std::fs::File::create(path).map_err(write_err)?;
    let file = tree
        .write(BufWriter::new(file))?
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    let len = file.metadata().map_err(write_err)?.len();
    debug_assert_eq!(len % 4, 0, "cpio writer pads every entry");
    Ok(len)
}

fn write_manifest(path: &Path, manifest: &Manifest) -> Result<(), ImageError> {
    let text = serde_json::to_vec_pretty(manifest).map_err(|source| ImageError::Manifest {
        path: path.into(),
        source,
    })?;
    std::fs::write(path, text).map_err(|source| ImageError::Write {
        path: path.into(),
        source,
    })
}

impl From<&Deb> for ManifestDeb {
    fn from(deb: &Deb) -> Self {
        let file = deb
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ManifestDeb {
            package: deb.package.clone(),
            file,
            sha256: deb.sha256.clone(),
        }
    }
}

/// Deletes all but the newest [`KEEP_OLD_IMAGES`] images other than `current`. Best
/// effort: a grader still booting an old image keeps its open files.
fn prune(cache: &Path, current: &str) {
    let mut old: Vec<(std::time::SystemTime, PathBuf)> = cached_images(cache)
        .into_iter()
        .filter(|hash| hash != current)
        .filter_map(|hash| {
            let dir = cache.join(hash);
            Some((
                std::fs::metadata(dir.join("manifest.json"))
                    .ok()?
                    .modified()
                    .ok()?,
                dir,
            ))
        })
        .collect();
    old.sort();
    old.reverse();
    for (_, dir) in old.into_iter().skip(KEEP_OLD_IMAGES) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Hashes of the complete images in `cache`.
fn cached_images(cache: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return Vec::new();
    };
    let mut hashes: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|name| name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()))
        .filter(|name| Image::cached(cache, name).is_some())
        .collect();
    hashes.sort();
    hashes
}

fn sha256_hex(bytes: &[u8]) -> String {
    debs::hex(&Sha256::digest(bytes))
}

/// The first 12 hex digits, for messages.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
