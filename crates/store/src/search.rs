//! The query APIs' reads that decode nothing: the operations catalogue, and which traces may
//! match a search or fall in a time window, from each trace's digest ([`crate::digest`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use model::TraceId;

use super::digest::{Operation, SpanQuery};
use super::{TraceRef, TraceStore};

impl TraceStore {
    /// Every operation (service, span name, kind) of the held traces, sorted.
    pub fn operations(&self) -> Vec<Operation> {
        self.shared.catalogue.operations()
    }

    /// Up to `limit` traces, most recently updated first, that may hold a span meeting every
    /// condition of `query`: exact for service, operation and kind, by each operation's
    /// ranges for times, durations and status, so the caller checks the spans of each trace it
    /// decodes (and asks for more when some turn out not to match). Decodes nothing.
    pub fn find_traces(&self, query: &SpanQuery<'_>, limit: usize) -> Vec<TraceRef> {
        self.shared.payoff.read(crate::now());
        // The newest `limit` kept in a heap as the map is walked: a search matching most of
        // a large store must not collect every match first.
        let mut newest: BinaryHeap<Reverse<BySeq>> =
            BinaryHeap::with_capacity(limit.saturating_add(1).min(4096));
        for entry in self.shared.traces.iter() {
            if limit == 0 || entry.is_empty() || !entry.digest.may_match(query) {
                continue;
            }
            if newest.len() == limit && newest.peek().is_some_and(|oldest| oldest.0 .0.seq > entry.seq) {
                continue;
            }
            newest.push(Reverse(BySeq(TraceRef {
                trace_id: *entry.key(),
                seq: entry.seq,
                span_count: entry.len(),
                last_update: self.shared.instant(entry.last_update),
            })));
            if newest.len() > limit {
                newest.pop();
            }
        }
        let mut found: Vec<TraceRef> = newest.into_iter().map(|Reverse(BySeq(found))| found).collect();
        found.sort_unstable_by_key(|found| Reverse(found.seq));
        found
    }

    /// The traces whose spans all started after `start_after` and, with `end_before`,
    /// ended before it (Unix nanoseconds): the window `/api/dependencies` reads.
    pub fn traces_between(&self, start_after: u64, end_before: Option<u64>) -> Vec<TraceId> {
        self.shared.payoff.read(crate::now());
        self.shared
            .traces
            .iter()
            .filter(|entry| {
                !entry.is_empty()
                    && entry.digest.start > start_after
                    && end_before.is_none_or(|end| entry.digest.end < end)
            })
            .map(|entry| *entry.key())
            .collect()
    }
}

/// A found trace ordered by its place in update order alone.
struct BySeq(TraceRef);

impl PartialEq for BySeq {
    fn eq(&self, other: &Self) -> bool {
        self.0.seq == other.0.seq
    }
}

impl Eq for BySeq {}

impl PartialOrd for BySeq {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BySeq {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.seq.cmp(&other.0.seq)
    }
}

#[cfg(test)]
mod tests {
    use model::{Span, SpanId, SpanKind, StatusCode, Str};

    use super::*;
    use crate::StoreConfig;

    fn span(trace_id: TraceId, service: &str, name: &str, kind: SpanKind, start: u64, end: u64) -> Span {
        Span::new(trace_id, SpanId::random(), name)
            .with_kind(kind)
            .with_times(start, end)
            .with_resource_attribute("service.name", service)
    }

    #[tokio::test]
    async fn finds_traces_by_their_digest_and_forgets_evicted_operations() {
        let (store, _guard) = TraceStore::new(StoreConfig { max_spans: 3, ..StoreConfig::default() });
        let (a, b) = (TraceId([1; 16]), TraceId([2; 16]));
        store.insert(vec![
            span(a, "shop", "GET /cart", SpanKind::Server, 1_000, 11_000),
            span(a, "shop", "SELECT", SpanKind::Client, 2_000, 3_000).with_status(StatusCode::Error, "x"),
        ]);
        store.insert(vec![span(b, "db", "query", SpanKind::Server, 5_000, 105_000)]);
        let ops = store.operations();
        let names: Vec<(Option<&str>, &str, SpanKind)> =
            ops.iter().map(|op| (op.service.as_deref(), &*op.name, op.kind)).collect();
        assert_eq!(
            names,
            vec![
                (Some("db"), "query", SpanKind::Server),
                (Some("shop"), "GET /cart", SpanKind::Server),
                (Some("shop"), "SELECT", SpanKind::Client)
            ]
        );
        let ids = |query: SpanQuery<'_>| -> Vec<TraceId> {
            store.find_traces(&query, 10).iter().map(|found| found.trace_id).collect()
        };
        assert_eq!(ids(SpanQuery::default()), vec![b, a]);
        assert_eq!(ids(SpanQuery { service: Some(Some("shop")), ..SpanQuery::default() }), vec![a]);
        assert_eq!(ids(SpanQuery { service: Some(None), ..SpanQuery::default() }), vec![]);
        assert_eq!(ids(SpanQuery { operation: Some("query"), ..SpanQuery::default() }), vec![b]);
        assert_eq!(ids(SpanQuery { duration_min: Some(50_000), ..SpanQuery::default() }), vec![b]);
        assert_eq!(ids(SpanQuery { duration_max: Some(1_000), ..SpanQuery::default() }), vec![a]);
        assert_eq!(ids(SpanQuery { start_min: Some(20_000), ..SpanQuery::default() }), vec![b]);
        // By the trace's range: `a` ends after 4,000 (its spans are the caller's to check).
        assert_eq!(ids(SpanQuery { start_min: Some(4_000), ..SpanQuery::default() }), vec![b, a]);
        assert_eq!(ids(SpanQuery { error: Some(true), ..SpanQuery::default() }), vec![a]);
        // One span must meet every condition: shop's long span is not an error.
        let long_error = SpanQuery { error: Some(true), duration_min: Some(5_000), ..SpanQuery::default() };
        assert_eq!(ids(long_error), vec![]);
        assert_eq!(store.find_traces(&SpanQuery::default(), 1).len(), 1);
        assert_eq!(store.traces_between(500, Some(20_000)), vec![a]);

