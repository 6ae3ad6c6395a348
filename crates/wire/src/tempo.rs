//! Grafana Tempo's HTTP API shapes, as Tempo writes them (its protobuf messages through Go's
//! `jsonpb`): what `/tempo/api/...` and the `--tempo-addr` listener answer.
//!
//! - Trace by ID, `GET /api/traces/{id}`: [`TempoTrace`], OTLP JSON whose top-level key is
//!   `batches` (Tempo's `Trace` message), not OTLP's `resourceSpans`:
//!
//!   ```json
//!   {"batches": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "users"}}]},
//!     "scopeSpans": [{"scope": {"name": "users-http", "version": "1.0"},
//!       "spans": [{"traceId": "CvdlGRbNQ92ESOshHIAxnA==", "spanId": "t61rcWkgMzE=",
//!                  "name": "POST /users", "kind": "SPAN_KIND_SERVER",
//!                  "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000012000000",
//!                  "attributes": [{"key": "http.response.status_code", "value": {"intValue": "201"}}],
//!                  "status": {}}]}]}]}
//!   ```
//!
//!   As Tempo's `jsonpb` writes them: IDs are base64 (not OTLP/JSON's hex), 64-bit integers
//!   are strings, enums are their names, and empty fields are left out.
//! - `GET /api/v2/traces/{id}`: [`TraceByIdV2`], `{"trace": {"batches": [...]}, "metrics": {},
//!   "status": "COMPLETE"}`; with `?wait=` an incomplete trace is `"status": "PARTIAL"` with
//!   `"message"` saying what was missing.
//! - `GET /api/search`: [`SearchResponse`], `{"traces": [{"traceID", "rootServiceName",
//!   "rootTraceName", "startTimeUnixNano", "durationMs", "spanSet", "spanSets": [{"spans":
//!   [{"spanID", "name", "startTimeUnixNano", "durationNanos", "attributes"}], "matched"}]}],
//!   "metrics": {"inspectedTraces", "inspectedBytes", "totalJobs", "completedJobs"}}`; here
//!   trace and span IDs are hex, as Tempo writes them in search results.
//! - Tags: [`TagNames`] (`{"tagNames": [...]}`), [`TagScopes`] (`{"scopes": [{"name":
//!   "span", "tags": [...]}]}`), [`TagValues`] (`{"tagValues": ["a"]}`) and [`TagValuesV2`]
//!   (`{"tagValues": [{"type": "int", "value": "200"}]}`), each with `"metrics": {}`.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};

use model::otlp::{group_by_resource, ResourceGroup};
use model::{AttributeValue, KeyValue, SpanId, SpanKind, StatusCode, TraceId};

/// A trace as Tempo's `Trace` message in JSON: `{"batches": [...]}`.
#[derive(Clone, Copy, Debug)]
pub struct TempoTrace<'a>(pub &'a model::Trace);

impl Serialize for TempoTrace<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Trace", 1)?;
        out.serialize_field("batches", &Batches(group_by_resource(self.0)))?;
        out.end()
    }
}

struct Batches<'a>(Vec<ResourceGroup<'a>>);

impl Serialize for Batches<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (resource, scopes) in &self.0 {
            seq.serialize_element(&ResourceSpansJson { attributes: &resource.attributes, scopes })?;
        }
        seq.end()
    }
}

struct ResourceSpansJson<'a, 'b> {
    attributes: &'a [KeyValue],
    scopes: &'b [model::otlp::ScopeGroup<'a>],
}

impl Serialize for ResourceSpansJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("ResourceSpans", 2)?;
        out.serialize_field("resource", &AttributesOnly(self.attributes))?;
        out.serialize_field("scopeSpans", &ScopeSpansList(self.scopes))?;
        out.end()
    }
}

/// `{"attributes": [...]}`, or `{}` when there are none (as `jsonpb` leaves empty lists out).
struct AttributesOnly<'a>(&'a [KeyValue]);

impl Serialize for AttributesOnly<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(None)?;
        if !self.0.is_empty() {
            out.serialize_entry("attributes", &KeyValues(self.0))?;
        }
        out.end()
    }
}

struct ScopeSpansList<'a, 'b>(&'b [model::otlp::ScopeGroup<'a>]);

