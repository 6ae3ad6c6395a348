//! TraceQL on arbitrary text: no input may panic or overflow the stack, whatever parses
//! must print back to text that parses to the same query, and selecting with it over a
//! small trace (with events, links and an orphan) must not panic and must return spans in
//! tree order, each once.

#![no_main]

use std::sync::{Arc, OnceLock};

use lang::{Selector, TraceView};
use libfuzzer_sys::fuzz_target;
use model::{Event, KeyValue, Link, Span, SpanId, SpanKind, StatusCode, Trace, TraceId};

fn trace() -> &'static Trace {
    static TRACE: OnceLock<Trace> = OnceLock::new();
    TRACE.get_or_init(|| {
        let trace_id = TraceId([1; 16]);
        let id = |n: u64| SpanId(n.to_be_bytes());
        let spans = vec![
            Span::new(trace_id, id(1), "Tracetest trigger")
                .with_times(10, 100)
                .with_attribute("tracetest.response.status", "200")
                .with_resource_attribute("service.name", "tracetest"),
            Span::new(trace_id, id(2), "POST /users")
                .with_parent(id(1))
                .with_kind(SpanKind::Server)
                .with_times(20, 90)
                .with_attribute("http.status_code", 201i64)
                .with_attribute("ratio", 1.5)
                .with_attribute("list", model::AttributeValue::array(vec!["a".into(), 1i64.into()]))
                .with_resource_attribute("service.name", "api")
                .with_events([Event {
                    time_unix_nano: 50,
                    name: "exception".into(),
                    attributes: vec![KeyValue::new("exception.message", "boom")].into_boxed_slice(),
                }]),
            Span::new(trace_id, id(3), "db")
                .with_parent(id(2))
                .with_times(30, 40)
                .with_attribute("db.system", "redis")
                .with_status(StatusCode::Error, "timeout")
                .with_links([Link { trace_id: TraceId([2; 16]), span_id: id(7), attributes: Box::new([]) }]),
            Span::new(trace_id, id(4), "cache")
                .with_parent(id(2))
                .with_times(31, 35)
                .with_attribute("hit", true),
            Span::new(trace_id, id(5), "orphan").with_parent(id(9)).with_times(5, 6),
        ];
        Trace::new(trace_id, spans.into_iter().map(Arc::new).collect())
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Steer the fuzzer into TraceQL: Tracetest's selector language has its own target.
    let text =
        if text.trim_start().starts_with(['{', '(']) { text.into_owned() } else { format!("{{{text}") };
    let Ok(selector) = Selector::parse(&text) else {
        return;
    };
    assert!(selector.traceql().is_some(), "{text:?}");
    assert_eq!(Selector::parse(&selector.to_string()).as_ref(), Ok(&selector), "{text:?}");
    let view = TraceView::new(trace());
    let selected = selector.select(&view);
    assert!(selected.windows(2).all(|pair| pair[0] < pair[1]), "{text:?}: {selected:?}");
    assert!(selected.iter().all(|&index| index < view.len()), "{text:?}");
    assert_eq!(selector.matches_any(&view), !selected.is_empty(), "{text:?}");
});
