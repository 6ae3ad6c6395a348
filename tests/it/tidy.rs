//! Tidy: what the compiler cannot check. The crate graph is the layer table (a crate can only
//! use what its Cargo.toml declares), so these tests hold the documents and manifests to it:
//! ARCHITECTURE.md's table is `cargo metadata`'s graph, every declared layer edge is used,
//! and the root documents name files that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// The workspace's own crates under their short names (`tracecheck-model` -> `model`), each
/// with the workspace crates its library and binaries depend on (dev-dependencies apart).
fn crate_graph() -> BTreeMap<String, (PathBuf, BTreeSet<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let short = |name: &str| name.strip_prefix("tracecheck-").unwrap_or(name).to_string();
    let members: BTreeSet<String> =
        metadata["packages"].as_array().unwrap().iter().map(|p| short(p["name"].as_str().unwrap())).collect();
    let mut graph = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = short(package["name"].as_str().unwrap());
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
        let uses = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dep| dep["kind"].is_null() && dep["path"].is_string())
            .map(|dep| short(dep["name"].as_str().unwrap()))
            .filter(|dep| members.contains(dep))
            .collect();
        graph.insert(name, (manifest.parent().unwrap().to_path_buf(), uses));
    }
    graph
}

/// ARCHITECTURE.md's crate table: rows `| `crate` | `dep`, `dep` | what it is |` between the
/// header `| crate | uses |...` and the first line that is not a row.
fn documented_graph() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let mut rows = text.lines().skip_while(|line| !line.starts_with("| crate | uses |")).skip(2);
    let mut graph = BTreeMap::new();
    for line in rows.by_ref().take_while(|line| line.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let names = |cell: &str| -> BTreeSet<String> {
            cell.split(',')
                .map(|name| name.trim().trim_matches('`').to_string())
                .filter(|n| !n.is_empty() && n != "-")
                .collect()
        };
        for name in names(cells[1]) {
            graph.insert(name, names(cells[2]));
        }
    }
    graph
}

#[test]
fn architecture_table_is_the_crate_graph() {
    let actual: BTreeMap<String, BTreeSet<String>> =
        crate_graph().into_iter().map(|(name, (_, uses))| (name, uses)).collect();
    let documented = documented_graph();
    assert!(!documented.is_empty(), "ARCHITECTURE.md has no `| crate | uses |` table");
    assert_eq!(documented, actual, "ARCHITECTURE.md's crate table (left) against cargo metadata (right)");
}

/// A declared edge that no source file uses is an allowance waiting to be abused: the graph
/// stays the smallest one the code needs.
#[test]
fn every_declared_layer_edge_is_used() {
    let mut unused = Vec::new();
    for (name, (dir, uses)) in crate_graph() {
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        let text: String = files.iter().map(|file| std::fs::read_to_string(file).unwrap()).collect();
        let code: String =
            text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for dep in uses {
            let used = code.contains(&format!("{dep}::")) || code.contains(&format!("use {dep}"));
            if !used {
                unused.push(format!("{name} -> {dep}"));
            }
        }
    }
    assert!(unused.is_empty(), "declared but unused: {unused:?}");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// Paths in backticks in the root documents (`crates/server/src/web/api.rs`,
/// `tests/tools/provision`) exist: a moved file takes its mentions with it.
#[test]
fn documents_name_files_that_exist() {
    let root = root();
    let mut missing = Vec::new();
    for document in ["ARCHITECTURE.md", "README.md", "BENCHMARKS.md", "COMPATIBILITY.md"] {
        let text = std::fs::read_to_string(root.join(document)).expect("read document");
        for (index, quoted) in text.split('`').enumerate() {
            if index % 2 == 0 {
                continue;
            }
            let looks_like_path =
                ["crates/", "src/", "benches/", "tests/", "examples/", "proto/", "docs/", "fuzz/", ".ci/"]
                    .iter()
                    .any(|prefix| quoted.starts_with(prefix))
                    && !quoted.contains(|c: char| c.is_whitespace() || "*{}<>$".contains(c));
            if looks_like_path && !root.join(quoted.trim_end_matches('/')).exists() {
                missing.push(format!("{document}: {quoted}"));
            }
        }
    }
    assert!(missing.is_empty(), "documents name files that do not exist:\n  {}", missing.join("\n  "));
}

/// Issue 21: users of the quick start waited 5.5 s a run for their SDK's batch exporter; the
/// README says why and how to export quickly, where it tells how to point exporters here.
#[test]
fn readme_says_sdks_batch_export_every_5_s() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("read README");
    let section = text.split("### Pointing exporters at tracecheck").nth(1).expect("the exporters' section");
    let section = section.split("\n### ").next().unwrap_or_default();
    assert!(section.contains("export every 5 s by default"), "{section}");
    assert!(section.contains("export OTEL_BSP_SCHEDULE_DELAY=200\n"), "{section}");
}

/// Every crate says what it owns and what it does not know, in its first lines.
#[test]
fn every_crate_opens_with_its_doc() {
    for (name, (dir, _)) in crate_graph() {
        let lib =
            ["src/lib.rs", "src/main.rs", "service.rs"].iter().map(|f| dir.join(f)).find(|p| p.exists());
        let Some(lib) = lib else { continue };
        let text = std::fs::read_to_string(&lib).unwrap();
        assert!(text.starts_with("//!"), "{name}: {} does not open with a //! paragraph", lib.display());
    }
}

/// Library code returns typed errors that keep their sources (`thiserror` enums), never
/// `Result<_, String>`: a caller can tell the cases apart and the chain is not flattened.
/// Test modules (from `#[cfg(test)] mod tests {` to the end of a file) and `tests.rs` files are left out.
#[test]
fn library_code_has_no_string_errors() {
    let mut found = Vec::new();
    for (name, (dir, _)) in crate_graph() {
        if name == "bench" || name == "demo" {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in
            files.into_iter().filter(|file| !file.ends_with("tests.rs") && !file.ends_with("proptests.rs"))
        {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or_default();
            for (index, line) in code.lines().enumerate() {
                let signature = line.split("//").next().unwrap_or_default();
                if string_error(signature) {
                    found.push(format!("{}:{}: {}", file.display(), index + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "Result<_, String> in library code:\n  {}", found.join("\n  "));
}

/// Whether a line names `Result<T, String>`: the last argument of a `Result<...>`, at its own
/// nesting depth, is `String` (`Result<String, JoinError>` and `BTreeMap<String, String>` are
/// not).
fn string_error(line: &str) -> bool {
    let mut rest = line;
    while let Some(at) = rest.find("Result<") {
        rest = &rest[at + "Result<".len()..];
        let (mut depth, mut last_argument) = (0usize, 0usize);
        for (index, c) in rest.char_indices() {
            match c {
                '<' | '(' => depth += 1,
                ',' if depth == 0 => last_argument = index + 1,
                '>' | ')' if depth > 0 => depth -= 1,
                '>' => {
                    if rest[last_argument..index].trim() == "String" && last_argument > 0 {
                        return true;
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    false
}

#[test]
fn string_errors_are_told_from_string_values() {
    assert!(string_error("fn f() -> Result<usize, String> {"));
    assert!(string_error("fn f() -> Result<Vec<(u8, String)>, String> {"));
    assert!(!string_error("fn f(m: &BTreeMap<String, String>) -> Result<String, JoinError> {"));
    assert!(!string_error("fn f() -> std::io::Result<String> {"));
}
