//! Paging and change notification for live views (the web UI's traces list and event
//! stream): which traces were updated, newest first, without decoding any of them.
//!
//! Positions are the least-recently-updated queue's `seq` numbers: a trace's `seq` grows
//! whenever it gains spans, so "updated after seq N" and "older than seq N" are stable
//! cursors however many traces arrive in between.

use std::time::Instant;

use tokio::sync::watch;

use super::TraceStore;
use model::TraceId;

/// A stored trace's place in update order, read without decoding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceRef {
    pub trace_id: TraceId,
    /// Grows with every update of the trace; newer updates have larger numbers.
    pub seq: u64,
    pub span_count: usize,
    pub last_update: Instant,
}

impl TraceStore {
    /// Up to `limit` traces, most recently updated first, starting below `before_seq`
    /// (exclusive; `None` = from the newest).
    pub fn newest(&self, before_seq: Option<u64>, limit: usize) -> Vec<TraceRef> {
        self.shared.payoff.read(crate::now());
        let before = before_seq.unwrap_or(u64::MAX);
        let shared = &*self.shared;
        let queue = shared.lock_queue();
        queue
            .iter()
            .rev()
            .filter(|item| item.seq < before)
            .filter_map(|item| live_ref(self, item.trace_id, item.seq))
            .take(limit)
            .collect()
    }

    /// Up to `limit` traces updated after `after_seq`, oldest update first.
    pub fn updated_since(&self, after_seq: u64, limit: usize) -> Vec<TraceRef> {
        self.shared.payoff.read(crate::now());
        let queue = self.shared.lock_queue();
        // Items are appended in (nearly) increasing seq order: walk back to the first newer one.
        let mut found: Vec<TraceRef> = queue
            .iter()
            .rev()
            .take_while(|item| item.seq > after_seq)
            .filter_map(|item| live_ref(self, item.trace_id, item.seq))
            .collect();
        drop(queue);
        found.reverse();
        found.truncate(limit);
        found
    }

    /// The largest `seq` handed out so far (0 before the first insert).
    pub fn last_seq(&self) -> u64 {
        self.shared.next_seq.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(1)
    }

    /// Changes whenever an insert stored a span (no value: read [`TraceStore::updated_since`]).
    pub fn subscribe(&self) -> watch::Receiver<()> {
        self.shared.changes.subscribe()
    }
}

fn live_ref(store: &TraceStore, trace_id: TraceId, seq: u64) -> Option<TraceRef> {
    let entry = store.shared.traces.get(&trace_id)?;
    (entry.seq == seq && !entry.is_empty()).then(|| TraceRef {
        trace_id,
        seq,
        span_count: entry.len(),
        last_update: store.shared.instant(entry.last_update),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreConfig;
    use model::{Span, SpanId};

    #[tokio::test]
    async fn pages_newest_first_and_reports_updates() {
        let (store, _guard) = TraceStore::new(StoreConfig::default());
        let ids: Vec<TraceId> = (0..5).map(|_| TraceId::random()).collect();
        let changes = store.subscribe();
        for id in &ids {
            store.insert(vec![Span::new(*id, SpanId::random(), "op")]);
        }
        assert!(changes.has_changed().unwrap());
        let first = store.newest(None, 2);
        assert_eq!(first.iter().map(|r| r.trace_id).collect::<Vec<_>>(), vec![ids[4], ids[3]]);
        let next = store.newest(Some(first[1].seq), 10);
        assert_eq!(next.iter().map(|r| r.trace_id).collect::<Vec<_>>(), vec![ids[2], ids[1], ids[0]]);

        // Growing the oldest trace moves it to the front; the old position is gone.
        let mark = store.last_seq();
        store.insert(vec![Span::new(ids[0], SpanId::random(), "more")]);
        let updated = store.updated_since(mark, 10);
        assert_eq!(updated.len(), 1);
        assert_eq!((updated[0].trace_id, updated[0].span_count), (ids[0], 2));
        assert_eq!(store.newest(None, 1)[0].trace_id, ids[0]);
        assert_eq!(store.newest(None, 100).len(), 5);
    }
}
