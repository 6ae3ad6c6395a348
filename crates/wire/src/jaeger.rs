//! Jaeger's query API shapes: the HTTP JSON API the Jaeger UI and Grafana's Jaeger data
//! source read (`/api/traces`, `/api/services`, ...; Jaeger's `model/json` inside its
//! `{"data", "total", "limit", "offset", "errors"}` envelope) and api_v3's HTTP gateway
//! answers (`{"result": ...}`, `{"services": [...]}`, `{"operations": [...]}`,
//! `{"error": {"httpCode", "message"}}`).
//!
//! A trace maps as Jaeger v2 maps OTLP (the collector's `pkg/translator/jaeger`, then the
//! query service's sanitizers and adjusters): a process per distinct resource (`p1`, `p2`,
//! ... in order of first use) whose service is `service.name` (`missing-service-name` when
//! absent or not text, `empty-service-name` when empty) and whose tags are the other resource
//! attributes; span tags are the attributes plus `otel.scope.name`/`otel.scope.version`,
//! `span.kind` (not for unspecified), `otel.status_code` (`OK`/`ERROR`), `error: true` and
//! `otel.status_description` (whenever the status has a message), sorted by key; events are
//! logs (an `event` field with the name first, unless an attribute is called `event`, then
//! the attributes sorted); the parent is a `CHILD_OF` reference and each link a
//! `FOLLOWS_FROM` one (`CHILD_OF` when its `opentracing.ref_type` says `child_of`; a link to
//! the parent retypes the parent's); times are microseconds since the epoch. Tag types:
//! `string`, `bool`, `int64`, `float64`, `binary` (base64); arrays and maps are `string`
//! tags holding their JSON (map keys sorted), an empty value the empty string.
//!
//! ```json
//! {"data": [{"traceID": "0102030405060708090a0b0c0d0e0f10",
//!   "spans": [{"traceID": "0102...0f10", "spanID": "2222222222222222", "operationName": "SELECT",
//!     "references": [{"refType": "CHILD_OF", "traceID": "0102...0f10", "spanID": "1111111111111111"}],
//!     "startTime": 1700000000001000, "duration": 1000,
//!     "tags": [{"key": "otel.status_code", "type": "string", "value": "OK"},
//!              {"key": "span.kind", "type": "string", "value": "client"}],
//!     "logs": [], "processID": "p1", "warnings": null}],
//!   "processes": {"p1": {"serviceName": "shop", "tags": [{"key": "host.name", "type": "string", "value": "h1"}]}},
//!   "warnings": null}],
//!  "total": 0, "limit": 0, "offset": 0, "errors": null}
//! ```

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::Arc;

use base64::Engine;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use model::{AttributeValue, KeyValue, Resource, SpanKind, StatusCode, TraceId};

use crate::json;

/// The service Jaeger shows for a resource without a text `service.name`.
pub const MISSING_SERVICE_NAME: &str = "missing-service-name";
/// The service Jaeger shows for a resource whose `service.name` is empty.
pub const EMPTY_SERVICE_NAME: &str = "empty-service-name";

/// The service Jaeger shows for a resource's `service.name` (`None`: absent or not text).
pub fn service_label(service: Option<&str>) -> &str {
    match service {
        None => MISSING_SERVICE_NAME,
        Some("") => EMPTY_SERVICE_NAME,
        Some(name) => name,
    }
}

/// A resource's `service.name` when it is text.
pub fn resource_service(resource: &Resource) -> Option<&str> {
    model::find_attribute(&resource.attributes, "service.name").and_then(AttributeValue::as_str)
}

/// Jaeger's name of a span kind (`server`, ...; empty for unspecified), as `span.kind` tags
/// and operations carry it.
pub fn kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified => "",
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

/// The span kind a Jaeger kind name stands for (`None` for an unknown name).
pub fn kind_from_name(name: &str) -> Option<SpanKind> {
    Some(match name {
        "" | "unspecified" => SpanKind::Unspecified,
        "internal" => SpanKind::Internal,
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        _ => return None,
    })
}

/// The envelope of every HTTP JSON API answer.
#[derive(Clone, Debug, Serialize)]
pub struct Envelope<T> {
    pub data: Option<T>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub errors: Option<Vec<ApiError>>,
}

