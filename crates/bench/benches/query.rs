//! Jaeger's APIs over HTTP (issue 19, item 8): a 1,000-span trace by ID in each Jaeger
//! format (target under 2 ms), and a search by service over 100,000 stored traces (target
//! under 20 ms), each a whole request to an in-process server on 127.0.0.1 (so the figures
//! include the client and loopback: an upper bound of the server's time); for the trace by
//! ID also the handler's own work in process (read, map, write the body).
//!
//! `cargo bench -p tracecheck-bench --bench query`
//!
//! The 1,000-span trace is the benchmark workload's template in one trace. The 100,000
//! traces have three spans each: a root of one of 50 services (`svc-0` ... `svc-49`) over a
//! `db` client span and its server span; one trace in 1,000 has an `audit` span too. The
//! store has compacted them all before measuring, as a store at rest has.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use model::{otlp, Span, SpanId, SpanKind, StatusCode, TraceId};
use server::ServerConfig;
use store::StoreConfig;

mod support {
    // Shared with the ingest benches and loadgen; this bench needs only its template.
    #[allow(dead_code)]
    pub mod workload;
}
use support::workload::template;

const TRACES: u32 = 100_000;
/// The v1 search window (microseconds) around the traces' times.
const WINDOW: &str = "start=1690000000000000&end=1710000000000000";
const BIG: usize = 1_000;

fn big_trace(trace_id: TraceId) -> Vec<Span> {
    use prost::Message;
    let bytes = template(BIG).encode_to_vec();
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

fn small_trace(n: u32) -> Vec<Span> {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&n.to_be_bytes());
    id[15] = 1;
    let trace_id = TraceId(id);
    let start = 1_700_000_000_000_000_000 + u64::from(n) * 1_000_000;
    let service = Arc::new(model::Resource {
        attributes: vec![model::KeyValue::new("service.name", format!("svc-{}", n % 50).as_str())].into(),
    });
    let db =
        Arc::new(model::Resource { attributes: vec![model::KeyValue::new("service.name", "db")].into() });
    let span_id = |k: u8| {
        let mut bytes = [k; 8];
        bytes[..4].copy_from_slice(&n.to_be_bytes());
        SpanId(bytes)
    };
    let mut root = Span::new(trace_id, span_id(1), "GET /orders")
        .with_kind(SpanKind::Server)
        .with_times(start, start + 20_000_000)
        .with_attribute("http.route", "/orders")
        .with_attribute("http.response.status_code", 200i64);
    root.resource = service.clone();
    let mut client = Span::new(trace_id, span_id(2), "SELECT orders")
        .with_parent(span_id(1))
        .with_kind(SpanKind::Client)
        .with_times(start + 1_000_000, start + 9_000_000);
    client.resource = service;
    let mut query = Span::new(trace_id, span_id(3), "query")
        .with_parent(span_id(2))
        .with_kind(SpanKind::Server)
        .with_times(start + 2_000_000, start + 8_000_000)
        .with_status(if n % 7 == 0 { StatusCode::Error } else { StatusCode::Unset }, "");
    query.resource = db.clone();
    let mut spans = vec![root, client, query];
    if n % 1_000 == 0 {
        let mut audit =
            Span::new(trace_id, span_id(4), "record").with_parent(span_id(1)).with_times(start, start + 1);
        audit.resource = Arc::new(model::Resource {
            attributes: vec![model::KeyValue::new("service.name", "audit")].into(),
        });
        spans.push(audit);
    }
    spans
}

