//! What `tracecheck traces list|get` print: the trace table, and the JSON of a list and of
//! a trace (the span waterfall is [`super::waterfall`]). Pure rendering: the command
//! (`cli::traces`) fetches and writes.
//!
//! # JSON wire format
//!
//! `wire`'s shapes, as the web API answers them (see `wire`'s "Wire format"):
//! `traces list --output json` prints a [`wire::TraceList`], `{"traces": [summary...]}`;
//! `traces get TRACE_ID --output json` prints a [`wire::Trace`], every span in the
//! languages' tree order with typed attributes.

use super::waterfall::format_duration_nanos;
use model::{civil_from_unix, Trace};
use wire::TraceSummary;

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
    super::style::terminal_safe(&out).into_owned()
}

/// The `list` JSON object, on one line.
pub fn list_json(summaries: &[TraceSummary]) -> String {
    to_json(&wire::TraceList { traces: summaries.to_vec() })
}

/// The `get` JSON object, on one line: every span with hex IDs and typed attributes.
pub fn trace_json(trace: &Trace) -> String {
    to_json(&wire::Trace::new(trace))
}

fn to_json(value: &impl serde::Serialize) -> String {
    // Plain structs with string keys: serializing to a String cannot fail.
    serde_json::to_string(value).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
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
    use model::{AttributeValue, Span, SpanId, TraceId};

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "-");
        assert_eq!(format_utc(1_000_000_000), "1970-01-01 00:00:01.000");
        assert_eq!(format_utc(1_700_000_000_123_000_000), "2023-11-14 22:13:20.123");
        assert_eq!(format_utc(951_782_400_000_000_000), "2000-02-29 00:00:00.000");
    }

    #[test]
    fn json_is_the_wire_shapes() {
        let span = Span::new(TraceId([1; 16]), SpanId([2; 8]), "x")
            .with_attribute("n", 42i64)
            .with_attribute("b", AttributeValue::bytes([0xab]));
        let trace = Trace::new(TraceId([1; 16]), vec![Arc::new(span)]);
        let value: serde_json::Value = serde_json::from_str(&trace_json(&trace)).unwrap();
        assert_eq!(value["spans"][0]["span_id"], "0202020202020202");
        assert_eq!(value["spans"][0]["attributes"], serde_json::json!({"b": "ab", "n": 42}));
        let list: serde_json::Value = serde_json::from_str(&list_json(&[wire::summarize(&trace)])).unwrap();
        assert_eq!(list["traces"][0]["root_name"], "x");
    }
}
