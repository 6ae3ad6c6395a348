//! A trace's line in every list: the web API's traces list, `traces list`, and the control
//! API's `ListTraces` (which carries these fields in protobuf). [`summarize`] is the one
//! place that decides a trace's root, services and error count.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use lang::TraceView;
use model::{SpanId, StatusCode, Trace, TraceId};

/// One trace in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    /// The name of the root of the span tree (the trigger span, else the earliest root);
    /// empty for a trace without spans.
    pub root_name: String,
    /// The root's service, else the first service a span names; empty when none does.
    pub service_name: String,
    /// Every service a span names, sorted, each once.
    pub services: Vec<String>,
    pub span_count: usize,
    /// Spans whose status is `error`.
    pub error_count: usize,
    pub start_time_unix_nano: u64,
    pub duration_nanos: u64,
    /// With a selector: the spans it selects, in the languages' order. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_span_ids: Option<Vec<SpanId>>,
}

/// The list line of `trace`.
pub fn summarize(trace: &Trace) -> TraceSummary {
    summarize_view(trace, &TraceView::new(trace))
}

/// [`summarize`] for a caller that has the trace's view already (a selector filter).
pub fn summarize_view(trace: &Trace, view: &TraceView<'_>) -> TraceSummary {
    let root = view.root().map(|root| root.span());
    let service_name = root
        .and_then(|span| span.service_name())
        .or_else(|| trace.spans.iter().find_map(|span| span.service_name()))
        .unwrap_or("");
    let services: BTreeSet<&str> =
        trace.spans.iter().filter_map(|span| span.service_name()).filter(|name| !name.is_empty()).collect();
    let (start, end) = trace.time_range().unwrap_or((0, 0));
    TraceSummary {
        trace_id: trace.trace_id,
        root_name: root.map(|span| span.name.to_string()).unwrap_or_default(),
        service_name: service_name.to_string(),
        services: services.into_iter().map(str::to_string).collect(),
        span_count: trace.spans.len(),
        error_count: trace.spans.iter().filter(|span| span.status.code == StatusCode::Error).count(),
        start_time_unix_nano: start,
        duration_nanos: end - start,
        matched_span_ids: None,
    }
}

/// `GET /api/v1/traces`: one page of the list, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracePage {
    pub traces: Vec<TraceSummary>,
    /// Where the next page starts (`?cursor=`); null when the list is exhausted.
    pub next_cursor: Option<u64>,
    /// Traces read for this page (a filtered page stops at a scan budget).
    pub scanned: usize,
}

/// `traces list --output json`: the merged list of every server asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceList {
    pub traces: Vec<TraceSummary>,
}