fn query_benches(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut config = ServerConfig::ephemeral();
    config.store = StoreConfig { max_memory: 4 << 30, ..StoreConfig::default() };
    let server = runtime
        .block_on(server::start(config, |_| tonic::service::Routes::default()))
        .expect("start the server");
    let store = server.store().clone();
    let big = TraceId([0x42; 16]);
    {
        let _entered = runtime.enter();
        store.insert(big_trace(big));
        for n in 0..TRACES {
            store.insert(small_trace(n));
        }
    }
    // Measure the store at rest: every trace compacted (a bench may wait; a test may not).
    runtime.block_on(async {
        while store.compaction_pending() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let stats = store.stats();
    assert_eq!(stats.traces_evicted, 0, "the store must hold every trace");
    println!(
        "held: {} traces, {} spans, {} MiB",
        stats.traces_held,
        stats.spans_held,
        stats.memory_bytes >> 20
    );

    let client = reqwest::Client::new();
    let base = format!("http://{}/jaeger", server.http_addr());
    let fetch = |path: String| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let answer = client.get(&url).send().await.expect("request");
            assert_eq!(answer.status(), 200, "{url}");
            answer.bytes().await.expect("body").len()
        }
    };
    // What each answers, once, so the figures are of real answers.
    for path in [
        format!("/api/traces/{big}"),
        format!("/api/v3/traces/{big}"),
        format!("/api/traces?service=svc-7&limit=20&{WINDOW}"),
        format!("/api/traces?service=audit&limit=20&{WINDOW}"),
    ] {
        println!("{path}: {} bytes", runtime.block_on(fetch(path.clone())));
    }

    let mut group = c.benchmark_group("jaeger_trace_by_id_1000_spans");
    group.sample_size(50).measurement_time(Duration::from_secs(10));
    group.bench_function("v1_json", |b| b.iter(|| runtime.block_on(fetch(format!("/api/traces/{big}")))));
    group.bench_function("v3_otlp_json", |b| {
        b.iter(|| runtime.block_on(fetch(format!("/api/v3/traces/{big}"))))
    });
    // The handler's own work without HTTP: read (decode) the trace, map it, write the body
    // as the handler writes it (into a buffer here, where the handler streams it).
    group.bench_function("v1_json_in_process", |b| {
        b.iter(|| {
            let trace = store.get(big).expect("held");
            let mut body = Vec::new();
            wire::jaeger::write_traces(&[wire::jaeger::Trace::new(&trace, None)], &mut body).expect("json");
            body.len()
        })
    });
    group.bench_function("v3_otlp_json_in_process", |b| {
        b.iter(|| {
            let trace = [store.get(big).expect("held")];
            let result =
                wire::jaeger::V3Result { result: wire::OtlpTraces::jaeger(&trace), warnings: Vec::new() };
            let mut body = Vec::new();
            result.write_json(&mut body).expect("json");
            body.len()
        })
    });
    group.bench_function("store_get_only", |b| b.iter(|| store.get(big).expect("held").spans.len()));
    group.finish();

    let mut group = c.benchmark_group("jaeger_search_100k_traces");
    group.sample_size(30).measurement_time(Duration::from_secs(10));
    group.bench_function("v1_service_in_1_of_50_limit_20", |b| {
        b.iter(|| runtime.block_on(fetch(format!("/api/traces?service=svc-7&limit=20&{WINDOW}"))))
    });
    group.bench_function("v1_service_in_1_of_1000_limit_20", |b| {
        b.iter(|| runtime.block_on(fetch(format!("/api/traces?service=audit&limit=20&{WINDOW}"))))
    });
    group.bench_function("v1_service_and_operation_min_duration", |b| {
        b.iter(|| {
            runtime.block_on(fetch(format!(
                "/api/traces?service=db&operation=query&minDuration=5ms&limit=20&{WINDOW}"
            )))
        })
    });
    group.bench_function("v1_services", |b| b.iter(|| runtime.block_on(fetch("/api/services".to_string()))));
    group.bench_function("v3_service_in_1_of_50_limit_20", |b| {
        b.iter(|| {
            runtime.block_on(fetch(
                "/api/v3/traces?query.service_name=svc-7&query.start_time_min=2023-01-01T00:00:00Z&query.start_time_max=2024-01-01T00:00:00Z&query.num_traces=20"
                    .to_string(),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, query_benches);
criterion_main!(benches);
