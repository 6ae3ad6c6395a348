//! The receivers against the real `opentelemetry-otlp` exporters: an OpenTelemetry SDK tracer
//! makes a nested trace with typed attributes, exports it over gRPC (plain and gzip),
//! HTTP/protobuf and HTTP/JSON to a server started in-process on free ports, and every span,
//! parent link and attribute type is read back from the store.

use std::collections::HashMap;
use std::time::Duration;

use model::{AttributeValue, SpanId, StatusCode, Trace, TraceId};
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use server::api::RemoteClient;
use server::RunningServer;

use crate::support::otel::{self, Exporter, Transport};
use crate::support::{read_fixture, server, wait_options, ServerExt, HANG};

/// Checks the trace as stored, and as read back through the control API.
async fn check_stored(server: &RunningServer, trace_id: TraceId, token: Option<&str>) {
    check_trace(&server.store().get(trace_id).expect("trace stored"));
    let client = RemoteClient::connect(&server.grpc_url(), token).await.expect("control client");
    check_trace(&client.get(trace_id).await.expect("GetTrace").expect("trace found over the control API"));
}

/// Exports one nested trace through the real exporter and returns its trace ID once the
/// exporter has had its answer.
async fn export_trace(transport: Transport, server: &RunningServer, token: Option<&str>) -> TraceId {
    let mut exporter = Exporter::new(transport, server.grpc_addr(), server.http_addr());
    if let Some(token) = token {
        exporter = exporter.token(token);
    }
    let resource = Resource::builder_empty()
        .with_service_name("checkout")
        .with_attribute(KeyValue::new("deployment.environment", "test"))
        .build();
    otel::export(exporter, resource, "tracecheck-tests", |tracer| {
        let root = tracer
            .span_builder("POST /checkout")
            .with_kind(SpanKind::Server)
            .with_attributes(vec![
                KeyValue::new("http.method", "POST"),
                KeyValue::new("http.status_code", 201_i64),
                KeyValue::new("ratio", 0.75_f64),
                KeyValue::new("retried", false),
                KeyValue::new(
                    "tags",
                    Value::Array(Array::String(vec![StringValue::from("a"), StringValue::from("b")])),
                ),
                KeyValue::new("sizes", Value::Array(Array::I64(vec![1, 2, 3]))),
                KeyValue::new("weights", Value::Array(Array::F64(vec![0.5, 1.5]))),
                KeyValue::new("flags", Value::Array(Array::Bool(vec![true, false]))),
            ])
            .start(tracer);
        let trace_id = root.span_context().trace_id();
        let root_cx = Context::current_with_span(root);
        let mut db = tracer
            .span_builder("SELECT orders")
            .with_kind(SpanKind::Client)
            .with_attributes(vec![KeyValue::new("db.system", "postgresql")])
            .start_with_context(tracer, &root_cx);
        db.add_event("rows", vec![KeyValue::new("count", 3_i64)]);
        let db_cx = root_cx.with_span(db);
        let mut cache = tracer.span_builder("cache get").start_with_context(tracer, &db_cx);
        cache.set_status(Status::error("miss"));
        cache.end();
        db_cx.span().end();
        root_cx.span().end();
        TraceId(trace_id.to_bytes())
    })
    .await
    .expect("export succeeds")
}

