//! The `ListTraces` line of a trace: what [`TraceSummary`] holds and how [`summarize`]
//! picks the trace's root.

use std::sync::Arc;

use model::{Span, TraceId};

/// One line of `ListTraces`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    pub root_name: String,
    pub service_name: String,
    pub span_count: usize,
    pub start_time_unix_nano: u64,
    pub duration_nanos: u64,
}

/// The `ListTraces` line of one trace: the root of its span tree (the trigger span, else the
/// earliest root), that root's service, and the trace's time range.
pub(crate) fn summarize(trace_id: TraceId, spans: &[Arc<Span>]) -> TraceSummary {
    let root = model::SpanTree::new(spans).root().map(|node| &spans[node.span]);
    let start = spans.iter().map(|span| span.start_time_unix_nano).min().unwrap_or(0);
    let end = spans.iter().map(|span| span.end_time_unix_nano).max().unwrap_or(0).max(start);
    let service_name = root
        .and_then(|span| span.service_name())
        .or_else(|| spans.iter().find_map(|span| span.service_name()))
        .unwrap_or("")
        .to_string();
    TraceSummary {
        trace_id,
        root_name: root.map(|span| span.name.to_string()).unwrap_or_default(),
        service_name,
        span_count: spans.len(),
        start_time_unix_nano: start,
        duration_nanos: end - start,
    }
}
