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
use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use model::{AttributeValue, KeyValue, Resource, SpanKind, StatusCode, TraceId};

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

/// One trace in Jaeger's JSON model.
#[derive(Clone, Debug, Serialize)]
pub struct Trace<'a> {
    #[serde(rename = "traceID")]
    pub trace_id: TraceId,
    pub spans: Vec<Span<'a>>,
    pub processes: BTreeMap<String, Process<'a>>,
    /// Why the trace may be incomplete (a `?wait=` read); null when nothing is wrong.
    pub warnings: Option<Vec<String>>,
}

/// One span in Jaeger's JSON model.
#[derive(Clone, Debug, Serialize)]
pub struct Span<'a> {
    #[serde(rename = "traceID")]
    pub trace_id: TraceId,
    #[serde(rename = "spanID")]
    pub span_id: model::SpanId,
    #[serde(rename = "operationName")]
    pub operation_name: &'a str,
    pub references: Vec<Reference>,
    /// Microseconds since the epoch.
    #[serde(rename = "startTime")]
    pub start_time: u64,
    /// Microseconds.
    pub duration: u64,
    pub tags: Vec<Tag<'a>>,
    pub logs: Vec<Log<'a>>,
    #[serde(rename = "processID")]
    pub process_id: String,
    pub warnings: Option<Vec<String>>,
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
        let mut resources: Vec<&'a Arc<Resource>> = Vec::new();
        let mut processes = BTreeMap::new();
        let spans = trace
            .spans
            .iter()
            .map(|span| {
                let index = match resources
                    .iter()
                    .position(|known| Arc::ptr_eq(known, &span.resource) || ***known == *span.resource)
                {
                    Some(index) => index,
                    None => {
                        resources.push(&span.resource);
                        processes.insert(format!("p{}", resources.len()), Process::new(&span.resource));
                        resources.len() - 1
                    }
                };
                Span::new(span, format!("p{}", index + 1))
            })
            .collect();
        Trace { trace_id: trace.trace_id, spans, processes, warnings }
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

impl<'a> Span<'a> {
    fn new(span: &'a model::Span, process_id: String) -> Self {
        let mut tags: Vec<Tag<'a>> = span.attributes.iter().map(Tag::from_attribute).collect();
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
        sort_tags(&mut tags);

        let mut references =
            Vec::with_capacity(usize::from(span.parent_span_id.is_some()) + span.links().len());
        if let Some(parent) = span.parent_span_id {
            references.push(Reference {
                ref_type: RefType::ChildOf,
                trace_id: span.trace_id,
                span_id: parent,
            });
        }
        for link in span.links() {
            let ref_type = match model::find_attribute(&link.attributes, "opentracing.ref_type") {
                Some(AttributeValue::String(kind)) if &**kind == "child_of" => RefType::ChildOf,
                _ => RefType::FollowsFrom,
            };
            if link.trace_id == span.trace_id && Some(link.span_id) == span.parent_span_id {
                references[0].ref_type = ref_type;
                continue;
            }
            references.push(Reference { ref_type, trace_id: link.trace_id, span_id: link.span_id });
        }

        let logs = span
            .events()
            .iter()
            .map(|event| {
                let has_event_key = event.attributes.iter().any(|attribute| &*attribute.key == "event");
                let mut fields: Vec<Tag<'a>> = Vec::with_capacity(event.attributes.len() + 1);
                if !event.name.is_empty() && !has_event_key {
                    fields.push(Tag::text("event", &event.name));
                }
                fields.extend(event.attributes.iter().map(Tag::from_attribute));
                // The `event` text field first, the rest sorted (Jaeger's adjuster).
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
                Log { timestamp: event.time_unix_nano / 1000, fields }
            })
            .collect();

        Span {
            trace_id: span.trace_id,
            span_id: span.span_id,
            operation_name: &span.name,
            references,
            start_time: span.start_time_unix_nano / 1000,
            duration: span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano) / 1000,
            tags,
            logs,
            process_id,
            warnings: None,
        }
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
