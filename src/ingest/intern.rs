//! A per-batch string interner: repeated attribute keys, span names, service names and short
//! values of one export request become one shared `Str` each.
//!
//! It lives for one request and needs no locking: the strings that repeat inside a batch of
//! hundreds of spans are the ones worth sharing, and a process-wide table would cost a lock or
//! atomic traffic on every lookup for little extra saving. It knows nothing of OTLP.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::{empty_str, Str};

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
