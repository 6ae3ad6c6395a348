//! The graphql trigger against a small GraphQL endpoint on 127.0.0.1:0, instrumented with
//! the OpenTelemetry SDK: it answers the query JSON and traces each operation under the
//! caller's `traceparent`.

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

use trigger::{Auth, GraphqlBody, GraphqlTrigger, Header, Trigger};

use crate::support::apps::serve_http;
use crate::support::demo::{self, HeaderExtractor};
use crate::support::{
    assert_trace_context, fixture_arg, free_addr, ids, otel, run_embedded, vars_file, Files,
};

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
    let addr = serve_http(Router::new().route("/graphql", post(graphql)).with_state(app)).await;
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
    let (trace_id, span_id) = ids();
    let response = trigger.fire(trace_id, span_id, &trigger::Session::default()).await.expect("response");
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
    assert_trace_context(|name| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string));
    otel::shutdown(endpoint.provider).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracetest_file_with_a_graphql_trigger_passes_on_the_server_spans() {
    let grpc = free_addr();
    let endpoint = start_endpoint(&format!("http://{grpc}")).await;
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &format!("http://{}", endpoint.addr)), ("USER_ID", "7")]);
    let test = fixture_arg("trigger/graphql-user.yaml");
    let output = run_embedded(&[&test, "--vars", &vars, "-o", "json"], grpc, &["--settle", "200ms"]).await;
    let report = output.json();
    let step = &report["steps"][0];
    assert_eq!(step["state"], "PASSED", "{step}\n{output}");
    output.assert_code(0);
    otel::shutdown(endpoint.provider).await;
}
