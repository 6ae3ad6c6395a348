//! A trace's OTLP `TracesData` protobuf written straight from the model, the bytes prost
//! would write for [`super::encode_trace`]'s message (a test holds them equal), without
//! building the generated structs first: every attribute key and value would be copied into
//! a `String` of its own, which made encoding cost twice the store's read of the trace.
//!
//! Lengths are computed before each length-delimited message is written (protobuf prefixes
//! a nested message with its length): span lengths once, the small attribute messages again
//! as they are written.

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};

use super::group_by_resource;
use crate::{AttributeValue, Event, KeyValue, Link, Scope, Span, Status, Trace};

/// [`super::encode_trace`] as protobuf bytes.
pub fn encode_trace_bytes(trace: &Trace) -> Vec<u8> {
    let groups = group_by_resource(trace);
    // Body lengths, innermost first, in the order they are written.
    let mut span_lens = Vec::with_capacity(trace.spans.len());
    let mut scope_lens = Vec::new();
    let mut resource_lens = Vec::with_capacity(groups.len());
    for (resource, scopes) in &groups {
        let mut resource_spans = delimited_len(1, attributes_len(1, &resource.attributes));
        for (scope, spans) in scopes {
            let mut scope_spans = delimited_len(1, scope_len(scope));
            for span in spans {
                let len = span_len(span);
                span_lens.push(len);
                scope_spans += delimited_len(2, len);
            }
            scope_lens.push(scope_spans);
            resource_spans += delimited_len(2, scope_spans);
        }
        resource_lens.push(resource_spans);
    }
    let total = resource_lens.iter().map(|len| delimited_len(1, *len)).sum();
    let mut out = Vec::with_capacity(total);
    let (mut span_lens, mut scope_lens) = (span_lens.into_iter(), scope_lens.into_iter());
    for ((resource, scopes), resource_len) in groups.iter().zip(resource_lens) {
        head(&mut out, 1, resource_len);
        head(&mut out, 1, attributes_len(1, &resource.attributes));
        put_attributes(&mut out, 1, &resource.attributes);
        for (scope, spans) in scopes {
            head(&mut out, 2, scope_lens.next().unwrap_or_default());
            head(&mut out, 1, scope_len(scope));
            put_str(&mut out, 1, scope.name.as_bytes());
            put_str(&mut out, 2, scope.version.as_bytes());
            put_attributes(&mut out, 3, &scope.attributes);
            for span in spans {
                head(&mut out, 2, span_lens.next().unwrap_or_default());
                put_span(&mut out, span);
            }
        }
    }
    debug_assert_eq!(out.len(), total);
    out
}

fn delimited_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

fn head(out: &mut Vec<u8>, tag: u32, len: usize) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
}

/// A proto3 string or bytes field: left out when empty.
fn str_len(tag: u32, text: &[u8]) -> usize {
    if text.is_empty() {
        0
    } else {
        delimited_len(tag, text.len())
    }
}

fn put_str(out: &mut Vec<u8>, tag: u32, text: impl AsRef<[u8]>) {
    let text = text.as_ref();
    if !text.is_empty() {
        head(out, tag, text.len());
        out.extend_from_slice(text);
    }
}

fn fixed64_len(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + 8
    }
}

fn put_fixed64(out: &mut Vec<u8>, tag: u32, value: u64) {
    if value != 0 {
        encode_key(tag, WireType::SixtyFourBit, out);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn enum_len(tag: u32, value: i32) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(i64::from(value) as u64)
    }
}

fn put_enum(out: &mut Vec<u8>, tag: u32, value: i32) {
    if value != 0 {
        encode_key(tag, WireType::Varint, out);
        encode_varint(i64::from(value) as u64, out);
    }
}

