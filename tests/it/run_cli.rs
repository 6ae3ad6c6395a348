//! `tracecheck run` end to end: the real binary against real HTTP and gRPC apps instrumented
//! with the OpenTelemetry SDK, with the embedded ingestor, with `--server` against an
//! in-process server and against `tracecheck serve`.

use std::net::SocketAddr;

use serde_json::Value;

use crate::support::snapshot::{redact, redact_json};
use crate::support::{
    apps, demo, demo_file, fixture_arg, free_addr, otel, serve, server, tracecheck, vars_file, Files, Run,
    ServerExt, HANG,
};

/// `tracecheck run ARGS` with the embedded ingestor (OTLP/gRPC on `grpc`), a short settle,
/// and `extra` flags.
async fn run_embedded(args: &[&str], grpc: SocketAddr, extra: &[&str]) -> Run {
    let extra: Vec<&str> = ["--settle", "200ms"].iter().chain(extra).copied().collect();
    crate::support::run_embedded(args, grpc, &extra).await
}

fn steps(report: &Value) -> &Vec<Value> {
    report["steps"].as_array().expect("steps")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_passes_outputs_between_steps_and_writes_junit() {
    let grpc = free_addr();
    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let junit = files.path("junit.xml");
    let flow = demo_file("user-flow.yaml");
    let output = run_embedded(&[&flow, "--vars", &vars, "-o", "json", "--junit", &junit], grpc, &[]).await;
    output.assert_code(0);

    let report = output.json();
    assert_eq!(report["kind"], "Transaction");
    assert_eq!(report["state"], "FINISHED");
    let steps = steps(&report);
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["outputs"]["USER_ID"], "1");
    assert_eq!(report["variables"]["USER_ID"], "1");
    assert_eq!(report["variables"]["HOST"], service.url());
    for step in steps {
        assert_eq!(step["state"], "PASSED", "{step}");
        assert_eq!(step["trace_id"].as_str().map(str::len), Some(32));
        assert!(step["warnings"].as_array().expect("warnings").is_empty(), "{step}");
    }
    // Step 2 fetched the user step 1 created: its spec compared against var:USER_ID.
    let fetched = &steps[1]["specs"][0]["assertions"][1];
    assert_eq!(fetched["assertion"], "attr:tracetest.response.body | json_path '$.id' = var:USER_ID");
    assert_eq!(fetched["results"][0]["observed"], "1");
    assert_eq!(fetched["results"][0]["expected"], "1", "the right side as resolved: var:USER_ID");
    // The insert span: selected once, duration reported in display units.
    let insert = &steps[0]["specs"][3];
    assert_eq!(insert["matched_spans"], 1);

    // The whole report and the JUnit file, what varies redacted.
    insta::assert_snapshot!("demo_flow_json", redact_json(&output.stdout()));
    let xml = std::fs::read_to_string(&junit).expect("junit file written");
    assert!(!xml.contains("<failure") && !xml.contains("<error"), "{xml}");
    insta::assert_snapshot!("demo_flow_junit", redact(&xml));
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_assertion_fails_the_transaction_but_runs_every_step() {
    let grpc = free_addr();
    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    let flow = fixture_arg("run/flow-with-a-failure.yaml");
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let junit = files.path("junit.xml");
    let output = run_embedded(&[&flow, "--vars", &vars, "-o", "json", "--junit", &junit], grpc, &[]).await;
    output.assert_code(1);
    let report = output.json();
    assert_eq!(report["state"], "FAILED");
    let steps = steps(&report);
    assert_eq!(steps[0]["state"], "FAILED");
    assert_eq!(steps[1]["state"], "PASSED", "the failed assertion must not stop the transaction");
    let assertion = &steps[0]["specs"][0]["assertions"][0];
    assert_eq!(assertion["passed"], false);
    assert_eq!(assertion["results"][0]["observed"], "/users");
    assert_eq!(assertion["results"][0]["expected"], "/accounts");
    assert_eq!(
        assertion["results"][0]["error"],
        Value::Null,
        "a false comparison is a failure, not an error"
    );
    assert_eq!(steps[0]["specs"][0]["assertions"][1]["passed"], true);

    let xml = std::fs::read_to_string(&junit).expect("junit file written");
    assert!(xml.contains("observed /users, expected /accounts"), "the observed and expected values: {xml}");
    insta::assert_snapshot!("failing_flow_junit", redact(&xml));

    // The console report of the same flow (a new user each run: the failed step creates
    // one), every line of it.
    let output = run_embedded(&[&flow, "--vars", &vars], grpc, &[]).await;
    output.assert_code(1);
    insta::assert_snapshot!("failing_flow_console", redact(&output.stdout()));
    service.shutdown().await;
}

/// Issue 21: several files end with one closing total across them ("N passed, M failed"),
/// so a long run's verdict needs no scrolling; one file has its summary line only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_files_close_with_a_total_across_them() {
    let grpc = free_addr();
    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let (failing, create) = (fixture_arg("run/flow-with-a-failure.yaml"), demo_file("create-user.yaml"));
    let output = run_embedded(&[&create, &failing, &create, "--vars", &vars], grpc, &[]).await;
    output.assert_code(1);
    let text = output.stdout();
    assert!(text.ends_with("\n✘ 2 passed, 1 failed (3 files)\n"), "{text}");
    insta::assert_snapshot!("several_files_console", redact(&text));

    let output = run_embedded(&[&create, &create, "--vars", &vars], grpc, &[]).await;
    output.assert_code(0);
    assert!(output.stdout().ends_with("\n✔ 2 passed, 0 failed (2 files)\n"), "{output}");
    let output = run_embedded(&[&create, "--vars", &vars], grpc, &[]).await;
    output.assert_code(0);
    assert!(!output.stdout().contains("passed, "), "one file has no total: {output}");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_trigger_is_an_error_and_later_steps_are_not_executed() {
    let flow = fixture_arg("run/broken-flow.yaml");
    let vars = fixture_arg("run/vars-with-secret.yaml");
    let output = run_embedded(&[&flow, "--vars", &vars, "-o", "json"], free_addr(), &[]).await;
    assert!(!output.stdout().contains("s3cr3t-value"), "a secret leaked: {output}");
    output.assert_code(1);
    let report = output.json();
    let steps = steps(&report);
    assert_eq!(steps[0]["state"], "ERROR");
    assert!(steps[0]["error"].as_str().expect("error text").contains("trigger failed"), "{}", steps[0]);
    assert_eq!(steps[1]["state"], "NOT_EXECUTED");
    assert_eq!(report["state"], "FAILED");
    assert_eq!(report["variables"]["API_KEY"], tracecheck::run::SECRET_MASK);
    assert_eq!(report["variables"]["HOST"], "http://127.0.0.1:1");
}

/// The late span comes `LATE_DELAY` after the response, past the settle window; the spec
/// selects it, so the runner waits for it: the judged trace holds it (3 spans) and no
/// warning says the trace was judged incomplete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_exported_after_the_response_is_waited_for() {
    let grpc = free_addr();
    let app = apps::start_http_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    let test = fixture_arg("run/app-late.yaml");
    let output = run_embedded(&[&test, "--vars", &vars, "-o", "json"], grpc, &[]).await;
    output.assert_code(0);
    let report = output.json();
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED");
    assert_eq!(step["span_count"], 3, "trigger, server span and the late span: {step}");
    assert!(step["warnings"].as_array().expect("warnings").is_empty(), "{step}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_that_never_arrives_is_named_in_a_warning_after_the_grace() {
    let grpc = free_addr();
    let app = apps::start_http_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    let test = fixture_arg("run/app-orphan.yaml");
    let output = run_embedded(&[&test, "--vars", &vars, "-o", "json"], grpc, &["--grace", "1s"]).await;
    output.assert_code(0);
    let report = output.json();
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED", "an incomplete trace is judged, not failed: {step}");
    let ghost = step["outputs"]["GHOST"].as_str().expect("ghost parent id");
    assert_eq!(ghost.len(), 16);
    let warnings = step["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|warning| warning
            .as_str()
            .is_some_and(|text| text.contains("dangling parent") && text.contains(ghost))),
        "{warnings:?} should name {ghost}"
    );
    // An output whose selector matched nothing: empty value and Tracetest's warning.
    assert_eq!(step["outputs"]["NOTHING"], "");
    assert!(
        warnings.iter().any(|warning| warning
            .as_str()
            .is_some_and(|text| text.starts_with("cannot find matching spans for output NOTHING"))),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|warning| warning
            .as_str()
            .is_some_and(|text| text.contains("selector span[name=\"never emitted\"] matched none"))),
        "the incomplete-trace warning names the selector: {warnings:?}"
    );
    app.shutdown().await;
}

