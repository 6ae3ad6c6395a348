//! One trace as the store holds it: its spans as OTLP wire bytes in segments of one resource
//! and scope, its span IDs for duplicate detection (dropped once it is compacted, read back
//! from its blocks should a late span come), and the books (span count, update time, queue
//! `seq`, estimated bytes, pins) the store and eviction keep on it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::digest::{Catalogue, Digest, NewOps};
use crate::Stamp;
use model::otlp::{self, RawSpan};
use model::{Resource, Scope, Span, SpanId, Str, TraceId};

/// Above this many spans a trace keeps a hash set of its span IDs for duplicate detection;
/// below it a linear scan over the IDs is cheaper than hashing.
const LINEAR_DEDUP_LIMIT: usize = 32;

/// One trace as held by the map.
pub(super) struct TraceEntry {
    /// The open spans and the IDs; `None` once the trace is compacted the first time, so
    /// that a compacted trace (most of a store) holds one word for them in the map's slot
    /// rather than three vectors' (issue 23: bytes per span).
    open: Option<Box<Open>>,
    /// The spans that arrived before, compacted into compressed blocks ([`Packed`], the
    /// newest, which links to the earlier ones); shared so that reads and the compactor copy
    /// it out by reference count.
    packed: Option<Arc<Packed>>,
    pub(super) last_update: Stamp,
    /// The `seq` of this trace's live queue item (0 while it has no spans).
    pub(super) seq: u64,
    /// Heap bytes held by this trace, from its allocations' capacities ([`TraceEntry::heap_bytes`]).
    pub(super) bytes: usize,
    /// Spans stored (the IDs' count, also while they are dropped). At most `u32::MAX`:
    /// [`TraceCap::spans`] is clamped to it, far beyond what any bound holds.
    n_spans: u32,
    /// Whether the IDs stay when the trace is compacted: set once a late span made them be
    /// read back, so that a trace that keeps growing reads them back once, not at every
    /// compaction.
    keep_ids: bool,
    /// The books of waits and refusals, which few traces have: boxed, so that the others
    /// hold one word for them (issue 23: bytes per trace). Not counted in `bytes`, as
    /// the wait's channel is not: there is one per wait or per trace at its cap.
    cold: Option<Box<Cold>>,
    /// What searches read without decoding the spans ([`Digest`]).
    pub(super) digest: Digest,
}

// A map slot per trace (and the table's spare ones): a change that widens the entry should
// fail to build rather than silently cost bytes on every trace (issue 23).
const _: () = assert!(std::mem::size_of::<TraceEntry>() <= 112);

/// What a trace holds while awaited, or once spans of it were refused.
#[derive(Default)]
pub(super) struct Cold {
    /// Waits currently pinning this trace; a pinned trace is never evicted.
    pub(super) pins: u32,
    /// Spans refused because the trace had reached its share of the store, or its cap as an
    /// awaited trace, or awaited traces theirs together.
    pub(super) refused: u32,
    /// Which bounds refused them ([`Refusal`] bits), for the wait's warning.
    pub(super) refused_by: u8,
    /// Present while pinned: bumped after every insert that stored a span.
    pub(super) waker: Option<watch::Sender<()>>,
}

/// What a trace holds while spans arrive.
#[derive(Default)]
struct Open {
    /// Spans stored since the trace was last compacted, as OTLP wire bytes, in arrival order.
    segments: Vec<Segment>,
    /// The stored spans' IDs, in arrival order, for duplicate detection; dropped when the
    /// trace is compacted the first time (8 bytes a span of the memory target, issue 23),
    /// read back from the blocks should a late span come ([`TraceEntry::ensure_ids`]).
    span_ids: Vec<SpanId>,
    /// The same IDs hashed, built once the trace outgrows [`LINEAR_DEDUP_LIMIT`].
    /// Boxed: most traces never need it, and an empty `Option<Box<_>>` costs one word.
    #[allow(clippy::box_collection)]
    id_index: Option<Box<HashSet<SpanId>>>,
}

impl Open {
    fn contains(&self, span_id: SpanId) -> bool {
        match &self.id_index {
            Some(ids) => ids.contains(&span_id),
            None => self.span_ids.contains(&span_id),
        }
    }

