//! TraceQL, one line per case: a query over the shared `shop()` trace of `lang`'s tests
//! (its tree is drawn there) and the names of the spans it selects, in tree order.

use std::sync::Arc;

use crate::tests::{shop, SHOP_SPANS as ALL};
use crate::{evaluate_spec, Assertion, Error, Selector, TraceView, Vars};
use model::{Event, KeyValue, Link, Scope, Span, SpanId, Trace, TraceId};

/// The names of the spans `query` selects on `trace`.
fn select_names(trace: &Trace, query: &str) -> Vec<String> {
    let selector = Selector::parse(query).unwrap_or_else(|error| panic!("{query}: {error}"));
    assert!(selector.traceql().is_some(), "{query} is not read as TraceQL");
    let view = TraceView::new(trace);
    let selected = selector.select(&view);
    assert_eq!(selector.matches_any(&view), !selected.is_empty(), "{query}");
    selected.iter().map(|&index| view.spans()[index].name().to_string()).collect()
}

#[track_caller]
fn check(query: &str, expected: &[&str]) {
    assert_eq!(select_names(&shop(), query), expected, "{query}");
}

#[track_caller]
fn check_on(trace: &Trace, query: &str, expected: &[&str]) {
    assert_eq!(select_names(trace, query), expected, "{query}");
}

/// The error `query` gets: its message and column.
#[track_caller]
fn check_error(query: &str, message_part: &str, column: usize) {
    // Hostile queries are long: show their start.
    let shown: String = query.chars().take(80).collect();
    match Selector::parse(query) {
        Ok(selector) => panic!("{shown} parsed as {selector:?}"),
        Err(error @ Error::Syntax { column: at, .. }) => {
            let message = error.to_string();
            assert!(message.contains(message_part), "{shown}: {message:?} lacks {message_part:?}");
            assert_eq!(at, column, "{shown}: {message}");
        }
        Err(other) => panic!("{shown}: not a syntax error: {other}"),
    }
}

