//! Raw OTLP for the receivers' edge cases: requests built from the generated types, gzip,
//! and gRPC clients (typed, and raw bytes through the server's own codec).

use std::io::Write;
use std::net::SocketAddr;

use model::TraceId;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tonic::transport::Channel;

/// The gRPC path of OTLP's trace export.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// A request with `n_spans` spans of one fresh trace (IDs derived from `seed`: a root and its
/// children), plus `n_bad` spans whose trace ID is 3 bytes long.
pub fn request(seed: u8, n_spans: usize, n_bad: usize) -> (ExportTraceServiceRequest, TraceId) {
    let mut trace_id = [seed; 16];
    trace_id[0] = 0xab;
    let mut spans: Vec<Span> = (0..n_spans)
        .map(|index| Span {
            trace_id: trace_id.to_vec(),
            span_id: vec![seed, index as u8 + 1, 0, 0, 0, 0, 0, 1],
            parent_span_id: if index == 0 { vec![] } else { vec![seed, 1, 0, 0, 0, 0, 0, 1] },
            name: format!("span {index}"),
            attributes: vec![KeyValue {
                key: "index".into(),
                value: Some(AnyValue { value: Some(any_value::Value::IntValue(index as i64)) }),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    spans.extend((0..n_bad).map(|index| Span {
        trace_id: vec![1, 2, 3],
        span_id: vec![9, index as u8 + 1, 0, 0, 0, 0, 0, 1],
        name: "bad".into(),
        ..Default::default()
    }));
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue("edge".into())) }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            schema_url: String::new(),
        }],
    };
    (request, TraceId(trace_id))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// OTLP's typed gRPC client for the receiver on `grpc`.
pub async fn client(grpc: SocketAddr) -> TraceServiceClient<Channel> {
    TraceServiceClient::connect(format!("http://{grpc}")).await.expect("connect to the gRPC receiver")
}

/// A gRPC client that sends and receives raw bytes (with `server::ingest::grpc::RawCodec`),
/// for messages the typed client cannot send; ready for its first call.
pub async fn raw_client(grpc: SocketAddr) -> tonic::client::Grpc<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect to the gRPC receiver");
    let mut raw = tonic::client::Grpc::new(channel);
    raw.ready().await.expect("ready");
    raw
}

/// The status code and head of the HTTP/1 response on `stream` (None when the connection
/// closes first), the head lowercased.
pub async fn read_head(stream: &mut tokio::net::TcpStream) -> Option<(u16, String)> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head.to_ascii_lowercase()))
}