impl<T> Envelope<T> {
    /// An answer of `data` with Jaeger's `total` (the list's length for services and
    /// operations, 0 for traces and dependencies, as Jaeger answers).
    pub fn new(data: T, total: usize) -> Self {
        Envelope { data: Some(data), total, limit: 0, offset: 0, errors: None }
    }
}

impl Envelope<()> {
    /// A failed request: `data` null and one error.
    pub fn error(code: u16, msg: String) -> Self {
        Envelope { data: None, total: 0, limit: 0, offset: 0, errors: Some(vec![ApiError { code, msg }]) }
    }
}

/// One entry of the envelope's `errors`.
#[derive(Clone, Debug, Serialize)]
pub struct ApiError {
    pub code: u16,
    pub msg: String,
}

/// One trace in Jaeger's JSON model, serialized straight from the model's spans: a
/// 1,000-span trace is a megabyte of JSON, and building Jaeger's structs first (a tag list,
/// a reference list, a log list and a process ID string per span) cost more than the
/// writing itself.
#[derive(Clone, Debug)]
pub struct Trace<'a> {
    trace: &'a model::Trace,
    /// The distinct resources in order of first use: process `p1` is the first.
    processes: Vec<&'a Resource>,
    /// Each span's index in `processes`.
    process_of: Vec<usize>,
    /// Why the trace may be incomplete (a `?wait=` read); null when nothing is wrong.
    warnings: Option<Vec<String>>,
}

/// One span in Jaeger's JSON model (`traceID`, `spanID`, `operationName`, `references`,
/// `startTime` and `duration` in microseconds, `tags`, `logs`, `processID`, `warnings`).
struct Span<'a> {
    span: &'a model::Span,
    process: usize,
}

/// A reference to another span.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Reference {
    #[serde(rename = "refType")]
    pub ref_type: RefType,
    #[serde(rename = "traceID")]
    pub trace_id: TraceId,
    #[serde(rename = "spanID")]
    pub span_id: model::SpanId,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub enum RefType {
    #[serde(rename = "CHILD_OF")]
    ChildOf,
    #[serde(rename = "FOLLOWS_FROM")]
    FollowsFrom,
}

/// A resource as a Jaeger process.
#[derive(Clone, Debug, Serialize)]
pub struct Process<'a> {
    #[serde(rename = "serviceName")]
    pub service_name: &'a str,
    pub tags: Vec<Tag<'a>>,
}

/// An event as a Jaeger log.
#[derive(Clone, Debug, Serialize)]
pub struct Log<'a> {
    /// Microseconds since the epoch.
    pub timestamp: u64,
    pub fields: Vec<Tag<'a>>,
}

/// A typed tag: `{"key", "type", "value"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tag<'a> {
    pub key: &'a str,
    pub value: TagValue<'a>,
}

/// A tag's value with its Jaeger type.
#[derive(Clone, Debug, PartialEq)]
pub enum TagValue<'a> {
    String(Cow<'a, str>),
    Bool(bool),
    Int64(i64),
    Float64(f64),
    /// Base64 text, as Jaeger's JSON writes bytes.
    Binary(String),
}

impl Serialize for Tag<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tag = serializer.serialize_struct("Tag", 3)?;
        tag.serialize_field("key", self.key)?;
        match &self.value {
            TagValue::String(text) => {
                tag.serialize_field("type", "string")?;
                tag.serialize_field("value", text)?;
            }
            TagValue::Bool(value) => {
                tag.serialize_field("type", "bool")?;
                tag.serialize_field("value", value)?;
            }
            TagValue::Int64(value) => {
                tag.serialize_field("type", "int64")?;
                tag.serialize_field("value", value)?;
            }
            TagValue::Float64(value) => {
                tag.serialize_field("type", "float64")?;
                tag.serialize_field("value", value)?;
            }
            TagValue::Binary(text) => {
                tag.serialize_field("type", "binary")?;
                tag.serialize_field("value", text)?;
            }
        }
        tag.end()
    }
}