    fn last_segment(&mut self) -> &mut Segment {
        self.segments.last_mut().expect("add_run ensures a segment first")
    }
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

/// A compacted trace: a chain of blocks, each the bytes of segments compacted at once,
/// concatenated and compressed as one LZ4 block (BENCHMARKS.md, Store: compaction, compares
/// the choices), with where each segment starts. A trace's spans repeat keys, resource and
/// scope values and IDs a great deal, and most traces are compacted once, into one block.
///
/// A trace that keeps growing is compacted again and again; each compaction compresses only
/// what arrived since and links it to the blocks before (issue 22, item 4: recompressing the
/// whole trace each time was quadratic, and held the whole trace decompressed meanwhile).
/// Small blocks are merged with the new bytes while they are not much larger
/// ([`StoredSpans::compact`]), so a span is recompressed a few times at most and a trace
/// grown by many small exports still reads from a few blocks of up to [`BLOCK_RAW_MAX`].
pub(super) struct Packed {
    /// The blocks compacted before this one, newest first.
    earlier: Option<Arc<Packed>>,
    /// The raw length (4 bytes, little-endian), then the LZ4 block.
    block: Box<[u8]>,
    /// The dictionary the block was compressed with, kept for as long as the block is.
    dict: Option<Arc<Dict>>,
    /// The resource and scope of the block's spans when they share them (most blocks) ...
    origin: (Arc<Resource>, Arc<Scope>),
    /// ... or of each of its segments, when they do not (boxed twice: a thin pointer).
    /// With the length kept in the block and no cached sum, a `Packed` and its `Arc`'s counts
    /// fit the allocator's 80-byte size (issue 23: bytes per trace).
    #[allow(clippy::box_collection)]
    parts: Option<Box<Box<[Part]>>>,
}

const _: () = assert!(std::mem::size_of::<Packed>() <= 56);

/// A trace with more open bytes than this is compacted by the insert that brought them
/// (`TraceStore::insert_raw`).
pub(super) const OPEN_TRACE_MAX: usize = BLOCK_RAW_MAX;

/// Blocks are merged only up to this many bytes before compression: it bounds both what a
/// merge recompresses and the memory a compaction takes meanwhile. LZ4 finds matches within
/// 64 KiB, so larger blocks would compress no better.
const BLOCK_RAW_MAX: usize = 256 * 1024;

impl Drop for Packed {
    fn drop(&mut self) {
        // Unlinked one by one: dropping a long chain recursively could exhaust the stack.
        let mut earlier = self.earlier.take();
        while let Some(packed) = earlier {
            earlier = match Arc::try_unwrap(packed) {
                Ok(mut packed) => packed.earlier.take(),
                Err(_) => None,
            };
        }
    }
}

/// One segment inside a [`Packed`] block.
struct Part {
    resource: Arc<Resource>,
    scope: Arc<Scope>,
    len: usize,
}

impl Packed {
    fn new(
        earlier: Option<Arc<Packed>>,
        mut parts: Vec<Part>,
        raw: &[u8],
        dict: Option<Arc<Dict>>,
    ) -> Packed {
        // Moved, not cloned, from a one-part list: a resource's count is shared by every
        // trace of its requests, and counting it up and down showed in the fill's CPU.
        let (origin, parts) = match parts.len() {
            1 => match parts.pop() {
                Some(Part { resource, scope, .. }) => ((resource, scope), None),
                None => (Default::default(), None),
            },
            _ => {
                let origin = match parts.first() {
                    Some(first) => (first.resource.clone(), first.scope.clone()),
                    // Cannot happen: a block is made from at least one segment.
                    None => Default::default(),
                };
                (origin, Some(Box::new(parts.into_boxed_slice())))
            }
        };
        Packed { earlier, block: compress(raw, dict.as_deref()), dict, origin, parts }
    }

    fn raw_len(&self) -> usize {
        self.block.first_chunk().map_or(0, |len| u32::from_le_bytes(*len) as usize)
    }

    fn own_heap_bytes(&self) -> usize {
        // The `Arc`'s own allocation (two counts), the block and the rare part list.
        2 * std::mem::size_of::<usize>()
            + std::mem::size_of::<Packed>()
            + self.block.len()
            + self.parts.as_ref().map_or(0, |parts| {
                std::mem::size_of::<Box<[Part]>>() + parts.len() * std::mem::size_of::<Part>()
            })
    }

    /// Heap bytes of this block and every earlier one.
    fn chain_bytes(&self) -> usize {
        let mut bytes = self.own_heap_bytes();
        let mut earlier = self.earlier.as_deref();
        while let Some(packed) = earlier {
            bytes += packed.own_heap_bytes();
            earlier = packed.earlier.as_deref();
        }
        bytes
    }

    /// This block and the earlier ones, oldest first.
    fn chain(&self) -> Vec<&Packed> {
        let mut chain = vec![self];
        while let Some(earlier) = chain.last().and_then(|packed| packed.earlier.as_deref()) {
            chain.push(earlier);
        }
        chain.reverse();
        chain
    }

    /// The block's segments in order: resource, scope and length.
    fn parts(&self) -> impl Iterator<Item = (&Arc<Resource>, &Arc<Scope>, usize)> {
        let one = self.parts.is_none().then(|| (&self.origin.0, &self.origin.1, self.raw_len()));
        let many = self.parts.iter().flat_map(|parts| parts.iter());
        one.into_iter().chain(many.map(|part| (&part.resource, &part.scope, part.len)))
    }

