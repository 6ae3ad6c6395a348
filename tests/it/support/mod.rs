//! Shared pieces of the runner's integration tests: instrumented apps, free ports, the
//! real binary, and YAML files in a temporary directory.

#![allow(dead_code)]

pub use demo;

pub mod apps;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;

/// An address nothing listens on right now, for the embedded ingestor of a `run`. (The
/// binary must know its ports before the app under test starts exporting to them.)
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// `tests/tools/provision TOOL`: installs an external tool a test drives when it is missing
/// (idempotent; tests that start at once install it once), giving the path it prints: a
/// binary, or for `playwright` the npm install directory.
pub fn provision(tool: &str) -> PathBuf {
    let script = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("tests/tools/provision");
    let output =
        std::process::Command::new("bash").arg(script).arg(tool).output().expect("run tests/tools/provision");
    assert!(
        output.status.success(),
        "tests/tools/provision {tool} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).expect("a UTF-8 path").trim())
}

/// The built `tracecheck` binary.
pub fn tracecheck() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracecheck"));
    command.env("NO_COLOR", "1").kill_on_drop(true);
    command
}

/// Runs the binary to completion.
pub async fn run_tracecheck(args: &[&str]) -> Output {
    tracecheck().args(args).output().await.expect("run tracecheck")
}

/// `tracecheck run FILE --vars VARS -o json` with the embedded ingestor's OTLP/gRPC on
/// `grpc` (where the test's instrumented services export), OTLP/HTTP on a free port, and
/// any `extra` flags.
pub async fn run_embedded_json(file: &str, vars: &str, grpc: SocketAddr, extra: &[&str]) -> Output {
    let (grpc, http) = (grpc.to_string(), free_addr().to_string());
    let mut args =
        vec!["run", file, "--vars", vars, "-o", "json", "--grpc-addr", &grpc, "--http-addr", &http];
    args.extend_from_slice(extra);
    run_tracecheck(&args).await
}

/// A temporary directory holding YAML files.
pub struct Files {
    pub dir: tempfile::TempDir,
}

impl Files {
    pub fn new() -> Self {
        Files { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// `HOST` (and any other pairs) as a VariableSet file.
pub fn vars_file(files: &Files, values: &[(&str, &str)]) -> String {
    let mut text = String::from("type: VariableSet\nspec:\n  name: test\n  values:\n");
    for (key, value) in values {
        text.push_str(&format!("    - key: {key}\n      value: \"{value}\"\n"));
    }
    files.write("vars.yaml", &text);
    files.path("vars.yaml")
}

/// The JSON report a `run -o json` printed (one object per line: the first).
pub fn json_report(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|line| line.starts_with('{')).unwrap_or_else(|| {
        panic!(
            "no JSON report on stdout\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_str(line).expect("the report is JSON")
}
