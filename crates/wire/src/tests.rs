//! The shapes, checked as JSON: what a client reads is what these tests read.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{json, Value as Json};

use model::{
    AttributeValue, Event, KeyValue, Link, SpanId, SpanKind as ModelKind, StatusCode as ModelStatus,
};

use super::*;

fn tid(byte: u8) -> model::TraceId {
    model::TraceId([byte; 16])
}

fn sid(byte: u8) -> SpanId {
    SpanId([byte; 8])
}

fn trace(spans: Vec<model::Span>) -> model::Trace {
    model::Trace::new(tid(1), spans.into_iter().map(Arc::new).collect())
}

fn to_json<T: serde::Serialize>(value: &T) -> Json {
    serde_json::from_slice(&serde_json::to_vec(value).expect("serialize")).expect("valid JSON")
}

/// A span with every attribute type, a repeated key, an event and a link.
fn rich_span() -> model::Span {
    model::Span::new(tid(1), sid(1), "POST /users")
        .with_kind(ModelKind::Server)
        .with_times(1_000, 13_000)
        .with_status(ModelStatus::Error, "boom")
        .with_resource_attribute("service.name", "users")
        .with_attribute("s", "text")
        .with_attribute("b", true)
        .with_attribute("i", 42i64)
        .with_attribute("d", 0.25)
        .with_attribute("nan", f64::NAN)
        .with_attribute("inf", f64::NEG_INFINITY)
        .with_attribute("bytes", AttributeValue::bytes([0xab, 0x01]))
        .with_attribute("list", AttributeValue::array([1i64.into(), "x".into()]))
        .with_attribute("map", AttributeValue::map([KeyValue::new("z", 1i64), KeyValue::new("a", "b")]))
        .with_attribute("empty", AttributeValue::Empty)
        .with_attribute("i", 43i64)
        .with_events([Event {
            time_unix_nano: 2_000,
            name: "exception".into(),
            attributes: vec![KeyValue::new("exception.message", "duplicate key")].into(),
        }])
        .with_links([Link {
            trace_id: tid(9),
            span_id: sid(9),
            attributes: vec![KeyValue::new("k", 1i64)].into(),
        }])
}

#[test]
fn a_span_with_every_attribute_type_events_and_links() {
    let model_trace = trace(vec![rich_span()]);
    let json = to_json(&Trace::new(&model_trace));
    let span = &json["spans"][0];
    assert_eq!(
        span["attributes"],
        json!({
            "b": true, "bytes": "ab01", "d": 0.25, "empty": null, "i": 43, "inf": "-inf",
            "list": [1, "x"], "map": {"a": "b", "z": 1}, "nan": "NaN", "s": "text",
        }),
        "sorted keys, the last of a repeated key, JSON's own types"
    );
    let keys: Vec<&str> = span["attributes"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 10);
    assert_eq!(
        span["events"],
        json!([{"name": "exception", "time_unix_nano": 2000, "attributes": {"exception.message": "duplicate key"}}])
    );
    assert_eq!(
        span["links"],
        json!([{"trace_id": tid(9).to_string(), "span_id": sid(9).to_string(), "attributes": {"k": 1}}])
    );
    assert_eq!(span["status"], json!({"code": "error", "message": "boom"}));
    assert_eq!(span["kind"], "server");
    assert_eq!(span["type"], "general");
    assert_eq!(span["service"], "users");
    assert_eq!(span["resource"], json!({"attributes": {"service.name": "users"}}));
    assert_eq!(span["scope"], json!({"name": "", "version": "", "attributes": {}}));
    assert_eq!(span["duration_nanos"], 12_000);
    let texts = &span["language_attributes"];
    assert_eq!(texts["tracetest.span.duration"], "12000");
    assert_eq!(texts["tracetest.span.status_code"], "STATUS_CODE_ERROR");
    assert_eq!(texts["tracetest.span.status_description"], "boom");
    assert_eq!(texts["service.name"], "users");
    assert_eq!(texts["i"], "43");
    assert_eq!(texts["bytes"], "ab01");
    assert_eq!(json["trace_id"], tid(1).to_string());
    assert_eq!(
        (json["start_time_unix_nano"].as_u64(), json["end_time_unix_nano"].as_u64()),
        (Some(1_000), Some(13_000))
    );
}

