//! The in-memory trace store: a sharded map from trace ID to that trace's spans, with
//! waiters woken on every insert, completeness checks, bounds and eviction, and counters.
//!
//! The store knows spans and trace IDs only: it does not know OTLP (the receivers convert
//! before inserting), selectors (rule 3 of the completeness rules arrives as the
//! [`CompletenessCheck`] hook) or the network. Modelled on mini-redis's `Db`: [`TraceStore`]
//! is a cheap `Clone` handle around shared state and [`StoreGuard`] owns the background task
//! (TTL eviction and periodic counter logs) and stops it when dropped.
//!
//! Architecture invariants kept here: no dashmap guard is held across an `.await` or while
//! another entry is taken; waiters are woken after the guard is dropped; a trace being
//! waited on is pinned and never evicted; every eviction is counted and logged.

mod evict;
mod wait;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::{oneshot, watch, Notify};

use crate::model::{AttributeValue, Event, KeyValue, Link, Span, SpanId, Trace, TraceId};

/// Bounds of the store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Evict least-recently-updated traces above this many spans.
    pub max_spans: usize,
    /// Evict traces not updated for this long.
    pub trace_ttl: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_spans: crate::defaults::DEFAULT_MAX_SPANS,
            trace_ttl: crate::defaults::DEFAULT_TRACE_TTL,
        }
    }
}

/// What one insert did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    /// Spans newly stored.
    pub stored: usize,
    /// Spans already present (same trace ID and span ID), not stored again.
    pub duplicates: usize,
}

/// One line of `ListTraces`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    pub root_name: String,
    pub service_name: String,
    pub span_count: usize,
    pub start_time_unix_nano: u64,
    pub duration_nanos: u64,
}

/// Counters, exposed by `Stats` and logged periodically.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub spans_received: u64,
    pub spans_rejected: u64,
    pub spans_evicted: u64,
    pub traces_evicted: u64,
    pub duplicate_spans: u64,
    pub traces_held: u64,
    pub spans_held: u64,
    pub memory_bytes: u64,
    /// Export requests the receivers turned away under overload (retryable answers).
    pub requests_refused: u64,
}

/// How long to wait and what else counts as present (design: trace completeness).
#[derive(Clone, Debug)]
pub struct WaitOptions {
    /// Rule 4: complete only after this long without a new span.
    pub settle: Duration,
    /// When rules 1-3 do not hold, judge the trace as it is after this long without a new span.
    pub grace: Duration,
    /// Give up this long after `started`.
    pub timeout: Duration,
    /// When the run began (the trigger); the timeout counts from here.
    pub started: Instant,
    /// The runner's trigger span, added to the trace after the wait: it counts as a present
    /// root for rules 1 and 2, but a trace holding nothing else has not "arrived".
    pub trigger_span_id: Option<SpanId>,
}

/// The result of a wait.
#[derive(Clone, Debug)]
pub struct WaitOutcome {
    /// The trace as judged; `None` when no span arrived before the timeout.
    pub trace: Option<Trace>,
    /// True when every completeness rule held.
    pub complete: bool,
    /// What was missing when judged incomplete, one entry per problem, e.g.
    /// `1 dangling parent 53995c3f42cd8ad8`, `no root span`, or what the check returned.
    pub missing: Vec<String>,
    /// When the last span of the trace arrived.
    pub last_span_at: Option<Instant>,
}

/// Rule 3 hook: given the trace so far, the problems that keep it from being complete
/// (e.g. `selector span[name="db"] matched none`); empty when satisfied.
pub type CompletenessCheck = dyn Fn(&Trace) -> Vec<String> + Send + Sync;

/// A cheap `Clone` handle to the shared store.
#[derive(Clone)]
pub struct TraceStore {
    shared: Arc<Shared>,
}

/// Owns the background eviction/stats task; dropping it stops the task.
pub struct StoreGuard {
    /// Dropping the sender resolves the task's receiver, which ends the task.
    _shutdown: oneshot::Sender<()>,
}

