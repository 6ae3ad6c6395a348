//! Several `tracecheck serve` instances behind the real OpenTelemetry Collector (issue 20
//! item 3): README's configuration file (`support::collector::CONFIG`, the same file, its
//! endpoints set through the Collector's `${env:...}`) in front of three `tracecheck serve`
//! binaries, the demo app's SDK exporter sending to the Collector, whose `load_balancing`
//! exporter routes each trace to one instance; `run --server a,b,c` asks all three. Then
//! instances that are down, stopped mid-run or silent, each named.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracer;
use serde_json::Value;
use tokio::sync::Notify;

use crate::support::collector::{Collector, CONFIG};
use crate::support::command::Serve;
use crate::support::{
    apps, demo, demo_file, fixture_arg, free_addr, root, serve, server, tracecheck, vars_file, Files, Run,
    ServerExt, HANG,
};

/// Runs the binary with `args`, failing the test if it has not finished within [`HANG`]:
/// an instance that is down or silent must be named, not waited on forever.
async fn run(args: &[&str]) -> Run {
    tokio::time::timeout(HANG, tracecheck().args(args).output())
        .await
        .unwrap_or_else(|_| panic!("{args:?} did not finish within {HANG:?}"))
}

/// README shows the configuration the tests run, whole: the first YAML block after the
/// first mention of the file is the file.
#[test]
fn readme_shows_the_collector_configuration_the_tests_run() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let file = std::fs::read_to_string(root().join(CONFIG)).expect("read the Collector configuration");
    let (_, after) = readme.split_once(&format!("`{CONFIG}`")).expect("README names the configuration file");
    let (_, block) = after.split_once("```yaml\n").expect("a YAML block after README names the file");
    let (block, _) = block.split_once("```").expect("the YAML block ends");
    assert_eq!(block, file, "README's block (left) against {CONFIG} (right)");
}

/// Three instances and the Collector in front of them.
struct Cluster {
    instances: [Serve; 3],
    collector: Collector,
}

impl Cluster {
    async fn start() -> Cluster {
        let instances = [serve(&[]).await, serve(&[]).await, serve(&[]).await];
        let collector = Collector::start([instances[0].grpc, instances[1].grpc, instances[2].grpc]).await;
        Cluster { instances, collector }
    }

    /// `--server a,b,c`.
    fn servers(&self) -> String {
        self.instances.iter().map(Serve::grpc_url).collect::<Vec<_>>().join(",")
    }
}

