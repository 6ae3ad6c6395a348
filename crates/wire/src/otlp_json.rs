//! Traces as OTLP JSON the way the collector's `pdata` and Jaeger's grpc-gateway write it:
//! every field at its default left out (an empty list, a zero, an empty text), IDs in hex,
//! 64-bit integers and nanosecond times as decimal texts, enums as numbers, bytes as base64.
//! Borrowed from the model, so a trace is written straight to bytes.
//!
//! [`OtlpTraces::jaeger`] gives what Jaeger's api_v3 answers: each resource with a text
//! `service.name` (`missing-service-name` / `empty-service-name` otherwise), attributes
//! sorted by key and events by name, as Jaeger's query service adjusts them.
//!
//! ```json
//! {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
//!   "scopeSpans": [{"scope": {"name": "shop-lib"}, "spans": [{"traceId": "...", "spanId": "...",
//!     "name": "GET /cart", "kind": 2, "startTimeUnixNano": "1700000000000000000",
//!     "endTimeUnixNano": "1700000000012000000", "status": {"code": 2, "message": "boom"}}]}]}]}
//! ```

use std::io::{self, Write};
use std::sync::Arc;

use base64::Engine;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use model::{AttributeValue, KeyValue, Resource, Scope, StatusCode, Trace};

use crate::jaeger::{resource_service, service_label};
use crate::json;

/// Traces as OTLP `TracesData` JSON.
pub struct OtlpTraces<'a> {
    resources: Vec<ResourceGroup<'a>>,
    jaeger: bool,
}

struct ResourceGroup<'a> {
    resource: &'a Arc<Resource>,
    scopes: Vec<(&'a Arc<Scope>, Vec<&'a model::Span>)>,
}

impl<'a> OtlpTraces<'a> {
    /// The traces' spans grouped by resource and scope within each trace, in trace order.
    pub fn new(traces: &'a [Trace]) -> Self {
        let mut resources = Vec::new();
        for trace in traces {
            let first = resources.len();
            for span in &trace.spans {
                let group = match resources[first..].iter().position(|group: &ResourceGroup<'a>| {
                    Arc::ptr_eq(group.resource, &span.resource) || **group.resource == *span.resource
                }) {
                    Some(at) => &mut resources[first + at],
                    None => {
                        resources.push(ResourceGroup { resource: &span.resource, scopes: Vec::new() });
                        resources.last_mut().expect("just pushed")
                    }
                };
                match group
                    .scopes
                    .iter_mut()
                    .find(|(scope, _)| Arc::ptr_eq(scope, &span.scope) || ***scope == *span.scope)
                {
                    Some((_, spans)) => spans.push(span),
                    None => group.scopes.push((&span.scope, vec![span])),
                }
            }
        }
        OtlpTraces { resources, jaeger: false }
    }

    /// As [`OtlpTraces::new`], adjusted as Jaeger's query service answers.
    pub fn jaeger(traces: &'a [Trace]) -> Self {
        OtlpTraces { jaeger: true, ..Self::new(traces) }
    }
}

/// A list of attributes, sorted by key when `sorted`, with a `service.name` put right
/// for a Jaeger resource.
impl OtlpTraces<'_> {
    /// The traces as their `Serialize` writes them, the spans written by hand
    /// ([`crate::json`]): what api_v3's trace by ID sends, where a trace may have thousands
    /// of spans. Resources and scopes, a few a trace, go through serde.
    pub fn write_json<W: Write>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(b"{\"resourceSpans\":[")?;
        // One attribute order for every span, rather than one allocation each.
        let mut order = Vec::new();
        for (at, group) in self.resources.iter().enumerate() {
            if at > 0 {
                out.write_all(b",")?;
            }
            let resource = ResourceSpans { group, jaeger: self.jaeger };
            out.write_all(b"{\"resource\":")?;
            json::serde(out, &ResourceJson(resource.attributes()))?;
            out.write_all(b",\"scopeSpans\":[")?;
            for (at, (scope, spans)) in group.scopes.iter().enumerate() {
                if at > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(b"{\"scope\":")?;
                json::serde(out, &ScopeJson { scope, sorted: self.jaeger })?;
                out.write_all(b",\"spans\":[")?;
                for (at, span) in spans.iter().enumerate() {
                    if at > 0 {
                        out.write_all(b",")?;
                    }
                    SpanJson { span, sorted: self.jaeger }.write_json(out, &mut order)?;
                }
                out.write_all(b"]}")?;
            }
            out.write_all(b"]}")?;
        }
        out.write_all(b"]}")
    }
}

