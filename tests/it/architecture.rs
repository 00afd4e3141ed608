//! The grader's arrows go one way: the CLI on top, imported by nobody in the library,
//! and no cycle between its top-level modules. Read off the `crate::` paths of the
//! sources' code (comments and test modules left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::root;

/// Top-level module → the top-level modules its non-test code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("grader/src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(&src, f)).collect();
    let path_re = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let group_re = regex::Regex::new(r"use crate::\{([^}]*)\}").unwrap();
    let word_re = regex::Regex::new(r"\b([a-z_]+)\b").unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = top_module(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let code = code.as_str();
        let grouped = group_re
            .captures_iter(code)
            .flat_map(|c| {
                word_re
                    .find_iter(c.get(1).unwrap().as_str())
                    .collect::<Vec<_>>()
            })
            .map(|m| m.as_str().to_owned());
        let named = path_re.captures_iter(code).map(|c| c[1].to_owned());
        let entry = graph.entry(from.clone()).or_default();
        for to in named.chain(grouped) {
            if to != from && modules.contains(&to) {
                entry.insert(to);
            }
        }
    }
    graph
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `grader/src/bulk/pool.rs` → `bulk`; the crate roots and binaries are no module.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" | "bin" => None,
        name => Some(name.trim_end_matches(".rs").to_owned()),
    }
}

/// A cycle of the graph, if it has one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_library_module_imports_the_cli() {
    let graph = imports();
    assert!(
        graph.contains_key("cli") && graph.contains_key("grade"),
        "{graph:?}"
    );
    let importers: Vec<&String> = graph
        .iter()
        .filter(|(_, to)| to.contains("cli"))
        .map(|(from, _)| from)
        .collect();
    assert!(
        importers.is_empty(),
        "the CLI is the top of the house, yet {importers:?} import it"
    );
}

#[test]
fn the_modules_import_each_other_without_a_cycle() {
    let graph = imports();
    assert!(graph["grade"].contains("qemulab"), "{graph:?}");
    assert_eq!(
        cycle(&graph),
        None,
        "an import cycle between grader modules"
    );
    let mut looped = graph.clone();
    looped
        .entry("qemulab".into())
        .or_default()
        .insert("grade".into());
    assert!(
        cycle(&looped).is_some(),
        "the cycle check finds a planted cycle"
    );
}
