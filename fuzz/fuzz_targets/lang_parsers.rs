//! Both parsers (selectors; expressions, assertions and templates) on arbitrary text: no
//! input may panic, whatever parses must print back to text that parses to the same
//! tree, and evaluating what parses over a small trace must not panic either.

#![no_main]

use std::sync::{Arc, OnceLock};

use lang::{evaluate_output, evaluate_spec, Assertion, Expr, Selector, Template, TraceView, Vars};
use libfuzzer_sys::fuzz_target;
use model::{Span, SpanId, SpanKind, Trace, TraceId};

fn trace() -> &'static Trace {
    static TRACE: OnceLock<Trace> = OnceLock::new();
    TRACE.get_or_init(|| {
        let trace_id = TraceId([1; 16]);
        let id = |n: u64| SpanId(n.to_be_bytes());
        let spans = vec![
            Span::new(trace_id, id(1), "Tracetest trigger")
                .with_times(10, 100)
                .with_attribute("tracetest.response.status", "200")
                .with_attribute("tracetest.response.body", r#"{"id": 42, "items": [{"name": "a"}]}"#),
            Span::new(trace_id, id(2), "POST /users")
                .with_parent(id(1))
                .with_kind(SpanKind::Server)
                .with_times(20, 90)
                .with_attribute("http.status_code", 201i64)
                .with_attribute("ratio", 1.5),
            Span::new(trace_id, id(3), "db")
                .with_parent(id(2))
                .with_times(30, 40)
                .with_attribute("db.system", "redis"),
            Span::new(trace_id, id(4), "orphan").with_parent(id(9)).with_times(5, 6),
        ];
        Trace::new(trace_id, spans.into_iter().map(Arc::new).collect())
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let view = TraceView::new(trace());
    let vars: Vars = [("X", "1"), ("BODY", r#"{"a": [1, 2]}"#)].into_iter().collect();

    if let Ok(selector) = Selector::parse(&text) {
        assert_eq!(Selector::parse(&selector.to_string()).as_ref(), Ok(&selector), "{text:?}");
        let _ = selector.select(&view);
        let _ = selector.matches_any(&view);
    }
    if let Ok(expr) = Expr::parse(&text) {
        assert_eq!(Expr::parse(&expr.to_string()).as_ref(), Ok(&expr), "{text:?}");
        let _ = evaluate_output(&view, &Selector::default(), &expr, &vars);
    }
    if let Ok(assertion) = Assertion::parse(&text) {
        assert_eq!(Assertion::parse(&assertion.to_string()).as_ref(), Ok(&assertion), "{text:?}");
        let _ = evaluate_spec(&view, &Selector::default(), std::slice::from_ref(&assertion), &vars);
    }
    if let Ok(template) = Template::parse(&text) {
        assert_eq!(Template::parse(&template.to_string()).as_ref(), Ok(&template), "{text:?}");
        let _ = template.render(&vars);
    }
});
