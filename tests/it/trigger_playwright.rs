//! The playwrightEngine trigger with Node.js, npm's `playwright-core` and `@playwright/test`
//! (installed into target/tools by `tests/tools/provision playwright`) and Debian's Chromium,
//! against a small web app on 127.0.0.1:0 instrumented with the OpenTelemetry SDK: a page
//! with a button that fetches `/api/greet`, each request traced under its `traceparent`.

use crate::support as common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span as _, SpanKind, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tokio::sync::mpsc;

use common::demo::HeaderExtractor;
use common::{demo, free_addr, json_report, provision, tracecheck, vars_file, Files};
use model::{SpanId, TraceId};
use trigger::playwright::{CHROMIUM_VAR, PLAYWRIGHT_DIR_VAR};
use trigger::{Error, PlaywrightTrigger, Trigger};

/// Installs Chromium (apt, when missing), playwright-core and @playwright/test 1.65.1 (npm),
/// all idempotent, giving the npm install directory.
fn install() -> PathBuf {
    provision("chromium");
    provision("playwright")
}

struct Site {
    addr: SocketAddr,
    provider: SdkTracerProvider,
    /// The path and headers of every request the site served.
    seen: mpsc::UnboundedReceiver<(String, HeaderMap)>,
}

#[derive(Clone)]
struct App {
    tracer: Arc<SdkTracer>,
    seen: mpsc::UnboundedSender<(String, HeaderMap)>,
}

impl App {
    fn serve(&self, headers: HeaderMap, route: &str) {
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(&headers));
        let mut span = self
            .tracer
            .span_builder(format!("GET {route}"))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("http.route", route.to_string()),
                KeyValue::new("http.response.status_code", 200i64),
            ])
            .start_with_context(self.tracer.as_ref(), &parent);
        span.end();
        let _ = self.seen.send((route.to_string(), headers));
    }
}

const PAGE: &str = r#"<!doctype html>
<html><head><title>Greeter</title><link rel="icon" href="data:,"></head>
<body>
  <h1>Greeter</h1>
  <button id="greet" onclick="fetch('/api/greet').then(r => r.text()).then(t => { document.getElementById('out').textContent = t; })">Greet</button>
  <p id="out"></p>
</body></html>"#;

async fn start_site(otlp_grpc_endpoint: &str) -> Site {
    let provider = demo::tracer_provider(otlp_grpc_endpoint, "greeter-web").expect("tracer provider");
    let (sender, seen) = mpsc::unbounded_channel();
    let app = App { tracer: Arc::new(provider.tracer("greeter-web")), seen: sender };
    let router = Router::new()
        .route(
            "/",
            get(|State(app): State<App>, headers: HeaderMap| async move {
                app.serve(headers, "/");
                Html(PAGE)
            }),
        )
        .route(
            "/api/greet",
            get(|State(app): State<App>, headers: HeaderMap| async move {
                app.serve(headers, "/api/greet");
                "hello, ana"
            }),
        )
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Site { addr, provider, seen }
}

/// Tracetest's own example style: `expect` from @playwright/test, the page already at the
/// target, a click that fetches.
const SCRIPT: &str = r##"const { expect } = require("@playwright/test");

async function greet(page) {
  await expect(page.getByText("Greeter", { exact: true }).first()).toBeVisible();
  await Promise.all([
    page.waitForResponse((resp) => resp.url().includes("/api/greet") && resp.status() === 200),
    page.getByRole("button", { name: "Greet" }).click(),
  ]);
  await expect(page.locator("#out")).toHaveText("hello, ana");
  console.log("greeted");
}

async function broken(page) {
  throw new Error("the cart is empty");
}

module.exports = { greet, broken };
"##;

fn ids() -> (TraceId, SpanId) {
    (
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("trace id"),
        SpanId::from_hex("b7ad6b7169203331").expect("span id"),
    )
}