/// Above this many spans a trace keeps a hash set of its span IDs for duplicate detection;
/// below it a linear scan over the spans is cheaper than hashing.
const LINEAR_DEDUP_LIMIT: usize = 32;
/// Estimated bytes per span ID in that hash set (the ID, its hash slot, spare capacity).
const SPAN_ID_INDEX_BYTES: usize = 16;

/// State shared by every handle and the background task.
struct Shared {
    config: StoreConfig,
    traces: DashMap<TraceId, TraceEntry>,
    /// Least-recently-updated order, oldest first, with lazy deletion: every update pushes
    /// a new item and leaves the old one behind; an item is live only while its `seq`
    /// equals the entry's. A std `Mutex` because it is never held across an `.await` and
    /// every critical section is short (mini-redis `Db`).
    queue: Mutex<VecDeque<QueueItem>>,
    /// Source of `seq` numbers, so that an item can tell whether it is still current.
    next_seq: AtomicU64,
    /// Notified whenever a wait pins a trace, for [`TraceStore::waiting_on`].
    pinned: Notify,
    /// Wakes the background task when the queue goes from empty to non-empty (the only
    /// time a new TTL deadline can be earlier than the one it sleeps until).
    background: Notify,
    counters: Counters,
    /// Set once the first eviction above `max_spans` has been logged at info level; later
    /// ones go to debug (and always to the counters) so a full store does not flood the log.
    full_reported: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Counters {
    spans_received: AtomicU64,
    spans_rejected: AtomicU64,
    requests_refused: AtomicU64,
    spans_evicted: AtomicU64,
    traces_evicted: AtomicU64,
    duplicate_spans: AtomicU64,
    // Signed: an insert counts its spans after releasing the entries, so an eviction on
    // another thread may subtract them first; a brief negative must not wrap around.
    traces_held: AtomicI64,
    spans_held: AtomicI64,
    memory_bytes: AtomicI64,
}

/// One item of the least-recently-updated queue.
#[derive(Clone, Copy, Debug)]
struct QueueItem {
    seq: u64,
    /// When the trace became eligible for TTL eviction from this item's point of view.
    at: Instant,
    trace_id: TraceId,
}

/// One trace as held by the map.
struct TraceEntry {
    spans: Vec<Arc<Span>>,
    /// Span IDs, built once the trace outgrows [`LINEAR_DEDUP_LIMIT`].
    /// Boxed: most traces never need it, and an empty `Option<Box<_>>` costs one word.
    span_ids: Option<Box<HashSet<SpanId>>>,
    last_update: Instant,
    /// The `seq` of this trace's live queue item (0 while it has no spans).
    seq: u64,
    /// Estimated bytes held by this trace's spans.
    bytes: usize,
    /// Waits currently pinning this trace; a pinned trace is never evicted.
    pins: u32,
    /// Present while pinned: bumped after every insert that stored a span.
    waker: Option<watch::Sender<()>>,
}

impl TraceEntry {
    fn empty(now: Instant) -> Self {
        TraceEntry {
            spans: Vec::new(),
            span_ids: None,
            last_update: now,
            seq: 0,
            bytes: 0,
            pins: 0,
            waker: None,
        }
    }

    fn contains(&self, span_id: SpanId) -> bool {
        match &self.span_ids {
            Some(ids) => ids.contains(&span_id),
            None => self.spans.iter().any(|span| span.span_id == span_id),
        }
    }

