//! A Tracetest setup taken unchanged (issue 20): the provisioning resources beside the
//! tests (PollingProfile, TestRunner, DataStore, Config, Demo), alone or several to a file,
//! among the FILEs or through `--config`; suites whose steps are test IDs; and the shapes
//! Tracetest's own examples use that tracecheck used to refuse (an `auth` without a type, a
//! graphql query in a file, the flat pre-v0.8 format). Everything through the real binary.

use serde_json::Value;

use crate::support::{
    fixture_arg, free_addr, otel, run_embedded, server, tracecheck, vars_file, Files, ServerExt,
};

fn setups(name: &str) -> String {
    fixture_arg(&format!("setups/{name}"))
}

/// The variables of a traceid test waiting for a trace nobody sends.
fn nobody_sends(files: &Files) -> String {
    vars_file(files, &[("TRACE_ID", "4bf92f3577b34da6a3ce929d0e0e4736")])
}

fn step(report: &Value) -> &Value {
    &report["steps"][0]
}

#[tokio::test]
async fn every_provisioning_resource_loads_alone_and_several_to_a_file() {
    let output = tracecheck()
        .args(["validate", &setups("provision.yaml"), &setups("jaeger.yaml"), &setups("tempo-http.yaml")])
        .output()
        .await;
    output.assert_code(0);
    let kinds: Vec<String> =
        output.stdout().lines().map(|line| line.rsplit(' ').next().unwrap_or_default().to_string()).collect();
    assert_eq!(
        kinds,
        ["PollingProfile", "Config", "Demo", "TestRunner", "DataStore", "DataStore", "DataStore"],
        "{}",
        output.stdout()
    );
    // --config alone, as `tracetest apply` takes the team's provisioning.
    let output = tracecheck().args(["validate", "--config", &setups("provision.yaml")]).output().await;
    output.assert_code(0);
    assert_eq!(output.stdout().lines().count(), 5, "{}", output.stdout());
}

#[tokio::test]
async fn a_data_store_tracecheck_cannot_read_is_refused_with_what_to_do() {
    let output = tracecheck().args(["validate", &setups("opensearch.yaml")]).output().await;
    output.assert_code(2);
    let stderr = output.stderr();
    assert!(stderr.contains("opensearch.yaml:4:9: DataStore type `opensearch` is not supported"), "{stderr}");
    assert!(stderr.contains("add an OTLP exporter pointed at tracecheck"), "{stderr}");
    assert_eq!(stderr.matches("opensearch.yaml:").count(), 1, "one error: {stderr}");
}

