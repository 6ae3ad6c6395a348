//! Trace order for analyzer results (the AQ-15 fix): depth-first pre-order over the span
//! tree ([`model::SpanTree`]), as format 5.2 orders selector results. Tracetest lists
//! analyzer results in Go map order, which is random.

use model::Trace;

/// Indices into `trace.spans`, in trace order (a repeated span ID once, as its later copy).
pub fn trace_order(trace: &Trace) -> Vec<usize> {
    trace.tree().nodes().iter().map(|node| node.span).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use model::{Span, SpanId, TraceId, TRIGGER_SPAN_NAME};

    fn span(id: u8, parent: Option<u8>, start: u64, name: &str) -> Arc<Span> {
        let mut span = Span::new(TraceId([1; 16]), SpanId([id; 8]), name).with_times(start, start + 1);
        if let Some(parent) = parent {
            span = span.with_parent(SpanId([parent; 8]));
        }
        Arc::new(span)
    }

    fn names(spans: Vec<Arc<Span>>) -> Vec<String> {
        let trace = Trace::new(TraceId([1; 16]), spans);
        trace_order(&trace).into_iter().map(|idx| trace.spans[idx].name.to_string()).collect()
    }

    #[test]
    fn depth_first_children_by_start_time() {
        let spans = vec![
            span(4, Some(2), 30, "d"),
            span(2, Some(1), 20, "b"),
            span(3, Some(1), 10, "c"),
            span(1, None, 0, "a"),
            span(5, Some(3), 15, "e"),
        ];
        assert_eq!(names(spans), ["a", "c", "e", "b", "d"]);
    }

    #[test]
    fn orphans_join_the_trigger_span() {
        let spans = vec![
            span(2, Some(9), 50, "orphan late"),
            span(3, Some(1), 20, "child"),
            span(4, Some(8), 10, "orphan early"),
            span(1, None, 0, TRIGGER_SPAN_NAME),
        ];
        assert_eq!(names(spans), [TRIGGER_SPAN_NAME, "orphan early", "child", "orphan late"]);
    }

    #[test]
    fn several_roots_without_trigger_by_start_time_and_cycles_last() {
        let spans = vec![
            span(1, None, 20, "late root"),
            span(2, None, 10, "early root"),
            span(3, Some(4), 5, "cycle a"),
            span(4, Some(3), 6, "cycle b"),
            span(5, Some(5), 30, "self parent"),
        ];
        assert_eq!(names(spans), ["early root", "late root", "self parent", "cycle a", "cycle b"]);
    }

    #[test]
    fn ties_keep_arrival_order() {
        let spans = vec![span(1, None, 0, "root"), span(2, Some(1), 5, "x"), span(3, Some(1), 5, "y")];
        assert_eq!(names(spans), ["root", "x", "y"]);
    }
}
