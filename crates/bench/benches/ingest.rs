//! Criterion bench of the ingest hot path on one realistic 512-span request: prost decoding
//! into the generated types (the floor the baseline pays), generated decode + conversion (the
//! straightforward path), the wire decoder into model spans (what a read of the store does),
//! the validating split, and split plus store (what a receiver does per request).
//!
//! `cargo bench --bench ingest`

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use model::otlp;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use server::ingest;
use store::{StoreConfig, TraceStore};

mod support {
    pub mod workload;
}
use support::workload::Workload;

fn ingest_benches(c: &mut Criterion) {
    let workload = Workload::new(512);
    let bytes = workload.request(0);
    let mut group = c.benchmark_group("ingest_512_spans");
    group.throughput(Throughput::Elements(512));

    group.bench_function("prost_decode_generated_and_drop", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(&bytes[..]).expect("valid"))
    });
    group.bench_function("generated_decode_and_convert", |b| {
        b.iter(|| otlp::decode_protobuf_generated(&bytes).expect("valid"))
    });
    group.bench_function("wire_decode", |b| b.iter(|| otlp::decode_protobuf(&bytes).expect("valid")));
    group.bench_function("split", |b| b.iter(|| otlp::split_request(&bytes).expect("valid").n_spans()));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let _entered = runtime.enter();
    // Bounded like a server that has been running a while: inserts also evict.
    let (store, _guard) = TraceStore::new(StoreConfig { max_spans: 200_000, ..StoreConfig::default() });
    let next = AtomicU64::new(1);
    group.bench_function("split_and_store", |b| {
        b.iter_batched(
            || workload.request(next.fetch_add(1, Ordering::Relaxed)),
            |request| ingest::export_protobuf(&store, &request).expect("valid"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, ingest_benches);
criterion_main!(benches);
