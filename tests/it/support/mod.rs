//! What the integration tests share, in one place (ripgrep's `tests/util.rs`):
//!
//! - [`command`]: the real binary, as ripgrep's `TestCommand` (`tracecheck()`), and
//!   `tracecheck serve` on port 0 with the ports it reports ([`command::serve`]);
//! - [`test_server`]: the ingestor in-process (`server::start`) through a builder;
//! - [`otel`]: the real OpenTelemetry exporters and providers, flushed off the workers;
//! - [`otlp`]: raw OTLP requests and gRPC clients for the receivers' edge cases;
//! - [`apps`], [`greeter`]: instrumented apps and the dynamic gRPC greeter;
//! - [`collector`]: the real OpenTelemetry Collector running README's configuration;
//! - [`tools`]: the external programs (Chromium, Kafka brokers, playwright, the Collector),
//!   provisioned by one function;
//! - [`snapshot`]: the redaction of what varies before an output is snapshotted;
//! - here: fixture files and templates, temporary files, the reference IDs, wait bounds.
//!
//! Nothing here sleeps in the hope that something happened: waits are on events (a log
//! line, an answer, a store notification), bounded by [`HANG`] only so that a broken build
//! fails instead of hanging.

#![allow(dead_code)]

pub use demo;

pub mod apps;
pub mod collector;
pub mod command;
pub mod greeter;
pub mod jaeger;
pub mod otel;
pub mod otlp;
pub mod snapshot;
pub mod test_server;
pub mod tools;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use model::{SpanId, TraceId};

pub use command::{run_embedded, serve, tracecheck, Run};
pub use test_server::{server, ServerExt};

/// Bounds a wait that would otherwise hang when something is broken; never a measure of
/// how fast anything is (that is for `crates/bench`). Generous for a loaded 2-core machine.
pub const HANG: Duration = Duration::from_secs(60);

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `tests/fixtures/<path>`.
pub fn fixture(path: &str) -> PathBuf {
    root().join("tests/fixtures").join(path)
}

/// `tests/fixtures/<path>` as the string a command line takes.
pub fn fixture_arg(path: &str) -> String {
    fixture(path).display().to_string()
}

/// The text of `tests/fixtures/<path>`.
pub fn read_fixture(path: &str) -> String {
    std::fs::read_to_string(fixture(path)).unwrap_or_else(|error| panic!("tests/fixtures/{path}: {error}"))
}

/// A file of the demo example (`examples/demo/<name>`).
pub fn demo_file(name: &str) -> String {
    root().join("examples/demo").join(name).display().to_string()
}

/// `text` with every `{{KEY}}` replaced by its value; a placeholder left unfilled fails the
/// test, so a fixture and its test cannot drift apart silently.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut filled = text.to_string();
    for (key, value) in values {
        let placeholder = format!("{{{{{key}}}}}");
        assert!(filled.contains(&placeholder), "the template has no {placeholder}");
        filled = filled.replace(&placeholder, value);
    }
    assert!(!filled.contains("{{"), "a placeholder was left unfilled:\n{filled}");
    filled
}

/// An address nothing listens on right now: a port the kernel just handed out and took
/// back. For what cannot bind port 0 and tell its port (the embedded ingestor of a `run`,
/// whose address the app under test must know before it starts exporting; external
/// brokers) and for a port where nothing listens.
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr")
}

/// The trace and span IDs of the reference's examples, for a trigger fired by hand.
pub fn ids() -> (TraceId, SpanId) {
    (
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("trace id"),
        SpanId::from_hex("b7ad6b7169203331").expect("span id"),
    )
}

/// Checks every propagation header a trigger sends for [`ids`], read through `header`.
pub fn assert_trace_context(header: impl Fn(&str) -> Option<String>) {
    let expected = [
        ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("tracestate", "tracetest=true"),
        ("b3", "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1"),
        ("uber-trace-id", "0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331:0:1"),
        ("ot-tracer-traceid", "8448eb211c80319c"),
        ("ot-tracer-spanid", "b7ad6b7169203331"),
        ("ot-tracer-sampled", "true"),
        ("x-amzn-trace-id", "Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1"),
    ];
    for (name, value) in expected {
        assert_eq!(header(name).as_deref(), Some(value), "header {name}");
    }
}

/// Wait options for the store or the control API; `started` is now.
pub fn wait_options(settle: Duration, grace: Duration, timeout: Duration) -> store::WaitOptions {
    store::WaitOptions { settle, grace, timeout, started: Instant::now(), trigger_span_id: None }
}

/// Grace and timeout so far away that only an insert can end a wait within [`HANG`].
pub const NEVER: Duration = Duration::from_secs(3600);

/// A temporary directory for the files a test makes.
pub struct Files {
    pub dir: tempfile::TempDir,
}

impl Default for Files {
    fn default() -> Self {
        Self::new()
    }
}

impl Files {
    pub fn new() -> Self {
        Files { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// Writes `name`, giving its path as a command line takes it.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write a test file");
        path.display().to_string()
    }

    /// Writes the fixture `template` with its `{{KEY}}` placeholders filled as `name`.
    pub fn template(&self, template: &str, name: &str, values: &[(&str, &str)]) -> String {
        self.write(name, &fill(&read_fixture(template), values))
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// `values` as a VariableSet file named `vars.yaml`: values vary per run (ports, trace IDs),
/// so this file is made, not a fixture.
pub fn vars_file(files: &Files, values: &[(&str, &str)]) -> String {
    let mut text = String::from("type: VariableSet\nspec:\n  name: test\n  values:\n");
    for (key, value) in values {
        text.push_str(&format!("    - key: {key}\n      value: \"{value}\"\n"));
    }
    files.write("vars.yaml", &text)
}
