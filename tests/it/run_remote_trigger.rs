//! A run recorded on a running `tracecheck serve` (`run --server`) with the traces it judged.
//! Issue 13: a trigger's response body above the server's 16 MiB OTLP limit failed the run
//! when the trigger span was exported to the server; the span is now never stored, and the
//! run keeps it whole. Issue 21: a run whose report or traces passed 4 MiB was silently not
//! recorded (tonic's default limit for `RecordRun`).

use std::sync::Arc;
use std::time::SystemTime;

use model::{Span, SpanId, Trace, TraceId};
use serde_json::Value;
use tracecheck::run::{trigger_span, RemoteSource, TraceSource};
use trigger::TriggerResponse;
use wire::{RunKind, RunReport, RunState, StepReport, StepState};

use crate::support::{server, ServerExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_run_is_recorded_whole_with_its_traces() {
    let server = server().start().await;
    let source = RemoteSource { client: server.client().await };

    // A 17 MiB response body, in the run's trigger span.
    let body = format!("x{}", "é".repeat(17 * 1024 * 1024 / 2));
    let (trace_id, span_id) = (TraceId([3; 16]), SpanId([4; 8]));
    let response = TriggerResponse {
        trace_id,
        status: 200,
        status_text: "200 OK".into(),
        headers: Vec::new(),
        body: body.clone(),
        attributes: Vec::new(),
        body_truncated_at: None,
        notes: Vec::new(),
        started: SystemTime::now(),
        finished: SystemTime::now(),
    };
    let trigger = trigger_span(trace_id, span_id, &response, true);
    let app = Span::new(trace_id, SpanId([5; 8]), "POST /users").with_parent(span_id);
    let trace = Trace::new(trace_id, vec![Arc::new(trigger), Arc::new(app)]);
    // And a 7 MB report (the size seen in issue 21): long warnings.
    let mut step = StepReport::not_executed("big");
    step.state = StepState::Passed;
    step.trace_id = Some(trace_id);
    step.span_count = 2;
    step.warnings = (0..7_000).map(|n| format!("{n:04} {}", "w".repeat(1_000))).collect();
    let report = RunReport {
        name: "large".into(),
        kind: RunKind::Test,
        state: RunState::Finished,
        steps: vec![step],
        variables: Default::default(),
        file: None,
        duration_ms: None,
    };
    assert!(serde_json::to_vec(&report).unwrap().len() > 7_000_000);
    source.record_run(&report, &[trace]).await.expect("the run is recorded");

    // Served whole: the report, and the run's trace with the full body.
    let http = server.http_url();
    let run = get_json(&format!("{http}/api/v1/runs/1")).await;
    assert_eq!(run["report"]["steps"][0]["warnings"].as_array().map(Vec::len), Some(7_000));
    let url = format!("{http}/api/v1/traces/{trace_id}?run=1");
    let judged = get_json(&url).await;
    let spans = judged["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 2, "{}", judged["span_count"]);
    let kept = spans.iter().find_map(|span| span["attributes"]["tracetest.response.body"].as_str());
    assert_eq!(kept.map(str::len), Some(body.len()), "the body is kept whole");
    // Not in the store: the trigger span is the run's.
    assert!(server.store().get(trace_id).is_none());
    // The trace is the run's: another run, or none, does not have it.
    let response = reqwest::get(format!("{http}/api/v1/traces/{trace_id}?run=2")).await.unwrap();
    assert_eq!(response.status(), 404);
    server.shutdown().await.expect("clean shutdown");
}

async fn get_json(url: &str) -> Value {
    let response = reqwest::get(url).await.expect("GET");
    assert_eq!(response.status(), 200, "{url}");
    serde_json::from_str(&response.text().await.expect("body")).expect("JSON")
}
