//! The in-memory trace store: a sharded map from trace ID to that trace's spans, with
//! waiters woken on every insert, completeness checks, bounds and eviction, and counters.
//!
//! A trace's spans are kept as OTLP wire bytes, as the receivers split them off the request
//! ([`model::otlp::split_request`]), and decoded into model spans when the trace is
//! read: taking a span in then costs a validating walk and a copy instead of building it, and
//! the bytes take less memory than the built span (issue 2's targets). Reads are rare (a
//! test's wait, `GetTrace`, `ListTraces`) and each decodes only the traces it names. What a
//! list shows of a trace (its summary) is `wire`'s business, not the store's.
//!
//! The store knows OTLP only through that codec: it does not know selectors (rule 3 of the
//! completeness rules arrives as the [`CompletenessCheck`] hook) or the network. Modelled on
//! mini-redis's `Db`: [`TraceStore`] is a cheap `Clone` handle around shared state and
//! [`StoreGuard`] owns the background task (TTL eviction and periodic counter logs) and stops
//! it when dropped.
//!
//! Architecture invariants kept here: no dashmap guard is held across an `.await`, while
//! another entry is taken or while spans are decoded (reads copy the bytes out); waiters are
//! woken after the guard is dropped; a trace being waited on is pinned and never evicted;
//! every eviction is counted and logged.

mod compact;
mod digest;
mod entry;
mod evict;
mod feed;
mod search;
mod wait;

pub use digest::{Operation, Outline, SpanQuery};
pub use feed::TraceRef;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::{oneshot, watch, Notify};

use entry::TraceEntry;
use model::otlp::{self, RawBatch, RawGroup, RawSpan};
use model::{Span, SpanId, Trace, TraceId};

/// Bounds of the store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Evict least-recently-updated traces above this many bytes held (stored spans and the
    /// store's index, from the allocations' capacities).
    pub max_memory: usize,
    /// Evict least-recently-updated traces above this many spans (`usize::MAX`: no bound
    /// but `max_memory`).
    pub max_spans: usize,
    /// Evict traces not updated for this long.
    pub trace_ttl: Duration,
    /// Compact a trace once it has had no new span for this long (about the settle window,
    /// so that a waited-on trace is judged before it is compacted).
    pub compact_after: Duration,
    /// The most one trace may hold, in percent of `max_memory` and `max_spans` (1-100; never
    /// less than an awaited trace's minimums): spans past it are refused and counted.
    pub max_trace_share: u8,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_memory: model::defaults::DEFAULT_MAX_MEMORY,
            max_spans: usize::MAX,
            trace_ttl: model::defaults::DEFAULT_TRACE_TTL,
            compact_after: model::defaults::DEFAULT_SETTLE,
            max_trace_share: model::defaults::DEFAULT_MAX_TRACE_SHARE,
        }
    }
}

/// What a trace may hold, from the bounds (issue 22, items 3 and 4).
#[derive(Clone, Copy, Debug)]
struct Caps {
    /// Any trace: its share of the store (`max_trace_share`).
    trace: entry::TraceCap,
    /// An awaited trace (pinned, never evicted): the smaller of that and its cap as one.
    awaited: entry::TraceCap,
    /// All awaited traces together, in bytes: their share of `max_memory`.
    awaited_total: usize,
}

