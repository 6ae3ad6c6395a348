//! Tempo's trace by ID of a 1,000-span trace (issue 19, item 8: under 2 ms of server time
//! in each format), against a real in-process server over loopback HTTP: the round trip
//! (request, the handler's store read and encoding, the body read by the client) is an
//! upper bound of the server's time. The handler's own work (decode from the store, then
//! encode) is measured beside it without HTTP.
//!
//! `cargo bench -p tracecheck-bench --bench tempo`
//!
//! The trace is the benchmark workload's first 1,000 spans (eight mixed attributes, a
//! resource of six, trees of ten) moved into one trace, each tree's root hung under the
//! first.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::{otlp, Span, TraceId};

mod support {
    // Shared with the ingest benches and loadgen; this bench needs only its template.
    #[allow(dead_code)]
    pub mod workload;
}
use support::workload::template;

const SPANS: usize = 1_000;

fn spans(trace_id: TraceId) -> Vec<Span> {
    use prost::Message;
    let bytes = template(SPANS).encode_to_vec();
    let mut spans: Vec<Span> = otlp::decode_protobuf(&bytes).expect("valid").spans;
    let root = spans[0].span_id;
    for span in &mut spans {
        span.trace_id = trace_id;
        if span.parent_span_id.is_none() && span.span_id != root {
            span.parent_span_id = Some(root);
        }
    }
    spans
}

fn tempo_benches(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let loopback = "127.0.0.1:0".parse().expect("address");
    let config = server::ServerConfig { grpc_addr: loopback, http_addr: loopback, ..Default::default() };
    let server = runtime
        .block_on(server::start(config, |_| tonic::service::Routes::default()))
        .expect("the server starts");
    let trace_id = TraceId([0x19; 16]);
    server.store().insert(spans(trace_id));
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{}/tempo/api{path}/{trace_id}", server.http_addr());
    let fetch = |url: String, accept: &'static str| {
        let client = client.clone();
        async move {
            let answer = client.get(url).header("accept", accept).send().await.expect("request");
            assert!(answer.status().is_success());
            answer.bytes().await.expect("body")
        }
    };
    let (json, protobuf) = runtime.block_on(async {
        (fetch(url("/traces"), "application/json").await, fetch(url("/traces"), "application/protobuf").await)
    });
    println!("bodies: JSON {} bytes, protobuf {} bytes", json.len(), protobuf.len());

    let mut group = c.benchmark_group("tempo_trace_by_id_1000_spans");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(SPANS as u64));
    for (name, path, accept) in [
        ("http v1 protobuf", "/traces", "application/protobuf"),
        ("http v1 json", "/traces", "application/json"),
        ("http v2 protobuf", "/v2/traces", "application/protobuf"),
        ("http v2 json", "/v2/traces", "application/json"),
    ] {
        group.bench_function(name, |b| b.iter(|| black_box(runtime.block_on(fetch(url(path), accept)))));
    }
    // The handler's work without HTTP: the store's read (decoding) and the encoding, and
    // each alone.
    let store = server.store().clone();
    group.bench_function("store read", |b| b.iter(|| black_box(store.get(trace_id).expect("stored"))));
    let trace = store.get(trace_id).expect("stored");
    group.bench_function("protobuf encode", |b| b.iter(|| black_box(otlp::encode_trace_bytes(&trace))));
    group.bench_function("json encode", |b| {
        b.iter(|| black_box(serde_json::to_vec(&wire::tempo::TempoTrace(&trace)).expect("json")))
    });
    group.bench_function("store read + protobuf encode", |b| {
        b.iter(|| black_box(otlp::encode_trace_bytes(&store.get(trace_id).expect("stored"))))
    });
    group.bench_function("store read + json encode", |b| {
        b.iter(|| {
            let trace = store.get(trace_id).expect("stored");
            black_box(serde_json::to_vec(&wire::tempo::TempoTrace(&trace)).expect("json"))
        })
    });
    group.finish();
    let _ = runtime.block_on(server.shutdown());
}

criterion_group!(benches, tempo_benches);
criterion_main!(benches);