/// A spec whose assertions only count spans is left out of completeness (rule 3): the trace
/// is judged complete once settled, not held until the grace (an hour here) and judged
/// incomplete with a warning naming the selector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_expecting_no_spans_does_not_hold_the_trace_back() {
    let grpc = free_addr();
    let app = apps::start_http_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    let test = fixture_arg("run/app-no-such-span.yaml");
    let output = tokio::time::timeout(
        HANG,
        run_embedded(&[&test, "--vars", &vars, "-o", "json"], grpc, &["--grace", "1h", "--timeout", "2h"]),
    )
    .await
    .expect("judged on completeness, not held back until the grace");
    output.assert_code(0);
    let report = output.json();
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED", "{step}");
    assert_eq!(step["specs"][0]["matched_spans"], 0);
    assert!(step["warnings"].as_array().expect("warnings").is_empty(), "judged complete: {step}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_trace_at_all_is_an_error() {
    let grpc = free_addr();
    let app = apps::start_http_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    let test = fixture_arg("run/app-silent.yaml");
    let output = run_embedded(&[&test, "--vars", &vars, "-o", "json"], grpc, &["--timeout", "1500ms"]).await;
    output.assert_code(1);
    let report = output.json();
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "ERROR");
    assert!(step["error"].as_str().expect("error").contains("no trace received"), "{step}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_trigger_against_an_instrumented_grpc_service() {
    let grpc = free_addr();
    let app = apps::start_grpc_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    let vars = vars_file(&files, &[("GREETER", &app.addr.to_string()), ("WHO", "ana")]);
    let test = fixture_arg("run/greet.yaml");
    let output = run_embedded(&[&test, "--vars", &vars, "-o", "json"], grpc, &[]).await;
    output.assert_code(0);
    let report = output.json();
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED", "{step}");
    assert_eq!(step["outputs"]["MESSAGE"], "hello ana");
    app.shutdown().await;
}

