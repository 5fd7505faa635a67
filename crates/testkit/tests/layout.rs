//! The architecture's invariants, checked on the source tree: no import circles between the
//! files of a crate, and docs/ARCHITECTURE.md's code map naming exactly each crate's
//! dependencies.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn crates_dir() -> std::path::PathBuf {
    ringscope_testkit::repo_root().join("crates")
}

fn crate_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(crates_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| crates_dir().join(n).join("Cargo.toml").is_file())
        .collect();
    names.sort();
    names
}

/// Module path (`a::b`) → source text without `#[cfg(test)] mod tests` and comments.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            let code: String = text
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(parts.join("::"), code);
        }
    }
    out
}

/// The modules `code` names through `crate::` (the longest path that is a module).
fn uses(code: &str, names: &BTreeSet<String>, own: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let path: String = code[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        for k in (1..=parts.len()).rev() {
            let candidate = parts[..k].join("::");
            if names.contains(&candidate) {
                if candidate != own {
                    found.insert(candidate);
                }
                break;
            }
        }
    }
    found
}

/// Whether `to` is reachable from `from`.
fn reaches(edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(m) = stack.pop() {
        for next in &edges[&m] {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn no_file_of_any_crate_imports_a_file_that_imports_it_back() {
    let mut circles = Vec::new();
    for name in crate_names() {
        let mods = modules(&crates_dir().join(&name).join("src"));
        let names: BTreeSet<String> = mods.keys().cloned().collect();
        let edges: BTreeMap<String, BTreeSet<String>> = mods
            .iter()
            .map(|(m, code)| (m.clone(), uses(code, &names, m)))
            .collect();
        for (m, targets) in &edges {
            for t in targets {
                // A parent module declaring its children is structure, not an import.
                let child = t.starts_with(&format!("{m}::")) || m.starts_with(&format!("{t}::"));
                if !child && reaches(&edges, t, m) {
                    circles.push(format!("{name}: {m} -> {t} -> ... -> {m}"));
                }
            }
        }
    }
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn the_code_map_names_each_crates_dependencies() {
    let doc = std::fs::read_to_string(ringscope_testkit::repo_root().join("docs/ARCHITECTURE.md"))
        .unwrap();
    let mut documented = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `crates/")) {
        let name = line["| `crates/".len()..]
            .split('`')
            .next()
            .unwrap()
            .to_string();
        let deps: BTreeSet<String> = line
            .trim_end_matches('|')
            .rsplit('|')
            .next()
            .unwrap()
            .split(',')
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty() && d != "—")
            .collect();
        documented.insert(name, deps);
    }
    for name in crate_names() {
        let manifest =
            std::fs::read_to_string(crates_dir().join(&name).join("Cargo.toml")).unwrap();
        let deps_section = manifest
            .split("\n[dependencies]\n")
            .nth(1)
            .map(|rest| rest.split("\n[").next().unwrap_or(""))
            .unwrap_or("");
        let actual: BTreeSet<String> = deps_section
            .lines()
            .filter_map(|l| l.strip_prefix("ringscope-"))
            .map(|l| l.split(['.', ' ', '=']).next().unwrap().to_string())
            .collect();
        assert_eq!(
            documented.get(&name),
            Some(&actual),
            "docs/ARCHITECTURE.md's code map for crates/{name}"
        );
    }
}