struct Attributes<'a> {
    list: &'a [KeyValue],
    sorted: bool,
    /// Replaces or adds `service.name` with this text.
    service: Option<&'a str>,
}

impl<'a> Attributes<'a> {
    fn plain(list: &'a [KeyValue], sorted: bool) -> Self {
        Attributes { list, sorted, service: None }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty() && self.service.is_none()
    }
}

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&str, Value<'_>)> = self
            .list
            .iter()
            .filter(|attribute| self.service.is_none() || &*attribute.key != "service.name")
            .map(|attribute| (&*attribute.key, Value::Model(&attribute.value)))
            .collect();
        if let Some(service) = self.service {
            entries.push(("service.name", Value::Text(service)));
        }
        if self.sorted {
            entries.sort_by(|a, b| a.0.cmp(b.0));
        }
        let mut seq = serializer.serialize_seq(Some(entries.len()))?;
        for (key, value) in entries {
            seq.serialize_element(&Entry { key, value })?;
        }
        seq.end()
    }
}

impl<'a> Attributes<'a> {
    /// As `Serialize` writes them ([`crate::json`]), with `order` as scratch space; a
    /// resource's, with its service, through serde.
    fn write_json<W: Write>(&self, out: &mut W, order: &mut Vec<&'a KeyValue>) -> io::Result<()> {
        if self.service.is_some() {
            return json::serde(out, self);
        }
        order.clear();
        order.extend(self.list);
        if self.sorted {
            // Stable, by the text, as `Serialize` sorts.
            order.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        }
        out.write_all(b"[")?;
        for (at, attribute) in order.iter().enumerate() {
            if at > 0 {
                out.write_all(b",")?;
            }
            out.write_all(b"{\"key\":")?;
            json::str(out, &attribute.key)?;
            out.write_all(b",\"value\":")?;
            match &attribute.value {
                AttributeValue::String(text) => {
                    out.write_all(b"{\"stringValue\":")?;
                    json::str(out, text)?;
                    out.write_all(b"}")?;
                }
                AttributeValue::Bool(value) => {
                    out.write_all(if *value { b"{\"boolValue\":true}" } else { b"{\"boolValue\":false}" })?;
                }
                AttributeValue::Int(value) => {
                    out.write_all(b"{\"intValue\":\"")?;
                    json::serde(out, value)?;
                    out.write_all(b"\"}")?;
                }
                other => json::serde(out, &Value::Model(other))?,
            }
            out.write_all(b"}")?;
        }
        out.write_all(b"]")
    }
}

struct Entry<'a> {
    key: &'a str,
    value: Value<'a>,
}

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("key", self.key)?;
        map.serialize_entry("value", &self.value)?;
        map.end()
    }
}

enum Value<'a> {
    Model(&'a AttributeValue),
    Text(&'a str),
}

/// `{"values": [...]}` of an array or a key-value list.
struct Values<T>(T);

impl<T: Serialize> Serialize for Values<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("values", &self.0)?;
        map.end()
    }
}

struct Items<'a>(&'a [AttributeValue]);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Value::Model))
    }
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = match self {
            Value::Text(text) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("stringValue", text)?;
                return map.end();
            }
            Value::Model(value) => value,
        };
        let mut map = serializer.serialize_map(Some(1))?;
        match value {
            AttributeValue::String(text) => map.serialize_entry("stringValue", &**text)?,
            AttributeValue::Bool(value) => map.serialize_entry("boolValue", value)?,
            AttributeValue::Int(value) => map.serialize_entry("intValue", &DecimalText(*value))?,
            AttributeValue::Double(value) => map.serialize_entry("doubleValue", value)?,
            AttributeValue::Bytes(bytes) => map.serialize_entry(
                "bytesValue",
                &base64::engine::general_purpose::STANDARD.encode(&***bytes),
            )?,
            AttributeValue::Array(items) => map.serialize_entry("arrayValue", &Values(Items(items)))?,
            AttributeValue::Map(entries) => {
                map.serialize_entry("kvlistValue", &Values(Attributes::plain(entries, false)))?
            }
            AttributeValue::Empty => {}
        }
        map.end()
    }
}

