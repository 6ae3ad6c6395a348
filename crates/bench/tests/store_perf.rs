//! Rough cost of the store's insert path and memory per stored span: requests are encoded up
//! front, then split (validated) and inserted as the receivers do, apart from the network.
//! Ignored by default (it needs a release build to mean anything):
//!
//! ```text
//! cargo test --release --test store_perf -- --ignored --nocapture
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use model::otlp::{self, encode_trace_bytes};
use model::{AttributeValue, KeyValue, Resource, Scope, Span, SpanId, SpanKind, Str, Trace, TraceId};
use store::{StoreConfig, TraceStore, WaitOptions};

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// Batches of 512 spans: 10-span trees with unique trace IDs, ~8 attributes with interned
/// keys, one resource per batch, as the ingest path would hand them over.
fn batches(n_spans: usize) -> Vec<Vec<Span>> {
    let keys: Vec<Str> = [
        "http.method",
        "http.route",
        "http.status_code",
        "net.peer.name",
        "db.system",
        "user.id",
        "retry",
        "ratio",
    ]
    .iter()
    .map(|key| Str::from(*key))
    .collect();
    let names: Vec<Str> =
        ["GET /users", "SELECT users", "cache get", "POST /orders"].iter().map(|n| Str::from(*n)).collect();
    let mut batches = Vec::new();
    let mut trace_counter = 0u64;
    let mut span_counter = 0u64;
    while batches.len() * 512 < n_spans {
        let resource = Arc::new(Resource {
            attributes: Box::new([
                KeyValue::new("service.name", "users"),
                KeyValue::new("host.name", "node-1"),
            ]),
        });
        let scope = Arc::new(Scope::default());
        let mut batch = Vec::with_capacity(512);
        let mut trace_id = TraceId::default();
        let mut root = SpanId::default();
        for idx in 0..512 {
            if idx % 10 == 0 {
                trace_counter += 1;
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&trace_counter.to_le_bytes());
                bytes[8..].copy_from_slice(&trace_counter.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
                trace_id = TraceId(bytes);
            }
            span_counter += 1;
            let span_id = SpanId(span_counter.to_le_bytes());
            if idx % 10 == 0 {
                root = span_id;
            }
            let attributes: Box<[KeyValue]> = keys
                .iter()
                .enumerate()
                .map(|(k, key)| KeyValue {
                    key: key.clone(),
                    value: match k {
                        0..=1 => AttributeValue::String(names[k].clone()),
                        2 => AttributeValue::Int(200),
                        3 => AttributeValue::String(Str::from(format!("peer-{}", idx % 7))),
                        6 => AttributeValue::Bool(false),
                        7 => AttributeValue::Double(0.5),
                        _ => AttributeValue::String(Str::from("value")),
                    },
                })
                .collect();
            batch.push(Span {
                trace_id,
                span_id,
                parent_span_id: (idx % 10 != 0).then_some(root),
                name: names[idx % names.len()].clone(),
                kind: SpanKind::Server,
                status: Default::default(),
                start_time_unix_nano: 1_700_000_000_000_000_000 + idx as u64,
                end_time_unix_nano: 1_700_000_000_000_100_000 + idx as u64,
                attributes,
                extra: None,
                resource: resource.clone(),
                scope: scope.clone(),
            });
        }
        batches.push(batch);
    }
    batches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --release --ignored --nocapture"]
async fn insert_cost_and_memory() {
    const N_SPANS: usize = 1_000_000;
    // Each batch as one OTLP request (`TracesData` has `ExportTraceServiceRequest`'s layout).
    let requests: Vec<Vec<u8>> = batches(N_SPANS)
        .into_iter()
        .map(|batch| {
            encode_trace_bytes(&Trace::new(TraceId::default(), batch.into_iter().map(Arc::new).collect()))
        })
        .collect();
    let bytes: usize = requests.iter().map(Vec::len).sum();
    println!("{} requests, {} bytes per span on the wire", requests.len(), bytes / N_SPANS);

    // Validation alone, twice (the first round warms the caches).
    for round in ["cold", "warm"] {
        let started = Instant::now();
        let mut n_spans = 0;
        for request in &requests {
            n_spans += otlp::split_request(request).expect("valid").n_spans();
        }
        println!("split ({round}): {:.0} ns/span", started.elapsed().as_nanos() as f64 / n_spans as f64);
    }

    let (store, _guard) = TraceStore::new(StoreConfig::default());
    let rss_before = rss_kib("VmRSS:");
    let started = Instant::now();
    let mut stored = 0;
    for request in &requests {
        stored += store.insert_raw(&otlp::split_request(request).expect("valid")).stored;
    }
    let elapsed = started.elapsed();
    let rss_after = rss_kib("VmRSS:");
    let stats = store.stats();
    println!(
        "split + inserted {stored} spans in {elapsed:?}: {:.0} ns/span; RSS {} -> {} MiB (+{} B/span); \
         memory estimate {} MiB; peak {} MiB",
        elapsed.as_nanos() as f64 / stored as f64,
        rss_before / 1024,
        rss_after / 1024,
        (rss_after.saturating_sub(rss_before) * 1024) / stored as u64,
        stats.memory_bytes >> 20,
        rss_kib("VmHWM:") / 1024,
    );

    // Reading decodes: one trace of the last request, many times.
    let (newest, _) = &store.recent(1)[0];
    let (trace_id, span_count) = (newest.trace_id, newest.spans.len());
    let started = Instant::now();
    for _ in 0..10_000 {
        assert_eq!(store.get(trace_id).map(|trace| trace.spans.len()), Some(span_count));
    }
    println!(
        "get of a {}-span trace (decoding it): {:.2} µs",
        span_count,
        started.elapsed().as_secs_f64() * 1e6 / 10_000.0
    );

    // Wake latency: a waiter with settle 0 on a trace completed by one insert.
    let mut worst = Duration::ZERO;
    for round in 0..200u64 {
        let trace_id = TraceId([round as u8 + 1, 0xee, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let options = WaitOptions {
            settle: Duration::ZERO,
            grace: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            started: Instant::now(),
            trigger_span_id: None,
        };
        let waiter = {
            let store = store.clone();
            tokio::spawn(async move {
                store.wait(trace_id, &options, &|_| Vec::new()).await;
                Instant::now()
            })
        };
        store.waiting_on(trace_id).await;
        let inserted = Instant::now();
        store.insert(vec![Span::new(trace_id, SpanId([9; 8]), "root")]);
        let woke = waiter.await.unwrap();
        worst = worst.max(woke - inserted);
    }
    println!("worst wake latency over 200 waits: {worst:?}");
}