impl Tag<'_> {
    /// As `Serialize` writes it ([`crate::json`]).
    fn write_json<W: Write>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(b"{\"key\":")?;
        json::str(out, self.key)?;
        match &self.value {
            TagValue::String(text) => {
                out.write_all(b",\"type\":\"string\",\"value\":")?;
                json::str(out, text)?;
            }
            TagValue::Bool(value) => {
                out.write_all(b",\"type\":\"bool\",\"value\":")?;
                out.write_all(if *value { b"true" } else { b"false" })?;
            }
            TagValue::Int64(value) => {
                out.write_all(b",\"type\":\"int64\",\"value\":")?;
                json::serde(out, value)?;
            }
            TagValue::Float64(value) => {
                out.write_all(b",\"type\":\"float64\",\"value\":")?;
                json::serde(out, value)?;
            }
            TagValue::Binary(text) => {
                out.write_all(b",\"type\":\"binary\",\"value\":")?;
                json::str(out, text)?;
            }
        }
        out.write_all(b"}")
    }
}

impl<'a> Tag<'a> {
    fn text(key: &'a str, text: &'a str) -> Self {
        Tag { key, value: TagValue::String(Cow::Borrowed(text)) }
    }

    /// An attribute as Jaeger's translator tags it.
    pub fn from_attribute(attribute: &'a KeyValue) -> Self {
        let value = match &attribute.value {
            AttributeValue::String(text) => TagValue::String(Cow::Borrowed(text)),
            AttributeValue::Bool(value) => TagValue::Bool(*value),
            AttributeValue::Int(value) => TagValue::Int64(*value),
            AttributeValue::Double(value) => TagValue::Float64(*value),
            AttributeValue::Bytes(bytes) => TagValue::Binary(base64_text(bytes)),
            AttributeValue::Array(_) | AttributeValue::Map(_) | AttributeValue::Empty => {
                TagValue::String(Cow::Owned(value_text(&attribute.value)))
            }
        };
        Tag { key: &attribute.key, value }
    }
}

fn base64_text(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A value as text the way OpenTelemetry's collector renders it (`AsString`): what a tag
/// search compares and what an array or map tag holds (their JSON, map keys sorted).
pub fn value_text(value: &AttributeValue) -> String {
    match value {
        AttributeValue::String(text) => text.to_string(),
        AttributeValue::Bool(value) => value.to_string(),
        AttributeValue::Int(value) => value.to_string(),
        AttributeValue::Double(value) => value.to_string(),
        AttributeValue::Bytes(bytes) => base64_text(bytes),
        AttributeValue::Empty => String::new(),
        AttributeValue::Array(_) | AttributeValue::Map(_) => {
            // Serializing plain data into a String cannot fail.
            serde_json_text(&RawValue(value))
        }
    }
}

fn serde_json_text(value: &RawValue<'_>) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut out);
    if value.serialize(&mut serializer).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A value as the raw JSON the collector's `AsString` writes for arrays and maps.
struct RawValue<'a>(&'a AttributeValue);

impl Serialize for RawValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            AttributeValue::String(text) => serializer.serialize_str(text),
            AttributeValue::Bool(value) => serializer.serialize_bool(*value),
            AttributeValue::Int(value) => serializer.serialize_i64(*value),
            AttributeValue::Double(value) => serializer.serialize_f64(*value),
            AttributeValue::Bytes(bytes) => serializer.serialize_str(&base64_text(bytes)),
            AttributeValue::Empty => serializer.serialize_unit(),
            AttributeValue::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(&RawValue(item))?;
                }
                seq.end()
            }
            AttributeValue::Map(entries) => {
                let mut sorted: Vec<&KeyValue> = entries.iter().collect();
                sorted.sort_by(|a, b| a.key.cmp(&b.key));
                let mut map = serializer.serialize_map(Some(sorted.len()))?;
                for entry in sorted {
                    map.serialize_entry(&*entry.key, &RawValue(&entry.value))?;
                }
                map.end()
            }
        }
    }
}

