//! The benchmark workload, shared by `benches/ingest.rs` and `src/bin/loadgen.rs`: realistic
//! OTLP export requests (512 spans of about 370 bytes each on the wire, eight mixed
//! attributes, a resource with `service.name` and five more attributes, trees of ten spans),
//! encoded once and copied with each tree's trace ID made unique.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

fn string_kv(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

const ROUTES: [&str; 5] = [
    "/api/v1/orders/{id}",
    "/api/v1/users/{id}",
    "/api/v1/cart",
    "/api/v1/checkout",
    "/api/v1/catalog/{sku}",
];

/// One request of `batch` spans in trees of ten, tree `t` with trace ID `tree_marker(t)`.
pub fn template(batch: usize) -> ExportTraceServiceRequest {
    let base_time = 1_700_000_000_000_000_000u64;
    let spans = (0..batch)
        .map(|index| {
            let tree = index / 10;
            let position = index % 10;
            let span_id = |position: usize| {
                let mut id = [0x5au8; 8];
                id[0] = position as u8 + 1;
                id[1..5].copy_from_slice(&(tree as u32).to_le_bytes());
                id.to_vec()
            };
            let route = ROUTES[(tree + position) % ROUTES.len()];
            let start = base_time + (tree as u64) * 1_000_000 + (position as u64) * 10_000;
            Span {
                trace_id: tree_marker(tree).to_vec(),
                span_id: span_id(position),
                parent_span_id: if position == 0 { vec![] } else { span_id((position - 1) / 3) },
                name: format!("GET {route}"),
                kind: if position == 0 { span::SpanKind::Server } else { span::SpanKind::Client } as i32,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 5_000_000 - (position as u64) * 100_000,
                flags: 0x101,
                attributes: vec![
                    string_kv("http.request.method", "GET"),
                    string_kv("http.route", route),
                    kv("http.response.status_code", any_value::Value::IntValue(200)),
                    string_kv("server.address", format!("orders-{}.shop.internal", position % 4)),
                    string_kv(
                        "url.full",
                        format!(
                            "https://shop.example.com{}?page={}&trace={tree}",
                            route.replace("{id}", &index.to_string()),
                            position
                        ),
                    ),
                    string_kv("enduser.id", format!("user-{:08}", tree * 7919 % 100_000_000)),
                    kv("retry", any_value::Value::BoolValue(position % 5 == 0)),
                    kv("db.duration_ms", any_value::Value::DoubleValue(position as f64 * 1.37)),
                ],
                status: Some(Status { message: String::new(), code: if position == 9 { 2 } else { 0 } }),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string_kv("service.name", "orders"),
                    string_kv("service.version", "1.42.0"),
                    string_kv("host.name", "orders-7d9f8c6b5-xk2lp"),
                    string_kv("telemetry.sdk.name", "opentelemetry"),
                    string_kv("telemetry.sdk.language", "rust"),
                    string_kv("deployment.environment", "production"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "orders-http".into(),
                    version: "0.33.0".into(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// A trace ID no other bytes of the request contain, so it can be found and patched.
fn tree_marker(tree: usize) -> [u8; 16] {
    let mut id = [0xe7u8; 16];
    id[12..].copy_from_slice(&(tree as u32).to_le_bytes());
    id
}

/// A request template and where its trace IDs sit, to stamp out unique copies.
pub struct Workload {
    pub encoded: Vec<u8>,
    offsets: Vec<(usize, usize)>,
}

impl Workload {
    /// Requests of `batch` spans each.
    pub fn new(batch: usize) -> Self {
        let encoded = template(batch).encode_to_vec();
        let n_trees = batch.div_ceil(10);
        let mut offsets: Vec<(usize, usize)> = Vec::new();
        for tree in 0..n_trees {
            let marker = tree_marker(tree);
            let mut from = 0;
            while let Some(found) = encoded[from..].windows(16).position(|window| window == marker) {
                offsets.push((from + found, tree));
                from += found + 16;
            }
        }
        Workload { encoded, offsets }
    }

    /// Request number `request`: trace IDs unique across requests.
    pub fn request(&self, request: u64) -> Bytes {
        let mut bytes = self.encoded.clone();
        for &(offset, tree) in &self.offsets {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(request + 1).to_be_bytes());
            id[8..].copy_from_slice(&(tree as u64 + 1).to_be_bytes());
            bytes[offset..offset + 16].copy_from_slice(&id);
        }
        Bytes::from(bytes)
    }
}
