//! Whole-trace reads within the read budget (issue 22, defect 1): every trace-by-ID read
//! takes a share of a quarter of `--max-memory`, estimated from the trace's span count
//! before it decodes anything, and holds it until its answer is written. Over real
//! sockets against the real server: a read that does not fit beside one in flight is
//! refused as retryable (503, `Retry-After`) and counted, one that could never fit says so
//! (507), and the share comes back once the first answer is written.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::Value;

use crate::support::{otlp, server};

const MIB: usize = 1024 * 1024;

/// Sends a trace of `n_spans` spans (a root and its children, each with a 1 KB attribute,
/// so that its JSON is far more than the socket buffers between server and client hold)
/// in requests of 2,000 spans; its trace ID as hex.
async fn send_trace(grpc: std::net::SocketAddr, seed: u8, n_spans: u32) -> String {
    let trace_id = [seed; 16].to_vec();
    let span_id = |index: u32| [&[seed, 0xee][..], &(index + 1).to_be_bytes(), &[0, 1]].concat();
    let padding = "x".repeat(1000);
    let mut client = otlp::client(grpc).await;
    for first in (0..n_spans).step_by(2000) {
        let spans = (first..(first + 2000).min(n_spans))
            .map(|index| Span {
                trace_id: trace_id.clone(),
                span_id: span_id(index),
                parent_span_id: if index == 0 { vec![] } else { span_id(0) },
                name: format!("span {index}"),
                start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(index),
                end_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(index) + 1_000,
                attributes: vec![KeyValue {
                    key: "padding".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::StringValue(padding.clone())) }),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource::default()),
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                schema_url: String::new(),
            }],
        };
        let answer = client.export(request).await.expect("export").into_inner();
        assert!(answer.partial_success.is_none_or(|partial| partial.rejected_spans == 0));
    }
    hex::encode(&trace_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_trace_reads_share_the_read_budget() {
    // A read budget of 64 MiB at 4 KiB a span: 15,000 spans take 58.6 MiB (one at a time),
    // 17,000 take 66.4 MiB (never).
    let server = server().max_memory(256 * MIB).start().await;
    let big = send_trace(server.grpc_addr(), 1, 15_000).await;
    let huge = send_trace(server.grpc_addr(), 2, 17_000).await;
    let base = format!("http://{}", server.http_addr());
    let client = reqwest::Client::new();

    // The first read's head has arrived; its body is not read, so the server is still
    // writing it and holds its share.
    let first = client.get(format!("{base}/api/v1/traces/{big}")).send().await.unwrap();
    assert_eq!(first.status(), 200);

    let busy = client.get(format!("{base}/jaeger/api/traces/{big}")).send().await.unwrap();
    assert_eq!(busy.status(), 503);
    assert!(busy.headers().contains_key("retry-after"));
    let text = busy.text().await.unwrap();
    assert!(text.contains("15000 spans") && text.contains("retry later"), "{text}");

    let never = client.get(format!("{base}/api/v1/traces/{huge}")).send().await.unwrap();
    assert_eq!(never.status(), 507);
    let text = never.text().await.unwrap();
    assert!(text.contains("17000 spans") && text.contains("raise --max-memory"), "{text}");

    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tracecheck_reads_refused_total 2"), "{metrics}");

    // The whole answer, streamed: every span.
    let trace: Value = serde_json::from_slice(&first.bytes().await.unwrap()).unwrap();
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(15_000));

    // Its share was given back before its last bytes were sent.
    let again = client.get(format!("{base}/jaeger/api/traces/{big}")).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let trace: Value = serde_json::from_slice(&again.bytes().await.unwrap()).unwrap();
    assert_eq!(trace["data"][0]["spans"].as_array().map(Vec::len), Some(15_000));
}

/// Issue 22, defect 1's last part: a trace too large to read whole is read in parts
/// (`?offset=&limit=`), each charged to the read budget for its own spans alone, the limit
/// lowered to what the budget can hold; a part that does not fit beside the reads in flight
/// is refused as retryable like any read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_too_large_to_read_whole_is_read_in_parts_each_charged_alone() {
    // A read budget of 64 MiB at 4 KiB a span: 16,384 spans a read; 17,000 never whole. A
    // part holds 10,000 spans at most (39 MiB), so two do not fit at once.
    let server = server().max_memory(256 * MIB).start().await;
    let huge = send_trace(server.grpc_addr(), 3, 17_000).await;
    let base = format!("http://{}/api/v1/traces/{huge}", server.http_addr());
    let client = reqwest::Client::new();
    assert_eq!(client.get(&base).send().await.unwrap().status(), 507);

    // The first part holds its share while its answer is unread...
    let first = client.get(format!("{base}?offset=0&limit=20000")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    // ... so the second does not fit beside it (retry later), and fits once it is read.
    let busy = client.get(format!("{base}?offset=10000")).send().await.unwrap();
    assert_eq!(busy.status(), 503);
    assert!(busy.headers().contains_key("retry-after"));
    let first: Value = serde_json::from_slice(&first.bytes().await.unwrap()).unwrap();
    assert_eq!(first["part"], serde_json::json!({"offset": 0, "limit": 10000, "total_span_count": 17000}));
    assert_eq!(first["spans"].as_array().map(Vec::len), Some(10_000));
    let second = client.get(format!("{base}?offset=10000")).send().await.unwrap();
    assert_eq!(second.status(), 200);
    let second: Value = serde_json::from_slice(&second.bytes().await.unwrap()).unwrap();
    assert_eq!(second["span_count"], 7000);
    // Together the parts are the trace: every span once, in the order they arrived.
    let names: Vec<&str> = [&first, &second]
        .iter()
        .flat_map(|part| part["spans"].as_array().unwrap())
        .map(|span| span["name"].as_str().unwrap())
        .collect();
    let mut sorted: Vec<u32> = names.iter().map(|name| name["span ".len()..].parse().unwrap()).collect();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..17_000).collect::<Vec<u32>>());
    // A part past the end holds nothing; a part of no spans, or with a wait, is refused.
    let past: Value = serde_json::from_slice(
        &client.get(format!("{base}?offset=17000")).send().await.unwrap().bytes().await.unwrap(),
    )
    .unwrap();
    assert_eq!(past["span_count"], 0);
    for query in ["offset=0&limit=0", "offset=0&wait=1s"] {
        assert_eq!(client.get(format!("{base}?{query}")).send().await.unwrap().status(), 400, "{query}");
    }

    // The list never decodes it whole: its line comes from the store's digest (the span
    // that started first standing in for the root), and a selector, which would need its
    // spans, passes it over.
    let list = format!("http://{}/api/v1/traces", server.http_addr());
    let lines: Value =
        serde_json::from_slice(&client.get(&list).send().await.unwrap().bytes().await.unwrap()).unwrap();
    let line = &lines["traces"][0];
    assert_eq!(line["trace_id"], huge.as_str());
    assert_eq!(
        (&line["span_count"], &line["root_name"], &line["error_count"]),
        (&17_000.into(), &"span 0".into(), &0.into())
    );
    assert_eq!(line["duration_nanos"], 16_999 + 1_000);
    let selected =
        client.get(format!("{list}?selector=span%5Bname%3D%22span%200%22%5D")).send().await.unwrap();
    let selected: Value = serde_json::from_slice(&selected.bytes().await.unwrap()).unwrap();
    assert_eq!(selected["traces"], serde_json::json!([]), "{selected}");
}