impl StoreConfig {
    fn caps(&self) -> Caps {
        use entry::Refusal;
        use model::defaults::{AWAITED_TRACES_SHARE, AWAITED_TRACE_MIN_BYTES, AWAITED_TRACE_MIN_SPANS};
        let percent = usize::from(self.max_trace_share.clamp(1, 100));
        let of = |bound: usize| bound / 100 * percent + bound % 100 * percent / 100;
        let trace = entry::TraceCap {
            // A trace counts its spans in a `u32`.
            spans: of(self.max_spans).max(AWAITED_TRACE_MIN_SPANS).min(u32::MAX as usize),
            bytes: of(self.max_memory).max(AWAITED_TRACE_MIN_BYTES),
            growth: usize::MAX,
            by: Refusal::SHARE,
        };
        let one = self.trace_cap();
        let awaited = entry::TraceCap {
            spans: one.spans.min(trace.spans),
            bytes: one.bytes.min(trace.bytes),
            growth: usize::MAX,
            by: if one.bytes <= trace.bytes { Refusal::AWAITED } else { Refusal::SHARE },
        };
        Caps {
            trace,
            awaited,
            awaited_total: (self.max_memory / AWAITED_TRACES_SHARE).max(AWAITED_TRACE_MIN_BYTES),
        }
    }

    /// The most an awaited (pinned, never evicted) trace may hold as one: its share of the
    /// bounds (the trace's share of the store may be smaller still, [`StoreConfig::caps`]).
    fn trace_cap(&self) -> entry::TraceCap {
        use model::defaults::{AWAITED_TRACE_MIN_BYTES, AWAITED_TRACE_MIN_SPANS, AWAITED_TRACE_SHARE};
        entry::TraceCap {
            spans: (self.max_spans / AWAITED_TRACE_SHARE).max(AWAITED_TRACE_MIN_SPANS),
            bytes: (self.max_memory / AWAITED_TRACE_SHARE).max(AWAITED_TRACE_MIN_BYTES),
            growth: usize::MAX,
            by: entry::Refusal::AWAITED,
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
    /// Spans not stored because their trace reached its share of the store (less while
    /// awaited, and awaited traces share a bound together): the sender is told (OTLP
    /// partial success), they are counted as `spans_over_trace_cap`.
    pub refused: usize,
}

/// Counters, exposed by `Stats` and logged periodically.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Spans with valid IDs handed to the store: stored, duplicates, or refused over a
    /// trace's cap.
    pub spans_received: u64,
    /// Spans the store took in (counted when stored, not derived: spans received but
    /// refused or duplicate are not stored).
    pub spans_stored: u64,
    pub spans_rejected: u64,
    pub spans_evicted: u64,
    pub traces_evicted: u64,
    pub duplicate_spans: u64,
    /// Spans refused because their trace had reached its share of the store, or its cap as
    /// an awaited trace, or because awaited traces had reached theirs together.
    pub spans_over_trace_cap: u64,
    pub traces_held: u64,
    pub spans_held: u64,
    /// Bytes held: stored spans (open and compacted) and the map and queues around them.
    pub memory_bytes: u64,
    /// Compactions done (a trace compacted again after a late span counts again).
    pub traces_compacted: u64,
    /// Bytes compaction compressed: each span's once, plus the small blocks merged again
    /// (a trace compacted many times stays within a few times its size; issue 22, item 4).
    pub bytes_compacted: u64,
    /// Bytes held by awaited traces (part of `memory_bytes`; at most half of the bound).
    pub awaited_bytes: u64,
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
    /// What the step should be told although the judgement stands, e.g. that spans were
    /// refused because the trace reached the store's cap for an awaited trace.
    pub warnings: Vec<String>,
}

/// Rule 3 hook: given the trace so far, the problems that keep it from being complete
/// (e.g. `selector span[name="db"] matched none`); empty when satisfied.
pub type CompletenessCheck = dyn Fn(&Trace) -> Vec<String> + Send + Sync;

/// A cheap `Clone` handle to the shared store.
#[derive(Clone)]
pub struct TraceStore {
    shared: Arc<Shared>,
}

/// Bytes taken off the store's memory limit by [`TraceStore::reserve`], given back when dropped.
pub struct Reservation {
    shared: Arc<Shared>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.shared.reserved.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation").field("bytes", &self.bytes).finish()
    }
}

/// Owns the background eviction/stats task; dropping it stops the task.
pub struct StoreGuard {
    /// Dropping the sender resolves the task's receiver, which ends the task.
    _shutdown: oneshot::Sender<()>,
}

