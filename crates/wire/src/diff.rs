//! Two traces as one merged tree ([`TraceDiff`]): which spans trace B added, which of trace
//! A's it lacks, and which got slower, failed or were fixed; `GET /api/v1/diff?a=A&b=B` and
//! `traces diff A B` (`-o json`) both write it, the UI and `report::diff` draw it.
//!
//! Spans are matched by service, name and path from the root: the roots of both traces are
//! paired first, then, under each matched pair, children of the same service and name are
//! paired in start order (the first `SELECT` under A's `GET /users` with the first under
//! B's). A span left over is `missing` (only in A) or `added` (only in B), and so is its
//! whole subtree. Rows come in the merged tree's depth-first order, children by their start
//! offset from their parent's start, so row `i`'s subtree is `rows[i..subtree_end]`, as in
//! a trace.

use serde::{Deserialize, Serialize};

use model::{SpanId, SpanTree, StatusCode, Trace, TraceId};

/// B's span counts as slower than A's when it takes this much longer...
pub const SLOWER_FACTOR: f64 = 1.2;
/// ... and at least this many nanoseconds more (1 ms: below it is a scheduler's noise).
pub const SLOWER_MIN_NANOS: u64 = 1_000_000;

/// Two traces compared span by span.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceDiff {
    pub a: DiffTrace,
    pub b: DiffTrace,
    pub counts: DiffCounts,
    pub rows: Vec<DiffRow>,
}

/// One side of the comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffTrace {
    pub trace_id: TraceId,
    /// The name of the root of its span tree; empty without spans.
    pub root_name: String,
    pub span_count: usize,
    pub duration_nanos: u64,
}

/// How many rows are of each kind (a row can be both `slower` and `failed`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffCounts {
    pub matched: usize,
    pub added: usize,
    pub missing: usize,
    pub slower: usize,
    pub failed: usize,
    pub fixed: usize,
}

/// One span of the merged tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    pub depth: u32,
    /// One past the last row of this row's subtree.
    pub subtree_end: usize,
    pub name: String,
    pub service: String,
    /// `matched` (in both), `added` (only in B) or `missing` (only in A).
    pub change: Change,
    /// A matched span B took longer over ([`SLOWER_FACTOR`], [`SLOWER_MIN_NANOS`]).
    pub slower: bool,
    /// A span whose status is `error` in B and was not in A (an added span in error too).
    pub failed: bool,
    /// A matched span whose status was `error` in A and is not in B.
    pub fixed: bool,
    /// The span in A; null when added.
    pub a: Option<DiffSpan>,
    /// The span in B; null when missing.
    pub b: Option<DiffSpan>,
}

/// Whether a row's span is in both traces or one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Matched,
    Added,
    Missing,
}

/// A row's span in one trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSpan {
    pub span_id: SpanId,
    pub duration_nanos: u64,
    pub error: bool,
}

/// One trace's tree, with each node's children as positions.
struct Side<'t> {
    trace: &'t Trace,
    tree: SpanTree,
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
}

impl<'t> Side<'t> {
    fn new(trace: &'t Trace) -> Self {
        let tree = trace.tree();
        let mut children = vec![Vec::new(); tree.nodes().len()];
        let mut roots = Vec::new();
        for (at, node) in tree.nodes().iter().enumerate() {
            match node.parent {
                Some(parent) => children[parent].push(at),
                None => roots.push(at),
            }
        }
        Side { trace, tree, children, roots }
    }

    fn span(&self, at: usize) -> &model::Span {
        &self.trace.spans[self.tree.nodes()[at].span]
    }

    fn key(&self, at: usize) -> (&str, &str) {
        let span = self.span(at);
        (span.service_name().unwrap_or(""), &*span.name)
    }

    fn header(&self) -> DiffTrace {
        let (start, end) = self.trace.time_range().unwrap_or((0, 0));
        DiffTrace {
            trace_id: self.trace.trace_id,
            root_name: self
                .tree
                .root()
                .map(|node| self.trace.spans[node.span].name.to_string())
                .unwrap_or_default(),
            span_count: self.tree.nodes().len(),
            duration_nanos: end.saturating_sub(start),
        }
    }

