//! Tracetest's own resource files (`tests/fixtures/tracetest-corpus/`, from its examples):
//! `validate` loads every one, and refuses only the DataStores whose traces tracecheck
//! cannot read, each with a message naming its type and what to do instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::{fixture, tracecheck};

/// The corpus files whose DataStore is refused, and the type each names.
const REFUSED: [(&str, &str); 4] = [
    ("tracetest-amazon-x-ray/tracetest-tracing-backend.yaml", "awsxray"),
    (
        "tracetest-azure-app-insights/tracetest/tracetest-provision.yaml",
        "azureappinsights (without `connectionType: collector`)",
    ),
    ("tracetest-elasticapm-with-elastic-agent/tracetest-provision.yaml", "elasticapm"),
    ("tracetest-opensearch/tracetest-provision.yaml", "opensearch"),
];

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("corpus dir").map(|entry| entry.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn every_corpus_file_loads_and_only_unreadable_data_stores_are_refused() {
    let root = fixture("tracetest-corpus");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(files.len() >= 30, "the corpus is there: {}", files.len());

    // All at once: every error is a refused DataStore, one per refused file.
    let output = tracecheck().arg("validate").args(&files).output().await;
    output.assert_code(2);
    let stderr = output.stderr();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    for line in stderr.lines().filter(|line| line.starts_with(root.to_str().expect("utf-8 path"))) {
        let relative = line[root.to_str().unwrap_or_default().len() + 1..].to_string();
        let (file, message) = relative.split_once(':').expect("file:line:col: message");
        assert!(message.contains("is not supported"), "only DataStores are refused: {line}");
        assert!(message.contains("add an OTLP exporter pointed at tracecheck"), "{line}");
        assert!(
            refused.insert(file.to_string(), message.to_string()).is_none(),
            "one error per file: {stderr}"
        );
    }
    let expected: BTreeSet<&str> = REFUSED.iter().map(|(file, _)| *file).collect();
    assert_eq!(refused.keys().map(String::as_str).collect::<BTreeSet<_>>(), expected, "{stderr}");
    for (file, kind) in REFUSED {
        assert!(
            refused[file].contains(&format!("DataStore type `{kind}` is not supported")),
            "{file}: {}",
            refused[file]
        );
    }

    // The rest load, every resource type among them.
    let loadable: Vec<&PathBuf> =
        files.iter().filter(|path| !REFUSED.iter().any(|(file, _)| path.ends_with(file))).collect();
    let output = tracecheck().arg("validate").args(&loadable).output().await;
    output.assert_code(0);
    let stdout = output.stdout();
    let kinds: BTreeSet<&str> = stdout.lines().filter_map(|line| line.rsplit(' ').next()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["Config", "DataStore", "Demo", "PollingProfile", "Test", "TestRunner", "TestSuite"]),
        "{stdout}"
    );
}
