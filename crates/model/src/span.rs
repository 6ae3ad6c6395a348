//! Spans with typed attributes, events, links and their shared resource and scope.

use std::sync::Arc;

use super::{empty_str, SpanId, Str, TraceId};

const _: () = assert!(std::mem::size_of::<AttributeValue>() == 16);
const _: () = assert!(std::mem::size_of::<KeyValue>() == 24);

/// A typed attribute value, as OTLP's `AnyValue`.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    String(Str),
    Bool(bool),
    Int(i64),
    Double(f64),
    // The rare composite values are boxed twice so that their slice's fat pointer does not
    // widen every value to 24 bytes: with them thin, a value is a tag and one word (16 bytes)
    // and an attribute 24. Build them with `AttributeValue::bytes`, `array` and `map`.
    Bytes(Box<Box<[u8]>>),
    Array(Box<Box<[AttributeValue]>>),
    Map(Box<Box<[KeyValue]>>),
    /// An `AnyValue` with no value set.
    Empty,
}

impl AttributeValue {
    /// A bytes value.
    pub fn bytes(bytes: impl Into<Box<[u8]>>) -> Self {
        AttributeValue::Bytes(Box::new(bytes.into()))
    }

    /// An array value.
    pub fn array(items: impl Into<Box<[AttributeValue]>>) -> Self {
        AttributeValue::Array(Box::new(items.into()))
    }

    /// A map (key-value list) value.
    pub fn map(entries: impl Into<Box<[KeyValue]>>) -> Self {
        AttributeValue::Map(Box::new(entries.into()))
    }

    /// The value as a string slice, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// The OTLP type name, as used in JSON output (`string`, `int`, `double`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::String(_) => "string",
            AttributeValue::Bool(_) => "bool",
            AttributeValue::Int(_) => "int",
            AttributeValue::Double(_) => "double",
            AttributeValue::Bytes(_) => "bytes",
            AttributeValue::Array(_) => "array",
            AttributeValue::Map(_) => "map",
            AttributeValue::Empty => "empty",
        }
    }
}

impl From<&str> for AttributeValue {
    fn from(text: &str) -> Self {
        AttributeValue::String(Str::new(text))
    }
}
impl From<i64> for AttributeValue {
    fn from(value: i64) -> Self {
        AttributeValue::Int(value)
    }
}
impl From<f64> for AttributeValue {
    fn from(value: f64) -> Self {
        AttributeValue::Double(value)
    }
}
impl From<bool> for AttributeValue {
    fn from(value: bool) -> Self {
        AttributeValue::Bool(value)
    }
}

/// One attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    pub key: Str,
    pub value: AttributeValue,
}

impl KeyValue {
    pub fn new(key: &str, value: impl Into<AttributeValue>) -> Self {
        KeyValue { key: Str::new(key), value: value.into() }
    }
}

/// Finds an attribute by key; the last one wins when a key repeats.
pub fn find_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AttributeValue> {
    attributes.iter().rev().find(|kv| &*kv.key == key).map(|kv| &kv.value)
}

/// The resource that produced a batch of spans (shared by every span of that batch).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resource {
    pub attributes: Box<[KeyValue]>,
}

/// The instrumentation scope (shared by every span of that scope in a batch).
#[derive(Clone, Debug, PartialEq)]
pub struct Scope {
    pub name: Str,
    pub version: Str,
    pub attributes: Box<[KeyValue]>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope { name: empty_str(), version: empty_str(), attributes: Box::new([]) }
    }
}

/// OTLP span kinds, numbered as in OTLP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SpanKind {
    #[default]
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

