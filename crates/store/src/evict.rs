//! Bounds: least-recently-updated eviction above `max_memory` or `max_spans`, TTL
//! eviction, and the background task that runs the TTL sweep and compaction and logs the
//! counters.
//!
//! Lock order is always queue, then compaction queue, then one map shard; nothing takes an
//! earlier one while holding a later one, so they cannot deadlock.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::{now, QueueItem, Shared, TraceEntry};

/// What happened to one queue item offered for eviction.
enum Eviction {
    /// The trace was removed; it held this many spans.
    Evicted(u64),
    /// The item is out of date (the trace was updated or removed since).
    Stale,
    /// The trace is being waited on.
    Pinned,
}

/// Why traces are being evicted, for the log line.
#[derive(Clone, Copy, Debug)]
enum Reason {
    Bound,
    Ttl,
}

impl Shared {
    /// Removes the trace of a live, unpinned queue item and counts it.
    fn try_evict(&self, item: QueueItem) -> Eviction {
        let mut outcome = Eviction::Stale;
        let removed = self.traces.remove_if(&item.trace_id, |_, entry: &TraceEntry| {
            if entry.seq != item.seq {
                return false;
            }
            if entry.pins() > 0 {
                outcome = Eviction::Pinned;
                return false;
            }
            true
        });
        let Some((_, entry)) = removed else { return outcome };
        let n_spans = entry.len() as u64;
        let counters = &self.counters;
        counters.spans_held.fetch_sub(n_spans as i64, Ordering::Relaxed);
        counters.traces_held.fetch_sub(1, Ordering::Relaxed);
        counters.memory_bytes.fetch_sub(entry.bytes as i64, Ordering::Relaxed);
        counters.open_bytes.fetch_sub(entry.open_bytes() as i64, Ordering::Relaxed);
        counters.spans_evicted.fetch_add(n_spans, Ordering::Relaxed);
        counters.traces_evicted.fetch_add(1, Ordering::Relaxed);
        Eviction::Evicted(n_spans)
    }

