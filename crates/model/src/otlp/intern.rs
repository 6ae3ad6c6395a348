//! A per-batch string interner: repeated attribute keys, span names, service names and short
//! values of one decoding (an export request, or a stored trace being read) become one shared
//! `Str` each.
//!
//! It lives for one request and needs no locking: the strings that repeat inside a batch of
//! hundreds of spans are the ones worth sharing. Names (attribute keys, span and event names,
//! scope names) are also looked up, once per request each, in a process-wide table of
//! immortal strings ([`immortal`]): those are shared by every request, and every span can
//! clone them without an atomic operation. It knows nothing of OTLP.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{OnceLock, RwLock};

use crate::{empty_str, Str};

/// Values longer than this are not worth looking up: long strings are rarely repeated
/// (URLs with IDs, SQL with literals, stack traces) and hashing them costs more than it saves.
pub(crate) const MAX_INTERNED_VALUE_LEN: usize = 64;

/// The Fx hash (rustc's): a multiply and rotate per 8 bytes, good enough for short keys that
/// no adversary controls across requests (the table is thrown away after each request).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Interns strings borrowed from one request's bytes (or decoded message) for its lifetime.
#[derive(Default)]
pub(crate) struct Interner<'a> {
    table: HashMap<&'a [u8], Str, BuildHasherDefault<FxHasher>>,
}

impl<'a> Interner<'a> {
    pub(crate) fn new() -> Self {
        Interner { table: HashMap::with_capacity_and_hasher(64, Default::default()) }
    }

    /// The shared copy of `text`.
    #[inline]
    pub(crate) fn intern(&mut self, text: &'a str) -> Str {
        if text.is_empty() {
            return empty_str();
        }
        self.table.entry(text.as_bytes()).or_insert_with(|| Str::new(text)).clone()
    }

    /// The shared copy of UTF-8 `bytes`; validates only the first occurrence, since a hit has
    /// the same bytes as a string already validated.
    #[inline]
    pub(crate) fn intern_utf8(&mut self, bytes: &'a [u8]) -> Result<Str, std::str::Utf8Error> {
        if bytes.is_empty() {
            return Ok(empty_str());
        }
        if let Some(found) = self.table.get(bytes) {
            return Ok(found.clone());
        }
        let text = std::str::from_utf8(bytes)?;
        let shared = Str::new(text);
        self.table.insert(bytes, shared.clone());
        Ok(shared)
    }

    /// As [`Interner::intern`], for a name (attribute key, span, event or scope name): names
    /// are few across the whole process, so the shared copy is an immortal one when the
    /// process-wide table has room.
    #[inline]
    pub(crate) fn name(&mut self, text: &'a str) -> Str {
        if text.is_empty() {
            return empty_str();
        }
        self.table
            .entry(text.as_bytes())
            .or_insert_with(|| immortal(text).unwrap_or_else(|| Str::new(text)))
            .clone()
    }

    /// As [`Interner::name`], from UTF-8 bytes (validated only on a miss).
    #[inline]
    pub(crate) fn name_utf8(&mut self, bytes: &'a [u8]) -> Result<Str, std::str::Utf8Error> {
        if let Some(found) = self.table.get(bytes) {
            return Ok(found.clone());
        }
        Ok(self.name(std::str::from_utf8(bytes)?))
    }

    /// Interns short values; long ones get their own allocation.
    #[inline]
    pub(crate) fn value(&mut self, text: &'a str) -> Str {
        if text.len() <= MAX_INTERNED_VALUE_LEN {
            self.intern(text)
        } else {
            Str::new(text)
        }
    }

    /// As [`Interner::value`], from UTF-8 bytes.
    #[inline]
    pub(crate) fn value_utf8(&mut self, bytes: &'a [u8]) -> Result<Str, std::str::Utf8Error> {
        if bytes.len() <= MAX_INTERNED_VALUE_LEN {
            self.intern_utf8(bytes)
        } else {
            Ok(Str::new(std::str::from_utf8(bytes)?))
        }
    }
}

