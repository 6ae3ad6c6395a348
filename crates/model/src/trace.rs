//! A trace: the spans that share a trace ID, as a snapshot.

use std::sync::Arc;

use super::{Span, SpanId, SpanTree, TraceId, TRIGGER_SPAN_NAME};

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

    /// Puts a run's trigger span into the trace as reference section 6 says, whatever the
    /// trigger type. When the trace's own root (without `trigger`) is already named
    /// `Tracetest trigger` (a trace started by another Tracetest-aware tool, or a server that
    /// exports its own trigger span), that span is the trigger span: it gets `trigger`'s
    /// attributes (the response) and `trigger` is left out. Otherwise `trigger` goes above
    /// the old root: every root without a parent becomes its child, so the span data, not
    /// only the tree, says so (`tracetest.span.parent_id`, the analyzer). Orphans keep their
    /// missing parent; the tree puts them under the trigger span.
    pub fn place_trigger_span(&mut self, trigger: Span) {
        self.spans.retain(|span| span.span_id != trigger.span_id);
        let tree = self.tree();
        let own_trigger =
            tree.root().map(|node| node.span).filter(|&at| &*self.spans[at].name == TRIGGER_SPAN_NAME);
        if let Some(at) = own_trigger {
            let own = Arc::make_mut(&mut self.spans[at]);
            let mut attributes: Vec<_> = own
                .attributes
                .iter()
                .filter(|kept| trigger.attributes.iter().all(|added| added.key != kept.key))
                .cloned()
                .collect();
            attributes.extend(trigger.attributes.iter().cloned());
            own.attributes = attributes.into_boxed_slice();
            return;
        }
        let old_roots: Vec<usize> = tree
            .roots()
            .map(|node| node.span)
            .filter(|&at| self.spans[at].parent_span_id.is_none())
            .collect();
        for at in old_roots {
            Arc::make_mut(&mut self.spans[at]).parent_span_id = Some(trigger.span_id);
        }
        self.spans.push(Arc::new(trigger));
    }

    /// Earliest start and latest end over all spans, in Unix nanoseconds.
    pub fn time_range(&self) -> Option<(u64, u64)> {
        let start = self.spans.iter().map(|span| span.start_time_unix_nano).min()?;
        let end = self.spans.iter().map(|span| span.end_time_unix_nano).max()?;
        Some((start, end.max(start)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: u8, parent: Option<u8>, name: &str) -> Arc<Span> {
        let span = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
        Arc::new(match parent {
            Some(parent) => span.with_parent(SpanId([parent; 8])),
            None => span,
        })
    }

    fn trigger() -> Span {
        Span::new(TraceId([1; 16]), SpanId([1; 8]), TRIGGER_SPAN_NAME)
            .with_attribute("tracetest.response.status", 201i64)
    }

    /// (name, parent) in tree order.
    fn shape(trace: &Trace) -> Vec<(String, Option<SpanId>)> {
        let tree = trace.tree();
        tree.nodes()
            .iter()
            .map(|node| (trace.spans[node.span].name.to_string(), trace.spans[node.span].parent_span_id))
            .collect()
    }

    #[test]
    fn the_trigger_span_goes_above_the_old_root() {
        // A traceid trigger's trace: the root has no parent; the orphan keeps its own.
        let mut trace = Trace::new(
            TraceId([1; 16]),
            vec![span(2, None, "root"), span(3, Some(2), "child"), span(4, Some(9), "orphan")],
        );
        trace.place_trigger_span(trigger());
        assert_eq!(
            shape(&trace),
            [
                (TRIGGER_SPAN_NAME.to_string(), None),
                ("root".to_string(), Some(SpanId([1; 8]))),
                ("child".to_string(), Some(SpanId([2; 8]))),
                ("orphan".to_string(), Some(SpanId([9; 8]))),
            ]
        );
        assert_eq!(trace.tree().roots().count(), 1);
        // Placing it again (the store kept ours) changes nothing.
        let before = shape(&trace);
        trace.place_trigger_span(trigger());
        assert_eq!(shape(&trace), before);
    }

    #[test]
    fn a_root_named_tracetest_trigger_is_the_trigger_span() {
        let own = Span::new(TraceId([1; 16]), SpanId([5; 8]), TRIGGER_SPAN_NAME)
            .with_attribute("tracetest.response.status", 500i64)
            .with_attribute("kept", "yes");
        let mut trace =
            Trace::new(TraceId([1; 16]), vec![Arc::new(own), span(6, Some(5), "work"), Arc::new(trigger())]);
        trace.place_trigger_span(trigger());
        assert_eq!(trace.spans.len(), 2);
        let own = trace.span(SpanId([5; 8])).expect("the trace's own trigger span");
        assert_eq!(
            own.attributes.iter().map(|kv| (kv.key.to_string(), kv.value.clone())).collect::<Vec<_>>(),
            [("kept".to_string(), "yes".into()), ("tracetest.response.status".to_string(), 201i64.into()),]
        );
        assert!(trace.span(SpanId([1; 8])).is_none());
    }
}
