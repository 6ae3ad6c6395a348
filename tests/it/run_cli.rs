//! `tracecheck run` end to end: the real binary against real HTTP and gRPC apps instrumented
//! with the OpenTelemetry SDK, with the embedded ingestor, with `--server` against an
//! in-process server and against `tracecheck serve`.

use crate::support as common;

use std::time::Duration;

use common::{apps, demo, free_addr, json_report, run_tracecheck, tracecheck, vars_file, Files};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

const DEMO_FLOW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..", "/examples/demo/user-flow.yaml");

/// Flags for the embedded ingestor on free ports, with a short settle.
fn embedded(grpc: std::net::SocketAddr) -> Vec<String> {
    vec![
        "--grpc-addr".into(),
        grpc.to_string(),
        "--http-addr".into(),
        free_addr().to_string(),
        "--settle".into(),
        "200ms".into(),
    ]
}

async fn run(args: &[&str], extra: &[String]) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(extra.iter().map(String::as_str));
    run_tracecheck(&all).await
}

fn steps(report: &Value) -> &Vec<Value> {
    report["steps"].as_array().expect("steps")
}

fn describe(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_passes_outputs_between_steps_and_writes_junit() {
    let grpc = free_addr();
    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let junit = files.path("junit.xml");
    let output =
        run(&["run", DEMO_FLOW, "--vars", &vars, "-o", "json", "--junit", &junit], &embedded(grpc)).await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));

    let report = json_report(&output);
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

    let xml = std::fs::read_to_string(&junit).expect("junit file written");
    assert!(xml.contains("<testsuites"), "{xml}");
    assert!(xml.contains("Create user") && xml.contains("Get user"), "{xml}");
    assert!(!xml.contains("<failure") && !xml.contains("<error"), "{xml}");
    service.shutdown().await;
}

const FAILING_STEP: &str = r#"type: Test
spec:
  name: Create with a wrong expectation
  trigger:
    type: http
    httpRequest:
      method: POST
      url: ${var:HOST}/users
      headers: [{key: Content-Type, value: application/json}]
      body: '{"name": "Bo", "email": "bo@example.com"}'
  specs:
    - selector: span[tracetest.span.type="http" name="POST /users"]
      name: wrong route expected
      assertions:
        - attr:http.route = "/accounts"
        - attr:http.request.method = "POST"
  outputs:
    - name: USER_ID
      selector: span[name="Tracetest trigger"]
      value: attr:tracetest.response.body | json_path '$.id'
"#;

const GET_STEP: &str = r#"type: Test
spec:
  name: Fetch it
  trigger:
    type: http
    httpRequest:
      method: GET
      url: ${var:HOST}/users/${var:USER_ID}
  specs:
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.response.status = 200
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_assertion_fails_the_transaction_but_runs_every_step() {
    let grpc = free_addr();
    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    files.write("create.yaml", FAILING_STEP);
    files.write("get.yaml", GET_STEP);
    files.write(
        "flow.yaml",
        "type: TestSuite\nspec:\n  name: flow with a failure\n  steps:\n    - ./create.yaml\n    - ./get.yaml\n",
    );
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let junit = files.path("junit.xml");
    let output = run(
        &["run", &files.path("flow.yaml"), "--vars", &vars, "-o", "json", "--junit", &junit],
        &embedded(grpc),
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let report = json_report(&output);
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
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("/users"), "the observed value is in the failure: {xml}");
    assert!(xml.contains("observed /users, expected /accounts"), "the expected value is beside it: {xml}");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_trigger_is_an_error_and_later_steps_are_not_executed() {
    let files = Files::new();
    files.write(
        "down.yaml",
        "type: Test\nspec:\n  name: Down\n  trigger:\n    type: http\n    httpRequest:\n      method: GET\n      url: http://127.0.0.1:1/nothing\n  specs:\n    - selector: span[name=\"Tracetest trigger\"]\n      assertions:\n        - attr:tracetest.response.status = 200\n",
    );
    files.write("get.yaml", GET_STEP);
    files.write(
        "flow.yaml",
        "type: Transaction\nspec:\n  name: broken\n  steps:\n    - ./down.yaml\n    - ./get.yaml\n",
    );
    files.write(
        "vars.yaml",
        "type: VariableSet\nspec:\n  name: with a secret\n  values:\n    - key: HOST\n      value: http://127.0.0.1:1\n    - key: USER_ID\n      value: 1\n    - key: API_KEY\n      value: s3cr3t-value\n      type: secret\n",
    );
    let vars = files.path("vars.yaml");
    let output =
        run(&["run", &files.path("flow.yaml"), "--vars", &vars, "-o", "json"], &embedded(free_addr())).await;
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("s3cr3t-value"),
        "a secret leaked: {}",
        describe(&output)
    );
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let report = json_report(&output);
    let steps = steps(&report);
    assert_eq!(steps[0]["state"], "ERROR");
    assert!(steps[0]["error"].as_str().expect("error text").contains("trigger failed"), "{}", steps[0]);
    assert_eq!(steps[1]["state"], "NOT_EXECUTED");
    assert_eq!(report["state"], "FAILED");
    assert_eq!(report["variables"]["API_KEY"], tracecheck::run::SECRET_MASK);
    assert_eq!(report["variables"]["HOST"], "http://127.0.0.1:1");
}

