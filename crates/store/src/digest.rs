//! What the store knows of a trace without decoding it, for the query APIs' services,
//! operations and searches: a small digest per trace (its time range and, per operation,
//! the range of its spans' starts and durations and whether one failed), kept up to date on
//! insert, and the catalogue of operations over all held traces, shared by their digests so
//! that what eviction removes drops out of it.
//!
//! A search asks the digests which traces may hold a matching span (every condition holds
//! for one operation's ranges) and decodes only those; the caller then checks each span
//! exactly (attributes, and the conditions together on one span). The digest is part of its
//! entry's heap bytes, so it counts in the memory bound; the catalogue is counted with the
//! store's index.
//!
//! The catalogue's lock is a leaf: it is taken under a map shard's guard (by an insert) but
//! nothing else is ever taken while it is held.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use model::otlp::SpanPeek;
use model::{SpanKind, StatusCode, Str};

/// One operation: a span name and kind within a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The resource's `service.name`; `None` when the resource has no such text attribute.
    pub service: Option<Str>,
    pub name: Str,
    pub kind: SpanKind,
}

impl Hash for Operation {
    // As [`OpRef`] hashes, so that the catalogue finds an operation by its borrowed parts.
    fn hash<H: Hasher>(&self, state: &mut H) {
        OpRef { service: self.service.as_deref(), name: &self.name, kind: self.kind }.hash(state)
    }
}

/// An operation by borrowed parts: what a span names, looked up without allocating.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
struct OpRef<'a> {
    service: Option<&'a str>,
    name: &'a str,
    kind: SpanKind,
}

impl hashbrown::Equivalent<Arc<Operation>> for OpRef<'_> {
    fn equivalent(&self, op: &Arc<Operation>) -> bool {
        self.kind == op.kind && self.name == &*op.name && self.service == op.service.as_deref()
    }
}

impl OpRef<'_> {
    fn to_owned(self) -> Operation {
        Operation { service: self.service.map(Str::new), name: Str::new(self.name), kind: self.kind }
    }
}

/// What a search asks of one span; `None` means any. A trace matches when one of its spans
/// meets every condition.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpanQuery<'a> {
    /// `Some(None)`: spans whose resource has no `service.name`.
    pub service: Option<Option<&'a str>>,
    pub operation: Option<&'a str>,
    pub kind: Option<SpanKind>,
    /// The span's start, in Unix nanoseconds, at or after this.
    pub start_min: Option<u64>,
    /// The span's start at or before this.
    pub start_max: Option<u64>,
    /// The span's duration in nanoseconds at least this.
    pub duration_min: Option<u64>,
    pub duration_max: Option<u64>,
    /// Only spans with an error status (`Some(true)`) or an ok status (`Some(false)`).
    pub error: Option<bool>,
}

/// One trace's digest.
#[derive(Default)]
pub(super) struct Digest {
    /// Earliest span start and latest span end, in Unix nanoseconds (0, 0 while empty).
    pub(super) start: u64,
    pub(super) end: u64,
    /// The operation (index in `ops`) of the span that started first.
    earliest: u32,
    /// Spans whose status is `error`.
    n_errors: u32,
    /// Which of the first 32 operations have a span of `error` status, and of `ok` status:
    /// bits rather than fields of [`OpStat`] (issue 23: bytes per span). Operations past
    /// the 32nd may have either, as far as a search is concerned.
    errors: u32,
    oks: u32,
    ops: Vec<OpStat>,
}

/// The operations whose statuses have bits in [`Digest::errors`] and [`Digest::oks`].
const STATUS_BITS: usize = 32;

/// The spans of one operation within a trace. Their starts are not kept per operation: the
/// trace's range of starts answers a time condition (less exactly when combined with other
/// conditions, and the caller checks the spans anyway), and a digest is held for every
/// trace (issue 23: bytes per span).
struct OpStat {
    op: Arc<Operation>,
    durations: Durations,
}

/// The shortest and longest duration of an operation's spans, in microseconds rounded down
/// and up (saturating: a range that still holds every duration), so that an operation takes
/// 16 bytes.
#[derive(Clone, Copy)]
struct Durations {
    min_us: u32,
    max_us: u32,
}

impl Durations {
    const EMPTY: Durations = Durations { min_us: u32::MAX, max_us: 0 };

    fn add(&mut self, duration_ns: u64) {
        let (floor_us, ceil_us) = (duration_ns / 1_000, duration_ns.div_ceil(1_000));
        self.min_us = self.min_us.min(floor_us.try_into().unwrap_or(u32::MAX));
        self.max_us = self.max_us.max(ceil_us.try_into().unwrap_or(u32::MAX));
    }
}

/// The operations of one run of spans that its trace did not have yet, with their
/// durations, to be catalogued together ([`Digest::enter_new`]).
#[derive(Default)]
pub(super) struct NewOps<'a> {
    ops: Vec<(OpRef<'a>, Durations)>,
}

