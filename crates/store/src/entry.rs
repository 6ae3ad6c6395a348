//! One trace as the store holds it: its spans as OTLP wire bytes in segments of one resource
//! and scope, its span IDs for duplicate detection and counts without decoding, and the
//! books (update time, queue `seq`, estimated bytes, pins) the store and eviction keep on it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::digest::{Catalogue, Digest};
use model::otlp::{self, RawSpan};
use model::{Resource, Scope, Span, SpanId, Str, TraceId};

/// Above this many spans a trace keeps a hash set of its span IDs for duplicate detection;
/// below it a linear scan over the IDs is cheaper than hashing.
const LINEAR_DEDUP_LIMIT: usize = 32;

/// One trace as held by the map.
pub(super) struct TraceEntry {
    /// Spans stored since the trace was last compacted, as OTLP wire bytes, in arrival order.
    segments: Vec<Segment>,
    /// The spans that arrived before, compacted into one compressed block ([`Packed`]);
    /// shared so that reads and the compactor copy it out by reference count.
    packed: Option<Arc<Packed>>,
    /// The stored spans' IDs, in arrival order: duplicate detection and counts without decoding.
    pub(super) span_ids: Vec<SpanId>,
    /// The same IDs hashed, built once the trace outgrows [`LINEAR_DEDUP_LIMIT`].
    /// Boxed: most traces never need it, and an empty `Option<Box<_>>` costs one word.
    #[allow(clippy::box_collection)]
    id_index: Option<Box<HashSet<SpanId>>>,
    pub(super) last_update: Instant,
    /// The `seq` of this trace's live queue item (0 while it has no spans).
    pub(super) seq: u64,
    /// Heap bytes held by this trace, from its allocations' capacities ([`TraceEntry::heap_bytes`]).
    pub(super) bytes: usize,
    /// Waits currently pinning this trace; a pinned trace is never evicted.
    pub(super) pins: u32,
    /// Spans refused because the trace, while awaited, had reached its cap.
    pub(super) refused: u32,
    /// Present while pinned: bumped after every insert that stored a span.
    pub(super) waker: Option<watch::Sender<()>>,
    /// What searches read without decoding the spans ([`Digest`]).
    pub(super) digest: Digest,
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
        same_origin(&self.resource, &self.scope, resource, scope)
    }
}

fn same_origin(r1: &Arc<Resource>, s1: &Arc<Scope>, r2: &Arc<Resource>, s2: &Arc<Scope>) -> bool {
    // Spans of one request share the `Arc`s; a later request of the same service brings
    // equal ones, which a content comparison (a few attributes) still merges.
    (Arc::ptr_eq(r1, r2) || **r1 == **r2) && (Arc::ptr_eq(s1, s2) || **s1 == **s2)
}

/// A compacted trace: its segments' bytes concatenated and compressed as one LZ4 block
/// (BENCHMARKS.md, Store: compaction, compares the choices), with where each segment
/// starts. A trace's spans repeat keys, resource and scope values and IDs a great deal, and
/// one block per trace keeps a read to one decompression of that trace alone.
pub(super) struct Packed {
    parts: Box<[Part]>,
    block: Box<[u8]>,
    raw_len: usize,
}

/// One segment inside a [`Packed`] block.
struct Part {
    resource: Arc<Resource>,
    scope: Arc<Scope>,
    len: usize,
}

impl Packed {
    fn heap_bytes(&self) -> usize {
        // The `Arc`'s own allocation (two counts) and the two boxed slices.
        2 * std::mem::size_of::<usize>()
            + std::mem::size_of::<Packed>()
            + self.parts.len() * std::mem::size_of::<Part>()
            + self.block.len()
    }

    /// The concatenated segment bytes, decompressed.
    fn raw(&self) -> Vec<u8> {
        match lz4_flex::block::decompress(&self.block, self.raw_len) {
            Ok(raw) => raw,
            Err(err) => {
                // Cannot happen: the block was compressed by `compact` from exactly this
                // many bytes. Say so loudly rather than panic.
                tracing::error!(%err, "compacted trace failed to decompress");
                Vec::new()
            }
        }
    }
}

/// Where a run of spans comes from: its resource and scope, and the resource's
/// `service.name` (`None` without one) for the digest.
#[derive(Clone, Copy)]
pub(super) struct Origin<'a> {
    pub(super) resource: &'a Arc<Resource>,
    pub(super) scope: &'a Arc<Scope>,
    pub(super) service: &'a Option<Str>,
}

/// What adding one run of spans to a trace did.
#[derive(Default)]
pub(super) struct RunOutcome {
    pub(super) stored: usize,
    pub(super) duplicates: usize,
    /// Spans refused because the trace had reached `cap`.
    pub(super) refused: usize,
    /// Growth of the trace's heap bytes.
    pub(super) bytes: usize,
    /// Growth of its open segments' buffers (part of `bytes`).
    pub(super) open_bytes: usize,
}

/// The most an awaited trace may hold (issue 13, defect 5): spans past it are refused.
#[derive(Clone, Copy, Debug)]
pub(super) struct TraceCap {
    pub(super) spans: usize,
    pub(super) bytes: usize,
}