fn trigger(site: &Site, method: &str, dir: PathBuf) -> Trigger {
    Trigger::Playwright(PlaywrightTrigger {
        target: format!("http://{}/", site.addr),
        method: method.into(),
        script: SCRIPT.into(),
        script_name: "script.js".into(),
        dir: Some(dir),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_page_makes_carries_the_trace_context() {
    // The install directory as the test file's directory: its node_modules is searched.
    let dir = install();
    let mut site = start_site(&format!("http://{}", free_addr())).await;
    let (trace_id, span_id) = ids();

    let response = trigger(&site, "greet", dir).fire(trace_id, span_id).await.expect("the script passes");
    assert_eq!(response.trace_id, trace_id);
    assert_eq!(response.attributes, vec![("tracetest.run.trigger.playwrightengine.success", 1)]);
    assert_eq!(response.body.trim(), "greeted", "the script's stdout is the result's output");

    let mut routes = Vec::new();
    while let Ok((route, headers)) = site.seen.try_recv() {
        let header = |name: &str| headers.get(name).map(|value| value.to_str().expect("ascii").to_string());
        assert_eq!(
            header("traceparent").as_deref(),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            "{route}"
        );
        assert_eq!(header("tracestate").as_deref(), Some("tracetest=true"), "{route}");
        assert_eq!(header("b3").as_deref(), Some("0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1"));
        assert_eq!(
            header("uber-trace-id").as_deref(),
            Some("0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331:0:1")
        );
        assert_eq!(header("ot-tracer-traceid").as_deref(), Some("8448eb211c80319c"));
        assert_eq!(
            header("x-amzn-trace-id").as_deref(),
            Some("Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1")
        );
        routes.push(route);
    }
    // The navigation to the target and the page's own fetch, nothing else.
    assert_eq!(routes, vec!["/".to_string(), "/api/greet".to_string()]);
    let _ = tokio::task::spawn_blocking(move || site.provider.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throwing_script_or_a_missing_method_is_an_error_with_the_script_message() {
    let dir = install();
    let site = start_site(&format!("http://{}", free_addr())).await;
    let (trace_id, span_id) = ids();

    let error = trigger(&site, "broken", dir.clone()).fire(trace_id, span_id).await.unwrap_err();
    assert!(matches!(error, Error::Playwright { .. }), "{error:?}");
    assert_eq!(error.to_string(), "playwrightEngine script.js: the script failed: the cart is empty");

    let error = trigger(&site, "checkout", dir).fire(trace_id, span_id).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "playwrightEngine script.js: the script exports no function `checkout` (it exports: greet, broken)"
    );
    let _ = tokio::task::spawn_blocking(move || site.provider.shutdown()).await;
}

const TEST: &str = r#"type: Test
spec:
  id: greet
  name: Greet from the browser
  trigger:
    type: playwrightengine
    playwrightEngine:
      target: ${var:SITE}
      script: ./script.js
      method: ${var:METHOD}
  specs:
    - selector: span[tracetest.span.type="general" name="Tracetest trigger"] span[name="GET /"]
      name: The page was served under the trigger span
      assertions:
        - attr:tracetest.selected_spans.count = 1
        - attr:http.route = "/"
    - selector: span[name="Tracetest trigger"] span[name="GET /api/greet"]
      name: The button's fetch reached the API
      assertions:
        - attr:tracetest.selected_spans.count = 1
        - attr:http.response.status_code = 200
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.run.trigger.playwrightengine.success = 1
"#;

/// `tracecheck run` on the test file: `SITE` and `METHOD` as variables, the other pairs as
/// environment variables.
async fn run(files: &Files, grpc: SocketAddr, pairs: &[(&str, &str)]) -> Output {
    let (vars, env): (Vec<_>, Vec<_>) = pairs.iter().partition(|(key, _)| ["SITE", "METHOD"].contains(key));
    let vars = vars_file(files, &vars);
    let mut command = tracecheck();
    command.args(["run", &files.path("greet.yaml"), "--vars", &vars, "-o", "json"]);
    command.args([
        "--grpc-addr",
        &grpc.to_string(),
        "--http-addr",
        &free_addr().to_string(),
        "--settle",
        "200ms",
    ]);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().await.expect("run tracecheck")
}

fn step_error(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let report = json_report(output);
    let step = &report["steps"][0];
    assert_eq!(step["state"], "ERROR", "{step}");
    step["error"].as_str().expect("error text").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracetest_file_with_a_playwright_engine_trigger_passes_on_the_site_spans() {
    let dir = install();
    let grpc = free_addr();
    let site = start_site(&format!("http://{grpc}")).await;
    let files = Files::new();
    files.write("greet.yaml", TEST);
    files.write("script.js", SCRIPT);
    let target = format!("http://{}", site.addr);
    let dir = dir.display().to_string();
    let base = [("SITE", target.as_str()), (PLAYWRIGHT_DIR_VAR, dir.as_str())];

    let output = run(&files, grpc, &[base[0], base[1], ("METHOD", "greet")]).await;
    let report = json_report(&output);
    let step = &report["steps"][0];
    assert_eq!(step["state"], "PASSED", "{step}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0));

    // The script throws: ERROR with the script's message.
    let output = run(&files, grpc, &[base[0], base[1], ("METHOD", "broken")]).await;
    let error = step_error(&output);
    assert!(error.contains("the script failed: the cart is empty"), "{error}");
    let _ = tokio::task::spawn_blocking(move || site.provider.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_node_playwright_core_or_chromium_is_an_error_naming_what_to_install() {
    let dir = install();
    let files = Files::new();
    files.write("greet.yaml", TEST);
    files.write("script.js", SCRIPT);
    let grpc = free_addr();
    let dir = dir.display().to_string();
    let site = ("SITE", "http://127.0.0.1:9");
    let method = ("METHOD", "greet");

    // No node on PATH (Chromium named directly, so only node is missing).
    let chromium = provision("chromium").display().to_string();
    let empty = tempfile::tempdir().expect("empty dir");
    let no_path = empty.path().display().to_string();
    let output = run(&files, grpc, &[site, method, ("PATH", &no_path), (CHROMIUM_VAR, &chromium)]).await;
    let error = step_error(&output);
    assert!(error.contains("node not found on PATH") && error.contains("install Node.js"), "{error}");

    // `validate` accepts the file on the same machine.
    let mut validate = tracecheck();
    validate.args(["validate", &files.path("greet.yaml")]).env("PATH", &no_path);
    let validate = validate.output().await.expect("run tracecheck validate");
    assert_eq!(validate.status.code(), Some(0), "{}", String::from_utf8_lossy(&validate.stderr));

    // node but no playwright-core anywhere on the search path.
    let output = run(&files, grpc, &[site, method, ("NODE_PATH", "")]).await;
    let error = step_error(&output);
    assert!(error.contains("playwright-core not found") && error.contains("npm install"), "{error}");

    // No browser.
    let output = run(
        &files,
        grpc,
        &[site, method, (PLAYWRIGHT_DIR_VAR, &dir), (CHROMIUM_VAR, "/nonexistent/chromium")],
    )
    .await;
    let error = step_error(&output);
    assert!(error.contains("apt-get install chromium"), "{error}");
}
