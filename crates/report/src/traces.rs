//! What `tracecheck traces list|get` print: the trace table, and the JSON of a list and of
//! a trace (the span waterfall is [`super::waterfall`]). Pure rendering: the command
//! (`cli::traces`) fetches and writes.
//!
//! # JSON wire format
//!
//! `traces list --output json` prints one object:
//!
//! ```json
//! {"traces": [{"trace_id": "0af7651916cd43dd8448eb211c80319c", "root_name": "POST /users",
//!   "service_name": "users", "span_count": 7, "start_time_unix_nano": 1700000000000000000,
//!   "duration_nanos": 12000000}]}
//! ```
//!
//! `traces get TRACE_ID --output json` prints one object with every span in arrival order:
//!
//! ```json
//! {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_count": 2, "spans": [
//!   {"span_id": "b7ad6b7169203331", "parent_span_id": null, "name": "POST /users",
//!    "kind": "server", "status": {"code": "unset", "message": ""},
//!    "start_time_unix_nano": 1700000000000000000, "end_time_unix_nano": 1700000000012000000,
//!    "duration_nanos": 12000000, "service_name": "users",
//!    "attributes": [{"key": "http.status_code", "type": "int", "value": 201}],
//!    "events": [{"name": "exception", "time_unix_nano": 1700000000001000000, "attributes": []}],
//!    "links": [{"trace_id": "...", "span_id": "...", "attributes": []}],
//!    "resource": {"attributes": [{"key": "service.name", "type": "string", "value": "users"}]},
//!    "scope": {"name": "users-service", "version": "1.0", "attributes": []}}]}
//! ```
//!
//! An attribute is `{"key", "type", "value"}` with `type` one of `string`, `bool`, `int`,
//! `double`, `bytes` (value: hex text), `array` (value: a list of `{"type", "value"}`),
//! `map` (value: a list of attributes) or `empty` (value: `null`). A double that is not
//! finite is written as the string `"NaN"`, `"inf"` or `"-inf"`. Times are integers.

use serde_json::{json, Value};

use super::waterfall::format_duration_nanos;
use model::{civil_from_unix, AttributeValue, KeyValue, Span, StatusCode, Trace};
use store::TraceSummary;

/// The `list` table: trace ID, start (UTC), spans, duration, service, root span name.
pub fn list_pretty(summaries: &[TraceSummary]) -> String {
    if summaries.is_empty() {
        return "no traces\n".to_string();
    }
    let mut out = format!(
        "{:<32}  {:<23}  {:>5}  {:>9}  {:<20}  {}\n",
        "TRACE ID", "STARTED (UTC)", "SPANS", "DURATION", "SERVICE", "ROOT"
    );
    for summary in summaries {
        out.push_str(&format!(
            "{:<32}  {:<23}  {:>5}  {:>9}  {:<20}  {}\n",
            summary.trace_id.to_string(),
            format_utc(summary.start_time_unix_nano),
            summary.span_count,
            format_duration_nanos(summary.duration_nanos),
            summary.service_name,
            summary.root_name
        ));
    }
    out
}

/// The `list` JSON object.
pub fn list_json(summaries: &[TraceSummary]) -> Value {
    let traces: Vec<Value> = summaries
        .iter()
        .map(|summary| {
            json!({
                "trace_id": summary.trace_id.to_string(),
                "root_name": summary.root_name,
                "service_name": summary.service_name,
                "span_count": summary.span_count,
                "start_time_unix_nano": summary.start_time_unix_nano,
                "duration_nanos": summary.duration_nanos,
            })
        })
        .collect();
    json!({ "traces": traces })
}

/// The `get` JSON object: every span with hex IDs and typed attributes.
pub fn trace_json(trace: &Trace) -> Value {
    let spans: Vec<Value> = trace.spans.iter().map(|span| span_json(span)).collect();
    json!({
        "trace_id": trace.trace_id.to_string(),
        "span_count": trace.spans.len(),
        "spans": spans,
    })
}