/// An `AnyValue`'s body: the set member of its `oneof`, written even when it is a default.
fn value_len(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::String(text) => delimited_len(1, text.len()),
        AttributeValue::Bool(_) => key_len(2) + 1,
        AttributeValue::Int(number) => key_len(3) + encoded_len_varint(*number as u64),
        AttributeValue::Double(_) => key_len(4) + 8,
        AttributeValue::Array(items) => delimited_len(5, array_len(items)),
        AttributeValue::Map(entries) => delimited_len(6, attributes_len(1, entries)),
        AttributeValue::Bytes(bytes) => delimited_len(7, bytes.len()),
        AttributeValue::Empty => 0,
    }
}

fn array_len(items: &[AttributeValue]) -> usize {
    items.iter().map(|item| delimited_len(1, value_len(item))).sum()
}

fn put_value(out: &mut Vec<u8>, value: &AttributeValue) {
    match value {
        AttributeValue::String(text) => {
            head(out, 1, text.len());
            out.extend_from_slice(text.as_bytes());
        }
        AttributeValue::Bool(flag) => {
            encode_key(2, WireType::Varint, out);
            encode_varint(u64::from(*flag), out);
        }
        AttributeValue::Int(number) => {
            encode_key(3, WireType::Varint, out);
            encode_varint(*number as u64, out);
        }
        AttributeValue::Double(number) => {
            encode_key(4, WireType::SixtyFourBit, out);
            out.extend_from_slice(&number.to_le_bytes());
        }
        AttributeValue::Array(items) => {
            head(out, 5, array_len(items));
            for item in items.iter() {
                head(out, 1, value_len(item));
                put_value(out, item);
            }
        }
        AttributeValue::Map(entries) => {
            head(out, 6, attributes_len(1, entries));
            put_attributes(out, 1, entries);
        }
        AttributeValue::Bytes(bytes) => {
            head(out, 7, bytes.len());
            out.extend_from_slice(bytes);
        }
        AttributeValue::Empty => {}
    }
}

/// A `KeyValue`'s body: the key, and the value (always present, maybe empty).
fn key_value_len(kv: &KeyValue) -> usize {
    str_len(1, kv.key.as_bytes()) + delimited_len(2, value_len(&kv.value))
}

fn attributes_len(tag: u32, attributes: &[KeyValue]) -> usize {
    attributes.iter().map(|kv| delimited_len(tag, key_value_len(kv))).sum()
}

fn put_attributes(out: &mut Vec<u8>, tag: u32, attributes: &[KeyValue]) {
    for kv in attributes {
        head(out, tag, key_value_len(kv));
        put_str(out, 1, kv.key.as_bytes());
        head(out, 2, value_len(&kv.value));
        put_value(out, &kv.value);
    }
}

fn scope_len(scope: &Scope) -> usize {
    str_len(1, scope.name.as_bytes())
        + str_len(2, scope.version.as_bytes())
        + attributes_len(3, &scope.attributes)
}

fn event_len(event: &Event) -> usize {
    fixed64_len(1, event.time_unix_nano)
        + str_len(2, event.name.as_bytes())
        + attributes_len(3, &event.attributes)
}

fn link_len(link: &Link) -> usize {
    delimited_len(1, 16) + delimited_len(2, 8) + attributes_len(4, &link.attributes)
}

fn status_len(status: &Status) -> usize {
    str_len(2, status.message.as_bytes()) + enum_len(3, status.code as i32)
}

/// A `Span`'s body, fields in the order prost writes them (the `.proto`'s).
fn span_len(span: &Span) -> usize {
    delimited_len(1, 16)
        + delimited_len(2, 8)
        + span.parent_span_id.map_or(0, |_| delimited_len(4, 8))
        + str_len(5, span.name.as_bytes())
        + enum_len(6, span.kind as i32)
        + fixed64_len(7, span.start_time_unix_nano)
        + fixed64_len(8, span.end_time_unix_nano)
        + attributes_len(9, &span.attributes)
        + span.events().iter().map(|event| delimited_len(11, event_len(event))).sum::<usize>()
        + span.links().iter().map(|link| delimited_len(13, link_len(link))).sum::<usize>()
        + delimited_len(15, status_len(&span.status))
}

