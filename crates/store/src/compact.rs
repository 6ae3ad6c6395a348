//! Compaction of traces at rest (issue 12, item 2): once a trace has had no new span for
//! `compact_after` (about the settle window, so that a waited-on trace is judged from its
//! open bytes first), its wire bytes are compressed into one block
//! ([`super::entry::Packed`]). Reads decode it transparently; a span arriving afterwards is
//! stored in an open segment beside the block, and the trace is compacted again once quiet:
//! only its open segments, into a block linked to the earlier ones (merged with the newest
//! of them while that is small).
//!
//! Driven by deadlines: every insert that stores spans queues an item, and the background
//! task sleeps until the oldest falls due. Under memory pressure (above three quarters of
//! `max_memory`, or open spans above their share of it) it compacts the least recently
//! updated traces without waiting, so that the bound is kept by compacting where it can be
//! rather than by evicting. While the open spans are over their share, an insert also pays
//! for compacting as many bytes as it added ([`Shared::compact_for_insert`]): one
//! background task cannot keep up with receivers on every core, and the open bytes would
//! grow with the ingest rate (BENCHMARKS.md, Store: memory bound). No map guard is
//! held while compressing: the spans are copied out, compressed, and swapped in only if the
//! trace did not change meanwhile (its `seq`).
//!
//! Compaction is skipped while it cannot pay off (issue 23, [`Payoff`]): when the store is
//! evicting for its bound and nothing has read it for a while, every trace is evicted unread
//! and compressing it first only costs CPU.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{QueueItem, Shared};

/// A store that has evicted for its bound this recently is turning over.
const TURNING_OVER: Duration = Duration::from_secs(5);

/// A read this recent (a trace fetched, a search or list, a wait) says that someone looks at
/// what the store holds, and that holding more of it is worth compressing.
const READ_RECENTLY: Duration = Duration::from_secs(10 * 60);

/// What decides whether compaction pays off: compressing a trace lets the store hold about
/// three times as many spans, which matters only if someone reads them. While the store
/// evicts for its bound under sustained ingest and nobody has read it (fetched or searched
/// traces, listed them, waited on one) for [`READ_RECENTLY`], traces are evicted unread, so
/// they are left uncompressed: compression was the largest part of the store's CPU at that
/// steady state (BENCHMARKS.md, Store: steady state). The first read turns it back on;
/// a store below its bound always compacts.
pub(super) struct Payoff {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last read (`u64::MAX`: none yet).
    last_read: AtomicU64,
    /// Milliseconds since `epoch` of the last eviction for the bound (`u64::MAX`: none yet).
    last_eviction: AtomicU64,
}

impl Payoff {
    pub(super) fn new(now: Instant) -> Payoff {
        Payoff { epoch: now, last_read: AtomicU64::new(u64::MAX), last_eviction: AtomicU64::new(u64::MAX) }
    }

    fn millis(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis().try_into().unwrap_or(u64::MAX - 1)
    }

    /// Someone read the store.
    pub(super) fn read(&self, now: Instant) {
        self.last_read.store(self.millis(now), Ordering::Relaxed);
    }

    /// Traces were evicted for the bound.
    pub(super) fn evicted(&self, now: Instant) {
        self.last_eviction.store(self.millis(now), Ordering::Relaxed);
    }

    /// Whether compacting now may pay off.
    pub(super) fn pays(&self, now: Instant) -> bool {
        let now = self.millis(now);
        let within = |at: &AtomicU64, window: Duration| {
            let at = at.load(Ordering::Relaxed);
            at != u64::MAX && now.saturating_sub(at) < window.as_millis() as u64
        };
        !within(&self.last_eviction, TURNING_OVER) || within(&self.last_read, READ_RECENTLY)
    }
}

/// Traces compacted per turn of the background task before it yields to the receivers.
const BATCH: usize = 256;

/// When the background task should compact again.
pub(super) enum Next {
    /// More items are due now.
    Now,
    /// The oldest item falls due then.
    At(Instant),
    /// Nothing is queued.
    Idle,
}

/// What happened to one item.
enum Compaction {
    /// Compacted; this many open bytes were freed.
    Done(usize),
    /// Out of date, or nothing new to compact.
    Stale,
    /// Being waited on: judged first, compacted later.
    Pinned,
}