    fn cloned_parts(&self) -> Vec<Part> {
        self.parts()
            .map(|(resource, scope, len)| Part { resource: resource.clone(), scope: scope.clone(), len })
            .collect()
    }

    /// The concatenated segment bytes, decompressed.
    fn raw(&self) -> Vec<u8> {
        let block = self.block.get(4..).unwrap_or_default();
        let raw = match &self.dict {
            Some(dict) => {
                lz4rip::block::DecompressorRef::with_dict(&dict.bytes).decompress(block, self.raw_len())
            }
            None => lz4rip::decompress(block, self.raw_len()),
        };
        match raw {
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
    /// Which bounds refused them ([`Refusal`] bits).
    pub(super) refused_by: u8,
    /// Growth of the trace's heap bytes.
    pub(super) bytes: usize,
    /// Growth of its open segments' buffers (part of `bytes`).
    pub(super) open_bytes: usize,
}

/// The most a trace may hold: its share of the store (issue 22, item 4), less while it is
/// awaited (issue 13, defect 5); spans past it are refused.
#[derive(Clone, Copy, Debug)]
pub(super) struct TraceCap {
    pub(super) spans: usize,
    pub(super) bytes: usize,
    /// How much this insert may grow the trace's bytes: what awaited traces have left of their
    /// share together (issue 22, item 3); `usize::MAX` for a trace not awaited.
    pub(super) growth: usize,
    /// The [`Refusal`] bit charged when `spans` or `bytes` refuses a span.
    pub(super) by: u8,
}

/// Why spans of a trace were refused, as bits of [`TraceEntry::refused_by`].
pub(super) struct Refusal;

impl Refusal {
    /// The trace reached its share of the store (`--max-trace-share`).
    pub(super) const SHARE: u8 = 1;
    /// The trace, awaited, reached an awaited trace's cap.
    pub(super) const AWAITED: u8 = 2;
    /// Awaited traces together reached their share of the store.
    pub(super) const AWAITED_TOTAL: u8 = 4;
}

/// Room a capped run may need beyond its spans' bytes, per span: its ID, and what the ID
/// index and the digest may grow by.
const SLACK_PER_SPAN: usize = 64;

impl TraceEntry {
    pub(super) fn empty(now: Stamp) -> Self {
        TraceEntry {
            open: None,
            packed: None,
            last_update: now,
            seq: 0,
            bytes: 0,
            n_spans: 0,
            keep_ids: false,
            cold: None,
            digest: Digest::default(),
        }
    }

    /// The open spans and IDs, made when the trace has none; reads the span IDs back from
    /// the compacted blocks when compaction dropped them (a late span of the trace arrived,
    /// to be checked against them), and keeps them from now on.
    fn ensure_ids(&mut self) -> &mut Open {
        if self.span_ids().len() != self.len() {
            self.read_ids_back();
        }
        self.open.get_or_insert_with(Default::default)
    }

    #[cold]
    fn read_ids_back(&mut self) {
        self.keep_ids = true;
        let mut ids = Vec::with_capacity(self.len() + 1);
        self.packed_ids(&mut ids);
        let open = self.open.get_or_insert_with(Default::default);
        for segment in &open.segments {
            if let Err(err) = otlp::stored_span_ids(&segment.bytes, &mut ids) {
                tracing::error!(%err, "stored span IDs failed to read back");
            }
        }
        if ids.len() > LINEAR_DEDUP_LIMIT {
            open.id_index = Some(Box::new(ids.iter().copied().collect()));
        }
        open.span_ids = ids;
    }

    /// The IDs of the compacted spans, oldest first, read from the blocks.
    fn packed_ids(&self, ids: &mut Vec<SpanId>) {
        for block in self.packed.iter().flat_map(|packed| packed.chain()) {
            if let Err(err) = otlp::stored_span_ids(&block.raw(), ids) {
                // Cannot happen: the block holds spans validated on the way in.
                tracing::error!(%err, "compacted trace's span IDs failed to read back");
            }
        }
    }

    /// Waits currently pinning this trace.
    pub(super) fn pins(&self) -> u32 {
        self.cold.as_ref().map_or(0, |cold| cold.pins)
    }

    /// Spans refused, and by which bounds ([`Refusal`] bits).
    pub(super) fn refused(&self) -> (u32, u8) {
        self.cold.as_ref().map_or((0, 0), |cold| (cold.refused, cold.refused_by))
    }

    /// The channel that wakes this trace's waits, while any is waiting.
    pub(super) fn waker(&self) -> Option<&watch::Sender<()>> {
        self.cold.as_ref().and_then(|cold| cold.waker.as_ref())
    }

    pub(super) fn cold_mut(&mut self) -> &mut Cold {
        self.cold.get_or_insert_with(Default::default)
    }

    /// Drops the cold books once nothing is left in them.
    pub(super) fn tidy_cold(&mut self) {
        if self.cold.as_ref().is_some_and(|cold| cold.pins == 0 && cold.refused == 0) {
            self.cold = None;
        }
    }

    fn segments(&self) -> &[Segment] {
        self.open.as_deref().map_or(&[], |open| &open.segments)
    }

    fn span_ids(&self) -> &[SpanId] {
        self.open.as_deref().map_or(&[], |open| &open.span_ids)
    }

    /// Whether a span other than `span_id` is stored (a wait's "has anything but the trigger
    /// arrived"); reads the IDs from the blocks only for a compacted trace of one span.
    pub(super) fn holds_other_than(&self, span_id: Option<SpanId>) -> bool {
        match self.n_spans {
            0 => false,
            // IDs are unique within a trace.
            1 if span_id.is_some() => {
                if let Some(&only) = self.span_ids().first() {
                    return Some(only) != span_id;
                }
                let mut ids = Vec::new();
                self.packed_ids(&mut ids);
                ids.first().is_some_and(|&only| Some(only) != span_id)
            }
            _ => true,
        }
    }

    /// The IDs, unless compaction dropped them.
    #[cfg(test)]
    pub(super) fn ids_held(&self) -> Option<&[SpanId]> {
        let ids = self.span_ids();
        (ids.len() == self.len()).then_some(ids)
    }

    /// Stores the spans (all of this trace, `resource` and `scope`) whose IDs are not present,
    /// up to `cap`.
    /// `service` is the resource's `service.name`, for the digest, which enters the trace's
    /// new operations in `catalogue` (gathered in `new_ops`, left empty for the next run).
    pub(super) fn add_run<'a>(
        &mut self,
        origin: Origin<'a>,
        spans: &[RawSpan<'a>],
        cap: TraceCap,
        catalogue: &Catalogue,
        new_ops: &mut NewOps<'a>,
    ) -> RunOutcome {
        let Origin { resource, scope, service } = origin;
        let mut outcome = RunOutcome::default();
        let held_at_start = self.heap_bytes();
        let open = self.ensure_ids();
        // Room is reserved for the new spans only: a re-sent request must not grow the
        // trace's buffers (duplicates are found before anything is reserved).
        let (mut n_new, mut new_bytes) = (0usize, 0usize);
        for span in spans {
            if !open.contains(span.span_id) {
                n_new += 1;
                new_bytes += otlp::span_field_len(span.bytes.len());
            }
        }
        if n_new == 0 {
            outcome.duplicates = spans.len();
            outcome.bytes = self.heap_bytes().saturating_sub(held_at_start);
            self.bytes += outcome.bytes;
            return outcome;
        }
        let held_before = self.heap_bytes();
        let open_before = self.open_bytes();
        let open = self.ensure_ids();
        if !open.segments.last().is_some_and(|segment| segment.holds(resource, scope)) {
            // Most traces keep one segment: no spare room for more (a Vec's first growth
            // would reserve four).
            open.segments.reserve_exact(1);
            open.segments.push(Segment {
                resource: resource.clone(),
                scope: scope.clone(),
                bytes: Vec::new(),
            });
        }
        // Most runs are far from the cap: checked once for the whole run, from what its
        // growth could be at most (every buffer but the compacted blocks doubling, and the new
        // bytes twice over), then stored with room reserved. Near the cap, span by span.
        let unpacked = held_before - self.packed_bytes();
        let worst_growth =
            unpacked.saturating_add(new_bytes.saturating_mul(2)).saturating_add(n_new * SLACK_PER_SPAN)
                + 1024;
        let far_from_cap = self.len() + n_new <= cap.spans
            && held_before.saturating_add(worst_growth) <= cap.bytes
            && worst_growth <= cap.growth;
        if far_from_cap {
            let open = self.ensure_ids();
            open.span_ids.reserve(n_new);
            open.last_segment().bytes.reserve(new_bytes);
        }
        let mut new_left = new_bytes;
        for span in spans {
            if self.ensure_ids().contains(span.span_id) {
                outcome.duplicates += 1;
                continue;
            }
            let field = otlp::span_field_len(span.bytes.len());
            if !far_from_cap {
                if let Err(by) = self.make_room(field, new_left, held_before, cap) {
                    outcome.refused += 1;
                    outcome.refused_by |= by;
                    continue;
                }
            }
            new_left = new_left.saturating_sub(field);
            let open = self.ensure_ids();
            otlp::append_span_field(&mut open.last_segment().bytes, span.bytes);
            open.span_ids.push(span.span_id);
            if let Some(ids) = &mut open.id_index {
                ids.insert(span.span_id);
            } else if open.span_ids.len() > LINEAR_DEDUP_LIMIT {
                open.id_index = Some(Box::new(open.span_ids.iter().copied().collect()));
            }
            self.digest.add(service.as_deref(), &span.peek, new_ops);
            self.n_spans += 1;
            outcome.stored += 1;
        }
        self.digest.enter_new(new_ops, catalogue);
        let open = self.ensure_ids();
        if open.last_segment().bytes.is_empty() {
            // Every span was refused: drop the segment made for them (and the list's room
            // for it, when it was the first: a trace refused whole holds nothing).
            open.segments.pop();
            if open.segments.is_empty() {
                open.segments = Vec::new();
                if open.span_ids.is_empty() {
                    self.open = None;
                }
            }
        }
        if outcome.refused > 0 {
            let cold = self.cold_mut();
            cold.refused = cold.refused.saturating_add(outcome.refused.try_into().unwrap_or(u32::MAX));
            cold.refused_by |= outcome.refused_by;
        }
        outcome.bytes = self.heap_bytes().saturating_sub(held_at_start);
        outcome.open_bytes = self.open_bytes().saturating_sub(open_before);
        self.bytes += outcome.bytes;
        outcome
    }

    /// Whether one more span of `field` bytes fits within `cap` (the trace having held
    /// `held_before` at the start of the run); makes sure that storing it grows the trace's
    /// buffers no further. Where the open segment's usual doubling would not fit but the span
    /// does, the segment grows just to the room left (at most by `new_left`, what the run
    /// still brings), once. Errs with the [`Refusal`] bit of the bound that refuses it.
    fn make_room(
        &mut self,
        field: usize,
        new_left: usize,
        held_before: usize,
        cap: TraceCap,
    ) -> Result<(), u8> {
        if self.len() >= cap.spans {
            return Err(cap.by);
        }
        let held = self.heap_bytes();
        let room_cap = cap.bytes.saturating_sub(held);
        let room_growth = cap.growth.saturating_sub(held.saturating_sub(held_before));
        let room = room_cap.min(room_growth);
        let by = if room_cap <= room_growth { cap.by } else { Refusal::AWAITED_TOTAL };
        // What the ID list and index grow by when full (their doubling), and the digest's
        // slack; these cannot be clamped.
        let open = self.ensure_ids();
        let ids = &open.span_ids;
        let mut other = if ids.len() == ids.capacity() {
            ids.capacity().max(4) * std::mem::size_of::<SpanId>()
        } else {
            0
        };
        other += match &open.id_index {
            Some(index) if index.len() >= index.capacity() => {
                hash_set_bytes(index.capacity() + 1) - hash_set_bytes(index.capacity())
            }
            None if ids.len() + 1 > LINEAR_DEDUP_LIMIT => hash_set_bytes(ids.len() + 1),
            _ => 0,
        };
        other += SLACK_PER_SPAN;
        let segment = &mut open.last_segment().bytes;
        let (len, capacity) = (segment.len(), segment.capacity());
        if len + field <= capacity {
            return if other <= room { Ok(()) } else { Err(by) };
        }
        // A Vec grows to twice its capacity, or to what it must hold if that is more.
        let doubled = (2 * capacity).max(len + field).max(8);
        if doubled - capacity + other <= room {
            return Ok(());
        }
        let target = (capacity + room.saturating_sub(other)).min(len + new_left.max(field));
        if target < len + field {
            return Err(by);
        }
        segment.reserve_exact(target - len);
        Ok(())
    }

    /// The open segments' buffers: spans not yet compacted.
    pub(super) fn open_bytes(&self) -> usize {
        self.segments().iter().map(|segment| segment.bytes.capacity()).sum()
    }

    /// The heap this trace holds, from its allocations' capacities: open segment buffers,
    /// the compacted block, ID list and index.
    pub(super) fn heap_bytes(&self) -> usize {
        let open = self.open.as_deref().map_or(0, |open| {
            std::mem::size_of::<Open>()
                + open.segments.capacity() * std::mem::size_of::<Segment>()
                + open.span_ids.capacity() * std::mem::size_of::<SpanId>()
                + open.id_index.as_ref().map_or(0, |ids| hash_set_bytes(ids.capacity()))
        });
        open + self.open_bytes() + self.packed_bytes() + self.digest.heap_bytes()
    }

    /// The compacted blocks' heap.
    fn packed_bytes(&self) -> usize {
        self.packed.as_ref().map_or(0, |packed| packed.chain_bytes())
    }

    pub(super) fn len(&self) -> usize {
        self.n_spans as usize
    }

    pub(super) fn is_empty(&self) -> bool {
        self.n_spans == 0
    }

    /// Whether spans arrived since the trace was last compacted.
    pub(super) fn has_open_spans(&self) -> bool {
        !self.segments().is_empty()
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
                .segments()
                .iter()
                .map(|segment| Segment {
                    resource: segment.resource.clone(),
                    scope: segment.scope.clone(),
                    bytes: segment.bytes.clone(),
                })
                .collect(),
        }
    }

    /// Replaces the open segments and the newest blocks by `packed`, made from a copy of them
    /// ([`StoredSpans::compact`]); returns the change in heap bytes. The caller checked that
    /// the entry did not change since the copy (its `seq`). Also returns the open bytes it freed.
    pub(super) fn swap_in(&mut self, packed: Packed) -> (isize, usize) {
        let (before, open) = (self.heap_bytes(), self.open_bytes());
        self.put_packed(packed, before, open)
    }

    /// Whether the open spans are few enough to compact under the map's guard
    /// ([`TraceEntry::compact_in_place`]).
    pub(super) fn compacts_in_place(&self) -> bool {
        self.open_bytes() <= IN_PLACE_MAX
    }

    /// Compacts the open segments where they are, under the caller's guard, as
    /// [`StoredSpans::compact`] and [`TraceEntry::swap_in`] would from a copy: for a small
    /// trace, copying its bytes out and looking it up again costs more than compressing
    /// them (issue 23: the copy was 5 % of the server's time under sustained load). Returns
    /// the change in heap bytes, the open bytes freed and the bytes compressed.
    pub(super) fn compact_in_place(&mut self, dicts: &Dicts) -> (isize, usize, usize) {
        let (before, open) = (self.heap_bytes(), self.open_bytes());
        let stored = StoredSpans {
            n_spans: self.len(),
            packed: self.packed.clone(),
            segments: self
                .open
                .as_deref_mut()
                .map(|open| std::mem::take(&mut open.segments))
                .unwrap_or_default(),
        };
        let (packed, compressed) = stored.compact(dicts);
        drop(stored);
        let (delta, open) = self.put_packed(packed, before, open);
        (delta, open, compressed)
    }

    fn put_packed(&mut self, packed: Packed, before: usize, open: usize) -> (isize, usize) {
        self.packed = Some(Arc::new(packed));
        match self.open.as_deref_mut() {
            Some(open) if self.keep_ids => {
                open.segments = Vec::new();
                // A fresh exact-size copy rather than a shrink in place: the list, allocated
                // while the trace grew, sits among its open buffers and would pin the holes
                // they leave once freed; the copy lands with the other long-lived
                // allocations of this moment (BENCHMARKS.md, Store: memory bound and
                // compaction).
                open.span_ids = open.span_ids.as_slice().to_vec();
            }
            // Most traces are complete once quiet: their IDs are read back from the block in
            // the rare case a late span comes.
            _ => self.open = None,
        }
        self.digest.shrink();
        let after = self.heap_bytes();
        self.bytes = after;
        (after as isize - before as isize, open)
    }
}

/// The most open bytes compacted under the map's guard: LZ4 takes some tens of
/// microseconds for this much, which an insert into the same shard may wait.
const IN_PLACE_MAX: usize = 16 * 1024;

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
        self.decode_range(trace_id, 0..usize::MAX)
    }