/// `run --server URL` on `test` with `vars`, a short settle, as JSON.
async fn run_remote(test: &str, vars: &str, url: &str) -> Run {
    tracecheck()
        .args(["run", test, "--vars", vars, "--server", url, "--settle", "200ms", "-o", "json"])
        .output()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traceid_trigger_judges_a_trace_sent_by_a_separate_exporter_through_a_server() {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer};

    let server = server().start().await;
    let exporter = otel::Exporter::grpc(server.grpc_addr());
    let trace_id = otel::export(exporter, otel::service("checkout"), "checkout", |tracer| {
        let root = tracer.start("checkout");
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
    let output = run_remote(&fixture_arg("run/by-trace-id.yaml"), &vars, &server.grpc_url()).await;
    output.assert_code(0);
    let report = output.json();
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED", "{step}");
    assert_eq!(step["trace_id"], trace_id);
    assert_eq!(step["specs"][0]["matched_spans"], 1);
    server.shutdown().await.expect("shutdown");
}

/// Reference section 6 for a `traceid` trigger: the run's trigger span goes above the
/// trace's old root, so one tree holds every span; and when the trace's root is already a
/// `Tracetest trigger` span (exported by the app), that span is the trigger span and no
/// second one is added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traceid_trigger_span_goes_above_the_old_root_or_is_the_traces_own() {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer};

    let server = server().start().await;
    let exporter = otel::Exporter::grpc(server.grpc_addr());
    let (plain, own_trigger) = otel::export(exporter, otel::service("checkout"), "checkout", |tracer| {
        let emit = |root_name: &'static str| {
            let root = tracer.start(root_name);
            let cx = opentelemetry::Context::current_with_span(root);
            tracer.start_with_context("charge card", &cx).end();
            tracer.start_with_context("send receipt", &cx).end();
            let trace_id = cx.span().span_context().trace_id().to_string();
            cx.span().end();
            trace_id
        };
        (emit("checkout"), emit("Tracetest trigger"))
    })
    .await
    .expect("exported");

    let files = Files::new();
    let test = fixture_arg("run/one-tree.yaml");
    // The trigger span above the app's three spans; or the app's root as the trigger span,
    // above the other two.
    for (trace_id, n_spans, below) in [(&plain, 4, 3), (&own_trigger, 3, 2)] {
        let vars = vars_file(&files, &[("TRACE_ID", trace_id), ("BELOW", &below.to_string())]);
        let output = run_remote(&test, &vars, &server.grpc_url()).await;
        output.assert_code(0);
        let report = output.json();
        let step = &steps(&report)[0];
        assert_eq!(step["state"], "PASSED", "{step}");
        assert_eq!(step["span_count"], n_spans, "{step}");
        let matched: Vec<&Value> =
            step["specs"].as_array().expect("specs").iter().map(|spec| &spec["matched_spans"]).collect();
        assert_eq!(matched, [1, below, 1], "{step}");
    }

    // Issue 21, defect 1: the trigger span is the run's. The store keeps the app's three
    // spans of each trace, after a second run of `plain` too: no `tracetest` root for the
    // list, other runs or the Jaeger/Tempo APIs.
    let vars = vars_file(&files, &[("TRACE_ID", &plain), ("BELOW", "3")]);
    run_remote(&test, &vars, &server.grpc_url()).await.assert_code(0);
    for trace_id in [&plain, &own_trigger] {
        let stored = server.store().get(model::TraceId::from_hex(trace_id).unwrap()).expect("stored");
        let names: Vec<&str> = stored.spans.iter().map(|span| &*span.name).collect();
        assert_eq!(stored.spans.len(), 3, "{names:?}");
        assert!(stored.spans.iter().all(|span| span.service_name() == Some("checkout")), "{names:?}");
    }
    // The run's view keeps it (`?run=1`: the first run judged `plain`), spanning the trace
    // rather than stamped at run time, so the waterfall is the trace's own.
    let stored = server.store().get(model::TraceId::from_hex(&plain).unwrap()).expect("stored");
    let (start, end) = stored.time_range().expect("spans");
    let url = format!("{}/api/v1/traces/{plain}?run=1", server.http_url());
    let judged: Value =
        serde_json::from_str(&reqwest::get(&url).await.expect("GET").text().await.expect("body"))
            .expect("JSON");
    let spans = judged["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 4, "{judged}");
    let trigger = spans.iter().find(|span| span["name"] == "Tracetest trigger").expect("the trigger span");
    assert_eq!(
        (trigger["start_time_unix_nano"].as_u64(), trigger["end_time_unix_nano"].as_u64()),
        (Some(start), Some(end))
    );
    assert_eq!(trigger["service"], "tracetest");
    assert_eq!(
        (judged["start_time_unix_nano"].as_u64(), judged["end_time_unix_nano"].as_u64()),
        (Some(start), Some(end))
    );
    server.shutdown().await.expect("shutdown");
}

/// Issue 21: a run the server does not record is not only a log line; the run says so and
/// exits 1, its verdict printed as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_the_server_cannot_record_says_so_and_fails() {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer};

    let server = server().refusing_runs().start().await;
    let exporter = otel::Exporter::grpc(server.grpc_addr());
    let trace_id = otel::export(exporter, otel::service("checkout"), "checkout", |tracer| {
        let root = tracer.start("checkout");
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
    let output = run_remote(&fixture_arg("run/by-trace-id.yaml"), &vars, &server.grpc_url()).await;
    output.assert_code(1);
    assert_eq!(steps(&output.json())[0]["state"], "PASSED", "{output}");
    assert!(
        output.stderr().contains("the run of `by trace id`")
            && output.stderr().contains("was not recorded on the server: ")
            && output.stderr().contains("does not record runs"),
        "{output}"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_against_tracecheck_serve_and_read_the_traces_back() {
    let mut serve = serve(&[]).await;
    let service = demo::start(&serve.grpc_url()).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let url = serve.grpc_url();
    let output = run_remote(&demo_file("user-flow.yaml"), &vars, &url).await;
    output.assert_code(0);
    let report = output.json();
    let trace_id = steps(&report)[0]["trace_id"].as_str().expect("trace id").to_string();
    let span_count = steps(&report)[0]["span_count"].as_u64().expect("span count");

    let listed = tracecheck().args(["traces", "list", "--server", &url, "-o", "json"]).output().await;
    listed.assert_code(0);
    assert!(listed.stdout().contains(&trace_id));

    let got = tracecheck().args(["traces", "get", &trace_id, "--server", &url, "-o", "json"]).output().await;
    got.assert_code(0);
    let trace = got.json();
    let spans = trace["spans"].as_array().expect("spans");
    // The trigger span is the run's (issue 21): the server stores the app's spans only.
    assert_eq!(spans.len() as u64, span_count - 1, "the trigger span is not stored");
    assert!(spans.iter().all(|span| span["name"] != "Tracetest trigger"));

    let pretty = tracecheck().args(["traces", "get", &trace_id, "--server", &url]).output().await;
    assert!(pretty.stdout().contains("POST /users"), "{pretty}");

    // SIGTERM: a clean shutdown.
    serve.terminate();
    let status = serve.exit_within(HANG).await;
    assert!(status.success(), "serve exited with {status}");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_files_each_get_their_own_variables() {
    let grpc = free_addr();
    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let (flow, create) = (demo_file("user-flow.yaml"), demo_file("create-user.yaml"));
    let output =
        run_embedded(&[&flow, &create, "--vars", &vars, "--parallel", "2", "-o", "json"], grpc, &[]).await;
    output.assert_code(0);
    let reports = output.json_lines();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["kind"], "Transaction", "reports come in file order");
    assert_eq!(reports[1]["kind"], "Test");
    // The single test does not see the transaction's output variable, and vice versa.
    assert!(reports[1]["variables"]["USER_ID"].is_string());
    assert_ne!(reports[0]["variables"]["USER_ID"], reports[1]["variables"]["USER_ID"]);
    service.shutdown().await;
}

#[tokio::test]
async fn invalid_files_exit_2_naming_file_line_and_column() {
    let bad = fixture_arg("run/invalid/bad.yaml");
    let output = tracecheck().args(["run", &bad]).output().await;
    output.assert_code(2);
    let stderr = output.stderr();
    assert!(stderr.contains("bad.yaml:12:"), "{stderr}");
    assert!(stderr.contains("expected"), "{stderr}");

    tracecheck().args(["validate", &bad]).output().await.assert_code(2);
    let missing = tracecheck().args(["run", &fixture_arg("run/invalid/missing.yaml")]).output().await;
    missing.assert_code(2);
    assert!(missing.stderr().contains("missing.yaml"), "{missing}");
}

/// Issue 13, defect 6: nested JSONPath filters took exponential time and ~4,000 nested
/// parentheses overflowed the stack (exit 134) in `validate` and `run`. Both are refused
/// at load, at the argument's line and column, in well under the time a hang would take.
#[tokio::test]
async fn hostile_json_paths_are_refused_at_load_with_their_position() {
    let files = Files::new();
    let test = |name: &str, path: &str| files.template("run/json-path.yaml", name, &[("PATH", path)]);
    let nested = |depth: usize| format!("${}.a{}", "[?(@".repeat(depth), ")]".repeat(depth));
    test("filters.yaml", &nested(24));
    test("long.yaml", &format!("$.{}", "a".repeat(5000)));
    test("parens.yaml", &format!("$[?{}@.a{}]", "(".repeat(4000), ")".repeat(4000)));
    test("fine.yaml", &nested(3));
    let within = |args: Vec<String>| async move {
        tokio::time::timeout(HANG, tracecheck().args(&args).output()).await.expect("no hang")
    };
    let cases = [
        ("validate", "filters.yaml", "nests more than 4 filters"),
        ("validate", "parens.yaml", "nests more than 64 brackets and parentheses"),
        ("run", "parens.yaml", "nests more than 64 brackets and parentheses"),
        ("run", "filters.yaml", "nests more than 4 filters"),
        ("validate", "long.yaml", "JSONPath is longer than 4096 bytes"),
    ];
    for (command, file, message) in cases {
        let output = within(vec![command.to_string(), files.path(file)]).await;
        let stderr = output.stderr();
        assert_eq!(output.code(), Some(2), "{command} {file}: {output}");
        assert!(stderr.contains(&format!("{file}:11:30")), "{command} {file}: {stderr}");
        assert!(stderr.contains(message), "{command} {file}: {stderr}");
    }
    let fine = within(vec!["validate".to_string(), files.path("fine.yaml")]).await;
    fine.assert_code(0);
}

/// Issue 22: secret values reached every report and the recorded run. Three kinds of
/// secret: an untyped `--vars` value under a secret-looking name (`API_TOKEN`), a value of
/// `type: secret` under a plain name (`MARKED`), and an environment variable put into the
/// test by the CLI's `${NAME}` substitution under a secret-looking name. The trigger's server
/// echoes them, so they reach the trigger span, an output and the assertions' observed and
/// expected values; no report, nor the recorded run and its trace, may show any of them,
/// while `type: raw` keeps a secret-looking name's value visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_are_masked_in_every_report_and_the_recorded_run() {
    use axum::http::HeaderMap;

    const TOKEN: &str = "tok-9f8e7d6c5b4a";
    const MARKED: &str = "marked-s3cr3t-value";
    const FROM_ENV: &str = "env-pa55word-value";
    let echo = axum::Router::new().fallback(|uri: axum::http::Uri, headers: HeaderMap| async move {
        let header =
            |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("").to_string();
        let (authorization, marked, other) = (header("authorization"), header("x-marked"), header("x-other"));
        format!("authorization={authorization} marked={marked} other={other} uri={uri}")
    });
    let echo = apps::serve_http(echo).await;
    let files = Files::new();
    let vars = files.write(
        "vars.yaml",
        &format!(
            "type: VariableSet\nspec:\n  name: secrets\n  values:\n    - key: HOST\n      value: http://{echo}\n    \
             - key: API_TOKEN\n      value: {TOKEN}\n    - key: MARKED\n      value: {MARKED}\n      type: secret\n    \
             - key: TOKEN_HINT\n      value: visible-hint\n      type: raw\n"
        ),
    );
    let test = files.write(
        "secret.yaml",
        r#"type: Test
spec:
  name: secrets stay out of reports
  skipTraceCollection: true
  trigger:
    type: http
    httpRequest:
      method: GET
      url: ${env:HOST}/echo?hint=${env:TOKEN_HINT}
      headers:
        - key: Authorization
          value: Bearer ${env:API_TOKEN}
        - key: X-Marked
          value: ${env:MARKED}
        - key: X-Other
          value: ${TRACECHECK_TEST_DB_PASSWORD}
  outputs:
    - name: ECHOED
      selector: span[name="Tracetest trigger"]
      value: attr:tracetest.response.body
  specs:
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.response.body = "${env:MARKED}"
        - attr:tracetest.response.body contains "${TRACECHECK_TEST_DB_PASSWORD}"
        - attr:tracetest.response.body contains "${env:TOKEN_HINT}"
"#,
    );
    let junit = files.path("junit.xml");
    let html = files.path("report.html");
    let leaks = |what: &str, text: &str| {
        for secret in [TOKEN, MARKED, FROM_ENV] {
            assert!(!text.contains(secret), "{what} shows the secret {secret}: {text}");
        }
    };
    let env = [("TRACECHECK_TEST_DB_PASSWORD", FROM_ENV)];
    let run = |format: &'static str, extra: Vec<String>| {
        let (test, vars) = (test.clone(), vars.clone());
        async move {
            let mut command = tracecheck();
            command.args(["run", &test, "--vars", &vars, "-o", format]).args(extra);
            for (key, value) in env {
                command.env(key, value);
            }
            command.output().await
        }
    };
    let embedded = || ["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"].map(String::from).to_vec();
    let mut extra = embedded();
    extra.extend(["--junit".into(), junit.clone(), "--report-html".into(), html.clone()]);
    let output = run("json", extra).await;
    output.assert_code(1);
    leaks("the JSON report", &output.stdout());
    let report = output.json();
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "FAILED", "{step}");
    let echoed = "authorization=Bearer ****** marked=****** other=****** uri=/echo?hint=visible-hint";
    assert_eq!(step["outputs"]["ECHOED"], echoed);
    let first = &step["specs"][0]["assertions"][0];
    assert_eq!(first["results"][0]["expected"], "******", "{first}");
    assert_eq!(report["variables"]["API_TOKEN"], "******");
    assert_eq!(report["variables"]["TOKEN_HINT"], "visible-hint", "type: raw keeps a value visible");
    assert_eq!(step["specs"][0]["assertions"][2]["passed"], true, "the hint is used, not masked: {step}");
    leaks("the JUnit report", &std::fs::read_to_string(&junit).expect("junit written"));
    let page = std::fs::read_to_string(&html).expect("html written");
    leaks("the HTML report", &page);
    assert!(page.contains("authorization=Bearer ******"), "the trace's trigger span is kept, masked");
    let mut extra = embedded();
    extra.push("--verbose".into());
    let output = run("pretty", extra).await;
    output.assert_code(1);
    leaks("the console report", &format!("{}{}", output.stdout(), output.stderr()));

    // Recorded on a server: the run and its trace.
    let server = server().start().await;
    let url = server.http_url();
    let output = run("json", vec!["--server".into(), server.grpc_url()]).await;
    output.assert_code(1);
    let trace_id = output.json()["steps"][0]["trace_id"].as_str().expect("trace id").to_string();
    let recorded =
        reqwest::get(format!("{url}/api/v1/runs/1")).await.expect("run").text().await.expect("text");
    assert!(recorded.contains("secrets stay out of reports"), "{recorded}");
    leaks("the recorded run", &recorded);
    let judged = reqwest::get(format!("{url}/api/v1/traces/{trace_id}?run=1")).await.expect("trace");
    let judged = judged.text().await.expect("text");
    assert!(judged.contains("Tracetest trigger"), "{judged}");
    leaks("the recorded run's trace", &judged);
    server.shutdown().await.expect("clean shutdown");
}

/// Issue 22: `run --max-redirects`: a step whose trigger was redirected says so with the final
/// URL; with 0 the redirect is the trigger's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_redirect_is_said_in_the_step_and_max_redirects_zero_stops_it() {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    let target = apps::serve_http(axum::Router::new().fallback(|| async { "arrived" })).await;
    let final_url = format!("http://{target}/final");
    let location = final_url.clone();
    let redirector = apps::serve_http(axum::Router::new().fallback(move || {
        let location = location.clone();
        async move { (StatusCode::FOUND, [("location", location)]).into_response() }
    }))
    .await;
    let files = Files::new();
    let test = files.write(
        "redirected.yaml",
        &format!(
            "type: Test\nspec:\n  name: redirected\n  skipTraceCollection: true\n  trigger:\n    type: http\n    \
             httpRequest:\n      method: GET\n      url: http://{redirector}/start\n  specs:\n    \
             - selector: span[name=\"Tracetest trigger\"]\n      assertions:\n        - attr:tracetest.response.status = 200\n"
        ),
    );
    let output = run_embedded(&[&test, "-o", "json"], free_addr(), &[]).await;
    output.assert_code(0);
    let report = output.json();
    let warnings = steps(&report)[0]["warnings"].to_string();
    assert!(warnings.contains("followed 1 redirect") && warnings.contains(&final_url), "{warnings}");

    let output = run_embedded(&[&test, "-o", "json", "--max-redirects", "0"], free_addr(), &[]).await;
    output.assert_code(1);
    let report = output.json();
    let step = &steps(&report)[0];
    assert_eq!(step["specs"][0]["assertions"][0]["results"][0]["observed"], "302", "{step}");
    assert!(step["warnings"].to_string().contains("not followed"), "{step}");
}
