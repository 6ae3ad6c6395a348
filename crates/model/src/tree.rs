//! The one span tree of a trace (reference section 5.2), which the selector view, the
//! analyzer's result order, the waterfall, the store's completeness rules and its trace
//! summaries all read, so they agree on what the root is and in which order spans come.
//!
//! The rules:
//! - Spans are keyed by span ID: a repeated ID replaces the earlier span, which is dropped.
//! - A span whose parent ID is absent from the trace (or is its own ID) is a root; the
//!   absent parent IDs are the trace's dangling parents.
//! - With several roots, the first (in arrival order) named `Tracetest trigger` becomes the
//!   root and adopts the others, orphans included; without one the roots form a forest
//!   (where Tracetest would make a temporary root that the trigger span later replaces).
//! - A parent cycle, which no root reaches, is cut at its first span in arrival order; cut
//!   spans follow the other roots, in the order they were cut, so every span is listed once.
//! - Children, and roots, are sorted by start time; ties keep arrival order.
//! - The nodes are stored in depth-first pre-order, so a subtree is a contiguous range.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use super::{Span, SpanId};

/// The name of the span a run inserts for its trigger (reference section 6).
pub const TRIGGER_SPAN_NAME: &str = "Tracetest trigger";

/// One span at its place in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeNode {
    /// Index of the span in the slice the tree was built from.
    pub span: usize,
    /// Position of the tree parent in [`SpanTree::nodes`]; `None` for a root.
    pub parent: Option<usize>,
    /// Depth in the tree, 0 for a root.
    pub depth: u32,
    /// One past the last position of this node's subtree in [`SpanTree::nodes`].
    pub subtree_end: usize,
}

/// The span tree of a trace: nodes in pre-order and the dangling parent IDs.
#[derive(Clone, Debug, Default)]
pub struct SpanTree {
    nodes: Vec<TreeNode>,
    dangling_parents: Vec<SpanId>,
}

impl SpanTree {
    pub fn new(spans: &[Arc<Span>]) -> SpanTree {
        let n_spans = spans.len();
        let mut position: HashMap<SpanId, usize> = HashMap::with_capacity(n_spans);
        for (index, span) in spans.iter().enumerate() {
            position.insert(span.span_id, index);
        }
        let live: Vec<bool> =
            spans.iter().enumerate().map(|(index, span)| position[&span.span_id] == index).collect();

        let mut parent: Vec<Option<usize>> = vec![None; n_spans];
        let mut dangling_parents = Vec::new();
        let mut seen_dangling = HashSet::new();
        for index in (0..n_spans).filter(|&index| live[index]) {
            let Some(parent_id) = spans[index].parent_span_id else { continue };
            match position.get(&parent_id) {
                Some(&parent_index) if parent_index != index => parent[index] = Some(parent_index),
                Some(_) => {}
                None => {
                    if seen_dangling.insert(parent_id) {
                        dangling_parents.push(parent_id);
                    }
                }
            }
        }
        let mut roots: Vec<usize> =
            (0..n_spans).filter(|&index| live[index] && parent[index].is_none()).collect();
        let cut = cut_cycles(&live, &mut parent);

        if roots.len() > 1 {
            if let Some(&trigger) = roots.iter().find(|&&index| &*spans[index].name == TRIGGER_SPAN_NAME) {
                for &other in &roots {
                    if other != trigger {
                        parent[other] = Some(trigger);
                    }
                }
                roots = vec![trigger];
            }
        }
        let start = |index: usize| spans[index].start_time_unix_nano;
        roots.sort_by_key(|&index| start(index));
        roots.extend(cut);

        // Children grouped by parent and sorted by start time in one stable sort, addressed
        // through offsets: one allocation instead of one per span.
        const NO_PARENT: usize = usize::MAX;
        let slot = |index: usize| parent[index].unwrap_or(NO_PARENT);
        let mut grouped: Vec<usize> =
            (0..n_spans).filter(|&index| live[index] && parent[index].is_some()).collect();
        grouped.sort_by_key(|&index| (slot(index), start(index)));
        let mut first_child = vec![0usize; n_spans + 1];
        for &index in &grouped {
            first_child[slot(index) + 1] += 1;
        }
        for at in 1..=n_spans {
            first_child[at] += first_child[at - 1];
        }

        // Iterative pre-order walk: deep traces must not overflow the stack.
        let mut nodes: Vec<TreeNode> = Vec::with_capacity(n_spans);
        let mut stack: Vec<(usize, Option<usize>, u32)> = Vec::new();
        for &root in &roots {
            stack.push((root, None, 0));
            while let Some((index, parent_at, depth)) = stack.pop() {
                let at = nodes.len();
                nodes.push(TreeNode { span: index, parent: parent_at, depth, subtree_end: at + 1 });
                let children = &grouped[first_child[index]..first_child[index + 1]];
                stack.extend(children.iter().rev().map(|&child| (child, Some(at), depth + 1)));
            }
        }
        // Children follow their parent in pre-order, so walking backwards extends each
        // parent's subtree to cover its children's.
        for at in (0..nodes.len()).rev() {
            if let Some(parent_at) = nodes[at].parent {
                nodes[parent_at].subtree_end = nodes[parent_at].subtree_end.max(nodes[at].subtree_end);
            }
        }
        SpanTree { nodes, dangling_parents }
    }