    /// How many spans are held.
    pub(super) fn len(&self) -> usize {
        self.n_spans
    }

    /// The spans at positions `range` of the arrival order, decoded; the others are stepped
    /// over undecoded, and no block after the range is decompressed.
    pub(super) fn decode_range(self, trace_id: TraceId, range: std::ops::Range<usize>) -> Vec<Arc<Span>> {
        let mut spans: Vec<Arc<Span>> = Vec::with_capacity(range.len().min(self.n_spans));
        // Where the next stored bytes start in the arrival order.
        let mut first = 0usize;
        let mut decode = |bytes: &[u8], resource: &Arc<Resource>, scope: &Arc<Scope>| {
            let local = range.start.saturating_sub(first)..range.end.saturating_sub(first);
            match otlp::decode_spans_range(bytes, resource, scope, local, &mut spans) {
                Ok(n_spans) => first += n_spans,
                // Cannot happen: every segment holds spans validated on the way in (or
                // encoded by `insert`). Say so loudly rather than drop the trace.
                Err(err) => tracing::error!(%trace_id, %err, "stored spans failed to decode"),
            }
            first < range.end
        };
        if let Some(packed) = &self.packed {
            // One block decompressed at a time.
            for block in packed.chain() {
                let raw = block.raw();
                let mut at = 0;
                for (resource, scope, len) in block.parts() {
                    let Some(bytes) = raw.get(at..at + len) else { break };
                    if !decode(bytes, resource, scope) {
                        return spans;
                    }
                    at += len;
                }
            }
        }
        for segment in &self.segments {
            if !decode(&segment.bytes, &segment.resource, &segment.scope) {
                break;
            }
        }
        spans
    }

