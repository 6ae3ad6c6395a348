//! The flat string map the analyzer's rules read for one span (analyzer reference section 1):
//! the span's attributes stringified the way Tracetest does it (format 5.1, quirk Q-12 kept),
//! `service.name` = the scope name, the scope's and the resource's attributes merged over
//! them (later sources win, so a resource attribute beats a span attribute: AQ-1), and the
//! `tracetest.span.*` / `span.events` metadata keys over everything.
//!
//! Values are kept typed and turned into text only when a rule asks for it, so building the
//! map for a span allocates nothing but (reused) entry storage; an absent key reads as `""`.
//! Speed (issue 5: 1,000 spans in under 1 ms) shapes the rest: the resource and scope
//! entries, shared by every span of a batch, are sorted once and merged with each span's
//! own; each entry carries its key's hash (for an open-addressing index the rules' lookups
//! use) and whether the key follows the attribute-naming pattern.
//! The map knows nothing of rules or results. The languages' span view (`lang::view`) does a
//! similar job with Q-12 fixed; the two could share one builder behind a "Tracetest text" flag.

use std::borrow::Cow;
use std::sync::Arc;

use model::{AttributeValue, Event, KeyValue, Span, SpanId, SpanKind};

/// The text Tracetest gives values it cannot print (0.0, arrays, maps, bytes, empty).
pub const UNSUPPORTED_VALUE: &str = "unsupported value type";