fn check_trace(trace: &Trace) {
    assert_eq!(trace.spans.len(), 3, "{trace:#?}");
    let by_name = |name: &str| trace.spans.iter().find(|span| &*span.name == name).expect(name).clone();
    let root = by_name("POST /checkout");
    let db = by_name("SELECT orders");
    let cache = by_name("cache get");

    assert_eq!(root.parent_span_id, None);
    assert_eq!(db.parent_span_id, Some(root.span_id));
    assert_eq!(cache.parent_span_id, Some(db.span_id));
    assert_ne!(root.span_id, SpanId([0; 8]));
    assert_eq!(root.kind, model::SpanKind::Server);
    assert_eq!(db.kind, model::SpanKind::Client);
    assert_eq!(cache.kind, model::SpanKind::Internal);
    assert_eq!(cache.status.code, StatusCode::Error);
    assert_eq!(&*cache.status.message, "miss");
    assert!(root.end_time_unix_nano >= root.start_time_unix_nano && root.start_time_unix_nano > 0);

    assert_eq!(root.service_name(), Some("checkout"));
    assert_eq!(
        model::find_attribute(&root.resource.attributes, "deployment.environment"),
        Some(&AttributeValue::from("test"))
    );
    assert_eq!(&*root.scope.name, "tracecheck-tests");

    assert_eq!(root.attribute("http.method"), Some(&AttributeValue::from("POST")));
    assert_eq!(root.attribute("http.status_code"), Some(&AttributeValue::Int(201)));
    assert_eq!(root.attribute("ratio"), Some(&AttributeValue::Double(0.75)));
    assert_eq!(root.attribute("retried"), Some(&AttributeValue::Bool(false)));
    assert_eq!(
        root.attribute("tags"),
        Some(&AttributeValue::array(vec![AttributeValue::from("a"), AttributeValue::from("b")]))
    );
    assert_eq!(
        root.attribute("sizes"),
        Some(&AttributeValue::array(vec![
            AttributeValue::Int(1),
            AttributeValue::Int(2),
            AttributeValue::Int(3)
        ]))
    );
    assert_eq!(
        root.attribute("weights"),
        Some(&AttributeValue::array(vec![AttributeValue::Double(0.5), AttributeValue::Double(1.5)]))
    );
    assert_eq!(
        root.attribute("flags"),
        Some(&AttributeValue::array(vec![AttributeValue::Bool(true), AttributeValue::Bool(false)]))
    );
    assert_eq!(db.attribute("db.system"), Some(&AttributeValue::from("postgresql")));
    assert_eq!(db.events().len(), 1);
    assert_eq!(&*db.events()[0].name, "rows");
    assert_eq!(db.events()[0].attributes[0].value, AttributeValue::Int(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exporter_transport_round_trips() {
    let server = server().start().await;
    for transport in [Transport::Grpc, Transport::GrpcGzip, Transport::HttpProtobuf, Transport::HttpJson] {
        let trace_id = export_trace(transport, &server, None).await;
        check_stored(&server, trace_id, None).await;
    }
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporters_with_the_auth_token_get_in() {
    let server = server().auth_token("s3cret").start().await;
    for transport in [Transport::Grpc, Transport::HttpProtobuf] {
        let trace_id = export_trace(transport, &server, Some("s3cret")).await;
        check_stored(&server, trace_id, Some("s3cret")).await;
    }
    server.shutdown().await.expect("clean shutdown");
}

/// `GET /metrics` with `token`: the status and, on success, every sample by its name and
/// labels as written (`tracecheck_spans_held`, `tracecheck_export_requests_total{...}`).
async fn scrape(server: &RunningServer, token: Option<&str>) -> (u16, HashMap<String, f64>) {
    let mut request = reqwest::Client::new().get(format!("http://{}/metrics", server.http_addr()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("scrape");
    let status = response.status().as_u16();
    let text = response.text().await.expect("metrics body");
    if status != 200 {
        return (status, HashMap::new());
    }
    let samples = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').expect("a sample line is `name value`");
            (name.to_string(), value.parse().unwrap_or_else(|_| panic!("a number in {line:?}")))
        })
        .collect();
    (status, samples)
}

/// POSTs an OTLP/JSON body to `/v1/traces`, returning the status.
async fn post_json(server: &RunningServer, token: Option<&str>, body: &str) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/v1/traces", server.http_addr()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("export").status().as_u16()
}

/// Scrapes until `name` reads `value` (each scrape a real request; no sleeping), for a gauge
/// that follows a connection on another socket.
async fn scrape_until(server: &RunningServer, token: &str, name: &str, value: f64) {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        let (_, samples) = scrape(server, Some(token)).await;
        if samples.get(name) == Some(&value) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{name} never read {value}: {samples:?}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_real_exports_and_need_the_token() {
    use tokio::io::AsyncWriteExt;
    let token = "s3cret";
    let server = server().auth_token(token).start().await;
    assert_eq!(scrape(&server, None).await.0, 401, "no token, no metrics");
    assert_eq!(scrape(&server, Some("wrong")).await.0, 401, "wrong token, no metrics");
    let (status, before) = scrape(&server, Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(before["tracecheck_spans_received_total"], 0.0);
    assert_eq!(before["tracecheck_export_requests_total{transport=\"grpc\",outcome=\"ok\"}"], 0.0);

    // Real exporters: three spans over each transport.
    export_trace(Transport::Grpc, &server, Some(token)).await;
    export_trace(Transport::HttpJson, &server, Some(token)).await;
    // One span twice (a duplicate), one with an invalid trace ID, one without the token, and
    // one while every admission slot is taken.
    let body = read_fixture("otlp/one-good-one-bad-span.json");
    let body = body.as_str();
    assert_eq!(post_json(&server, Some(token), body).await, 200);
    assert_eq!(post_json(&server, Some(token), body).await, 200);
    assert_eq!(post_json(&server, None, body).await, 401);
    {
        let _all = server.admission().hold_all().await;
        assert_eq!(post_json(&server, Some(token), body).await, 503);
    }
    // A wait in progress.
    let store = server.store().clone();
    let awaited = TraceId([7; 16]);
    let waiting = tokio::spawn(async move {
        let minute = Duration::from_secs(60);
        let options = wait_options(minute, minute, minute);
        store.wait(awaited, &options, &|_| Vec::new()).await
    });
    server.store().waiting_on(awaited).await;

    let (_, after) = scrape(&server, Some(token)).await;
    let stats = server.store().stats();
    assert_eq!(after["tracecheck_spans_received_total"], 8.0, "3 + 3 + 1 + 1");
    assert_eq!(after["tracecheck_spans_stored_total"], 7.0);
    assert_eq!(after["tracecheck_spans_duplicate_total"], 1.0);
    assert_eq!(after["tracecheck_spans_refused_total{reason=\"invalid\"}"], 2.0);
    assert_eq!(after["tracecheck_spans_held"], 7.0);
    assert_eq!(after["tracecheck_traces_held"], 3.0);
    assert_eq!(after["tracecheck_memory_bytes"], stats.memory_bytes as f64);
    assert!(after["tracecheck_memory_bytes"] > 0.0);
    assert_eq!(after["tracecheck_spans_evicted_total"], 0.0);
    assert_eq!(after["tracecheck_waits_active"], 1.0);
    let requests = |transport: &str, outcome: &str| {
        after[&format!("tracecheck_export_requests_total{{transport=\"{transport}\",outcome=\"{outcome}\"}}")]
    };
    assert_eq!(requests("grpc", "ok"), 1.0);
    assert_eq!(requests("http", "ok"), 3.0);
    assert_eq!(requests("http", "unauthenticated"), 1.0);
    assert_eq!(requests("http", "overloaded"), 1.0);
    for (transport, n_requests) in [("grpc", 1.0), ("http", 5.0)] {
        let histogram = "tracecheck_export_request_duration_seconds";
        assert_eq!(after[&format!("{histogram}_count{{transport=\"{transport}\"}}")], n_requests);
        assert_eq!(
            after[&format!("{histogram}_bucket{{transport=\"{transport}\",le=\"+Inf\"}}")],
            n_requests
        );
        assert!(after[&format!("{histogram}_sum{{transport=\"{transport}\"}}")] > 0.0);
        assert_eq!(after[&format!("tracecheck_exports_in_flight{{transport=\"{transport}\"}}")], 0.0);
    }
    waiting.abort();

    // A stalled upload is in flight until its connection goes, and the gauge comes back down.
    let mut stalled = tokio::net::TcpStream::connect(server.http_addr()).await.expect("connect");
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"resourceSpans\":"
    );
    stalled.write_all(head.as_bytes()).await.expect("send the head");
    scrape_until(&server, token, "tracecheck_exports_in_flight{transport=\"http\"}", 1.0).await;
    drop(stalled);
    scrape_until(&server, token, "tracecheck_exports_in_flight{transport=\"http\"}", 0.0).await;
    server.shutdown().await.expect("clean shutdown");
}
