//! The `playwrightEngine` trigger: the user's Playwright script, run the way Tracetest's
//! agent runs it. The script (CommonJS) exports the named `method`, an async function that
//! gets a Playwright `page` already at `target`; the run's trace context is on every request
//! the page makes. Success is the function resolving; a throw is the trigger's error.
//!
//! tracecheck drives Node.js with npm's `playwright-core` and the system Chromium (never a
//! browser Playwright downloads): it writes a small runner and the script to a temporary
//! directory and runs `node` with a timeout. `playwright-core` is found through
//! `NODE_PATH`, built from, in order:
//!
//! 1. `TRACECHECK_PLAYWRIGHT_DIR`: a directory `npm install --prefix DIR playwright-core`
//!    installed into (its `node_modules`), or a `node_modules` directory itself;
//! 2. the `node_modules` directories beside the test file and above it, as if the script
//!    sat beside the test (so a project's own `npm install` works, `@playwright/test` too);
//! 3. the caller's `NODE_PATH`.
//!
//! Chromium is `TRACECHECK_CHROMIUM` when set, else the first of `chromium`,
//! `chromium-browser`, `google-chrome-stable`, `google-chrome` on `PATH`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::{propagation_headers, Error, TriggerResponse};
use model::{SpanId, TraceId};

/// The whole script run, browser start included, must finish in this time (Tracetest's
/// agent gives the engine three minutes).
pub const PLAYWRIGHT_TIMEOUT: Duration = Duration::from_secs(180);

/// How long before [`PLAYWRIGHT_TIMEOUT`] the runner stops waiting on the script itself.
const RUNNER_MARGIN: Duration = Duration::from_secs(10);

/// The environment variable naming where `playwright-core` is installed.
pub const PLAYWRIGHT_DIR_VAR: &str = "TRACECHECK_PLAYWRIGHT_DIR";

/// The environment variable naming the Chromium executable.
pub const CHROMIUM_VAR: &str = "TRACECHECK_CHROMIUM";

/// Chromium's command-line switches: headless, no sandbox (containers, root), and none of
/// the background traffic (updates, sync, QUIC probes) that would add requests to the trace
/// or hang without a network.
pub const CHROMIUM_ARGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

const CHROMIUM_NAMES: [&str; 4] = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"];

const INSTALL_NODE: &str = "install Node.js 18 or later (Debian: apt-get install nodejs)";
const INSTALL_CHROMIUM: &str = "install Chromium (Debian: apt-get install chromium)";

/// `trigger: {type: playwrightengine, playwrightEngine: {target, method, script}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaywrightTrigger {
    /// The URL the page opens before `method` runs; empty = the page starts blank.
    pub target: String,
    /// The exported function to call with the page.
    pub method: String,
    /// The script's text (the CLI inlines a `./script.js` path, as for http bodies).
    pub script: String,
    /// Where the script came from, for messages: its file name, or `script` when inline.
    pub script_name: String,
    /// The test file's directory: `node_modules` here and above are searched.
    pub dir: Option<PathBuf>,
}

/// What the runner writes to its result file.
#[derive(Debug, serde::Deserialize)]
struct Outcome {
    #[serde(default)]
    success: bool,
    /// The module the script or runner could not load (`playwright-core`, a user's require).
    #[serde(default)]
    missing: Option<String>,
    /// What failed: `launch`, `load`, `method`, `goto` or `script`.
    #[serde(default)]
    stage: String,
    #[serde(default)]
    error: String,
}

impl PlaywrightTrigger {
    /// A copy with `target` and `method` rendered (the fields Tracetest resolves); the
    /// script is code, not a template.
    pub fn render<E>(&self, render: &mut impl FnMut(&str) -> Result<String, E>) -> Result<Self, E> {
        Ok(PlaywrightTrigger { target: render(&self.target)?, method: render(&self.method)?, ..self.clone() })
    }

