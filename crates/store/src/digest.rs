//! What the store knows of a trace without decoding it, for the query APIs' services,
//! operations and searches: a small digest per trace (its time range and, per operation,
//! the range of its spans' starts and durations and whether one failed), kept up to date on
//! insert, and the catalogue of operations over all held traces, counted per trace so that
//! eviction takes out what it removes.
//!
//! A search asks the digests which traces may hold a matching span (every condition holds
//! for one operation's ranges) and decodes only those; the caller then checks each span
//! exactly (attributes, and the conditions together on one span). The digest is part of its
//! entry's heap bytes, so it counts in the memory bound; the catalogue is counted with the
//! store's index.
//!
//! The catalogue's lock is a leaf: it is taken under a map shard's guard (by an insert or an
//! eviction) but nothing else is ever taken while it is held.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use model::otlp::SpanPeek;
use model::{SpanKind, StatusCode, Str};

/// One operation: a span name and kind within a service.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The resource's `service.name`; `None` when the resource has no such text attribute.
    pub service: Option<Str>,
    pub name: Str,
    pub kind: SpanKind,
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
    ops: Vec<OpStat>,
}

/// The spans of one operation within a trace.
struct OpStat {
    op: Arc<Operation>,
    min_start: u64,
    max_start: u64,
    min_duration: u64,
    max_duration: u64,
    n_errors: u32,
    n_ok: u32,
}

impl OpStat {
    fn may_match(&self, query: &SpanQuery<'_>) -> bool {
        let op = &*self.op;
        if let Some(service) = query.service {
            if op.service.as_deref() != service {
                return false;
            }
        }
        query.operation.is_none_or(|name| *op.name == *name)
            && query.kind.is_none_or(|kind| op.kind == kind)
            && query.start_min.is_none_or(|min| self.max_start >= min)
            && query.start_max.is_none_or(|max| self.min_start <= max)
            && query.duration_min.is_none_or(|min| self.max_duration >= min)
            && query.duration_max.is_none_or(|max| self.min_duration <= max)
            && match query.error {
                None => true,
                Some(true) => self.n_errors > 0,
                Some(false) => self.n_ok > 0,
            }
    }
}

impl Digest {
    /// Takes one stored span in; a new operation of this trace is counted in `catalogue`.
    pub(super) fn add(&mut self, service: &Option<Str>, span: &SpanPeek<'_>, catalogue: &Catalogue) {
        let start = span.start_time_unix_nano;
        let duration = span.end_time_unix_nano.saturating_sub(start);
        if self.start == 0 && self.end == 0 {
            (self.start, self.end) = (start, span.end_time_unix_nano.max(start));
        } else {
            self.start = self.start.min(start);
            self.end = self.end.max(span.end_time_unix_nano);
        }
        let (is_error, is_ok) = (span.status == StatusCode::Error, span.status == StatusCode::Ok);
        let found = self.ops.iter_mut().find(|stat| {
            stat.op.kind == span.kind && *stat.op.name == *span.name && stat.op.service == *service
        });
        let stat = match found {
            Some(stat) => stat,
            None => {
                let op = catalogue.enter(Operation {
                    service: service.clone(),
                    name: Str::new(span.name),
                    kind: span.kind,
                });
                self.ops.push(OpStat {
                    op,
                    min_start: start,
                    max_start: start,
                    min_duration: duration,
                    max_duration: duration,
                    n_errors: 0,
                    n_ok: 0,
                });
                self.ops.last_mut().expect("just pushed")
            }
        };
        stat.min_start = stat.min_start.min(start);
        stat.max_start = stat.max_start.max(start);
        stat.min_duration = stat.min_duration.min(duration);
        stat.max_duration = stat.max_duration.max(duration);
        stat.n_errors += u32::from(is_error);
        stat.n_ok += u32::from(is_ok);
    }

