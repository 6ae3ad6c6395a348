//! Property tests: no parser panics on any input, printing a parsed tree and parsing the
//! text again gives the same tree, evaluation never panics, and the linear-time chain
//! selection agrees with the literal reading of reference 7.3.
//!
//! `PROPTEST_CASES=20000 cargo test --lib lang::proptests` runs them harder (the fuzz
//! stand-in when `cargo fuzz` is not available).

use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::select;

use super::tests::shop;
use super::*;
use model::{Span, SpanId, SpanKind, Trace, TraceId};

fn go_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn selector_filter() -> impl Strategy<Value = String> {
    let property = select(vec![
        "name",
        "kind",
        "tracetest.span.type",
        "http.status_code",
        "db.system",
        "cache.hit",
        "weight",
        "_a.b_1",
    ]);
    let op = select(vec!["=", " = ", " contains "]);
    let value = prop_oneof![
        select(vec![
            "http",
            "database",
            "messaging",
            "general",
            "POST /users",
            "server",
            "client",
            "",
            "o",
            "a\"b"
        ])
        .prop_map(go_quote),
        "[a-z /\"\\\\é]{0,6}".prop_map(|text| go_quote(&text)),
        "[0-9]{1,4}",
        "[0-9]{1,2}\\.[0-9]{1,3}",
        Just("true".to_string()),
        Just("false".to_string()),
    ];
    (property, op, value).prop_map(|(property, op, value)| format!("{property}{op}{value}"))
}

fn selector_text() -> impl Strategy<Value = String> {
    let pseudo = prop_oneof![
        Just(String::new()),
        Just(":first".to_string()),
        Just(":last".to_string()),
        (0u64..5).prop_map(|n| format!(":nth_child({n})")),
        Just(" : first:last".to_string()),
    ];
    let part = (prop::collection::vec(selector_filter(), 0..3), select(vec![" ", ",", ", "]), pseudo)
        .prop_map(|(filters, separator, pseudo)| format!("span[{}]{pseudo}", filters.join(separator)));
    let chain = (prop::collection::vec(part, 1..4), select(vec![" ", "  ", "\t"]))
        .prop_map(|(parts, separator)| parts.join(separator));
    prop::collection::vec(chain, 1..3).prop_map(|chains| chains.join(", "))
}

fn term_text(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        "[0-9]{1,3}(\\.[0-9]{1,2})?",
        ("[0-9]{1,3}", select(vec!["ns", "us", "ms", "s", "m", "h", " ms"]))
            .prop_map(|(n, unit)| format!("{n}{unit}")),
        select(vec![
            "attr:http.status_code",
            "attr:name",
            "attr:tracetest.span.duration",
            "attr:tracetest.response.body",
            "attr:tracetest.selected_spans.count",
            "attr:dapr-app-id",
            "attr:missing",
            "env:HOST",
            "var:USER_ID",
            "var:NOPE",
            "uuid()",
            "randomInt(1, 5)",
            "date()",
            "firstName()",
        ])
        .prop_map(str::to_string),
        "[a-z0-9 \\[\\]{}:]{0,6}".prop_map(|text| format!("'{text}'")),
        "[a-z0-9 ']{0,6}".prop_map(|text| format!("\"{}\"", text)),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => prop::collection::vec(term_text(depth - 1), 0..3).prop_map(|items| format!("[{}]", items.join(", "))),
        1 => expr_text(depth - 1).prop_map(|inner| format!("'a ${{{}}} b'", inner.replace('\'', "\""))),
    ]
    .boxed()
}