    /// Compacts the open segments into a block linked to the earlier ones, merged with the
    /// newest of those while they are no more than twice its size (up to [`BLOCK_RAW_MAX`]):
    /// blocks grow geometrically, so a span is recompressed a logarithmic number of times
    /// at most, and what was compacted before is otherwise left alone. Runs without any map
    /// guard. Also returns the bytes it compressed.
    pub(super) fn compact(&self, dicts: &Dicts) -> (Packed, usize) {
        // The common case, a trace compacted once with one segment, compresses its bytes
        // where they are; otherwise the segments (and blocks merged in) are joined first.
        let (mut raw, mut parts): (std::borrow::Cow<'_, [u8]>, Vec<Part>) = match self.segments.as_slice() {
            [segment] => (
                std::borrow::Cow::Borrowed(&segment.bytes),
                vec![Part {
                    resource: segment.resource.clone(),
                    scope: segment.scope.clone(),
                    len: segment.bytes.len(),
                }],
            ),
            segments => {
                let mut raw = Vec::with_capacity(segments.iter().map(|segment| segment.bytes.len()).sum());
                let mut parts = Vec::new();
                for segment in segments {
                    raw.extend_from_slice(&segment.bytes);
                    push_part(&mut parts, &segment.resource, &segment.scope, segment.bytes.len());
                }
                (std::borrow::Cow::Owned(raw), parts)
            }
        };
        let mut earlier = self.packed.clone();
        while let Some(newest) = earlier.take_if(|newest| {
            newest.raw_len() <= 2 * raw.len() && newest.raw_len() + raw.len() <= BLOCK_RAW_MAX
        }) {
            let mut merged = newest.raw();
            merged.extend_from_slice(&raw);
            let mut merged_parts = newest.cloned_parts();
            for part in parts {
                push_part(&mut merged_parts, &part.resource, &part.scope, part.len);
            }
            (raw, parts) = (std::borrow::Cow::Owned(merged), merged_parts);
            earlier = newest.earlier.clone();
        }
        let compressed = raw.len();
        let dict = dicts.current();
        dicts.offer(&raw);
        (Packed::new(earlier, parts, &raw, dict), compressed)
    }
}

