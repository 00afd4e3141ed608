//! Finds the kernel modules the image loads and orders them so that every module comes
//! after the modules it depends on, from the `depends=` field of each `.ko`'s `.modinfo`
//! section (the kernel package ships no `modules.dep`, and the host may have no `depmod`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::elf::Elf;
use super::ImageError;

/// A module ready to be put in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Its name (`virtio_pci`).
    pub name: String,
    /// The `.ko` file in the extracted kernel package.
    pub path: PathBuf,
}

/// Module names use `_`; file names sometimes use `-` for the same module.
pub fn canonical(name: &str) -> String {
    name.replace('-', "_")
}

/// The `depends=` list of a module's `.modinfo` bytes (`key=value` strings split by NULs).
pub fn depends(modinfo: &[u8]) -> Vec<String> {
    modinfo
        .split(|&b| b == 0)
        .filter_map(|field| field.strip_prefix(b"depends="))
        .flat_map(|list| list.split(|&b| b == b','))
        .filter(|name| !name.is_empty())
        .map(|name| canonical(&String::from_utf8_lossy(name)))
        .collect()
}

/// Orders `wanted` (name → its dependencies) so that dependencies load first; ties keep
/// the order of `wanted`'s names as given. Fails on a dependency outside the set (insmod
/// would refuse the module) and on cycles.
pub fn order(wanted: &[(String, Vec<String>)]) -> Result<Vec<String>, String> {
    let known: BTreeMap<&str, &[String]> = wanted
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    for (name, deps) in wanted {
        if let Some(missing) = deps.iter().find(|d| !known.contains_key(d.as_str())) {
            return Err(format!(
                "module {name} needs {missing}, which kernel.modules does not list"
            ));
        }
    }
    let mut done: Vec<String> = Vec::new();
    while done.len() < wanted.len() {
        let ready = wanted
            .iter()
            .find(|(name, deps)| !done.contains(name) && deps.iter().all(|d| done.contains(d)));
        match ready {
            Some((name, _)) => done.push(name.clone()),
            None => {
                let stuck: Vec<&str> = wanted
                    .iter()
                    .filter(|(n, _)| !done.contains(n))
                    .map(|(n, _)| n.as_str())
                    .collect();
                return Err(format!(
                    "modules depend on each other in a cycle: {}",
                    stuck.join(", ")
                ));
            }
        }
    }
    Ok(done)
}

/// Finds `names` under `modules_dir` (`lib/modules/<version>`) and returns them in load
/// order.
pub fn resolve(modules_dir: &Path, names: &[String]) -> Result<Vec<Module>, ImageError> {
    let mut files = BTreeMap::new();
    index(modules_dir, &mut files)?;
    let mut wanted = Vec::new();
    for name in names.iter().map(|n| canonical(n)) {
        let path = files.get(&name).ok_or_else(|| ImageError::Module {
            name: name.clone(),
            why: format!("no {name}.ko under {}", modules_dir.display()),
        })?;
        let bytes = std::fs::read(path).map_err(|source| ImageError::Read {
            path: path.clone(),
            source,
        })?;
        let elf = Elf::parse(&bytes).map_err(|source| ImageError::Elf {
            path: path.clone(),
            source,
        })?;
        let modinfo = elf
            .section(".modinfo")
            .map_err(|source| ImageError::Elf {
                path: path.clone(),
                source,
            })?
            .unwrap_or_default();
        wanted.push((name, depends(modinfo)));
    }
    let ordered = order(&wanted).map_err(|why| ImageError::Module {
        name: "kernel.modules".into(),
        why,
    })?;
    Ok(ordered
        .into_iter()
        .map(|name| Module {
            path: files[&name].clone(),
            name,
        })
        .collect())
}

/// Maps every `*.ko` below `dir` by canonical module name.
fn index(dir: &Path, files: &mut BTreeMap<String, PathBuf>) -> Result<(), ImageError> {
    let read_dir = |d: &Path| {
        std::fs::read_dir(d).map_err(|source| ImageError::Read {
            path: d.into(),
            source,
        })
    };
    for entry in read_dir(dir)? {
        let entry = entry.map_err(|source| ImageError::Read {
            path: dir.into(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            index(&path, files)?;
        } else if let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".ko"))
        {
            files.insert(canonical(stem), path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::elf::test_object;

    fn w(name: &str, deps: &[&str]) -> (String, Vec<String>) {
        (name.into(), deps.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn parses_depends_from_modinfo_bytes() {
        let modinfo = b"license=GPL\0depends=virtio,virtio_ring\0name=virtio_console\0";
        assert_eq!(depends(modinfo), ["virtio", "virtio_ring"]);
        assert!(depends(b"depends=\0name=virtio_ring\0").is_empty());
        assert_eq!(depends(b"depends=virtio-rng\0"), ["virtio_rng"]);
    }

    #[test]
    fn dependencies_come_first_and_ties_keep_the_given_order() {
        let wanted = [
            w("virtio_console", &["virtio", "virtio_ring"]),
            w(
                "virtio_pci",
                &[
                    "virtio_ring",
                    "virtio_pci_modern_dev",
                    "virtio_pci_legacy_dev",
                    "virtio",
                ],
            ),
            w("virtio_pci_legacy_dev", &[]),
            w("virtio", &["virtio_ring"]),
            w("virtio_pci_modern_dev", &[]),
            w("virtio_ring", &[]),
        ];
        let got = order(&wanted).unwrap();
        assert_eq!(
            got,
            [
                "virtio_pci_legacy_dev",
                "virtio_pci_modern_dev",
                "virtio_ring",
                "virtio",
                "virtio_console",
                "virtio_pci"
            ]
        );
    }

    #[test]
    fn missing_dependencies_and_cycles_are_errors() {
        let err = order(&[w("virtio", &["virtio_ring"])]).unwrap_err();
        assert!(err.contains("virtio_ring"), "{err}");
        let err = order(&[w("a", &["b"]), w("b", &["a"]), w("c", &[])]).unwrap_err();
        assert!(err.ends_with("cycle: a, b"), "{err}");
    }

    #[test]
    fn resolves_module_files_from_their_elf_modinfo() {
        let dir = std::env::temp_dir().join(format!("grader-modules-test-{}", std::process::id()));
        let sub = dir.join("kernel/drivers/virtio");
        std::fs::create_dir_all(&sub).unwrap();
        let ko = |deps: &str| test_object(&[(".modinfo", format!("depends={deps}\0").as_bytes())]);
        std::fs::write(sub.join("virtio.ko"), ko("virtio_ring")).unwrap();
        std::fs::write(sub.join("virtio_ring.ko"), ko("")).unwrap();
        std::fs::write(dir.join("kernel/virtio-rng.ko"), ko("virtio,virtio_ring")).unwrap();
        let names = [
            "virtio-rng".to_string(),
            "virtio".into(),
            "virtio_ring".into(),
        ];
        let got = resolve(&dir, &names);
        let missing = resolve(&dir, &["virtio_blk".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
        let got: Vec<_> = got.unwrap().into_iter().map(|m| m.name).collect();
        assert_eq!(got, ["virtio_ring", "virtio", "virtio_rng"]);
        assert!(matches!(missing, Err(ImageError::Module { name, .. }) if name == "virtio_blk"));
    }
}
