//! The crate's layers (docs/architecture.md) are kept by this test, not by good intentions:
//! every `crate::`, `super::` and child-module path in src/ is read, and the test fails when a
//! module reaches a layer above its own, when a top-level module is not in a layer, or when
//! non-test code forms an import cycle between files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. A module may use its own layer's modules and any layer below it, never above.
const LAYERS: [&str; 12] = [
    "model", "probe", "checks", "audit", "config", "history", "output", "report", "metrics", "daemon", "web", "cli",
];

/// One source file as a module of the crate.
struct ModuleFile {
    /// `["checks", "tls"]` for src/checks/tls.rs; empty for src/lib.rs.
    path: Vec<String>,
    /// Source with comments removed.
    code: String,
    /// Source with comments and `#[cfg(test)]` items removed.
    non_test_code: String,
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read src/")
        .map(|entry| entry.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src/");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|last| last == "mod" || last == "lib") {
        parts.pop();
    }
    parts
}

/// Drops `//` comments (doc comments included) so prose that names a module is not an import.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Removes every item preceded by `#[cfg(test)]`: a `mod tests { … }` block, a test-only `fn`,
/// or a `mod fixtures;` declaration (whose file is then test-only too).
fn strip_test_items(code: &str, test_only_children: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at + "#[cfg(test)]".len()..];
        let brace = item.find('{');
        let semicolon = item.find(';');
        match (brace, semicolon) {
            (_, Some(semi)) if brace.is_none_or(|b| semi < b) => {
                let declaration = item[..semi].trim();
                if let Some(name) = declaration.split_whitespace().last() {
                    if declaration.contains("mod ") {
                        test_only_children.push(name.to_string());
                    }
                }
                rest = &item[semi + 1..];
            }
            (Some(open), _) => {
                let mut depth = 0usize;
                let mut end = item.len();
                for (offset, ch) in item[open..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = open + offset + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &item[end..];
            }
            _ => rest = "",
        }
    }
    out.push_str(rest);
    out
}

fn is_ident_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '_'
}

/// Paths written after `start` (which ends in `::`), expanding `{a, b::{c}}` groups.
fn paths_after(text: &str) -> Vec<Vec<String>> {
    fn parse(text: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
        let mut segments = prefix.to_vec();
        let mut i = 0;
        let bytes: Vec<char> = text.chars().collect();
        loop {
            while i < bytes.len() && bytes[i].is_whitespace() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == '{' {
                i += 1;
                loop {
                    let consumed = parse(&bytes[i..].iter().collect::<String>(), &segments, out);
                    i += consumed;
                    while i < bytes.len() && (bytes[i].is_whitespace() || bytes[i] == ',') {
                        i += 1;
                    }
                    if i >= bytes.len() || bytes[i] == '}' {
                        return i + 1;
                    }
                }
            }
            let start = i;
            while i < bytes.len() && is_ident_char(bytes[i]) {
                i += 1;
            }
            if start == i {
                out.push(segments);
                return i;
            }
            segments.push(bytes[start..i].iter().collect());
            if bytes[i..].starts_with(&[':', ':']) {
                i += 2;
            } else {
                out.push(segments);
                return i;
            }
        }
    }
    let mut out = Vec::new();
    parse(text, &[], &mut out);
    out
}

/// The modules a file refers to, as module paths (the longest prefix naming a file).
fn references(file: &ModuleFile, code: &str, modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let children: Vec<&Vec<String>> = modules
        .iter()
        .filter(|m| m.len() == file.path.len() + 1 && m.starts_with(&file.path))
        .collect();
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    for (index, &(at, _)) in chars.iter().enumerate() {
        let preceded_by_ident = index > 0 && (is_ident_char(chars[index - 1].1) || chars[index - 1].1 == ':');
        if preceded_by_ident {
            continue;
        }
        let rest = &code[at..];
        let (base, tail): (Vec<String>, &str) = if let Some(tail) = rest.strip_prefix("crate::") {
            (Vec::new(), tail)
        } else if rest.starts_with("super::") {
            let mut base = file.path.clone();
            let mut tail = rest;
            while let Some(next) = tail.strip_prefix("super::") {
                base.pop();
                tail = next;
            }
            (base, tail)
        } else if let Some(child) = children.iter().find(|child| {
            let name = child.last().map(String::as_str).unwrap_or_default();
            rest.starts_with(name) && rest[name.len()..].starts_with("::")
        }) {
            let name_length = child.last().map(String::len).unwrap_or(0);
            ((*child).clone(), &rest[name_length + 2..])
        } else {
            continue;
        };
        for path in paths_after(tail) {
            let mut full = base.clone();
            full.extend(path);
            while !full.is_empty() && !modules.contains(&full) {
                full.pop();
            }
            if full != file.path {
                found.insert(full);
            }
        }
    }
    found
}

fn layer_of(path: &[String]) -> Option<usize> {
    let top = path.first()?;
    LAYERS.iter().position(|layer| layer == top)
}