/// The trace as instance's web API holds it: its spans, or `None` (404).
async fn spans_on(instance: &Serve, trace_id: &str) -> Option<Vec<Value>> {
    let url = format!("{}/api/v1/traces/{trace_id}", instance.http_url());
    let response = reqwest::get(&url).await.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    match response.status().as_u16() {
        200 => {
            let body = response.bytes().await.expect("trace body");
            let trace: Value = serde_json::from_slice(&body).expect("trace JSON");
            Some(trace["spans"].as_array().expect("spans").clone())
        }
        404 => None,
        status => panic!("GET {url}: {status} {}", response.text().await.unwrap_or_default()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_passes_against_three_instances_behind_the_collector() {
    let cluster = Cluster::start().await;
    let service = demo::start(&cluster.collector.grpc_url()).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let servers = cluster.servers();

    let flow = demo_file("user-flow.yaml");
    let output =
        run(&["run", &flow, "--vars", &vars, "--server", &servers, "--settle", "200ms", "-o", "json"]).await;
    output.assert_code(0);
    let report = output.json();
    assert_eq!(report["state"], "FINISHED", "{report}");
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2);

    for step in steps {
        assert_eq!(step["state"], "PASSED", "{step}");
        assert!(step["warnings"].as_array().is_none_or(Vec::is_empty), "judged complete: {step}");
        let trace_id = step["trace_id"].as_str().expect("trace id");
        // Exactly one instance holds the trace, whole: the app's spans through the
        // Collector; the runner's trigger span is the run's, on no instance (issue 21).
        let mut holders = Vec::new();
        for (index, instance) in cluster.instances.iter().enumerate() {
            if let Some(spans) = spans_on(instance, trace_id).await {
                assert_eq!(spans.len() as u64, step["span_count"].as_u64().unwrap() - 1, "{spans:?}");
                assert!(spans.iter().all(|span| span["name"] != "Tracetest trigger"), "{spans:?}");
                assert!(spans.iter().any(|span| span["service"] == "users-api"), "{spans:?}");
                holders.push(index);
            }
        }
        assert_eq!(holders.len(), 1, "trace {trace_id} on instances {holders:?}: one instance only");

        // Asked of all three, `traces get` finds it, and `analyze` lints it.
        let got = run(&["traces", "get", trace_id, "--server", &servers, "-o", "json"]).await;
        got.assert_code(0);
        assert_eq!(got.json()["trace_id"], trace_id);
        let analyzed = run(&["analyze", trace_id, "--server", &servers, "-o", "json"]).await;
        assert!(matches!(analyzed.code(), Some(0 | 1)), "{analyzed}");
        assert_eq!(analyzed.json()["trace_id"], trace_id);
    }

    // The merged list holds both traces, newest (the second step's) first.
    let listed = run(&["traces", "list", "--server", &servers, "-o", "json"]).await;
    listed.assert_code(0);
    let listed = listed.json();
    let ids: Vec<&str> = listed["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![steps[1]["trace_id"].as_str().unwrap(), steps[0]["trace_id"].as_str().unwrap()]);

    // Nowhere is "not found", and that is all.
    let missing = "0123456789abcdef0123456789abcdef";
    let got = run(&["traces", "get", missing, "--server", &servers]).await;
    got.assert_code(1);
    assert_eq!(got.stderr().trim(), format!("error: trace {missing} not found"));
    service.shutdown().await;
}

/// What `GET /held` shares with the test: it says it has the request, then answers only
/// once released.
#[derive(Clone)]
struct Hold {
    tracer: Arc<SdkTracer>,
    arrived: Arc<Notify>,
    release: Arc<Notify>,
}

/// `GET /held`: a server span under the caller's `traceparent`, exported once released.
async fn held(State(hold): State<Hold>, headers: HeaderMap) -> &'static str {
    hold.arrived.notify_one();
    hold.release.notified().await;
    apps::server_span(&hold.tracer, &headers, "/held").span().end();
    "released"
}

/// An instance stopped while a run is under way (its trigger fired, its wait to come) fails
/// the run, named, rather than leaving it waiting on the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_stopped_mid_run_is_named() {
    let mut cluster = Cluster::start().await;
    let provider = demo::tracer_provider(&cluster.collector.grpc_url(), "held-app").expect("tracer provider");
    let hold = Hold {
        tracer: Arc::new(provider.tracer("held-app")),
        arrived: Arc::default(),
        release: Arc::default(),
    };
    let router = axum::Router::new().route("/held", get(held)).with_state(hold.clone());
    let app = apps::App { addr: apps::serve_http(router).await, provider };
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &app.url())]);
    // Settle, grace and timeout so far away that no instance can judge the trace within
    // HANG: only the stopped instance's error can end this run.
    let args: Vec<String> = [
        "run",
        &fixture_arg("run/app-held.yaml"),
        "--vars",
        &vars,
        "--server",
        &cluster.servers(),
        "--settle",
        "60m",
        "--grace",
        "60m",
        "--timeout",
        "60m",
        "-o",
        "json",
    ]
    .map(String::from)
    .into();
    let running = tokio::spawn(async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args).await
    });

    tokio::time::timeout(HANG, hold.arrived.notified()).await.expect("the trigger reaches the app");
    let stopped = &mut cluster.instances[1];
    stopped.terminate();
    assert!(stopped.exit_within(HANG).await.success(), "the instance stops cleanly");
    hold.release.notify_one();

    let output = running.await.expect("the run");
    output.assert_code(1);
    let step = &output.json()["steps"][0];
    assert_eq!(step["state"], "ERROR", "{output}");
    let error = step["error"].as_str().expect("the step's error");
    let stopped = cluster.instances[1].grpc_url();
    assert!(error.contains(&format!("cannot connect to {stopped}: ")), "{error}");
    app.shutdown().await;
}

/// A port where nothing listens, named as `--server` would name it.
fn closed_port() -> String {
    format!("http://{}", free_addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_is_down_is_named_and_does_not_hang() {
    let live = server().start().await;
    let live_url = live.grpc_url();
    let down = closed_port();
    let servers = format!("{live_url},{down}");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", "http://127.0.0.1:9")]);
    let create = demo_file("create-user.yaml");

    for args in [
        vec!["traces", "list", "--server", &servers],
        vec!["traces", "get", "0123456789abcdef0123456789abcdef", "--server", &servers],
        vec!["analyze", "0123456789abcdef0123456789abcdef", "--server", &servers],
        vec!["run", &create, "--vars", &vars, "--server", &servers],
    ] {
        let output = run(&args).await;
        assert_eq!(output.code(), Some(1), "{args:?}: {output}");
        let stderr = output.stderr();
        assert!(stderr.starts_with(&format!("error: cannot connect to {down}: ")), "{args:?}: {stderr}");
    }
    // Repeated flags and TRACECHECK_SERVER say the same.
    let output = run(&["traces", "list", "--server", &live_url, "--server", &down]).await;
    assert!(output.stderr().contains(&down), "{output}");
    let output = tracecheck().args(["traces", "list"]).env("TRACECHECK_SERVER", &servers).output().await;
    assert!(output.stderr().contains(&down), "{output}");
    // The same instance twice is refused as bad input.
    let output = run(&["traces", "list", "--server", &format!("{live_url},{live_url}")]).await;
    output.assert_code(2);
    assert!(output.stderr().contains("listed twice"), "{output}");
    live.shutdown().await.expect("shutdown");
}

/// An instance that takes the connection but never speaks HTTP/2 (a hung process, a wrong
/// port behind a proxy) is named too, within a bounded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_never_answers_is_named_within_a_bounded_time() {
    let live = server().start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let servers = format!("{},{silent}", live.grpc_url());
    let output = run(&["traces", "list", "--server", &servers]).await;
    output.assert_code(1);
    let stderr = output.stderr();
    assert!(stderr.starts_with(&format!("error: cannot connect to {silent}: ")), "{stderr}");
    live.shutdown().await.expect("shutdown");
}