impl Serialize for ScopeSpansList<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (scope, spans) in self.0 {
            seq.serialize_element(&ScopeSpansJson { scope, spans })?;
        }
        seq.end()
    }
}

struct ScopeSpansJson<'a, 'b> {
    scope: &'a model::Scope,
    spans: &'b [&'a model::Span],
}

impl Serialize for ScopeSpansJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("ScopeSpans", 2)?;
        out.serialize_field("scope", &ScopeJson(self.scope))?;
        out.serialize_field("spans", &SpansJson(self.spans))?;
        out.end()
    }
}

struct ScopeJson<'a>(&'a model::Scope);

impl Serialize for ScopeJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let scope = self.0;
        let mut out = serializer.serialize_map(None)?;
        if !scope.name.is_empty() {
            out.serialize_entry("name", &*scope.name)?;
        }
        if !scope.version.is_empty() {
            out.serialize_entry("version", &*scope.version)?;
        }
        if !scope.attributes.is_empty() {
            out.serialize_entry("attributes", &KeyValues(&scope.attributes))?;
        }
        out.end()
    }
}

struct SpansJson<'a, 'b>(&'b [&'a model::Span]);

impl Serialize for SpansJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for span in self.0 {
            seq.serialize_element(&SpanJson(span))?;
        }
        seq.end()
    }
}

/// An ID as `jsonpb` writes a `bytes` field: base64.
struct Base64<'a>(&'a [u8]);

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // IDs are 8 or 16 bytes: 24 characters at most, so no allocation.
        let mut buffer = [0u8; 64];
        let written = BASE64.encode_slice(self.0, &mut buffer).map_err(serde::ser::Error::custom)?;
        let text = std::str::from_utf8(&buffer[..written]).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

/// A 64-bit integer as `jsonpb` writes one: a decimal string.
struct Int64Text<T>(T);

impl<T: std::fmt::Display> Serialize for Int64Text<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // serde_json writes a displayed value straight into its output.
        serializer.collect_str(&self.0)
    }
}

fn kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified => "SPAN_KIND_UNSPECIFIED",
        SpanKind::Internal => "SPAN_KIND_INTERNAL",
        SpanKind::Server => "SPAN_KIND_SERVER",
        SpanKind::Client => "SPAN_KIND_CLIENT",
        SpanKind::Producer => "SPAN_KIND_PRODUCER",
        SpanKind::Consumer => "SPAN_KIND_CONSUMER",
    }
}

struct SpanJson<'a>(&'a model::Span);

impl Serialize for SpanJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let span = self.0;
        let mut out = serializer.serialize_map(None)?;
        out.serialize_entry("traceId", &Base64(&span.trace_id.0))?;
        out.serialize_entry("spanId", &Base64(&span.span_id.0))?;
        if let Some(parent) = &span.parent_span_id {
            out.serialize_entry("parentSpanId", &Base64(&parent.0))?;
        }
        out.serialize_entry("name", &*span.name)?;
        if span.kind != SpanKind::Unspecified {
            out.serialize_entry("kind", kind_name(span.kind))?;
        }
        out.serialize_entry("startTimeUnixNano", &Int64Text(span.start_time_unix_nano))?;
        out.serialize_entry("endTimeUnixNano", &Int64Text(span.end_time_unix_nano))?;
        if !span.attributes.is_empty() {
            out.serialize_entry("attributes", &KeyValues(&span.attributes))?;
        }
        if !span.events().is_empty() {
            out.serialize_entry("events", &EventsJson(span.events()))?;
        }
        if !span.links().is_empty() {
            out.serialize_entry("links", &LinksJson(span.links()))?;
        }
        out.serialize_entry("status", &StatusJson(&span.status))?;
        out.end()
    }
}

struct StatusJson<'a>(&'a model::Status);

impl Serialize for StatusJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(None)?;
        if !self.0.message.is_empty() {
            out.serialize_entry("message", &*self.0.message)?;
        }
        if self.0.code != StatusCode::Unset {
            out.serialize_entry("code", self.0.code.otlp_name())?;
        }
        out.end()
    }
}

struct EventsJson<'a>(&'a [model::Event]);

