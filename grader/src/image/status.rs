//! Reports what is on disk for the guest image — packages, agent, built images — without
//! downloading or building anything (for `doctor`-style commands).

use std::fmt;
use std::path::{Path, PathBuf};

use super::debs::{self, Deb};
use super::{cache_dir, cached_images, short, Image, Sources};

/// What is on disk for the image, without downloading or building anything.
#[derive(Debug, Clone, Default)]
pub struct ImageStatus {
    /// `vm-images/cache`.
    pub cache_dir: PathBuf,
    /// The concrete kernel package, when it could be resolved.
    pub kernel_package: Option<String>,
    /// Every package and its cached `.deb`, if downloaded.
    pub packages: Vec<(String, Option<PathBuf>)>,
    /// The agent binary, if it exists.
    pub agent: Option<PathBuf>,
    /// The image for the current inputs, if built.
    pub image: Option<Image>,
    /// Every complete image in the cache.
    pub cached_images: Vec<String>,
    /// Why the current image cannot be named (bad config, no apt lists, …).
    pub problems: Vec<String>,
}

impl ImageStatus {
    /// Whether [`ensure`](super::ensure) would return at once.
    pub fn ready(&self) -> bool {
        self.image.is_some()
    }
}

/// Reports what is cached and what is missing for the image `ensure` would return.
pub fn status(root: &Path, agent: &Path) -> ImageStatus {
    let cache = cache_dir(root);
    let mut status = ImageStatus {
        cache_dir: cache.clone(),
        cached_images: cached_images(&cache),
        ..Default::default()
    };
    status.agent = agent.is_file().then(|| agent.to_path_buf());
    let sources = match Sources::read(root) {
        Ok(sources) => sources,
        Err(err) => {
            status.problems.push(crate::errors::error_chain(&err));
            return status;
        }
    };
    status.kernel_package = Some(sources.kernel_package.clone());
    let debs_dir = cache.join("debs");
    status.packages = sources
        .packages()
        .into_iter()
        .map(|p| {
            let deb = debs::cached(&debs_dir, &p);
            (p, deb)
        })
        .collect();
    status.image = current_image(&sources, &status, &cache).unwrap_or_else(|why| {
        status.problems.push(why);
        None
    });
    status
}

/// The built image for the inputs on disk, when every input is there.
fn current_image(
    sources: &Sources,
    status: &ImageStatus,
    cache: &Path,
) -> Result<Option<Image>, String> {
    let (Some(agent), true) = (
        &status.agent,
        status.packages.iter().all(|(_, d)| d.is_some()),
    ) else {
        return Ok(None);
    };
    let mut debs = Vec::new();
    for (package, path) in &status.packages {
        let path = path.clone().expect("checked above");
        let sha256 = debs::fingerprint(&path).map_err(|e| crate::errors::error_chain(&e))?;
        debs.push(Deb {
            package: package.clone(),
            path,
            sha256,
        });
    }
    let agent_sha256 = debs::sha256_file(agent).map_err(|e| crate::errors::error_chain(&e))?;
    Ok(Image::cached(cache, &sources.hash(&debs, &agent_sha256)))
}

impl fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.image {
            Some(image) => writeln!(
                f,
                "guest image: ready ({}, {})",
                short(&image.hash),
                image.dir().display()
            )?,
            None => writeln!(f, "guest image: not built for the current inputs")?,
        }
        for (package, deb) in &self.packages {
            match deb {
                Some(path) => writeln!(f, "  package {package}: {}", path.display())?,
                None => writeln!(f, "  package {package}: not downloaded")?,
            }
        }
        match &self.agent {
            Some(path) => writeln!(f, "  agent: {}", path.display())?,
            None => writeln!(f, "  agent: not built")?,
        }
        writeln!(
            f,
            "  cached images: {} in {}",
            self.cached_images.len(),
            self.cache_dir.display()
        )?;
        self.problems
            .iter()
            .try_for_each(|p| writeln!(f, "  problem: {p}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::scratch::ScratchDir;

    #[test]
    fn a_broken_config_is_reported_not_raised() {
        let root = ScratchDir::new(&std::env::temp_dir(), "grader-status-test-").unwrap();
        std::fs::create_dir_all(root.path().join("vm-images")).unwrap();
        std::fs::write(
            root.path().join("vm-images/image.toml"),
            "format_version = [",
        )
        .unwrap();
        let status = status(root.path(), &root.path().join("no-agent"));
        assert!(!status.ready());
        assert_eq!(status.agent, None);
        assert!(
            status.problems[0].contains("failed to parse"),
            "{:?}",
            status.problems
        );
        let text = status.to_string();
        assert!(
            text.contains("not built") && text.contains("problem: failed to parse"),
            "{text}"
        );
    }
}