impl OpStat {
    /// Whether a span of this operation may meet `query`, but for its status.
    fn may_match(&self, query: &SpanQuery<'_>) -> bool {
        let op = &*self.op;
        if let Some(service) = query.service {
            if op.service.as_deref() != service {
                return false;
            }
        }
        query.operation.is_none_or(|name| *op.name == *name)
            && query.kind.is_none_or(|kind| op.kind == kind)
            && query.duration_min.is_none_or(|min| {
                self.durations.max_us == u32::MAX || u64::from(self.durations.max_us) * 1_000 >= min
            })
            && query.duration_max.is_none_or(|max| u64::from(self.durations.min_us) * 1_000 <= max)
    }
}

impl Digest {
    /// Takes one stored span in; an operation new to the trace waits in `new` to be
    /// catalogued ([`Digest::enter_new`]) before the trace's guard is let go.
    pub(super) fn add<'a>(&mut self, service: Option<&'a str>, span: &SpanPeek<'a>, new: &mut NewOps<'a>) {
        let start = span.start_time_unix_nano;
        let duration = span.end_time_unix_nano.saturating_sub(start);
        let no_span_yet = self.ops.is_empty() && new.ops.is_empty();
        // Whether this span started before every one so far.
        let first = no_span_yet || start < self.start;
        if no_span_yet {
            (self.start, self.end) = (start, span.end_time_unix_nano.max(start));
        } else {
            self.start = self.start.min(start);
            self.end = self.end.max(span.end_time_unix_nano);
        }
        let (is_error, is_ok) = (span.status == StatusCode::Error, span.status == StatusCode::Ok);
        // An operation new to the trace is catalogued with the others of its run, under one
        // lock ([`Digest::enter_new`]); until then it is found among them, after the held
        // ones, at the index it will have.
        let held = self.ops.iter().position(|stat| {
            stat.op.kind == span.kind && *stat.op.name == *span.name && stat.op.service.as_deref() == service
        });
        let (index, range) = match held {
            Some(index) => (index, &mut self.ops[index].durations),
            None => {
                let op = OpRef { service, name: span.name, kind: span.kind };
                let at = match new.ops.iter().position(|(new_op, _)| *new_op == op) {
                    Some(at) => at,
                    None => {
                        new.ops.push((op, Durations::EMPTY));
                        new.ops.len() - 1
                    }
                };
                (self.ops.len() + at, &mut new.ops[at].1)
            }
        };
        if first {
            self.earliest = index as u32;
        }
        range.add(duration);
        self.n_errors = self.n_errors.saturating_add(u32::from(is_error));
        if index < STATUS_BITS {
            self.errors |= u32::from(is_error) << index;
            self.oks |= u32::from(is_ok) << index;
        }
    }

    /// Catalogues the operations [`Digest::add`] found new to the trace, in one turn of the
    /// catalogue's lock: every insert of a new trace takes it, from every receiver thread.
    /// `new` is left empty, its room kept for the next run.
    pub(super) fn enter_new(&mut self, new: &mut NewOps<'_>, catalogue: &Catalogue) {
        if new.ops.is_empty() {
            return;
        }
        // A new trace's operations, exactly: most traces never get another (and compaction's
        // shrink then has nothing to give back); a growing one's, amortized.
        if self.ops.is_empty() {
            self.ops.reserve_exact(new.ops.len());
        } else {
            self.ops.reserve(new.ops.len());
        }
        let mut table = catalogue.lock();
        for (op, durations) in new.ops.drain(..) {
            self.ops.push(OpStat { op: catalogue.enter(&mut table, op), durations });
        }
    }

    /// Whether one of the trace's spans may meet every condition of `query` (exact for
    /// service, operation and kind; by ranges for the rest).
    pub(super) fn may_match(&self, query: &SpanQuery<'_>) -> bool {
        // A span starts within the trace's range: no span starts after its end (the latest
        // start is not kept, issue 23: bytes per trace; a trace that straddles `start_min`
        // is decoded and its spans checked).
        query.start_min.is_none_or(|min| self.end >= min)
            && query.start_max.is_none_or(|max| self.start <= max)
            && query.error.is_none_or(|error| !error || self.n_errors > 0)
            && self.ops.iter().enumerate().any(|(index, stat)| {
                stat.may_match(query)
                    && query.error.is_none_or(|error| {
                        let bits = if error { self.errors } else { self.oks };
                        index >= STATUS_BITS || bits & (1 << index) != 0
                    })
            })
    }

    /// What the digest says of the whole trace without decoding it ([`Outline`]).
    pub(super) fn outline(&self, span_count: usize) -> Outline {
        let mut services: Vec<String> =
            self.ops.iter().filter_map(|stat| stat.op.service.as_deref().map(str::to_string)).collect();
        services.sort();
        services.dedup();
        let earliest = self.ops.get(self.earliest as usize).map(|stat| &stat.op);
        Outline {
            span_count,
            start: self.start,
            end: self.end,
            services,
            error_count: self.n_errors as usize,
            earliest_name: earliest.map(|op| op.name.to_string()).unwrap_or_default(),
            earliest_service: earliest.and_then(|op| op.service.as_deref()).unwrap_or_default().to_string(),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.ops.capacity() * std::mem::size_of::<OpStat>()
    }

    /// Drops spare room (at compaction, when the trace has most likely stopped growing).
    pub(super) fn shrink(&mut self) {
        self.ops.shrink_to_fit();
    }
}