/// State shared by every handle and the background task.
struct Shared {
    config: StoreConfig,
    /// What a trace may hold, from `config`.
    caps: Caps,
    /// What the rest of the process is seen to use ([`TraceStore::leave_for_process`]) ...
    outside: AtomicU64,
    /// ... and what reads in flight have reserved ([`TraceStore::reserve`]): the bytes the
    /// traces and their index may hold are `max_memory` less both, never below half of it.
    reserved: AtomicU64,
    /// Hashed with foldhash (seeded per process) rather than SipHash: a lookup per run of
    /// spans is on the ingest path, and a random seed still keeps chosen trace IDs from
    /// colliding on purpose.
    traces: DashMap<TraceId, TraceEntry, foldhash::fast::RandomState>,
    /// Least-recently-updated order, oldest first, with lazy deletion: every update pushes
    /// a new item and leaves the old one behind; an item is live only while its `seq`
    /// equals the entry's. A std `Mutex` because it is never held across an `.await` and
    /// every critical section is short (mini-redis `Db`).
    queue: Mutex<VecDeque<QueueItem>>,
    /// Traces to compact, in update order, with the same lazy deletion: an item is due
    /// `compact_after` past its `at` and acted on only while its `seq` is the entry's.
    /// Taken only by itself, never with the queue lock or a map guard held.
    compact_queue: Mutex<VecDeque<QueueItem>>,
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
    /// Bumped after every insert that stored a span, for live views ([`TraceStore::subscribe`]).
    changes: watch::Sender<()>,
    /// Every operation of the held traces ([`digest`]); its lock is a leaf.
    catalogue: digest::Catalogue,
    /// When compaction last paid off and when traces were last evicted for the bound
    /// ([`compact::Payoff`]).
    payoff: compact::Payoff,
    /// What [`Stamp`]s count from.
    epoch: Instant,
    /// The LZ4 dictionaries compaction uses ([`entry::Dict`]).
    dicts: entry::Dicts,
}

#[derive(Default)]
struct Counters {
    spans_received: AtomicU64,
    spans_stored: AtomicU64,
    spans_rejected: AtomicU64,
    requests_refused: AtomicU64,
    spans_evicted: AtomicU64,
    traces_evicted: AtomicU64,
    duplicate_spans: AtomicU64,
    spans_over_trace_cap: AtomicU64,
    traces_compacted: AtomicU64,
    bytes_compacted: AtomicU64,
    // Signed: an insert counts its spans after releasing the entries, so an eviction on
    // another thread may subtract them first; a brief negative must not wrap around.
    traces_held: AtomicI64,
    spans_held: AtomicI64,
    memory_bytes: AtomicI64,
    /// The part of `memory_bytes` in open segments (not yet compacted).
    open_bytes: AtomicI64,
    /// The part of `memory_bytes` held by pinned traces: changed under the entry's guard by
    /// whatever changes a pinned entry's bytes or its pins from or to 0.
    pinned_bytes: AtomicI64,
}

/// One item of the least-recently-updated queue.
#[derive(Clone, Copy, Debug)]
struct QueueItem {
    seq: u64,
    /// When the trace became eligible for TTL eviction from this item's point of view.
    at: Stamp,
    trace_id: TraceId,
}

/// A moment of a store's life, in nanoseconds since it was made: 8 bytes where an
/// `Instant` takes 16, for the moments kept per trace and per queue item (issue 23: bytes
/// per trace). [`Shared::stamp`] and [`Shared::instant`] convert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Stamp(u64);