impl Serialize for OtlpTraces<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("resourceSpans", &ResourceList(self))?;
        map.end()
    }
}

struct ResourceList<'a>(&'a OtlpTraces<'a>);

impl Serialize for ResourceList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let jaeger = self.0.jaeger;
        serializer.collect_seq(self.0.resources.iter().map(|group| ResourceSpans { group, jaeger }))
    }
}

struct ResourceSpans<'a> {
    group: &'a ResourceGroup<'a>,
    jaeger: bool,
}

impl Serialize for ResourceSpans<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("resource", &ResourceJson(self.attributes()))?;
        let jaeger = self.jaeger;
        let scopes: Vec<ScopeSpans<'_>> =
            self.group.scopes.iter().map(|(scope, spans)| ScopeSpans { scope, spans, jaeger }).collect();
        map.serialize_entry("scopeSpans", &scopes)?;
        map.end()
    }
}

/// `{"attributes": [...]}`, or `{}` without any.
impl ResourceSpans<'_> {
    /// The resource's attributes; as Jaeger's answers, with its service named as Jaeger
    /// names it and sorted.
    fn attributes(&self) -> Attributes<'_> {
        let resource = &**self.group.resource;
        let service = self.jaeger.then(|| match resource_service(resource) {
            Some(name) if !name.is_empty() => name,
            other => service_label(other),
        });
        Attributes { list: &resource.attributes, sorted: self.jaeger, service }
    }
}

struct ResourceJson<'a>(Attributes<'a>);

impl Serialize for ResourceJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.0.is_empty() {
            map.serialize_entry("attributes", &self.0)?;
        }
        map.end()
    }
}

struct ScopeSpans<'a> {
    scope: &'a Scope,
    spans: &'a [&'a model::Span],
    jaeger: bool,
}

impl Serialize for ScopeSpans<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("scope", &ScopeJson { scope: self.scope, sorted: self.jaeger })?;
        let jaeger = self.jaeger;
        map.serialize_entry("spans", &SpanList { spans: self.spans, jaeger })?;
        map.end()
    }
}

struct ScopeJson<'a> {
    scope: &'a Scope,
    sorted: bool,
}

impl Serialize for ScopeJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let scope = self.scope;
        let mut map = serializer.serialize_map(None)?;
        if !scope.name.is_empty() {
            map.serialize_entry("name", &*scope.name)?;
        }
        if !scope.version.is_empty() {
            map.serialize_entry("version", &*scope.version)?;
        }
        if !scope.attributes.is_empty() {
            map.serialize_entry("attributes", &Attributes::plain(&scope.attributes, self.sorted))?;
        }
        map.end()
    }
}

struct SpanList<'a> {
    spans: &'a [&'a model::Span],
    jaeger: bool,
}

impl Serialize for SpanList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.spans.iter().map(|span| SpanJson { span, sorted: self.jaeger }))
    }
}

struct SpanJson<'a> {
    span: &'a model::Span,
    sorted: bool,
}

/// An integer as OTLP JSON writes a 64-bit one: a decimal string, formatted on the stack
/// (a span has two, and a string each was a tenth of a big trace's allocations).
struct DecimalText<T>(T);

impl<T: Into<i128> + Copy> Serialize for DecimalText<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value: i128 = self.0.into();
        let mut text = [0u8; 40];
        let mut at = text.len();
        let mut magnitude = value.unsigned_abs();
        loop {
            at -= 1;
            text[at] = b'0' + (magnitude % 10) as u8;
            magnitude /= 10;
            if magnitude == 0 {
                break;
            }
        }
        if value < 0 {
            at -= 1;
            text[at] = b'-';
        }
        serializer.serialize_str(std::str::from_utf8(&text[at..]).map_err(serde::ser::Error::custom)?)
    }
}