fn put_span(out: &mut Vec<u8>, span: &Span) {
    put_str(out, 1, span.trace_id.0);
    put_str(out, 2, span.span_id.0);
    if let Some(parent) = span.parent_span_id {
        put_str(out, 4, parent.0);
    }
    put_str(out, 5, span.name.as_bytes());
    put_enum(out, 6, span.kind as i32);
    put_fixed64(out, 7, span.start_time_unix_nano);
    put_fixed64(out, 8, span.end_time_unix_nano);
    put_attributes(out, 9, &span.attributes);
    for event in span.events() {
        head(out, 11, event_len(event));
        put_fixed64(out, 1, event.time_unix_nano);
        put_str(out, 2, event.name.as_bytes());
        put_attributes(out, 3, &event.attributes);
    }
    for link in span.links() {
        head(out, 13, link_len(link));
        put_str(out, 1, link.trace_id.0);
        put_str(out, 2, link.span_id.0);
        put_attributes(out, 4, &link.attributes);
    }
    head(out, 15, status_len(&span.status));
    put_str(out, 2, span.status.message.as_bytes());
    put_enum(out, 3, span.status.code as i32);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prost::Message;

    use super::*;
    use crate::{SpanId, SpanKind, StatusCode, Str, TraceId};

    #[test]
    fn writes_the_bytes_prost_writes_for_the_generated_message() {
        let trace_id = TraceId([7; 16]);
        let root = Span::new(trace_id, SpanId([1; 8]), "POST /users")
            .with_kind(SpanKind::Server)
            .with_times(100, 900)
            .with_attribute("http.status_code", 201i64)
            .with_attribute("negative", -5i64)
            .with_attribute("ratio", 0.5)
            .with_attribute("ok", true)
            .with_attribute("no", false)
            .with_attribute("empty", "")
            .with_attribute("nothing", AttributeValue::Empty)
            .with_resource_attribute("service.name", "api");
        let mut child = Span::new(trace_id, SpanId([2; 8]), "db")
            .with_parent(SpanId([1; 8]))
            .with_status(StatusCode::Error, "boom")
            .with_attribute("list", AttributeValue::array([1i64.into(), "x".into(), AttributeValue::Empty]));
        child = child
            .with_events([Event {
                time_unix_nano: 5,
                name: Str::from("exception"),
                attributes: Box::new([KeyValue::new("exception.message", "x")]),
            }])
            .with_links([Link {
                trace_id,
                span_id: SpanId([3; 8]),
                attributes: Box::new([KeyValue::new("a", 1i64)]),
            }]);
        child.resource = root.resource.clone();
        let mut map = Span::new(trace_id, SpanId([4; 8]), "")
            .with_status(StatusCode::Ok, "")
            .with_attribute(
                "m",
                AttributeValue::map([KeyValue::new("k", "v"), KeyValue::new("n", AttributeValue::map([]))]),
            )
            .with_attribute("b", AttributeValue::bytes([1, 2]));
        map.scope = Arc::new(Scope {
            name: Str::from("lib"),
            version: Str::from("1.2"),
            attributes: Box::new([KeyValue::new("scope.attr", 3i64)]),
        });
        let long = "x".repeat(300);
        let big = Span::new(trace_id, SpanId([5; 8]), &long).with_attribute(&long, long.as_str());
        let trace = Trace::new(trace_id, vec![Arc::new(root), Arc::new(child), Arc::new(map), Arc::new(big)]);
        assert_eq!(encode_trace_bytes(&trace), super::super::encode_trace(&trace).encode_to_vec());
        let empty = Trace::new(trace_id, Vec::new());
        assert_eq!(encode_trace_bytes(&empty), Vec::<u8>::new());
    }
}
