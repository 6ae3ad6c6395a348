//! The analyzer end to end: "apps" instrumented with the real OpenTelemetry Rust SDK export
//! well-named and badly-named spans over OTLP/gRPC to an in-process `tracecheck` server, and
//! the real binary judges them with `tracecheck analyze` and, with required gates, with
//! `tracecheck run --server`.
//!
//! Nothing sleeps: each app's provider is force-flushed (the export has been answered, so
//! the spans are stored) before the binary runs, and `run` waits on the trace itself.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use serde_json::Value;
use server::{RunningServer, ServerConfig};

/// The secret the bad app leaks in a request header attribute.
const SECRET: &str = "sk_live_51HxQzT3stS3cr3tK3y";

async fn start_server() -> RunningServer {
    server::start(ServerConfig::ephemeral(), server::routes::control_routes).await.expect("server starts")
}

/// As the demo service's provider: OTLP/gRPC to `endpoint`, with a short batch delay.
fn tracer_provider(endpoint: &str, service_name: &str) -> SdkTracerProvider {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .expect("exporter");
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default().with_scheduled_delay(Duration::from_millis(50)).build(),
        )
        .build();
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service_name.to_string()).build();
    SdkTracerProvider::builder().with_span_processor(processor).with_resource(resource).build()
}

/// Runs `emit` with a fresh provider exporting to `server`, flushes it and returns the trace
/// ID `emit` reports.
async fn export(server: &RunningServer, service: &str, emit: fn(&SdkTracer) -> String) -> String {
    let provider = tracer_provider(&format!("http://{}", server.grpc_addr()), service);
    let trace_id = emit(&provider.tracer(service.to_string()));
    // The SDK's flush blocks until the exporter has its answer; keep it off the workers.
    tokio::task::spawn_blocking(move || {
        provider.force_flush().expect("spans exported");
        provider.shutdown().expect("provider shut down");
    })
    .await
    .expect("flush task");
    trace_id
}

fn child(tracer: &SdkTracer, cx: &Context, name: &str, kind: SpanKind, attributes: Vec<KeyValue>) {
    let mut span = tracer
        .span_builder(name.to_string())
        .with_kind(kind)
        .with_attributes(attributes)
        .start_with_context(tracer, cx);
    span.end();
}

fn trace_id_of(cx: &Context) -> String {
    format!("{:032x}", cx.span().span_context().trace_id())
}

/// A well-instrumented app: a server span, a database call and an outgoing HTTPS call on
/// the current conventions, and an old-convention server span beside them.
fn well_named(tracer: &SdkTracer) -> String {
    let root = tracer
        .span_builder("GET /users/{id}")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/users/{id}"),
            KeyValue::new("url.path", "/users/42"),
            KeyValue::new("url.scheme", "https"),
            KeyValue::new("server.address", "users.example.com"),
            KeyValue::new("http.response.status_code", 200),
        ])
        .start(tracer);
    let cx = Context::new().with_span(root);
    child(
        tracer,
        &cx,
        "SELECT users",
        SpanKind::Client,
        vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.operation.name", "SELECT"),
            KeyValue::new("db.collection.name", "users"),
            KeyValue::new("db.query.text", "SELECT * FROM users WHERE id = $1"),
        ],
    );
    child(
        tracer,
        &cx,
        "GET",
        SpanKind::Client,
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.full", "https://payments.example.com/accounts/42"),
            KeyValue::new("server.address", "payments.example.com"),
        ],
    );
    // Old conventions, as an older SDK writes them (AQ-10: both http.scheme and http.url).
    child(
        tracer,
        &cx,
        "POST /audit",
        SpanKind::Server,
        vec![
            KeyValue::new("http.method", "POST"),
            KeyValue::new("http.route", "/audit"),
            KeyValue::new("http.target", "/audit"),
            KeyValue::new("http.scheme", "https"),
            KeyValue::new("http.url", "https://audit.example.com/audit"),
            KeyValue::new("net.host.name", "audit.example.com"),
        ],
    );
    let trace_id = trace_id_of(&cx);
    cx.span().end();
    trace_id
}