        // Over max_spans: the oldest trace goes, and its operations with it.
        store.insert(vec![span(TraceId([3; 16]), "db", "query", SpanKind::Server, 1, 2)]);
        let services: Vec<Option<Str>> = store.operations().into_iter().map(|op| op.service).collect();
        assert_eq!(services, vec![Some(Str::new("db"))]);
        assert_eq!(ids(SpanQuery { service: Some(Some("shop")), ..SpanQuery::default() }), vec![]);
    }

    /// Issue 23: evictions drop their traces' operations without the catalogue's lock; the
    /// operations no trace holds are pruned as the table grows, so a stream of traces with
    /// names never seen again (an ID in a span name) does not grow it past its live ones.
    #[tokio::test]
    async fn operations_of_evicted_traces_are_pruned_as_the_catalogue_grows() {
        let (store, _guard) = TraceStore::new(StoreConfig { max_spans: 10, ..StoreConfig::default() });
        for n in 0..5_000u32 {
            let mut trace_id = [0u8; 16];
            trace_id[..4].copy_from_slice(&n.to_le_bytes());
            let name = format!("GET /orders/{n}");
            store.insert(vec![span(TraceId(trace_id), "shop", &name, SpanKind::Server, 1_000, 2_000)]);
        }
        let held = store.operations();
        assert_eq!(held.len(), 10, "{held:?}");
        assert_eq!(&*held[0].name, "GET /orders/4990");
        let table_len = store.shared.catalogue.table_len();
        assert!(table_len <= 2 * 10 + 1024 + 1, "the catalogue kept {table_len} operations for 10 held");
        // A prune leaves just the held ones.
        store.shared.catalogue.shrink();
        assert!(store.shared.catalogue.table_len() <= 10);
    }

    #[tokio::test]
    async fn statuses_past_the_32nd_operation_of_a_trace_still_match() {
        let (store, _guard) = TraceStore::new(StoreConfig::default());
        let (many, few) = (TraceId([1; 16]), TraceId([2; 16]));
        // 40 operations, the 40th failed and the 39th ok; the rest unset.
        store.insert(
            (0..40)
                .map(|n| {
                    let status = match n {
                        39 => StatusCode::Error,
                        38 => StatusCode::Ok,
                        _ => StatusCode::Unset,
                    };
                    span(many, "shop", &format!("op-{n}"), SpanKind::Internal, 1_000, 2_000)
                        .with_status(status, "")
                })
                .collect(),
        );
        store.insert(vec![
            span(few, "shop", "a", SpanKind::Internal, 1_000, 2_000),
            span(few, "shop", "b", SpanKind::Internal, 1_000, 2_000).with_status(StatusCode::Ok, ""),
        ]);
        let ids = |query: SpanQuery<'_>| -> Vec<TraceId> {
            store.find_traces(&query, 10).iter().map(|found| found.trace_id).collect()
        };
        assert_eq!(ids(SpanQuery { error: Some(true), ..SpanQuery::default() }), vec![many]);
        assert_eq!(ids(SpanQuery { error: Some(false), ..SpanQuery::default() }), vec![few, many]);
        // The digest holds exact bits for the first 32 operations: "a" is neither.
        let a_ok = SpanQuery { operation: Some("a"), error: Some(false), ..SpanQuery::default() };
        assert_eq!(ids(a_ok), vec![]);
        assert_eq!(store.outline(many).map(|outline| outline.error_count), Some(1));
    }
}