/// One span as in [`trace_json`].
pub fn span_json(span: &Span) -> Value {
    json!({
        "span_id": span.span_id.to_string(),
        "parent_span_id": span.parent_span_id.map(|id| id.to_string()),
        "name": &*span.name,
        "kind": span.kind.tracetest_name(),
        "status": {
            "code": match span.status.code {
                StatusCode::Unset => "unset",
                StatusCode::Ok => "ok",
                StatusCode::Error => "error",
            },
            "message": &*span.status.message,
        },
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "duration_nanos": span.duration_nanos(),
        "service_name": span.service_name(),
        "attributes": attributes_json(&span.attributes),
        "events": span.events().iter().map(|event| json!({
            "name": &*event.name,
            "time_unix_nano": event.time_unix_nano,
            "attributes": attributes_json(&event.attributes),
        })).collect::<Vec<_>>(),
        "links": span.links().iter().map(|link| json!({
            "trace_id": link.trace_id.to_string(),
            "span_id": link.span_id.to_string(),
            "attributes": attributes_json(&link.attributes),
        })).collect::<Vec<_>>(),
        "resource": { "attributes": attributes_json(&span.resource.attributes) },
        "scope": {
            "name": &*span.scope.name,
            "version": &*span.scope.version,
            "attributes": attributes_json(&span.scope.attributes),
        },
    })
}

fn attributes_json(attributes: &[KeyValue]) -> Vec<Value> {
    attributes
        .iter()
        .map(|kv| {
            let (kind, value) = typed_value(&kv.value);
            json!({ "key": &*kv.key, "type": kind, "value": value })
        })
        .collect()
}

fn typed_value(value: &AttributeValue) -> (&'static str, Value) {
    let json_value = match value {
        AttributeValue::String(text) => Value::from(&**text),
        AttributeValue::Bool(flag) => Value::from(*flag),
        AttributeValue::Int(number) => Value::from(*number),
        AttributeValue::Double(number) => match serde_json::Number::from_f64(*number) {
            Some(finite) => Value::Number(finite),
            None if number.is_nan() => Value::from("NaN"),
            None if *number > 0.0 => Value::from("inf"),
            None => Value::from("-inf"),
        },
        AttributeValue::Bytes(bytes) => Value::from(hex::encode(&bytes[..])),
        AttributeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| {
                    let (kind, value) = typed_value(item);
                    json!({ "type": kind, "value": value })
                })
                .collect(),
        ),
        AttributeValue::Map(entries) => Value::Array(attributes_json(entries)),
        AttributeValue::Empty => Value::Null,
    };
    (value.type_name(), json_value)
}

/// `2026-11-22 00:31:02.123` (UTC) from Unix nanoseconds; `-` for 0.
fn format_utc(unix_nanos: u64) -> String {
    if unix_nanos == 0 {
        return "-".to_string();
    }
    let millis = (unix_nanos % 1_000_000_000) / 1_000_000;
    let (year, month, day, hour, minute, second) = civil_from_unix((unix_nanos / 1_000_000_000) as i64);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{millis:03}")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use model::{SpanId, TraceId};

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "-");
        assert_eq!(format_utc(1_000_000_000), "1970-01-01 00:00:01.000");
        assert_eq!(format_utc(1_700_000_000_123_000_000), "2023-11-14 22:13:20.123");
        assert_eq!(format_utc(951_782_400_000_000_000), "2000-02-29 00:00:00.000");
    }

    #[test]
    fn typed_attributes_in_json() {
        let span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "x")
            .with_parent(SpanId([3; 8]))
            .with_attribute("n", 42i64)
            .with_attribute("d", f64::NAN)
            .with_attribute("l", AttributeValue::array([true.into()]))
            .with_attribute("b", AttributeValue::bytes([0xab]));
        let value = trace_json(&Trace::new(TraceId([1; 16]), vec![Arc::new(span)]));
        let span = &value["spans"][0];
        assert_eq!(span["span_id"], "0202020202020202");
        assert_eq!(span["parent_span_id"], "0303030303030303");
        assert_eq!(span["attributes"][0], json!({"key": "n", "type": "int", "value": 42}));
        assert_eq!(span["attributes"][1], json!({"key": "d", "type": "double", "value": "NaN"}));
        assert_eq!(
            span["attributes"][2],
            json!({"key": "l", "type": "array", "value": [{"type": "bool", "value": true}]})
        );
        assert_eq!(span["attributes"][3], json!({"key": "b", "type": "bytes", "value": "ab"}));
    }
}