    /// Every span once, in depth-first pre-order.
    pub fn nodes(&self) -> &[TreeNode] {
        &self.nodes
    }

    /// The first root (the trigger span when there is one).
    pub fn root(&self) -> Option<&TreeNode> {
        self.nodes.first()
    }

    /// The roots, in order.
    pub fn roots(&self) -> impl Iterator<Item = &TreeNode> {
        self.nodes.iter().filter(|node| node.parent.is_none())
    }

    /// Parent IDs that no span of the trace has, each once, in first-seen order.
    pub fn dangling_parents(&self) -> &[SpanId] {
        &self.dangling_parents
    }

    /// The positions of node `at` and its descendants.
    pub fn subtree(&self, at: usize) -> Range<usize> {
        self.nodes.get(at).map_or(0..0, |node| at..node.subtree_end)
    }

    /// Whether node `at` is the last child of its parent (or the last root).
    pub fn is_last_child(&self, at: usize) -> bool {
        match self.nodes[at].parent {
            Some(parent_at) => self.nodes[at].subtree_end == self.nodes[parent_at].subtree_end,
            None => self.nodes[at].subtree_end == self.nodes.len(),
        }
    }
}

/// Cuts every parent cycle (spans no root reaches) at its first span in arrival order and
/// returns the cut spans in the order they were cut.
fn cut_cycles(live: &[bool], parent: &mut [Option<usize>]) -> Vec<usize> {
    const UNKNOWN: u8 = 0;
    const ON_PATH: u8 = 1;
    const REACHED: u8 = 2;
    let mut state = vec![UNKNOWN; parent.len()];
    let mut path = Vec::new();
    let mut cut = Vec::new();
    for index in 0..parent.len() {
        if !live[index] || state[index] != UNKNOWN {
            continue;
        }
        // Climb until a root, a span known to reach one, or a span of this climb (a cycle).
        let mut at = index;
        loop {
            match state[at] {
                REACHED => break,
                ON_PATH => {
                    let cycle_start = path.iter().rposition(|&on_path| on_path == at).unwrap_or(0);
                    let first = path[cycle_start..].iter().copied().min().unwrap_or(at);
                    parent[first] = None;
                    cut.push(first);
                    break;
                }
                _ => {}
            }
            state[at] = ON_PATH;
            path.push(at);
            match parent[at] {
                Some(up) => at = up,
                None => break,
            }
        }
        for on_path in path.drain(..) {
            state[on_path] = REACHED;
        }
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TraceId;

    fn span(id: u8, parent: Option<u8>, start: u64, name: &str) -> Arc<Span> {
        let mut span = Span::new(TraceId([1; 16]), SpanId([id; 8]), name).with_times(start, start + 1);
        if let Some(parent) = parent {
            span = span.with_parent(SpanId([parent; 8]));
        }
        Arc::new(span)
    }

    /// `name@depth` in tree order.
    fn shape(spans: &[Arc<Span>]) -> Vec<String> {
        let tree = SpanTree::new(spans);
        tree.nodes().iter().map(|node| format!("{}@{}", spans[node.span].name, node.depth)).collect()
    }

    #[test]
    fn pre_order_with_children_by_start_time() {
        let spans = [
            span(4, Some(2), 30, "d"),
            span(2, Some(1), 20, "b"),
            span(3, Some(1), 10, "c"),
            span(1, None, 0, "a"),
            span(5, Some(3), 15, "e"),
        ];
        assert_eq!(shape(&spans), ["a@0", "c@1", "e@2", "b@1", "d@2"]);
        let tree = SpanTree::new(&spans);
        assert_eq!(tree.subtree(1), 1..3);
        assert_eq!(tree.subtree(0), 0..5);
        assert_eq!(tree.nodes()[2].parent, Some(1));
        assert!(!tree.is_last_child(1) && tree.is_last_child(3) && tree.is_last_child(0));
        assert!(tree.dangling_parents().is_empty());
    }

    #[test]
    fn orphans_and_other_roots_join_the_trigger_span() {
        let spans = [
            span(2, Some(9), 50, "orphan late"),
            span(3, Some(1), 20, "child"),
            span(4, Some(8), 10, "orphan early"),
            span(6, None, 5, "other root"),
            span(1, None, 30, TRIGGER_SPAN_NAME),
            span(7, Some(9), 60, "second orphan of 9"),
        ];
        let expected = [
            "Tracetest trigger@0",
            "other root@1",
            "orphan early@1",
            "child@1",
            "orphan late@1",
            "second orphan of 9@1",
        ];
        assert_eq!(shape(&spans), expected);
        let tree = SpanTree::new(&spans);
        assert_eq!(tree.roots().count(), 1);
        assert_eq!(tree.dangling_parents(), [SpanId([9; 8]), SpanId([8; 8])]);
    }

    #[test]
    fn without_trigger_the_roots_are_a_forest_by_start_time() {
        let spans =
            [span(1, None, 20, "late root"), span(2, Some(9), 10, "orphan"), span(3, Some(5), 1, "x")];
        assert_eq!(shape(&spans), ["x@0", "orphan@0", "late root@0"]);
        assert_eq!(SpanTree::new(&spans).roots().count(), 3);
    }

    #[test]
    fn cycles_are_cut_and_follow_the_roots() {
        let spans = [
            span(1, None, 20, "late root"),
            span(9, Some(3), 0, "below the cycle"),
            span(2, None, 10, "early root"),
            span(3, Some(4), 5, "cycle a"),
            span(4, Some(3), 6, "cycle b"),
            span(5, Some(5), 30, "self parent"),
            span(6, Some(7), 1, "cycle c"),
            span(7, Some(6), 2, "cycle d"),
        ];
        assert_eq!(
            shape(&spans),
            [
                "early root@0",
                "late root@0",
                "self parent@0",
                // Cut at its first span in arrival order, not at the span that found it.
                "cycle a@0",
                "below the cycle@1",
                "cycle b@1",
                "cycle c@0",
                "cycle d@1",
            ]
        );
        assert!(SpanTree::new(&spans).dangling_parents().is_empty());
    }

    #[test]
    fn a_repeated_span_id_replaces_the_earlier_span() {
        let spans = [
            span(1, None, 0, "root"),
            span(2, Some(8), 5, "first copy"),
            span(3, Some(1), 7, "child"),
            span(2, Some(1), 6, "second copy"),
        ];
        assert_eq!(shape(&spans), ["root@0", "second copy@1", "child@1"]);
        // The dropped copy's missing parent is not a dangling parent of the trace.
        assert!(SpanTree::new(&spans).dangling_parents().is_empty());
    }

    #[test]
    fn ties_keep_arrival_order_and_deep_chains_fit() {
        let spans = [span(1, None, 0, "root"), span(2, Some(1), 5, "x"), span(3, Some(1), 5, "y")];
        assert_eq!(shape(&spans), ["root@0", "x@1", "y@1"]);
        assert!(SpanTree::new(&[]).nodes().is_empty());

        let n_spans = 200_000u64;
        let deep: Vec<Arc<Span>> = (1..=n_spans)
            .map(|n| {
                let span = Span::new(TraceId([1; 16]), SpanId(n.to_be_bytes()), "deep");
                Arc::new(if n > 1 { span.with_parent(SpanId((n - 1).to_be_bytes())) } else { span })
            })
            .collect();
        let tree = SpanTree::new(&deep);
        assert_eq!(tree.subtree(0), 0..n_spans as usize);
        assert_eq!(tree.nodes().last().map(|node| node.depth), Some(n_spans as u32 - 1));
    }
}
