//! The receivers against the real `opentelemetry-otlp` exporters: an OpenTelemetry SDK tracer
//! makes a nested trace with typed attributes, exports it over gRPC (plain and gzip),
//! HTTP/protobuf and HTTP/JSON to a server started in-process on free ports, and every span,
//! parent link and attribute type is read back from the store.

use std::collections::HashMap;

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_otlp::{Compression, Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tonic::service::Routes;
use tracecheck::api::{ControlService, RemoteClient};
use tracecheck::model::{AttributeValue, SpanId, StatusCode, Trace, TraceId};
use tracecheck::server::{self, RunningServer, ServerConfig};

#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    GrpcGzip,
    HttpProtobuf,
    HttpJson,
}

/// The ingestor with the control API beside OTLP on the gRPC port, as `tracecheck serve` runs it.
async fn start_server(config: ServerConfig) -> RunningServer {
    server::start(config, |store| Routes::new(ControlService::new(store.clone()).into_server()))
        .await
        .expect("server starts")
}

/// Checks the trace as stored, and as read back through the control API.
async fn check_stored(server: &RunningServer, trace_id: TraceId, token: Option<&str>) {
    check_trace(&server.store().get(trace_id).expect("trace stored"));
    let client = RemoteClient::connect(&format!("http://{}", server.grpc_addr()), token)
        .await
        .expect("control client");
    check_trace(&client.get(trace_id).await.expect("GetTrace").expect("trace found over the control API"));
}

/// Exports one nested trace through the real exporter and returns its trace ID once the
/// exporter has had its answer (force_flush waits for the export).
async fn export_trace(transport: Transport, server: &RunningServer, token: Option<&str>) -> TraceId {
    let grpc_endpoint = format!("http://{}", server.grpc_addr());
    let http_endpoint = format!("http://{}/v1/traces", server.http_addr());
    let token = token.map(str::to_string);
    let handle = tokio::runtime::Handle::current();
    // The SDK's batch processor exports from its own thread and blocks on the result, so the
    // SDK side runs on a blocking thread rather than on a runtime worker.
    tokio::task::spawn_blocking(move || {
        let exporter = match transport {
            Transport::Grpc | Transport::GrpcGzip => {
                // The tonic channel spawns onto the test's runtime.
                let _runtime = handle.enter();
                let mut metadata = tonic::metadata::MetadataMap::new();
                if let Some(token) = &token {
                    metadata.insert("authorization", format!("Bearer {token}").parse().unwrap());
                }
                let builder = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(grpc_endpoint)
                    .with_metadata(metadata);
                let builder = if matches!(transport, Transport::GrpcGzip) {
                    builder.with_compression(Compression::Gzip)
                } else {
                    builder
                };
                builder.build().expect("grpc exporter")
            }
            Transport::HttpProtobuf | Transport::HttpJson => {
                let protocol = if matches!(transport, Transport::HttpJson) {
                    Protocol::HttpJson
                } else {
                    Protocol::HttpBinary
                };
                let mut headers = HashMap::new();
                if let Some(token) = &token {
                    headers.insert("authorization".to_string(), format!("Bearer {token}"));
                }
                opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_http_client(reqwest::blocking::Client::new())
                    .with_protocol(protocol)
                    .with_endpoint(http_endpoint)
                    .with_headers(headers)
                    .build()
                    .expect("http exporter")
            }
        };
        let _runtime = handle.enter();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder_empty()
                    .with_service_name("checkout")
                    .with_attribute(KeyValue::new("deployment.environment", "test"))
                    .build(),
            )
            .build();
        let tracer = provider.tracer("tracecheck-tests");
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
            .start(&tracer);
        let trace_id = root.span_context().trace_id();
        let root_cx = Context::current_with_span(root);
        let mut db = tracer
            .span_builder("SELECT orders")
            .with_kind(SpanKind::Client)
            .with_attributes(vec![KeyValue::new("db.system", "postgresql")])
            .start_with_context(&tracer, &root_cx);
        db.add_event("rows", vec![KeyValue::new("count", 3_i64)]);
        let db_cx = root_cx.with_span(db);
        let mut cache = tracer.span_builder("cache get").start_with_context(&tracer, &db_cx);
        cache.set_status(Status::error("miss"));
        cache.end();
        db_cx.span().end();
        root_cx.span().end();
        provider.force_flush().expect("export succeeds");
        provider.shutdown().expect("provider shuts down");
        TraceId(trace_id.to_bytes())
    })
    .await
    .expect("exporting thread")
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
    assert_eq!(root.kind, tracecheck::model::SpanKind::Server);
    assert_eq!(db.kind, tracecheck::model::SpanKind::Client);
    assert_eq!(cache.kind, tracecheck::model::SpanKind::Internal);
    assert_eq!(cache.status.code, StatusCode::Error);
    assert_eq!(&*cache.status.message, "miss");
    assert!(root.end_time_unix_nano >= root.start_time_unix_nano && root.start_time_unix_nano > 0);

    assert_eq!(root.service_name(), Some("checkout"));
    assert_eq!(
        tracecheck::model::find_attribute(&root.resource.attributes, "deployment.environment"),
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
    let server = start_server(ServerConfig::ephemeral()).await;
    for transport in [Transport::Grpc, Transport::GrpcGzip, Transport::HttpProtobuf, Transport::HttpJson] {
        let trace_id = export_trace(transport, &server, None).await;
        check_stored(&server, trace_id, None).await;
    }
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporters_with_the_auth_token_get_in() {
    let config = ServerConfig { auth_token: Some("s3cret".into()), ..ServerConfig::ephemeral() };
    let server = start_server(config).await;
    for transport in [Transport::Grpc, Transport::HttpProtobuf] {
        let trace_id = export_trace(transport, &server, Some("s3cret")).await;
        check_stored(&server, trace_id, Some("s3cret")).await;
    }
    server.shutdown().await.expect("clean shutdown");
}