impl Shared {
    /// Compacts up to [`BATCH`] due traces (any, oldest first, under memory pressure).
    pub(super) fn compact_due(&self, now: Instant) -> Next {
        let wait = self.config.compact_after;
        let pays = self.payoff.pays(now);
        let pressure = {
            let queue = self.lock_queue();
            self.under_pressure(self.index_bytes(&queue))
        };
        let items: Vec<QueueItem> = {
            let mut compact_queue = self.lock_compact_queue();
            let mut items = Vec::new();
            while items.len() < BATCH {
                let Some(&item) = compact_queue.front() else { break };
                let due = self.instant(item.at).checked_add(wait).is_some_and(|due| due <= now);
                if !due && !pressure {
                    break;
                }
                compact_queue.pop_front();
                items.push(item);
            }
            items
        };
        let mut requeue = Vec::new();
        let mut progressed = false;
        for &item in &items {
            if !pays {
                // Left open: the trace will most likely be evicted unread. Should reads
                // resume while it is held, it stays open until it is evicted or grows.
                progressed = true;
                continue;
            }
            match self.compact_one(item) {
                Compaction::Done(_) | Compaction::Stale => progressed = true,
                // Looked at again a window later, after the judgement it waits for.
                Compaction::Pinned => requeue.push(QueueItem { at: self.stamp(now), ..item }),
            }
        }
        let mut compact_queue = self.lock_compact_queue();
        compact_queue.extend(requeue);
        // A burst leaves a large buffer behind; give most of it back once drained.
        if compact_queue.is_empty() {
            compact_queue.shrink_to_fit();
        } else if compact_queue.capacity() > 4096 && compact_queue.len() < compact_queue.capacity() / 4 {
            let len = compact_queue.len();
            compact_queue.shrink_to(len * 2);
        }
        if items.len() == BATCH && progressed {
            return Next::Now;
        }
        match compact_queue.front() {
            Some(item) => self.instant(item.at).checked_add(wait).map_or(Next::Idle, Next::At),
            None => Next::Idle,
        }
    }

    fn compact_one(&self, item: QueueItem) -> Compaction {
        let stored = {
            let Some(mut entry) = self.traces.get_mut(&item.trace_id) else { return Compaction::Stale };
            if entry.seq != item.seq || !entry.has_open_spans() {
                return Compaction::Stale;
            }
            if entry.pins() > 0 {
                return Compaction::Pinned;
            }
            if entry.compacts_in_place() {
                let (delta, open, compressed) = entry.compact_in_place(&self.dicts);
                drop(entry);
                self.counters.bytes_compacted.fetch_add(compressed as u64, Ordering::Relaxed);
                self.compacted(delta, open);
                return Compaction::Done(open);
            }
            entry.stored()
        };
        let (packed, compressed) = stored.compact(&self.dicts);
        self.counters.bytes_compacted.fetch_add(compressed as u64, Ordering::Relaxed);
        let (delta, open) = {
            let Some(mut entry) = self.traces.get_mut(&item.trace_id) else { return Compaction::Stale };
            if entry.seq != item.seq {
                // Spans arrived meanwhile; their insert queued a newer item.
                return Compaction::Stale;
            }
            let (delta, open) = entry.swap_in(packed);
            if entry.pins() > 0 {
                // A wait pinned it since the copy.
                self.counters.pinned_bytes.fetch_add(delta as i64, Ordering::Relaxed);
            }
            (delta, open)
        };
        self.compacted(delta, open);
        Compaction::Done(open)
    }

    /// Counts one compaction that changed the heap by `delta` and freed `open` open bytes.
    pub(super) fn compacted(&self, delta: isize, open: usize) {
        self.counters.memory_bytes.fetch_add(delta as i64, Ordering::Relaxed);
        self.counters.open_bytes.fetch_sub(open as i64, Ordering::Relaxed);
        self.counters.traces_compacted.fetch_add(1, Ordering::Relaxed);
    }

    /// Called by an insert that stored `added_open` bytes of open spans across `touched`
    /// traces: while the open spans are over their share of the bound, compacts the least
    /// recently updated traces until as many bytes were freed, looking at a bounded number
    /// of items so that one insert's latency stays bounded too.
    pub(super) fn compact_for_insert(&self, added_open: usize, touched: usize, now: Instant) {
        if !self.open_over_share() || !self.payoff.pays(now) {
            return;
        }
        let mut freed = 0;
        let mut looks = 4 * touched + 16;
        let mut requeue = Vec::new();
        while freed < added_open && looks > 0 {
            looks -= 1;
            let Some(item) = self.lock_compact_queue().pop_front() else { break };
            match self.compact_one(item) {
                Compaction::Done(bytes) => freed += bytes,
                Compaction::Stale => {}
                Compaction::Pinned => requeue.push(QueueItem { at: self.stamp(now), ..item }),
            }
        }
        if !requeue.is_empty() {
            self.lock_compact_queue().extend(requeue);
        }
    }

    /// Queues a trace whose last wait just ended, since compaction passed it over while it
    /// was pinned (or eviction's requeue made its item out of date).
    pub(super) fn queue_compaction(&self, item: QueueItem) {
        self.lock_compact_queue().push_back(item);
        self.background.notify_one();
    }
}