    /// Runs the script in Chromium and waits for it to finish. The response body is what
    /// the script printed (Tracetest's `out`); the trigger span gets
    /// `tracetest.run.trigger.playwrightengine.success = 1`.
    ///
    /// # Errors
    /// `node`, `playwright-core` or Chromium missing (the message says what to install),
    /// Chromium failing to start, the script failing to load, `method` not exported, the
    /// target not loading, the script throwing (its message), or the timeout.
    pub async fn fire(&self, trace_id: TraceId, span_id: SpanId) -> Result<TriggerResponse, Error> {
        let fail = |reason: String| Error::Playwright { script: self.script_name.clone(), reason };
        let chromium = find_chromium().map_err(|error| fail(error.to_string()))?;
        let work = WorkDir::create(trace_id, span_id)
            .map_err(|error| fail(format!("cannot create a temp dir: {error}")))?;
        let write = |name: &str, text: &str| {
            let path = work.0.join(name);
            std::fs::write(&path, text)
                .map_err(|error| fail(format!("cannot write {}: {error}", path.display())))?;
            Ok::<_, Error>(path)
        };
        let headers: serde_json::Map<String, serde_json::Value> = propagation_headers(trace_id, span_id)
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.into()))
            .collect();
        let script = write("script.js", &self.script)?;
        let result = work.0.join("result.json");
        let config = serde_json::json!({
            "target": self.target.trim(),
            "method": self.method.trim(),
            "scriptPath": script,
            "resultPath": result,
            "chromium": chromium,
            "args": CHROMIUM_ARGS,
            "headers": headers,
            // The runner gives up a little before tracecheck kills node, so it can still
            // close the browser: Chromium runs in its own process group and would outlive
            // a killed node.
            "scriptTimeoutMs": PLAYWRIGHT_TIMEOUT.saturating_sub(RUNNER_MARGIN).as_millis() as u64,
        });
        let config = write("config.json", &config.to_string())?;
        let runner = write("runner.js", RUNNER)?;
        let node_path = self.node_path();

        let started = SystemTime::now();
        let mut command = tokio::process::Command::new("node");
        command
            .arg(&runner)
            .arg(&config)
            .current_dir(&work.0)
            .env("NODE_PATH", &node_path)
            // Belt and braces: nothing here may fetch a browser.
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command.spawn().map_err(|error| {
            fail(if error.kind() == std::io::ErrorKind::NotFound {
                format!("node not found on PATH: {INSTALL_NODE}")
            } else {
                format!("cannot start node: {error}")
            })
        })?;
        let output = match tokio::time::timeout(PLAYWRIGHT_TIMEOUT, child.wait_with_output()).await {
            Ok(output) => output.map_err(|error| fail(format!("node failed: {error}")))?,
            Err(_) => {
                return Err(fail(format!(
                    "the script did not finish within {} s",
                    PLAYWRIGHT_TIMEOUT.as_secs()
                )))
            }
        };
        let finished = SystemTime::now();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);

        let outcome = std::fs::read_to_string(&result)
            .ok()
            .and_then(|text| serde_json::from_str::<Outcome>(&text).ok());
        let Some(outcome) = outcome else {
            // The runner died before writing its result (node too old, killed, a crash).
            let status = output.status;
            return Err(fail(format!("node exited ({status}) without a result: {}", stderr.trim())));
        };
        if outcome.success {
            return Ok(TriggerResponse {
                trace_id,
                status: 0,
                status_text: String::new(),
                headers: Vec::new(),
                body: stdout,
                attributes: vec![("tracetest.run.trigger.playwrightengine.success", 1)],
                body_truncated_at: None,
                notes: Vec::new(),
                started,
                finished,
            });
        }
        Err(fail(describe_failure(&outcome, &chromium, &node_path)))
    }

    /// `NODE_PATH` for the runner and the script (module doc: the search order).
    fn node_path(&self) -> OsString {
        let mut dirs = Vec::new();
        if let Some(dir) = std::env::var_os(PLAYWRIGHT_DIR_VAR).filter(|dir| !dir.is_empty()) {
            let dir = PathBuf::from(dir);
            if dir.file_name().is_some_and(|name| name == "node_modules") {
                dirs.push(dir);
            } else {
                dirs.push(dir.join("node_modules"));
            }
        }
        if let Some(dir) = &self.dir {
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            dirs.extend(dir.ancestors().map(|ancestor| ancestor.join("node_modules")));
        }
        if let Some(existing) = std::env::var_os("NODE_PATH") {
            dirs.extend(std::env::split_paths(&existing));
        }
        std::env::join_paths(dirs).unwrap_or_default()
    }
}

/// The run's temporary directory, removed when the run ends. Named after the process and
/// a counter, not only the run's IDs: a caller may fire the same IDs twice at once.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create(trace_id: TraceId, span_id: SpanId) -> std::io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "tracecheck-playwright-{}-{n}-{}-{}",
            std::process::id(),
            trace_id.to_hex(),
            span_id.to_hex()
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir(&dir)?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The error message for a failed run, saying what to install when something is missing.
fn describe_failure(outcome: &Outcome, chromium: &Path, node_path: &OsString) -> String {
    if outcome.missing.as_deref() == Some("playwright-core") {
        let searched =
            std::env::split_paths(node_path).map(|dir| dir.display().to_string()).collect::<Vec<_>>();
        return format!(
            "playwright-core not found (searched {}): install it with `npm install --prefix DIR \
             playwright-core` and set {PLAYWRIGHT_DIR_VAR}=DIR, or `npm install playwright-core` beside \
             the test file",
            if searched.is_empty() { "no directory".to_string() } else { searched.join(", ") }
        );
    }
    let error = outcome.error.trim();
    match outcome.stage.as_str() {
        "launch" => format!("Chromium {} did not start: {error}", chromium.display()),
        "load" => format!("the script failed to load: {error}"),
        "method" => error.to_string(),
        "goto" => format!("the page did not load the target: {error}"),
        _ => format!("the script failed: {error}"),
    }
}

