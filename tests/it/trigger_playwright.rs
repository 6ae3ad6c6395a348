//! The playwrightEngine trigger with Node.js, npm's `playwright-core` and `@playwright/test`
//! and Debian's Chromium (both provisioned through `support::tools`), against a small web
//! app on 127.0.0.1:0 instrumented with the OpenTelemetry SDK: a page with a button that
//! fetches `/api/greet`, each request traced under its `traceparent`. The page, the script
//! and the test file are in `tests/fixtures/trigger/playwright/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tokio::sync::mpsc;

use trigger::playwright::{CHROMIUM_VAR, PLAYWRIGHT_DIR_VAR};
use trigger::{Error, PlaywrightTrigger, Trigger};

use crate::support::apps::{serve_http, server_span};
use crate::support::demo;
use crate::support::tools::tool;
use crate::support::{
    assert_trace_context, fixture_arg, free_addr, ids, otel, read_fixture, tracecheck, vars_file, Files, Run,
};

/// Chromium and playwright, installed if needed; the npm install directory (whose
/// node_modules the trigger searches).
fn install() -> PathBuf {
    tool("chromium");
    tool("playwright")
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
        server_span(&self.tracer, &headers, route).span().end();
        let _ = self.seen.send((route.to_string(), headers));
    }
}

async fn start_site(otlp_grpc_endpoint: &str) -> Site {
    let provider = demo::tracer_provider(otlp_grpc_endpoint, "greeter-web").expect("tracer provider");
    let (sender, seen) = mpsc::unbounded_channel();
    let app = App { tracer: Arc::new(provider.tracer("greeter-web")), seen: sender };
    let router = Router::new()
        .route(
            "/",
            get(|State(app): State<App>, headers: HeaderMap| async move {
                app.serve(headers, "/");
                Html(read_fixture("trigger/playwright/page.html"))
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
    Site { addr: serve_http(router).await, provider, seen }
}

/// The script (Tracetest's own example style: `expect` from @playwright/test, the page
/// already at the target, a click that fetches): `greet` passes, `broken` throws.
fn script() -> String {
    read_fixture("trigger/playwright/script.js")
}

fn trigger(site: &Site, method: &str, dir: PathBuf) -> Trigger {
    Trigger::Playwright(PlaywrightTrigger {
        target: format!("http://{}/", site.addr),
        method: method.into(),
        script: script(),
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

    let response = trigger(&site, "greet", dir)
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .expect("the script passes");
    assert_eq!(response.trace_id, trace_id);
    assert_eq!(response.attributes, vec![("tracetest.run.trigger.playwrightengine.success", 1)]);
    assert_eq!(response.body.trim(), "greeted", "the script's stdout is the result's output");

    let mut routes = Vec::new();
    while let Ok((route, headers)) = site.seen.try_recv() {
        assert_trace_context(|name| {
            headers.get(name).map(|value| value.to_str().expect("ascii").to_string())
        });
        routes.push(route);
    }
    // The navigation to the target and the page's own fetch, nothing else.
    assert_eq!(routes, vec!["/".to_string(), "/api/greet".to_string()]);
    otel::shutdown(site.provider).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throwing_script_or_a_missing_method_is_an_error_with_the_script_message() {
    let dir = install();
    let site = start_site(&format!("http://{}", free_addr())).await;
    let (trace_id, span_id) = ids();

    let error = trigger(&site, "broken", dir.clone())
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Playwright { .. }), "{error:?}");
    assert_eq!(error.to_string(), "playwrightEngine script.js: the script failed: the cart is empty");

    let error = trigger(&site, "checkout", dir)
        .fire(trace_id, span_id, &trigger::Session::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "playwrightEngine script.js: the script exports no function `checkout` (it exports: greet, broken)"
    );
    otel::shutdown(site.provider).await;
}

/// `tracecheck run` on the test file (`greet.yaml`, its script beside it): `SITE` and
/// `METHOD` as variables, the other pairs as environment variables.
async fn run(files: &Files, grpc: SocketAddr, pairs: &[(&str, &str)]) -> Run {
    let (vars, env): (Vec<_>, Vec<_>) = pairs.iter().partition(|(key, _)| ["SITE", "METHOD"].contains(key));
    let vars = vars_file(files, &vars);
    let mut command = tracecheck();
    command.args(["run", &fixture_arg("trigger/playwright/greet.yaml"), "--vars", &vars, "-o", "json"]);
    command.args(["--grpc-addr", &grpc.to_string(), "--http-addr", "127.0.0.1:0", "--settle", "200ms"]);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().await
}

fn step_error(output: &Run) -> String {
    output.assert_code(1);
    let report = output.json();
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
    let target = format!("http://{}", site.addr);
    let dir = dir.display().to_string();
    let base = [("SITE", target.as_str()), (PLAYWRIGHT_DIR_VAR, dir.as_str())];

    let output = run(&files, grpc, &[base[0], base[1], ("METHOD", "greet")]).await;
    let report = output.json();
    let step = &report["steps"][0];
    assert_eq!(step["state"], "PASSED", "{step}\n{output}");
    output.assert_code(0);

    // The script throws: ERROR with the script's message.
    let output = run(&files, grpc, &[base[0], base[1], ("METHOD", "broken")]).await;
    let error = step_error(&output);
    assert!(error.contains("the script failed: the cart is empty"), "{error}");
    otel::shutdown(site.provider).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_node_playwright_core_or_chromium_is_an_error_naming_what_to_install() {
    let dir = install();
    let files = Files::new();
    let grpc = free_addr();
    let dir = dir.display().to_string();
    let site = ("SITE", "http://127.0.0.1:9");
    let method = ("METHOD", "greet");

    // No node on PATH (Chromium named directly, so only node is missing).
    let chromium = tool("chromium").display().to_string();
    let empty = tempfile::tempdir().expect("empty dir");
    let no_path = empty.path().display().to_string();
    let output = run(&files, grpc, &[site, method, ("PATH", &no_path), (CHROMIUM_VAR, &chromium)]).await;
    let error = step_error(&output);
    assert!(error.contains("node not found on PATH") && error.contains("install Node.js"), "{error}");

    // `validate` accepts the file on the same machine.
    let validate = tracecheck()
        .args(["validate", &fixture_arg("trigger/playwright/greet.yaml")])
        .env("PATH", &no_path)
        .output()
        .await;
    validate.assert_code(0);

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

/// The page's documents carry the run's context in `<meta name="traceparent">`, which the
/// browser instrumentations read to join the trace: present while `<head>` is parsed and at
/// `load`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_has_the_trace_context_in_a_traceparent_meta_tag() {
    let dir = install();
    let page = read_fixture("trigger/playwright/meta.html");
    let addr = serve_http(Router::new().route("/", get(move || async move { Html(page) }))).await;
    let (trace_id, span_id) = ids();
    let trigger = Trigger::Playwright(PlaywrightTrigger {
        target: format!("http://{addr}/"),
        method: "seen".into(),
        script: "module.exports = { seen: async (page) => console.log(JSON.stringify(await page.evaluate(() => window.seen))) };".into(),
        script_name: "seen.js".into(),
        dir: Some(dir),
    });
    let response =
        trigger.fire(trace_id, span_id, &trigger::Session::default()).await.expect("the script passes");
    let seen: serde_json::Value = serde_json::from_str(response.body.trim()).expect("the page's JSON");
    let expected = format!("00-{trace_id}-{span_id}-01");
    assert_eq!(seen, serde_json::json!({ "whileParsing": expected, "atLoad": expected }));
}
