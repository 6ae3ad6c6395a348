//! The `ListTraces` line of a trace: what [`TraceSummary`] holds and how [`summarize`]
//! picks the trace's root.

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::{Span, SpanId, TraceId};

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

/// The `ListTraces` line of one trace: its root (a span without a parent, else one whose
/// parent is missing, earliest first), that root's service, and the trace's time range.
pub(crate) fn summarize(trace_id: TraceId, spans: &[Arc<Span>]) -> TraceSummary {
    let parentless = spans.iter().filter(|span| span.parent_span_id.is_none());
    let root = parentless.min_by_key(|span| span.start_time_unix_nano).or_else(|| {
        let ids: HashSet<SpanId> = spans.iter().map(|span| span.span_id).collect();
        spans
            .iter()
            .filter(|span| span.parent_span_id.is_some_and(|parent| !ids.contains(&parent)))
            .min_by_key(|span| span.start_time_unix_nano)
    });
    let root = root.or(spans.first());
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
