//! Existing backends as the trace source (issue 20, item 2): a Tracetest `DataStore` of type
//! `jaeger` makes `run` read the trace from the real Jaeger v2 (its gRPC query API), one of
//! type `tempo` (HTTP) from a Tempo API (tracecheck's own, `/tempo`: Tempo itself cannot be
//! installed here), and a `jaeger` one from a `tracecheck serve`'s gRPC port (api_v3's
//! `QueryService`). In each, an SDK-instrumented app exports to the backend, `run` polls it
//! until the trace is complete by the usual rules, and the trigger span is in the run's view
//! but never written to the backend.

use serde_json::Value;

use crate::support::apps::start_http_app;
use crate::support::jaeger::{get, Jaeger};
use crate::support::{fixture_arg, serve, tracecheck, vars_file, Files, Run, HANG};

/// `tracecheck run hello.yaml --config DATASTORE` against the app at `host`, as JSON.
async fn run_hello(files: &Files, data_store: &str, host: &str) -> (Run, Value) {
    let vars = vars_file(files, &[("HOST", host)]);
    let config = files.write("datastore.yaml", data_store);
    let run = tokio::time::timeout(
        HANG,
        tracecheck()
            .args(["run", &fixture_arg("setups/hello.yaml"), "--config", &config, "--vars", &vars])
            .args(["--output", "json", "--settle", "200ms"])
            .output(),
    )
    .await
    .expect("the run ends");
    let report: Value = serde_json::from_str(run.stdout().trim()).unwrap_or(Value::Null);
    (run, report)
}

fn trace_id(report: &Value) -> String {
    report["steps"][0]["trace_id"].as_str().expect("the step's trace id").to_string()
}

#[tokio::test]
async fn a_jaeger_data_store_reads_the_trace_from_jaeger() {
    let jaeger = Jaeger::start().await;
    let app = start_http_app(&format!("http://{}", jaeger.otlp_grpc)).await;
    let files = Files::new();
    let data_store = format!(
        "type: DataStore\nspec:\n  name: jaeger\n  type: jaeger\n  default: true\n  jaeger:\n    endpoint: {}\n    tls:\n      insecure: true\n",
        jaeger.query_grpc
    );
    let (run, report) = run_hello(&files, &data_store, &app.url()).await;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(report["state"], "FINISHED", "{report}");
    // The trigger span was judged (the second spec) but is not in Jaeger.
    let (status, body) = get(&format!("http://{}/api/traces/{}", jaeger.query, trace_id(&report))).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["data"][0]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|span| span["operationName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"GET /hello") && !names.contains(&"Tracetest trigger"), "{names:?}");

    // `traces get` and `analyze` read the same DataStore; `traces list` says it cannot.
    let config = files.write("datastore.yaml", &data_store);
    let id = trace_id(&report);
    let get =
        tracecheck().args(["traces", "get", &id, "--config", &config, "--output", "json"]).output().await;
    assert_eq!(get.code(), Some(0), "{get}");
    assert!(get.stdout().contains("\"GET /hello\"") && !get.stdout().contains("Tracetest trigger"), "{get}");
    let analyze = tracecheck().args(["analyze", &id, "--config", &config, "--output", "json"]).output().await;
    assert!(analyze.stdout().contains(&format!("\"trace_id\":\"{id}\"")), "{analyze}");
    let list = tracecheck().args(["traces", "list", "--config", &config]).output().await;
    assert_eq!(list.code(), Some(2), "{list}");
    assert!(list.stderr().contains("reads tracecheck servers only"), "{list}");
}

#[tokio::test]
async fn a_tempo_data_store_reads_the_trace_from_a_tempo_api() {
    let server = serve(&[]).await;
    let app = start_http_app(&server.grpc_url()).await;
    let files = Files::new();
    let data_store = format!(
        "type: DataStore\nspec:\n  name: tempo\n  type: tempo\n  default: true\n  tempo:\n    type: http\n    http:\n      url: {}/tempo\n",
        server.http_url()
    );
    let (run, report) = run_hello(&files, &data_store, &app.url()).await;
    assert_eq!(run.code(), Some(0), "{run}");
    let trace_id = trace_id(&report);
    let answer = reqwest::get(format!("{}/api/v1/traces/{trace_id}", server.http_url())).await.expect("get");
    let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    let names: Vec<&str> =
        body["spans"].as_array().unwrap().iter().map(|span| span["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"GET /hello") && !names.contains(&"Tracetest trigger"), "{names:?}");
}

/// A `jaeger` DataStore pointed at a `tracecheck serve`'s gRPC port reads through the
/// api_v3 `QueryService` served there, as it reads from Jaeger.
#[tokio::test]
async fn a_jaeger_data_store_reads_the_trace_from_tracecheck_grpc_port() {
    let server = serve(&[]).await;
    let app = start_http_app(&server.grpc_url()).await;
    let files = Files::new();
    let data_store = format!(
        "type: DataStore\nspec:\n  name: jaeger\n  type: jaeger\n  default: true\n  jaeger:\n    endpoint: {}\n    tls:\n      insecure: true\n",
        server.grpc
    );
    let (run, report) = run_hello(&files, &data_store, &app.url()).await;
    assert_eq!(run.code(), Some(0), "{run}");
    assert_eq!(report["state"], "FINISHED", "{report}");
    assert!(run.stdout().contains("GET /hello"), "{run}");
}

#[tokio::test]
async fn an_unreachable_backend_is_named() {
    let files = Files::new();
    let unused = crate::support::free_addr();
    let data_store = format!(
        "type: DataStore\nspec:\n  name: jaeger\n  type: jaeger\n  default: true\n  jaeger:\n    endpoint: {unused}\n    tls:\n      insecure: true\n"
    );
    // The app answers (its spans go nowhere); the backend is what cannot be reached.
    let app = start_http_app(&format!("http://{}", crate::support::free_addr())).await;
    let (run, _) = run_hello(&files, &data_store, &app.url()).await;
    assert_ne!(run.code(), Some(0), "{run}");
    let text = format!("{}{}", run.stdout(), run.stderr());
    assert!(text.contains(&format!("Jaeger at http://{unused}")), "{text}");
}
