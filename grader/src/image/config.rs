//! The typed form of `vm-images/image.toml`: which packages, modules and files make the
//! guest image, and the guest's defaults.

use std::path::Path;

use serde::Deserialize;

use super::ImageError;

/// The only `format_version` this grader understands.
pub const FORMAT_VERSION: u32 = 1;

/// `vm-images/image.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// Version of this file's format; must be [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The kernel and its modules.
    pub kernel: KernelConfig,
    /// The static busybox giving the shell and every applet.
    pub busybox: BusyboxConfig,
    /// Where shared libraries needed by the extras come from.
    #[serde(default)]
    pub libraries: LibrariesConfig,
    /// Binaries copied from other packages, with the shared libraries they need.
    #[serde(default)]
    pub extra: Vec<ExtraConfig>,
    /// Guest defaults.
    pub guest: GuestDefaults,
}

/// `[kernel]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KernelConfig {
    /// The Debian metapackage (`linux-image-cloud-amd64`), resolved with
    /// `apt-cache depends` to the concrete `linux-image-<abi>-<flavour>` package.
    pub package: String,
    /// Modules `insmod`-ed at boot; the builder orders them by their `depends=`.
    pub modules: Vec<String>,
    /// Modules shipped in the image but not loaded by `/init`: the lab7 guest's init loads
    /// them from `/etc/modules-optional.order` (network, power button). They may depend
    /// on `modules`.
    #[serde(default)]
    pub optional_modules: Vec<String>,
}

/// `[busybox]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BusyboxConfig {
    /// The Debian package (`busybox-static`).
    pub package: String,
    /// Path of the binary inside the package (`bin/busybox`).
    pub binary: String,
}

/// `[libraries]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LibrariesConfig {
    /// Packages searched for the dynamic loader and `DT_NEEDED` libraries (`libc6`).
    pub packages: Vec<String>,
}

/// One `[[extra]]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraConfig {
    /// The Debian package holding the files (`coreutils`).
    pub package: String,
    /// Paths inside the package (`usr/bin/tac`); installed at the same path in the guest.
    pub files: Vec<String>,
}

/// `[guest]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuestDefaults {
    /// The guest's hostname.
    pub hostname: String,
    /// Guest RAM in MiB when a lab asks for nothing else.
    pub memory_mb: u32,
    /// Name of the unprivileged account.
    pub student: String,
    /// Its uid.
    pub student_uid: u32,
    /// Its gid.
    pub student_gid: u32,
}

impl ImageConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ImageError> {
        let text = std::fs::read_to_string(path).map_err(|source| ImageError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks the text of `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ImageError> {
        let config: ImageConfig =
            toml::from_str(text).map_err(|source| ImageError::ParseConfig {
                path: path.into(),
                source,
            })?;
        config.check().map_err(|why| ImageError::InvalidConfig {
            path: path.into(),
            why,
        })?;
        Ok(config)
    }

    /// Every package the image needs besides the kernel, in a stable order.
    pub fn packages(&self) -> Vec<&str> {
        let mut names = vec![self.busybox.package.as_str()];
        names.extend(self.libraries.packages.iter().map(String::as_str));
        names.extend(self.extra.iter().map(|e| e.package.as_str()));
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(*n));
        names
    }

    fn check(&self) -> Result<(), String> {
        if self.format_version != FORMAT_VERSION {
            return Err(format!(
                "format_version {} is not supported (this grader reads {FORMAT_VERSION})",
                self.format_version
            ));
        }
        let packages =
            std::iter::once(&self.kernel.package).chain(self.extra.iter().map(|e| &e.package));
        for name in packages
            .chain([&self.busybox.package])
            .chain(&self.libraries.packages)
        {
            check_package_name(name)?;
        }
        let files = self.extra.iter().flat_map(|e| &e.files);
        for path in files.chain([&self.busybox.binary]) {
            check_relative(path)?;
        }
        let kernel = &self.kernel;
        let all = kernel.modules.iter().chain(&kernel.optional_modules);
        if all.clone().any(|m| m.is_empty() || m.contains('/')) {
            return Err(
                "kernel.modules or kernel.optional_modules holds an empty name or a path".into(),
            );
        }
        if let Some(both) = kernel
            .optional_modules
            .iter()
            .find(|m| kernel.modules.contains(m))
        {
            return Err(format!(
                "module {both} is in both kernel.modules and kernel.optional_modules"
            ));
        }
        self.guest.check()
    }
}

impl GuestDefaults {
    fn check(&self) -> Result<(), String> {
        let hostname_ok = !self.hostname.is_empty()
            && self.hostname.len() <= 64
            && self
                .hostname
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !hostname_ok {
            return Err(format!(
                "guest.hostname {:?} is not a valid hostname",
                self.hostname
            ));
        }
        let user_ok = !self.student.is_empty()
            && self
                .student
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !user_ok || self.student == "root" || self.student_uid == 0 {
            return Err(format!(
                "guest.student {:?} must be a non-root [a-z0-9] name",
                self.student
            ));
        }
        if self.memory_mb < 64 {
            return Err(format!(
                "guest.memory_mb {} is below the 64 MiB a guest needs",
                self.memory_mb
            ));
        }
        Ok(())
    }
}

/// Debian package names: `[a-z0-9][a-z0-9+.-]+` (they also reach a command line).
fn check_package_name(name: &str) -> Result<(), String> {
    let ok = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a Debian package name"))
    }
}

/// Paths inside a package: relative, no `..`, no empty components.
fn check_relative(path: &str) -> Result<(), String> {
    let ok = !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{path:?} must be a relative path inside the package, without `..`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vm-images/image.toml");
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn shipped_config_is_valid() {
        let config = ImageConfig::parse(&shipped(), Path::new("image.toml")).unwrap();
        assert_eq!(config.packages()[0], config.busybox.package);
        assert!(config.kernel.modules.iter().any(|m| m == "virtio_console"));
        assert!(config
            .extra
            .iter()
            .any(|e| e.files.iter().any(|f| f == "usr/bin/tac")));
    }

    #[test]
    fn unknown_keys_are_reported_with_their_name() {
        let text = shipped().replace("memory_mb = 256", "memory_mb = 256\nmemroy = 1");
        let err = ImageConfig::parse(&text, Path::new("image.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("image.toml"), "{err}");
        let source = ImageConfig::parse(&text, Path::new("x")).unwrap_err();
        let detail = std::error::Error::source(&source).unwrap().to_string();
        assert!(detail.contains("memroy"), "{detail}");
    }

    #[test]
    fn bad_values_are_refused() {
        let cases = [
            ("format_version = 1", "format_version = 2"),
            ("\"usr/bin/tac\"", "\"/usr/bin/tac\""),
            ("\"usr/bin/tac\"", "\"usr/../etc/shadow\""),
            ("package = \"coreutils\"", "package = \"coreutils; rm\""),
            ("hostname = \"aise-guest\"", "hostname = \"a b\""),
            ("student_uid = 1000", "student_uid = 0"),
            ("\"virtio_net\",", "\"virtio_net\", \"virtio\","),
        ];
        for (from, to) in cases {
            let text = shipped().replace(from, to);
            assert_ne!(text, shipped(), "{from} not in the shipped file");
            let err = ImageConfig::parse(&text, Path::new("image.toml"));
            assert!(
                matches!(err, Err(ImageError::InvalidConfig { .. })),
                "{to}: {err:?}"
            );
        }
    }
}