#[tokio::test]
async fn a_polling_profile_sets_the_timeout_and_the_flag_still_wins() {
    let files = Files::new();
    let vars = nobody_sends(&files);
    let provision = setups("provision.yaml");
    let args = ["--vars", &vars, "--config", &provision, "-o", "json"];
    let waits = setups("waits.yaml");

    let output = run_embedded(&[&waits], free_addr(), &args).await;
    output.assert_code(1);
    let report = output.json();
    assert_eq!(step(&report)["state"], "ERROR", "{report}");
    let error = step(&report)["error"].as_str().unwrap_or_default();
    assert!(error.contains("within 1000 ms; meanwhile the receiver (OTLP/gRPC"), "{report}");
    assert!(error.contains("got no spans at all"), "{report}");
    let stderr = output.stderr();
    // Said once: what the profile set and what has no meaning here.
    assert_eq!(stderr.matches("note: PollingProfile `Default`").count(), 1, "{stderr}");
    assert!(stderr.contains("its timeout 1s is the run's timeout"), "{stderr}");
    assert!(stderr.contains("retryDelay 5s has no meaning here"), "{stderr}");

    let output = run_embedded(&[&waits, "--timeout", "1500ms"], free_addr(), &args).await;
    output.assert_code(1);
    let report = output.json();
    assert!(step(&report)["error"].as_str().unwrap_or_default().contains("within 1500 ms;"), "{report}");
    assert!(output.stderr().contains("overridden by --timeout"), "{}", output.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_runner_sets_the_required_gates_and_the_flag_still_wins() {
    let server = server().start().await;
    let exporter = otel::Exporter::grpc(server.grpc_addr());
    let trace_id = otel::export(exporter, otel::service("checkout"), "checkout", |tracer| {
        use opentelemetry::trace::{Span as _, Tracer};
        let span = tracer.start("checkout");
        let trace_id = span.span_context().trace_id().to_string();
        let mut span = span;
        span.end();
        trace_id
    })
    .await
    .expect("exported");
    let files = Files::new();
    let vars = vars_file(&files, &[("TRACE_ID", &trace_id)]);
    let (url, provision, waits) = (server.grpc_url(), setups("provision.yaml"), setups("waits.yaml"));
    // The TestRunner among the FILEs; then the flag.
    let cases: [(&[&str], Value); 2] = [
        (&[], serde_json::json!(["analyzer-score", "test-specs"])),
        (&["--required-gates", "test-specs"], serde_json::json!(["test-specs"])),
    ];
    for (extra, expected) in cases {
        let output = tracecheck()
            .args([
                "run", &waits, &provision, "--vars", &vars, "--server", &url, "--settle", "200ms", "-o",
                "json",
            ])
            .args(extra)
            .output()
            .await;
        let report = output.json();
        assert_eq!(step(&report)["gates"]["required"], expected, "{report}");
    }
    server.shutdown().await.expect("shutdown");
}

/// A suite's steps by ID: found in the suite's folder tree and in a `--config` file, and a
/// test that is a step is not run on its own as well (a 2-step suite is one run, not three).
#[tokio::test]
async fn suite_steps_by_id_resolve_from_the_folder_tree_and_config_and_run_once() {
    let files = Files::new();
    let vars = nobody_sends(&files);
    let (suite, first, config) = (
        setups("suite-tree/suite.yaml"),
        setups("suite-tree/tests/first.yaml"),
        setups("elsewhere/tests.yaml"),
    );

    let output = tracecheck().args(["validate", &suite, "--config", &config]).output().await;
    output.assert_code(0);
    // Without the config, the second step's ID is found nowhere: the message says where it looked.
    let output = tracecheck().args(["validate", &suite]).output().await;
    output.assert_code(2);
    assert!(output.stderr().contains("no Test with id `second-step`"), "{}", output.stderr());

    let output = run_embedded(
        &[&suite, &first],
        free_addr(),
        &["--vars", &vars, "--config", &config, "--timeout", "300ms", "-o", "json"],
    )
    .await;
    output.assert_code(1);
    let runs = output.json_lines();
    assert_eq!(runs.len(), 1, "only the suite runs: {}", output.stdout());
    assert_eq!(runs[0]["kind"], "TestSuite", "the kind the file gives");
    let names: Vec<&Value> =
        runs[0]["steps"].as_array().expect("steps").iter().map(|step| &step["name"]).collect();
    assert_eq!(names, ["first step", "second step"]);
    assert!(
        output.stderr().contains("runs as a step of the suite that names its ID only"),
        "{}",
        output.stderr()
    );
}

#[tokio::test]
async fn the_flat_pre_v08_format_is_named_in_one_message() {
    let output = tracecheck().args(["validate", &setups("flat-test.yaml")]).output().await;
    output.assert_code(2);
    let stderr = output.stderr();
    assert!(
        stderr.contains("flat-test.yaml:4:1: this is Tracetest's flat test format from before v0.8"),
        "{stderr}"
    );
    assert!(!stderr.contains("unknown field"), "{stderr}");
    assert_eq!(stderr.matches("flat-test.yaml:").count(), 1, "{stderr}");
}

#[test]
fn an_auth_block_without_a_type_is_no_authentication() {
    let loaded = defs::load_file(crate::support::fixture("setups/auth-without-type.yaml"))
        .unwrap_or_else(|errors| panic!("{}", errors.render()));
    let defs::Loaded::Test(test) = loaded else { panic!("a test") };
    let trigger::Trigger::Http(http) = test.trigger else { panic!("an http trigger") };
    assert!(http.auth.is_none(), "{:?}", http.auth);
}

#[test]
fn a_graphql_query_and_schema_are_read_from_their_files() {
    let loaded = defs::load_file(crate::support::fixture("setups/graphql-file.yaml"))
        .unwrap_or_else(|errors| panic!("{}", errors.render()));
    let defs::Loaded::Test(test) = loaded else { panic!("a test") };
    let trigger::Trigger::Graphql(graphql) = test.trigger else { panic!("a graphql trigger") };
    assert_eq!(graphql.body.query, crate::support::read_fixture("setups/query.graphql"));
    assert_eq!(graphql.schema, crate::support::read_fixture("setups/schema.graphql"));

    // A query file that is missing is named, at the field.
    let files = Files::new();
    let test = files.write(
        "t.yaml",
        "type: Test\nspec:\n  name: t\n  trigger:\n    type: graphql\n    graphql:\n      url: http://x\n      body:\n        query: ./nope.graphql\n",
    );
    let errors = defs::load_file(&test).expect_err("missing query file");
    assert!(errors.to_string().contains("t.yaml:9:16: cannot read graphql query file"), "{errors}");
}

/// A trace that never comes: the step says what the receiver got meanwhile and where it
/// listens, here the spans of an app that starts its own trace instead of continuing the
/// trigger's (or nothing at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_waiting_in_vain_says_what_the_receiver_saw_meanwhile() {
    use axum::routing::get;
    use opentelemetry::trace::{Span as _, Tracer};

    let grpc = free_addr();
    // Ignores the trigger's traceparent: its span starts a trace of its own, exported
    // (and answered) before the response, so it is in the store when the run gives up.
    let buy = move || async move {
        let exporter = otel::Exporter::grpc(grpc);
        otel::export(exporter, otel::service("checkout"), "checkout", |tracer| {
            tracer.start("POST /buy").end()
        })
        .await
        .expect("exported");
        "bought"
    };
    let app = crate::support::apps::serve_http(axum::Router::new().route("/buy", get(buy))).await;
    let files = Files::new();
    let test = files.write(
        "buy.yaml",
        "type: Test\nspec:\n  name: buy\n  trigger:\n    type: http\n    httpRequest:\n      url: ${var:HOST}/buy\n",
    );
    let vars = vars_file(&files, &[("HOST", &format!("http://{app}"))]);
    let output = run_embedded(&[&test, "--vars", &vars, "-o", "json"], grpc, &["--timeout", "1s"]).await;
    output.assert_code(1);
    let report = output.json();
    let error = step(&report)["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains(&format!("meanwhile the receiver (OTLP/gRPC {grpc}, OTLP/HTTP 127.0.0.1:")),
        "{error}"
    );
    assert!(error.contains("got 1 span of 1 other trace from checkout"), "{error}");
}

/// A `traceid` run of a trace that a load tool or curl started: its top span's parent (the
/// sender's span) was never exported. Once every selector matched, that is the trace whole:
/// judged at the settle, without a warning of a dangling parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traceid_run_of_a_trace_started_elsewhere_needs_no_missing_parent() {
    use opentelemetry::trace::{
        Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    };

    let server = server().start().await;
    let exporter = otel::Exporter::grpc(server.grpc_addr());
    let trace_id = otel::export(exporter, otel::service("checkout"), "checkout", |tracer| {
        // What curl's `traceparent: 00-<trace>-<its span>-01` hands the service.
        let sender = SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("trace id"),
            SpanId::from_hex("b7ad6b7169203331").expect("span id"),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let root = tracer
            .start_with_context("checkout", &opentelemetry::Context::new().with_remote_span_context(sender));
        let cx = opentelemetry::Context::current_with_span(root);
        let mut child = tracer.start_with_context("charge card", &cx);
        child.set_attribute(opentelemetry::KeyValue::new("payment.amount", 42i64));
        child.end();
        let trace_id = cx.span().span_context().trace_id().to_string();
        cx.span().end();
        trace_id
    })
    .await
    .expect("exported");

    let files = Files::new();
    let vars = vars_file(&files, &[("TRACE_ID", &trace_id)]);
    let test = fixture_arg("run/by-trace-id.yaml");
    let output = tracecheck()
        .args([
            "run",
            &test,
            "--vars",
            &vars,
            "--server",
            &server.grpc_url(),
            "--settle",
            "200ms",
            "-o",
            "json",
        ])
        .output()
        .await;
    output.assert_code(0);
    let report = output.json();
    assert_eq!(step(&report)["state"], "PASSED", "{report}");
    assert_eq!(step(&report)["warnings"], serde_json::json!([]), "{report}");
    server.shutdown().await.expect("shutdown");
}
