//! Criterion bench of reading a stored 1,000-span trace of the benchmark workload, compacted
//! (one LZ4 block: decompress, decode), compacted while it grew by 100 exports of 10 spans
//! (its chain of blocks, issue 22 item 4) and open (copy, decode); prints
//! what the compaction choices make of one 10-span trace of the workload (issue 12, item 2).
//!
//! `cargo bench --bench store`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::otlp;
use model::{Span, TraceId};
use store::{StoreConfig, TraceStore};

mod support {
    pub mod workload;
}
use support::workload::Workload;

/// 1,000 spans of the workload (two requests' worth), moved into one trace.
fn one_trace(trace_id: TraceId) -> Vec<Span> {
    let workload = Workload::new(512);
    let mut spans: Vec<Span> = (0..2)
        .flat_map(|request| otlp::decode_protobuf(&workload.request(request)).expect("valid").spans)
        .take(1_000)
        .collect();
    for span in &mut spans {
        span.trace_id = trace_id;
    }
    spans
}

/// Sizes and times of the compaction choices on one 10-span trace's stored bytes.
fn compare_choices() {
    use prost::Message;
    let workload = Workload::new(512);
    let spans = otlp::decode_protobuf(&workload.request(0)).expect("valid").spans;
    let encode = |spans: &[Span]| -> Vec<u8> {
        let mut raw = Vec::new();
        for span in spans {
            otlp::append_span_field(&mut raw, &otlp::span_to_otlp(span).encode_to_vec());
        }
        raw
    };
    let trace = encode(&spans[10..20]);
    let dictionary = encode(&spans[0..10]);
    let time = |f: &dyn Fn() -> usize| {
        let started = Instant::now();
        let mut size = 0;
        for _ in 0..2_000 {
            size = std::hint::black_box(f());
        }
        (size, started.elapsed() / 2_000)
    };
    let (plain, plain_time) = time(&|| lz4rip::compress(&trace).len());
    let (dict, dict_time) = time(&|| lz4rip::block::DictCompressor::new(&dictionary).compress(&trace).len());
    println!("10-span trace: {} bytes stored open ({} per span)", trace.len(), trace.len() / 10);
    println!("  lz4 block: {plain} bytes ({} per span), {plain_time:?} to compress", plain / 10);
    println!(
        "  lz4 block with the previous trace as dictionary: {dict} bytes ({} per span), {dict_time:?}",
        dict / 10
    );
}

fn store_benches(c: &mut Criterion) {
    compare_choices();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let _entered = runtime.enter();
    let trace_id = TraceId([7; 16]);
    let (compacted, _guard) = TraceStore::new(StoreConfig::default());
    compacted.insert(one_trace(trace_id));
    let open_bytes = compacted.stats().memory_bytes;
    runtime.block_on(tokio::time::sleep(compacted.config().compact_after + Duration::from_millis(100)));
    let stats = compacted.stats();
    assert_eq!(stats.traces_compacted, 1, "the trace was not compacted");
    println!(
        "1,000-span trace: {open_bytes} bytes held open, {} compacted ({:.2}x)",
        stats.memory_bytes,
        open_bytes as f64 / stats.memory_bytes as f64
    );
    let (open, _open_guard) =
        TraceStore::new(StoreConfig { compact_after: Duration::from_secs(3_600), ..StoreConfig::default() });
    open.insert(one_trace(trace_id));
    // The same trace arriving 10 spans at a time, compacted after each export.
    let (grown, _grown_guard) =
        TraceStore::new(StoreConfig { compact_after: Duration::from_millis(1), ..StoreConfig::default() });
    let spans = one_trace(trace_id);
    for chunk in spans.chunks(10) {
        grown.insert(chunk.to_vec());
        runtime.block_on(tokio::time::sleep(Duration::from_millis(10)));
    }
    let stats = grown.stats();
    println!(
        "1,000-span trace grown by 100 exports: {} compactions, {} bytes compressed, {} held",
        stats.traces_compacted, stats.bytes_compacted, stats.memory_bytes
    );

    let mut group = c.benchmark_group("store_read_1000_spans");
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("get_compacted", |b| b.iter(|| compacted.get(trace_id).expect("held").spans.len()));
    group
        .bench_function("get_compacted_grown", |b| b.iter(|| grown.get(trace_id).expect("held").spans.len()));
    group.bench_function("get_open", |b| b.iter(|| open.get(trace_id).expect("held").spans.len()));
    group.finish();
}

criterion_group!(benches, store_benches);
criterion_main!(benches);
