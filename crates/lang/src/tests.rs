//! Table-driven tests of the languages, one line per case, over one small trace
//! (`shop()`), using the reference's examples where it gives them.

use std::sync::Arc;

use super::eval::eval_on;
use super::*;
use model::{Event, KeyValue, Span, SpanId, SpanKind, StatusCode, Trace, TraceId, TRIGGER_SPAN_NAME};

const T: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn id(n: u8) -> SpanId {
    SpanId([0, 0, 0, 0, 0, 0, 0, n])
}

fn trace_id() -> TraceId {
    TraceId([7; 16])
}

/// The test trace, in Tracetest's traversal order:
///
/// ```text
/// Tracetest trigger            1  general (tracetest.response.*)
///   orphan                     10 parent missing: adopted by the trigger, starts first
///   POST /users                2  http server, 25.19 ms
///     db query                 3  database, 2.5 us
///     HTTP GET                 4  http client, 999 999 999 ns
///       GET /inventory         5  http server, 1.5 s
///         db select            6  database, status error
///     publish                  7  messaging producer, one event
///       consume                8  messaging consumer
///   say "hi"                   9  typed attributes
/// ```
pub(super) fn shop() -> Trace {
    let span = |n: u8, name: &str| Span::new(trace_id(), id(n), name);
    let trigger = span(1, TRIGGER_SPAN_NAME)
        .with_times(T, T + 100 * MS)
        .with_attribute("tracetest.response.status", "201")
        .with_attribute(
            "tracetest.response.body",
            r#"{"id":42,"name":"Ada","items":[{"name":"a"},{"name":"b"}]}"#,
        )
        .with_attribute(
            "tracetest.response.headers",
            r#"[{"key":"Content-Type","value":"application/json"}]"#,
        )
        .with_resource_attribute("service.name", "tracetest");
    let orphan = span(10, "orphan")
        .with_parent(id(99))
        .with_times(T + 1, T + 1 + 1_600_000)
        .with_attribute("cache.hit", true)
        .with_attribute("weight", "0.50")
        .with_attribute("timeout", "1.5s")
        .with_attribute("empty", "");
    let post = span(2, "POST /users")
        .with_parent(id(1))
        .with_kind(SpanKind::Server)
        .with_times(T + 10, T + 10 + 25_190_000)
        .with_attribute("http.method", "POST")
        .with_attribute("http.status_code", 201i64)
        .with_attribute("http.route", "/users")
        .with_attribute("service.name", "own")
        .with_resource_attribute("service.name", "api");
    let db_query = span(3, "db query")
        .with_parent(id(2))
        .with_kind(SpanKind::Client)
        .with_times(T + 20, T + 20 + 2_500)
        .with_attribute("db.system", "postgres")
        .with_attribute("db.statement", "INSERT INTO users VALUES ($1)");
    let http_get = span(4, "HTTP GET")
        .with_parent(id(2))
        .with_kind(SpanKind::Client)
        .with_times(T + 30, T + 30 + 999_999_999)
        .with_attribute("http.method", "GET")
        .with_attribute("http.status_code", 200i64);
    let inventory = span(5, "GET /inventory")
        .with_parent(id(4))
        .with_kind(SpanKind::Server)
        .with_times(T + 35, T + 35 + 1_500_000_000)
        .with_attribute("http.status_code", 200i64)
        .with_resource_attribute("service.name", "inventory");
    let db_select = span(6, "db select")
        .with_parent(id(5))
        .with_times(T + 40, T + 40 + 3 * MS)
        .with_attribute("db.system", "redis")
        .with_status(StatusCode::Error, "timeout");
    let mut publish = span(7, "publish")
        .with_parent(id(2))
        .with_kind(SpanKind::Producer)
        .with_times(T + 50, T + 50 + MS)
        .with_attribute("messaging.system", "kafka");
    publish = publish.with_events([Event {
        time_unix_nano: T + 1_500_000_000,
        name: "sent".into(),
        attributes: vec![KeyValue::new("size", 3i64)].into_boxed_slice(),
    }]);
    let consume = span(8, "consume")
        .with_parent(id(7))
        .with_kind(SpanKind::Consumer)
        .with_times(T + 60, T + 60 + MS)
        .with_attribute("messaging.system", "kafka")
        .with_attribute("dapr-app-id", "shop");
    let hi = span(9, "say \"hi\"")
        .with_parent(id(1))
        .with_kind(SpanKind::Internal)
        .with_times(T + 200, T + 300)
        .with_attribute("ratio", 1.5)
        .with_attribute("whole", 2.0)
        .with_attribute("delta", -2.25)
        .with_attribute("zero", 0.0)
        .with_attribute("list", model::AttributeValue::array(vec!["a".into(), 1i64.into()]))
        .with_attribute("big", 9_007_199_254_740_993i64);
    // Arrival order scrambled: the view must sort.
    let spans = vec![consume, db_query, trigger, db_select, post, hi, http_get, inventory, publish, orphan];
    Trace::new(trace_id(), spans.into_iter().map(Arc::new).collect())
}

fn names(view: &TraceView<'_>, indexes: &[usize]) -> Vec<String> {
    indexes.iter().map(|&index| view.spans()[index].name().to_string()).collect()
}

fn span_named<'v, 't>(view: &'v TraceView<'t>, name: &str) -> &'v SpanView<'t> {
    view.spans().iter().find(|span| span.name() == name).unwrap_or_else(|| panic!("no span {name:?}"))
}

