//! Rough cost of the store's insert path and memory per stored span, apart from decoding.
//! Ignored by default (it needs a release build to mean anything):
//!
//! ```text
//! cargo test --release --test store_perf -- --ignored --nocapture
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracecheck::model::{AttributeValue, KeyValue, Resource, Scope, Span, SpanId, SpanKind, Str, TraceId};
use tracecheck::store::{StoreConfig, TraceStore, WaitOptions};

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
    // The floor: moving each span into its own `Arc`, as any store of shared spans must. The
    // first round pays for faulting fresh pages in; the second reuses the freed memory, as
    // the store below does.
    for round in ["cold", "warm"] {
        let input = batches(N_SPANS);
        let started = Instant::now();
        let mut arcs: Vec<Vec<Arc<Span>>> = Vec::with_capacity(input.len());
        for batch in input {
            arcs.push(batch.into_iter().map(Arc::new).collect());
        }
        let floor = started.elapsed();
        println!(
            "floor ({round}: Arc::new per span, no map): {:.0} ns/span",
            floor.as_nanos() as f64 / N_SPANS as f64
        );
    }

    let (store, _guard) = TraceStore::new(StoreConfig::default());
    let rss_start = rss_kib("VmRSS:");
    let input = batches(N_SPANS);
    let rss_before = rss_kib("VmRSS:");
    let started = Instant::now();
    let mut stored = 0;
    for batch in input {
        stored += store.insert(batch).stored;
    }
    let elapsed = started.elapsed();
    let rss_after = rss_kib("VmRSS:");
    let stats = store.stats();
    println!(
        "inserted {stored} spans in {elapsed:?}: {:.0} ns/span; RSS {} -> {} MiB (+{} B/span incl. span bodies); \
         memory estimate {} MiB; whole process from before the spans were built: +{} MiB, peak {} MiB",
        elapsed.as_nanos() as f64 / stored as f64,
        rss_before / 1024,
        rss_after / 1024,
        (rss_after.saturating_sub(rss_before) * 1024) / stored as u64,
        stats.memory_bytes >> 20,
        rss_after.saturating_sub(rss_start) / 1024,
        rss_kib("VmHWM:") / 1024,
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