    /// Whether one of the trace's spans may meet every condition of `query` (exact for
    /// service, operation and kind; by ranges for the rest).
    pub(super) fn may_match(&self, query: &SpanQuery<'_>) -> bool {
        self.ops.iter().any(|stat| stat.may_match(query))
    }

    /// What the digest says of the whole trace without decoding it ([`Outline`]).
    pub(super) fn outline(&self, span_count: usize) -> Outline {
        let mut services: Vec<String> =
            self.ops.iter().filter_map(|stat| stat.op.service.as_deref().map(str::to_string)).collect();
        services.sort();
        services.dedup();
        let earliest = self.ops.iter().min_by_key(|stat| stat.min_start).map(|stat| &stat.op);
        Outline {
            span_count,
            start: self.start,
            end: self.end,
            services,
            error_count: self.ops.iter().map(|stat| stat.n_errors as usize).sum(),
            earliest_name: earliest.map(|op| op.name.to_string()).unwrap_or_default(),
            earliest_service: earliest.and_then(|op| op.service.as_deref()).unwrap_or_default().to_string(),
        }
    }

    /// Gives the trace's operations back to the catalogue (the trace was evicted).
    pub(super) fn release(&self, catalogue: &Catalogue) {
        let mut ops = catalogue.lock();
        for stat in &self.ops {
            catalogue.leave(&mut ops, &stat.op);
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

/// Every operation of the held traces, with how many traces hold it.
#[derive(Default)]
pub(super) struct Catalogue {
    ops: Mutex<HashMap<Arc<Operation>, u64>>,
    /// The operations' own allocations (each `Arc` with its name), kept as they come and
    /// go so that the memory bound's check, on every insert, need not walk them.
    entry_bytes: AtomicUsize,
}

/// The heap one catalogued operation holds besides its table slot.
fn entry_bytes(op: &Operation) -> usize {
    2 * std::mem::size_of::<usize>() + std::mem::size_of::<Operation>() + op.name.len()
}

impl Catalogue {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<Operation>, u64>> {
        // Counts and keys stay consistent whatever a panicking holder did.
        self.ops.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one more trace holding `op`; returns the catalogue's shared copy of it.
    fn enter(&self, op: Operation) -> Arc<Operation> {
        let mut ops = self.lock();
        if let Some(shared) = ops.get_key_value(&op).map(|(shared, _)| shared.clone()) {
            if let Some(count) = ops.get_mut(&shared) {
                *count += 1;
            }
            return shared;
        }
        self.entry_bytes.fetch_add(entry_bytes(&op), Ordering::Relaxed);
        let shared = Arc::new(op);
        ops.insert(shared.clone(), 1);
        shared
    }

    fn leave(&self, ops: &mut HashMap<Arc<Operation>, u64>, op: &Arc<Operation>) {
        if let Some(count) = ops.get_mut(op) {
            *count -= 1;
            if *count == 0 {
                ops.remove(op);
                self.entry_bytes.fetch_sub(entry_bytes(op), Ordering::Relaxed);
            }
        }
    }

    /// Gives the table back once the store is empty, as the map's is.
    pub(super) fn shrink(&self) {
        self.lock().shrink_to_fit();
    }

    /// Every operation held, sorted by service, name and kind.
    pub(super) fn operations(&self) -> Vec<Operation> {
        let mut ops: Vec<Operation> = self.lock().keys().map(|op| (**op).clone()).collect();
        ops.sort_by(|a, b| (&a.service, &a.name, a.kind as u8).cmp(&(&b.service, &b.name, b.kind as u8)));
        ops
    }

    /// The catalogue's heap: the table (a key and count per bucket) and each operation's
    /// allocation with its name.
    pub(super) fn heap_bytes(&self) -> usize {
        let ops = self.lock();
        let slot = std::mem::size_of::<(Arc<Operation>, u64)>() + 1;
        ops.capacity() * 8 / 7 * slot + self.entry_bytes.load(Ordering::Relaxed)
    }
}