    fn diff_span(&self, at: usize) -> DiffSpan {
        let span = self.span(at);
        DiffSpan {
            span_id: span.span_id,
            duration_nanos: span.duration_nanos(),
            error: span.status.code == StatusCode::Error,
        }
    }
}

/// A pair to place: A's node, B's node (at least one), the depth and the parent's row.
type Pair = (Option<usize>, Option<usize>, u32, Option<usize>);

/// `a` and `b` compared span by span (see the module's documentation).
pub fn diff(a: &Trace, b: &Trace) -> TraceDiff {
    let (a, b) = (Side::new(a), Side::new(b));
    let mut rows: Vec<DiffRow> = Vec::with_capacity(a.tree.nodes().len().max(b.tree.nodes().len()));
    let mut parents: Vec<Option<usize>> = Vec::with_capacity(rows.capacity());
    let mut counts = DiffCounts::default();
    // Depth first without recursion: a deep trace must not overflow the stack.
    let mut stack: Vec<Pair> = Vec::new();
    push_children(&mut stack, &a, &b, &a.roots, &b.roots, (None, None), 0, None);
    while let Some((at_a, at_b, depth, parent_row)) = stack.pop() {
        let row = rows.len();
        let (span_a, span_b) = (at_a.map(|at| a.diff_span(at)), at_b.map(|at| b.diff_span(at)));
        let (service, name) = match (at_a, at_b) {
            (Some(at), _) => a.key(at),
            (None, Some(at)) => b.key(at),
            (None, None) => unreachable!("a pair has a span on one side at least"),
        };
        let change = match (&span_a, &span_b) {
            (Some(_), Some(_)) => Change::Matched,
            (None, _) => Change::Added,
            (_, None) => Change::Missing,
        };
        let slower = match (&span_a, &span_b) {
            (Some(x), Some(y)) => {
                y.duration_nanos >= x.duration_nanos.saturating_add(SLOWER_MIN_NANOS)
                    && y.duration_nanos as f64 > x.duration_nanos as f64 * SLOWER_FACTOR
            }
            _ => false,
        };
        let failed = span_b.as_ref().is_some_and(|y| y.error) && !span_a.as_ref().is_some_and(|x| x.error);
        let fixed = change == Change::Matched
            && span_a.as_ref().is_some_and(|x| x.error)
            && !span_b.as_ref().is_some_and(|y| y.error);
        match change {
            Change::Matched => counts.matched += 1,
            Change::Added => counts.added += 1,
            Change::Missing => counts.missing += 1,
        }
        counts.slower += usize::from(slower);
        counts.failed += usize::from(failed);
        counts.fixed += usize::from(fixed);
        rows.push(DiffRow {
            depth,
            subtree_end: row + 1,
            name: name.to_string(),
            service: service.to_string(),
            change,
            slower,
            failed,
            fixed,
            a: span_a,
            b: span_b,
        });
        parents.push(parent_row);
        let none = Vec::new();
        let children_a = at_a.map_or(&none, |at| &a.children[at]);
        let children_b = at_b.map_or(&none, |at| &b.children[at]);
        push_children(&mut stack, &a, &b, children_a, children_b, (at_a, at_b), depth + 1, Some(row));
    }
    // Children follow their parent, so walking backwards extends each parent's subtree.
    for row in (0..rows.len()).rev() {
        if let Some(parent) = parents[row] {
            rows[parent].subtree_end = rows[parent].subtree_end.max(rows[row].subtree_end);
        }
    }
    TraceDiff { a: a.header(), b: b.header(), counts, rows }
}