impl<'a> SpanJson<'a> {
    /// As `Serialize` writes it ([`crate::json`]), with `order` as scratch space for the
    /// attributes; events and links, which few spans have, through serde.
    fn write_json<W: Write>(&self, out: &mut W, order: &mut Vec<&'a KeyValue>) -> io::Result<()> {
        let span = self.span;
        out.write_all(b"{\"traceId\":")?;
        json::hex_id(out, span.trace_id.as_bytes())?;
        out.write_all(b",\"spanId\":")?;
        json::hex_id(out, span.span_id.as_bytes())?;
        if let Some(parent) = span.parent_span_id {
            out.write_all(b",\"parentSpanId\":")?;
            json::hex_id(out, parent.as_bytes())?;
        }
        out.write_all(b",\"name\":")?;
        json::str(out, &span.name)?;
        if span.kind as u8 != 0 {
            out.write_all(b",\"kind\":")?;
            json::u64(out, u64::from(span.kind as u8))?;
        }
        out.write_all(b",\"startTimeUnixNano\":\"")?;
        json::u64(out, span.start_time_unix_nano)?;
        out.write_all(b"\",\"endTimeUnixNano\":\"")?;
        json::u64(out, span.end_time_unix_nano)?;
        out.write_all(b"\"")?;
        if !span.attributes.is_empty() {
            out.write_all(b",\"attributes\":")?;
            Attributes::plain(&span.attributes, self.sorted).write_json(out, order)?;
        }
        if !span.events().is_empty() {
            out.write_all(b",\"events\":")?;
            json::serde(out, &self.events())?;
        }
        if !span.links().is_empty() {
            out.write_all(b",\"links\":")?;
            json::serde(out, &self.links())?;
        }
        out.write_all(b",\"status\":")?;
        json::serde(out, &StatusJson(&span.status))?;
        out.write_all(b"}")
    }

    /// The span's events (sorted by name, as Jaeger's answers).
    fn events(&self) -> Vec<EventJson<'_>> {
        let mut events: Vec<&model::Event> = self.span.events().iter().collect();
        if self.sorted {
            events.sort_by(|a, b| a.name.cmp(&b.name));
        }
        events.into_iter().map(|event| EventJson { event, sorted: self.sorted }).collect()
    }

    fn links(&self) -> Vec<LinkJson<'_>> {
        self.span.links().iter().map(|link| LinkJson { link, sorted: self.sorted }).collect()
    }
}

impl Serialize for SpanJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let span = self.span;
        let sorted = self.sorted;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("traceId", &span.trace_id)?;
        map.serialize_entry("spanId", &span.span_id)?;
        if let Some(parent) = span.parent_span_id {
            map.serialize_entry("parentSpanId", &parent)?;
        }
        map.serialize_entry("name", &*span.name)?;
        if span.kind as u8 != 0 {
            map.serialize_entry("kind", &(span.kind as u8))?;
        }
        map.serialize_entry("startTimeUnixNano", &DecimalText(span.start_time_unix_nano))?;
        map.serialize_entry("endTimeUnixNano", &DecimalText(span.end_time_unix_nano))?;
        if !span.attributes.is_empty() {
            map.serialize_entry("attributes", &Attributes::plain(&span.attributes, sorted))?;
        }
        if !span.events().is_empty() {
            map.serialize_entry("events", &self.events())?;
        }
        if !span.links().is_empty() {
            map.serialize_entry("links", &self.links())?;
        }
        map.serialize_entry("status", &StatusJson(&span.status))?;
        map.end()
    }
}

struct StatusJson<'a>(&'a model::Status);

impl Serialize for StatusJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.0.message.is_empty() {
            map.serialize_entry("message", &*self.0.message)?;
        }
        if self.0.code != StatusCode::Unset {
            map.serialize_entry("code", &(self.0.code as u8))?;
        }
        map.end()
    }
}

struct EventJson<'a> {
    event: &'a model::Event,
    sorted: bool,
}

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = self.event;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("timeUnixNano", &DecimalText(event.time_unix_nano))?;
        if !event.name.is_empty() {
            map.serialize_entry("name", &*event.name)?;
        }
        if !event.attributes.is_empty() {
            map.serialize_entry("attributes", &Attributes::plain(&event.attributes, self.sorted))?;
        }
        map.end()
    }
}

struct LinkJson<'a> {
    link: &'a model::Link,
    sorted: bool,
}

impl Serialize for LinkJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let link = self.link;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("traceId", &link.trace_id)?;
        map.serialize_entry("spanId", &link.span_id)?;
        if !link.attributes.is_empty() {
            map.serialize_entry("attributes", &Attributes::plain(&link.attributes, self.sorted))?;
        }
        map.end()
    }
}
