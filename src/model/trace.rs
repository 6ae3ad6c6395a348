//! A trace: the spans that share a trace ID, as a snapshot.

use std::sync::Arc;

use super::{Span, SpanId, TraceId};

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

    /// Spans without a parent, or whose parent is not in the trace.
    pub fn roots(&self) -> impl Iterator<Item = &Span> {
        self.spans.iter().map(|span| &**span).filter(|span| match span.parent_span_id {
            None => true,
            Some(parent) => self.span(parent).is_none(),
        })
    }

    /// Parent IDs that no span of the trace has (each once, in first-seen order).
    pub fn dangling_parents(&self) -> Vec<SpanId> {
        let ids: std::collections::HashSet<SpanId> = self.spans.iter().map(|span| span.span_id).collect();
        let mut dangling = Vec::new();
        for span in &self.spans {
            if let Some(parent) = span.parent_span_id {
                if !ids.contains(&parent) && !dangling.contains(&parent) {
                    dangling.push(parent);
                }
            }
        }
        dangling
    }

    /// Earliest start and latest end over all spans, in Unix nanoseconds.
    pub fn time_range(&self) -> Option<(u64, u64)> {
        let start = self.spans.iter().map(|span| span.start_time_unix_nano).min()?;
        let end = self.spans.iter().map(|span| span.end_time_unix_nano).max()?;
        Some((start, end.max(start)))
    }
}
