//! The flat string map the analyzer's rules read for one span (analyzer reference section 1):
//! the span's attributes stringified the way Tracetest does it (format 5.1, quirk Q-12 kept),
//! `service.name` = the scope name, the scope's and the resource's attributes merged over
//! them (later sources win, so a resource attribute beats a span attribute: AQ-1), and the
//! `tracetest.span.*` / `span.events` metadata keys over everything.
//!
//! Values are kept typed and turned into text only when a rule asks for it, so building the
//! map for a span allocates nothing but (reused) entry storage; an absent key reads as `""`.
//! The map knows nothing of rules or results. The languages' span view (`lang::view`) does a
//! similar job with Q-12 fixed; the two could share one builder behind a "Tracetest text" flag.

use std::borrow::Cow;

use crate::model::{AttributeValue, Event, KeyValue, Span, SpanId, SpanKind};

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
        matches!(self, MapValue::MetaText(_) | MapValue::Nanos(_) | MapValue::ParentId(_) | MapValue::Events(_))
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

/// The flat map of one span, sorted by key, each key once.
#[derive(Debug, Default)]
pub struct SpanMap<'a> {
    span: Option<&'a Span>,
    span_type: &'static str,
    entries: Vec<(&'a str, MapValue<'a>)>,
    /// An open-addressing index over `entries`: rules ask for a few dozen fixed keys per
    /// span, mostly absent ones, and one hash answers that faster than a binary search of
    /// string comparisons. Each slot is 0 (empty) or `tag << 8 | (index + 1)`.
    slots: Vec<u16>,
}

/// Slots of the index; a map with more entries than [`MAX_INDEXED`] is binary-searched.
const N_SLOTS: usize = 256;
const MAX_INDEXED: usize = 160;

/// A hash of a key from its length and its first and last eight bytes: keys share
/// prefixes (`http.`, `tracetest.span.`) but rarely both ends and the length.
fn key_hash(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let word = |chunk: &[u8]| {
        let mut buffer = [0u8; 8];
        buffer[..chunk.len()].copy_from_slice(chunk);
        u64::from_le_bytes(buffer)
    };
    let head = word(&bytes[..bytes.len().min(8)]);
    let tail = word(&bytes[bytes.len().saturating_sub(8)..]);
    (head ^ tail.rotate_left(29) ^ (bytes.len() as u64).wrapping_mul(0x9E37_79B9)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl<'a> SpanMap<'a> {
    /// The map of `span`.
    pub fn new(span: &'a Span) -> Self {
        let mut map = SpanMap::default();
        map.fill(span);
        map
    }

    /// Replaces the contents with the map of `span`, reusing the entry storage.
    pub fn fill(&mut self, span: &'a Span) {
        self.span = Some(span);
        self.span_type = span.tracetest_type();
        let entries = &mut self.entries;
        entries.clear();
        // Pushed in increasing precedence; the stable sort below keeps that order among
        // equal keys and the compaction keeps the last one.
        push_attributes(entries, &span.attributes);
        entries.push(("service.name", MapValue::Text(&span.scope.name)));
        push_attributes(entries, &span.scope.attributes);
        push_attributes(entries, &span.resource.attributes);
        entries.push(("span.events", MapValue::Events(&span.events)));
        entries.push(("tracetest.span.duration", MapValue::Nanos(span.duration_nanos())));
        entries.push(("tracetest.span.end_time", MapValue::Nanos(span.end_time_unix_nano)));
        entries.push(("tracetest.span.name", MapValue::MetaText(&span.name)));
        entries.push(("tracetest.span.parent_id", MapValue::ParentId(span.parent_span_id)));
        entries.push(("tracetest.span.start_time", MapValue::Nanos(span.start_time_unix_nano)));
        entries.push(("tracetest.span.status_code", MapValue::MetaText(span.status.code.otlp_name())));
        if !span.status.message.is_empty() {
            entries.push(("tracetest.span.status_description", MapValue::MetaText(&span.status.message)));
        }
        entries.push(("tracetest.span.type", MapValue::MetaText(self.span_type)));
        entries.sort_by(|left, right| left.0.cmp(right.0));
        let mut kept = 0;
        for index in 0..entries.len() {
            if kept > 0 && entries[kept - 1].0 == entries[index].0 {
                entries[kept - 1] = entries[index];
            } else {
                entries[kept] = entries[index];
                kept += 1;
            }
        }
        entries.truncate(kept);
        self.slots.clear();
        if entries.len() <= MAX_INDEXED {
            self.slots.resize(N_SLOTS, 0);
            for (index, (key, _)) in entries.iter().enumerate() {
                let hash = key_hash(key);
                let mut slot = (hash >> 56) as usize;
                while self.slots[slot] != 0 {
                    slot = (slot + 1) % N_SLOTS;
                }
                self.slots[slot] = (((hash >> 48) as u16 & 0xff) << 8) | (index as u16 + 1);
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
    pub fn entries(&self) -> &[(&'a str, MapValue<'a>)] {
        &self.entries
    }

    pub fn get(&self, key: &str) -> Option<MapValue<'a>> {
        if !self.slots.is_empty() {
            let hash = key_hash(key);
            let tag = (hash >> 48) as u16 & 0xff;
            let mut slot = (hash >> 56) as usize;
            loop {
                let value = self.slots[slot];
                if value == 0 {
                    return None;
                }
                let index = usize::from(value & 0xff) - 1;
                if value >> 8 == tag && self.entries[index].0 == key {
                    return Some(self.entries[index].1);
                }
                slot = (slot + 1) % N_SLOTS;
            }
        }
        self.entries
            .binary_search_by(|(entry_key, _)| (*entry_key).cmp(key))
            .ok()
            .map(|index| self.entries[index].1)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The text of `key`; an absent key reads as `""` (reference section 3).
    pub fn text(&self, key: &str) -> Cow<'a, str> {
        self.get(key).map_or(Cow::Borrowed(""), |value| value.text())
    }
}

fn push_attributes<'a>(entries: &mut Vec<(&'a str, MapValue<'a>)>, attributes: &'a [KeyValue]) {
    entries.extend(attributes.iter().map(|kv| (&*kv.key, MapValue::from_attribute(&kv.value))));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Scope, StatusCode, TraceId};

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
            name: Arc::from("my-scope"),
            version: Arc::from(""),
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
        let keys: Vec<&str> = map.entries().iter().map(|(key, _)| *key).collect();
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
            for (key, value) in map.entries() {
                assert_eq!(map.get(key), Some(*value), "{key}");
            }
            for index in 0..400 {
                let key = format!("k{index}.x{}", index % 7);
                assert_eq!(map.get(&key).is_some(), index < n_attributes, "{key}");
                assert!(map.get(&format!("{key}.y")).is_none());
            }
        }
    }
}