/// One value of the map, typed until a rule needs its text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MapValue<'a> {
    Text(&'a str),
    /// Text of a metadata key (`tracetest.span.name`, `.type`, `.status_*`): reads as
    /// [`MapValue::Text`] and tells rules the key is tracecheck's, not the span's.
    MetaText(&'a str),
    Int(i64),
    /// A non-zero double (zero is [`MapValue::Unsupported`], Q-12).
    Double(f64),
    Bool(bool),
    /// Unix nanoseconds or a duration.
    Nanos(u64),
    /// `tracetest.span.parent_id`; `None` prints as sixteen zeros.
    ParentId(Option<SpanId>),
    Events(&'a [Event]),
    Unsupported,
}

impl<'a> MapValue<'a> {
    /// The value as Tracetest's attribute map holds it.
    pub fn from_attribute(value: &'a AttributeValue) -> Self {
        match value {
            AttributeValue::String(text) => MapValue::Text(text),
            AttributeValue::Int(number) => MapValue::Int(*number),
            AttributeValue::Bool(flag) => MapValue::Bool(*flag),
            // exactly 0.0 (either sign) falls through Tracetest's switch.
            AttributeValue::Double(number) if *number == 0.0 => MapValue::Unsupported,
            AttributeValue::Double(number) => MapValue::Double(*number),
            AttributeValue::Bytes(_)
            | AttributeValue::Array(_)
            | AttributeValue::Map(_)
            | AttributeValue::Empty => MapValue::Unsupported,
        }
    }

    /// Only a string can be empty: every other value prints as at least one character.
    pub fn is_empty(&self) -> bool {
        matches!(self, MapValue::Text(text) | MapValue::MetaText(text) if text.is_empty())
    }

    /// True for the values of metadata keys (`tracetest.span.*`, `span.events`).
    pub fn is_metadata(&self) -> bool {
        matches!(
            self,
            MapValue::MetaText(_) | MapValue::Nanos(_) | MapValue::ParentId(_) | MapValue::Events(_)
        )
    }

    /// The value's text (format 5.1).
    pub fn text(&self) -> Cow<'a, str> {
        match *self {
            MapValue::Text(text) | MapValue::MetaText(text) => Cow::Borrowed(text),
            MapValue::Int(number) => Cow::Owned(number.to_string()),
            MapValue::Double(number) => Cow::Owned(double_text(number)),
            MapValue::Bool(flag) => Cow::Borrowed(if flag { "true" } else { "false" }),
            MapValue::Nanos(nanos) => Cow::Owned(nanos.to_string()),
            MapValue::ParentId(None) => Cow::Borrowed("0000000000000000"),
            MapValue::ParentId(Some(id)) => Cow::Owned(id.to_hex()),
            MapValue::Events(events) => Cow::Owned(events_json(events)),
            MapValue::Unsupported => Cow::Borrowed(UNSUPPORTED_VALUE),
        }
    }
}

/// Q-12 as Go prints it: negatives with `%f` (six decimals), others with `%.0f` (rounded
/// half to even, which Rust's formatting also does).
fn double_text(number: f64) -> String {
    if number.is_nan() {
        "NaN".to_string()
    } else if number.is_infinite() {
        if number > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else if number < 0.0 {
        format!("{number:.6}")
    } else {
        format!("{number:.0}")
    }
}

/// `span.events`: a JSON array of `{"name", "timestamp", "attributes"}`. No rule reads the
/// text (only the key and that it is non-empty), so nanoseconds since the epoch stand in for
/// the RFC 3339 timestamp.
fn events_json(events: &[Event]) -> String {
    let list: Vec<serde_json::Value> = events
        .iter()
        .map(|event| {
            let attributes: serde_json::Map<String, serde_json::Value> = event
                .attributes
                .iter()
                .map(|kv| {
                    let text = MapValue::from_attribute(&kv.value).text().into_owned();
                    (kv.key.to_string(), serde_json::Value::String(text))
                })
                .collect();
            serde_json::json!({
                "name": &*event.name,
                "timestamp": event.time_unix_nano,
                "attributes": attributes,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// One key of the map with its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry<'a> {
    pub key: &'a str,
    pub value: MapValue<'a>,
    hash: u64,
    /// The first eight bytes of the key, big-endian and zero-padded: ordering by it first
    /// agrees with ordering the keys and settles most comparisons without a `memcmp`.
    prefix: u64,
    follows_convention: bool,
}

impl<'a> Entry<'a> {
    fn new(key: &'a str, value: MapValue<'a>) -> Self {
        // Metadata keys are tracecheck's own and well-formed; the check of the others is
        // done here, once per resource for resource keys, rather than by the rule per span.
        let follows_convention = value.is_metadata() || key_follows_convention(key);
        let (hash, prefix) = key_hash(key);
        Entry { key, value, hash, prefix, follows_convention }
    }

    /// Orders entries by key.
    fn cmp_key(&self, other: &Entry<'_>) -> std::cmp::Ordering {
        self.prefix.cmp(&other.prefix).then_with(|| self.key.cmp(other.key))
    }

    /// The key matches `^([a-z0-9_]+\.)+[a-z0-9_]+$` (the attribute-naming rule's pattern).
    pub fn follows_convention(&self) -> bool {
        self.follows_convention
    }
}

/// `^([a-z0-9_]+\.)+[a-z0-9_]+$` without a regex engine: two or more dot-separated segments,
/// each non-empty and made of ASCII lower-case letters, digits and `_`.
pub fn key_follows_convention(key: &str) -> bool {
    let mut n_dots = 0;
    // True at the start and after a dot: a segment must not be empty.
    let mut segment_start = true;
    for &byte in key.as_bytes() {
        match byte {
            b'.' if !segment_start => {
                n_dots += 1;
                segment_start = true;
            }
            b'a'..=b'z' | b'0'..=b'9' | b'_' => segment_start = false,
            _ => return false,
        }
    }
    n_dots >= 1 && !segment_start
}

/// The flat map of one span, sorted by key, each key once.
#[derive(Debug, Default)]
pub struct SpanMap<'a> {
    span: Option<&'a Span>,
    span_type: &'static str,
    entries: Vec<Entry<'a>>,
    /// An open-addressing index over `entries`: rules ask for a few dozen fixed keys per
    /// span, mostly absent ones, and one hash answers that faster than a binary search of
    /// string comparisons. Each slot is 0 (empty) or `tag << 8 | (index + 1)`.
    slots: Vec<u16>,
    /// The span's own attributes, sorted (scratch space reused from span to span).
    own: Vec<Entry<'a>>,
    /// The sorted `service.name` + scope + resource entries of each (resource, scope) pair
    /// seen, by address: the spans of a batch share them, so they are sorted once.
    shared: Vec<((usize, usize), Vec<Entry<'a>>)>,
    /// Scratch: the metadata entries, and the span's entries merged with the shared ones.
    metadata: Vec<Entry<'a>>,
    merged: Vec<Entry<'a>>,
}

/// How many (resource, scope) pairs [`SpanMap`] keeps sorted before starting over.
const MAX_SHARED: usize = 64;

/// Slots of the index; a map with more entries than [`MAX_INDEXED`] is binary-searched.
const N_SLOTS: usize = 256;
const MAX_INDEXED: usize = 160;

/// A hash of a key from its length and its first and last eight bytes (keys share
/// prefixes such as `http.` and `tracetest.span.` but rarely both ends and the length), and
/// the key's [`Entry::prefix`].
fn key_hash(key: &str) -> (u64, u64) {
    let bytes = key.as_bytes();
    let word = |chunk: &[u8]| {
        let mut buffer = [0u8; 8];
        buffer[..chunk.len()].copy_from_slice(chunk);
        u64::from_le_bytes(buffer)
    };
    let head = word(&bytes[..bytes.len().min(8)]);
    let tail = word(&bytes[bytes.len().saturating_sub(8)..]);
    let hash = (head ^ tail.rotate_left(29) ^ (bytes.len() as u64).wrapping_mul(0x9E37_79B9))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (hash, head.swap_bytes())
}

/// Sorts entries pushed in increasing precedence by key and keeps the last of equal keys.
fn sort_keep_last(entries: &mut Vec<Entry<'_>>) {
    // Stable: among equal keys the push order survives and the compaction keeps the last.
    entries.sort_by(Entry::cmp_key);
    let mut kept = 0;
    for index in 0..entries.len() {
        if kept > 0 && entries[kept - 1].key == entries[index].key {
            entries[kept - 1] = entries[index];
        } else {
            entries[kept] = entries[index];
            kept += 1;
        }
    }
    entries.truncate(kept);
}

/// Merges two key-sorted lists of unique keys; on equal keys the entry of `high` wins.
fn merge_into<'a>(low: &[Entry<'a>], high: &[Entry<'a>], out: &mut Vec<Entry<'a>>) {
    let (mut low_at, mut high_at) = (0, 0);
    while low_at < low.len() && high_at < high.len() {
        match low[low_at].cmp_key(&high[high_at]) {
            std::cmp::Ordering::Less => {
                out.push(low[low_at]);
                low_at += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(high[high_at]);
                high_at += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(high[high_at]);
                low_at += 1;
                high_at += 1;
            }
        }
    }
    out.extend_from_slice(&low[low_at..]);
    out.extend_from_slice(&high[high_at..]);
}

impl<'a> SpanMap<'a> {
    /// The map of `span`.
    pub fn new(span: &'a Span) -> Self {
        let mut map = SpanMap::default();
        map.fill(span);
        map
    }

    /// Replaces the contents with the map of `span`, reusing the storage.
    pub fn fill(&mut self, span: &'a Span) {
        self.span = Some(span);
        self.span_type = span.tracetest_type();

        self.own.clear();
        self.own.extend(
            span.attributes.iter().map(|kv| Entry::new(&kv.key, MapValue::from_attribute(&kv.value))),
        );
        sort_keep_last(&mut self.own);

        let shared_key = (Arc::as_ptr(&span.resource) as usize, Arc::as_ptr(&span.scope) as usize);
        let shared_at = match self.shared.iter().position(|(key, _)| *key == shared_key) {
            Some(at) => at,
            None => {
                if self.shared.len() >= MAX_SHARED {
                    self.shared.clear();
                }
                let mut entries = vec![Entry::new("service.name", MapValue::Text(&span.scope.name))];
                push_attributes(&mut entries, &span.scope.attributes);
                push_attributes(&mut entries, &span.resource.attributes);
                sort_keep_last(&mut entries);
                self.shared.push((shared_key, entries));
                self.shared.len() - 1
            }
        };

        // Metadata, already in key order.
        let meta = &mut self.metadata;
        meta.clear();
        meta.push(Entry::new("span.events", MapValue::Events(span.events())));
        meta.push(Entry::new("tracetest.span.duration", MapValue::Nanos(span.duration_nanos())));
        meta.push(Entry::new("tracetest.span.end_time", MapValue::Nanos(span.end_time_unix_nano)));
        meta.push(Entry::new("tracetest.span.name", MapValue::MetaText(&span.name)));
        meta.push(Entry::new("tracetest.span.parent_id", MapValue::ParentId(span.parent_span_id)));
        meta.push(Entry::new("tracetest.span.start_time", MapValue::Nanos(span.start_time_unix_nano)));
        meta.push(Entry::new("tracetest.span.status_code", MapValue::MetaText(span.status.code.otlp_name())));
        if !span.status.message.is_empty() {
            meta.push(Entry::new(
                "tracetest.span.status_description",
                MapValue::MetaText(&span.status.message),
            ));
        }
        meta.push(Entry::new("tracetest.span.type", MapValue::MetaText(self.span_type)));

        // Two merges of sorted lists instead of a sort: the resource's entries beat the
        // span's, and metadata beats both.
        self.merged.clear();
        merge_into(&self.own, &self.shared[shared_at].1, &mut self.merged);
        self.entries.clear();
        merge_into(&self.merged, &self.metadata, &mut self.entries);

        self.slots.clear();
        if self.entries.len() <= MAX_INDEXED {
            self.slots.resize(N_SLOTS, 0);
            for (index, entry) in self.entries.iter().enumerate() {
                let mut slot = (entry.hash >> 56) as usize;
                while self.slots[slot] != 0 {
                    slot = (slot + 1) % N_SLOTS;
                }
                self.slots[slot] = (((entry.hash >> 48) as u16 & 0xff) << 8) | (index as u16 + 1);
            }
        }
    }

    pub fn span(&self) -> Option<&'a Span> {
        self.span
    }

    pub fn span_id(&self) -> SpanId {
        self.span.map(|span| span.span_id).unwrap_or_default()
    }

    /// The span's name (`tracetest.span.name`).
    pub fn name(&self) -> &'a str {
        self.span.map_or("", |span| &span.name)
    }

    pub fn kind(&self) -> SpanKind {
        self.span.map_or(SpanKind::Unspecified, |span| span.kind)
    }

    /// `tracetest.span.type` (format 5.4, via `Span::tracetest_type`).
    pub fn span_type(&self) -> &'static str {
        self.span_type
    }

    /// Every key and value, sorted by key.
    pub fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    pub fn get(&self, key: &str) -> Option<MapValue<'a>> {
        if !self.slots.is_empty() {
            let (hash, _) = key_hash(key);
            let tag = (hash >> 48) as u16 & 0xff;
            let mut slot = (hash >> 56) as usize;
            loop {
                let value = self.slots[slot];
                if value == 0 {
                    return None;
                }
                let index = usize::from(value & 0xff) - 1;
                if value >> 8 == tag && self.entries[index].key == key {
                    return Some(self.entries[index].value);
                }
                slot = (slot + 1) % N_SLOTS;
            }
        }
        self.entries.binary_search_by(|entry| entry.key.cmp(key)).ok().map(|index| self.entries[index].value)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The text of `key`; an absent key reads as `""` (reference section 3).
    pub fn text(&self, key: &str) -> Cow<'a, str> {
        self.get(key).map_or(Cow::Borrowed(""), |value| value.text())
    }
}

fn push_attributes<'a>(entries: &mut Vec<Entry<'a>>, attributes: &'a [KeyValue]) {
    entries.extend(attributes.iter().map(|kv| Entry::new(&kv.key, MapValue::from_attribute(&kv.value))));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use model::{Scope, StatusCode, TraceId};

    fn span() -> Span {
        Span::new(TraceId([1; 16]), SpanId([2; 8]), "GET /users")
    }

    #[test]
    fn stringifies_values_like_tracetest() {
        let span = span()
            .with_attribute("int", 42i64)
            .with_attribute("bool", true)
            .with_attribute("pos", 2.5f64)
            .with_attribute("pos2", 3.5f64)
            .with_attribute("neg", -1.25f64)
            .with_attribute("zero", 0.0f64)
            .with_attribute("empty", "");
        let map = SpanMap::new(&span);
        assert_eq!(map.text("int"), "42");
        assert_eq!(map.text("bool"), "true");
        assert_eq!(map.text("pos"), "2");
        assert_eq!(map.text("pos2"), "4");
        assert_eq!(map.text("neg"), "-1.250000");
        assert_eq!(map.text("zero"), UNSUPPORTED_VALUE);
        assert!(map.get("empty").unwrap().is_empty());
        assert!(!map.get("zero").unwrap().is_empty());
        assert_eq!(map.text("absent"), "");
    }

    #[test]
    fn resource_beats_scope_beats_span_and_metadata_beats_all() {
        let mut span = span()
            .with_attribute("service.name", "from-span")
            .with_attribute("k", "span")
            .with_attribute("tracetest.span.name", "spoofed")
            .with_resource_attribute("k", "resource");
        span.scope = Arc::new(Scope {
            name: "my-scope".into(),
            version: "".into(),
            attributes: vec![KeyValue::new("k", "scope"), KeyValue::new("s", "scope")].into(),
        });
        let map = SpanMap::new(&span);
        assert_eq!(map.text("k"), "resource");
        assert_eq!(map.text("s"), "scope");
        assert_eq!(map.text("service.name"), "my-scope");
        assert_eq!(map.text("tracetest.span.name"), "GET /users");
        let span = span.with_resource_attribute("service.name", "users");
        assert_eq!(SpanMap::new(&span).text("service.name"), "users");
    }

    #[test]
    fn has_metadata_keys() {
        let span = span()
            .with_parent(SpanId([3; 8]))
            .with_times(100, 250)
            .with_status(StatusCode::Error, "boom")
            .with_attribute("http.method", "GET");
        let map = SpanMap::new(&span);
        assert_eq!(map.text("tracetest.span.type"), "http");
        assert_eq!(map.text("tracetest.span.duration"), "150");
        assert_eq!(map.text("tracetest.span.start_time"), "100");
        assert_eq!(map.text("tracetest.span.end_time"), "250");
        assert_eq!(map.text("tracetest.span.parent_id"), "0303030303030303");
        assert_eq!(map.text("tracetest.span.status_code"), "STATUS_CODE_ERROR");
        assert_eq!(map.text("tracetest.span.status_description"), "boom");
        assert_eq!(map.text("span.events"), "[]");
        let keys: Vec<&str> = map.entries().iter().map(|entry| entry.key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted);
        let root_span = self::span();
        let root = SpanMap::new(&root_span);
        assert!(root.get("http.method").is_none());
        assert_eq!(root.text("tracetest.span.parent_id"), "0000000000000000");
        assert!(!root.contains("tracetest.span.status_description"));
    }

    #[test]
    fn lookups_agree_with_a_scan_for_small_and_large_maps() {
        for n_attributes in [0usize, 5, 40, 300] {
            let mut span = span();
            for index in 0..n_attributes {
                span = span.with_attribute(&format!("k{index}.x{}", index % 7), index as i64);
            }
            let map = SpanMap::new(&span);
            for entry in map.entries() {
                assert_eq!(map.get(entry.key), Some(entry.value), "{}", entry.key);
            }
            for index in 0..400 {
                let key = format!("k{index}.x{}", index % 7);
                assert_eq!(map.get(&key).is_some(), index < n_attributes, "{key}");
                assert!(map.get(&format!("{key}.y")).is_none());
            }
        }
    }

    #[test]
    fn reused_map_follows_each_spans_resource() {
        let users =
            Arc::new(model::Resource { attributes: vec![KeyValue::new("service.name", "users")].into() });
        let orders =
            Arc::new(model::Resource { attributes: vec![KeyValue::new("service.name", "orders")].into() });
        let mut spans = Vec::new();
        for (index, resource) in [&users, &orders, &users, &orders].into_iter().enumerate() {
            let mut span = span().with_attribute("n.i", index as i64);
            span.resource = resource.clone();
            spans.push(span);
        }
        let mut map = SpanMap::default();
        for (index, span) in spans.iter().enumerate() {
            map.fill(span);
            assert_eq!(map.text("service.name"), if index % 2 == 0 { "users" } else { "orders" });
            assert_eq!(map.text("n.i"), index.to_string());
            assert_eq!(map.entries().iter().filter(|entry| entry.key == "service.name").count(), 1);
        }
    }

    #[test]
    fn prefix_order_agrees_with_key_order() {
        let keys = [
            "",
            "a",
            "ab",
            "ab\0",
            "ab\0c",
            "abcdefgh",
            "abcdefgh.x",
            "abcdefgi",
            "b",
            "tracetest.span.name",
            "tracetest.span.a",
        ];
        for left in keys {
            for right in keys {
                let (a, b) =
                    (Entry::new(left, MapValue::Unsupported), Entry::new(right, MapValue::Unsupported));
                assert_eq!(a.cmp_key(&b), left.cmp(right), "{left:?} {right:?}");
            }
        }
    }
}