    /// Stores the span unless its ID is present; returns its estimated size when stored.
    fn add(&mut self, span: Span) -> Option<usize> {
        if self.contains(span.span_id) {
            return None;
        }
        let mut bytes = approx_span_bytes(&span);
        if let Some(ids) = &mut self.span_ids {
            ids.insert(span.span_id);
            bytes += SPAN_ID_INDEX_BYTES;
        } else if self.spans.len() >= LINEAR_DEDUP_LIMIT {
            let mut ids: HashSet<SpanId> = self.spans.iter().map(|span| span.span_id).collect();
            ids.insert(span.span_id);
            self.span_ids = Some(Box::new(ids));
            bytes += SPAN_ID_INDEX_BYTES * (self.spans.len() + 1);
        }
        self.spans.push(Arc::new(span));
        self.bytes += bytes;
        Some(bytes)
    }
}

/// The current time on tokio's clock, so that paused-time tests drive the store as well.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// An estimate of the heap a stored span costs, cheap enough for the insert path: the span
/// itself, its `Arc` header and slot in the trace, its attribute, event and link slots, and
/// the text of string attribute values (keys, names and resources are interned and shared,
/// so they are not counted per span).
fn approx_span_bytes(span: &Span) -> usize {
    const BASE: usize = std::mem::size_of::<Span>() + 2 * std::mem::size_of::<usize>() + 8;
    fn attributes_bytes(attributes: &[KeyValue]) -> usize {
        attributes
            .iter()
            .map(|kv| {
                std::mem::size_of::<KeyValue>()
                    + match &kv.value {
                        AttributeValue::String(text) => text.len(),
                        AttributeValue::Bytes(bytes) => bytes.len(),
                        AttributeValue::Array(items) => items.len() * std::mem::size_of::<AttributeValue>(),
                        AttributeValue::Map(items) => attributes_bytes(items),
                        _ => 0,
                    }
            })
            .sum()
    }
    let events: usize = span
        .events()
        .iter()
        .map(|event| std::mem::size_of::<Event>() + attributes_bytes(&event.attributes))
        .sum();
    let links: usize = span
        .links()
        .iter()
        .map(|link| std::mem::size_of::<Link>() + attributes_bytes(&link.attributes))
        .sum();
    let extra = if span.extra.is_some() { std::mem::size_of::<crate::model::SpanExtra>() } else { 0 };
    BASE + attributes_bytes(&span.attributes) + extra + events + links + span.status.message.len()
}

impl TraceStore {
    /// A store and the guard of its background task (needs a tokio runtime).
    pub fn new(config: StoreConfig) -> (TraceStore, StoreGuard) {
        let shared = Arc::new(Shared {
            config,
            traces: DashMap::new(),
            queue: Mutex::new(VecDeque::new()),
            next_seq: AtomicU64::new(1),
            background: Notify::new(),
            pinned: Notify::new(),
            counters: Counters::default(),
            full_reported: std::sync::atomic::AtomicBool::new(false),
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        tokio::spawn(evict::background_task(shared.clone(), shutdown_rx));
        (TraceStore { shared }, StoreGuard { _shutdown: shutdown_tx })
    }

    /// The bounds this store was built with.
    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    /// Stores spans (any mix of traces), each span ID once per trace, wakes the waiters of
    /// every touched trace, and evicts above the bounds.
    pub fn insert(&self, spans: Vec<Span>) -> InsertOutcome {
        if spans.is_empty() {
            return InsertOutcome::default();
        }
        let shared = &*self.shared;
        let now = now();
        let n_received = spans.len();
        let mut outcome = InsertOutcome::default();
        let mut added_bytes = 0usize;
        let mut new_traces = 0i64;
        let mut touched: Vec<QueueItem> = Vec::new();
        let mut to_wake: Vec<watch::Sender<()>> = Vec::new();

        // Spans of one trace usually sit next to each other in a batch: take each trace's
        // entry once per run of equal trace IDs rather than once per span, and grow its span
        // list once per run.
        let mut run_lengths: Vec<usize> = Vec::new();
        let mut run_start = 0;
        while let Some(first) = spans.get(run_start) {
            let run_len =
                spans[run_start..].iter().take_while(|span| span.trace_id == first.trace_id).count();
            run_lengths.push(run_len);
            run_start += run_len;
        }
        let mut spans = spans.into_iter();
        for run_len in run_lengths {
            let Some(first) = spans.next() else { break };
            let trace_id = first.trace_id;
            let mut entry = shared.traces.entry(trace_id).or_insert_with(|| TraceEntry::empty(now));
            let was_empty = entry.spans.is_empty();
            entry.spans.reserve(run_len);
            let mut stored_here = 0usize;
            for span in std::iter::once(first).chain(spans.by_ref().take(run_len - 1)) {
                match entry.add(span) {
                    Some(bytes) => {
                        stored_here += 1;
                        added_bytes += bytes;
                    }
                    None => outcome.duplicates += 1,
                }
            }
            if stored_here == 0 {
                continue;
            }
            outcome.stored += stored_here;
            if was_empty {
                new_traces += 1;
            }
            let seq = shared.next_seq.fetch_add(1, Ordering::Relaxed);
            entry.seq = seq;
            entry.last_update = now;
            if let Some(waker) = &entry.waker {
                to_wake.push(waker.clone());
            }
            drop(entry);
            touched.push(QueueItem { seq, at: now, trace_id });
        }

        let counters = &shared.counters;
        counters.spans_received.fetch_add(n_received as u64, Ordering::Relaxed);
        if outcome.duplicates > 0 {
            counters.duplicate_spans.fetch_add(outcome.duplicates as u64, Ordering::Relaxed);
        }
        if outcome.stored == 0 {
            return outcome;
        }
        counters.spans_held.fetch_add(outcome.stored as i64, Ordering::Relaxed);
        counters.traces_held.fetch_add(new_traces, Ordering::Relaxed);
        counters.memory_bytes.fetch_add(added_bytes as i64, Ordering::Relaxed);

        // Waiters first: they are latency-sensitive, eviction is not.
        for waker in to_wake {
            waker.send_replace(());
        }

        let queue_was_empty = {
            let mut queue = shared.lock_queue();
            let was_empty = queue.is_empty();
            queue.extend(touched);
            if shared.spans_held() > shared.config.max_spans as u64 {
                shared.evict_over_limit(&mut queue, now);
            }
            shared.compact_if_needed(&mut queue);
            was_empty
        };
        if queue_was_empty {
            shared.background.notify_one();
        }
        outcome
    }

    /// Counts spans the receivers rejected (bad IDs) so `Stats` reports them.
    pub fn record_rejected(&self, n_spans: u64) {
        self.shared.counters.spans_rejected.fetch_add(n_spans, Ordering::Relaxed);
    }

    /// Counts export requests the receivers refused under overload, so `Stats` reports them.
    pub fn record_refused(&self, n_requests: u64) {
        self.shared.counters.requests_refused.fetch_add(n_requests, Ordering::Relaxed);
    }

    /// A snapshot of one trace.
    pub fn get(&self, trace_id: TraceId) -> Option<Trace> {
        let entry = self.shared.traces.get(&trace_id)?;
        if entry.spans.is_empty() {
            return None;
        }
        Some(Trace::new(trace_id, entry.spans.clone()))
    }

    /// A snapshot of one trace and when its last span arrived.
    pub fn get_with_update(&self, trace_id: TraceId) -> Option<(Trace, Instant)> {
        let entry = self.shared.traces.get(&trace_id)?;
        if entry.spans.is_empty() {
            return None;
        }
        Some((Trace::new(trace_id, entry.spans.clone()), entry.last_update))
    }

    /// The most recently updated traces first.
    pub fn list(&self, limit: usize) -> Vec<TraceSummary> {
        self.list_with_updates(limit).into_iter().map(|(summary, _)| summary).collect()
    }

    /// [`TraceStore::list`] with when each trace's last span arrived.
    pub fn list_with_updates(&self, limit: usize) -> Vec<(TraceSummary, Instant)> {
        // Pick the newest live items under the queue lock (an item is live when its `seq` is
        // the entry's, so each trace appears once), then summarise without it.
        let trace_ids: Vec<TraceId> = {
            let queue = self.shared.lock_queue();
            queue
                .iter()
                .rev()
                .filter(|item| {
                    self.shared.traces.get(&item.trace_id).is_some_and(|entry| entry.seq == item.seq)
                })
                .take(limit)
                .map(|item| item.trace_id)
                .collect()
        };
        let mut summaries: Vec<(TraceSummary, Instant)> = trace_ids
            .into_iter()
            .filter_map(|trace_id| {
                let entry = self.shared.traces.get(&trace_id)?;
                (!entry.spans.is_empty()).then(|| (summarize(trace_id, &entry.spans), entry.last_update))
            })
            .collect();
        // A pinned trace passed over by eviction is requeued without being updated: order by
        // the real update time.
        summaries.sort_by(|a, b| b.1.cmp(&a.1));
        summaries
    }

    pub fn stats(&self) -> StoreStats {
        self.shared.stats()
    }

    /// How many waits currently pin this trace.
    pub fn waiters(&self, trace_id: TraceId) -> u32 {
        self.shared.traces.get(&trace_id).map_or(0, |entry| entry.pins)
    }

    /// Resolves once at least one wait pins this trace: lets tests and tools act strictly
    /// after a waiter is registered, without sleeping.
    pub async fn waiting_on(&self, trace_id: TraceId) {
        loop {
            let pinned = self.shared.pinned.notified();
            tokio::pin!(pinned);
            // Register before checking so a pin between the check and the await is not lost.
            pinned.as_mut().enable();
            if self.waiters(trace_id) > 0 {
                return;
            }
            pinned.await;
        }
    }

    /// Waits until the trace is complete by the design's rules 1, 2 and 4 plus `check`
    /// (rule 3), or judges it as it is after `grace` of quiet or at `timeout`. Event-driven:
    /// woken by every insert for this trace. The trace is pinned (never evicted) while waited on.
    pub async fn wait(
        &self,
        trace_id: TraceId,
        options: &WaitOptions,
        check: &CompletenessCheck,
    ) -> WaitOutcome {
        wait::wait(self, trace_id, options, check).await
    }
}

impl Shared {
    fn lock_queue(&self) -> MutexGuard<'_, VecDeque<QueueItem>> {
        // A panic while holding the lock leaves the queue consistent (items are plain data),
        // so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn spans_held(&self) -> u64 {
        self.counters.spans_held.load(Ordering::Relaxed).max(0) as u64
    }

    fn stats(&self) -> StoreStats {
        let counters = &self.counters;
        let load = |counter: &AtomicI64| counter.load(Ordering::Relaxed).max(0) as u64;
        let traces_held = load(&counters.traces_held);
        StoreStats {
            spans_received: counters.spans_received.load(Ordering::Relaxed),
            spans_rejected: counters.spans_rejected.load(Ordering::Relaxed),
            spans_evicted: counters.spans_evicted.load(Ordering::Relaxed),
            traces_evicted: counters.traces_evicted.load(Ordering::Relaxed),
            duplicate_spans: counters.duplicate_spans.load(Ordering::Relaxed),
            traces_held,
            spans_held: load(&counters.spans_held),
            requests_refused: counters.requests_refused.load(Ordering::Relaxed),
            memory_bytes: load(&counters.memory_bytes)
                + traces_held
                    * (std::mem::size_of::<TraceEntry>() + std::mem::size_of::<QueueItem>() + 16) as u64,
        }
    }
}

/// The `ListTraces` line of one trace: its root (a span without a parent, else one whose
/// parent is missing, earliest first), that root's service, and the trace's time range.
pub(crate) fn summarize(trace_id: TraceId, spans: &[Arc<Span>]) -> TraceSummary {
    let parentless = spans.iter().filter(|span| span.parent_span_id.is_none());
    let root = parentless.min_by_key(|span| span.start_time_unix_nano).or_else(|| {
        let ids: HashSet<SpanId> = spans.iter().map(|span| span.span_id).collect();
        spans
            .iter()
            .filter(|span| span.parent_span_id.is_some_and(|parent| !ids.contains(&parent)))
            .min_by_key(|span| span.start_time_unix_nano)
    });
    let root = root.or(spans.first());
    let start = spans.iter().map(|span| span.start_time_unix_nano).min().unwrap_or(0);
    let end = spans.iter().map(|span| span.end_time_unix_nano).max().unwrap_or(0).max(start);
    let service_name = root
        .and_then(|span| span.service_name())
        .or_else(|| spans.iter().find_map(|span| span.service_name()))
        .unwrap_or("")
        .to_string();
    TraceSummary {
        trace_id,
        root_name: root.map(|span| span.name.to_string()).unwrap_or_default(),
        service_name,
        span_count: spans.len(),
        start_time_unix_nano: start,
        duration_nanos: end - start,
    }
}

#[cfg(test)]
mod tests;
