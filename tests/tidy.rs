//! Tidy: the layers of `src/` (ARCHITECTURE.md's table) hold. Each top-level module may
//! import (`crate::...` in the library, `tracecheck::...` in binaries) only the modules its
//! row allows, and the modules' actual import graph has no cycle. In the spirit of
//! rust-analyzer's tidy tests: the rule is checked on the source text, so a new back-edge
//! fails here rather than in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Who may import whom, lowest layer first. A module not listed here fails the test, so a new
/// module gets a row (and a place in ARCHITECTURE.md) when it is added.
const LAYERS: &[(&str, &[&str])] = &[
    ("defaults", &[]),
    ("model", &[]),
    ("auth", &[]),
    ("tls", &[]),
    ("otlp", &["model"]),
    ("lang", &["model", "defaults"]),
    ("store", &["model", "otlp", "lang", "defaults"]),
    ("trigger", &["model", "lang", "defaults"]),
    ("analyze", &["model", "lang", "defaults"]),
    ("spec", &["model", "lang", "analyze", "trigger", "defaults"]),
    ("report", &["model", "store", "lang", "analyze", "spec", "trigger", "defaults"]),
    ("ingest", &["model", "otlp", "store", "auth", "defaults"]),
    ("ui", &["model", "lang", "report", "defaults"]),
    ("web", &["model", "store", "lang", "analyze", "report", "ui", "auth", "defaults"]),
    ("api", &["model", "otlp", "store", "lang", "analyze", "report", "web", "auth", "tls", "defaults"]),
    (
        "run",
        &[
            "model", "otlp", "store", "lang", "trigger", "spec", "analyze", "report", "api", "auth",
            "defaults",
        ],
    ),
    ("server", &["model", "store", "ingest", "api", "web", "auth", "tls", "defaults"]),
    ("serve", &["model", "store", "api", "web", "server", "defaults"]),
    (
        "cli",
        &[
            "model", "otlp", "store", "lang", "trigger", "spec", "analyze", "report", "ingest", "api", "web",
            "run", "ui", "server", "serve", "auth", "tls", "defaults",
        ],
    ),
    ("main", &["cli", "defaults"]),
    ("bin", &["model", "otlp", "store", "ingest", "api", "server", "auth", "defaults"]),
];

/// The module a source file belongs to: `src/model/span.rs` -> `model`, `src/auth.rs` ->
/// `auth`, `src/bin/loadgen.rs` -> `bin`. `lib.rs` declares modules and belongs to none.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_string())
}

/// The top-level modules a file's code names through `crate::` (or `tracecheck::` in a
/// binary), including grouped imports such as `use crate::{model::Span, lang};`. Comment
/// lines are skipped so a doc link does not count as an import.
fn imports(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let preceded_by_ident =
                rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
            rest = &rest[at + prefix.len()..];
            if preceded_by_ident {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // Top-level names of the group: `{model::Span, lang::{A, B}, defaults}`.
                let mut depth = 0usize;
                let mut start = true;
                for (index, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => start = true,
                        c if start && (c.is_alphabetic() || c == '_') => {
                            let name: String = group[index..]
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_')
                                .collect();
                            found.insert(name);
                            start = false;
                        }
                        c if !c.is_whitespace() => start = false,
                        _ => {}
                    }
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module graph of `src/`: module -> the modules it imports (itself excluded).
fn import_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let library: BTreeSet<String> = LAYERS.iter().map(|(name, _)| name.to_string()).collect();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(src, &file) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        let prefix = if module == "main" || module == "bin" { "tracecheck::" } else { "crate::" };
        let used = graph.entry(module.clone()).or_default();
        for name in imports(&text, prefix) {
            // `crate::error_chain` and other lib.rs items are not modules.
            if name != module && (library.contains(&name) || is_module_dir(src, &name)) {
                used.insert(name);
            }
        }
    }
    graph
}

fn is_module_dir(src: &Path, name: &str) -> bool {
    src.join(name).is_dir() || src.join(format!("{name}.rs")).is_file()
}

/// Every import its layer does not allow, as "from -> to" lines.
fn violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut found = Vec::new();
    for (module, used) in graph {
        let Some(may_use) = allowed.get(module.as_str()) else {
            found.push(format!("{module} has no row in LAYERS"));
            continue;
        };
        for target in used {
            if !may_use.contains(&target.as_str()) {
                found.push(format!("{module} -> {target}"));
            }
        }
    }
    found
}

/// A cycle in the graph, as the modules on it, if there is one (depth-first search).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|&on_path| on_path == node) {
            let mut cycle: Vec<String> = path[at..].iter().map(|name| name.to_string()).collect();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn layers_import_only_downward() {
    let graph = import_graph(&src());
    let found = violations(&graph);
    assert!(found.is_empty(), "imports the layers table does not allow:\n  {}", found.join("\n  "));
}

#[test]
fn modules_have_no_import_cycle() {
    let graph = import_graph(&src());
    assert_eq!(cycle(&graph), None);
}

#[test]
fn the_layers_table_is_itself_acyclic() {
    let table: BTreeMap<String, BTreeSet<String>> = LAYERS
        .iter()
        .map(|(name, uses)| (name.to_string(), uses.iter().map(|used| used.to_string()).collect()))
        .collect();
    assert_eq!(cycle(&table), None);
}

/// The checker itself catches a back-edge and a cycle: a store that imports ingest (the
/// cycle this test was written for) is refused on both counts.
#[test]
fn a_back_edge_is_caught() {
    let mut graph = import_graph(&src());
    graph.entry("store".into()).or_default().insert("ingest".into());
    assert!(violations(&graph).contains(&"store -> ingest".to_string()));
    assert!(cycle(&graph)
        .is_some_and(|cycle| cycle.contains(&"store".to_string()) && cycle.contains(&"ingest".to_string())));
}

#[test]
fn grouped_and_nested_imports_are_read() {
    let text = "use crate::{model::{Span, Trace}, lang, store::TraceStore};\n// crate::api in a comment\nlet x = crate::otlp::decode(b);\nuse notcrate::report;";
    let found = imports(text, "crate::");
    assert_eq!(found, ["lang", "model", "otlp", "store"].iter().map(|name| name.to_string()).collect());
}