    /// A pinned trace keeps its place at the back of the queue with a fresh item, so that
    /// it is looked at again only after everything else.
    fn requeue_pinned(&self, item: QueueItem, now: Instant) -> Option<QueueItem> {
        let mut entry = self.traces.get_mut(&item.trace_id)?;
        if entry.seq != item.seq {
            return None;
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        entry.seq = seq;
        Some(QueueItem { seq, at: self.stamp(now), trace_id: item.trace_id })
    }

    /// Evicts least recently updated traces until the store holds at most `max_spans` and
    /// its memory limit (`max_memory` less what `serve` leaves for the rest of the process),
    /// `index_bytes` for the map and queues included (eviction does not shrink them),
    /// skipping pinned ones. Each item is looked at once at most, so a store full
    /// of pinned traces stays above its bound rather than spinning.
    pub(super) fn evict_over_limit(&self, queue: &mut VecDeque<QueueItem>, now: Instant, index_bytes: u64) {
        let max_spans = self.config.max_spans as u64;
        let memory_limit = self.memory_limit();
        let mut budget = queue.len();
        let mut requeue = Vec::new();
        let (mut n_traces, mut n_spans) = (0u64, 0u64);
        while budget > 0 && (self.spans_held() > max_spans || self.held_bytes() + index_bytes > memory_limit)
        {
            budget -= 1;
            let Some(item) = queue.pop_front() else { break };
            match self.try_evict(item) {
                Eviction::Evicted(spans) => {
                    n_traces += 1;
                    n_spans += spans;
                }
                Eviction::Stale => {}
                Eviction::Pinned => requeue.extend(self.requeue_pinned(item, now)),
            }
        }
        queue.extend(requeue);
        if n_traces > 0 {
            self.payoff.evicted(now);
        }
        if n_traces > 0 && !self.full_reported.swap(true, Ordering::Relaxed) {
            tracing::info!(
                memory_limit,
                max_spans,
                "store reached its bound: evicting least recently updated traces (counted in spans_evicted)"
            );
        }
        log_evictions(Reason::Bound, n_traces, n_spans);
    }

    /// Evicts every unpinned trace not updated for `trace_ttl`; returns when the next one
    /// falls due.
    pub(super) fn sweep_expired(&self, now: Instant) -> Option<Instant> {
        let ttl = self.config.trace_ttl;
        let mut queue = self.lock_queue();
        let mut requeue = Vec::new();
        let (mut n_traces, mut n_spans) = (0u64, 0u64);
        while let Some(&item) = queue.front() {
            match self.instant(item.at).checked_add(ttl) {
                Some(due) if due <= now => {}
                _ => break,
            }
            queue.pop_front();
            match self.try_evict(item) {
                Eviction::Evicted(spans) => {
                    n_traces += 1;
                    n_spans += spans;
                }
                Eviction::Stale => {}
                Eviction::Pinned => requeue.extend(self.requeue_pinned(item, now)),
            }
        }
        queue.extend(requeue);
        self.compact_if_needed(&mut queue);
        if n_traces > 0 && queue.is_empty() && self.traces.is_empty() {
            // Everything expired: give the table and the queue back, so an idle store
            // holds (and reports) nothing.
            queue.shrink_to_fit();
            self.traces.shrink_to_fit();
            self.catalogue.shrink();
            self.dicts.reset();
        } else {
            self.shrink_if_sparse(&mut queue);
        }
        let next = queue.front().and_then(|item| self.instant(item.at).checked_add(ttl));
        drop(queue);
        log_evictions(Reason::Ttl, n_traces, n_spans);
        next
    }

    /// Gives back most of the map's table and the queue's buffer once they use a quarter of
    /// their room. A store that held many small traces and now holds fewer, larger ones would
    /// otherwise charge its bound for the table it once needed, for good (issue 23: after a
    /// fill of compacted traces, the steady state of large open ones held a fifth fewer spans).
    /// Rare: a shrink leaves room for at least as many again, so it takes that many
    /// removals to come back here.
    fn shrink_if_sparse(&self, queue: &mut VecDeque<QueueItem>) {
        const MIN_ROOM: usize = 4096;
        let held = self.counters.traces_held.load(Ordering::Relaxed).max(0) as usize;
        let room = self.traces.capacity();
        if room > MIN_ROOM && held < room / 4 {
            self.traces.shrink_to_fit();
        }
        if queue.capacity() > MIN_ROOM && queue.len() < queue.capacity() / 4 {
            queue.shrink_to(queue.len() * 2);
        }
    }

    /// Drops out-of-date items once they outnumber the live ones, so that a few traces
    /// updated very often cannot grow the queue without bound. Amortised O(1) per update.
    pub(super) fn compact_if_needed(&self, queue: &mut VecDeque<QueueItem>) {
        let live = self.counters.traces_held.load(Ordering::Relaxed).max(0) as usize;
        if queue.len() <= 2 * live + 1024 {
            return;
        }
        queue.retain(|item| self.traces.get(&item.trace_id).is_some_and(|entry| entry.seq == item.seq));
    }
}

fn log_evictions(reason: Reason, n_traces: u64, n_spans: u64) {
    if n_traces == 0 {
        return;
    }
    match reason {
        Reason::Bound => {
            tracing::debug!(
                traces = n_traces,
                spans = n_spans,
                "evicted least recently updated traces above the store's bound"
            )
        }
        Reason::Ttl => tracing::info!(traces = n_traces, spans = n_spans, "evicted traces past their ttl"),
    }
}

/// Sleeps until the next TTL deadline (or a wake from `insert` when the queue was empty),
/// sweeps, and logs the counters every `STATS_LOG_INTERVAL` when they changed. Ends when
/// the `StoreGuard` is dropped.
pub(super) async fn background_task(shared: Arc<Shared>, mut shutdown: oneshot::Receiver<()>) {
    let interval = model::defaults::STATS_LOG_INTERVAL;
    let mut stats_tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    stats_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_logged = shared.stats();
    loop {
        let next_ttl = shared.sweep_expired(now());
        let next_compaction = match shared.compact_due(now()) {
            super::compact::Next::Now => {
                // More is due: let the receivers run between batches, then go on (unless
                // the guard was dropped meanwhile).
                tokio::task::yield_now().await;
                if !matches!(shutdown.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
                    break;
                }
                continue;
            }
            super::compact::Next::At(at) => Some(at),
            super::compact::Next::Idle => None,
        };
        let next_due = match (next_ttl, next_compaction) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep = async {
            match next_due {
                Some(due) => tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut shutdown => break,
            _ = sleep => {}
            _ = shared.background.notified() => {}
            _ = stats_tick.tick() => {
                let stats = shared.stats();
                if stats != last_logged {
                    tracing::info!(
                        spans_received = stats.spans_received,
                        spans_rejected = stats.spans_rejected,
                        requests_refused = stats.requests_refused,
                        duplicate_spans = stats.duplicate_spans,
                        spans_over_trace_cap = stats.spans_over_trace_cap,
                        traces_compacted = stats.traces_compacted,
                        spans_evicted = stats.spans_evicted,
                        traces_evicted = stats.traces_evicted,
                        traces_held = stats.traces_held,
                        spans_held = stats.spans_held,
                        memory_bytes = stats.memory_bytes,
                        "store counters"
                    );
                    last_logged = stats;
                }
            }
        }
    }
}