/// A trace's facts from its digest alone: what a list line of a trace too large to decode
/// whole can say. There is no tree here, so the earliest span stands in for the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outline {
    pub span_count: usize,
    /// Earliest span start and latest span end, in Unix nanoseconds.
    pub start: u64,
    pub end: u64,
    /// Every service a span's resource names, sorted, each once.
    pub services: Vec<String>,
    /// Spans whose status is `error`.
    pub error_count: usize,
    /// The name and service of the operation that started first (a trace's root, in
    /// every trace whose root starts before its children).
    pub earliest_name: String,
    pub earliest_service: String,
}

/// The catalogue's table: foldhash rather than SipHash, since a new trace looks up each of
/// its operations on the ingest path.
type OpSet = hashbrown::HashSet<Arc<Operation>, foldhash::fast::RandomState>;

/// Every operation of the held traces. A trace's digest holds its operations' `Arc`s, so an
/// operation is held by some trace exactly while its count is above the table's own one:
/// an eviction just drops them, with no lock and no count of its own (it took the lock every
/// receiver shares, under a map shard's guard, to count each operation out), and the
/// operations no trace holds any more are pruned from the table once it has doubled since
/// the last prune.
#[derive(Default)]
pub(super) struct Catalogue {
    ops: Mutex<Table>,
    /// The operations' own allocations (each `Arc` with its name), kept as they come and
    /// go so that the memory bound's check, on every insert, need not walk them.
    entry_bytes: AtomicUsize,
}

#[derive(Default)]
struct Table {
    set: OpSet,
    /// Operations in the set after the last prune.
    pruned_len: usize,
}

/// The heap one catalogued operation holds besides its table slot.
fn entry_bytes(op: &Operation) -> usize {
    2 * std::mem::size_of::<usize>() + std::mem::size_of::<Operation>() + op.name.len()
}

/// Whether a trace holds the operation (besides the table).
fn held(op: &Arc<Operation>) -> bool {
    Arc::strong_count(op) > 1
}

impl Catalogue {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // The set stays consistent whatever a panicking holder did.
        self.ops.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The catalogue's shared copy of `op` (made the first time it is seen), for a trace
    /// to hold.
    fn enter(&self, table: &mut Table, op: OpRef<'_>) -> Arc<Operation> {
        if let Some(shared) = table.set.get(&op) {
            return shared.clone();
        }
        if table.set.len() >= 2 * table.pruned_len + 1024 {
            self.prune(table);
        }
        let op = op.to_owned();
        self.entry_bytes.fetch_add(entry_bytes(&op), Ordering::Relaxed);
        let shared = Arc::new(op);
        table.set.insert(shared.clone());
        shared
    }

    /// Drops the operations no trace holds. Safe against evictions meanwhile: a count only
    /// grows under the lock (from the table's copy), so one seen at the table's own is
    /// held by no trace and cannot be again.
    fn prune(&self, table: &mut Table) {
        table.set.retain(|op| {
            let keep = held(op);
            if !keep {
                self.entry_bytes.fetch_sub(entry_bytes(op), Ordering::Relaxed);
            }
            keep
        });
        table.pruned_len = table.set.len();
    }

    #[cfg(test)]
    pub(super) fn table_len(&self) -> usize {
        self.lock().set.len()
    }

    /// Prunes the table and gives its room back once the store is empty, as the map's is.
    pub(super) fn shrink(&self) {
        let mut table = self.lock();
        self.prune(&mut table);
        table.set.shrink_to_fit();
    }

    /// Every operation held, sorted by service, name and kind.
    pub(super) fn operations(&self) -> Vec<Operation> {
        let mut ops: Vec<Operation> =
            self.lock().set.iter().filter(|op| held(op)).map(|op| (**op).clone()).collect();
        ops.sort_by(|a, b| (&a.service, &a.name, a.kind as u8).cmp(&(&b.service, &b.name, b.kind as u8)));
        ops
    }

    /// The catalogue's heap: the table (a key per bucket) and each operation's allocation
    /// with its name (those no trace holds any more until they are pruned).
    pub(super) fn heap_bytes(&self) -> usize {
        let table = self.lock();
        let slot = std::mem::size_of::<Arc<Operation>>() + 1;
        table.set.capacity() * 8 / 7 * slot + self.entry_bytes.load(Ordering::Relaxed)
    }
}