#[test]
fn dispatch_and_printing() {
    assert!(Selector::parse("  { }").unwrap().traceql().is_some());
    assert!(Selector::parse("({ })").unwrap().traceql().is_some());
    assert!(Selector::parse(r#"span[name="x"]"#).unwrap().traceql().is_none());
    assert!(Selector::parse("").unwrap().traceql().is_none());
    let selector = Selector::parse("  { name = \"db query\" } >> { }\n").unwrap();
    assert_eq!(selector.to_string(), "{ name = \"db query\" } >> { }");
    assert_eq!(Selector::parse(&selector.to_string()), Ok(selector.clone()));
    assert!(!selector.is_empty());
}

#[test]
fn spanset_filters() {
    check("{}", &ALL);
    check("{ }", &ALL);
    check(r#"{ name = "db query" }"#, &["db query"]);
    check(r#"{ span:name = "db query" }"#, &["db query"]);
    check(r#"{ name != "db query" && kind = client }"#, &["HTTP GET"]);
    check(r#"{ span.http.method = "GET" || span.db.system = "redis" }"#, &["HTTP GET", "db select"]);
    check(r#"{ (span.http.method = "GET" || span.db.system = "redis") && status = error }"#, &["db select"]);
    // A missing attribute compares false, so its negation holds.
    check(r#"{ !(span.http.method = "GET") && kind = server }"#, &["POST /users", "GET /inventory"]);
    check("{ true }", &ALL);
    check("{ false }", &[]);
}

#[test]
fn intrinsics() {
    check("{ status = error }", &["db select"]);
    check("{ span:status = error }", &["db select"]);
    check("{ status != unset }", &["db select"]);
    check("{ status = ok }", &[]);
    check(r#"{ statusMessage = "timeout" }"#, &["db select"]);
    check(r#"{ span:statusMessage = "" && name = "orphan" }"#, &["orphan"]);
    check("{ kind = server }", &["POST /users", "GET /inventory"]);
    check("{ span:kind = client }", &["db query", "HTTP GET"]);
    check("{ kind = producer || kind = consumer }", &["publish", "consume"]);
    check("{ kind = internal }", &["say \"hi\""]);
    check("{ kind = unspecified }", &["Tracetest trigger", "orphan", "db select"]);
    check("{ duration > 1s }", &["GET /inventory"]);
    check("{ span:duration >= 999999999ns }", &["HTTP GET", "GET /inventory"]);
    check("{ duration < 3us }", &["db query", "say \"hi\""]);
    check("{ duration = 2500ns }", &["db query"]);
    check("{ duration = 2.5us }", &["db query"]);
    check("{ duration > 25ms && duration < 26ms }", &["POST /users"]);
    check(r#"{ span:id = "0000000000000003" }"#, &["db query"]);
    // The orphan's parent is the trigger span that adopted it, as in the selector language.
    check(r#"{ span:parentID = "0000000000000001" }"#, &["orphan", "POST /users", "say \"hi\""]);
    check("{ span:parentID = nil }", &["Tracetest trigger"]);
    check("{ span:childCount = 0 }", &["orphan", "db query", "db select", "consume", "say \"hi\""]);
    check("{ span:childCount > 2 }", &["Tracetest trigger", "POST /users"]);
    check(
        r#"{ trace:id = "07070707070707070707070707070707" && kind = server }"#,
        &["POST /users", "GET /inventory"],
    );
    check(r#"{ trace:rootName = "Tracetest trigger" && name = "orphan" }"#, &["orphan"]);
    check(r#"{ rootName = "Tracetest trigger" && name = "orphan" }"#, &["orphan"]);
    check(r#"{ rootServiceName = "tracetest" && kind = server }"#, &["POST /users", "GET /inventory"]);
    check(r#"{ trace:rootService = "tracetest" && kind = server }"#, &["POST /users", "GET /inventory"]);
    // From the trigger's start to the end of GET /inventory: 1.5 s and 35 ns.
    check(r#"{ trace:duration > 1.5s && name = "publish" }"#, &["publish"]);
    check("{ traceDuration > 1501ms }", &[]);
    check(r#"{ instrumentation:name = "" && name = "orphan" }"#, &["orphan"]);
}

#[test]
fn typed_comparisons() {
    check("{ span.http.status_code = 200 }", &["HTTP GET", "GET /inventory"]);
    // A string never equals an integer; mismatched types satisfy no comparator, not even !=.
    check(r#"{ span.http.status_code = "200" }"#, &[]);
    check(r#"{ span.http.status_code != "200" }"#, &[]);
    check(r#"{ span.weight = 0.5 }"#, &[]);
    check(r#"{ span.weight = "0.50" }"#, &["orphan"]);
    check(
        "{ span.http.status_code >= 200 && span.http.status_code < 300 }",
        &["POST /users", "HTTP GET", "GET /inventory"],
    );
    // Integers and floats compare as numbers.
    check("{ span.ratio > 1 }", &["say \"hi\""]);
    check("{ span.whole = 2 }", &["say \"hi\""]);
    check("{ span.ratio = 1.5 && span.delta < -2 && span.zero = 0 }", &["say \"hi\""]);
    check("{ span.big = 9007199254740993 && span.big != 9007199254740992 }", &["say \"hi\""]);
    check("{ span.big < maxInt && span.big > minInt }", &["say \"hi\""]);
    // Strings order by bytes.
    check(r#"{ span.http.method >= "P" }"#, &["POST /users"]);
    check("{ span.cache.hit = true }", &["orphan"]);
    check("{ span.cache.hit != false }", &["orphan"]);
    // A boolean attribute alone is compared with true; a missing one is false.
    check("{ span.cache.hit }", &["orphan"]);
    check("{ span.cache.hit || span.http.status_code = 201 }", &["orphan", "POST /users"]);
    check("{ span.http.method }", &[]);
    // Arrays: = when an element is equal, != when none is.
    check(r#"{ span.list = "a" }"#, &["say \"hi\""]);
    check("{ span.list = 1 }", &["say \"hi\""]);
    check(r#"{ span.list != "b" }"#, &["say \"hi\""]);
    check(r#"{ span.list != "a" }"#, &[]);
    check(r#"{ span.list =~ "a|z" }"#, &["say \"hi\""]);
    check(r#"{ span.list !~ "a|z" }"#, &[]);
    // Durations compare with durations in any unit.
    check(r#"{ 1h = 60m && 1.5s = 1500ms && 3us = 3000ns && 2m > 119s && name = "orphan" }"#, &["orphan"]);
    check(r#"{ 1µs = 1000ns && name = "orphan" }"#, &["orphan"]);
}

#[test]
fn regexes_are_anchored() {
    check(r#"{ name =~ "db.*" }"#, &["db query", "db select"]);
    check(r#"{ name =~ "db" }"#, &[]);
    check(r#"{ name =~ "query" }"#, &[]);
    check(r#"{ name =~ ".*GET.*" }"#, &["HTTP GET", "GET /inventory"]);
    check(r#"{ name =~ "db query|publish" }"#, &["db query", "publish"]);
    check(r#"{ name !~ ".*[ /].*" }"#, &["orphan", "publish", "consume"]);
    check(r#"{ span.db.system =~ "postgres|mysql" }"#, &["db query"]);
    // A regex on a missing attribute or a number matches neither way.
    check(r#"{ span.db.system !~ "redis" }"#, &["db query"]);
    check(r#"{ span.http.status_code =~ "2.*" }"#, &[]);
    check(r#"{ name =~ `db\s.*` }"#, &["db query", "db select"]);
    check(r#"{ name =~ "db\\s(query|select)" }"#, &["db query", "db select"]);
}

#[test]
fn nil_is_existence() {
    check("{ span.http.method != nil }", &["POST /users", "HTTP GET"]);
    check("{ span.db.system = nil && kind = client }", &["HTTP GET"]);
    check("{ resource.service.name != nil }", &["Tracetest trigger", "POST /users", "GET /inventory"]);
    check("{ nil = span.http.method && kind = server }", &["GET /inventory"]);
}

#[test]
fn scopes() {
    check(r#"{ resource.service.name = "api" }"#, &["POST /users"]);
    check(r#"{ span.service.name = "own" }"#, &["POST /users"]);
    check(r#"{ span.service.name = "api" }"#, &[]);
    // Unscoped: the span's attribute, else the resource's.
    check(r#"{ .service.name = "own" }"#, &["POST /users"]);
    check(r#"{ .service.name = "inventory" }"#, &["GET /inventory"]);
    check(r#"{ .http.route = "/users" }"#, &["POST /users"]);
    check(r#"{ span."http.method" = "GET" }"#, &["HTTP GET"]);
    check(r#"{ span.http."method" = "GET" }"#, &["HTTP GET"]);
    check(r#"{ span.dapr-app-id = "shop" }"#, &["consume"]);
    // Meta attributes read as in the selector language, typed where they are numbers.
    check(r#"{ span.tracetest.span.type = "database" }"#, &["db query", "db select"]);
    check(r#"{ .tracetest.span.type = "messaging" }"#, &["publish", "consume"]);
    check("{ span.tracetest.span.duration > 1s }", &["GET /inventory"]);
    check(r#"{ span.tracetest.span.parent_id = "0000000000000002" }"#, &["db query", "HTTP GET", "publish"]);
    check(r#"{ span.tracetest.span.status_code = "STATUS_CODE_ERROR" }"#, &["db select"]);
    check("{ span.tracetest.span.start_time = 1700000000000000010 }", &["POST /users"]);
    check(r#"{ resource.tracetest.span.type = "http" }"#, &[]);
    check("{ span.tracetest.response.status = \"201\" }", &["Tracetest trigger"]);
}

#[test]
fn events() {
    check(r#"{ event:name = "sent" }"#, &["publish"]);
    check("{ event.size = 3 }", &["publish"]);
    check(r#"{ event.size = 3 && event:name = "sent" }"#, &["publish"]);
    check("{ event:timeSinceStart > 1s }", &["publish"]);
    check("{ event:name = nil && kind = producer }", &[]);
    check(r#"{ event:name != nil }"#, &["publish"]);
}

/// A trace with events and links: an HTTP server span whose handler failed, and a consumer
/// linked to the producer's trace.
fn linked() -> Trace {
    let trace_id = TraceId([9; 16]);
    let other_trace = TraceId([0xab; 16]);
    let scope = Arc::new(Scope {
        name: "io.opentelemetry.kafka".into(),
        version: "1.2.0".into(),
        attributes: vec![KeyValue::new("language", "java")].into_boxed_slice(),
    });
    let event = |name: &str, offset: u64, attributes: Vec<KeyValue>| Event {
        time_unix_nano: 1_000 + offset,
        name: name.into(),
        attributes: attributes.into_boxed_slice(),
    };
    let server = Span::new(trace_id, SpanId([0, 0, 0, 0, 0, 0, 0, 1]), "GET /orders")
        .with_times(1_000, 9_000)
        .with_attribute("attribute name with space", "yes")
        .with_attribute("attribute.name with space", "dotted")
        .with_events([
            event("retry", 500, vec![]),
            event("exception", 2_000_000, vec![KeyValue::new("exception.message", "something went wrong")]),
        ]);
    let mut consumer = Span::new(trace_id, SpanId([0, 0, 0, 0, 0, 0, 0, 2]), "process order")
        .with_parent(SpanId([0, 0, 0, 0, 0, 0, 0, 1]))
        .with_times(2_000, 3_000)
        .with_links([Link {
            trace_id: other_trace,
            span_id: SpanId([0xcd; 8]),
            attributes: vec![KeyValue::new("opentracing.ref_type", "follows_from")].into_boxed_slice(),
        }]);
    consumer.scope = scope;
    let plain = Span::new(trace_id, SpanId([0, 0, 0, 0, 0, 0, 0, 3]), "plain")
        .with_parent(SpanId([0, 0, 0, 0, 0, 0, 0, 1]))
        .with_times(4_000, 5_000);
    Trace::new(trace_id, vec![Arc::new(server), Arc::new(consumer), Arc::new(plain)])
}

#[test]
fn events_links_and_instrumentation() {
    let trace = linked();
    check_on(&trace, "{ link:traceID != nil }", &["process order"]);
    check_on(&trace, r#"{ event:name = "exception" }"#, &["GET /orders"]);
    check_on(&trace, r#"{ link:traceID = "abababababababababababababababab" }"#, &["process order"]);
    check_on(&trace, r#"{ link:spanID = "cdcdcdcdcdcdcdcd" }"#, &["process order"]);
    check_on(&trace, r#"{ link.opentracing.ref_type = "follows_from" }"#, &["process order"]);
    check_on(&trace, r#"{ event.exception.message =~ ".*went wrong.*" }"#, &["GET /orders"]);
    // Event conditions hold on one event: "retry" has no message.
    check_on(&trace, r#"{ event:name = "retry" && event.exception.message != nil }"#, &[]);
    check_on(&trace, r#"{ event:name = "exception" && event.exception.message != nil }"#, &["GET /orders"]);
    check_on(&trace, "{ event:timeSinceStart > 1ms }", &["GET /orders"]);
    check_on(&trace, "{ event.exception.message = nil }", &["GET /orders", "process order", "plain"]);
    check_on(&trace, r#"{ instrumentation:name = "io.opentelemetry.kafka" }"#, &["process order"]);
    check_on(&trace, r#"{ instrumentation:version = "1.2.0" }"#, &["process order"]);
    check_on(&trace, r#"{ instrumentation.language = "java" }"#, &["process order"]);
    check_on(&trace, r#"{ span."attribute name with space" = "yes" }"#, &["GET /orders"]);
    check_on(&trace, r#"{ span.attribute."name with space" = "dotted" }"#, &["GET /orders"]);
    check_on(&trace, "{ } ~ { link:traceID != nil }", &["process order"]);
}

#[test]
fn arithmetic() {
    check("{ span.http.status_code + 1 = 202 }", &["POST /users"]);
    check("{ span.http.status_code - 1 = 199 }", &["HTTP GET", "GET /inventory"]);
    check("{ span.http.status_code % 100 = 1 }", &["POST /users"]);
    check("{ duration * 2 > 2s }", &["GET /inventory"]);
    check("{ duration / 2 > 700ms }", &["GET /inventory"]);
    check(r#"{ 2 ^ 10 = 1024 && 10 * 1024 * 1024 = 10485760 && name = "orphan" }"#, &["orphan"]);
    check(
        r#"{ 2 ^ 3 ^ 2 = 512 && -2 ^ 2 = -4 && 7 / 2 = 3 && 7.0 / 2 = 3.5 && name = "orphan" }"#,
        &["orphan"],
    );
    check(r#"{ 1 + 2 * 3 = 7 && (1 + 2) * 3 = 9 && name = "orphan" }"#, &["orphan"]);
    check("{ span.ratio * 2 = 3 }", &["say \"hi\""]);
    // Division by zero and overflow have no value: the comparison fails.
    check("{ span.http.status_code / 0 = 1 || span.http.status_code / 0 != 1 }", &[]);
    check("{ maxInt + 1 > 0 || maxInt + 1 <= 0 }", &[]);
}

#[test]
fn trace_level_and_or() {
    check(r#"{ name = "db query" } && { status = error }"#, &["db query", "db select"]);
    check(r#"{ name = "db query" } && { name = "nope" }"#, &[]);
    check(r#"{ name = "db query" } || { name = "nope" }"#, &["db query"]);
    check(r#"{ name = "nope" } || { status = error }"#, &["db select"]);
    check(r#"{ status = error } || { name = "db query" }"#, &["db query", "db select"]);
    // Not the same as one span meeting both conditions.
    check(r#"{ name = "db query" && status = error }"#, &[]);
    check(r#"({ name = "nope" } || { name = "orphan" }) && { status = error }"#, &["orphan", "db select"]);
}

#[test]
fn structural_operators() {
    check(r#"{ name = "POST /users" } > { }"#, &["db query", "HTTP GET", "publish"]);
    check(r#"{ name = "POST /users" } >> { kind = server }"#, &["GET /inventory"]);
    check(
        r#"{ name = "POST /users" } >> { }"#,
        &["db query", "HTTP GET", "GET /inventory", "db select", "publish", "consume"],
    );
    check(r#"{ name = "GET /inventory" } < { }"#, &["HTTP GET"]);
    check(
        r#"{ status = error } << { }"#,
        &["Tracetest trigger", "POST /users", "HTTP GET", "GET /inventory"],
    );
    check(r#"{ name = "db query" } ~ { }"#, &["HTTP GET", "publish"]);
    check(r#"{ } ~ { name = "orphan" }"#, &["orphan"]);
    check("{ kind = server } ~ { kind = server }", &[]);
    check(r#"{ } ~ { name = "Tracetest trigger" }"#, &[]);
    check(r#"{ name = "POST /users" } > { name = "HTTP GET" } > { }"#, &["GET /inventory"]);
    check(r#"{ resource.service.name = "api" } >> { status = error }"#, &["db select"]);
    // Negated: the right-hand spans with no such relation.
    check("{ } !< { }", &["orphan", "db query", "db select", "consume", "say \"hi\""]);
    check(r#"{ name = "POST /users" } !>> { kind != unspecified }"#, &["POST /users", "say \"hi\""]);
    check(
        r#"{ name = "POST /users" } !> { }"#,
        &[
            "Tracetest trigger",
            "orphan",
            "POST /users",
            "GET /inventory",
            "db select",
            "consume",
            "say \"hi\"",
        ],
    );
    check(
        r#"{ status = error } !<< { }"#,
        &["orphan", "db query", "db select", "publish", "consume", "say \"hi\""],
    );
    check(r#"{ name = "db query" } !~ { kind = client }"#, &["db query"]);
    check(r#"{ status = error } !< { status = error }"#, &["db select"]);
    // Union: the related spans of both sides.
    check(r#"{ name = "HTTP GET" } &>> { status = error }"#, &["HTTP GET", "db select"]);
    check(r#"{ name = "HTTP GET" } &> { }"#, &["HTTP GET", "GET /inventory"]);
    check(r#"{ name = "db select" } &< { }"#, &["GET /inventory", "db select"]);
    check(r#"{ name = "db select" } &<< { kind = server }"#, &["POST /users", "GET /inventory", "db select"]);
    check(r#"{ name = "db query" } &~ { kind = producer }"#, &["db query", "publish"]);
    check(r#"{ name = "nope" } &>> { }"#, &[]);
    // Structural operators bind tighter than &&, && tighter than ||.
    check(r#"{ name = "nope" } >> { } || { name = "orphan" }"#, &["orphan"]);
    check(
        r#"{ name = "POST /users" } >> { kind = server } && { name = "orphan" }"#,
        &["orphan", "GET /inventory"],
    );
    check(r#"{ name = "orphan" } || { name = "publish" } > { }"#, &["orphan", "consume"]);
}

#[test]
fn pipelines() {
    check("{ kind = server } | count() = 2", &["POST /users", "GET /inventory"]);
    check("{ kind = server } | count() > 2", &[]);
    check("{ kind = server } | count() * 2 = 4", &["POST /users", "GET /inventory"]);
    check("{ kind = client } | avg(duration) > 400ms", &["db query", "HTTP GET"]);
    check("{ kind = client } | avg(duration) < 400ms", &[]);
    check("{ } | max(duration) = 1.5s", &ALL);
    check("{ } | min(duration) = 100ns", &ALL);
    check(
        "{ span.http.status_code != nil } | sum(span.http.status_code) = 601",
        &["POST /users", "HTTP GET", "GET /inventory"],
    );
    check("{ } | avg(span.http.status_code) > 200", &ALL);
    check("{ } | min(span.missing) > 0 || min(span.missing) <= 0", &[]);
    check(
        "{ kind = server } | select(span.http.route, resource.service.name)",
        &["POST /users", "GET /inventory"],
    );
    check("{ } | { kind = server }", &["POST /users", "GET /inventory"]);
    check("{ } | { kind = server } | { span.http.route != nil }", &["POST /users"]);
    check(r#"{ span.messaging.system = "kafka" } | by(kind) | count() = 1"#, &["publish", "consume"]);
    check(
        "{ span.http.status_code != nil } | by(span.http.status_code) | count() > 1",
        &["HTTP GET", "GET /inventory"],
    );
    check(
        "{ span.http.status_code != nil } | by(span.http.status_code) | coalesce() | count() = 3",
        &["POST /users", "HTTP GET", "GET /inventory"],
    );
    check(
        "({ kind = server } | count() > 1) && { status = error }",
        &["POST /users", "GET /inventory", "db select"],
    );
    check("({ kind = server } | count() > 2) || { status = error }", &["db select"]);
    check("{ } with (most_recent=true)", &ALL);
    check(r#"{ status = error } >> { } | count() = 0 with (most_recent = true, sample = 0.1)"#, &[]);
}

#[test]
fn syntax_errors_name_the_column() {
    check_error("{ name = 5 }", "expected a string after '=' at column 10, found '5' (an integer)", 10);
    check_error(r#"{ status = "error" }"#, "expected a status", 12);
    check_error(r#"{ name = "a" "#, "expected '}' or an operator", 14);
    check_error("{ span. = 1 }", "an attribute name after '.'", 8);
    check_error("{ 1 }", "expected a condition", 3);
    check_error("{ foo = 1 }", "expected a field", 3);
    check_error(r#"{ name =~ "(" }"#, "a valid regular expression", 11);
    check_error(r#"{ name =~ "a)|(b" }"#, "a valid regular expression", 11);
    check_error("{ name =~ 5 }", "a string (the regular expression)", 11);
    check_error("{ duration =~ \"1s\" }", "a string field before", 3);
    check_error("{ kind > server }", "'=' or '!=' with a kind", 3);
    check_error("{ duration > 1x }", "a duration unit", 15);
    check_error("{ count() > 1 }", "aggregates go after '|'", 3);
    check_error("{ } | count()", "expected a condition", 7);
    check_error("{ } | avg(name) > 1", "a numeric field", 11);
    check_error("{ } | count() > span.x", "an aggregate", 17);
    check_error("{ trace.foo = 1 }", "an intrinsic after 'trace'", 3);
    check_error("{ span:nope = 1 }", "an intrinsic", 3);
    check_error("{ } >", "'{' or '(' to start a spanset", 6);
    check_error("{ } | foo()", "count, avg, min, max, sum, by, select or coalesce", 7);
    check_error(r#"{ name = "a" } garbage"#, "expected '|', a spanset operator", 16);
    check_error("(", "'{' or '(' to start a spanset", 2);
    check_error("({ }", "')' or '|'", 5);
    check_error("{ span.x > nil }", "'=' or '!=' with nil", 12);
    check_error("{ -name = 1 }", "a number or duration after '-'", 4);
    check_error(r#"{ name + 1 = "a" }"#, "a number or duration for '+'", 3);
    check_error(r#"{ name = "a\q" }"#, "an escape sequence", 12);
    check_error(r#"{ span."a\n" = 1 }"#, r#"\" or \\ in a quoted attribute name"#, 10);
    check_error("{ span.x = 99999999999999999999 }", "an integer that fits 64 bits", 12);
    check_error("{ } with (x)", "'=' after the hint name", 12);
    // Columns count characters on the error's own line.
    check_error("{\n  name = 5\n}", "expected a string", 10);
    check_error("{ name = \"é\" && kind = 5 }", "expected a kind", 24);
}

#[test]
fn metrics_are_refused() {
    let message = "TraceQL metrics are not supported here";
    check_error("{ } | rate()", message, 7);
    check_error("{ status = error } | count_over_time() by (resource.service.name)", message, 22);
    check_error("{ } | quantile_over_time(duration, .99, .9)", message, 7);
    check_error("{ } | histogram_over_time(duration)", message, 7);
    check_error("{ } | min_over_time(duration)", message, 7);
    check_error("{ } | compare({ status = error })", message, 7);
    check_error("{ } | rate() by (name) | topk(10)", message, 7);
    check_error("{ } | count() > 1 | bottomk(2)", message, 21);
}

#[test]
fn hostile_inputs_are_errors_not_overflows() {
    // Deep enough to overflow the stack of a test thread without the limits, short enough
    // to stay under the length limit.
    let n = 20_000;
    let deep_parens = format!("{}{{}}{}", "(".repeat(n), ")".repeat(n));
    check_error(&deep_parens, "at most 64 nested", 65);
    let deep_field = format!("{{ {}true{} }}", "(".repeat(n), ")".repeat(n));
    check_error(&deep_field, "at most 64 nested", 67);
    check_error(&format!("{{ {}true }}", "!".repeat(n)), "at most 64 nested", 67);
    check_error(&format!("{{ {}1 = 1 }}", "-".repeat(n)), "at most 64 nested", 67);
    check_error(&format!("{{ 2{} = 2 }}", " ^ 2".repeat(n / 2)), "at most 64 nested", 261);
    check_error(&format!("{{ true{} }}", " && true".repeat(5_000)), "at most 1000 operators", 8000);
    check_error(&format!("{{}}{}", " >> {}".repeat(5_000)), "at most 1000 operators", 3001);
    check_error(&format!("{{}}{}", " | {}".repeat(5_000)), "at most 1000 operators", 2504);
    check_error(&"{".repeat(n), "a field, a value or '('", 2);
    check_error(&format!("{{ name = \"{}\" }}", "x".repeat(70_000)), "a query of at most 65536 bytes", 65537);
    check_error(&"(".repeat(100_000), "a query of at most 65536 bytes", 65537);
    check_error(r#"{ name =~ "(a{1000}){1000}" }"#, "a valid regular expression", 11);
    // Within the limits, long chains evaluate.
    check(&format!("{{}}{}", " >> {}".repeat(400)), &[]);
    check(&format!("{{ name = \"orphan\"{} }}", " || false".repeat(900)), &["orphan"]);
}

#[test]
fn structural_operators_are_linear() {
    // 20,000 spans in one chain: a pairwise evaluation would take 200 million steps.
    let trace_id = TraceId([5; 16]);
    let n_spans = 20_000u64;
    let spans: Vec<Arc<Span>> = (1..=n_spans)
        .map(|n| {
            let span = Span::new(trace_id, SpanId(n.to_be_bytes()), if n % 2 == 0 { "even" } else { "odd" })
                .with_times(n, n + 1);
            Arc::new(if n > 1 { span.with_parent(SpanId((n - 1).to_be_bytes())) } else { span })
        })
        .collect();
    let trace = Trace::new(trace_id, spans);
    let view = TraceView::new(&trace);
    let started = std::time::Instant::now();
    for query in [
        r#"{ name = "odd" } >> { name = "even" }"#,
        r#"{ name = "odd" } << { name = "even" }"#,
        r#"{ name = "odd" } ~ { name = "even" }"#,
        r#"{ name = "odd" } &>> { name = "even" } | count() > 1"#,
    ] {
        let _ = Selector::parse(query).unwrap().select(&view);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let selector = Selector::parse(r#"{ name = "odd" } > { name = "even" }"#).unwrap();
    assert_eq!(selector.select(&view).len(), n_spans as usize / 2);
    let selector = Selector::parse(r#"{ name = "even" } << { }"#).unwrap();
    assert_eq!(selector.select(&view).len(), n_spans as usize - 1);
}

#[test]
fn specs_evaluate_with_traceql_selectors() {
    let trace = shop();
    let view = TraceView::new(&trace);
    let selector = Selector::parse("{ kind = server } | count() = 2").unwrap();
    let assertions = [
        Assertion::parse("attr:http.status_code >= 200").unwrap(),
        Assertion::parse("attr:tracetest.selected_spans.count = 2").unwrap(),
    ];
    let outcome = evaluate_spec(&view, &selector, &assertions, &Vars::new());
    assert!(outcome.passed, "{outcome:?}");
    assert_eq!(outcome.matched_spans, 2);
    let observed: Vec<&str> =
        outcome.assertions[0].results.iter().map(|result| result.observed.as_str()).collect();
    assert_eq!(observed, ["201", "200"]);

    let unmatched =
        crate::unmatched_selectors(&trace, &[selector, Selector::parse("{ status = ok }").unwrap()]);
    assert_eq!(unmatched, ["selector { status = ok } matched none"]);
}

/// Every structural operator against its definition, pair by pair, on random trees (a
/// forest, so roots without siblings count too): the linear marking must agree with it.
#[test]
fn structural_operators_agree_with_their_definitions() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let trace_id = TraceId([3; 16]);
    for _ in 0..200 {
        let n_spans = 1 + random(25);
        let spans: Vec<Arc<Span>> = (1..=n_spans)
            .map(|n| {
                let name = ["a", "b", "c"][random(3) as usize];
                let span = Span::new(trace_id, SpanId(n.to_be_bytes()), name).with_times(n, n + 1);
                // Parents come earlier, so the spans form a forest; one in five is a root.
                Arc::new(match random(5) {
                    0 => span,
                    _ if n == 1 => span,
                    _ => span.with_parent(SpanId((1 + random(n - 1)).to_be_bytes())),
                })
            })
            .collect();
        let trace = Trace::new(trace_id, spans);
        let view = TraceView::new(&trace);
        let spans = view.spans();
        let parent = |index: usize| spans[index].parent_index();
        let is_ancestor = |ancestor: usize, mut index: usize| {
            while let Some(up) = parent(index) {
                if up == ancestor {
                    return true;
                }
                index = up;
            }
            false
        };
        let named = |index: usize, name: &str| spans[index].name() == name;
        type Relation<'a> = Box<dyn Fn(usize, usize) -> bool + 'a>;
        // (operator, whether right-hand span `r` relates to left-hand span `l`)
        let relations: [(&str, Relation); 5] = [
            (">", Box::new(|l, r| parent(r) == Some(l))),
            (">>", Box::new(&is_ancestor)),
            ("<", Box::new(|l, r| parent(l) == Some(r))),
            ("<<", Box::new(|l, r| is_ancestor(r, l))),
            ("~", Box::new(|l, r| l != r && parent(l).is_some() && parent(l) == parent(r))),
        ];
        for (symbol, relates) in &relations {
            let any_left = |r: usize| (0..spans.len()).any(|l| named(l, "a") && relates(l, r));
            let any_right = |l: usize| (0..spans.len()).any(|r| named(r, "b") && relates(l, r));
            let expected: [(String, Vec<usize>); 3] = [
                (symbol.to_string(), (0..spans.len()).filter(|&r| named(r, "b") && any_left(r)).collect()),
                (format!("!{symbol}"), (0..spans.len()).filter(|&r| named(r, "b") && !any_left(r)).collect()),
                (
                    format!("&{symbol}"),
                    (0..spans.len())
                        .filter(|&s| (named(s, "b") && any_left(s)) || (named(s, "a") && any_right(s)))
                        .collect(),
                ),
            ];
            for (op, expected) in expected {
                let query = format!(r#"{{ name = "a" }} {op} {{ name = "b" }}"#);
                let selected = Selector::parse(&query).unwrap().select(&view);
                assert_eq!(
                    selected,
                    expected,
                    "{query} on {:?}",
                    (0..spans.len()).map(|i| (spans[i].name(), parent(i))).collect::<Vec<_>>()
                );
            }
        }
    }
}

/// Random queries from a small grammar, and each with one character dropped, as the fuzz
/// target would try them without nightly: no query may panic, what parses prints back to
/// itself, and selection returns distinct spans in tree order.
#[test]
fn random_queries_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    fn pick<'a>(random: &mut impl FnMut(usize) -> usize, words: &[&'a str]) -> &'a str {
        words[random(words.len())]
    }
    fn condition(random: &mut impl FnMut(usize) -> usize, depth: u32) -> String {
        const FIELDS: [&str; 12] = [
            "name",
            "status",
            "kind",
            "duration",
            "span.http.status_code",
            ".service.name",
            "event:name",
            "span:childCount",
            "trace:duration",
            "span.list",
            "link:traceID",
            "span.ratio * 2",
        ];
        const OPS: [&str; 8] = ["=", "!=", ">", ">=", "<", "<=", "=~", "!~"];
        const VALUES: [&str; 10] =
            ["\"db.*\"", "200", "1.5", "1ms", "error", "server", "nil", "true", "-3", "\"a\""];
        match random(if depth > 2 { 1 } else { 5 }) {
            0 => format!("{} {} {}", pick(random, &FIELDS), pick(random, &OPS), pick(random, &VALUES)),
            1 => format!("{} && {}", condition(random, depth + 1), condition(random, depth + 1)),
            2 => format!("{} || {}", condition(random, depth + 1), condition(random, depth + 1)),
            3 => format!("!({})", condition(random, depth + 1)),
            _ => format!("({})", condition(random, depth + 1)),
        }
    }
    fn spanset(random: &mut impl FnMut(usize) -> usize, depth: u32) -> String {
        const OPS: [&str; 17] = [
            "&&", "||", ">", ">>", "<", "<<", "~", "!>", "!>>", "!<", "!<<", "!~", "&>", "&>>", "&<", "&<<",
            "&~",
        ];
        const STAGES: [&str; 6] = [
            "count() > 1",
            "avg(duration) < 1s",
            "by(kind)",
            "{ kind = client }",
            "coalesce()",
            "select(name)",
        ];
        match random(if depth > 2 { 2 } else { 5 }) {
            0 => "{ }".to_string(),
            1 => format!("{{ {} }}", condition(random, 0)),
            2 => format!(
                "{} {} {}",
                spanset(random, depth + 1),
                pick(random, &OPS),
                spanset(random, depth + 1)
            ),
            3 => format!("({})", spanset(random, depth + 1)),
            _ => format!("{} | {}", spanset(random, depth + 1), pick(random, &STAGES)),
        }
    }
    let trace = shop();
    let view = TraceView::new(&trace);
    let mut n_parsed = 0;
    for _ in 0..3_000 {
        let query = spanset(&mut random, 0);
        let mut broken = query.clone();
        broken.remove(random(query.len()));
        for text in [query, broken] {
            let Ok(selector) = Selector::parse(&text) else {
                continue;
            };
            n_parsed += 1;
            assert_eq!(Selector::parse(&selector.to_string()).as_ref(), Ok(&selector), "{text}");
            let selected = selector.select(&view);
            assert!(selected.windows(2).all(|pair| pair[0] < pair[1]), "{text}: {selected:?}");
        }
    }
    assert!(n_parsed > 1_000, "only {n_parsed} random queries parsed");
}
