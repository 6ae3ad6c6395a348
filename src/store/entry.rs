//! One trace as the store holds it: its spans as OTLP wire bytes in segments of one resource
//! and scope, its span IDs for duplicate detection and counts without decoding, and the
//! books (update time, queue `seq`, estimated bytes, pins) the store and eviction keep on it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::model::{Resource, Scope, Span, SpanId, TraceId};
use crate::otlp::{self, RawSpan};

/// Above this many spans a trace keeps a hash set of its span IDs for duplicate detection;
/// below it a linear scan over the IDs is cheaper than hashing.
const LINEAR_DEDUP_LIMIT: usize = 32;
/// Estimated bytes per slot of that hash set (the ID and its control byte, rounded up).
const SPAN_ID_INDEX_BYTES: usize = 16;

/// One trace as held by the map.
pub(super) struct TraceEntry {
    /// The trace's spans as OTLP wire bytes, in arrival order.
    segments: Vec<Segment>,
    /// The stored spans' IDs, in arrival order: duplicate detection and counts without decoding.
    pub(super) span_ids: Vec<SpanId>,
    /// The same IDs hashed, built once the trace outgrows [`LINEAR_DEDUP_LIMIT`].
    /// Boxed: most traces never need it, and an empty `Option<Box<_>>` costs one word.
    id_index: Option<Box<HashSet<SpanId>>>,
    pub(super) last_update: Instant,
    /// The `seq` of this trace's live queue item (0 while it has no spans).
    pub(super) seq: u64,
    /// Estimated heap bytes held by this trace's spans (segments, IDs, index).
    pub(super) bytes: usize,
    /// Waits currently pinning this trace; a pinned trace is never evicted.
    pub(super) pins: u32,
    /// Present while pinned: bumped after every insert that stored a span.
    pub(super) waker: Option<watch::Sender<()>>,
}

/// Consecutive spans of a trace that share a resource and a scope, as `ScopeSpans.spans`
/// fields ([`otlp::decode_spans`] reads them back).
struct Segment {
    resource: Arc<Resource>,
    scope: Arc<Scope>,
    bytes: Vec<u8>,
}

impl Segment {
    fn holds(&self, resource: &Arc<Resource>, scope: &Arc<Scope>) -> bool {
        // Spans of one request share the `Arc`s; a later request of the same service brings
        // equal ones, which a content comparison (a few attributes) still merges.
        (Arc::ptr_eq(&self.resource, resource) || *self.resource == **resource)
            && (Arc::ptr_eq(&self.scope, scope) || *self.scope == **scope)
    }
}

/// What adding one run of spans to a trace did.
#[derive(Default)]
pub(super) struct RunOutcome {
    pub(super) stored: usize,
    pub(super) duplicates: usize,
    /// Growth of the trace's estimated bytes.
    pub(super) bytes: usize,
}

impl TraceEntry {
    pub(super) fn empty(now: Instant) -> Self {
        TraceEntry {
            segments: Vec::new(),
            span_ids: Vec::new(),
            id_index: None,
            last_update: now,
            seq: 0,
            bytes: 0,
            pins: 0,
            waker: None,
        }
    }

    fn contains(&self, span_id: SpanId) -> bool {
        match &self.id_index {
            Some(ids) => ids.contains(&span_id),
            None => self.span_ids.contains(&span_id),
        }
    }

    /// Stores the spans (all of this trace, `resource` and `scope`) whose IDs are not present.
    pub(super) fn add_run(
        &mut self,
        resource: &Arc<Resource>,
        scope: &Arc<Scope>,
        spans: &[RawSpan<'_>],
    ) -> RunOutcome {
        let mut outcome = RunOutcome::default();
        let held_before = self.heap_bytes();
        if !self.segments.last().is_some_and(|segment| segment.holds(resource, scope)) {
            // Most traces keep one segment: no spare room for more (a Vec's first growth
            // would reserve four).
            self.segments.reserve_exact(1);
            self.segments.push(Segment {
                resource: resource.clone(),
                scope: scope.clone(),
                bytes: Vec::new(),
            });
        }
        self.span_ids.reserve(spans.len());
        let run_bytes = spans.iter().map(|span| otlp::span_field_len(span.bytes.len())).sum();
        self.last_segment().bytes.reserve(run_bytes);
        for span in spans {
            if self.contains(span.span_id) {
                outcome.duplicates += 1;
                continue;
            }
            otlp::append_span_field(&mut self.last_segment().bytes, span.bytes);
            self.span_ids.push(span.span_id);
            if let Some(ids) = &mut self.id_index {
                ids.insert(span.span_id);
            } else if self.span_ids.len() > LINEAR_DEDUP_LIMIT {
                self.id_index = Some(Box::new(self.span_ids.iter().copied().collect()));
            }
            outcome.stored += 1;
        }
        if self.last_segment().bytes.is_empty() {
            // Every span was a duplicate: drop the segment made for them.
            self.segments.pop();
        }
        outcome.bytes = self.heap_bytes().saturating_sub(held_before);
        self.bytes += outcome.bytes;
        outcome
    }

    fn last_segment(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("add_run ensures a segment first")
    }

    /// The heap this trace's spans hold: segment buffers, ID list and index.
    pub(super) fn heap_bytes(&self) -> usize {
        let segments: usize = self.segments.iter().map(|segment| segment.bytes.capacity()).sum();
        segments
            + self.segments.capacity() * std::mem::size_of::<Segment>()
            + self.span_ids.capacity() * std::mem::size_of::<SpanId>()
            + self.id_index.as_ref().map_or(0, |ids| ids.capacity() * SPAN_ID_INDEX_BYTES)
    }

    pub(super) fn len(&self) -> usize {
        self.span_ids.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.span_ids.is_empty()
    }

    /// A copy of the stored spans, to decode once the map's guard is released
    /// ([`StoredSpans::decode`]): copying bytes is far cheaper than decoding them, so a read
    /// of a large trace holds up inserts into its shard only briefly.
    pub(super) fn stored(&self) -> StoredSpans {
        StoredSpans {
            n_spans: self.len(),
            segments: self
                .segments
                .iter()
                .map(|segment| Segment {
                    resource: segment.resource.clone(),
                    scope: segment.scope.clone(),
                    bytes: segment.bytes.clone(),
                })
                .collect(),
        }
    }
}

/// A trace's stored spans, copied out of the map.
pub(super) struct StoredSpans {
    n_spans: usize,
    segments: Vec<Segment>,
}

impl StoredSpans {
    /// The spans, decoded, in arrival order.
    pub(super) fn decode(self, trace_id: TraceId) -> Vec<Arc<Span>> {
        let mut spans = Vec::with_capacity(self.n_spans);
        let mut decoded = Vec::new();
        for segment in &self.segments {
            if let Err(err) =
                otlp::decode_spans(&segment.bytes, &segment.resource, &segment.scope, &mut decoded)
            {
                // Cannot happen: every segment holds spans validated on the way in (or
                // encoded by `insert`). Say so loudly rather than drop the trace.
                tracing::error!(%trace_id, %err, "stored spans failed to decode");
            }
            spans.extend(decoded.drain(..).map(Arc::new));
        }
        spans
    }
}