#[test]
fn spans_come_in_tree_order_with_depth_and_subtree() {
    let spans = vec![
        model::Span::new(tid(1), sid(3), "grandchild").with_parent(sid(2)).with_times(30, 40),
        model::Span::new(tid(1), sid(4), "late child").with_parent(sid(1)).with_times(50, 60),
        model::Span::new(tid(1), sid(1), "root").with_times(0, 100),
        model::Span::new(tid(1), sid(2), "child").with_parent(sid(1)).with_times(10, 45),
    ];
    let json = to_json(&Trace::new(&trace(spans)));
    let rows: Vec<(&str, u64, u64, Option<&str>)> = json["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["depth"].as_u64().unwrap(),
                s["subtree_end"].as_u64().unwrap(),
                s["tree_parent_id"].as_str(),
            )
        })
        .collect();
    let (root, child) = (sid(1).to_string(), sid(2).to_string());
    assert_eq!(
        rows,
        vec![
            ("root", 0, 4, None),
            ("child", 1, 3, Some(root.as_str())),
            ("grandchild", 2, 3, Some(child.as_str())),
            ("late child", 1, 4, Some(root.as_str())),
        ]
    );
    assert_eq!(json["span_count"], 4);
}

#[test]
fn one_spelling_of_kind_and_status() {
    let spelled = |kind: ModelKind| to_json(&SpanKind::from(kind));
    assert_eq!(spelled(ModelKind::Unspecified), "unespecified");
    assert_eq!(spelled(ModelKind::Consumer), "consumer");
    // Whatever the model's kind, the wire spells it as the selector language reads it.
    for kind in [
        ModelKind::Unspecified,
        ModelKind::Internal,
        ModelKind::Server,
        ModelKind::Client,
        ModelKind::Producer,
        ModelKind::Consumer,
    ] {
        assert_eq!(spelled(kind), kind.tracetest_name());
        assert_eq!(model::SpanKind::from(SpanKind::from(kind)), kind);
    }
    assert_eq!(serde_json::from_str::<SpanKind>("\"unspecified\"").unwrap(), SpanKind::Unspecified);
    for (code, text) in
        [(ModelStatus::Unset, "unset"), (ModelStatus::Ok, "ok"), (ModelStatus::Error, "error")]
    {
        assert_eq!(to_json(&StatusCode::from(code)), text);
        assert_eq!(StatusCode::from(code).as_str(), text);
    }
}

#[test]
fn a_summary_names_root_services_and_errors() {
    let spans = vec![
        model::Span::new(tid(1), sid(2), "SELECT")
            .with_parent(sid(1))
            .with_times(20, 30)
            .with_resource_attribute("service.name", "db")
            .with_status(ModelStatus::Error, "x"),
        model::Span::new(tid(1), sid(1), "GET /users")
            .with_times(10, 50)
            .with_resource_attribute("service.name", "api"),
        model::Span::new(tid(1), sid(3), "cache")
            .with_parent(sid(1))
            .with_times(40, 45)
            .with_resource_attribute("service.name", "api"),
    ];
    let summary = summarize(&trace(spans));
    assert_eq!(
        to_json(&summary),
        json!({
            "trace_id": tid(1).to_string(), "root_name": "GET /users", "service_name": "api",
            "services": ["api", "db"], "span_count": 3, "error_count": 1,
            "start_time_unix_nano": 10, "duration_nanos": 40,
        }),
        "no matched_span_ids without a selector"
    );
    let empty = summarize(&model::Trace::new(tid(2), Vec::new()));
    assert_eq!((empty.root_name.as_str(), empty.span_count, empty.duration_nanos), ("", 0, 0));
    // A root without a service: the first span that has one names the trace's.
    let unnamed = vec![
        model::Span::new(tid(1), sid(1), "root"),
        model::Span::new(tid(1), sid(2), "child")
            .with_parent(sid(1))
            .with_resource_attribute("service.name", "db"),
    ];
    assert_eq!(summarize(&trace(unnamed)).service_name, "db");
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let bytes = serde_json::to_vec(value).expect("serialize");
    let back: T = serde_json::from_slice(&bytes).expect("deserialize");
    assert_eq!(&back, value);
    assert_eq!(serde_json::to_vec(&back).expect("serialize again"), bytes);
}