/// Adds `len` bytes of `resource` and `scope` to the parts, extending the last one when it
/// has the same origin.
fn push_part(parts: &mut Vec<Part>, resource: &Arc<Resource>, scope: &Arc<Scope>, len: usize) {
    match parts.last_mut() {
        Some(part) if same_origin(&part.resource, &part.scope, resource, scope) => part.len += len,
        _ => parts.push(Part { resource: resource.clone(), scope: scope.clone(), len }),
    }
}

/// An LZ4 dictionary: what the spans the store compacted have in common, which LZ4 treats as
/// coming just before each block it compresses with it, so that a trace's first attribute
/// keys, names and values already have matches (BENCHMARKS.md, Store: compaction choices: 59
/// instead of 96 bytes a span, about 50 once trained). Counted in the store's index while any
/// block holds it.
pub(super) struct Dict {
    /// Unique among the store's dictionaries, for the threads' prepared compressors.
    id: u64,
    bytes: Box<[u8]>,
    live: Arc<AtomicUsize>,
}

impl Drop for Dict {
    fn drop(&mut self) {
        self.live.fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

/// A dictionary is at most this large (and a 256th of the store's bound, so that a tiny store
/// is not crowded out by it). Each thread prepares its compressor once per dictionary, so its
/// size costs no CPU per block: 16 KiB held a 1 M-span fill in 90 MB against 95 at 4 KiB,
/// with no more CPU (BENCHMARKS.md, CPU at 0.55x) ...
const DICT_BYTES: usize = 16 * 1024;
/// ... trained (lz4rip's COVER trainer) on the starts of this many consecutive compactions ...
const DICT_SAMPLES: u64 = 32;
/// ... and trained again after this many compactions, to follow what the store receives.
/// Every dictionary lives as long as a block made with it, so at most one per this many
/// traces.
const DICT_EVERY: u64 = 1 << 16;

/// The next [`Dict::id`], process-wide: a thread compacts for any store.
static NEXT_DICT: AtomicU64 = AtomicU64::new(0);

/// The store's dictionaries: the current one, and the samples of the next.
pub(super) struct Dicts {
    /// The size of a dictionary.
    size: usize,
    current: std::sync::Mutex<Option<Arc<Dict>>>,
    samples: std::sync::Mutex<Option<lz4rip::block::DictTrainer>>,
    compactions: AtomicU64,
    /// Bytes of the dictionaries still held by blocks.
    live: Arc<AtomicUsize>,
}

impl Dicts {
    pub(super) fn new(max_memory: usize) -> Dicts {
        Dicts {
            size: (max_memory / 256).min(DICT_BYTES),
            current: Default::default(),
            samples: Default::default(),
            compactions: AtomicU64::new(0),
            live: Default::default(),
        }
    }

    fn current(&self) -> Option<Arc<Dict>> {
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Takes a sample of `raw`, compacted now, while a dictionary is being made (the first
    /// one from the store's first compactions, then one every [`DICT_EVERY`]), and trains
    /// it once [`DICT_SAMPLES`] are in: about a millisecond for 32 traces of 2 KB (the trainer
    /// keeps at most eight dictionaries' worth of samples), taken by the compaction that
    /// completes them, once per [`DICT_EVERY`] compactions.
    fn offer(&self, raw: &[u8]) {
        let n = self.compactions.fetch_add(1, Ordering::Relaxed) % DICT_EVERY;
        if n >= DICT_SAMPLES || self.size == 0 {
            return;
        }
        let mut samples = self.samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let trainer = samples.get_or_insert_with(|| lz4rip::block::DictTrainer::new(self.size));
        trainer.add_sample(&raw[..raw.len().min(self.size)]);
        if n + 1 < DICT_SAMPLES {
            return;
        }
        let Some(trainer) = samples.take() else { return };
        drop(samples);
        let bytes = trainer.train().into_boxed_slice();
        if bytes.is_empty() {
            // Fewer than two samples of any use: the current one stays.
            return;
        }
        self.live.fetch_add(bytes.len(), Ordering::Relaxed);
        let id = NEXT_DICT.fetch_add(1, Ordering::Relaxed);
        let dict = Arc::new(Dict { id, bytes, live: self.live.clone() });
        *self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(dict);
    }

    /// Forgets the current dictionary (the store is empty: nothing holds it but this), so
    /// that the next compactions make a new one.
    pub(super) fn reset(&self) {
        *self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        *self.samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        self.compactions.store(0, Ordering::Relaxed);
    }

    /// Heap bytes of the dictionaries blocks hold.
    pub(super) fn heap_bytes(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
}

/// `raw` as one LZ4 block (with `dict`, when there is one) after its length (4 bytes,
/// little-endian), in an allocation of exactly their size: compressed into a buffer the
/// thread keeps (LZ4's worst case is larger than the input), then copied out once.
///
/// Each thread keeps a compressor prepared for the current dictionary: LZ4 with a dictionary
/// otherwise hashes the whole dictionary again for every block (lz4_flex did), which for a
/// store's blocks of a few KiB cost as much as compressing them (BENCHMARKS.md, Store:
/// compaction's compressor).
fn compress(raw: &[u8], dict: Option<&Dict>) -> Box<[u8]> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        /// The compressor prepared for one dictionary, by its [`Dict::id`].
        static PREPARED: std::cell::RefCell<Option<(u64, lz4rip::block::DictCompressor)>> =
            const { std::cell::RefCell::new(None) };
        /// 4,096 entries, not lz4rip's default 2,048: a trace compacted without a dictionary
        /// (the store's first, or one past 64 KiB) took a tenth longer to read back.
        static PLAIN: std::cell::RefCell<Option<lz4rip::block::CompressorN<4096>>> =
            const { std::cell::RefCell::new(None) };
    }
    // Far below: a block holds at most one request's spans of a trace, or `BLOCK_RAW_MAX`.
    let len = u32::try_from(raw.len()).unwrap_or(u32::MAX).to_le_bytes();
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.resize(4 + lz4rip::get_maximum_output_size(raw.len()), 0);
        scratch[..4].copy_from_slice(&len);
        let out = &mut scratch[4..];
        let compressed = match dict {
            Some(dict) => PREPARED.with(|prepared| {
                let mut prepared = prepared.borrow_mut();
                let compressor = match &mut *prepared {
                    Some((id, compressor)) if *id == dict.id => compressor,
                    slot => &mut slot.insert((dict.id, lz4rip::block::DictCompressor::new(&dict.bytes))).1,
                };
                compressor.compress_into(raw, out)
            }),
            None => PLAIN.with(|plain| plain.borrow_mut().get_or_insert_default().compress_into(raw, out)),
        };
        let block = match compressed {
            Ok(compressed) => Box::from(&scratch[..4 + compressed]),
            // Cannot happen: the buffer has the worst case's size.
            Err(_) => {
                let mut block = len.to_vec();
                block.extend(match dict {
                    Some(dict) => lz4rip::block::DictCompressor::new(&dict.bytes).compress(raw),
                    None => lz4rip::compress(raw),
                });
                block.into_boxed_slice()
            }
        };
        // A huge trace must not leave its worst case behind on the thread.
        if scratch.capacity() > SCRATCH_KEEP {
            *scratch = Vec::new();
        }
        block
    })
}

/// The most a thread's compression buffer keeps between compactions.
const SCRATCH_KEEP: usize = 1 << 20;
