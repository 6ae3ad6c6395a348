//! The analyzer end to end: "apps" instrumented with the real OpenTelemetry Rust SDK export
//! well-named and badly-named spans over OTLP/gRPC to an in-process `tracecheck` server, and
//! the real binary judges them with `tracecheck analyze` and, with required gates, with
//! `tracecheck run --server`.
//!
//! Nothing sleeps: each app's provider is force-flushed (the export has been answered, so
//! the spans are stored) before the binary runs, and `run` waits on the trace itself.

use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use serde_json::Value;
use server::RunningServer;

use crate::support::otel::{self, Exporter};
use crate::support::{fixture_arg, server, tracecheck, vars_file, Files, Run, ServerExt};

/// The secret the bad app leaks in a request header attribute.
const SECRET: &str = "sk_live_51HxQzT3stS3cr3tK3y";

/// Runs `emit` with a fresh provider for service `users` exporting to `server`, flushes it
/// and returns the trace ID `emit` reports.
async fn export(server: &RunningServer, emit: fn(&SdkTracer) -> String) -> String {
    otel::export(Exporter::grpc(server.grpc_addr()), otel::service("users"), "users", emit)
        .await
        .expect("spans exported")
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

/// Runs the real binary with `args`.
async fn run(args: &[&str]) -> Run {
    tracecheck().args(args).output().await
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_passes_a_well_named_trace_old_and_new_conventions() {
    let server = server().start().await;
    let trace_id = export(&server, well_named).await;
    let output = run(&["analyze", &trace_id, "--server", &server.grpc_url(), "-o", "json"]).await;
    let value = output.json();
    assert_eq!(output.code(), Some(0), "{value:#}");
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

    let pretty = run(&["analyze", &trace_id, "--server", &server.grpc_url()]).await;
    assert_eq!(pretty.code(), Some(0), "{}", pretty.stderr());
    let text = pretty.stdout();
    assert!(text.contains(&format!("Trace {trace_id} (4 spans)")), "{text}");
    assert!(text.contains("✔ analyzer: score 100 (minimum 0), 7 rules passed"), "{text}");
    assert!(text.ends_with("analyzer PASSED\n"), "{text}");
    assert!(!text.contains('\x1b'), "no colours off a terminal");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_flags_a_badly_named_trace_and_masks_the_secret() {
    let server = server().start().await;
    let trace_id = export(&server, badly_named).await;
    let output = run(&["analyze", &trace_id, "--server", &server.grpc_url(), "-o", "json"]).await;
    let value = output.json();
    assert_eq!(output.code(), Some(1), "{value:#}");
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
    let text = output.stdout();
    assert!(text.contains(r#""expected":"GET /users/{id}""#), "{text}");
    // The leaked key is reported, masked.
    assert!(!text.contains(SECRET), "the secret leaked into the report: {text}");
    assert!(
        text.contains("Leaked request API Key found for attribute: authorization. Value: Bearer ****"),
        "{text}"
    );
    assert!(text.contains("Usage of a IP endpoint instead of DNS found for attribute: url.full"), "{text}");

    let pretty = run(&["analyze", &trace_id, "--server", &server.grpc_url(), "--verbose"]).await;
    assert_eq!(pretty.code(), Some(1), "{}", pretty.stderr());
    let text = pretty.stdout();
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
    let server = server().start().await;
    let trace_id = export(&server, badly_named).await;
    let url = server.grpc_url();
    let files = Files::new();

    // Only the security plugin's leak rule at error level, the https rule a warning: the
    // leak still fails it.
    let analyzer = files.template("analyzer/leaks-only.yaml", "analyzer.yaml", &[("LEAK_LEVEL", "error")]);
    let output = run(&["analyze", &trace_id, "--server", &url, "--analyzer", &analyzer, "-o", "json"]).await;
    let value = output.json();
    assert_eq!(output.code(), Some(1), "{value:#}");
    assert_eq!(value["analyzer"]["plugins"].as_array().expect("plugins").len(), 1);
    assert_eq!(value["analyzer"]["score"], 0);

    // With the leak rule a warning too, nothing fails the analyzer: exit 0.
    let analyzer = files.template("analyzer/leaks-only.yaml", "analyzer.yaml", &[("LEAK_LEVEL", "warning")]);
    let output = run(&["analyze", &trace_id, "--server", &url, "--analyzer", &analyzer]).await;
    output.assert_code(0);
    assert!(output.stdout().contains("✔ analyzer: score 100 (minimum 0), 2 of 2 rules warned"), "{output}");

    // A definition error: exit 2 with file:line:col, before the server is asked.
    let broken = fixture_arg("analyzer/empty-name.yaml");
    let output = run(&["analyze", &trace_id, "--server", &url, "--analyzer", &broken]).await;
    output.assert_code(2);
    assert!(output.stderr().contains(&format!("{broken}:")), "{output}");
    assert!(output.stderr().contains("linter name cannot be empty"), "{output}");

    // A malformed trace ID is bad input; an unknown one is not found (exit 1).
    run(&["analyze", "not-a-trace", "--server", &url]).await.assert_code(2);
    let output = run(&["analyze", "0af7651916cd43dd8448eb211c80319c", "--server", &url]).await;
    output.assert_code(1);
    assert!(output.stderr().contains("not found"), "{output}");
    server.shutdown().await.expect("shutdown");
}

/// A Test whose trigger adopts the app's trace and whose one spec passes on it, and the
/// variables naming `trace_id`.
fn lint_test(files: &Files, trace_id: &str) -> (String, String) {
    (fixture_arg("analyzer/lint-users.yaml"), vars_file(files, &[("TRACE_ID", trace_id)]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_fails_a_step_on_a_required_analyzer_gate() {
    let server = server().start().await;
    let trace_id = export(&server, badly_named).await;
    let url = server.grpc_url();
    let files = Files::new();
    let (test, vars) = lint_test(&files, &trace_id);
    let run = |gates: Option<&str>, output: &str, extra: &[&str]| {
        let mut command = tracecheck();
        command.args(["run", &test, "--vars", &vars, "--server", &url, "-o", output]);
        command.args(["--settle", "200ms", "--grace", "1s", "--timeout", "10s"]).args(extra);
        if let Some(gates) = gates {
            command.args(["--required-gates", gates]);
        }
        async move { command.output().await }
    };

    // The default gate (test-specs): the assertions pass, so does the step.
    let output = run(None, "json", &[]).await;
    let report = output.json();
    assert_eq!(output.code(), Some(0), "{report:#}");
    let step = &report["steps"][0];
    assert_eq!(step["state"], "PASSED", "{step:#}");
    assert_eq!(step["specs"][0]["passed"], true);
    assert_eq!(step["analyzer"]["passed"], false);
    assert_eq!(step["gates"]["required"], serde_json::json!(["test-specs"]));
    assert_eq!(step["gates"]["failed"], serde_json::json!(["analyzer-rules"]));
    assert_eq!(step["gates"]["passed"], true);

    // analyzer-rules required: the same step fails and the run exits 1.
    let output = run(Some("test-specs,analyzer-rules"), "json", &[]).await;
    let report = output.json();
    assert_eq!(output.code(), Some(1), "{report:#}");
    let step = &report["steps"][0];
    assert_eq!(step["state"], "FAILED", "{step:#}");
    assert_eq!(step["specs"][0]["passed"], true);
    assert!(step["gates"]["failed"].as_array().expect("failed").contains(&Value::from("analyzer-rules")));
    assert_eq!(step["gates"]["passed"], false);
    assert_eq!(report["state"], "FAILED");
    assert!(!output.stdout().contains(SECRET));

    // Pretty: the findings and the gate block; JUnit: a failed gate testcase.
    let junit = files.path("junit.xml");
    let output = run(Some("analyzer-rules"), "pretty", &["--junit", &junit]).await;
    output.assert_code(1);
    let text = output.stdout();
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
    let output = run(Some("analyzer-score"), "json", &[]).await;
    let report = output.json();
    assert_eq!(output.code(), Some(0), "{report:#}");
    assert_eq!(report["steps"][0]["state"], "PASSED");
    server.shutdown().await.expect("shutdown");
}

/// `analyze --analyzer F` and `run --analyzer F` read the file through the one definition
/// reader: each bad file is refused by both, with exit 2 and the same `file:line:col`
/// message. (`analyze` used to accept the duplicate key and the quoted boolean.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_analyze_refuse_a_bad_analyzer_file_alike() {
    let files = Files::new();
    let (test, _) = lint_test(&files, "0af7651916cd43dd8448eb211c80319c");
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
        let path = files.write(name, yaml);
        let expected = format!("{path}:{message}");
        // No server listens there: the file is refused before anything is contacted.
        let analyze = run(&[
            "analyze",
            "0af7651916cd43dd8448eb211c80319c",
            "--server",
            "http://127.0.0.1:1",
            "--analyzer",
            &path,
        ])
        .await;
        let run = run(&["run", &test, "--analyzer", &path]).await;
        for (command, output) in [("analyze", &analyze), ("run", &run)] {
            assert_eq!(output.code(), Some(2), "{command} {name}: {output}");
            let first_line = output.stderr().lines().next().unwrap_or_default().to_string();
            assert_eq!(first_line, expected, "{command} {name}: {output}");
        }
    }
}
