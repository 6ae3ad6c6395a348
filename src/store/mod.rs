//! The in-memory trace store: a sharded map from trace ID to that trace's spans, with
//! waiters woken on every insert, completeness checks, bounds and eviction, and counters.
//!
//! API CONTRACT (other modules code against these signatures; the bodies are being built).

use std::time::{Duration, Instant};

use crate::model::{Span, SpanId, Trace, TraceId};

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
    _private: (),
}

/// Owns the background eviction/stats task; dropping it stops the task.
pub struct StoreGuard {
    _private: (),
}

impl TraceStore {
    /// A store and the guard of its background task (needs a tokio runtime).
    pub fn new(_config: StoreConfig) -> (TraceStore, StoreGuard) {
        todo!()
    }

    /// Stores spans (any mix of traces), each span ID once per trace, wakes the waiters of
    /// every touched trace, and evicts above the bounds.
    pub fn insert(&self, _spans: Vec<Span>) -> InsertOutcome {
        todo!()
    }

    /// Counts spans the receivers rejected (bad IDs) so `Stats` reports them.
    pub fn record_rejected(&self, _n_spans: u64) {
        todo!()
    }

    /// A snapshot of one trace.
    pub fn get(&self, _trace_id: TraceId) -> Option<Trace> {
        todo!()
    }

    /// The most recently updated traces first.
    pub fn list(&self, _limit: usize) -> Vec<TraceSummary> {
        todo!()
    }

    pub fn stats(&self) -> StoreStats {
        todo!()
    }

    /// Waits until the trace is complete by the design's rules 1, 2 and 4 plus `check`
    /// (rule 3), or judges it as it is after `grace` of quiet or at `timeout`. Event-driven:
    /// woken by every insert for this trace. The trace is pinned (never evicted) while waited on.
    pub async fn wait(
        &self,
        _trace_id: TraceId,
        _options: &WaitOptions,
        _check: &CompletenessCheck,
    ) -> WaitOutcome {
        todo!()
    }
}