/// At most this many immortal strings, of at most [`MAX_IMMORTAL_BYTES`] in all: they are
/// never freed, so the set must stay bounded whatever the senders do. Real systems have a few
/// thousand attribute keys and span names; once the table is full (say, span names that carry
/// IDs), further names are ordinary counted strings, which costs speed, never memory.
const MAX_IMMORTALS: usize = 16_384;
const MAX_IMMORTAL_BYTES: usize = 1 << 20;
/// Longer names are not made immortal (they are unlikely to repeat).
const MAX_IMMORTAL_LEN: usize = 128;

#[derive(Default)]
struct Immortals {
    set: HashSet<Str>,
    bytes: usize,
}

/// The process-wide immortal copy of `text`, made on first use while the table has room;
/// `None` when it has none (or `text` is too long).
pub(crate) fn immortal(text: &str) -> Option<Str> {
    static TABLE: OnceLock<RwLock<Immortals>> = OnceLock::new();
    if text.len() > MAX_IMMORTAL_LEN {
        return None;
    }
    let table = TABLE.get_or_init(Default::default);
    // A poisoned lock only means a panic elsewhere while inserting; the set is still sound.
    if let Some(found) = table.read().unwrap_or_else(|err| err.into_inner()).set.get(text) {
        return Some(found.clone());
    }
    let mut table = table.write().unwrap_or_else(|err| err.into_inner());
    if let Some(found) = table.set.get(text) {
        return Some(found.clone());
    }
    if table.set.len() >= MAX_IMMORTALS || table.bytes + text.len() > MAX_IMMORTAL_BYTES {
        return None;
    }
    let shared = Str::new(text);
    shared.make_immortal();
    table.bytes += text.len();
    table.set.insert(shared.clone());
    Some(shared)
}

/// The last few distinct strings seen at one place of the message (an attribute position,
/// the span name), checked by plain comparison before any hashing.
///
/// Spans of one batch mostly repeat the previous span's layout: the same keys in the same
/// order, low-cardinality values such as `GET` at the same position. A comparison against
/// a handful of recent strings is far cheaper than hashing, and a value that is never
/// repeated costs a few length checks instead of a hash-table insert.
pub(crate) struct Recent<'a, const N: usize> {
    entries: [Option<(&'a [u8], Str)>; N],
    next: usize,
}

impl<const N: usize> Default for Recent<'_, N> {
    fn default() -> Self {
        Recent { entries: std::array::from_fn(|_| None), next: 0 }
    }
}

impl<'a, const N: usize> Recent<'a, N> {
    /// The remembered string with exactly these bytes.
    #[inline]
    pub(crate) fn find(&self, bytes: &[u8]) -> Option<Str> {
        self.entries.iter().flatten().find(|(seen, _)| *seen == bytes).map(|(_, text)| text.clone())
    }

    /// Remembers `text` (whose UTF-8 is `bytes`), replacing the oldest entry.
    #[inline]
    pub(crate) fn remember(&mut self, bytes: &'a [u8], text: Str) {
        self.entries[self.next] = Some((bytes, text));
        self.next = (self.next + 1) % N;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_repeated_strings() {
        let mut interner = Interner::new();
        let first = interner.intern("http.method");
        let second = interner.intern_utf8(b"http.method").unwrap();
        assert!(Str::ptr_eq(&first, &second));
        assert!(interner.intern_utf8(b"\xff\xfe").is_err());
        let long = "x".repeat(MAX_INTERNED_VALUE_LEN + 1);
        assert!(!Str::ptr_eq(&interner.value(&long), &interner.value(&long)));
    }

    #[test]
    fn names_are_immortal_and_shared_across_requests() {
        let first = Interner::new().name_utf8(b"tracecheck.test.key").unwrap();
        let second = Interner::new().name_utf8(b"tracecheck.test.key").unwrap();
        assert!(first.is_immortal() && Str::ptr_eq(&first, &second));
        // Values and long names stay counted.
        assert!(!Interner::new().intern("tracecheck.test.value").is_immortal());
        assert!(immortal(&"k".repeat(MAX_IMMORTAL_LEN + 1)).is_none());
    }
}