impl SpanKind {
    pub fn from_i32(value: i32) -> Self {
        match value {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// The lower-case name Tracetest exposes to selectors (`unespecified` sic, reference 5.3).
    pub fn tracetest_name(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unespecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

/// OTLP status codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StatusCode {
    #[default]
    Unset = 0,
    Ok = 1,
    Error = 2,
}

impl StatusCode {
    pub fn from_i32(value: i32) -> Self {
        match value {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }

    /// `STATUS_CODE_UNSET` / `STATUS_CODE_OK` / `STATUS_CODE_ERROR`.
    pub fn otlp_name(self) -> &'static str {
        match self {
            StatusCode::Unset => "STATUS_CODE_UNSET",
            StatusCode::Ok => "STATUS_CODE_OK",
            StatusCode::Error => "STATUS_CODE_ERROR",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub code: StatusCode,
    pub message: Str,
}

impl Default for Status {
    fn default() -> Self {
        Status { code: StatusCode::Unset, message: empty_str() }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub time_unix_nano: u64,
    pub name: Str,
    pub attributes: Box<[KeyValue]>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attributes: Box<[KeyValue]>,
}

/// A span's rarely present parts, boxed apart from the span (see [`Span::extra`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanExtra {
    pub events: Box<[Event]>,
    pub links: Box<[Link]>,
}

impl SpanExtra {
    /// The span's `extra`: `None` when there are no events and no links.
    pub fn boxed(events: Box<[Event]>, links: Box<[Link]>) -> Option<Box<SpanExtra>> {
        if events.is_empty() && links.is_empty() {
            None
        } else {
            Some(Box::new(SpanExtra { events, links }))
        }
    }
}

/// One span, owned and compact. `resource` and `scope` are shared with the other spans of
/// the batch it arrived in.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `None` for a span without a parent (an all-zero or empty parent ID in OTLP).
    pub parent_span_id: Option<SpanId>,
    pub name: Str,
    pub kind: SpanKind,
    pub status: Status,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub attributes: Box<[KeyValue]>,
    /// Events and links, which most spans lack: one pointer (`None`) instead of two empty
    /// slices (32 bytes) in every stored span. Read them with [`Span::events`] and
    /// [`Span::links`]; build it with [`SpanExtra::boxed`], which keeps it `None` when both
    /// are empty so that equal spans compare equal.
    pub extra: Option<Box<SpanExtra>>,
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
}

impl Span {
    /// A span with the given IDs and name and every other field empty; tests and the
    /// trigger span build on it with the `with_*` methods.
    pub fn new(trace_id: TraceId, span_id: SpanId, name: &str) -> Self {
        Span {
            trace_id,
            span_id,
            parent_span_id: None,
            name: Str::new(name),
            kind: SpanKind::Unspecified,
            status: Status::default(),
            start_time_unix_nano: 0,
            end_time_unix_nano: 0,
            attributes: Box::new([]),
            extra: None,
            resource: Arc::default(),
            scope: Arc::default(),
        }
    }

    /// The span's events (empty for most spans).
    pub fn events(&self) -> &[Event] {
        self.extra.as_deref().map_or(&[], |extra| &extra.events)
    }

    /// The span's links (empty for most spans).
    pub fn links(&self) -> &[Link] {
        self.extra.as_deref().map_or(&[], |extra| &extra.links)
    }

    /// Replaces the span's events.
    pub fn with_events(mut self, events: impl Into<Box<[Event]>>) -> Self {
        let links = self.extra.take().map(|extra| extra.links).unwrap_or_default();
        self.extra = SpanExtra::boxed(events.into(), links);
        self
    }

    /// Replaces the span's links.
    pub fn with_links(mut self, links: impl Into<Box<[Link]>>) -> Self {
        let events = self.extra.take().map(|extra| extra.events).unwrap_or_default();
        self.extra = SpanExtra::boxed(events, links.into());
        self
    }

    pub fn with_parent(mut self, parent: SpanId) -> Self {
        self.parent_span_id = Some(parent);
        self
    }

    pub fn with_kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn with_times(mut self, start_time_unix_nano: u64, end_time_unix_nano: u64) -> Self {
        self.start_time_unix_nano = start_time_unix_nano;
        self.end_time_unix_nano = end_time_unix_nano;
        self
    }

    pub fn with_attribute(mut self, key: &str, value: impl Into<AttributeValue>) -> Self {
        let mut attributes = std::mem::take(&mut self.attributes).into_vec();
        attributes.push(KeyValue::new(key, value));
        self.attributes = attributes.into_boxed_slice();
        self
    }

    pub fn with_resource_attribute(mut self, key: &str, value: impl Into<AttributeValue>) -> Self {
        let mut attributes = self.resource.attributes.to_vec();
        attributes.push(KeyValue::new(key, value));
        self.resource = Arc::new(Resource { attributes: attributes.into_boxed_slice() });
        self
    }

    pub fn with_status(mut self, code: StatusCode, message: &str) -> Self {
        self.status = Status { code, message: Str::new(message) };
        self
    }

    /// The span's own attribute, if set.
    pub fn attribute(&self, key: &str) -> Option<&AttributeValue> {
        find_attribute(&self.attributes, key)
    }

    /// `service.name` from the resource, else from the span's own attributes.
    pub fn service_name(&self) -> Option<&str> {
        find_attribute(&self.resource.attributes, "service.name")
            .or_else(|| self.attribute("service.name"))
            .and_then(AttributeValue::as_str)
    }

    /// End minus start in nanoseconds (0 when the end precedes the start).
    pub fn duration_nanos(&self) -> u64 {
        self.end_time_unix_nano.saturating_sub(self.start_time_unix_nano)
    }
}

impl Span {
    /// Tracetest's derived span category (reference 5.4): the first attribute family found,
    /// checked in the table's order (`http`, `database`, `rpc`, `messaging`, `faas`,
    /// `exception`) so the answer is deterministic where Tracetest's is not.
    pub fn tracetest_type(&self) -> &'static str {
        const FAMILIES: [(&str, &str); 6] = [
            ("http.", "http"),
            ("db.", "database"),
            ("rpc.", "rpc"),
            ("messaging.", "messaging"),
            ("faas.", "faas"),
            ("exception.", "exception"),
        ];
        if self.attribute("event_type").is_some() || &*self.name == "documentLoad" {
            return "general";
        }
        FAMILIES
            .iter()
            .find(|(prefix, _)| self.attributes.iter().any(|kv| kv.key.starts_with(prefix)))
            .map_or("general", |(_, family)| family)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn str_behaves_like_the_text_it_holds() {
        let a = Str::from("http.method");
        let b = Str::from(String::from("http.method"));
        assert!(!Str::ptr_eq(&a, &b));
        assert_eq!(a, b);
        assert!(Str::ptr_eq(&a, &a.clone()));
        assert_eq!(&*a, "http.method");
        assert_eq!(format!("{a} {a:?}"), "http.method \"http.method\"");
        let (first, second) = (Str::from("a"), Str::from("b"));
        assert!(first < second);
        assert_eq!(&*Str::default(), "");
        assert_eq!(Str::from("héllo").len(), 6);
        // Hashing agrees with `str`, so maps keyed by `Str` can be searched with a `&str`.
        let map: HashMap<Str, i32> = [(a, 1)].into_iter().collect();
        assert_eq!(map.get("http.method"), Some(&1));
    }

    #[test]
    fn extra_is_none_without_events_or_links() {
        let span = Span::new(TraceId([1; 16]), SpanId([1; 8]), "s");
        assert!(span.extra.is_none() && span.events().is_empty() && span.links().is_empty());
        let event = Event { time_unix_nano: 1, name: "e".into(), attributes: Box::new([]) };
        let span = span.with_events([event]);
        assert_eq!(span.events().len(), 1);
        assert!(span.links().is_empty());
        assert!(span.with_events([]).extra.is_none());
    }
}
