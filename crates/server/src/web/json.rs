//! The JSON shapes of the web API, shared with the HTML report (which inlines the same
//! objects): a trace's spans in Tracetest's tree order with depth, and list summaries.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use lang::{SpanView, TraceView};
use model::{AttributeValue, KeyValue, StatusCode, Trace};

/// The meta attributes every span has for the languages (reference 5.3), read through
/// [`SpanView::attribute`] so that the values are the engine's own.
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

/// A typed attribute value as JSON (arrays and maps nested; bytes as hex).
pub fn value_json(value: &AttributeValue) -> Value {
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

pub fn attributes_json(attributes: &[KeyValue]) -> Map<String, Value> {
    attributes.iter().map(|kv| (kv.key.to_string(), value_json(&kv.value))).collect()
}

/// Every attribute text the selector and expression languages see on this span: the meta
/// attributes, then resource, scope and span attributes with the engine's precedence.
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

/// The service of a span (`service.name` of its resource), empty when it has none.
pub fn service_of(view: &SpanView<'_>) -> String {
    view.span().service_name().unwrap_or("").to_string()
}

/// One span at its place in the tree.
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

/// A whole trace: spans in depth-first tree order (children by start time), each with its
/// depth and the index one past its subtree, so a client can collapse subtrees.
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

/// A line of the traces list.
pub fn summary_json(trace: &Trace, view: &TraceView<'_>) -> Value {
    let services: BTreeSet<String> = view.spans().iter().map(service_of).filter(|s| !s.is_empty()).collect();
    let errors = view.spans().iter().filter(|span| span.span().status.code == StatusCode::Error).count();
    let (start, end) = trace.time_range().unwrap_or((0, 0));
    json!({
        "trace_id": trace.trace_id.to_string(),
        "root_name": view.root().map_or("", |root| root.name()),
        "services": services,
        "span_count": view.len(),
        "error_count": errors,
        "start_time_unix_nano": start,
        "duration_nanos": end.saturating_sub(start),
    })
}