/// A badly instrumented app: a server span named after its handler on the old conventions
/// over plain http with a leaked API key, an empty and a badly named attribute, a
/// current-convention server span with the wrong name, and a client call to a raw IP.
fn badly_named(tracer: &SdkTracer) -> String {
    let root = tracer
        .span_builder("usersHandler")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.method", "GET"),
            KeyValue::new("http.route", "/users"),
            KeyValue::new("http.target", "/users"),
            KeyValue::new("http.scheme", "http"),
            KeyValue::new("http.url", "http://users.example.com/users"),
            KeyValue::new("net.host.name", "users.example.com"),
            KeyValue::new("http.request.header.authorization", format!("Bearer {SECRET}")),
            KeyValue::new("user.id", ""),
            KeyValue::new("userId", "42"),
        ])
        .start(tracer);
    let cx = Context::new().with_span(root);
    child(
        tracer,
        &cx,
        "list users",
        SpanKind::Server,
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/users/{id}"),
            KeyValue::new("url.path", "/users/7"),
            KeyValue::new("url.scheme", "https"),
            KeyValue::new("server.address", "users.example.com"),
        ],
    );
    child(
        tracer,
        &cx,
        "POST",
        SpanKind::Client,
        vec![
            KeyValue::new("http.request.method", "POST"),
            KeyValue::new("url.full", "https://10.20.30.40:8443/charge"),
            KeyValue::new("server.address", "10.20.30.40"),
        ],
    );
    let trace_id = trace_id_of(&cx);
    cx.span().end();
    trace_id
}

/// Runs the real binary with `args`, off the async workers (the server lives on them).
async fn tracecheck(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tracecheck"));
        command.args(&args).env("NO_COLOR", "1");
        // Settings from the environment must not leak into the test.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TRACECHECK_") {
                command.env_remove(key);
            }
        }
        command.output().expect("the binary runs")
    })
    .await
    .expect("command task")
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|error| panic!("{error}: stdout {:?}, stderr {:?}", stdout(output), stderr(output)))
}

/// `plugin/rule` -> (passed, failed span names) of an analyzer result.
fn rules(analyzer: &Value) -> Vec<(String, bool, Vec<String>)> {
    let mut rules = Vec::new();
    for plugin in analyzer["plugins"].as_array().expect("plugins") {
        for rule in plugin["rules"].as_array().expect("rules") {
            let failed = rule["results"]
                .as_array()
                .expect("results")
                .iter()
                .filter(|result| result["passed"] == false)
                .map(|result| result["span_name"].as_str().unwrap_or_default().to_string())
                .collect();
            rules.push((
                format!("{}/{}", plugin["id"].as_str().unwrap_or(""), rule["id"].as_str().unwrap_or("")),
                rule["passed"] == true,
                failed,
            ));
        }
    }
    rules
}

fn rule<'a>(rules: &'a [(String, bool, Vec<String>)], id: &str) -> &'a (String, bool, Vec<String>) {
    rules.iter().find(|(rule_id, _, _)| rule_id == id).unwrap_or_else(|| panic!("no rule {id}"))
}

