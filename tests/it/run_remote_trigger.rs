//! The runner's trigger span sent to a running `tracecheck serve` (`run --server`): a
//! response body above the server's 16 MiB message limit used to fail the run with "cannot
//! store the trigger span" (issue 13), although the embedded ingestor copes. The copy sent is
//! now truncated; the run judges its own full copy.

use std::time::SystemTime;

use model::{AttributeValue, SpanId, TraceId};
use tracecheck::run::{trigger_span, RemoteSource, TraceSource, REMOTE_TRIGGER_ATTRIBUTE_LIMIT};
use trigger::TriggerResponse;

use crate::support::{server, ServerExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_span_above_the_message_limit_is_truncated_for_the_server() {
    let server = server().start().await;
    let source = RemoteSource { client: server.client().await };

    // A 17 MiB body, with a two-byte character straddling the cut.
    let mut body = "é".repeat(17 * 1024 * 1024 / 2);
    body.insert(0, 'x');
    let (trace_id, span_id) = (TraceId([3; 16]), SpanId([4; 8]));
    let response = TriggerResponse {
        trace_id,
        status: 200,
        status_text: "200 OK".into(),
        headers: Vec::new(),
        body: body.clone(),
        attributes: Vec::new(),
        body_truncated_at: None,
        started: SystemTime::now(),
        finished: SystemTime::now(),
    };
    let span = trigger_span(trace_id, span_id, &response, true);
    source.insert_trigger_span(span).await.expect("the trigger span is stored");

    let stored = server.store().get(trace_id).expect("trace stored");
    let Some(AttributeValue::String(kept)) = stored.spans[0].attribute("tracetest.response.body") else {
        panic!("no body attribute: {:?}", stored.spans[0]);
    };
    assert!(kept.len() <= REMOTE_TRIGGER_ATTRIBUTE_LIMIT, "kept {} bytes", kept.len());
    assert!(kept.len() > REMOTE_TRIGGER_ATTRIBUTE_LIMIT - 4, "kept {} bytes", kept.len());
    assert!(body.starts_with(&**kept), "the kept text is the body's start");
    server.shutdown().await.expect("clean shutdown");
}