impl Serialize for EventsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for event in self.0 {
            seq.serialize_element(&EventJson(event))?;
        }
        seq.end()
    }
}

struct EventJson<'a>(&'a model::Event);

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = self.0;
        let mut out = serializer.serialize_map(None)?;
        out.serialize_entry("timeUnixNano", &Int64Text(event.time_unix_nano))?;
        out.serialize_entry("name", &*event.name)?;
        if !event.attributes.is_empty() {
            out.serialize_entry("attributes", &KeyValues(&event.attributes))?;
        }
        out.end()
    }
}

struct LinksJson<'a>(&'a [model::Link]);

impl Serialize for LinksJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for link in self.0 {
            seq.serialize_element(&LinkJson(link))?;
        }
        seq.end()
    }
}

struct LinkJson<'a>(&'a model::Link);

impl Serialize for LinkJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let link = self.0;
        let mut out = serializer.serialize_map(None)?;
        out.serialize_entry("traceId", &Base64(&link.trace_id.0))?;
        out.serialize_entry("spanId", &Base64(&link.span_id.0))?;
        if !link.attributes.is_empty() {
            out.serialize_entry("attributes", &KeyValues(&link.attributes))?;
        }
        out.end()
    }
}

/// OTLP's `[{"key": ..., "value": {...}}]`, in the order given (Tempo keeps the sender's).
pub struct KeyValues<'a>(pub &'a [KeyValue]);

impl Serialize for KeyValues<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for kv in self.0 {
            seq.serialize_element(&KeyValueJson(kv))?;
        }
        seq.end()
    }
}

struct KeyValueJson<'a>(&'a KeyValue);

impl Serialize for KeyValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("KeyValue", 2)?;
        out.serialize_field("key", &*self.0.key)?;
        out.serialize_field("value", &AnyValueJson(&self.0.value))?;
        out.end()
    }
}

/// OTLP's `AnyValue`: `{"stringValue": "x"}`, `{"intValue": "5"}`, `{"doubleValue": 1.5}`,
/// `{"boolValue": true}`, `{"bytesValue": "<base64>"}`, `{"arrayValue": {"values": [...]}}`,
/// `{"kvlistValue": {"values": [...]}}`; `{}` for an empty one.
struct AnyValueJson<'a>(&'a AttributeValue);

impl Serialize for AnyValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(None)?;
        match self.0 {
            AttributeValue::String(text) => out.serialize_entry("stringValue", &**text)?,
            AttributeValue::Bool(value) => out.serialize_entry("boolValue", value)?,
            AttributeValue::Int(value) => out.serialize_entry("intValue", &Int64Text(*value))?,
            AttributeValue::Double(value) => out.serialize_entry("doubleValue", &Double(*value))?,
            AttributeValue::Bytes(bytes) => out.serialize_entry("bytesValue", &Base64Owned(bytes))?,
            AttributeValue::Array(items) => out.serialize_entry("arrayValue", &ArrayJson(items))?,
            AttributeValue::Map(entries) => {
                out.serialize_entry("kvlistValue", &KvListJson(entries))?;
            }
            AttributeValue::Empty => {}
        }
        out.end()
    }
}

/// A double as `jsonpb` writes it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
struct Double(f64);

impl Serialize for Double {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            value if value.is_finite() => serializer.serialize_f64(value),
            value if value.is_nan() => serializer.serialize_str("NaN"),
            value if value > 0.0 => serializer.serialize_str("Infinity"),
            _ => serializer.serialize_str("-Infinity"),
        }
    }
}

struct Base64Owned<'a>(&'a [u8]);

impl Serialize for Base64Owned<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(self.0))
    }
}

struct ArrayJson<'a>(&'a [AttributeValue]);

impl Serialize for ArrayJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Values<'a>(&'a [AttributeValue]);
        impl Serialize for Values<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(AnyValueJson))
            }
        }
        let mut out = serializer.serialize_struct("ArrayValue", 1)?;
        out.serialize_field("values", &Values(self.0))?;
        out.end()
    }
}

struct KvListJson<'a>(&'a [KeyValue]);

impl Serialize for KvListJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("KeyValueList", 1)?;
        out.serialize_field("values", &KeyValues(self.0))?;
        out.end()
    }
}

