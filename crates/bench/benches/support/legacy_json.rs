//! The web API's trace JSON as it was before `wire` (issue 24, item 2): built as a
//! `serde_json::Value` tree, then serialized. Kept in the bench only, so that `wire`'s
//! figure is always measured beside the old one in the same run.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use lang::{SpanView, TraceView};
use model::{AttributeValue, KeyValue, StatusCode, Trace};

const META_ATTRIBUTES: &[&str] = &[
    "tracetest.span.name",
    "tracetest.span.type",
    "tracetest.span.duration",
    "tracetest.span.start_time",
    "tracetest.span.end_time",
    "tracetest.span.parent_id",
    "tracetest.span.status_code",
    "tracetest.span.status_description",
];

fn status_name(code: StatusCode) -> &'static str {
    match code {
        StatusCode::Unset => "unset",
        StatusCode::Ok => "ok",
        StatusCode::Error => "error",
    }
}

fn value_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::String(text) => Value::String(text.to_string()),
        AttributeValue::Int(number) => Value::from(*number),
        AttributeValue::Bool(flag) => Value::Bool(*flag),
        AttributeValue::Double(number) => serde_json::Number::from_f64(*number)
            .map_or_else(|| Value::String(number.to_string()), Value::Number),
        AttributeValue::Bytes(bytes) => Value::String(hex::encode(&bytes[..])),
        AttributeValue::Array(items) => Value::Array(items.iter().map(value_json).collect()),
        AttributeValue::Map(entries) => Value::Object(attributes_json(entries)),
        AttributeValue::Empty => Value::Null,
    }
}

fn attributes_json(attributes: &[KeyValue]) -> Map<String, Value> {
    attributes.iter().map(|kv| (kv.key.to_string(), value_json(&kv.value))).collect()
}

fn language_attributes(view: &SpanView<'_>) -> Map<String, Value> {
    let span = view.span();
    let mut keys: Vec<&str> = META_ATTRIBUTES.to_vec();
    let plain =
        span.resource.attributes.iter().chain(span.scope.attributes.iter()).chain(span.attributes.iter());
    let mut seen = BTreeSet::new();
    keys.extend(plain.map(|kv| &*kv.key).filter(|key| seen.insert(*key)));
    keys.into_iter()
        .filter_map(|key| view.attribute(key).map(|text| (key.to_string(), Value::String(text.into_owned()))))
        .collect()
}

fn service_of(view: &SpanView<'_>) -> String {
    view.span().service_name().unwrap_or("").to_string()
}

fn span_json(view: &SpanView<'_>, index: usize, trace_view: &TraceView<'_>) -> Value {
    let span = view.span();
    let events: Vec<Value> = span
        .events()
        .iter()
        .map(|event| {
            json!({
                "name": &*event.name,
                "time_unix_nano": event.time_unix_nano,
                "attributes": attributes_json(&event.attributes),
            })
        })
        .collect();
    let links: Vec<Value> = span
        .links()
        .iter()
        .map(|link| {
            json!({
                "trace_id": link.trace_id.to_string(),
                "span_id": link.span_id.to_string(),
                "attributes": attributes_json(&link.attributes),
            })
        })
        .collect();
    json!({
        "span_id": span.span_id.to_string(),
        "parent_span_id": span.parent_span_id.map(|id| id.to_string()),
        "tree_parent_id": view.parent_id().map(|id| id.to_string()),
        "depth": view.depth(),
        "subtree_end": trace_view.subtree(index).end,
        "name": &*span.name,
        "service": service_of(view),
        "kind": view.kind(),
        "type": view.span_type(),
        "status": { "code": status_name(span.status.code), "message": &*span.status.message },
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "duration_nanos": span.duration_nanos(),
        "attributes": attributes_json(&span.attributes),
        "language_attributes": language_attributes(view),
        "resource": { "attributes": attributes_json(&span.resource.attributes) },
        "scope": {
            "name": &*span.scope.name,
            "version": &*span.scope.version,
            "attributes": attributes_json(&span.scope.attributes),
        },
        "events": events,
        "links": links,
    })
}

/// The old `server::web::json::trace_json`.
pub fn trace_json(trace: &Trace) -> Value {
    let view = TraceView::new(trace);
    let spans: Vec<Value> =
        view.spans().iter().enumerate().map(|(index, span)| span_json(span, index, &view)).collect();
    let (start, end) = trace.time_range().unwrap_or((0, 0));
    json!({
        "trace_id": trace.trace_id.to_string(),
        "span_count": view.len(),
        "start_time_unix_nano": start,
        "end_time_unix_nano": end,
        "spans": spans,
    })
}