/// The Chromium executable: `TRACECHECK_CHROMIUM`, else the first known name on `PATH`.
fn find_chromium() -> Result<PathBuf, MissingChromium> {
    if let Some(path) = std::env::var_os(CHROMIUM_VAR).filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() { Ok(path) } else { Err(MissingChromium::NotAFile(path)) };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in CHROMIUM_NAMES {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(MissingChromium::NotOnPath)
}

/// Why no Chromium could be found; each message says what to install or set.
#[derive(Debug, thiserror::Error)]
enum MissingChromium {
    #[error("{CHROMIUM_VAR}={} is not a file: {INSTALL_CHROMIUM}", .0.display())]
    NotAFile(PathBuf),
    #[error(
        "no Chromium browser found ({CHROMIUM_VAR} is unset and none of {} is on PATH): {INSTALL_CHROMIUM}, \
         or set {CHROMIUM_VAR} to the browser's path",
        CHROMIUM_NAMES.join(", ")
    )]
    NotOnPath,
}

/// Launches Chromium, opens a page whose every request carries the trace context and whose
/// every document has it in `<meta name="traceparent">`, goes to the target and calls the
/// script's method with the page. It reports through the result file (the script owns
/// stdout, which is Tracetest's `out`).
///
/// The meta tag is what browser instrumentations read to join the server's trace
/// (OpenTelemetry's document-load reads it at the `load` event, Tracetest's
/// user-interaction when it starts): an init script puts it in `<head>` as soon as the
/// parser has made one, before any of the page's own scripts runs (the parser runs pending
/// microtasks before each script), unless the page serves its own.
const RUNNER: &str = r#"'use strict';
const fs = require('fs');
const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const report = (result) => fs.writeFileSync(config.resultPath, JSON.stringify(result));
const message = (error) => (error && error.message) ? String(error.message) : String(error);
const missingModule = (error) => {
  if (!error || error.code !== 'MODULE_NOT_FOUND') return null;
  const found = /Cannot find module '([^']+)'/.exec(error.message);
  return found ? found[1] : null;
};

async function main() {
  let playwright;
  try {
    playwright = require('playwright-core');
  } catch (error) {
    if (missingModule(error) === 'playwright-core') return report({ missing: 'playwright-core' });
    throw error;
  }
  let browser;
  try {
    browser = await playwright.chromium.launch({ executablePath: config.chromium, args: config.args, headless: true });
  } catch (error) {
    return report({ stage: 'launch', error: message(error) });
  }
  try {
    let script;
    try {
      script = require(config.scriptPath);
    } catch (error) {
      const missing = missingModule(error);
      const text = missing ? `Cannot find module '${missing}' (install it beside the test file or in ${'$'}TRACECHECK_PLAYWRIGHT_DIR)` : message(error);
      return report({ stage: 'load', error: text });
    }
    const method = script && script[config.method];
    if (typeof method !== 'function') {
      const exported = Object.keys(script || {}).filter((name) => typeof script[name] === 'function');
      return report({ stage: 'method', error: `the script exports no function \`${config.method}\` (it exports: ${exported.join(', ') || 'none'})` });
    }
    const context = await browser.newContext({ extraHTTPHeaders: config.headers });
    if (config.headers.traceparent) {
      await context.addInitScript((traceparent) => {
        const add = () => {
          if (!document.head) return false;
          if (!document.head.querySelector('meta[name="traceparent"]')) {
            const meta = document.createElement('meta');
            meta.setAttribute('name', 'traceparent');
            meta.setAttribute('content', traceparent);
            document.head.prepend(meta);
          }
          return true;
        };
        if (!add()) {
          const observer = new MutationObserver(() => { if (add()) observer.disconnect(); });
          observer.observe(document, { childList: true, subtree: true });
        }
      }, config.headers.traceparent);
    }
    const page = await context.newPage();
    if (config.target) {
      try {
        await page.goto(config.target);
      } catch (error) {
        return report({ stage: 'goto', error: message(error) });
      }
    }
    try {
      let timer;
      const overdue = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the script did not finish within ${Math.round(config.scriptTimeoutMs / 1000)} s`)), config.scriptTimeoutMs);
      });
      try {
        await Promise.race([method(page), overdue]);
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      return report({ stage: 'script', error: message(error) });
    }
    report({ success: true });
  } finally {
    await browser.close().catch(() => {});
  }
}

// Exit once the result is written: a script still hanging on the closed browser must not
// keep node alive until tracecheck kills it.
main().catch((error) => report({ stage: 'runner', error: message(error) })).finally(() => process.exit(0));
"#;
