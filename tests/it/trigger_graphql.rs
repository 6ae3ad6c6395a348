//! The graphql trigger against a small GraphQL endpoint on 127.0.0.1:0, instrumented with
//! the OpenTelemetry SDK: it answers the query JSON and traces each operation under the
//! caller's `traceparent`.

use crate::support as common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span as _, SpanKind, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use common::demo::HeaderExtractor;
use common::{demo, free_addr, json_report, run_embedded_json, vars_file, Files};
use model::{SpanId, TraceId};
use trigger::{Auth, GraphqlBody, GraphqlTrigger, Header, Trigger};

struct Endpoint {
    addr: SocketAddr,
    provider: SdkTracerProvider,
    seen: mpsc::UnboundedReceiver<(HeaderMap, Value)>,
}

#[derive(Clone)]
struct App {
    tracer: Arc<SdkTracer>,
    seen: mpsc::UnboundedSender<(HeaderMap, Value)>,
}

/// Answers `user(id)` with a fixed user, and records what it was sent.
async fn graphql(State(app): State<App>, headers: HeaderMap, Json(request): Json<Value>) -> Json<Value> {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(&headers));
    let operation = request["operationName"].as_str().unwrap_or("anonymous").to_string();
    let id = request["variables"]["id"].as_str().unwrap_or("").to_string();
    let mut span = app
        .tracer
        .span_builder(format!("query {operation}"))
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("graphql.operation.type", "query"),
            KeyValue::new("graphql.operation.name", operation),
            KeyValue::new("graphql.document", request["query"].as_str().unwrap_or("").to_string()),
            KeyValue::new("user.id", id.clone()),
        ])
        .start_with_context(app.tracer.as_ref(), &parent);
    span.end();
    let _ = app.seen.send((headers, request));
    Json(json!({"data": {"user": {"id": id, "name": "ana"}}}))
}

async fn start_endpoint(otlp_grpc_endpoint: &str) -> Endpoint {
    let provider = demo::tracer_provider(otlp_grpc_endpoint, "users-graphql").expect("tracer provider");
    let (sender, seen) = mpsc::unbounded_channel();
    let app = App { tracer: Arc::new(provider.tracer("users-graphql")), seen: sender };
    let router = Router::new().route("/graphql", post(graphql)).with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Endpoint { addr, provider, seen }
}

const QUERY: &str = "query GetUser($id: ID!) { user(id: $id) { id name } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_the_json_body_with_auth_headers_and_trace_context() {
    let mut endpoint = start_endpoint(&format!("http://{}", free_addr())).await;
    let trigger = Trigger::Graphql(GraphqlTrigger {
        url: format!("{}/graphql", endpoint.addr),
        headers: vec![Header { key: "x-tenant".into(), value: "acme".into() }],
        auth: Some(Auth::Bearer { token: "Bearer abc".into() }),
        ssl_verification: false,
        schema: "type Query { user(id: ID!): User }".into(),
        body: GraphqlBody {
            query: QUERY.into(),
            variables: vec![("id".into(), "1".into())],
            operation_name: "GetUser".into(),
        },
    });
    let trace_id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("trace id");
    let span_id = SpanId::from_hex("b7ad6b7169203331").expect("span id");
    let response = trigger.fire(trace_id, span_id).await.expect("response");
    assert!(trigger.records_response());
    assert_eq!(response.status, 200);
    assert_eq!(response.status_text, "200 OK");
    let body: Value = serde_json::from_str(&response.body).expect("json body");
    assert_eq!(body, json!({"data": {"user": {"id": "1", "name": "ana"}}}));

    let (headers, request) = endpoint.seen.recv().await.expect("a request");
    assert_eq!(request, json!({"query": QUERY, "variables": {"id": "1"}, "operationName": "GetUser"}));
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("");
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("authorization"), "Bearer abc");
    assert_eq!(header("x-tenant"), "acme");
    assert_eq!(header("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert_eq!(header("b3"), "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1");
    assert_eq!(header("uber-trace-id"), "0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331:0:1");
    assert_eq!(header("ot-tracer-spanid"), "b7ad6b7169203331");
    assert!(header("x-amzn-trace-id").starts_with("Root=1-0af76519-16cd43dd8448eb211c80319c;"));
    let _ = endpoint.provider.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracetest_file_with_a_graphql_trigger_passes_on_the_server_spans() {
    let grpc = free_addr();
    let endpoint = start_endpoint(&format!("http://{grpc}")).await;
    let files = Files::new();
    files.write(
        "user.yaml",
        r#"type: Test
spec:
  id: graphql-user
  name: Get a user over GraphQL
  trigger:
    type: graphql
    graphql:
      url: ${var:HOST}/graphql
      headers:
        - key: Content-Type
          value: application/json
      sslVerification: false
      schema: |
        type Query { user(id: ID!): User }
        type User { id: ID! name: String! }
      body:
        query: "query GetUser($id: ID!) { user(id: $id) { id name } }"
        variables:
          id: ${var:USER_ID}
        operationName: GetUser
  specs:
    - selector: span[tracetest.span.type="general" name="Tracetest trigger"] span[name="query GetUser"]
      assertions:
        - attr:graphql.operation.name = "GetUser"
        - attr:user.id = "7"
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.response.status = 200
        - attr:tracetest.response.body | json_path '$.data.user.name' = "ana"
        - attr:tracetest.response.headers contains "application/json"
"#,
    );
    let vars = vars_file(&files, &[("HOST", &format!("http://{}", endpoint.addr)), ("USER_ID", "7")]);
    let output = run_embedded_json(&files.path("user.yaml"), &vars, grpc, &["--settle", "200ms"]).await;
    let report = json_report(&output);
    let step = &report["steps"][0];
    assert_eq!(step["state"], "PASSED", "{step}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0));
    let _ = tokio::task::spawn_blocking(move || endpoint.provider.shutdown()).await;
}