fn report() -> RunReport {
    RunReport {
        name: "create user".into(),
        kind: RunKind::Transaction,
        state: RunState::Failed,
        steps: vec![
            StepReport {
                name: "create".into(),
                state: StepState::Failed,
                error: None,
                trace_id: Some(tid(1)),
                span_count: 3,
                specs: vec![SpecReport {
                    selector: "span[name=\"db\"]".into(),
                    name: Some("db".into()),
                    passed: false,
                    matched_spans: 1,
                    assertions: vec![AssertionReport {
                        assertion: "attr:db.rows = 1".into(),
                        passed: false,
                        results: vec![SpanResult {
                            span_id: Some(sid(2)),
                            observed: Some("0".into()),
                            expected: Some("1".into()),
                            passed: false,
                            error: None,
                            comparator: Some("=".into()),
                        }],
                    }],
                }],
                outputs: [("ID".to_string(), "42".to_string())].into(),
                warnings: vec!["judged at the grace".into()],
                duration_ms: Some(12),
                last_span_to_verdict_us: None,
                analyzer: Some(analyze::AnalyzerResult::disabled()),
                gates: Some(analyze::GateResult {
                    required: vec!["test-specs".into()],
                    failed: vec!["test-specs".into()],
                    passed: false,
                }),
            },
            StepReport::not_executed("fetch"),
        ],
        variables: [("HOST".to_string(), "localhost".to_string())].into(),
        file: Some("tests/user.yaml".into()),
        duration_ms: Some(40),
    }
}

#[test]
fn what_clients_read_back_round_trips() {
    let model_trace = trace(vec![rich_span().with_attribute("nan", 1.5)]);
    let mut summary = summarize(&model_trace);
    summary.matched_span_ids = Some(vec![sid(1)]);
    round_trip(&TracePage { traces: vec![summary.clone()], next_cursor: Some(7), scanned: 3 });
    round_trip(&TraceList { traces: vec![summary] });
    let run = RecordedRun { id: 3, received_unix_ms: 1_700_000_000_123, report: Cow::Owned(report()) };
    round_trip(&run);
    round_trip(&RunList { runs: vec![RunLine::of(&run)], dropped: 2 });
    round_trip(&report());
    round_trip(&ErrorBody { error: "bad selector".into(), column: Some(11) });
    round_trip(&Selection { selector: "span".into(), matched_span_ids: vec![sid(1)] });
    round_trip(&TraceChange { trace_id: tid(1), span_count: 4 });
    round_trip(&RunRecorded { id: 1, name: "live".into(), state: RunState::Failed });
    round_trip(&TraceAnalysis {
        trace_id: tid(1),
        analyzer: Cow::Owned(analyze::AnalyzerResult::disabled()),
    });
    // A trace reads back with its typed attributes (finite ones: NaN is not equal to itself).
    let wire_trace = Trace::new(&model_trace);
    let bytes = serde_json::to_vec(&wire_trace).unwrap();
    let back: Trace<'static> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(serde_json::to_vec(&back).unwrap(), bytes);
    let attributes = back.spans[0].attributes.as_slice();
    let value = |key: &str| model::find_attribute(attributes, key).cloned();
    assert_eq!(value("i"), Some(AttributeValue::Int(43)));
    assert_eq!(value("d"), Some(AttributeValue::Double(0.25)));
    assert_eq!(value("b"), Some(AttributeValue::Bool(true)));
    assert_eq!(value("empty"), Some(AttributeValue::Empty));
    assert_eq!(value("bytes"), Some(AttributeValue::from("ab01")), "bytes come back as their hex");
}

#[test]
fn a_run_line_is_the_report_without_its_specs() {
    let run = RecordedRun { id: 3, received_unix_ms: 5, report: Cow::Owned(report()) };
    assert_eq!(
        to_json(&RunLine::of(&run)),
        json!({
            "id": 3, "received_unix_ms": 5, "name": "create user", "kind": "Transaction", "state": "FAILED",
            "file": "tests/user.yaml", "duration_ms": 40,
            "steps": [
                {"name": "create", "state": "FAILED", "trace_id": tid(1).to_string()},
                {"name": "fetch", "state": "NOT_EXECUTED", "trace_id": null},
            ],
        })
    );
    let json = to_json(&run);
    assert_eq!(json["report"], to_json(&report()), "a recorded run holds the JSON report as it is");
    assert_eq!((json["id"].as_u64(), json["received_unix_ms"].as_u64()), (Some(3), Some(5)));
}