fn app_test(name: &str, path: &str, specs: &str) -> String {
    format!(
        "type: Test\nspec:\n  name: {name}\n  trigger:\n    type: http\n    httpRequest:\n      method: GET\n      url: ${{var:HOST}}{path}\n{specs}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_exported_after_the_response_is_waited_for() {
    let grpc = free_addr();
    let app = apps::start_http_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    files.write(
        "late.yaml",
        &app_test(
            "late",
            "/late",
            "  specs:\n    - selector: span[name=\"late work\"]\n      assertions:\n        - attr:work.kind = \"audit\"\n",
        ),
    );
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    let output =
        run(&["run", &files.path("late.yaml"), "--vars", &vars, "-o", "json"], &embedded(grpc)).await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report = json_report(&output);
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED");
    assert_eq!(step["span_count"], 3, "trigger, server span and the late span: {step}");
    assert!(step["warnings"].as_array().expect("warnings").is_empty(), "{step}");
    assert!(
        step["duration_ms"].as_u64().expect("duration") >= apps::LATE_DELAY.as_millis() as u64,
        "judged before the late span could arrive: {step}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_that_never_arrives_is_named_in_a_warning_after_the_grace() {
    let grpc = free_addr();
    let app = apps::start_http_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    files.write(
        "orphan.yaml",
        &app_test(
            "orphan",
            "/orphan",
            "  specs:\n    - selector: span[name=\"orphan work\"]\n      assertions:\n        - attr:tracetest.selected_spans.count = 1\n  outputs:\n    - name: GHOST\n      selector: span[name=\"Tracetest trigger\"]\n      value: attr:tracetest.response.body\n    - name: NOTHING\n      selector: span[name=\"never emitted\"]\n      value: attr:name\n",
        ),
    );
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    let mut flags = embedded(grpc);
    flags.extend(["--grace".to_string(), "1s".to_string()]);
    let output = run(&["run", &files.path("orphan.yaml"), "--vars", &vars, "-o", "json"], &flags).await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report = json_report(&output);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_expecting_no_spans_does_not_hold_the_trace_back() {
    let grpc = free_addr();
    let app = apps::start_http_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    files.write(
        "none.yaml",
        &app_test(
            "no such span",
            "/hello",
            "  specs:\n    - selector: span[name=\"never emitted\"]\n      assertions:\n        - attr:tracetest.selected_spans.count = 0\n    - selector: span[name=\"GET /hello\"]\n      assertions:\n        - attr:http.route = \"/hello\"\n",
        ),
    );
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    let mut flags = embedded(grpc);
    // A grace far longer than the test: if the count-only spec held the trace back, the
    // step would take at least this long.
    flags.extend(["--grace".to_string(), "20s".to_string(), "--timeout".to_string(), "25s".to_string()]);
    let output = run(&["run", &files.path("none.yaml"), "--vars", &vars, "-o", "json"], &flags).await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report = json_report(&output);
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED", "{step}");
    assert_eq!(step["specs"][0]["matched_spans"], 0);
    assert!(step["duration_ms"].as_u64().expect("duration") < 10_000, "waited for the grace: {step}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_trace_at_all_is_an_error() {
    let grpc = free_addr();
    let app = apps::start_http_app(&format!("http://{grpc}")).await;
    let files = Files::new();
    files.write(
        "silent.yaml",
        &app_test(
            "silent",
            "/silent",
            "  specs:\n    - selector: span[name=\"GET /silent\"]\n      assertions:\n        - attr:http.route = \"/silent\"\n",
        ),
    );
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    let mut flags = embedded(grpc);
    flags.extend(["--timeout".to_string(), "1500ms".to_string()]);
    let output = run(&["run", &files.path("silent.yaml"), "--vars", &vars, "-o", "json"], &flags).await;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let report = json_report(&output);
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "ERROR");
    assert!(step["error"].as_str().expect("error").contains("no trace received"), "{step}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_trigger_against_an_instrumented_grpc_service() {
    let grpc = free_addr();
    let app = apps::start_grpc_app(&format!("http://{grpc}")).await;
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/../..", "/tests/fixtures/spec/greeter.proto");
    let files = Files::new();
    files.write(
        "greet.yaml",
        &format!(
            r#"type: Test
spec:
  name: greet
  trigger:
    type: grpc
    grpc:
      protobufFile: {proto}
      address: ${{var:GREETER}}
      method: test.v1.Greeter.SayHello
      request: '{{"name": "${{var:WHO}}"}}'
  specs:
    - selector: span[tracetest.span.type="rpc" name="test.v1.Greeter/SayHello"]
      assertions:
        - attr:rpc.method = "SayHello"
        - attr:greeting.name = "ana"
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.response.status = 0
        - attr:tracetest.response.body | json_path '$.message' = "hello ana"
  outputs:
    - name: MESSAGE
      selector: span[name="Tracetest trigger"]
      value: attr:tracetest.response.body | json_path '$.message'
"#
        ),
    );
    let vars = vars_file(&files, &[("GREETER", &app.addr.to_string()), ("WHO", "ana")]);
    let output =
        run(&["run", &files.path("greet.yaml"), "--vars", &vars, "-o", "json"], &embedded(grpc)).await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report = json_report(&output);
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED", "{step}");
    assert_eq!(step["outputs"]["MESSAGE"], "hello ana");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traceid_trigger_judges_a_trace_sent_by_a_separate_exporter_through_a_server() {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};

    let server = server::start(server::ServerConfig::ephemeral(), server::routes::control_routes)
        .await
        .expect("server");
    let provider =
        demo::tracer_provider(&format!("http://{}", server.grpc_addr()), "checkout").expect("provider");
    let tracer = provider.tracer("checkout");
    let trace_id = {
        let root = tracer.start("checkout");
        let cx = opentelemetry::Context::current_with_span(root);
        let mut child = tracer.start_with_context("charge card", &cx);
        child.set_attribute(opentelemetry::KeyValue::new("payment.amount", 42i64));
        child.end();
        let trace_id = cx.span().span_context().trace_id().to_string();
        cx.span().end();
        trace_id
    };
    let flushed = tokio::task::spawn_blocking({
        let provider = provider.clone();
        move || provider.force_flush()
    })
    .await
    .expect("flush task");
    assert!(flushed.is_ok(), "{flushed:?}");

    let files = Files::new();
    files.write(
        "byid.yaml",
        "type: Test\nspec:\n  name: by trace id\n  trigger:\n    type: traceid\n    traceid:\n      id: ${var:TRACE_ID}\n  specs:\n    - selector: span[name=\"checkout\"] span[name=\"charge card\"]\n      assertions:\n        - attr:payment.amount = 42\n        - attr:service.name = \"checkout\"\n",
    );
    let vars = vars_file(&files, &[("TRACE_ID", &trace_id)]);
    let url = format!("http://{}", server.grpc_addr());
    let output = run_tracecheck(&[
        "run",
        &files.path("byid.yaml"),
        "--vars",
        &vars,
        "--server",
        &url,
        "--settle",
        "200ms",
        "-o",
        "json",
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report = json_report(&output);
    let step = &steps(&report)[0];
    assert_eq!(step["state"], "PASSED", "{step}");
    assert_eq!(step["trace_id"], trace_id);
    assert_eq!(step["specs"][0]["matched_spans"], 1);
    let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    server.shutdown().await.expect("shutdown");
}

/// Reference section 6 for a `traceid` trigger: the run's trigger span goes above the
/// trace's old root, so one tree holds every span; and when the trace's root is already a
/// `Tracetest trigger` span (exported by the app), that span is the trigger span and no
/// second one is added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traceid_trigger_span_goes_above_the_old_root_or_is_the_traces_own() {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};

    let server = server::start(server::ServerConfig::ephemeral(), server::routes::control_routes)
        .await
        .expect("server");
    let provider =
        demo::tracer_provider(&format!("http://{}", server.grpc_addr()), "checkout").expect("provider");
    let tracer = provider.tracer("checkout");
    let emit = |root_name: &'static str| {
        let root = tracer.start(root_name);
        let cx = opentelemetry::Context::current_with_span(root);
        tracer.start_with_context("charge card", &cx).end();
        tracer.start_with_context("send receipt", &cx).end();
        let trace_id = cx.span().span_context().trace_id().to_string();
        cx.span().end();
        trace_id
    };
    let plain = emit("checkout");
    let own_trigger = emit("Tracetest trigger");
    let flushed = tokio::task::spawn_blocking({
        let provider = provider.clone();
        move || provider.force_flush()
    })
    .await
    .expect("flush task");
    assert!(flushed.is_ok(), "{flushed:?}");

    let files = Files::new();
    files.write(
        "byid.yaml",
        concat!(
            "type: Test\nspec:\n  name: one tree\n  trigger:\n    type: traceid\n    traceid:\n      id: ${var:TRACE_ID}\n",
            "  specs:\n",
            "    - selector: span[name=\"Tracetest trigger\"]\n      assertions:\n        - attr:tracetest.selected_spans.count = 1\n",
            "    - selector: span[name=\"Tracetest trigger\"] span[]\n      assertions:\n        - attr:tracetest.selected_spans.count = var:BELOW\n",
            "    - selector: span[]:first\n      assertions:\n        - attr:name = \"Tracetest trigger\"\n        - attr:tracetest.span.parent_id = \"0000000000000000\"\n",
        ),
    );
    let url = format!("http://{}", server.grpc_addr());
    // The trigger span above the app's three spans; or the app's root as the trigger span,
    // above the other two.
    for (trace_id, n_spans, below) in [(&plain, 4, 3), (&own_trigger, 3, 2)] {
        let vars = vars_file(&files, &[("TRACE_ID", trace_id), ("BELOW", &below.to_string())]);
        let output = run_tracecheck(&[
            "run",
            &files.path("byid.yaml"),
            "--vars",
            &vars,
            "--server",
            &url,
            "--settle",
            "200ms",
            "-o",
            "json",
        ])
        .await;
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        let report = json_report(&output);
        let step = &steps(&report)[0];
        assert_eq!(step["state"], "PASSED", "{step}");
        assert_eq!(step["span_count"], n_spans, "{step}");
        let matched: Vec<&Value> =
            step["specs"].as_array().expect("specs").iter().map(|spec| &spec["matched_spans"]).collect();
        assert_eq!(matched, [1, below, 1], "{step}");
    }
    let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_against_tracecheck_serve_and_read_the_traces_back() {
    let grpc = free_addr();
    let http = free_addr();
    let mut serve = tracecheck()
        .args(["serve", "--grpc-addr", &grpc.to_string(), "--http-addr", &http.to_string()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start serve");
    // Ready when it logs that it serves; the log line is the event.
    let mut lines = BufReader::new(serve.stderr.take().expect("stderr")).lines();
    loop {
        let line = lines.next_line().await.expect("read serve log").expect("serve exited before serving");
        if line.contains("tracecheck serving") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let url = format!("http://{grpc}");
    let output = run_tracecheck(&[
        "run", DEMO_FLOW, "--vars", &vars, "--server", &url, "--settle", "200ms", "-o", "json",
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report = json_report(&output);
    let trace_id = steps(&report)[0]["trace_id"].as_str().expect("trace id").to_string();
    let span_count = steps(&report)[0]["span_count"].as_u64().expect("span count");

    let listed = run_tracecheck(&["traces", "list", "--server", &url, "-o", "json"]).await;
    assert_eq!(listed.status.code(), Some(0), "{}", describe(&listed));
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&trace_id));

    let got = run_tracecheck(&["traces", "get", &trace_id, "--server", &url, "-o", "json"]).await;
    assert_eq!(got.status.code(), Some(0), "{}", describe(&got));
    let trace: Value = serde_json::from_slice(&got.stdout).expect("trace JSON");
    let spans = trace["spans"].as_array().expect("spans");
    assert_eq!(spans.len() as u64, span_count, "the trigger span is stored with the rest");
    assert!(spans.iter().any(|span| span["name"] == "Tracetest trigger"));

    let pretty = run_tracecheck(&["traces", "get", &trace_id, "--server", &url]).await;
    assert!(String::from_utf8_lossy(&pretty.stdout).contains("POST /users"), "{}", describe(&pretty));

    // SIGTERM: a clean shutdown.
    let pid = serve.id().expect("serve pid").to_string();
    let killed = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), serve.wait())
        .await
        .expect("serve stops")
        .expect("wait");
    assert!(status.success(), "serve exited with {status}");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_files_each_get_their_own_variables() {
    let grpc = free_addr();
    let service = demo::start(&format!("http://{grpc}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let create = concat!(env!("CARGO_MANIFEST_DIR"), "/../..", "/examples/demo/create-user.yaml");
    let output =
        run(&["run", DEMO_FLOW, create, "--vars", &vars, "--parallel", "2", "-o", "json"], &embedded(grpc))
            .await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports: Vec<Value> =
        stdout.lines().map(|line| serde_json::from_str(line).expect("one JSON object per line")).collect();
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
    let files = Files::new();
    files.write(
        "bad.yaml",
        "type: Test\nspec:\n  name: bad\n  trigger:\n    type: http\n    httpRequest:\n      method: GET\n      url: http://localhost\n  specs:\n    - selector: span[name=\"x\"]\n      assertions:\n        - attr:http.status_code =\n",
    );
    let output = run_tracecheck(&["run", &files.path("bad.yaml")]).await;
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.yaml:12:"), "{stderr}");
    assert!(stderr.contains("expected"), "{stderr}");

    let validate = run_tracecheck(&["validate", &files.path("bad.yaml")]).await;
    assert_eq!(validate.status.code(), Some(2));
    let missing = run_tracecheck(&["run", &files.path("missing.yaml")]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing.yaml"));
}

/// A test file whose one assertion filters with `json_path PATH`.
fn json_path_test(path: &str) -> String {
    format!(
        "type: Test\nspec:\n  name: t\n  trigger:\n    type: traceid\n    traceid:\n      id: 0af7651916cd43dd8448eb211c80319c\n  specs:\n    - selector: span[]\n      assertions:\n        - attr:x | json_path '{path}' = 1\n"
    )
}

/// Issue 13, defect 6: nested JSONPath filters took exponential time and ~4,000 nested
/// parentheses overflowed the stack (exit 134) in `validate` and `run`. Both are refused
/// at load, at the argument's line and column, in well under the time a hang would take.
#[tokio::test]
async fn hostile_json_paths_are_refused_at_load_with_their_position() {
    let files = Files::new();
    let nested = |depth: usize| format!("${}.a{}", "[?(@".repeat(depth), ")]".repeat(depth));
    files.write("filters.yaml", &json_path_test(&nested(24)));
    files.write("long.yaml", &json_path_test(&format!("$.{}", "a".repeat(5000))));
    files.write("parens.yaml", &json_path_test(&format!("$[?{}@.a{}]", "(".repeat(4000), ")".repeat(4000))));
    files.write("fine.yaml", &json_path_test(&nested(3)));
    let within = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        tokio::time::timeout(Duration::from_secs(60), run_tracecheck(&args)).await.expect("no hang")
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
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command} {file}: {}", describe(&output));
        assert!(stderr.contains(&format!("{file}:11:30")), "{command} {file}: {stderr}");
        assert!(stderr.contains(message), "{command} {file}: {stderr}");
    }
    let fine = within(vec!["validate".to_string(), files.path("fine.yaml")]).await;
    assert_eq!(fine.status.code(), Some(0), "{}", describe(&fine));
}