fn server_url(server: &RunningServer) -> String {
    format!("http://{}", server.grpc_addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_passes_a_well_named_trace_old_and_new_conventions() {
    let server = start_server().await;
    let trace_id = export(&server, "users", well_named).await;
    let output =
        tracecheck(args(&["analyze", &trace_id, "--server", &server_url(&server), "-o", "json"])).await;
    let value = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{value:#}");
    assert_eq!(value["trace_id"], trace_id.as_str());
    let analyzer = &value["analyzer"];
    assert_eq!(analyzer["enabled"], true);
    assert_eq!(analyzer["score"], 100, "{analyzer:#}");
    assert_eq!(analyzer["passed"], true);
    let rules = rules(analyzer);
    assert_eq!(rules.len(), 7);
    assert!(rules.iter().all(|(_, passed, _)| *passed), "{rules:?}");
    // Results name their spans, in trace order (the root first).
    let naming = &analyzer["plugins"][0]["rules"][0];
    assert_eq!(naming["id"], "span-naming");
    assert_eq!(naming["results"][0]["span_name"], "GET /users/{id}");

    let pretty = tracecheck(args(&["analyze", &trace_id, "--server", &server_url(&server)])).await;
    assert_eq!(pretty.status.code(), Some(0), "{}", stderr(&pretty));
    let text = stdout(&pretty);
    assert!(text.contains(&format!("Trace {trace_id} (4 spans)")), "{text}");
    assert!(text.contains("✔ analyzer: score 100 (minimum 0), 7 rules passed"), "{text}");
    assert!(text.ends_with("analyzer PASSED\n"), "{text}");
    assert!(!text.contains('\x1b'), "no colours off a terminal");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_flags_a_badly_named_trace_and_masks_the_secret() {
    let server = start_server().await;
    let trace_id = export(&server, "users", badly_named).await;
    let output =
        tracecheck(args(&["analyze", &trace_id, "--server", &server_url(&server), "-o", "json"])).await;
    let value = json_of(&output);
    assert_eq!(output.status.code(), Some(1), "{value:#}");
    let analyzer = &value["analyzer"];
    assert_eq!(analyzer["passed"], false);
    let rules = rules(analyzer);
    let failed = |id: &str| rule(&rules, id).2.clone();
    assert_eq!(failed("standards/span-naming"), ["usersHandler", "list users"], "{rules:?}");
    assert_eq!(failed("standards/required-attributes"), Vec::<String>::new());
    assert_eq!(failed("standards/attribute-naming"), ["usersHandler"]);
    assert_eq!(failed("standards/no-empty-attributes"), ["usersHandler"]);
    assert_eq!(failed("common/prefer-dns"), ["POST"]);
    assert_eq!(failed("security/secure-https-protocol"), ["usersHandler"]);
    assert_eq!(failed("security/no-api-key-leak"), ["usersHandler"]);
    // standards 25 (one of four rules passed), common 0, security 0: (25 + 0 + 0) / 3.
    let scores: Vec<&Value> =
        analyzer["plugins"].as_array().expect("plugins").iter().map(|p| &p["score"]).collect();
    assert_eq!(scores, [25, 0, 0], "{analyzer:#}");
    assert_eq!(analyzer["score"], 8);

    // The current-convention span is judged on the current names: its expected name is
    // built from http.request.method and http.route.
    let text = stdout(&output);
    assert!(text.contains(r#""expected":"GET /users/{id}""#), "{text}");
    // The leaked key is reported, masked.
    assert!(!text.contains(SECRET), "the secret leaked into the report: {text}");
    assert!(
        text.contains("Leaked request API Key found for attribute: authorization. Value: Bearer ****"),
        "{text}"
    );
    assert!(text.contains("Usage of a IP endpoint instead of DNS found for attribute: url.full"), "{text}");

    let pretty =
        tracecheck(args(&["analyze", &trace_id, "--server", &server_url(&server), "--verbose"])).await;
    assert_eq!(pretty.status.code(), Some(1), "{}", stderr(&pretty));
    let text = stdout(&pretty);
    assert!(text.contains("✘ analyzer: score 8 (minimum 0), 6 of 7 rules failed"), "{text}");
    assert!(
        text.contains("✘ Span Naming (standards/span-naming, error, weight 25): 2 of 3 spans failed"),
        "{text}"
    );
    assert!(text.contains("\"usersHandler\""), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.ends_with("analyzer FAILED\n"), "{text}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_takes_an_analyzer_file_and_rejects_bad_input() {
    let server = start_server().await;
    let trace_id = export(&server, "users", badly_named).await;
    let url = server_url(&server);
    let dir = tempfile::tempdir().expect("temp dir");

    // Only the security plugin's leak rule at error level, the https rule a warning: the
    // leak still fails it.
    let analyzer = dir.path().join("analyzer.yaml");
    std::fs::write(
        &analyzer,
        "type: Analyzer\nspec:\n  id: current\n  name: leaks only\n  enabled: true\n  minimumScore: 0\n  plugins:\n    - id: security\n      enabled: true\n      rules:\n        - id: secure-https-protocol\n          weight: 30\n          errorLevel: warning\n        - id: no-api-key-leak\n          weight: 70\n          errorLevel: error\n",
    )
    .expect("write");
    let analyzer_path = analyzer.to_str().expect("utf-8 path");
    let output = tracecheck(args(&[
        "analyze",
        &trace_id,
        "--server",
        &url,
        "--analyzer",
        analyzer_path,
        "-o",
        "json",
    ]))
    .await;
    let value = json_of(&output);
    assert_eq!(output.status.code(), Some(1), "{value:#}");
    assert_eq!(value["analyzer"]["plugins"].as_array().expect("plugins").len(), 1);
    assert_eq!(value["analyzer"]["score"], 0);

    // With the leak rule a warning too, nothing fails the analyzer: exit 0.
    std::fs::write(
        &analyzer,
        std::fs::read_to_string(&analyzer).expect("read").replace("errorLevel: error", "errorLevel: warning"),
    )
    .expect("write");
    let output =
        tracecheck(args(&["analyze", &trace_id, "--server", &url, "--analyzer", analyzer_path])).await;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("✔ analyzer: score 100 (minimum 0), 2 of 2 rules warned"),
        "{}",
        stdout(&output)
    );

    // A definition error: exit 2 with file:line:col, before the server is asked.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "type: Analyzer\nspec:\n  name: ''\n  enabled: true\n").expect("write");
    let output = tracecheck(args(&[
        "analyze",
        &trace_id,
        "--server",
        &url,
        "--analyzer",
        broken.to_str().expect("utf-8"),
    ]))
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains(&format!("{}:", broken.display())), "{}", stderr(&output));
    assert!(stderr(&output).contains("linter name cannot be empty"), "{}", stderr(&output));

    // A malformed trace ID is bad input; an unknown one is not found (exit 1).
    let output = tracecheck(args(&["analyze", "not-a-trace", "--server", &url])).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let output = tracecheck(args(&["analyze", "0af7651916cd43dd8448eb211c80319c", "--server", &url])).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("not found"), "{}", stderr(&output));
    server.shutdown().await.expect("shutdown");
}

/// A Test whose trigger adopts the app's trace and whose one spec passes on it.
fn write_test(dir: &Path, trace_id: &str) -> (String, String) {
    let test = dir.join("lint.yaml");
    std::fs::write(
        &test,
        "type: Test\nspec:\n  name: lint users\n  trigger:\n    type: traceid\n    traceid:\n      id: ${var:TRACE_ID}\n  specs:\n    - selector: span[tracetest.span.type=\"http\" name=\"POST\"]\n      name: the payment call is made\n      assertions:\n        - attr:http.request.method = \"POST\"\n",
    )
    .expect("write test");
    let vars = dir.join("vars.yaml");
    std::fs::write(
        &vars,
        format!("type: VariableSet\nspec:\n  id: vars\n  name: vars\n  values:\n    - key: TRACE_ID\n      value: {trace_id}\n"),
    )
    .expect("write vars");
    (test.display().to_string(), vars.display().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_fails_a_step_on_a_required_analyzer_gate() {
    let server = start_server().await;
    let trace_id = export(&server, "users", badly_named).await;
    let url = server_url(&server);
    let dir = tempfile::tempdir().expect("temp dir");
    let (test, vars) = write_test(dir.path(), &trace_id);
    let run = |gates: Option<&str>, output: &str| {
        let mut items = args(&[
            "run",
            &test,
            "--vars",
            &vars,
            "--server",
            &url,
            "-o",
            output,
            "--settle",
            "200ms",
            "--grace",
            "1s",
            "--timeout",
            "10s",
        ]);
        if let Some(gates) = gates {
            items.extend(args(&["--required-gates", gates]));
        }
        items
    };

    // The default gate (test-specs): the assertions pass, so does the step.
    let output = tracecheck(run(None, "json")).await;
    let report = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    let step = &report["steps"][0];
    assert_eq!(step["state"], "PASSED", "{step:#}");
    assert_eq!(step["specs"][0]["passed"], true);
    assert_eq!(step["analyzer"]["passed"], false);
    assert_eq!(step["gates"]["required"], serde_json::json!(["test-specs"]));
    assert_eq!(step["gates"]["failed"], serde_json::json!(["analyzer-rules"]));
    assert_eq!(step["gates"]["passed"], true);

    // analyzer-rules required: the same step fails and the run exits 1.
    let output = tracecheck(run(Some("test-specs,analyzer-rules"), "json")).await;
    let report = json_of(&output);
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    let step = &report["steps"][0];
    assert_eq!(step["state"], "FAILED", "{step:#}");
    assert_eq!(step["specs"][0]["passed"], true);
    assert!(step["gates"]["failed"].as_array().expect("failed").contains(&Value::from("analyzer-rules")));
    assert_eq!(step["gates"]["passed"], false);
    assert_eq!(report["state"], "FAILED");
    assert!(!stdout(&output).contains(SECRET));

    // Pretty: the findings and the gate block; JUnit: a failed gate testcase.
    let junit = dir.path().join("junit.xml");
    let mut items = run(Some("analyzer-rules"), "pretty");
    items.extend(args(&["--junit", junit.to_str().expect("utf-8")]));
    let output = tracecheck(items).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    for line in [
        "    ✘ analyzer: score 8 (minimum 0), 6 of 7 rules failed",
        "    ✘ Required gates",
        "        ✘ analyzer-rules",
    ] {
        assert!(text.lines().any(|candidate| candidate == line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains(SECRET), "{text}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.contains(r#"name="required gate: analyzer-rules""#), "{xml}");
    assert!(xml.contains(r#"<failure type="GATE" message="analyzer score 8 (minimum 0); failed rules: standards/span-naming (error): 2 of "#), "{xml}");
    assert!(!xml.contains(SECRET), "{xml}");

    // analyzer-score with the default minimum 0 passes, so the step does too.
    let output = tracecheck(run(Some("analyzer-score"), "json")).await;
    let report = json_of(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    assert_eq!(report["steps"][0]["state"], "PASSED");
    server.shutdown().await.expect("shutdown");
}

/// `analyze --analyzer F` and `run --analyzer F` read the file through the one definition
/// reader: each bad file is refused by both, with exit 2 and the same `file:line:col`
/// message. (`analyze` used to accept the duplicate key and the quoted boolean.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_analyze_refuse_a_bad_analyzer_file_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (test, _) = write_test(dir.path(), "0af7651916cd43dd8448eb211c80319c");
    let cases = [
        (
            "duplicate.yaml",
            "type: Analyzer\nspec:\n  name: x\n  name: y\n",
            "4:3: invalid yaml: duplicate key `name`",
        ),
        (
            "quoted.yaml",
            "type: Analyzer\nspec:\n  name: x\n  enabled: \"true\"\n",
            "4:12: expected true or false for `enabled`, found the string \"true\"",
        ),
        ("empty-name.yaml", "type: Analyzer\nspec:\n  name: ''\n", "3:9: linter name cannot be empty"),
    ];
    for (name, yaml, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, yaml).expect("write");
        let path = path.display().to_string();
        let expected = format!("{path}:{message}");
        // No server listens there: the file is refused before anything is contacted.
        let analyze = tracecheck(args(&[
            "analyze",
            "0af7651916cd43dd8448eb211c80319c",
            "--server",
            "http://127.0.0.1:1",
            "--analyzer",
            &path,
        ]))
        .await;
        let run = tracecheck(args(&["run", &test, "--analyzer", &path])).await;
        for (command, output) in [("analyze", &analyze), ("run", &run)] {
            assert_eq!(output.status.code(), Some(2), "{command} {name}: {}", stderr(output));
            let first_line = stderr(output).lines().next().unwrap_or_default().to_string();
            assert_eq!(first_line, expected, "{command} {name}: {}", stderr(output));
        }
    }
}