fn expr_text(depth: u32) -> BoxedStrategy<String> {
    let filter = prop_oneof![
        Just(" | json_path '$.id'".to_string()),
        Just(" | json_path '$.items[*].name'".to_string()),
        Just(" | regex '[0-9]+'".to_string()),
        Just(" | regex_group '(\\d)(\\d)?'".to_string()),
        Just(" | get_index 0".to_string()),
        Just(" | get_index 'last'".to_string()),
        Just(" | length".to_string()),
        Just(" | type".to_string()),
    ];
    let op = select(vec![" + ", " - ", " * ", " / ", "+"]);
    (
        term_text(depth),
        prop::collection::vec((op, term_text(depth)), 0..3),
        prop::collection::vec(filter, 0..3),
    )
        .prop_map(|(first, rest, filters)| {
            let mut text = first;
            for (op, term) in rest {
                text.push_str(op);
                text.push_str(&term);
            }
            text.extend(filters);
            text
        })
        .boxed()
}

fn assertion_text() -> impl Strategy<Value = String> {
    let comparator =
        select(vec![" = ", " != ", " < ", " <= ", " > ", " >= ", " contains ", " not-contains ", "="]);
    (expr_text(2), comparator, expr_text(2))
        .prop_map(|(left, comparator, right)| format!("{left}{comparator}{right}"))
}

/// Random forests: parents among earlier spans, missing parents, names and types from
/// small sets so that selectors match often.
fn random_trace() -> impl Strategy<Value = Trace> {
    let span = (
        0usize..40,
        select(vec!["a", "b", "c", "Tracetest trigger"]),
        select(vec!["http.method", "db.system", "x"]),
        0u64..50,
    );
    prop::collection::vec(span, 1..30).prop_map(|specs| {
        let trace_id = TraceId([1; 16]);
        let spans = specs
            .iter()
            .enumerate()
            .map(|(index, (parent, name, key, start))| {
                let span_id = SpanId(((index + 1) as u64).to_be_bytes());
                let mut span = Span::new(trace_id, span_id, name)
                    .with_times(*start, start + 10)
                    .with_kind(if index % 2 == 0 { SpanKind::Server } else { SpanKind::Client })
                    .with_attribute(key, "v");
                // Parents point at earlier spans, at nothing (orphans) or at themselves.
                if *parent <= index + 5 {
                    span = span.with_parent(SpanId(((*parent).max(1) as u64).to_be_bytes()));
                }
                Arc::new(span)
            })
            .collect();
        Trace::new(trace_id, spans)
    })
}

fn random_selector() -> impl Strategy<Value = String> {
    let filter = prop_oneof![
        select(vec!["a", "b", "c", "Tracetest trigger"]).prop_map(|name| format!("name=\"{name}\"")),
        select(vec!["http", "database", "general"])
            .prop_map(|kind| format!("tracetest.span.type=\"{kind}\"")),
        select(vec!["server", "client"]).prop_map(|kind| format!("kind=\"{kind}\"")),
    ];
    let pseudo = select(vec!["", "", ":first", ":last", ":nth_child(2)"]);
    let part = (prop::collection::vec(filter, 0..2), pseudo)
        .prop_map(|(filters, pseudo)| format!("span[{}]{pseudo}", filters.join(" ")));
    let chain = prop::collection::vec(part, 1..4).prop_map(|parts| parts.join(" "));
    prop::collection::vec(chain, 1..3).prop_map(|chains| chains.join(", "))
}

