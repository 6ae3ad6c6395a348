//! The store behind the real server: spans exported over OTLP/gRPC to `server::start`
//! (with the control API beside it, as `serve` runs it), read back through `RemoteClient`.
//! Checks eviction order and counts, duplicates, a wait woken by a late child and the
//! bearer token on the control API.

use std::time::Duration;

use model::{Span, SpanId, TraceId};
use server::api::{Error, RemoteClient};
use server::RunningServer;
use store::WaitOutcome;

use crate::support::{server, wait_options, ServerExt, HANG, NEVER};

async fn start(max_spans: usize, auth_token: Option<&str>) -> (RunningServer, RemoteClient) {
    let mut builder = server().max_spans(max_spans);
    if let Some(token) = auth_token {
        builder = builder.auth_token(token);
    }
    let running = builder.start().await;
    let client = RemoteClient::connect(&running.grpc_url(), auth_token).await.expect("connect");
    (running, client)
}

/// A wait for `trace_id` through the control API (settle 50 ms; grace and timeout an hour
/// away, so that only inserts can end it within [`HANG`]), running meanwhile.
fn spawn_wait(
    client: &RemoteClient,
    trace_id: TraceId,
) -> tokio::task::JoinHandle<Result<WaitOutcome, Error>> {
    let client = client.clone();
    let options = wait_options(Duration::from_millis(50), NEVER, NEVER);
    tokio::spawn(async move { client.wait(trace_id, &options, &[]).await })
}

fn tid(n: u8) -> TraceId {
    TraceId([n; 16])
}

/// A root and `n - 1` children, exported as one OTLP request.
fn tree(trace: u8, n: u8) -> Vec<Span> {
    (1..=n)
        .map(|idx| {
            let span = Span::new(tid(trace), SpanId([trace, idx, 0, 0, 0, 0, 0, 1]), &format!("op-{idx}"))
                .with_times(1_000, 2_000)
                .with_resource_attribute("service.name", "svc");
            if idx == 1 {
                span
            } else {
                span.with_parent(SpanId([trace, 1, 0, 0, 0, 0, 0, 1]))
            }
        })
        .collect()
}

#[tokio::test]
async fn evicts_least_recently_updated_and_counts_it() {
    let (_server, client) = start(20, None).await;
    for trace in 1..=5 {
        client.export(&tree(trace, 10)).await.expect("export");
    }
    let stats = client.stats().await.expect("stats");
    assert_eq!((stats.spans_received, stats.spans_held, stats.traces_held), (50, 20, 2));
    assert_eq!((stats.spans_evicted, stats.traces_evicted), (30, 3));
    let listed: Vec<TraceId> =
        client.list(0).await.expect("list").iter().map(|summary| summary.trace_id).collect();
    assert_eq!(listed, vec![tid(5), tid(4)]);
    assert!(client.get(tid(1)).await.expect("get").is_none());

    // Updating trace 4 makes trace 5 the least recently updated.
    client.export(&[tree(4, 11).pop().expect("span")]).await.expect("export");
    let listed: Vec<TraceId> =
        client.list(0).await.expect("list").iter().map(|summary| summary.trace_id).collect();
    assert_eq!(listed, vec![tid(4)]);
    assert_eq!(client.get(tid(4)).await.expect("get").expect("trace 4").spans.len(), 11);
}

#[tokio::test]
async fn duplicate_spans_are_stored_once() {
    let (_server, client) = start(1_000, None).await;
    client.export(&tree(1, 5)).await.expect("export");
    client.export(&tree(1, 5)).await.expect("export again");
    let stats = client.stats().await.expect("stats");
    assert_eq!((stats.spans_held, stats.duplicate_spans), (5, 5));
    assert_eq!(client.get(tid(1)).await.expect("get").expect("trace").spans.len(), 5);
}

#[tokio::test]
async fn wait_wakes_on_a_late_child_sent_over_otlp() {
    let (server, client) = start(1_000, None).await;
    let mut spans = tree(1, 4);
    let root = spans.remove(0);
    client.export(&spans).await.expect("export children");
    let waiting = spawn_wait(&client, tid(1));
    server.store().waiting_on(tid(1)).await;
    client.export(&[root]).await.expect("export root");
    // Grace and timeout are an hour away: an answer within HANG was woken by the insert.
    let outcome =
        tokio::time::timeout(HANG, waiting).await.expect("woken by the insert").expect("join").expect("wait");
    assert!(outcome.complete, "{:?}", outcome.missing);
    assert_eq!(outcome.trace.expect("trace").spans.len(), 4);
}

#[tokio::test]
async fn wait_reports_the_spans_its_trace_cap_refused() {
    // An awaited trace holds at most 1,000 spans here (--max-spans over 8, but at least
    // 1,000); the 100 spans past that are refused, and the judgement says so over the API.
    let (server, client) = start(2_000, None).await;
    let waiting = spawn_wait(&client, tid(9));
    server.store().waiting_on(tid(9)).await;
    let root = SpanId([9, 0, 0, 0, 0, 0, 0, 1]);
    let spans: Vec<Span> = (0..1_100u16)
        .map(|idx| {
            let [high, low] = idx.to_be_bytes();
            let span =
                Span::new(tid(9), SpanId([9, high, low, 0, 0, 0, 0, 1]), "op").with_times(1_000, 2_000);
            if idx == 0 {
                span
            } else {
                span.with_parent(root)
            }
        })
        .collect();
    // The spans refused are not acknowledged as stored: the export's partial success
    // counts them and says why (OTLP/gRPC here; OTLP/HTTP shares the code).
    let mut otlp = crate::support::otlp::client(server.grpc_addr()).await;
    let mut rejected = 0;
    for chunk in spans.chunks(275) {
        let trace = model::Trace::new(tid(9), chunk.iter().cloned().map(std::sync::Arc::new).collect());
        let request = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
            resource_spans: model::otlp::encode_trace(&trace).resource_spans,
        };
        let response = otlp.export(request).await.expect("export").into_inner();
        if let Some(partial) = response.partial_success.filter(|partial| partial.rejected_spans > 0) {
            assert!(
                partial.error_message.contains("a trace over its share of the server's store"),
                "{partial:?}"
            );
            rejected += partial.rejected_spans;
        }
    }
    assert_eq!(rejected, 100);
    let outcome = tokio::time::timeout(HANG, waiting).await.expect("answered").expect("join").expect("wait");
    assert_eq!(outcome.trace.expect("trace").spans.len(), 1_000);
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(
        outcome.warnings[0].starts_with("100 spans of this trace were refused"),
        "{:?}",
        outcome.warnings
    );
}