/// Sorts tags by key, then type and value, as Jaeger's `SortTagsAndLogFields` does.
fn sort_tags(tags: &mut [Tag<'_>]) {
    tags.sort_by(|a, b| a.key.cmp(b.key));
}

impl<'a> Trace<'a> {
    /// The trace in Jaeger's JSON model, spans in the trace's order; `warnings` as given.
    pub fn new(trace: &'a model::Trace, warnings: Option<Vec<String>>) -> Self {
        let mut processes: Vec<&'a Resource> = Vec::new();
        let mut last: Option<(&'a Arc<Resource>, usize)> = None;
        let process_of = trace
            .spans
            .iter()
            .map(|span| {
                // Spans of one export share their resource's Arc: the last one answers most.
                if let Some((resource, index)) = last {
                    if Arc::ptr_eq(resource, &span.resource) {
                        return index;
                    }
                }
                let index = match processes.iter().position(|known| **known == *span.resource) {
                    Some(index) => index,
                    None => {
                        processes.push(&span.resource);
                        processes.len() - 1
                    }
                };
                last = Some((&span.resource, index));
                index
            })
            .collect();
        Trace { trace, processes, process_of, warnings }
    }
}

impl Serialize for Trace<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut trace = serializer.serialize_struct("Trace", 4)?;
        trace.serialize_field("traceID", &self.trace.trace_id)?;
        trace.serialize_field("spans", &Spans(self))?;
        trace.serialize_field("processes", &Processes(&self.processes))?;
        trace.serialize_field("warnings", &self.warnings)?;
        trace.end()
    }
}

impl Trace<'_> {
    /// The trace as its `Serialize` writes it, written by hand ([`crate::json`]): what the
    /// trace-by-ID handler sends, where a trace may have thousands of spans. The processes
    /// and warnings, one each a trace, go through serde.
    pub fn write_json<W: Write>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(b"{\"traceID\":")?;
        json::hex_id(out, self.trace.trace_id.as_bytes())?;
        out.write_all(b",\"spans\":[")?;
        // One tag list for every span of the trace, rather than one allocation each.
        let mut tags = Vec::new();
        for (at, (span, process)) in self.trace.spans.iter().zip(&self.process_of).enumerate() {
            if at > 0 {
                out.write_all(b",")?;
            }
            Span { span, process: *process }.write_json(out, &mut tags)?;
        }
        out.write_all(b"],\"processes\":")?;
        json::serde(out, &Processes(&self.processes))?;
        out.write_all(b",\"warnings\":")?;
        json::serde(out, &self.warnings)?;
        out.write_all(b"}")
    }
}

/// `Envelope::new(traces, 0)` as its `Serialize` writes it, the traces written by hand
/// ([`Trace::write_json`]).
pub fn write_traces<W: Write>(traces: &[Trace<'_>], out: &mut W) -> io::Result<()> {
    out.write_all(b"{\"data\":[")?;
    for (at, trace) in traces.iter().enumerate() {
        if at > 0 {
            out.write_all(b",")?;
        }
        trace.write_json(out)?;
    }
    out.write_all(b"],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}")
}

struct Spans<'t, 'a>(&'t Trace<'a>);

impl Serialize for Spans<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.trace.spans.len()))?;
        for (span, process) in self.0.trace.spans.iter().zip(&self.0.process_of) {
            seq.serialize_element(&Span { span, process: *process })?;
        }
        seq.end()
    }
}

struct Processes<'t, 'a>(&'t [&'a Resource]);

impl Serialize for Processes<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (index, resource) in self.0.iter().enumerate() {
            map.serialize_entry(&ProcessId(index), &Process::new(resource))?;
        }
        map.end()
    }
}

/// `p1`, `p2`, ...: the process with index 0, 1, ...
struct ProcessId(usize);

impl Serialize for ProcessId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Written on the stack: every span names its process.
        let mut text = [0u8; 21];
        let mut at = text.len();
        let mut number = self.0.saturating_add(1);
        loop {
            at -= 1;
            text[at] = b'0' + (number % 10) as u8;
            number /= 10;
            if number == 0 {
                break;
            }
        }
        at -= 1;
        text[at] = b'p';
        serializer.serialize_str(std::str::from_utf8(&text[at..]).map_err(serde::ser::Error::custom)?)
    }
}

impl<'a> Process<'a> {
    fn new(resource: &'a Resource) -> Self {
        let mut tags: Vec<Tag<'a>> = resource
            .attributes
            .iter()
            .filter(|attribute| &*attribute.key != "service.name")
            .map(Tag::from_attribute)
            .collect();
        sort_tags(&mut tags);
        Process { service_name: service_label(resource_service(resource)), tags }
    }
}