fn vars() -> Vars {
    [("HOST", "localhost:8080"), ("USER_ID", "42"), ("BODY", r#"{"a":{"b":1}}"#), ("EMPTY", "")]
        .into_iter()
        .collect()
}

// ---- view ---------------------------------------------------------------------------------

#[test]
fn tree_order_roots_and_meta() {
    let trace = shop();
    let view = TraceView::new(&trace);
    let all: Vec<usize> = (0..view.len()).collect();
    assert_eq!(
        names(&view, &all),
        [
            TRIGGER_SPAN_NAME,
            "orphan",
            "POST /users",
            "db query",
            "HTTP GET",
            "GET /inventory",
            "db select",
            "publish",
            "consume",
            "say \"hi\""
        ]
    );
    let depths: Vec<u32> = view.spans().iter().map(SpanView::depth).collect();
    assert_eq!(depths, [0, 1, 1, 2, 2, 3, 4, 2, 3, 1]);
    assert_eq!(view.subtree(2), 2..9);
    assert_eq!(view.subtree(4), 4..7);
    assert_eq!(view.root().map(SpanView::name), Some(TRIGGER_SPAN_NAME));
    // The orphan's parent is now the trigger span.
    let orphan = span_named(&view, "orphan");
    assert_eq!(orphan.parent_id(), Some(id(1)));
}

#[test]
fn attribute_texts() {
    let trace = shop();
    let view = TraceView::new(&trace);
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("POST /users", "http.status_code", Some("201")),
        ("POST /users", "service.name", Some("api")), // resource wins over the span's own
        ("GET /inventory", "service.name", Some("inventory")),
        ("db query", "service.name", None),
        ("orphan", "cache.hit", Some("true")),
        ("say \"hi\"", "ratio", Some("1.5")), // Q-12 fixed: Tracetest rounds to 2
        ("say \"hi\"", "whole", Some("2")),
        ("say \"hi\"", "delta", Some("-2.25")), // Tracetest: -2.250000
        ("say \"hi\"", "zero", Some("0")),      // Tracetest: unsupported value type
        ("say \"hi\"", "list", Some(r#"["a",1]"#)),
        ("say \"hi\"", "big", Some("9007199254740993")),
        ("POST /users", "tracetest.span.name", Some("POST /users")),
        ("POST /users", "tracetest.span.type", Some("http")),
        ("db query", "tracetest.span.type", Some("database")),
        ("publish", "tracetest.span.type", Some("messaging")),
        (TRIGGER_SPAN_NAME, "tracetest.span.type", Some("general")),
        ("POST /users", "tracetest.span.duration", Some("25190000")),
        ("POST /users", "tracetest.span.start_time", Some("1700000000000000010")),
        ("POST /users", "tracetest.span.end_time", Some("1700000000025190010")),
        ("POST /users", "tracetest.span.parent_id", Some("0000000000000001")),
        (TRIGGER_SPAN_NAME, "tracetest.span.parent_id", Some("0000000000000000")),
        ("db select", "tracetest.span.status_code", Some("STATUS_CODE_ERROR")),
        ("db query", "tracetest.span.status_code", Some("STATUS_CODE_UNSET")),
        ("db select", "tracetest.span.status_description", Some("timeout")),
        ("db query", "tracetest.span.status_description", None),
        ("db query", "span.events", Some("[]")),
        (
            "publish",
            "span.events",
            Some(r#"[{"attributes":{"size":"3"},"name":"sent","timestamp":"2023-11-14T22:13:21.5Z"}]"#),
        ),
        ("POST /users", "tracetest.span.kind", None),
        ("POST /users", "tracetest.span.id", None),
    ];
    for (span, key, expected) in cases {
        let actual = span_named(&view, span).attribute(key);
        assert_eq!(actual.as_deref(), *expected, "{span} {key}");
    }
}

#[test]
fn cycles_and_deep_chains_do_not_break_the_view() {
    let a = Span::new(trace_id(), id(1), "a").with_parent(id(2));
    let b = Span::new(trace_id(), id(2), "b").with_parent(id(1));
    let trace = Trace::new(trace_id(), vec![Arc::new(a), Arc::new(b)]);
    let view = TraceView::new(&trace);
    assert_eq!(view.len(), 2);
    assert_eq!(view.subtree(0), 0..2);

    let n_spans = 100_000u64;
    let spans = (1..=n_spans)
        .map(|n| {
            let span = Span::new(trace_id(), SpanId(n.to_be_bytes()), "deep");
            Arc::new(if n > 1 { span.with_parent(SpanId((n - 1).to_be_bytes())) } else { span })
        })
        .collect();
    let trace = Trace::new(trace_id(), spans);
    let view = TraceView::new(&trace);
    assert_eq!(view.subtree(0), 0..n_spans as usize);
    let selector = Selector::parse("span[name=\"deep\"] span[name=\"deep\"]").unwrap();
    assert_eq!(selector.select(&view).len(), n_spans as usize - 1);
    let selector = Selector::parse("span[name=\"deep\"]:last").unwrap();
    assert_eq!(selector.select(&view), [n_spans as usize - 1]);
}

#[test]
fn chains_with_inner_pseudo_classes_stay_polynomial() {
    // A deep chain makes every subtree large: the literal reading of 7.3 would evaluate
    // the inner parts again below every ancestor.
    let n_spans = 1_000u64;
    let spans = (1..=n_spans)
        .map(|n| {
            let name = if n % 2 == 1 { "a" } else { "b" };
            let span = Span::new(trace_id(), SpanId(n.to_be_bytes()), name).with_times(n, n + 1);
            Arc::new(if n > 1 { span.with_parent(SpanId((n - 1).to_be_bytes())) } else { span })
        })
        .collect();
    let trace = Trace::new(trace_id(), spans);
    let view = TraceView::new(&trace);
    // Below each span, each `a`'s first `b`: every `b`.
    let selector = Selector::parse(r#"span[] span[name="a"] span[name="b"]:first"#).unwrap();
    assert_eq!(selector.select(&view).len(), n_spans as usize / 2);
    // `B:first` over a subtree whose root matches `B` is that root, which is then removed.
    let selector = Selector::parse("span[] span[] span[] span[]:first").unwrap();
    assert_eq!(selector.select(&view), Vec::<usize>::new());
}

#[test]
fn forest_without_trigger_is_ordered_by_start() {
    let late = Span::new(trace_id(), id(1), "late").with_times(20, 30);
    let early = Span::new(trace_id(), id(2), "early").with_times(10, 30);
    let trace = Trace::new(trace_id(), vec![Arc::new(late), Arc::new(early)]);
    let view = TraceView::new(&trace);
    assert_eq!(names(&view, &[0, 1]), ["early", "late"]);
    assert_eq!(view.spans()[1].attribute("tracetest.span.parent_id").as_deref(), Some("0000000000000000"));
}

// ---- selectors ----------------------------------------------------------------------------

fn check_select(source: &str, expected: &[&str]) {
    let trace = shop();
    let view = TraceView::new(&trace);
    let selector = Selector::parse(source).unwrap_or_else(|error| panic!("{source}: {error}"));
    assert_eq!(names(&view, &selector.select(&view)), expected, "selector {source}");
    assert_eq!(selector.matches_any(&view), !expected.is_empty(), "matches_any {source}");
}

/// Every span of [`shop`] in tree order (what an empty selector selects), shared with the
/// TraceQL tests that read the same trace.
pub(crate) const SHOP_SPANS: [&str; 10] = [
    TRIGGER_SPAN_NAME,
    "orphan",
    "POST /users",
    "db query",
    "HTTP GET",
    "GET /inventory",
    "db select",
    "publish",
    "consume",
    "say \"hi\"",
];

#[test]
fn selectors() {
    let http = ["POST /users", "HTTP GET", "GET /inventory"];
    let all = SHOP_SPANS;
    check_select("", &all);
    check_select("  ", &all);
    check_select("span[]", &all);
    check_select(r#"span[tracetest.span.type="http"]"#, &http);
    check_select(r#"span[tracetest.span.type="http"]:first"#, &["POST /users"]);
    check_select(r#"span[tracetest.span.type="http"]:last"#, &["GET /inventory"]);
    check_select(r#"span[tracetest.span.type="http"]:nth_child(3)"#, &["GET /inventory"]);
    check_select(r#"span[tracetest.span.type="http"]:nth_child(0)"#, &[]);
    check_select(r#"span[tracetest.span.type="http"]:nth_child(4)"#, &[]);
    check_select(r#"span[]:first:last"#, &["say \"hi\""]); // Q-7
    check_select(r#"span[tracetest.span.type="general" name="Tracetest trigger"]"#, &[TRIGGER_SPAN_NAME]);
    check_select(r#"span[tracetest.span.type="db"]"#, &[]);
    check_select(r#"span[tracetest.span.type="database"]"#, &["db query", "db select"]);
    check_select(
        r#"span[name="POST /users"] span[tracetest.span.type="database"]"#,
        &["db query", "db select"],
    );
    check_select(r#"span[name="publish"] span[tracetest.span.type="messaging"]"#, &["consume"]);
    check_select(r#"span[name="publish"]span[tracetest.span.type="messaging"]"#, &["consume"]);
    // Q-1: duplicates across alternatives.
    check_select(
        r#"span[name="POST /users"], span[tracetest.span.type="http"]"#,
        &["POST /users", http[0], http[1], http[2]],
    );
    // Q-2: the outer pseudo-class filters the chain's result.
    check_select(
        r#"span[tracetest.span.type="http"]:first span[tracetest.span.type="database"]"#,
        &["db query"],
    );
    check_select(
        r#"span[tracetest.span.type="http"] span[tracetest.span.type="database"]:first"#,
        &["db query", "db select"],
    );
    check_select(
        r#"span[tracetest.span.type="http"] span[tracetest.span.type="database"]:last"#,
        &["db select"],
    );
    check_select(
        r#"span[tracetest.span.type="http"]:last span[tracetest.span.type="database"]"#,
        &["db select"],
    );
    // Q-3: a middle part may match the outer span itself.
    check_select(r#"span[name="POST /users"] span[name="POST /users"] span[name="db query"]"#, &["db query"]);
    check_select(r#"span[name="db query"] span[]"#, &[]);
    check_select(r#"span[name="HTTP GET"] span[] span[]"#, &["GET /inventory", "db select"]);
    // Q-4: unquoted decimals compare as two-decimal text.
    check_select("span[weight=0.5]", &["orphan"]);
    check_select("span[weight=0.50]", &["orphan"]);
    // Q-5: missing attributes read as "".
    check_select(r#"span[db.system="" tracetest.span.type="http"]"#, &http);
    check_select(r#"span[name contains "inventory"]"#, &["GET /inventory"]);
    check_select(r#"span[name contains ""]"#, &all);
    check_select(r#"span[name contains "INVENTORY"]"#, &[]);
    check_select(r#"span[name="post /users"]"#, &[]);
    check_select(r#"span[kind="server"]"#, &["POST /users", "GET /inventory"]);
    check_select(r#"span[kind="unespecified"]"#, &[TRIGGER_SPAN_NAME, "orphan", "db select"]);
    check_select("span[http.status_code=201]", &["POST /users"]);
    check_select(r#"span[http.status_code="200"]"#, &["HTTP GET", "GET /inventory"]);
    check_select("span[cache.hit=true]", &["orphan"]);
    check_select("span[cache.hit=false]", &[]);
    check_select(r#"span[kind="client", tracetest.span.type="http"]"#, &["HTTP GET"]);
    check_select(r#"span[kind="client",tracetest.span.type="http"]"#, &["HTTP GET"]);
    check_select(r#" span [ name = "publish" ] : first "#, &["publish"]);
    check_select(r#"span[name="say \"hi\""]"#, &["say \"hi\""]);
    check_select(r#"span[name="say \u0022hi\x22"]"#, &["say \"hi\""]);
    check_select(r#"span[service.name="api"]"#, &["POST /users"]);
    check_select(r#"span[_x=""]:first"#, &[TRIGGER_SPAN_NAME]);
    check_select(r#"span[name="orphan"], span[name="orphan"]"#, &["orphan", "orphan"]);
}

fn check_selector_error(source: &str, expected: &str) {
    match Selector::parse(source) {
        Ok(selector) => panic!("{source} parsed as {selector:?}"),
        Err(error) => assert_eq!(error.to_string(), expected, "selector {source}"),
    }
}

#[test]
fn selector_errors() {
    check_selector_error(
        r#"span[name="x" kind=]"#,
        "expected a value after '=' (a \"string\", a number, true or false) at column 20, found ']'",
    );
    check_selector_error("span", "expected '[' after 'span' at column 5, found end of input");
    check_selector_error(
        "span[",
        "expected a filter (property = value) or ']' at column 6, found end of input",
    );
    check_selector_error(r#"span[a="1",]"#, "expected a filter after ',' at column 12, found ']'");
    check_selector_error(r#"span[a="1",,b="2"]"#, "expected a filter after ',' at column 12, found ','");
    check_selector_error(
        r#"span[name!="x"]"#,
        "expected '=' or 'contains' after 'name' at column 10, found '!'",
    );
    check_selector_error(
        r#"span[name<"x"]"#,
        "expected '=' or 'contains' after 'name' at column 10, found '<'",
    );
    check_selector_error(
        "span[name='x']",
        "expected a value after '=' (a \"string\", a number, true or false) at column 11, found '''",
    );
    check_selector_error(
        "span[]:nth_child",
        "expected '(' and a position after 'nth_child' at column 17, found end of input",
    );
    check_selector_error(
        r#"span[]:nth_child("1")"#,
        "expected a position (an unsigned integer) in 'nth_child(...)' at column 18, found a string",
    );
    check_selector_error(
        "span[]:nth_child(1",
        "expected ')' after the position at column 19, found end of input",
    );
    check_selector_error(
        "span[]:second",
        "expected a pseudo-class after ':' (first, last or nth_child(n)) at column 8, found 'second'",
    );
    check_selector_error(r#"span[a-b="1"]"#, "expected '=' or 'contains' after 'a' at column 7, found '-'");
    check_selector_error(
        r#"span[a.1b="1"]"#,
        "expected an attribute name segment (a letter or '_' first) at column 8, found '1b'",
    );
    check_selector_error(r#"div[name="x"]"#, "expected 'span' at column 1, found 'div'");
    check_selector_error(r#"SPAN[]"#, "expected 'span' at column 1, found 'SPAN'");
    check_selector_error(
        "span[a=-3]",
        "expected a value after '=' (a \"string\", a number, true or false) at column 8, found '-'",
    );
    check_selector_error(r#"span[a="x]"#, "expected a closing '\"' at column 8, found end of input");
    check_selector_error(
        r#"span[a="\q"]"#,
        "expected an escape sequence (\\\" \\\\ \\n \\t \\r \\xHH \\uHHHH) at column 9, found '\\q'",
    );
    check_selector_error(
        r#"span[] div"#,
        "expected 'span', ',' or the end of the selector at column 8, found 'div'",
    );
    check_selector_error(r#"span[],"#, "expected 'span' at column 8, found end of input");
    check_selector_error(
        "span[a=99999999999999999999]",
        "expected an integer that fits 64 bits at column 8, found '99999999999999999999'",
    );
    check_selector_error(
        &"span[] ".repeat(65),
        "expected at most 64 parts in a chain at column 449, found 'span'",
    );
    check_selector_error("span[a=1.]", "expected a filter (property = value) or ']' at column 9, found '.'");
}

#[test]
fn selector_printing() {
    let cases = [
        ("", ""),
        ("span[ ]", "span[]"),
        (r#"span[a="1",b contains "x\"y"] :first"#, r#"span[a="1" b contains "x\"y"]:first"#),
        (
            "span[a=0.5]span[b=true]:nth_child( 2 ),span[]:last",
            "span[a=0.5] span[b=true]:nth_child(2), span[]:last",
        ),
    ];
    for (source, printed) in cases {
        let selector = Selector::parse(source).unwrap();
        assert_eq!(selector.to_string(), printed);
        assert_eq!(Selector::parse(printed).unwrap(), selector);
    }
}

// ---- expressions --------------------------------------------------------------------------

/// Evaluates `source` on the span named `span` (or none when empty) and checks its text
/// and type name, or its error when `expected` starts with `error: `.
fn check_expr(span: &str, source: &str, expected: &str, type_name: &str) {
    let trace = shop();
    let view = TraceView::new(&trace);
    let span_view = (!span.is_empty()).then(|| span_named(&view, span));
    let expr = Expr::parse(source).unwrap_or_else(|error| panic!("{source}: {error}"));
    match (eval_on(&expr, span_view, 1, &vars()), expected.strip_prefix("error: ")) {
        (Ok(value), None) => {
            assert_eq!(value.text(), expected, "text of {source}");
            assert_eq!(value.type_name(), type_name, "type of {source}");
        }
        (Err(error), Some(expected_error)) => {
            assert_eq!(error.to_string(), expected_error, "error of {source}")
        }
        (actual, _) => panic!("{source}: expected {expected}, got {actual:?}"),
    }
}

#[test]
fn references() {
    check_expr("POST /users", "attr:http.status_code", "201", "number");
    check_expr("POST /users", "attr:http.method", "POST", "string");
    check_expr("POST /users", "attr:name", "POST /users", "string");
    check_expr("POST /users", "attr:tracetest.span.name", "POST /users", "string");
    check_expr("POST /users", "attr:tracetest.span.duration", "25190000", "number");
    check_expr("consume", "attr:dapr-app-id", "shop", "string");
    check_expr("orphan", "attr:timeout", "1.5s", "duration");
    check_expr("orphan", "attr:empty", "error: attribute \"empty\" not found", "");
    check_expr("POST /users", "attr:nope", "error: attribute \"nope\" not found", "");
    check_expr("POST /users", "attr:tracetest.selected_spans.count", "1", "number");
    check_expr(
        "POST /users",
        "attr:tracetest.selected_spans.first",
        "error: attribute \"tracetest.selected_spans.first\" not found (only tracetest.selected_spans.count exists)",
        "",
    );
    check_expr("", "attr:http.method", "error: no matching spans", "");
    check_expr("", "var:USER_ID", "42", "number");
    check_expr("", "env:HOST", "localhost:8080", "string");
    check_expr("", "env:BODY", r#"{"a":{"b":1}}"#, "json");
    check_expr("", "var:NOPE", "error: variable \"NOPE\" not found", "");
    check_expr(
        TRIGGER_SPAN_NAME,
        "attr:tracetest.response.headers",
        r#"[{"key":"Content-Type","value":"application/json"}]"#,
        "json",
    );
}

#[test]
fn literals_and_arithmetic() {
    check_expr("", "42", "42", "number");
    check_expr("", "1.5", "1.5", "number");
    check_expr("", "'text'", "text", "string");
    check_expr("", r#""text""#, "text", "string");
    // A literal's text is as written, escapes kept (issue 10): filters see valid JSON.
    check_expr("", r#"'it\'s'"#, r#"it\'s"#, "string");
    check_expr("", r#""say \"hi\"""#, r#"say \"hi\""#, "string");
    check_expr("", r#"'{"m": "a \"b\""}' | json_path '$.m'"#, r#"a "b""#, "string");
    check_expr("", r#"'[{"m": "x"}]' | json_path '$[?(@.m == \'x\')].m'"#, "x", "string");
    check_expr("", r#"'a "b"'"#, "a \"b\"", "string");
    check_expr("", r#""42""#, "42", "number");
    check_expr("", r#""-3""#, "-3", "string");
    check_expr("", r#""1e3""#, "1e3", "string");
    check_expr("", r#""2s""#, "2s", "duration");
    check_expr("", r#"'{"a": 1}'"#, r#"{"a": 1}"#, "json");
    check_expr("", r#"'[{"a": 1}]'"#, r#"[{"a": 1}]"#, "json");
    check_expr("", "'[1, 2]'", "[1, 2]", "array");
    check_expr("", "'see [1]'", "see [1]", "array");
    check_expr("", "'a ] b ['", "a ] b [", "string");
    check_expr("", "1ns", "1", "duration");
    check_expr("", "1us", "1000", "duration");
    check_expr("", "1ms", "1000000", "duration");
    check_expr("", "1s", "1000000000", "duration");
    check_expr("", "1m", "60000000000", "duration");
    check_expr("", "1h", "3600000000000", "duration");
    check_expr("", "200 ms", "200000000", "duration");
    check_expr("", "1.5s", "1500000000", "duration");
    check_expr("", "1 + 2 * 3", "9", "number"); // Q-14: left to right
    check_expr("", "10 / 4", "2", "number");
    check_expr("", "10.0 / 4", "2.50", "number");
    check_expr("", "1.5 * 4", "6.00", "number");
    check_expr("", "5 - 7", "-2", "number");
    check_expr("", "var:USER_ID + 1", "43", "number");
    check_expr("", "1 / 0", "error: division by zero", "");
    check_expr("", "1ms + 1ns", "1000001", "duration");
    check_expr("", "2s - 500ms", "1500000000", "duration");
    check_expr("", "1s + 1", "error: types mismatch", "");
    check_expr("", "'a' + 1", "error: types mismatch", "");
    check_expr("", r#"["a", 1, 2s]"#, r#"["a", 1, 2000000000]"#, "array");
    check_expr("", "[]", "[]", "array");
    check_expr("POST /users", "attr:tracetest.span.duration + 10ms", "error: types mismatch", "");
}

#[test]
fn interpolation() {
    check_expr("", r#""${1ms + 1ns}""#, "1000001", "number");
    check_expr("", r#""took ${1s}""#, "took 1000000000", "string");
    check_expr("", r#"'${200 ms}'"#, "200000000", "number");
    check_expr("", r#""user ${var:USER_ID}!""#, "user 42!", "string");
    check_expr("", r#"'${env:HOST}/users/${var:USER_ID}'"#, "localhost:8080/users/42", "string");
    check_expr("", r#""${[1, 'a']}""#, r#"[1, "a"]"#, "array");
    check_expr("", r#""${ var:USER_ID | type }""#, "number", "string");
    check_expr("", r#""${var:NOPE}""#, "error: variable \"NOPE\" not found", "");
    check_expr("", r#""${unclosed""#, "${unclosed", "string");
    check_expr("", r#""$5 {}""#, "$5 {}", "string");
    check_expr("POST /users", r#""${attr:http.method} ${attr:http.route}""#, "POST /users", "string");
}

#[test]
fn filters() {
    let body = "attr:tracetest.response.body";
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path '$.id'"), "42", "number");
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path '.id'"), "42", "number");
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path 'name'"), "Ada", "string");
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path '$.items[*].name'"), r#"["a", "b"]"#, "array");
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path '$..name'"), r#"["Ada", "a", "b"]"#, "array");
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path '$.items[0]'"), r#"{"name":"a"}"#, "json");
    check_expr(
        TRIGGER_SPAN_NAME,
        &format!(r#"{body} | json_path '$.items[?(@.name == "b")].name'"#),
        "b",
        "string",
    );
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path '$.nope'"), "", "nil");
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path '$.nope' | type"), "nil", "string");
    check_expr(
        TRIGGER_SPAN_NAME,
        &format!("{body} | json_path '$.items' | length"),
        "error: length needs a string or an array, found a json",
        "",
    );
    check_expr(TRIGGER_SPAN_NAME, &format!("{body} | json_path '$.items[*]' | length"), "2", "number");
    check_expr(
        TRIGGER_SPAN_NAME,
        &format!("{body} | json_path '$.items[*].name' | get_index 'last'"),
        "b",
        "string",
    );
    check_expr("", "env:BODY | json_path '$.a.b'", "1", "number");
    // Numbers print as Tracetest's Go code prints them (`%v` of an int64 or a float64).
    for (json, text) in [
        ("1e3", "1000"),
        ("1.5", "1.5"),
        ("1.0", "1"),
        ("-2.50", "-2.5"),
        ("-7", "-7"),
        ("0", "0"),
        ("-0", "0"),
        ("1E3", "1000"),
        ("1e6", "1e+06"),
        ("123456.7", "123456.7"),
        ("1234567.5", "1.2345675e+06"),
        ("0.0001", "0.0001"),
        ("0.00001", "1e-05"),
        ("-2.5e-7", "-2.5e-07"),
        ("1.5e300", "1.5e+300"),
        ("9007199254740993", "9007199254740993"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("12345678901234567890", "12345678901234567890"),
    ] {
        check_expr("", &format!("'{{\"a\": {json}}}' | json_path '$.a'"), text, Type::infer(text).name());
    }
    check_expr(
        "",
        "env:HOST | json_path '$.a'",
        "error: json_path input is not valid JSON: expected value at line 1 column 1",
        "",
    );
    check_expr("", "[1, 2] | json_path '$.a'", "error: json_path needs a JSON text, found an array", "");
    check_expr(
        "",
        "var:USER_ID | json_path var:HOST",
        "error: invalid JSONPath \"localhost:8080\": at position 11, parser error",
        "",
    );
    check_expr("", "'a1b22c333' | regex '[0-9]+'", "[1, 22, 333]", "array");
    check_expr("", "'a1b' | regex '[0-9]+'", "1", "number");
    check_expr("", "'abc' | regex '[0-9]+'", "[]", "array");
    check_expr("", "'id=42 id=7' | regex_group 'id=(\\d+)'", "[42, 7]", "array");
    check_expr("", "'id=42' | regex_group 'id=(\\d+)'", "42", "number");
    check_expr("", "'k=v' | regex_group '(\\w)=(\\w)'", r#"["k", "v"]"#, "array");
    check_expr("", "'none' | regex_group 'id=(\\d+)'", "[]", "array");
    check_expr("", "'localhost:8080' | regex env:HOST", "localhost:8080", "string");
    check_expr("", r#"["a", "b"] | get_index 1"#, "b", "string");
    check_expr("", r#"["a", "b"] | get_index 0"#, "a", "string");
    check_expr("", r#"["a", "b"] | get_index 'last'"#, "b", "string");
    check_expr("", r#""solo" | get_index 0"#, "solo", "string");
    check_expr("", r#"["a", "b"] | get_index 2"#, "error: index 2 out of range for an array of 2", "");
    check_expr(
        "",
        r#"["a"] | get_index 'x'"#,
        "error: get_index needs an integer or 'last', found \"x\"",
        "",
    );
    check_expr("", r#""my string" | length"#, "9", "number"); // Q-16 (docs say 1)
    check_expr("", r#""héllo" | length"#, "6", "number");
    check_expr("", r#"["a", "b", "c"] | length"#, "3", "number");
    check_expr("", "'abc' | regex 'x' | length", "0", "number");
    check_expr("", "42 | length", "error: length needs a string or an array, found a number", "");
    check_expr("", "2s | length", "error: length needs a string or an array, found a duration", "");
    check_expr("", "'[1, 2]' | length", "error: length needs a string or an array, found a array", "");
    check_expr("", "1 | type", "number", "string");
    check_expr("", "2s | type", "duration", "string");
    check_expr("", "'x' | type", "string", "string");
    check_expr("", r#"'{"a":1}' | type"#, "json", "string");
    check_expr("", "'[1, 2]' | type", "array", "string");
    check_expr("", "[1] | type", "array", "string");
    check_expr("", "[] | type", "array", "string");
    check_expr("", "'a-b-c' | regex '[a-z]' | get_index 1 | type", "string", "string");
}

#[test]
fn functions() {
    let trace = shop();
    let view = TraceView::new(&trace);
    let cases: &[(&str, &str)] = &[
        ("uuid()", r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
        ("firstName()", r"^[A-Z][a-z]+$"),
        ("lastName()", r"^[A-Z][a-z]+$"),
        ("fullName()", r"^[A-Z][a-z]+ [A-Z][a-z]+$"),
        ("email()", r"^[a-z]+\.[a-z]+[0-9]{3}@example\.com$"),
        ("phone()", r"^\+1 \([0-9]{3}\) [0-9]{3}-[0-9]{4}$"),
        ("creditCard()", r"^4[0-9]{15}$"),
        ("creditCardCvv()", r"^[0-9]{3}$"),
        ("creditCardExpDate()", r"^(0[1-9]|1[0-2])/[0-9]{2}$"),
        ("randomInt(1, 3)", r"^[123]$"),
        ("randomInt(5, 5)", r"^5$"),
        ("date()", r"^20[0-9]{2}-[01][0-9]-[0-3][0-9]$"),
        ("date('DD/MM/YYYY')", r"^[0-3][0-9]/[01][0-9]/20[0-9]{2}$"),
        ("dateTime()", r"^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$"),
        ("dateTime('YYYY hh:mm:ss')", r"^20[0-9]{2} [0-2][0-9]:[0-5][0-9]:[0-5][0-9]$"),
        ("'${uuid()}'", r"^[0-9a-f-]{36}$"),
    ];
    for (source, pattern) in cases {
        let expr = Expr::parse(source).unwrap();
        let value = eval_on(&expr, view.spans().first(), 1, &vars()).unwrap();
        let pattern = regex::Regex::new(pattern).unwrap();
        assert!(pattern.is_match(&value.text()), "{source} gave {value:?}");
    }
    let card = eval_on(&Expr::parse("creditCard()").unwrap(), None, 0, &vars()).unwrap().into_text();
    let luhn: u32 = card
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    assert_eq!(luhn % 10, 0, "{card} fails the Luhn check");
    check_expr("", "randomInt('a', 2)", "error: randomInt needs integer bounds, found \"a\"", "");
    check_expr("", "randomInt(3, 1)", "error: randomInt: min 3 is greater than max 1", "");
}

fn check_expr_error(source: &str, expected: &str) {
    match Expr::parse(source) {
        Ok(expr) => panic!("{source} parsed as {expr:?}"),
        Err(error) => assert_eq!(error.to_string(), expected, "expression {source}"),
    }
}

fn check_assertion_error(source: &str, expected: &str) {
    match Assertion::parse(source) {
        Ok(assertion) => panic!("{source} parsed as {assertion:?}"),
        Err(error) => assert_eq!(error.to_string(), expected, "assertion {source}"),
    }
}

#[test]
fn expression_errors() {
    let filters = "json_path, regex, regex_group, get_index, length, type";
    let functions = "uuid, firstName, lastName, fullName, email, phone, creditCard, creditCardCvv, \
                     creditCardExpDate, randomInt, date, dateTime";
    check_assertion_error("attr:http.status_code", "expected an operator, '|' or a comparator (=, !=, <, <=, >, >=, contains, not-contains) at column 22, found end of input");
    check_assertion_error(
        "attr:http.status_code =",
        "expected a value after '=' at column 24, found end of input",
    );
    check_assertion_error(
        "attr:tracetest.span =",
        "expected a value after '=' at column 22, found end of input",
    );
    check_assertion_error("attr:x == 1", "expected a value after '=' at column 9, found '='");
    check_assertion_error("attr:x = -1", "expected a value after '=' at column 10, found '-'");
    check_assertion_error(
        "attr:x = 1 2",
        "expected an operator, '|' or the end of the assertion at column 12, found '2'",
    );
    check_assertion_error(
        "attr:x = 1 = 2",
        "expected an operator, '|' or the end of the assertion at column 12, found '='",
    );
    check_assertion_error(
        "attr:x startsWith 'a'",
        "expected an operator, '|' or a comparator (=, !=, <, <=, >, >=, contains, not-contains) at column 8, found 'startsWith'",
    );
    check_assertion_error("= 1", "expected an expression at column 1, found '='");
    check_assertion_error(r#"true = "true""#, &format!("expected an expression (a function is one of {functions}; quote text, e.g. \"true\") at column 1, found 'true'"));
    check_assertion_error("attr:x + = 1", "expected a value after '+' at column 10, found '='");
    check_expr_error("", "expected an expression at column 1, found end of input");
    check_expr_error(
        "attr:x |",
        &format!("expected a filter name after '|' (one of {filters}) at column 9, found end of input"),
    );
    check_expr_error(
        "attr:x | count",
        &format!("expected a filter name after '|' (one of {filters}) at column 10, found 'count'"),
    );
    check_expr_error(
        "attr:x | json_path",
        "expected 1 argument for filter 'json_path' at column 10, found 0",
    );
    check_expr_error("attr:x | length 1", "expected 0 arguments for filter 'length' at column 10, found 1");
    check_expr_error("attr:x | regex '('", "expected a valid argument for 'regex' at column 16, found invalid regex \"(\": regex parse error:\n    (\n    ^\nerror: unclosed group");
    // Issue 13: JSONPath nesting is bounded before the library parses it; quoted text is
    // skipped, and a filter without parentheses (RFC 9535) counts as a filter.
    let filters_deep = |depth: usize| format!("$.a{}.b{}", "[?@.c".repeat(depth), "]".repeat(depth));
    check_expr("", &format!(r#"'{{"a": 1}}' | json_path '{}'"#, filters_deep(4)), "", "nil");
    check_expr_error(
        &format!("attr:x | json_path '{}'", filters_deep(5)),
        "expected a valid argument for 'json_path' at column 20, found JSONPath nests more than 4 filters (at character 24)",
    );
    check_expr_error(
        &format!("attr:x | json_path '$[?{}@.a{}]'", "(".repeat(64), ")".repeat(64)),
        "expected a valid argument for 'json_path' at column 20, found JSONPath nests more than 64 brackets and parentheses (at character 67)",
    );
    check_expr(
        "",
        &format!(r#"'[{{"a": 1}}]' | json_path '$[?(@.a == "{}")].a'"#, "[(".repeat(40)),
        "",
        "nil",
    );
    check_expr_error(
        &format!("attr:x | json_path '$.{}'", "a".repeat(4095)),
        "expected a valid argument for 'json_path' at column 20, found JSONPath is longer than 4096 bytes",
    );
    // Issue 22: descendant segments multiply matches; the matches are capped.
    check_expr_error(
        "attr:x | json_path '$..*..*..*'",
        "expected a valid argument for 'json_path' at column 20, found JSONPath nests more than 2 descendant segments (..) (at character 8)",
    );
    check_expr("", r#"'{"a": {"b": 1}}' | json_path '$..*..*'"#, "1", "number");
    let wide = format!("[{}]", vec!["0"; 100_001].join(","));
    check_expr(
        "",
        &format!("'{wide}' | json_path '$[*]'"),
        "error: JSONPath matched 100001 values, more than the 100000 one expression may hold",
        "",
    );
    check_expr_error("attr:x | json_path '$[?'", "expected a valid argument for 'json_path' at column 20, found invalid JSONPath \"$[?\": at position 3, in long-hand segment, parser error");
    check_expr_error("foo()", &format!("expected an expression (a function is one of {functions}; quote text, e.g. \"foo\") at column 1, found 'foo'"));
    check_expr_error("uuid", "expected '(' after function 'uuid' at column 5, found end of input");
    check_expr_error("uuid(1)", "expected 0 arguments for function 'uuid' at column 1, found 1");
    check_expr_error("randomInt(1)", "expected 2 arguments for function 'randomInt' at column 1, found 1");
    check_expr_error("date(1, 2)", "expected 0 to 1 arguments for function 'date' at column 1, found 2");
    check_expr_error(r#""abc"#, "expected a closing \" at column 1, found end of input");
    check_expr_error("[1, 2", "expected ',' or ']' at column 6, found end of input");
    check_expr_error("[1 2]", "expected ',' or ']' at column 4, found '2'");
    check_expr_error("[1, attr:x + 1]", "expected ',' or ']' at column 12, found '+'");
    check_expr_error(r#""a ${attr:x +} b""#, "expected a value after '+' at column 14, found end of input");
    check_expr_error("attr:x # y", "expected a value, operator or comparator at column 8, found '#'");
    check_expr_error("attr:", "expected a value, operator or comparator at column 5, found ':'");
    check_expr_error(
        &format!("{}1{}", "[".repeat(65), "]".repeat(65)),
        "expected at most 64 nested arrays or calls at column 65, found '['",
    );
    check_expr_error(
        &"[".repeat(100_000),
        "expected at most 64 nested arrays or calls at column 65, found '['",
    );
    check_expr_error("1.", "expected a value, operator or comparator at column 2, found '.'");
    check_expr_error("null", &format!("expected an expression (a function is one of {functions}; quote text, e.g. \"null\") at column 1, found 'null'"));
}

#[test]
fn error_columns_count_characters_and_lines() {
    let error = Assertion::parse("'é' = ").unwrap_err();
    assert_eq!(error.to_string(), "expected a value after '=' at column 7, found end of input");
    assert_eq!(error.span(), Some(TextSpan::new(7, 7)));
    let error = Selector::parse("span[]\nspan[a=]").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected a value after '=' (a \"string\", a number, true or false) at column 8, found ']'"
    );
}

#[test]
fn expression_printing() {
    let cases = [
        ("attr:a+1*2|type", "attr:a + 1 * 2 | type"),
        ("200 ms", "200ms"),
        ("[ 'a' ,\"b\" ]", "['a', \"b\"]"),
        (r#""x ${ var:A | json_path '$.a' } y""#, r#""x ${var:A | json_path '$.a'} y""#),
        (r#"'it\'s'"#, r#"'it\'s'"#),
        ("randomInt( 1,2 )", "randomInt(1, 2)"),
        ("attr:x | regex_group 'a(b)' | get_index 0", "attr:x | regex_group 'a(b)' | get_index 0"),
    ];
    for (source, printed) in cases {
        let expr = Expr::parse(source).unwrap();
        assert_eq!(expr.to_string(), printed);
        assert_eq!(Expr::parse(printed).unwrap(), expr);
    }
    let assertion = Assertion::parse("attr:x   not-contains'a'").unwrap();
    assert_eq!(assertion.to_string(), "attr:x not-contains 'a'");
}

// ---- comparators and assertions -----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Pass,
    Fail,
    Error,
}
use Verdict::{Error as Err_, Fail, Pass};

/// Evaluates `assertion` on the span named `span` and checks the verdict and observed text.
fn check(span: &str, assertion: &str, verdict: Verdict, observed: &str) {
    let trace = shop();
    let view = TraceView::new(&trace);
    let source = format!("span[name={span:?}]");
    let selector = Selector::parse(&source).unwrap();
    let parsed = Assertion::parse(assertion).unwrap_or_else(|error| panic!("{assertion}: {error}"));
    let outcome = evaluate_spec(&view, &selector, &[parsed], &vars());
    let result = &outcome.assertions[0].results[0];
    let actual = match (result.passed, &result.error) {
        (true, None) => Pass,
        (false, None) => Fail,
        (_, Some(_)) => Err_,
    };
    assert_eq!((actual, result.observed.as_str()), (verdict, observed), "{assertion} on {span}: {result:?}");
    assert_eq!(outcome.passed, verdict == Pass);
}

#[test]
fn comparators() {
    let post = "POST /users";
    check(post, "attr:http.status_code = 201", Pass, "201");
    check(post, "attr:http.status_code = 200", Fail, "201");
    check(post, "attr:http.status_code != 200", Pass, "201");
    check(post, "attr:http.status_code != 201", Fail, "201");
    check(post, "attr:http.status_code = \"201\"", Pass, "201");
    check(post, "1 = 1.0", Fail, "1");
    check(post, "\"1\" = 1", Pass, "1");
    check(post, "attr:http.status_code < 300", Pass, "201");
    check(post, "attr:http.status_code < 201", Fail, "201");
    check(post, "attr:http.status_code <= 201", Pass, "201");
    check(post, "attr:http.status_code > 200", Pass, "201");
    check(post, "attr:http.status_code > 201", Fail, "201");
    check(post, "attr:http.status_code >= 201", Pass, "201");
    check(post, "attr:http.status_code >= 202", Fail, "201");
    check(post, "\"201\" < \"300\"", Pass, "201");
    check(post, "1.5 < 2", Pass, "1.5"); // Q-17 fixed: Tracetest errors
    check(post, "2.5 >= 2.5", Pass, "2.5");
    check(post, "attr:http.method < 5", Err_, "POST");
    check(post, "attr:name contains \"users\"", Pass, "POST /users");
    check(post, "attr:name contains \"Users\"", Fail, "POST /users");
    check(post, "attr:name not-contains \"orders\"", Pass, "POST /users");
    check(post, "attr:name not-contains \"users\"", Fail, "POST /users");
    check(post, "attr:nope = 1", Err_, "");
    check(post, "attr:http.method = attr:nope", Err_, "POST");
    check(post, "attr:http.method = var:USER_ID", Fail, "POST");
    check(post, "attr:http.status_code - 1 = 200", Pass, "200");
    check(post, "attr:http.status_code = var:USER_ID + 159", Pass, "201");
    // Both sides unescaped when compared (reference 9); observed as written (issue 10).
    check(post, "'it\\'s' = \"it's\"", Pass, "it\\'s");
    check(post, r#""say \"hi\"" = 'say "hi"'"#, Pass, r#"say \"hi\""#);
    check(
        post,
        r#"'{ "message": "this should \"work\"" }' | json_path '$.message' = 'this should "work"'"#,
        Pass,
        r#"this should "work""#,
    );
    check(post, r#""took ${1s}" = "took 1000000000""#, Pass, "took 1000000000");
    check(post, "'${1ms + 1ns}' = 1000001", Pass, "1000001");
    check(post, "'${2s}' = '2000000000'", Pass, "2000000000");
    check(post, "attr:tracetest.selected_spans.count = 1", Pass, "1");
    check(post, "[\"a\",\"b\"] contains attr:http.method | type", Fail, "[\"a\", \"b\"]");
}

#[test]
fn contains_json_and_arrays() {
    let trigger = TRIGGER_SPAN_NAME;
    let body = "attr:tracetest.response.body";
    check(
        trigger,
        &format!("{body} contains '{{\"id\":42}}'"),
        Pass,
        r#"{"id":42,"name":"Ada","items":[{"name":"a"},{"name":"b"}]}"#,
    );
    check(
        trigger,
        &format!("{body} contains '{{\"id\": 42, \"name\": \"Ada\"}}' | type"),
        Fail,
        r#"{"id":42,"name":"Ada","items":[{"name":"a"},{"name":"b"}]}"#,
    );
    check(trigger, &format!("{body} | json_path '$.id' = 42"), Pass, "42");
    for (wanted, verdict) in [
        (r#"{"id": 42, "name": "Ada"}"#, Pass),
        (r#"{"id": 43}"#, Fail),
        (r#"{"id": "42"}"#, Fail),
        (r#"{"items": [{"name": "a"}, {"name": "b"}]}"#, Pass),
        (r#"{"items": [{"name": "a"}]}"#, Fail),
        (r#"{"nope": 1}"#, Fail),
        (r#"[{"id": 42}]"#, Pass),
    ] {
        let statement = format!("{body} contains '{wanted}'");
        let trace = shop();
        let view = TraceView::new(&trace);
        let selector = Selector::parse(r#"span[name="Tracetest trigger"]"#).unwrap();
        let outcome = evaluate_spec(&view, &selector, &[Assertion::parse(&statement).unwrap()], &vars());
        assert_eq!(outcome.passed, verdict == Pass, "{statement}");
    }
    check(
        trigger,
        r#"attr:tracetest.response.headers contains '{"key":"Content-Type","value":"application/json"}'"#,
        Pass,
        r#"[{"key":"Content-Type","value":"application/json"}]"#,
    );
    check(
        trigger,
        r#"attr:tracetest.response.headers contains '{"key":"Content-Type","value":"text/plain"}'"#,
        Fail,
        r#"[{"key":"Content-Type","value":"application/json"}]"#,
    );
    check(trigger, "env:BODY contains '{\"a\": {}}'", Pass, r#"{"a":{"b":1}}"#);
    check(trigger, "env:BODY contains '{\"a\": {\"b\": 1, \"c\": 2}}'", Fail, r#"{"a":{"b":1}}"#); // Q-21 fixed
    check(trigger, "env:BODY contains '{\"a\": {\"b\": 1.0}}'", Fail, r#"{"a":{"b":1}}"#);
    check(trigger, r#"["a", "b"] contains "a""#, Pass, r#"["a", "b"]"#);
    check(trigger, r#"["a", "b"] contains "c""#, Fail, r#"["a", "b"]"#);
    check(trigger, r#"["ab", "c"] contains "b""#, Fail, r#"["ab", "c"]"#);
    check(trigger, &format!("{body} | json_path '$.items[*].name' contains 'b'"), Pass, r#"["a", "b"]"#);
    check(
        trigger,
        &format!("{body} | json_path '$.items[*]' contains '{{\"name\": \"b\"}}'"),
        Pass,
        r#"[{"name":"a"}, {"name":"b"}]"#,
    );
    check(trigger, "'[1, 2]' contains '2'", Pass, "[1, 2]");
    check(trigger, "'[1, 2]' contains '{\"a\": 1}'", Fail, "[1, 2]");
}

#[test]
fn durations() {
    // POST /users lasts 25.19 ms, "db query" 2.5 us, "HTTP GET" 999 999 999 ns,
    // "GET /inventory" 1.5 s, "orphan" 1.6 ms.
    let duration = "attr:tracetest.span.duration";
    check("POST /users", &format!("{duration} < 500ms"), Pass, "25ms");
    check("POST /users", &format!("{duration} <= 25ms"), Pass, "25ms"); // Q-18
    check("POST /users", &format!("{duration} = 25ms"), Pass, "25ms");
    check("POST /users", &format!("{duration} < 25ms"), Fail, "25ms");
    check("POST /users", &format!("{duration} > 25190us"), Fail, "25ms");
    check("POST /users", &format!("{duration} >= 0.025s"), Pass, "25ms");
    check("orphan", &format!("{duration} < 2ms"), Fail, "2ms"); // Q-18: 1.6 ms shows 2ms
    check("HTTP GET", &format!("{duration} < 1s"), Fail, "1000ms"); // Q-18
    check("GET /inventory", &format!("{duration} = 1.5s"), Pass, "1.5s");
    check("GET /inventory", &format!("{duration} > 1 s"), Pass, "1.5s");
    check("db query", &format!("{duration} = 2us"), Pass, "2us"); // 2.5 us shows 2us (half to even)
    check("db query", &format!("{duration} != 3us"), Pass, "2us");
    check("db query", &format!("{duration} < 1m"), Pass, "2us");
    check("db query", &format!("{duration} < 1h"), Pass, "2us");
    check("db query", &format!("{duration} = 2500ns"), Pass, "2us"); // both show 2us
    check("db query", &format!("{duration} contains 25"), Pass, "2500");
    check("orphan", "attr:timeout = 1500ms", Pass, "1.5s"); // Q-19 fixed: Tracetest reads 0
    check("orphan", "attr:timeout > 1s", Pass, "1.5s");
    check("orphan", "attr:cache.hit < 1s", Err_, "true");

    let cases: &[(f64, &str)] = &[
        (-5.0, "0ns"),
        (0.0, "0ns"),
        (1.0, "1ns"),
        (999.0, "999ns"),
        (1_000.0, "1us"),
        (1_500.0, "2us"),
        (2_500.0, "2us"),
        (999_499.0, "999us"),
        (1_500_000.0, "2ms"),
        (2_500_000.0, "2ms"),
        (25_190_000.0, "25ms"),
        (999_999_999.0, "1000ms"),
        (1e9, "1s"),
        (1.5e9, "1.5s"),
        (59e9, "59s"),
        (60e9, "1m"),
        (90e9, "1.5m"),
        (3600e9, "1h"),
        (2.0 * 3600e9, "2h"),
        (25.0 * 3600e9, "25h"),
    ];
    for (nanos, shown) in cases {
        assert_eq!(format_duration(*nanos), *shown, "{nanos}");
    }
}

// ---- specs and outputs --------------------------------------------------------------------

#[test]
fn spec_semantics() {
    let trace = shop();
    let view = TraceView::new(&trace);
    let assertions =
        |lines: &[&str]| lines.iter().map(|line| Assertion::parse(line).unwrap()).collect::<Vec<_>>();

    // Every selected span, in order; one failing span fails the assertion.
    let selector = Selector::parse(r#"span[tracetest.span.type="http"]"#).unwrap();
    let outcome = evaluate_spec(
        &view,
        &selector,
        &assertions(&["attr:http.status_code = 200", "attr:tracetest.selected_spans.count = 3"]),
        &vars(),
    );
    assert_eq!(outcome.matched_spans, 3);
    assert_eq!(outcome.span_ids, [id(2), id(4), id(5)]);
    let first = &outcome.assertions[0];
    assert!(!first.passed);
    let verdicts: Vec<(Option<SpanId>, &str, bool)> =
        first.results.iter().map(|r| (r.span_id, r.observed.as_str(), r.passed)).collect();
    assert_eq!(
        verdicts,
        [(Some(id(2)), "201", false), (Some(id(4)), "200", true), (Some(id(5)), "200", true)]
    );
    assert!(outcome.assertions[1].passed);
    assert!(!outcome.passed);

    // Q-1: duplicates are asserted and counted twice.
    let selector = Selector::parse(r#"span[name="orphan"], span[name="orphan"]"#).unwrap();
    let outcome =
        evaluate_spec(&view, &selector, &assertions(&["attr:tracetest.selected_spans.count = 2"]), &vars());
    assert!(outcome.passed);
    assert_eq!(outcome.assertions[0].results.len(), 2);

    // Zero matches: one evaluation without a span.
    let selector = Selector::parse(r#"span[name="missing"]"#).unwrap();
    let outcome = evaluate_spec(
        &view,
        &selector,
        &assertions(&[
            "attr:tracetest.selected_spans.count = 0",
            "attr:http.status_code = 200",
            "1 = 1",
            "1 = 2",
        ]),
        &vars(),
    );
    assert_eq!(outcome.matched_spans, 0);
    let results: Vec<&SpanResult> = outcome.assertions.iter().map(|a| &a.results[0]).collect();
    assert_eq!(results.iter().map(|r| r.span_id).collect::<Vec<_>>(), [None, None, None, None]);
    assert_eq!(results.iter().map(|r| r.passed).collect::<Vec<_>>(), [true, false, true, false]);
    assert_eq!(results[1].error.as_deref(), Some("no matching spans"));
    assert_eq!(results[3].error, None);
    assert!(!outcome.passed);

    // No assertions: nothing fails.
    assert!(evaluate_spec(&view, &selector, &[], &vars()).passed);

    assert!(only_counts_spans(&assertions(&["attr:tracetest.selected_spans.count = 0", "1 = 1"])));
    assert!(!only_counts_spans(&assertions(&["attr:tracetest.selected_spans.count = 0", "attr:x = 1"])));
    assert!(!only_counts_spans(&assertions(&["'${attr:x}' = 1"])));
    assert!(only_counts_spans(&[]));
}

#[test]
fn outputs() {
    let trace = shop();
    let view = TraceView::new(&trace);
    let output = |selector: &str, value: &str| {
        evaluate_output(&view, &Selector::parse(selector).unwrap(), &Expr::parse(value).unwrap(), &vars())
    };
    let outcome =
        output(r#"span[name="Tracetest trigger"]"#, "attr:tracetest.response.body | json_path '$.id'");
    assert_eq!(
        (outcome.value.as_str(), outcome.span_id, &outcome.warning, &outcome.error),
        ("42", Some(id(1)), &None, &None)
    );
    // Several spans: the first one's value.
    let outcome = output(r#"span[tracetest.span.type="http"]"#, "attr:http.status_code");
    assert_eq!((outcome.value.as_str(), outcome.span_id), ("201", Some(id(2))));
    // No span: empty value and a warning.
    let outcome = output(r#"span[name="missing"]"#, "attr:x");
    assert_eq!(outcome.value, "");
    assert_eq!(
        outcome.warning.as_deref(),
        Some("cannot find matching spans for selector span[name=\"missing\"]")
    );
    // A failing expression: empty value, the reason kept.
    let outcome = output("", "attr:nope");
    assert_eq!(
        (outcome.value.as_str(), outcome.error.as_deref()),
        ("", Some("attribute \"nope\" not found"))
    );
    let outcome = output("", "2s");
    assert_eq!(outcome.value, "2000000000");
    let outcome = output("", "attr:tracetest.response.body | json_path '$.items[*].name'");
    assert_eq!(outcome.value, r#"["a", "b"]"#);
}

#[test]
fn templates() {
    let cases: &[(&str, Result<&str, &str>)] = &[
        ("http://${env:HOST}/users", Ok("http://localhost:8080/users")),
        ("env:HOST/x", Ok("env:HOST/x")),
        ("${var:USER_ID}${var:USER_ID}", Ok("4242")),
        ("${ var:USER_ID + 1 }", Ok("43")),
        ("${1ms + 1ns}", Ok("1000001")),
        (
            "{\"id\": \"${var:USER_ID}\", \"pct\": \"50%\", \"q\": 'x'}",
            Ok("{\"id\": \"42\", \"pct\": \"50%\", \"q\": 'x'}"),
        ),
        ("${env:BODY | json_path '$.a.b'}", Ok("1")),
        ("${unclosed", Ok("${unclosed")),
        ("$${var:USER_ID}", Ok("$42")),
        ("", Ok("")),
        ("${var:NOPE}", Err("variable \"NOPE\" not found")),
        ("${attr:x}", Err("attr:x cannot be used outside a spec or output")),
        ("${env:EMPTY}", Ok("")),
    ];
    for (source, expected) in cases {
        let template = Template::parse(source).unwrap_or_else(|error| panic!("{source}: {error}"));
        let rendered = template.render(&vars()).map_err(|error| error.to_string());
        assert_eq!(rendered, expected.map(str::to_string).map_err(str::to_string), "template {source}");
        assert_eq!(Template::parse(&template.to_string()).unwrap(), template);
    }
    let error = Template::parse("http://x/${var:A +}").unwrap_err();
    assert_eq!(error.to_string(), "expected a value after '+' at column 19, found end of input");
    assert_eq!(Template::parse("${var:A}/${env:B | type}").unwrap().variables(), ["A", "B"]);
    assert!(Template::parse("plain").unwrap().is_literal());
    assert_eq!(Expr::parse("'${uuid()}'").unwrap().evaluate(&vars()).unwrap().type_name(), "string");
}

/// `expected` is the right side as resolved for each span, in the display form of
/// `observed` (issue 11): per span when it reads the span, durations in display units,
/// `None` when the right side fails, known even when the left side fails.
#[test]
fn expected_is_the_right_side_per_span() {
    let trace = shop();
    let view = TraceView::new(&trace);
    let expected_of = |selector: &str, assertion: &str| -> Vec<(String, Option<String>)> {
        let selector = Selector::parse(selector).unwrap();
        let assertion = Assertion::parse(assertion).unwrap();
        let outcome = evaluate_spec(&view, &selector, &[assertion], &vars());
        outcome.assertions[0]
            .results
            .iter()
            .map(|result| (result.observed.clone(), result.expected.clone()))
            .collect()
    };
    let pair = |observed: &str, expected: Option<&str>| (observed.to_string(), expected.map(str::to_string));
    assert_eq!(
        expected_of(r#"span[name="POST /users"]"#, r#""ana-1" = "ANA-1""#),
        [pair("ana-1", Some("ANA-1"))]
    );
    assert_eq!(
        expected_of(r#"span[tracetest.span.type="http"]"#, "attr:http.method = attr:name"),
        [pair("POST", Some("POST /users")), pair("GET", Some("HTTP GET")), pair("", Some("GET /inventory"))]
    );
    assert_eq!(
        expected_of(r#"span[name="POST /users"]"#, "attr:tracetest.span.duration <= 25ms"),
        [pair("25ms", Some("25ms"))]
    );
    assert_eq!(
        expected_of(r#"span[name="POST /users"]"#, "attr:http.status_code = var:USER_ID + 159"),
        [pair("201", Some("201"))]
    );
    assert_eq!(
        expected_of(r#"span[name="POST /users"]"#, "attr:http.method = attr:nope"),
        [pair("POST", None)]
    );
    assert_eq!(expected_of(r#"span[name="POST /users"]"#, "attr:nope = 'x'"), [pair("", Some("x"))]);
    assert_eq!(
        expected_of(r#"span[name="nothing"]"#, "attr:tracetest.selected_spans.count = 1"),
        [pair("0", Some("1"))]
    );
}
