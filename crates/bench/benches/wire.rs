//! The web API's JSON of a 10,000-span trace (issue 24, item 2: under 100 ms): the old
//! `serde_json::Value` tree (`support/legacy_json.rs`, the removed `server::web::json`)
//! against `wire`'s borrowed structs, both written to bytes, in the same run.
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
    // Shared with the ingest benches and loadgen; this bench needs only its template.
    #[allow(dead_code)]
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
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(SPANS as u64));
    // The same document both ways (key order apart), or the comparison means nothing.
    let legacy = support::legacy_json::trace_json(&trace);
    let typed = serde_json::to_vec(&wire::Trace::new(&trace)).expect("json");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&typed).expect("valid"), legacy);
    println!(
        "body: {} bytes (Value tree: {})",
        typed.len(),
        serde_json::to_vec(&legacy).expect("json").len()
    );
    group.bench_function("value_tree_then_to_vec (before)", |b| {
        b.iter(|| serde_json::to_vec(&support::legacy_json::trace_json(black_box(&trace))).expect("json"))
    });
    group.bench_function("wire_trace_to_vec (after)", |b| {
        b.iter(|| serde_json::to_vec(&wire::Trace::new(black_box(&trace))).expect("json"))
    });
    group.finish();
}

criterion_group!(benches, wire_benches);
criterion_main!(benches);