impl Serialize for Span<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let span = self.span;
        let mut out = serializer.serialize_struct("Span", 10)?;
        out.serialize_field("traceID", &span.trace_id)?;
        out.serialize_field("spanID", &span.span_id)?;
        out.serialize_field("operationName", &*span.name)?;
        out.serialize_field("references", &References(span))?;
        out.serialize_field("startTime", &(span.start_time_unix_nano / 1000))?;
        out.serialize_field(
            "duration",
            &(span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano) / 1000),
        )?;
        out.serialize_field("tags", &span_tags(span))?;
        out.serialize_field("logs", &Logs(span.events()))?;
        out.serialize_field("processID", &ProcessId(self.process))?;
        out.serialize_field("warnings", &None::<()>)?;
        out.end()
    }
}

impl<'a> Span<'a> {
    /// As `Serialize` writes it ([`crate::json`]), with `tags` as scratch space; references
    /// to links and logs, which few spans have, go through serde.
    fn write_json<W: Write>(&self, out: &mut W, tags: &mut Vec<Tag<'a>>) -> io::Result<()> {
        let span = self.span;
        out.write_all(b"{\"traceID\":")?;
        json::hex_id(out, span.trace_id.as_bytes())?;
        out.write_all(b",\"spanID\":")?;
        json::hex_id(out, span.span_id.as_bytes())?;
        out.write_all(b",\"operationName\":")?;
        json::str(out, &span.name)?;
        out.write_all(b",\"references\":")?;
        match span.parent_span_id {
            Some(parent) if span.links().is_empty() => {
                out.write_all(b"[{\"refType\":\"CHILD_OF\",\"traceID\":")?;
                json::hex_id(out, span.trace_id.as_bytes())?;
                out.write_all(b",\"spanID\":")?;
                json::hex_id(out, parent.as_bytes())?;
                out.write_all(b"}]")?;
            }
            _ => json::serde(out, &References(span))?,
        }
        out.write_all(b",\"startTime\":")?;
        json::u64(out, span.start_time_unix_nano / 1000)?;
        out.write_all(b",\"duration\":")?;
        json::u64(out, span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano) / 1000)?;
        out.write_all(b",\"tags\":[")?;
        tags.clear();
        push_span_tags(span, tags);
        for (at, tag) in tags.iter().enumerate() {
            if at > 0 {
                out.write_all(b",")?;
            }
            tag.write_json(out)?;
        }
        out.write_all(b"],\"logs\":")?;
        match span.events() {
            [] => out.write_all(b"[]")?,
            events => json::serde(out, &Logs(events))?,
        }
        out.write_all(b",\"processID\":")?;
        json::serde(out, &ProcessId(self.process))?;
        out.write_all(b",\"warnings\":null}")
    }
}

/// A span's tags as Jaeger's translator makes them: its attributes, the scope, the kind and
/// the status, sorted by key.
fn span_tags(span: &model::Span) -> Vec<Tag<'_>> {
    let mut tags: Vec<Tag<'_>> = Vec::with_capacity(span.attributes.len() + 5);
    push_span_tags(span, &mut tags);
    tags
}

/// [`span_tags`] into `tags`.
fn push_span_tags<'a>(span: &'a model::Span, tags: &mut Vec<Tag<'a>>) {
    tags.extend(span.attributes.iter().map(Tag::from_attribute));
    if !span.scope.name.is_empty() {
        tags.push(Tag::text("otel.scope.name", &span.scope.name));
    }
    if !span.scope.version.is_empty() {
        tags.push(Tag::text("otel.scope.version", &span.scope.version));
    }
    if span.kind != SpanKind::Unspecified {
        tags.push(Tag::text("span.kind", kind_name(span.kind)));
    }
    match span.status.code {
        StatusCode::Unset => {}
        StatusCode::Ok => tags.push(Tag::text("otel.status_code", "OK")),
        StatusCode::Error => {
            tags.push(Tag::text("otel.status_code", "ERROR"));
            tags.push(Tag { key: "error", value: TagValue::Bool(true) });
        }
    }
    if !span.status.message.is_empty() {
        tags.push(Tag::text("otel.status_description", &span.status.message));
    }
    sort_tags(tags);
}