/// The current time on tokio's clock, so that paused-time tests drive the store as well.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl TraceStore {
    /// A store and the guard of its background task (needs a tokio runtime).
    pub fn new(config: StoreConfig) -> (TraceStore, StoreGuard) {
        let shared = Arc::new(Shared {
            outside: AtomicU64::new(0),
            reserved: AtomicU64::new(0),
            caps: config.caps(),
            dicts: entry::Dicts::new(config.max_memory),
            config,
            traces: DashMap::with_hasher(foldhash::fast::RandomState::default()),
            queue: Mutex::new(VecDeque::new()),
            compact_queue: Mutex::new(VecDeque::new()),
            next_seq: AtomicU64::new(1),
            background: Notify::new(),
            pinned: Notify::new(),
            counters: Counters::default(),
            full_reported: std::sync::atomic::AtomicBool::new(false),
            changes: watch::Sender::new(()),
            catalogue: digest::Catalogue::default(),
            payoff: compact::Payoff::new(now()),
            epoch: now(),
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        tokio::spawn(evict::background_task(shared.clone(), shutdown_rx));
        (TraceStore { shared }, StoreGuard { _shutdown: shutdown_tx })
    }

    /// The bounds this store was built with.
    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    /// Stores model spans (the runner's trigger span, OTLP/JSON requests, tests): encodes
    /// them as OTLP, then as [`TraceStore::insert_raw`]. A span whose bytes the store's own
    /// reader would refuse (an attribute nested past the protobuf limit) is not stored but
    /// counted as rejected and logged, so it cannot make the rest of its trace unreadable;
    /// the receivers refuse such requests before they get here.
    pub fn insert(&self, spans: Vec<Span>) -> InsertOutcome {
        use prost::Message;
        let encoded: Vec<Vec<u8>> =
            spans.iter().map(|span| otlp::span_to_otlp(span).encode_to_vec()).collect();
        let mut batch = RawBatch::default();
        let mut n_refused = 0;
        for (span, bytes) in spans.iter().zip(&encoded) {
            let peek = match otlp::check_span(bytes) {
                Ok(peek) => peek,
                Err(err) => {
                    tracing::warn!(trace_id = %span.trace_id, span_id = %span.span_id, %err, "span not stored");
                    n_refused += 1;
                    continue;
                }
            };
            let raw = RawSpan { trace_id: span.trace_id, span_id: span.span_id, bytes, peek };
            match batch.groups.last_mut() {
                Some(group)
                    if Arc::ptr_eq(&group.resource, &span.resource)
                        && Arc::ptr_eq(&group.scope, &span.scope) =>
                {
                    group.spans.push(raw)
                }
                _ => batch.groups.push(RawGroup {
                    resource: span.resource.clone(),
                    scope: span.scope.clone(),
                    spans: vec![raw],
                }),
            }
        }
        if n_refused > 0 {
            self.record_rejected(n_refused);
        }
        self.insert_raw(&batch)
    }

    /// Stores a split request's spans (any mix of traces), each span ID once per trace, wakes
    /// the waiters of every touched trace, and evicts above the bounds. Its rejections are
    /// the caller's to count ([`TraceStore::record_rejected`]).
    pub fn insert_raw(&self, batch: &RawBatch<'_>) -> InsertOutcome {
        let n_received = batch.n_spans();
        if n_received == 0 {
            return InsertOutcome::default();
        }
        let shared = &*self.shared;
        let now = now();
        let stamp = shared.stamp(now);
        let mut outcome = InsertOutcome::default();
        let mut n_over_cap = 0usize;
        let mut added_bytes = 0usize;
        let mut added_open = 0usize;
        let mut new_traces = 0i64;
        let mut touched: Vec<QueueItem> = Vec::new();
        let mut to_wake: Vec<watch::Sender<()>> = Vec::new();

        // Spans of one trace usually sit next to each other in a batch: take each trace's
        // entry once per run of equal trace IDs rather than once per span.
        for group in &batch.groups {
            let service = model::find_attribute(&group.resource.attributes, "service.name")
                .and_then(|value| value.as_str())
                .map(model::Str::new);
            let origin = entry::Origin { resource: &group.resource, scope: &group.scope, service: &service };
            // One list of a run's new operations for the group, not one per trace.
            let mut new_ops = digest::NewOps::default();
            for run in group.spans.chunk_by(|a, b| a.trace_id == b.trace_id) {
                let trace_id = run[0].trace_id;
                let mut entry = shared.traces.entry(trace_id).or_insert_with(|| TraceEntry::empty(stamp));
                let was_empty = entry.is_empty();
                // An awaited trace is never evicted, so it is held to a smaller cap, and
                // awaited traces together to their share.
                let pinned = entry.pins() > 0;
                let cap = if pinned {
                    let held = shared.counters.pinned_bytes.load(Ordering::Relaxed).max(0) as usize;
                    entry::TraceCap {
                        growth: shared.caps.awaited_total.saturating_sub(held),
                        ..shared.caps.awaited
                    }
                } else {
                    shared.caps.trace
                };
                let added = entry.add_run(origin, run, cap, &shared.catalogue, &mut new_ops);
                if pinned {
                    shared.counters.pinned_bytes.fetch_add(added.bytes as i64, Ordering::Relaxed);
                }
                outcome.duplicates += added.duplicates;
                outcome.refused += added.refused;
                n_over_cap += added.refused;
                // Counted even when every span was a duplicate: the entry's books may still
                // have grown (a segment list's first allocation).
                added_bytes += added.bytes;
                added_open += added.open_bytes;
                if entry.open_bytes() > entry::OPEN_TRACE_MAX {
                    // A trace growing fast is the most recently updated, so compaction under
                    // pressure (least recently updated first) reaches it last: its open bytes
                    // grew to its whole share, doubling as they grew, and were copied and
                    // compressed as one block (a 100,000-span trace took the process to
                    // 176 MiB under a 128 MiB bound; issue 22). Compacted here once past a
                    // block's size, awaited or not, it never holds more than that open.
                    let (delta, open, compressed) = entry.compact_in_place(&shared.dicts);
                    if pinned {
                        shared.counters.pinned_bytes.fetch_add(delta as i64, Ordering::Relaxed);
                    }
                    shared.counters.bytes_compacted.fetch_add(compressed as u64, Ordering::Relaxed);
                    shared.compacted(delta, open);
                }
                if added.stored == 0 {
                    continue;
                }
                outcome.stored += added.stored;
                if was_empty {
                    new_traces += 1;
                }
                let seq = shared.next_seq.fetch_add(1, Ordering::Relaxed);
                entry.seq = seq;
                entry.last_update = stamp;
                if let Some(waker) = entry.waker() {
                    to_wake.push(waker.clone());
                }
                drop(entry);
                touched.push(QueueItem { seq, at: stamp, trace_id });
            }
        }

        let counters = &shared.counters;
        counters.spans_received.fetch_add(n_received as u64, Ordering::Relaxed);
        if outcome.duplicates > 0 {
            counters.duplicate_spans.fetch_add(outcome.duplicates as u64, Ordering::Relaxed);
        }
        if n_over_cap > 0 {
            counters.spans_over_trace_cap.fetch_add(n_over_cap as u64, Ordering::Relaxed);
            tracing::debug!(spans = n_over_cap, "spans refused: their trace reached its cap");
        }
        counters.memory_bytes.fetch_add(added_bytes as i64, Ordering::Relaxed);
        counters.open_bytes.fetch_add(added_open as i64, Ordering::Relaxed);
        if outcome.stored == 0 {
            return outcome;
        }
        counters.spans_stored.fetch_add(outcome.stored as u64, Ordering::Relaxed);
        counters.spans_held.fetch_add(outcome.stored as i64, Ordering::Relaxed);
        counters.traces_held.fetch_add(new_traces, Ordering::Relaxed);

        // Waiters first: they are latency-sensitive, eviction is not.
        for waker in to_wake {
            waker.send_replace(());
        }

        let n_touched = touched.len();
        let compact_was_empty = {
            let mut compact_queue = shared.lock_compact_queue();
            let was_empty = compact_queue.is_empty();
            compact_queue.extend(touched.iter().copied());
            was_empty
        };
        // Compaction before eviction: what it frees (less a new dictionary) need not be
        // evicted.
        shared.compact_for_insert(added_open, n_touched, now);
        let (queue_was_empty, pressed) = {
            let mut queue = shared.lock_queue();
            let was_empty = queue.is_empty();
            queue.extend(touched);
            let index_bytes = shared.index_bytes(&queue);
            if shared.spans_held() > shared.config.max_spans as u64
                || shared.held_bytes() + index_bytes > shared.memory_limit()
            {
                shared.evict_over_limit(&mut queue, now, index_bytes);
            }
            shared.compact_if_needed(&mut queue);
            (was_empty, shared.under_pressure(index_bytes))
        };
        // The background task sleeps until its next deadline; these are the only times one
        // can come earlier (or, under memory pressure, compaction cannot wait for it).
        if queue_was_empty || compact_was_empty || pressed {
            shared.background.notify_one();
        }
        shared.changes.send_replace(());
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
        self.get_with_update(trace_id).map(|(trace, _)| trace)
    }

    /// The spans of one trace at positions `range` of their arrival order (a page of a trace
    /// too large to read whole), decoding only those, and how many spans the trace holds.
    pub fn get_range(&self, trace_id: TraceId, range: std::ops::Range<usize>) -> Option<(Trace, usize)> {
        self.shared.payoff.read(now());
        let stored = {
            let entry = self.shared.traces.get(&trace_id)?;
            if entry.is_empty() {
                return None;
            }
            entry.stored()
        };
        let n_spans = stored.len();
        Some((Trace::new(trace_id, stored.decode_range(trace_id, range)), n_spans))
    }

    /// A snapshot of one trace and when its last span arrived.
    pub fn get_with_update(&self, trace_id: TraceId) -> Option<(Trace, Instant)> {
        self.shared.payoff.read(now());
        let (stored, last_update) = {
            let entry = self.shared.traces.get(&trace_id)?;
            if entry.is_empty() {
                return None;
            }
            (entry.stored(), self.shared.instant(entry.last_update))
        };
        Some((Trace::new(trace_id, stored.decode(trace_id)), last_update))
    }

    /// The most recently updated traces first, at most `limit`, each with when its last
    /// span arrived.
    pub fn recent(&self, limit: usize) -> Vec<(Trace, Instant)> {
        // Pick the newest live items under the queue lock (an item is live when its `seq` is
        // the entry's, so each trace appears once), then decode without it.
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
        let mut traces: Vec<(Trace, Instant)> =
            trace_ids.into_iter().filter_map(|trace_id| self.get_with_update(trace_id)).collect();
        // A pinned trace passed over by eviction is requeued without being updated: order by
        // the real update time.
        traces.sort_by_key(|(_, last_update)| std::cmp::Reverse(*last_update));
        traces
    }

    /// What the trace's digest says of it, without decoding a span (`None`: none arrived).
    pub fn outline(&self, trace_id: TraceId) -> Option<Outline> {
        let entry = self.shared.traces.get(&trace_id)?;
        (!entry.is_empty()).then(|| entry.digest.outline(entry.len()))
    }

    /// How many spans of the trace are held, without decoding them (`None`: none arrived).
    pub fn span_count(&self, trace_id: TraceId) -> Option<usize> {
        let entry = self.shared.traces.get(&trace_id)?;
        (!entry.is_empty()).then(|| entry.len())
    }

    pub fn stats(&self) -> StoreStats {
        self.shared.stats()
    }

    /// Lowers the store's memory limit to `max_memory` less `outside` bytes that the
    /// process holds beyond the store (allocator free lists, buffers of requests in flight,
    /// everything else), never below half of `max_memory`: `serve` bounds the whole
    /// process's memory this way (`server::governor`). Applies from the next insert.
    pub fn leave_for_process(&self, outside: u64) {
        self.shared.outside.store(outside, Ordering::Relaxed);
    }

    /// Lowers the store's memory limit by `bytes` for as long as the returned guard lives,
    /// evicting at once what no longer fits (never below half of `max_memory`, as
    /// [`TraceStore::leave_for_process`]): a read reserves what its decoded trace and answer
    /// will take before it decodes, so that they come out of the store's share of the bound
    /// rather than on top of it (issue 22: reads took the process past the bound until
    /// the governor's next look).
    pub fn reserve(&self, bytes: u64) -> Reservation {
        self.shared.reserved.fetch_add(bytes, Ordering::AcqRel);
        let now = now();
        let mut queue = self.shared.lock_queue();
        let index_bytes = self.shared.index_bytes(&queue);
        if self.shared.held_bytes() + index_bytes > self.shared.memory_limit() {
            self.shared.evict_over_limit(&mut queue, now, index_bytes);
        }
        Reservation { shared: self.shared.clone(), bytes }
    }

    /// The bytes reads in flight have reserved ([`TraceStore::reserve`]).
    pub fn reserved(&self) -> u64 {
        self.shared.reserved.load(Ordering::Relaxed)
    }

    /// The bytes the traces and their index may hold now ([`TraceStore::leave_for_process`]).
    pub fn memory_limit(&self) -> u64 {
        self.shared.memory_limit()
    }

    /// Whether traces are queued for compaction (some may turn out to need none): lets the
    /// load generator include compaction in its CPU reading.
    pub fn compaction_pending(&self) -> bool {
        !self.shared.lock_compact_queue().is_empty()
    }

    /// How many waits currently pin this trace.
    pub fn waiters(&self, trace_id: TraceId) -> u32 {
        self.shared.traces.get(&trace_id).map_or(0, |entry| entry.pins())
    }

    /// How many waits are in progress, over all traces (for `/metrics`).
    pub fn waits_active(&self) -> u64 {
        self.shared.traces.iter().map(|entry| u64::from(entry.pins())).sum()
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
        wait::wait(self, trace_id, options, false, check).await
    }

    /// [`TraceStore::wait`] for a trace started elsewhere (a `traceid` trigger: a load tool
    /// or curl sent the first `traceparent`), whose top spans' parent is that sender's span,
    /// never exported: one missing parent above a trace with no root of its own is that
    /// span, and no reason to wait for `grace` or to warn.
    pub async fn wait_started_elsewhere(
        &self,
        trace_id: TraceId,
        options: &WaitOptions,
        check: &CompletenessCheck,
    ) -> WaitOutcome {
        wait::wait(self, trace_id, options, true, check).await
    }
}

impl Shared {
    fn stamp(&self, at: Instant) -> Stamp {
        Stamp(at.saturating_duration_since(self.epoch).as_nanos().try_into().unwrap_or(u64::MAX))
    }

    fn instant(&self, stamp: Stamp) -> Instant {
        self.epoch + Duration::from_nanos(stamp.0)
    }

    fn lock_queue(&self) -> MutexGuard<'_, VecDeque<QueueItem>> {
        // A panic while holding the lock leaves the queue consistent (items are plain data),
        // so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A trace's span count, last update and whether anything but `trigger` arrived,
    /// without decoding it.
    /// Also for a trace that holds no span yet (`arrived` false), whose spans may have been
    /// refused.
    fn peek(&self, trace_id: TraceId, trigger: Option<SpanId>) -> Option<wait::Peek> {
        let entry = self.traces.get(&trace_id)?;
        Some(wait::Peek {
            n_spans: entry.len(),
            last_update: self.instant(entry.last_update),
            arrived: entry.holds_other_than(trigger),
            refused: entry.refused().0,
            refused_by: entry.refused().1,
        })
    }

    fn lock_compact_queue(&self) -> MutexGuard<'_, VecDeque<QueueItem>> {
        self.compact_queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn spans_held(&self) -> u64 {
        self.counters.spans_held.load(Ordering::Relaxed).max(0) as u64
    }

    /// The heap the traces' own allocations hold ([`entry::TraceEntry::heap_bytes`], summed).
    fn held_bytes(&self) -> u64 {
        self.counters.memory_bytes.load(Ordering::Relaxed).max(0) as u64
    }

    /// The index around the traces: the map's table (its capacity, not its length, as
    /// allocated: one key, entry and control byte per bucket), both queues' buffers, the
    /// operations' catalogue and the LZ4 dictionaries blocks hold.
    /// Takes each map shard's read lock briefly; the caller holds the queue lock, which
    /// is the order every path takes them in.
    fn index_bytes(&self, queue: &VecDeque<QueueItem>) -> u64 {
        let slot = std::mem::size_of::<(TraceId, TraceEntry)>() + 1;
        // hashbrown fills its buckets to 7/8.
        let table = self.traces.capacity() * 8 / 7 * slot;
        let queues = (queue.capacity() + self.compact_queue_capacity()) * std::mem::size_of::<QueueItem>();
        (table + queues + self.catalogue.heap_bytes() + self.dicts.heap_bytes()) as u64
    }

    fn compact_queue_capacity(&self) -> usize {
        self.lock_compact_queue().capacity()
    }

    /// Whether compaction should run ahead of its deadlines, oldest traces first, so that
    /// the memory bound is kept by compacting rather than evicting where it can be: above
    /// three quarters of the bound, or when the open spans alone exceed their share of it
    /// ([`model::defaults::OPEN_BYTES_SHARE`]).
    fn under_pressure(&self, index_bytes: u64) -> bool {
        self.open_over_share() || self.held_bytes() + index_bytes > self.memory_limit() / 4 * 3
    }

    /// Whether the open (uncompacted) spans hold more than their share of the memory limit.
    fn open_over_share(&self) -> bool {
        let open = self.counters.open_bytes.load(Ordering::Relaxed).max(0) as u64;
        open > self.memory_limit() / model::defaults::OPEN_BYTES_SHARE as u64
    }

    fn memory_limit(&self) -> u64 {
        let max = self.config.max_memory as u64;
        let taken =
            self.outside.load(Ordering::Relaxed).saturating_add(self.reserved.load(Ordering::Relaxed));
        max.saturating_sub(taken).max(max / 2)
    }

    fn memory_bytes(&self) -> u64 {
        let queue = self.lock_queue();
        self.held_bytes() + self.index_bytes(&queue)
    }

    fn stats(&self) -> StoreStats {
        let counters = &self.counters;
        let load = |counter: &AtomicI64| counter.load(Ordering::Relaxed).max(0) as u64;
        let traces_held = load(&counters.traces_held);
        StoreStats {
            spans_over_trace_cap: counters.spans_over_trace_cap.load(Ordering::Relaxed),
            traces_compacted: counters.traces_compacted.load(Ordering::Relaxed),
            bytes_compacted: counters.bytes_compacted.load(Ordering::Relaxed),
            awaited_bytes: load(&counters.pinned_bytes),
            spans_received: counters.spans_received.load(Ordering::Relaxed),
            spans_stored: counters.spans_stored.load(Ordering::Relaxed),
            spans_rejected: counters.spans_rejected.load(Ordering::Relaxed),
            spans_evicted: counters.spans_evicted.load(Ordering::Relaxed),
            traces_evicted: counters.traces_evicted.load(Ordering::Relaxed),
            duplicate_spans: counters.duplicate_spans.load(Ordering::Relaxed),
            traces_held,
            spans_held: load(&counters.spans_held),
            requests_refused: counters.requests_refused.load(Ordering::Relaxed),
            memory_bytes: self.memory_bytes(),
        }
    }
}

#[cfg(test)]
mod tests;