impl TraceEntry {
    pub(super) fn empty(now: Instant) -> Self {
        TraceEntry {
            segments: Vec::new(),
            packed: None,
            span_ids: Vec::new(),
            id_index: None,
            last_update: now,
            seq: 0,
            bytes: 0,
            pins: 0,
            refused: 0,
            waker: None,
            digest: Digest::default(),
        }
    }

    fn contains(&self, span_id: SpanId) -> bool {
        match &self.id_index {
            Some(ids) => ids.contains(&span_id),
            None => self.span_ids.contains(&span_id),
        }
    }

    /// Stores the spans (all of this trace, `resource` and `scope`) whose IDs are not present,
    /// up to `cap` when one is given.
    /// `service` is the resource's `service.name`, for the digest, which enters the trace's
    /// new operations in `catalogue`.
    pub(super) fn add_run(
        &mut self,
        origin: Origin<'_>,
        spans: &[RawSpan<'_>],
        cap: Option<TraceCap>,
        catalogue: &Catalogue,
    ) -> RunOutcome {
        let Origin { resource, scope, service } = origin;
        let mut outcome = RunOutcome::default();
        // Room is reserved for the new spans only: a re-sent request must not grow the
        // trace's buffers (duplicates are found before anything is reserved).
        let (mut n_new, mut new_bytes) = (0usize, 0usize);
        for span in spans {
            if !self.contains(span.span_id) {
                n_new += 1;
                new_bytes += otlp::span_field_len(span.bytes.len());
            }
        }
        if n_new == 0 {
            outcome.duplicates = spans.len();
            return outcome;
        }
        let held_before = self.heap_bytes();
        let open_before = self.open_bytes();
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
        if cap.is_none() {
            self.span_ids.reserve(n_new);
            self.last_segment().bytes.reserve(new_bytes);
        }
        for span in spans {
            if self.contains(span.span_id) {
                outcome.duplicates += 1;
                continue;
            }
            if let Some(cap) = cap {
                let field = otlp::span_field_len(span.bytes.len());
                if self.span_ids.len() >= cap.spans || self.heap_bytes() + field > cap.bytes {
                    outcome.refused += 1;
                    continue;
                }
            }
            otlp::append_span_field(&mut self.last_segment().bytes, span.bytes);
            match otlp::peek_span(span.bytes) {
                Ok(peek) => self.digest.add(service, &peek, catalogue),
                // Cannot happen: the bytes were validated on the way in.
                Err(err) => tracing::error!(%err, "stored span could not be indexed"),
            }
            self.span_ids.push(span.span_id);
            if let Some(ids) = &mut self.id_index {
                ids.insert(span.span_id);
            } else if self.span_ids.len() > LINEAR_DEDUP_LIMIT {
                self.id_index = Some(Box::new(self.span_ids.iter().copied().collect()));
            }
            outcome.stored += 1;
        }
        if self.last_segment().bytes.is_empty() {
            // Every span was refused: drop the segment made for them.
            self.segments.pop();
        }
        self.refused = self.refused.saturating_add(outcome.refused.try_into().unwrap_or(u32::MAX));
        outcome.bytes = self.heap_bytes().saturating_sub(held_before);
        outcome.open_bytes = self.open_bytes().saturating_sub(open_before);
        self.bytes += outcome.bytes;
        outcome
    }

    fn last_segment(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("add_run ensures a segment first")
    }

    /// The open segments' buffers: spans not yet compacted.
    pub(super) fn open_bytes(&self) -> usize {
        self.segments.iter().map(|segment| segment.bytes.capacity()).sum()
    }

    /// The heap this trace holds, from its allocations' capacities: open segment buffers,
    /// the compacted block, ID list and index.
    pub(super) fn heap_bytes(&self) -> usize {
        self.open_bytes()
            + self.segments.capacity() * std::mem::size_of::<Segment>()
            + self.packed.as_ref().map_or(0, |packed| packed.heap_bytes())
            + self.span_ids.capacity() * std::mem::size_of::<SpanId>()
            + self.id_index.as_ref().map_or(0, |ids| hash_set_bytes(ids.capacity()))
            + self.digest.heap_bytes()
    }

    pub(super) fn len(&self) -> usize {
        self.span_ids.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.span_ids.is_empty()
    }

    /// Whether spans arrived since the trace was last compacted.
    pub(super) fn has_open_spans(&self) -> bool {
        !self.segments.is_empty()
    }

    /// A copy of the stored spans, to decode once the map's guard is released
    /// ([`StoredSpans::decode`]): copying bytes is far cheaper than decoding them, so a read
    /// of a large trace holds up inserts into its shard only briefly. A compacted block is
    /// shared, not copied.
    pub(super) fn stored(&self) -> StoredSpans {
        StoredSpans {
            n_spans: self.len(),
            packed: self.packed.clone(),
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

    /// Replaces the open segments and the old block by `packed`, made from a copy of them
    /// ([`StoredSpans::compact`]); returns the change in heap bytes. The caller checked that the entry did not change
    /// since the copy (its `seq`). Also returns the open bytes it freed.
    pub(super) fn swap_in(&mut self, packed: Packed) -> (isize, usize) {
        let before = self.heap_bytes();
        let open = self.open_bytes();
        self.segments = Vec::new();
        self.packed = Some(Arc::new(packed));
        // A fresh exact-size copy rather than a shrink in place: the list, allocated while
        // the trace grew, sits among its open buffers and would pin the holes they leave
        // once freed; the copy lands with the other long-lived allocations of this moment
        // (measured: BENCHMARKS.md, Store: memory bound and compaction).
        self.span_ids = self.span_ids.as_slice().to_vec();
        self.digest.shrink();
        let after = self.heap_bytes();
        self.bytes = after;
        (after as isize - before as isize, open)
    }
}

/// A hashbrown set's allocation for `capacity`: buckets (a power of two at 7/8 load) of one
/// ID and one control byte each, plus a group of control bytes.
fn hash_set_bytes(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        (capacity + 1).next_power_of_two()
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    buckets * (std::mem::size_of::<SpanId>() + 1) + 16
}

/// A trace's stored spans, copied out of the map.
pub(super) struct StoredSpans {
    n_spans: usize,
    packed: Option<Arc<Packed>>,
    segments: Vec<Segment>,
}

impl StoredSpans {
    /// The spans, decoded, in arrival order.
    pub(super) fn decode(self, trace_id: TraceId) -> Vec<Arc<Span>> {
        let mut spans = Vec::with_capacity(self.n_spans);
        let mut decoded = Vec::new();
        let mut decode = |bytes: &[u8], resource: &Arc<Resource>, scope: &Arc<Scope>| {
            if let Err(err) = otlp::decode_spans(bytes, resource, scope, &mut decoded) {
                // Cannot happen: every segment holds spans validated on the way in (or
                // encoded by `insert`). Say so loudly rather than drop the trace.
                tracing::error!(%trace_id, %err, "stored spans failed to decode");
            }
            spans.extend(decoded.drain(..).map(Arc::new));
        };
        if let Some(packed) = &self.packed {
            let raw = packed.raw();
            let mut at = 0;
            for part in &packed.parts {
                let Some(bytes) = raw.get(at..at + part.len) else { break };
                decode(bytes, &part.resource, &part.scope);
                at += part.len;
            }
        }
        for segment in &self.segments {
            decode(&segment.bytes, &segment.resource, &segment.scope);
        }
        spans
    }

    /// Compacts these spans (an earlier block and the open segments after it) into one
    /// block. Runs without any map guard.
    pub(super) fn compact(&self) -> Packed {
        // The common case, a trace compacted once with one segment, compresses its bytes
        // where they are; otherwise the earlier block's bytes and every segment are joined
        // first.
        let joined;
        let (raw, parts): (&[u8], Vec<Part>) = match (&self.packed, self.segments.as_slice()) {
            (None, [segment]) => (
                &segment.bytes,
                vec![Part {
                    resource: segment.resource.clone(),
                    scope: segment.scope.clone(),
                    len: segment.bytes.len(),
                }],
            ),
            _ => {
                let (bytes, parts) = self.join();
                joined = bytes;
                (&joined, parts)
            }
        };
        Packed { parts: parts.into_boxed_slice(), block: compress(raw), raw_len: raw.len() }
    }

    /// The earlier block's bytes followed by every open segment's, and their parts.
    fn join(&self) -> (Vec<u8>, Vec<Part>) {
        let (mut raw, mut parts) = match &self.packed {
            Some(packed) => (
                packed.raw(),
                packed
                    .parts
                    .iter()
                    .map(|part| Part {
                        resource: part.resource.clone(),
                        scope: part.scope.clone(),
                        len: part.len,
                    })
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        raw.reserve(self.segments.iter().map(|segment| segment.bytes.len()).sum());
        for segment in &self.segments {
            raw.extend_from_slice(&segment.bytes);
            match parts.last_mut() {
                Some(part) if same_origin(&part.resource, &part.scope, &segment.resource, &segment.scope) => {
                    part.len += segment.bytes.len()
                }
                _ => parts.push(Part {
                    resource: segment.resource.clone(),
                    scope: segment.scope.clone(),
                    len: segment.bytes.len(),
                }),
            }
        }
        (raw, parts)
    }
}

/// `raw` as one LZ4 block, in an allocation of exactly its size: compressed into a buffer
/// the thread keeps (LZ4's worst case is larger than the input), then copied out once.
fn compress(raw: &[u8]) -> Box<[u8]> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
        match lz4_flex::block::compress_into(raw, &mut scratch) {
            Ok(len) => {
                let block = Box::from(&scratch[..len]);
                // A huge trace must not leave its worst case behind on the thread.
                if scratch.capacity() > SCRATCH_KEEP {
                    *scratch = Vec::new();
                }
                block
            }
            // Cannot happen: the buffer has the worst case's size.
            Err(_) => lz4_flex::block::compress(raw).into_boxed_slice(),
        }
    })
}

/// The most a thread's compression buffer keeps between compactions.
const SCRATCH_KEEP: usize = 1 << 20;