/// Whether a trace-by-ID answer holds the whole trace (`COMPLETE`) or, after a `?wait=`
/// that ran out, what was there (`PARTIAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PartialStatus {
    Complete,
    Partial,
}

/// An empty metrics object: `{}` (tracecheck reads one store, there are no jobs to count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoMetrics {}

/// `GET /api/v2/traces/{id}`: Tempo's `TraceByIDResponse`.
#[derive(Serialize)]
pub struct TraceByIdV2<'a> {
    pub trace: TempoTrace<'a>,
    pub metrics: NoMetrics,
    pub status: PartialStatus,
    /// Why the trace is partial; left out when it is complete.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub message: Cow<'a, str>,
}

/// `GET /api/search`: the traces found, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResponse<'a> {
    pub traces: Vec<TraceSearchMetadata<'a>>,
    pub metrics: SearchMetrics,
}

/// What the search looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchMetrics {
    pub inspected_traces: u32,
    /// A 64-bit count: a string, as `jsonpb` writes one.
    pub inspected_bytes: String,
    pub total_jobs: u32,
    pub completed_jobs: u32,
}

/// One trace found by a search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSearchMetadata<'a> {
    #[serde(rename = "traceID")]
    pub trace_id: TraceId,
    pub root_service_name: Cow<'a, str>,
    pub root_trace_name: Cow<'a, str>,
    /// Nanoseconds, as a string.
    pub start_time_unix_nano: String,
    pub duration_ms: u64,
    /// The first spanset, for Grafana before 10 (which reads `spanSet` alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_set: Option<SpanSet<'a>>,
    pub span_sets: Vec<SpanSet<'a>>,
}

/// The spans a query matched in one trace: at most `spss` of them, and how many there were.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanSet<'a> {
    pub spans: Vec<SearchSpan<'a>>,
    pub matched: u32,
}

/// One matched span.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchSpan<'a> {
    #[serde(rename = "spanID")]
    pub span_id: SpanId,
    pub name: Cow<'a, str>,
    /// Nanoseconds, as a string.
    pub start_time_unix_nano: String,
    /// Nanoseconds, as a string.
    pub duration_nanos: String,
    /// `service.name` and the attributes the query names, in OTLP's shape.
    #[serde(serialize_with = "serialize_key_values", skip_deserializing)]
    pub attributes: Vec<KeyValue>,
}

fn serialize_key_values<S: Serializer>(attributes: &[KeyValue], serializer: S) -> Result<S::Ok, S::Error> {
    KeyValues(attributes).serialize(serializer)
}

/// `GET /api/search/tags`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagNames {
    pub tag_names: Vec<String>,
    pub metrics: NoMetrics,
}

/// `GET /api/v2/search/tags`: tag names per scope (`resource`, `span`, `intrinsic`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagScopes {
    pub scopes: Vec<TagScope>,
    pub metrics: NoMetrics,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagScope {
    pub name: String,
    pub tags: Vec<String>,
}

/// `GET /api/search/tag/{tag}/values`: each value as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagValues {
    pub tag_values: Vec<String>,
    pub metrics: NoMetrics,
}

/// `GET /api/v2/search/tag/{tag}/values`: each value with its TraceQL type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagValuesV2 {
    pub tag_values: Vec<TypedValue>,
    pub metrics: NoMetrics,
}

/// A tag value: `type` is `string`, `int`, `float`, `bool`, `duration` or `keyword` (a
/// status or kind), `value` its text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TypedValue {
    #[serde(rename = "type")]
    pub value_type: Cow<'static, str>,
    pub value: String,
}

impl TypedValue {
    /// An attribute's value as Tempo types it; `None` for values TraceQL cannot compare
    /// (bytes, arrays, maps, empty).
    pub fn of(value: &AttributeValue) -> Option<TypedValue> {
        let (value_type, value) = match value {
            AttributeValue::String(text) => ("string", text.to_string()),
            AttributeValue::Int(number) => ("int", number.to_string()),
            AttributeValue::Double(number) => ("float", number.to_string()),
            AttributeValue::Bool(flag) => ("bool", flag.to_string()),
            _ => return None,
        };
        Some(TypedValue { value_type: Cow::Borrowed(value_type), value })
    }
}