fn load() -> (Vec<ModuleFile>, BTreeSet<Vec<String>>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    source_files(&src, &mut paths);
    let mut files = Vec::new();
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    for path in paths.iter().filter(|p| !p.ends_with("main.rs")) {
        let text = std::fs::read_to_string(path).expect("read source");
        let module = module_path(&src, path);
        let code = strip_comments(&text);
        let mut test_children = Vec::new();
        let non_test_code = strip_test_items(&code, &mut test_children);
        for child in test_children {
            let mut child_path = module.clone();
            child_path.push(child);
            test_only.insert(child_path);
        }
        files.push(ModuleFile {
            path: module,
            code,
            non_test_code,
        });
    }
    for file in &mut files {
        if test_only.contains(&file.path) {
            file.non_test_code.clear();
        }
    }
    let modules = files.iter().map(|f| f.path.clone()).collect();
    (files, modules)
}

#[test]
fn every_top_level_module_is_in_a_layer() {
    let (files, _) = load();
    let stray: BTreeSet<String> = files
        .iter()
        .filter(|f| !f.path.is_empty() && layer_of(&f.path).is_none())
        .map(|f| f.path.join("::"))
        .collect();
    assert!(
        stray.is_empty(),
        "modules outside every layer (put them in one of {LAYERS:?}, see docs/architecture.md): {stray:?}"
    );
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let (files, modules) = load();
    let mut upward = Vec::new();
    let mut seen_references = 0;
    for file in files.iter().filter(|f| !f.path.is_empty()) {
        let Some(own) = layer_of(&file.path) else { continue };
        for used in references(file, &file.code, &modules) {
            seen_references += 1;
            if let Some(theirs) = layer_of(&used) {
                if theirs > own {
                    upward.push(format!(
                        "{} ({}) uses {} ({})",
                        file.path.join("::"),
                        LAYERS[own],
                        used.join("::"),
                        LAYERS[theirs]
                    ));
                }
            }
        }
    }
    // The parser must see the crate's imports, or this test would pass by reading nothing.
    assert!(seen_references > 100, "only {seen_references} references found");
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// A cycle in the graph, as module names from a module back to itself, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    // Depth-first search with colours; a grey node reached again closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    fn visit(
        node: &Vec<String>,
        graph: &Graph,
        colour: &mut BTreeMap<Vec<String>, Colour>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        colour.insert(node.clone(), Colour::Grey);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            match colour.get(next).copied().unwrap_or(Colour::Black) {
                Colour::Grey => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[start..].iter().map(|n| n.join("::")).collect();
                    cycle.push(next.join("::"));
                    return Some(cycle);
                }
                Colour::White => {
                    if let Some(cycle) = visit(next, graph, colour, stack) {
                        return Some(cycle);
                    }
                }
                Colour::Black => {}
            }
        }
        stack.pop();
        colour.insert(node.clone(), Colour::Black);
        None
    }
    let mut colour: BTreeMap<Vec<String>, Colour> = graph.keys().map(|k| (k.clone(), Colour::White)).collect();
    for node in graph.keys() {
        if colour.get(node) == Some(&Colour::White) {
            if let Some(cycle) = visit(node, graph, &mut colour, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn no_import_cycle_between_files() {
    let (files, modules) = load();
    let graph: Graph = files
        .iter()
        .map(|file| (file.path.clone(), references(file, &file.non_test_code, &modules)))
        .collect();
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    assert!(edges > 100, "only {edges} edges: the parser is not reading the code");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn a_cycle_through_a_parent_module_is_found() {
    let module = |name: &str| name.split("::").map(String::from).collect::<Vec<String>>();
    let mut graph: Graph = BTreeMap::new();
    graph.insert(module("daemon"), [module("daemon::supervisor")].into_iter().collect());
    graph.insert(module("daemon::supervisor"), [module("model")].into_iter().collect());
    graph.insert(module("model"), BTreeSet::new());
    assert_eq!(find_cycle(&graph), None);
    graph.insert(module("model"), [module("daemon")].into_iter().collect());
    assert_eq!(
        find_cycle(&graph),
        Some(
            vec!["daemon", "daemon::supervisor", "model", "daemon"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );
}

#[test]
fn the_parser_reads_groups_super_and_child_paths() {
    let modules: BTreeSet<Vec<String>> = [
        vec![],
        vec!["model".to_string()],
        vec!["model".to_string(), "target".to_string()],
        vec!["checks".to_string()],
        vec!["checks".to_string(), "tls".to_string()],
        vec!["checks".to_string(), "result".to_string()],
    ]
    .into_iter()
    .collect();
    let file = ModuleFile {
        path: vec!["checks".to_string()],
        code: String::new(),
        non_test_code: String::new(),
    };
    let code =
        "use crate::{model::{target::Target, Goal}, probe};\nuse super::cli;\nfn f() { tls::valid(); result::X }";
    let found = references(&file, code, &modules);
    let names: BTreeSet<String> = found.iter().map(|p| p.join("::")).collect();
    let expected: BTreeSet<String> = ["model::target", "model", "", "checks::tls", "checks::result"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, expected);
    let mut children = Vec::new();
    let stripped = strip_test_items(
        "fn a() {}\n#[cfg(test)]\nmod fixtures;\n#[cfg(test)]\nmod tests { fn b() { crate::cli::x(); } }\nfn c() {}",
        &mut children,
    );
    assert!(!stripped.contains("crate::cli") && stripped.contains("fn c()"));
    assert_eq!(children, vec!["fixtures".to_string()]);
}
