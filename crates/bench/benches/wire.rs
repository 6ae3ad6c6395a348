//! The web API's JSON of a 10,000-span trace (issue 24, item 2: under 100 ms): the old
//! `serde_json::Value` tree (`support/legacy_json.rs`) against `wire`'s borrowed structs,
//! both written to bytes, in the same run.
//!
//! `cargo bench -p tracecheck-bench --bench wire`
//!
//! The trace is the benchmark workload's 10,000 spans (eight mixed attributes, a resource
//! of six, trees of ten) moved into one trace, each tree's root hung under the first.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::otlp;
use model::{Span, Trace, TraceId};

mod support {
    pub mod legacy_json;
    pub mod workload;
}
use support::workload::template;

const SPANS: usize = 10_000;

fn big_trace() -> Trace {
    use prost::Message;
    let trace_id = TraceId([0x42; 16]);
    let bytes = template(SPANS).encode_to_vec();
    let mut spans: Vec<Span> = otlp::decode_protobuf(&bytes).expect("valid").spans;
    let root = spans[0].span_id;
    for span in &mut spans {
        span.trace_id = trace_id;
        if span.parent_span_id.is_none() && span.span_id != root {
            span.parent_span_id = Some(root);
        }
    }
    assert_eq!(spans.len(), SPANS);
    Trace::new(trace_id, spans.into_iter().map(Arc::new).collect())
}

fn wire_benches(c: &mut Criterion) {
    let trace = big_trace();
    let mut group = c.benchmark_group("trace_json_10k_spans");
    group.sample_size(20).measurement_time(Duration::from_secs(15)).throughput(Throughput::Elements(SPANS as u64));
    let legacy = serde_json::to_vec(&support::legacy_json::trace_json(&trace)).expect("json");
    println!("legacy body: {} bytes", legacy.len());
    group.bench_function("value_tree_then_to_vec (before)", |b| {
        b.iter(|| serde_json::to_vec(&support::legacy_json::trace_json(black_box(&trace))).expect("json"))
    });
    group.bench_function("server_web_json_trace_json (live)", |b| {
        b.iter(|| serde_json::to_vec(&server::web::json::trace_json(black_box(&trace))).expect("json"))
    });
    group.finish();
}

criterion_group!(benches, wire_benches);
criterion_main!(benches);