/// A span's references: the parent as `CHILD_OF`, each link as `FOLLOWS_FROM` (`CHILD_OF`
/// when its `opentracing.ref_type` says `child_of`); a link to the parent retypes the
/// parent's reference instead of adding one.
struct References<'a>(&'a model::Span);

fn link_ref_type(link: &model::Link) -> RefType {
    match model::find_attribute(&link.attributes, "opentracing.ref_type") {
        Some(AttributeValue::String(kind)) if &**kind == "child_of" => RefType::ChildOf,
        _ => RefType::FollowsFrom,
    }
}

impl Serialize for References<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let span = self.0;
        let to_parent =
            |link: &model::Link| link.trace_id == span.trace_id && Some(link.span_id) == span.parent_span_id;
        let mut seq = serializer.serialize_seq(None)?;
        if let Some(parent) = span.parent_span_id {
            // The last link to the parent decides, as it did when each retyped it in turn.
            let ref_type = span
                .links()
                .iter()
                .rev()
                .find(|link| to_parent(link))
                .map_or(RefType::ChildOf, link_ref_type);
            seq.serialize_element(&Reference { ref_type, trace_id: span.trace_id, span_id: parent })?;
        }
        for link in span.links().iter().filter(|link| !to_parent(link)) {
            seq.serialize_element(&Reference {
                ref_type: link_ref_type(link),
                trace_id: link.trace_id,
                span_id: link.span_id,
            })?;
        }
        seq.end()
    }
}

/// A span's events as Jaeger logs: an `event` field with the name first (unless an attribute
/// is called `event`), then the attributes sorted (Jaeger's adjuster).
struct Logs<'a>(&'a [model::Event]);

impl Serialize for Logs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for event in self.0 {
            let has_event_key = event.attributes.iter().any(|attribute| &*attribute.key == "event");
            let mut fields: Vec<Tag<'_>> = Vec::with_capacity(event.attributes.len() + 1);
            if !event.name.is_empty() && !has_event_key {
                fields.push(Tag::text("event", &event.name));
            }
            fields.extend(event.attributes.iter().map(Tag::from_attribute));
            let offset = match fields
                .iter()
                .position(|field| field.key == "event" && matches!(field.value, TagValue::String(_)))
            {
                Some(at) => {
                    fields.swap(0, at);
                    1
                }
                None => 0,
            };
            sort_tags(&mut fields[offset..]);
            seq.serialize_element(&Log { timestamp: event.time_unix_nano / 1000, fields })?;
        }
        seq.end()
    }
}

/// One operation of `/api/operations`: `{"name", "spanKind"}` (`spanKind` empty for
/// unspecified).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Operation<'a> {
    pub name: &'a str,
    #[serde(rename = "spanKind")]
    pub span_kind: &'static str,
}

/// One edge of `/api/dependencies`: calls from spans of `parent` to spans of `child`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Dependency<'a> {
    pub parent: &'a str,
    pub child: &'a str,
    #[serde(rename = "callCount")]
    pub call_count: u64,
}

/// api_v3's answer with a trace (`T` is OTLP `TracesData`, as OTLP JSON); `warnings` is
/// tracecheck's own, there only when a `?wait=` read found the trace incomplete.
#[derive(Clone, Debug, Serialize)]
pub struct V3Result<T> {
    pub result: T,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl V3Result<crate::OtlpTraces<'_>> {
    /// As its `Serialize` writes it, the traces written by hand
    /// ([`crate::OtlpTraces::write_json`]).
    pub fn write_json<W: Write>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(b"{\"result\":")?;
        self.result.write_json(out)?;
        if !self.warnings.is_empty() {
            out.write_all(b",\"warnings\":")?;
            json::serde(out, &self.warnings)?;
        }
        out.write_all(b"}")
    }
}

/// api_v3's `/api/v3/services`.
#[derive(Clone, Debug, Serialize)]
pub struct V3Services<'a> {
    pub services: Vec<&'a str>,
}

/// api_v3's `/api/v3/operations`.
#[derive(Clone, Debug, Serialize)]
pub struct V3Operations<'a> {
    pub operations: Vec<V3Operation<'a>>,
}