/// Pairs `children_a` with `children_b` by service and name in start order and pushes the
/// pairs (and the ones left over alone) on `stack` so that they pop in start order, taken
/// as the offset from their own parent's start.
#[allow(clippy::too_many_arguments)]
fn push_children(
    stack: &mut Vec<Pair>,
    a: &Side<'_>,
    b: &Side<'_>,
    children_a: &[usize],
    children_b: &[usize],
    parents: (Option<usize>, Option<usize>),
    depth: u32,
    parent_row: Option<usize>,
) {
    let offset = |side: &Side<'_>, parent: Option<usize>, at: usize| -> u64 {
        let start = side.span(at).start_time_unix_nano;
        let base = match parent {
            Some(parent) => side.span(parent).start_time_unix_nano,
            None => side.roots.first().map_or(start, |&root| side.span(root).start_time_unix_nano),
        };
        start.saturating_sub(base)
    };
    // B's children by key, each list in start order (the tree's order), taken from the front.
    let mut waiting: std::collections::HashMap<(&str, &str), std::collections::VecDeque<usize>> =
        std::collections::HashMap::new();
    for &at in children_b {
        waiting.entry(b.key(at)).or_default().push_back(at);
    }
    let mut placed: Vec<(u64, Pair)> = Vec::with_capacity(children_a.len().max(children_b.len()));
    let mut paired_b = std::collections::HashSet::new();
    for &at in children_a {
        let partner = waiting.get_mut(&a.key(at)).and_then(std::collections::VecDeque::pop_front);
        if let Some(partner) = partner {
            paired_b.insert(partner);
        }
        placed.push((offset(a, parents.0, at), (Some(at), partner, depth, parent_row)));
    }
    for &at in children_b.iter().filter(|at| !paired_b.contains(*at)) {
        placed.push((offset(b, parents.1, at), (None, Some(at), depth, parent_row)));
    }
    // Stable: ties keep A's order, then B's.
    placed.sort_by_key(|(offset, _)| *offset);
    stack.extend(placed.into_iter().rev().map(|(_, pair)| pair));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use model::{Span, SpanId, StatusCode, Trace, TraceId};

    use super::*;

    const MS: u64 = 1_000_000;

    /// A trace of `(id, parent, service, name, start ms, duration ms, error)`.
    fn trace(id: u8, spans: &[(u8, u8, &str, &str, u64, u64, bool)]) -> Trace {
        let trace_id = TraceId([id; 16]);
        let spans = spans
            .iter()
            .map(|&(span, parent, service, name, start, duration, error)| {
                let mut built = Span::new(trace_id, SpanId([span; 8]), name)
                    .with_times(start * MS, (start + duration) * MS)
                    .with_resource_attribute("service.name", service);
                if parent != 0 {
                    built = built.with_parent(SpanId([parent; 8]));
                }
                if error {
                    built = built.with_status(StatusCode::Error, "boom");
                }
                Arc::new(built)
            })
            .collect();
        Trace::new(trace_id, spans)
    }

    fn lines(diff: &TraceDiff) -> Vec<String> {
        diff.rows
            .iter()
            .map(|row| {
                let mut flags = String::new();
                for (on, flag) in [(row.slower, " slower"), (row.failed, " failed"), (row.fixed, " fixed")] {
                    if on {
                        flags.push_str(flag);
                    }
                }
                format!(
                    "{}{} {}/{} {:?}{flags} ..{}",
                    "  ".repeat(row.depth as usize),
                    row.depth,
                    row.service,
                    row.name,
                    row.change,
                    row.subtree_end
                )
            })
            .collect()
    }

    #[test]
    fn spans_match_by_service_name_and_path_and_the_rest_is_added_or_missing() {
        let a = trace(
            1,
            &[
                (1, 0, "web", "GET /cart", 0, 100, false),
                (2, 1, "api", "SELECT", 10, 10, false),
                (3, 1, "api", "SELECT", 30, 10, false),
                (4, 1, "api", "cache", 50, 5, true),
                (5, 4, "api", "redis GET", 51, 2, false),
            ],
        );
        let b = trace(
            2,
            &[
                (1, 0, "web", "GET /cart", 0, 200, false),
                (2, 1, "api", "SELECT", 10, 60, true),
                (3, 1, "api", "SELECT", 80, 10, false),
                (6, 1, "api", "SELECT", 95, 1, false),
                // Same name, other service: not the same span.
                (7, 1, "db", "cache", 100, 1, false),
            ],
        );
        let diff = diff(&a, &b);
        assert_eq!(
            lines(&diff),
            [
                "0 web/GET /cart Matched slower ..7",
                "  1 api/SELECT Matched slower failed ..2",
                "  1 api/SELECT Matched ..3",
                "  1 api/cache Missing ..5",
                "    2 api/redis GET Missing ..5",
                "  1 api/SELECT Added ..6",
                "  1 db/cache Added ..7",
            ]
        );
        assert_eq!(
            diff.counts,
            DiffCounts { matched: 3, added: 2, missing: 2, slower: 2, failed: 1, fixed: 0 }
        );
        assert_eq!(diff.a.span_count, 5);
        assert_eq!(diff.b.duration_nanos, 200 * MS);
        assert_eq!(diff.rows[1].a.as_ref().unwrap().span_id, SpanId([2; 8]));
        assert!(diff.rows[1].b.as_ref().unwrap().error);
        // The other way round: added and missing swap, the error is fixed.
        let back = super::diff(&b, &a);
        assert_eq!(
            (back.counts.added, back.counts.missing, back.counts.fixed, back.counts.slower),
            (2, 2, 1, 0)
        );
    }

    #[test]
    fn a_path_differing_above_a_span_does_not_match_it() {
        // `query` under `GET /a` in A, under `GET /b` in B: one missing, one added.
        let a = trace(
            1,
            &[
                (1, 0, "web", "root", 0, 10, false),
                (2, 1, "web", "GET /a", 1, 5, false),
                (3, 2, "db", "query", 2, 1, false),
            ],
        );
        let b = trace(
            2,
            &[
                (1, 0, "web", "root", 0, 10, false),
                (2, 1, "web", "GET /b", 1, 5, false),
                (3, 2, "db", "query", 2, 1, false),
            ],
        );
        assert_eq!(
            lines(&diff(&a, &b)),
            [
                "0 web/root Matched ..5",
                "  1 web/GET /a Missing ..3",
                "    2 db/query Missing ..3",
                "  1 web/GET /b Added ..5",
                "    2 db/query Added ..5",
            ]
        );
    }

    #[test]
    fn small_or_slight_slowdowns_are_not_slower_and_empty_traces_compare() {
        // 20 % longer but under 1 ms more; 1 ms more but under 20 % longer.
        let a = trace(1, &[(1, 0, "s", "r", 0, 100, false), (2, 1, "s", "x", 0, 1, false)]);
        let b = trace(2, &[(1, 0, "s", "r", 0, 101, false), (2, 1, "s", "x", 0, 1, false)]);
        assert_eq!(diff(&a, &b).counts.slower, 0);
        let empty = Trace::new(TraceId([9; 16]), Vec::new());
        let all_missing = diff(&a, &empty);
        assert_eq!(
            (all_missing.counts.missing, all_missing.rows.len(), all_missing.b.root_name.as_str()),
            (2, 2, "")
        );
        assert!(diff(&empty, &empty).rows.is_empty());
    }

    #[test]
    fn a_deep_trace_does_not_overflow_the_stack() {
        let trace_id = TraceId([1; 16]);
        let chain: Vec<Arc<Span>> = (0..20_000u64)
            .map(|i| {
                let id = SpanId((i + 1).to_be_bytes());
                let span = Span::new(trace_id, id, "step").with_times(i, i + 1);
                Arc::new(if i == 0 { span } else { span.with_parent(SpanId(i.to_be_bytes())) })
            })
            .collect();
        let deep = Trace::new(trace_id, chain);
        let diff = diff(&deep, &deep);
        assert_eq!(
            (diff.counts.matched, diff.rows[0].subtree_end, diff.rows[19_999].depth),
            (20_000, 20_000, 19_999)
        );
    }
}
