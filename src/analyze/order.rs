//! Trace order for analyzer results (the AQ-15 fix): depth-first pre-order over the span
//! tree with each span's children sorted by start time, as format 5.2 orders selector
//! results. Tracetest lists analyzer results in Go map order, which is random.
//!
//! The tree: a span whose parent is not in the trace is a root. With one root, that is the
//! tree. With several, the one named `Tracetest trigger` becomes the root and the others
//! join its children (sorted with them by start time); without a trigger span the roots are
//! siblings under a virtual root, by start time. Ties in start time keep arrival order.
//! Spans caught in a parent cycle (unreachable from any root) follow at the end, in arrival
//! order, each with its own subtree, so every span is listed exactly once.

pub use crate::lang::TRIGGER_SPAN_NAME;
use crate::model::{SpanId, Trace};

/// Indices into `trace.spans`, in trace order.
pub fn trace_order(trace: &Trace) -> Vec<usize> {
    let spans = &trace.spans;
    let n_spans = spans.len();
    if n_spans == 0 {
        return Vec::new();
    }
    let mut by_id: Vec<(SpanId, usize)> =
        spans.iter().enumerate().map(|(idx, span)| (span.span_id, idx)).collect();
    by_id.sort_unstable();
    let index_of =
        |id: SpanId| by_id.binary_search_by(|(entry_id, _)| entry_id.cmp(&id)).ok().map(|at| by_id[at].1);

    // parent_slot[i]: index of the tree parent, or NO_PARENT for a root.
    const NO_PARENT: usize = usize::MAX;
    let mut parent_slot: Vec<usize> = spans
        .iter()
        .enumerate()
        .map(|(idx, span)| match span.parent_span_id.and_then(index_of) {
            Some(parent) if parent != idx => parent,
            _ => NO_PARENT,
        })
        .collect();
    let roots: Vec<usize> = (0..n_spans).filter(|&idx| parent_slot[idx] == NO_PARENT).collect();
    let mut top: Vec<usize> = Vec::new();
    if roots.len() > 1 {
        if let Some(&trigger) = roots.iter().find(|&&idx| &*spans[idx].name == TRIGGER_SPAN_NAME) {
            for &root in &roots {
                if root != trigger {
                    parent_slot[root] = trigger;
                }
            }
            top.push(trigger);
        }
    }

    // Children grouped by parent and sorted by start time in one stable sort (arrival order
    // breaks ties), then addressed through offsets: one allocation instead of one per span.
    let mut grouped: Vec<usize> = (0..n_spans).collect();
    grouped.sort_by_key(|&idx| (parent_slot[idx], spans[idx].start_time_unix_nano));
    let mut first_child = vec![0usize; n_spans + 1];
    for &idx in &grouped {
        if parent_slot[idx] != NO_PARENT {
            first_child[parent_slot[idx] + 1] += 1;
        }
    }
    for slot in 1..=n_spans {
        first_child[slot] += first_child[slot - 1];
    }
    let n_children_total = first_child[n_spans];
    let children = &grouped[..n_children_total];
    if top.is_empty() {
        // Roots sit after every child in `grouped` (NO_PARENT sorts last), by start time.
        top.extend_from_slice(&grouped[n_children_total..]);
    }

    let mut order = Vec::with_capacity(n_spans);
    let mut visited = vec![false; n_spans];
    let mut stack: Vec<usize> = Vec::new();
    let mut visit = |start: usize, order: &mut Vec<usize>, visited: &mut Vec<bool>| {
        stack.push(start);
        while let Some(idx) = stack.pop() {
            if visited[idx] {
                continue;
            }
            visited[idx] = true;
            order.push(idx);
            let own = &children[first_child[idx]..first_child[idx + 1]];
            stack.extend(own.iter().rev().filter(|&&child| !visited[child]));
        }
    };
    for &root in &top {
        visit(root, &mut order, &mut visited);
    }
    for idx in 0..n_spans {
        if !visited[idx] {
            visit(idx, &mut order, &mut visited);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Span, TraceId};

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