proptest! {
    #[test]
    fn parsers_never_panic(text in any::<String>()) {
        let _ = Selector::parse(&text);
        let _ = Expr::parse(&text);
        let _ = Assertion::parse(&text);
        if let Ok(template) = Template::parse(&text) {
            let _ = template.render(&Vars::new());
        }
    }

    #[test]
    fn token_soup_never_panics_and_round_trips(
        parts in prop::collection::vec(select(vec![
            "span", "[", "]", " ", ",", "name", "=", "contains", "\"x\"", "\"a\\\"b\"", "201", "0.5", "true",
            ":first", ":nth_child", "(", ")", "2", ".", "_x", "'x'", "\\", "é", "attr:", "attr:a-b", "env:X",
            "var:Y", "1ms", "200 s", "+", "-", "*", "/", "|", "json_path", "regex", "length", "type", "get_index",
            "uuid", "randomInt", "\"${", "}", "${", "not-contains", "!=", "<=", ">", "'", "\"", "[1, 2]",
        ]), 0..14)
    ) {
        let text = parts.concat();
        if let Ok(selector) = Selector::parse(&text) {
            prop_assert_eq!(Selector::parse(&selector.to_string()), Ok(selector.clone()), "printed {}", selector);
        }
        if let Ok(expr) = Expr::parse(&text) {
            prop_assert_eq!(Expr::parse(&expr.to_string()), Ok(expr.clone()), "printed {}", expr);
        }
        if let Ok(assertion) = Assertion::parse(&text) {
            prop_assert_eq!(Assertion::parse(&assertion.to_string()), Ok(assertion.clone()), "printed {}", assertion);
        }
        if let Ok(template) = Template::parse(&text) {
            prop_assert_eq!(Template::parse(&template.to_string()), Ok(template.clone()), "printed {}", template);
        }
    }

    #[test]
    fn generated_selectors_parse_print_and_select(text in selector_text()) {
        let selector = Selector::parse(&text).map_err(|error| TestCaseError::fail(format!("{text}: {error}")))?;
        let printed = selector.to_string();
        prop_assert_eq!(Selector::parse(&printed), Ok(selector.clone()), "printed {}", printed);
        let trace = shop();
        let view = TraceView::new(&trace);
        prop_assert_eq!(selector.select(&view), selector.select_naive(&view));
    }

    #[test]
    fn generated_assertions_parse_print_and_evaluate(text in assertion_text()) {
        let assertion = match Assertion::parse(&text) {
            Ok(assertion) => assertion,
            // Interpolations may nest quotes the generator cannot balance; those must be
            // errors, not panics, and are covered by the soup test.
            Err(_) => return Ok(()),
        };
        let printed = assertion.to_string();
        prop_assert_eq!(Assertion::parse(&printed), Ok(assertion.clone()), "printed {}", printed);
        let trace = shop();
        let view = TraceView::new(&trace);
        let vars: Vars = [("HOST", "localhost"), ("USER_ID", "42")].into_iter().collect();
        let outcome = evaluate_spec(&view, &Selector::default(), std::slice::from_ref(&assertion), &vars);
        prop_assert_eq!(outcome.assertions[0].results.len(), view.len());
        let _ = evaluate_output(&view, &Selector::default(), &assertion.left, &vars);
    }

    #[test]
    fn generated_expressions_mostly_parse(text in expr_text(2)) {
        if let Ok(expr) = Expr::parse(&text) {
            prop_assert_eq!(Expr::parse(&expr.to_string()), Ok(expr.clone()));
        }
    }

    #[test]
    fn chain_shortcut_agrees_with_reference(trace in random_trace(), text in random_selector()) {
        let view = TraceView::new(&trace);
        prop_assert_eq!(view.len(), trace.spans.len());
        let selector = Selector::parse(&text).map_err(|error| TestCaseError::fail(format!("{text}: {error}")))?;
        let selected = selector.select(&view);
        prop_assert_eq!(&selected, &selector.select_naive(&view), "selector {}", text);
        prop_assert_eq!(selector.matches_any(&view), !selected.is_empty());
    }
}

/// The generators must mostly produce valid text, or the properties above test little.
#[test]
fn generators_mostly_produce_valid_text() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let n_samples = 300;
    let mut n_assertions = 0;
    let mut n_exprs = 0;
    for _ in 0..n_samples {
        let text = assertion_text().new_tree(&mut runner).map(|tree| tree.current()).unwrap_or_default();
        n_assertions += usize::from(Assertion::parse(&text).is_ok());
        let text = expr_text(2).new_tree(&mut runner).map(|tree| tree.current()).unwrap_or_default();
        n_exprs += usize::from(Expr::parse(&text).is_ok());
    }
    assert!(n_assertions * 10 > n_samples * 6, "{n_assertions} of {n_samples} assertions parsed");
    assert!(n_exprs * 10 > n_samples * 6, "{n_exprs} of {n_samples} expressions parsed");
}