/// One api_v3 operation; `spanKind` is left out for unspecified, as Jaeger's protobuf JSON
/// leaves out an empty string.
#[derive(Clone, Debug, Serialize)]
pub struct V3Operation<'a> {
    pub name: &'a str,
    #[serde(rename = "spanKind", skip_serializing_if = "str::is_empty")]
    pub span_kind: &'static str,
}

/// api_v3's error answer: `{"error": {"httpCode": 404, "message": "..."}}`.
#[derive(Clone, Debug, Serialize)]
pub struct V3Error {
    pub error: V3ErrorDetails,
}

#[derive(Clone, Debug, Serialize)]
pub struct V3ErrorDetails {
    #[serde(rename = "httpCode")]
    pub http_code: u16,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use model::{Event, Link, Span as ModelSpan, SpanId};

    use super::*;

    #[test]
    fn maps_a_span_as_jaeger_does() {
        let trace_id = TraceId([1; 16]);
        let span = ModelSpan::new(trace_id, SpanId([2; 8]), "GET /cart")
            .with_parent(SpanId([3; 8]))
            .with_kind(SpanKind::Server)
            .with_times(1_700_000_000_000_001_500, 1_700_000_000_012_346_999)
            .with_status(StatusCode::Error, "boom")
            .with_attribute("z", 1.5)
            .with_attribute("arr", AttributeValue::array(vec!["a".into(), 1i64.into()]))
            .with_attribute("by", AttributeValue::bytes(vec![1, 2, 3]))
            .with_resource_attribute("service.name", "shop")
            .with_resource_attribute("pid", 42i64)
            .with_events(vec![Event {
                time_unix_nano: 1_700_000_000_000_002_000,
                name: "exception".into(),
                attributes: vec![KeyValue::new("b", "x"), KeyValue::new("a", "y")].into(),
            }])
            .with_links(vec![Link {
                trace_id: TraceId([4; 16]),
                span_id: SpanId([5; 8]),
                attributes: Box::new([]),
            }]);
        let trace = model::Trace::new(trace_id, vec![std::sync::Arc::new(span)]);
        let json = serde_json::to_value(Trace::new(&trace, None)).unwrap();
        let expected = serde_json::json!({
            "traceID": "01010101010101010101010101010101",
            "spans": [{
                "traceID": "01010101010101010101010101010101", "spanID": "0202020202020202",
                "operationName": "GET /cart",
                "references": [
                    {"refType": "CHILD_OF", "traceID": "01010101010101010101010101010101", "spanID": "0303030303030303"},
                    {"refType": "FOLLOWS_FROM", "traceID": "04040404040404040404040404040404", "spanID": "0505050505050505"}],
                "startTime": 1_700_000_000_000_001u64, "duration": 12_345,
                "tags": [
                    {"key": "arr", "type": "string", "value": "[\"a\",1]"},
                    {"key": "by", "type": "binary", "value": "AQID"},
                    {"key": "error", "type": "bool", "value": true},
                    {"key": "otel.status_code", "type": "string", "value": "ERROR"},
                    {"key": "otel.status_description", "type": "string", "value": "boom"},
                    {"key": "span.kind", "type": "string", "value": "server"},
                    {"key": "z", "type": "float64", "value": 1.5}],
                "logs": [{"timestamp": 1_700_000_000_000_002u64, "fields": [
                    {"key": "event", "type": "string", "value": "exception"},
                    {"key": "a", "type": "string", "value": "y"},
                    {"key": "b", "type": "string", "value": "x"}]}],
                "processID": "p1", "warnings": null}],
            "processes": {"p1": {"serviceName": "shop", "tags": [{"key": "pid", "type": "int64", "value": 42}]}},
            "warnings": null
        });
        assert_eq!(json, expected);
    }

    #[test]
    fn names_services_as_jaeger_does() {
        assert_eq!(service_label(None), MISSING_SERVICE_NAME);
        assert_eq!(service_label(Some("")), EMPTY_SERVICE_NAME);
        assert_eq!(service_label(Some("shop")), "shop");
        let map =
            AttributeValue::map(vec![KeyValue::new("z", 1i64), KeyValue::new("a", AttributeValue::Empty)]);
        assert_eq!(value_text(&map), r#"{"a":null,"z":1}"#);
    }
}
