//! A trace: the spans that share a trace ID, as a snapshot.

use std::sync::Arc;

use super::{Span, SpanId, SpanTree, TraceId};

/// A snapshot of one trace's spans, in arrival order, each span ID once. Spans are `Arc`ed so
/// that taking a snapshot from the store copies pointers, not spans.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub trace_id: TraceId,
    pub spans: Vec<Arc<Span>>,
}

impl Trace {
    pub fn new(trace_id: TraceId, spans: Vec<Arc<Span>>) -> Self {
        Trace { trace_id, spans }
    }

    pub fn span(&self, span_id: SpanId) -> Option<&Span> {
        self.spans.iter().map(|span| &**span).find(|span| span.span_id == span_id)
    }

    /// The span tree (reference 5.2).
    pub fn tree(&self) -> SpanTree {
        SpanTree::new(&self.spans)
    }

    /// Earliest start and latest end over all spans, in Unix nanoseconds.
    pub fn time_range(&self) -> Option<(u64, u64)> {
        let start = self.spans.iter().map(|span| span.start_time_unix_nano).min()?;
        let end = self.spans.iter().map(|span| span.end_time_unix_nano).max()?;
        Some((start, end.max(start)))
    }
}