#[tokio::test]
async fn control_api_demands_the_token() {
    let (server, client) = start(1_000, Some("t0ken")).await;
    client.export(&tree(1, 2)).await.expect("export with the token");
    assert_eq!(client.list(0).await.expect("list").len(), 1);
    let anonymous = server.client().await;
    match anonymous.stats().await {
        Err(Error::Status { status, .. }) => assert_eq!(status.code(), tonic::Code::Unauthenticated),
        other => panic!("expected unauthenticated, got {other:?}"),
    }
}

#[tokio::test]
async fn memory_bound_holds_over_otlp_with_counted_evictions() {
    let max_memory = 1024 * 1024;
    let server = server().max_memory(max_memory).start().await;
    let client = server.client().await;
    // 200 traces of 20 spans with 500 bytes of attribute each: ~2.2 MB, twice the bound,
    // and of noise, so that compacting quiet traces cannot keep it under the bound alone.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = || {
        (0..250)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                format!("{:02x}", (state >> 56) as u8)
            })
            .collect::<String>()
    };
    for trace in 1..=200u8 {
        let spans: Vec<Span> =
            tree(trace, 20).into_iter().map(|span| span.with_attribute("pad", noise().as_str())).collect();
        client.export(&spans).await.expect("export");
        let stats = client.stats().await.expect("stats");
        assert!(stats.memory_bytes <= max_memory as u64, "{} bytes over the bound", stats.memory_bytes);
    }
    let stats = client.stats().await.expect("stats");
    assert!(stats.traces_evicted >= 100, "{stats:?}");
    assert_eq!(stats.spans_received, stats.spans_held + stats.spans_evicted);
    assert_eq!(client.get(tid(200)).await.expect("get").expect("newest trace").spans.len(), 20);
    assert!(client.get(tid(1)).await.expect("get").is_none());
}

/// `GET /metrics` of a running `serve`: one sample's value (`name` with its labels as
/// written), 0 when absent.
async fn metric(http_url: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("{http_url}/metrics")).await.expect("scrape").text().await.expect("body");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}

/// Issue 22, item 4: one trace growing by many small exports took 9.5x the bound. Under
/// `--max-memory 16MiB --max-trace-share 10%` it holds at most its share; the spans past
/// it are answered as rejected (OTLP/HTTP partial success, saying why) and counted, so
/// that sent = held + refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_trace_is_held_to_its_share_and_the_rest_refused_to_the_exporter() {
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    };
    use prost::Message;
    let serve = crate::support::serve(&["--max-memory", "16MiB", "--max-trace-share", "10%"]).await;
    let http = reqwest::Client::new();
    let (mut sent, mut rejected) = (0u64, 0u64);
    for export in 0..400u32 {
        // 20 spans of ~1 KB of hex text (compressing about twofold) per export: 8 MB in all.
        let spans: Vec<std::sync::Arc<Span>> = (export * 20..(export + 1) * 20)
            .map(|idx| {
                let [a, b, c, d] = idx.to_be_bytes();
                let mut state = u64::from(idx) + 1;
                let pad: String = (0..1_000)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        char::from_digit((state >> 60) as u32, 16).unwrap_or('0')
                    })
                    .collect();
                let span = Span::new(tid(7), SpanId([7, a, b, c, d, 0, 0, 1]), "grow")
                    .with_attribute("pad", pad.as_str());
                std::sync::Arc::new(span)
            })
            .collect();
        let trace = model::Trace::new(tid(7), spans);
        let body =
            ExportTraceServiceRequest { resource_spans: model::otlp::encode_trace(&trace).resource_spans }
                .encode_to_vec();
        let response = http
            .post(format!("{}/v1/traces", serve.http_url()))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .expect("export");
        assert_eq!(response.status(), 200);
        let answer =
            ExportTraceServiceResponse::decode(response.bytes().await.expect("answer")).expect("decode");
        sent += 20;
        if let Some(partial) = answer.partial_success.filter(|partial| partial.rejected_spans > 0) {
            assert!(partial.error_message.contains("--max-trace-share"), "{partial:?}");
            rejected += partial.rejected_spans as u64;
        }
    }
    let url = serve.http_url();
    assert!(rejected > 0, "8 MB of one trace were all taken under a 1.6 MiB share");
    assert_eq!(metric(&url, "tracecheck_spans_refused_total{reason=\"trace_cap\"}").await, rejected);
    assert_eq!(metric(&url, "tracecheck_spans_received_total").await, sent);
    assert_eq!(metric(&url, "tracecheck_spans_held").await, sent - rejected, "nothing evicted or lost");
    let held = metric(&url, "tracecheck_memory_bytes").await;
    assert!(held <= 16 * 1024 * 1024 / 10 + 64 * 1024, "{held} bytes held for a trace of 1.6 MiB");
}