/// Issue 21, defect 7: `< 400` must not read "expected 400", nor a passing `!=` like `=`.
#[test]
fn an_expectation_reads_with_its_comparator() {
    let result = |comparator: Option<&str>, expected: Option<&str>| SpanResult {
        span_id: None,
        observed: Some("500".into()),
        expected: expected.map(Into::into),
        passed: false,
        error: None,
        comparator: comparator.map(Into::into),
    };
    assert_eq!(result(Some("<"), Some("400")).expectation(false).as_deref(), Some("< 400"));
    assert_eq!(result(Some("!="), Some("500")).expectation(true).as_deref(), Some("!= \"500\""));
    assert_eq!(result(Some("contains"), Some("ana")).expectation(false).as_deref(), Some("contains ana"));
    // `=` and reports from before the comparator was kept: the value alone.
    assert_eq!(result(Some("="), Some("201")).expectation(true).as_deref(), Some("\"201\""));
    assert_eq!(result(None, Some("201")).expectation(false).as_deref(), Some("201"));
    assert_eq!(result(Some("<"), None).expectation(false), None);
}

/// Spans of every shape the hand-written trace answers take apart: every attribute type
/// (strings needing escapes, a non-finite double, composite values), events, links to the
/// parent and elsewhere, roots and children, two resources and scopes.
fn varied_trace() -> model::Trace {
    let other = Arc::new(model::Resource {
        attributes: vec![KeyValue::new("service.name", "db \"primary\""), KeyValue::new("pid", 7i64)].into(),
    });
    let scope = Arc::new(model::Scope {
        name: "lib".into(),
        version: "1.0".into(),
        attributes: vec![KeyValue::new("z", 1i64), KeyValue::new("a", "x")].into(),
    });
    let mut child = model::Span::new(tid(1), sid(2), "SELECT \"users\"\n")
        .with_parent(sid(1))
        .with_kind(ModelKind::Client)
        .with_times(2_000, 3_999)
        .with_status(ModelStatus::Ok, "")
        .with_attribute("db.statement", "SELECT * FROM t WHERE a = 'b\\c'\t\u{1}")
        .with_attribute("url.full", "https://example.com/é?x=1&y=✓")
        .with_attribute("nan", f64::NAN)
        .with_attribute("inf", f64::INFINITY)
        .with_attribute("neg", -12i64)
        .with_attribute("off", false)
        .with_attribute("empty", AttributeValue::Empty)
        .with_attribute("", "no key")
        .with_links(vec![Link { trace_id: tid(1), span_id: sid(1), attributes: Box::new([]) }]);
    child.resource = other.clone();
    child.scope = scope.clone();
    let mut plain = model::Span::new(tid(1), sid(3), "plain")
        .with_parent(sid(2))
        .with_times(4_000, 4_500)
        .with_attribute("b", "2")
        .with_attribute("a", "1");
    plain.resource = other;
    plain.scope = scope;
    let orphan = model::Span::new(tid(1), sid(4), "").with_times(5_000, 5_000);
    trace(vec![rich_span(), child, plain, orphan])
}

#[test]
fn hand_written_trace_answers_are_the_serde_ones_byte_for_byte() {
    let trace = varied_trace();
    for warnings in [None, Some(vec!["incomplete: \"2\" spans".to_string()])] {
        let traces = [jaeger::Trace::new(&trace, warnings)];
        let mut written = Vec::new();
        jaeger::write_traces(&traces, &mut written).unwrap();
        let expected = serde_json::to_vec(&jaeger::Envelope::new(traces, 0)).unwrap();
        assert_eq!(String::from_utf8(written).unwrap(), String::from_utf8(expected).unwrap());
    }
    let no_traces: [jaeger::Trace; 0] = [];
    let mut written = Vec::new();
    jaeger::write_traces(&no_traces, &mut written).unwrap();
    assert_eq!(written, serde_json::to_vec(&jaeger::Envelope::new(no_traces, 0)).unwrap());

    let traces = [trace.clone(), model::Trace::new(tid(2), Vec::new())];
    for warnings in [Vec::new(), vec!["a \"warning\"".to_string()]] {
        for result in [OtlpTraces::jaeger(&traces), OtlpTraces::new(&traces)] {
            let answer = jaeger::V3Result { result, warnings: warnings.clone() };
            let mut written = Vec::new();
            answer.write_json(&mut written).unwrap();
            let expected = serde_json::to_vec(&answer).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), String::from_utf8(expected).unwrap());
        }
    }
}
