//! The web UI's JSON API over a real server on free ports: paging and filters of the traces
//! list, a trace in tree order, select (and its 400 with the column), analysis, runs recorded
//! over the control API with the `--max-runs` bound, and the event stream; every answer
//! is the shape the UI's JSDoc types (`crates/ui/js/types.js`) declare.

use std::sync::Arc;

use analyze::{analyze, AnalyzerConfig, GateResult};
use model::{AttributeValue, Event, KeyValue, Link, Span, SpanId, SpanKind, StatusCode, TraceId};
use report::{AssertionReport, RunKind, RunReport, RunState, SpanResult, SpecReport, StepReport, StepState};
use serde_json::Value;
use server::api::RemoteClient;
use server::RunningServer;

use crate::support::{server, ServerExt};

use crate::ui_js::Wire;

async fn start(max_runs: usize) -> RunningServer {
    server().max_runs(max_runs).start().await
}

async fn get(server: &RunningServer, path: &str) -> (u16, Value) {
    let answer = reqwest::get(format!("http://{}{path}", server.http_addr())).await.expect("request");
    let status = answer.status().as_u16();
    let body = answer.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).expect("json body"))
}

/// `GET /users` (api) > `SELECT users` (api, db, error) > `query` (db service).
fn trace(service: &str) -> (TraceId, Vec<Span>, [SpanId; 3]) {
    let trace_id = TraceId::random();
    let ids = [SpanId::random(), SpanId::random(), SpanId::random()];
    let root = Span::new(trace_id, ids[0], "GET /users")
        .with_kind(SpanKind::Server)
        .with_times(1_000, 9_000)
        .with_attribute("http.method", "GET")
        .with_resource_attribute("service.name", service);
    let db = Span::new(trace_id, ids[1], "SELECT users")
        .with_parent(ids[0])
        .with_kind(SpanKind::Client)
        .with_times(2_000, 5_000)
        .with_attribute("db.system", "postgresql")
        .with_status(StatusCode::Error, "boom")
        .with_resource_attribute("service.name", service);
    let query = Span::new(trace_id, ids[2], "query")
        .with_parent(ids[1])
        .with_times(3_000, 4_000)
        .with_resource_attribute("service.name", "db");
    // Arrival order differs from tree order on purpose.
    (trace_id, vec![query, root, db], ids)
}

#[tokio::test]
async fn traces_list_pages_and_filters_newest_first() {
    let server = start(10).await;
    let mut made = Vec::new();
    for index in 0..5 {
        let service = if index % 2 == 0 { "even" } else { "odd" };
        let (trace_id, spans, _) = trace(service);
        server.store().insert(spans);
        made.push(trace_id.to_string());
    }
    let newest: Vec<String> = made.iter().rev().cloned().collect();

    let (status, page) = get(&server, "/api/v1/traces?limit=2").await;
    assert_eq!(status, 200);
    let ids = |page: &Value| -> Vec<String> {
        page["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&page), newest[..2]);
    let line = &page["traces"][0];
    assert_eq!(line["root_name"], "GET /users");
    assert_eq!(line["span_count"], 3);
    assert_eq!(line["error_count"], 1);
    assert_eq!(line["duration_nanos"], 8_000);
    assert_eq!(line["services"], serde_json::json!(["db", "even"]));
    let cursor = page["next_cursor"].as_u64().expect("a cursor while more remain");
    let (_, rest) = get(&server, &format!("/api/v1/traces?limit=10&cursor={cursor}")).await;
    assert_eq!(ids(&rest), newest[2..]);
    assert!(rest["next_cursor"].is_null());

    let (_, odd) = get(&server, "/api/v1/traces?service=odd").await;
    assert_eq!(ids(&odd), vec![newest[1].clone(), newest[3].clone()]);
    // Any part of the name, in any case (issue 21, defect 11).
    let (_, part) = get(&server, "/api/v1/traces?service=OD").await;
    assert_eq!(ids(&part), ids(&odd));

    let selector = urlencode(r#"span[tracetest.span.type="database"]"#);
    let (_, selected) = get(&server, &format!("/api/v1/traces?selector={selector}&service=even")).await;
    assert_eq!(selected["traces"].as_array().unwrap().len(), 3);
    assert_eq!(selected["traces"][0]["matched_span_ids"].as_array().unwrap().len(), 1);
    let (_, none) =
        get(&server, &format!("/api/v1/traces?selector={}", urlencode(r#"span[name="nope"]"#))).await;
    assert!(none["traces"].as_array().unwrap().is_empty());

    let (status, bad) = get(&server, &format!("/api/v1/traces?selector={}", urlencode("span[name=]"))).await;
    assert_eq!(status, 400);
    assert_eq!(bad["column"], 11, "{bad}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_trace_in_tree_order_its_selection_and_analysis() {
    let server = start(10).await;
    let (trace_id, spans, ids) = trace("api");
    server.store().insert(spans);

    let (status, body) = get(&server, &format!("/api/v1/traces/{trace_id}")).await;
    assert_eq!(status, 200);
    let spans = body["spans"].as_array().unwrap();
    let order: Vec<(&str, u64, u64)> = spans
        .iter()
        .map(|s| {
            (s["name"].as_str().unwrap(), s["depth"].as_u64().unwrap(), s["subtree_end"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(order, vec![("GET /users", 0, 3), ("SELECT users", 1, 3), ("query", 2, 3)]);
    let db = &spans[1];
    assert_eq!(db["language_attributes"]["tracetest.span.type"], "database");
    assert_eq!(db["language_attributes"]["tracetest.span.duration"], "3000");
    assert_eq!(db["language_attributes"]["service.name"], "api");
    assert_eq!(db["attributes"]["db.system"], "postgresql");
    assert_eq!(db["status"], serde_json::json!({"code": "error", "message": "boom"}));
    assert_eq!(db["kind"], "client");
    assert_eq!(db["parent_span_id"], ids[0].to_string());

    let selector = urlencode(r#"span[tracetest.span.type="database"] span[tracetest.span.type="general"]"#);
    let (_, selected) = get(&server, &format!("/api/v1/traces/{trace_id}/select?selector={selector}")).await;
    assert_eq!(selected["matched_span_ids"], serde_json::json!([ids[2].to_string()]), "{selected}");
    let (status, bad) =
        get(&server, &format!("/api/v1/traces/{trace_id}/select?selector={}", urlencode("span[name"))).await;
    assert_eq!(status, 400);
    assert!(bad["column"].as_u64().is_some(), "{bad}");

    let (status, analysis) = get(&server, &format!("/api/v1/traces/{trace_id}/analysis")).await;
    assert_eq!(status, 200);
    assert_eq!(analysis["enabled"], true);
    assert!(analysis["plugins"].as_array().is_some_and(|plugins| !plugins.is_empty()));

    let (status, _) = get(&server, &format!("/api/v1/traces/{}", TraceId::random())).await;
    assert_eq!(status, 404);
    let (status, _) = get(&server, "/api/v1/traces/not-hex").await;
    assert_eq!(status, 400);
    server.shutdown().await.expect("shutdown");
}

fn report(name: &str) -> RunReport {
    RunReport {
        name: name.to_string(),
        kind: RunKind::Transaction,
        state: RunState::Failed,
        steps: Vec::new(),
        variables: [("TOKEN".to_string(), "******".to_string())].into_iter().collect(),
        file: Some(format!("{name}.yaml")),
        duration_ms: Some(12),
    }
}

#[tokio::test]
async fn runs_recorded_over_the_control_api_are_listed_and_bounded() {
    let server = start(2).await;
    let client = server.client().await;
    for name in ["first", "second", "third"] {
        client.record_run(&report(name), &[]).await.expect("RecordRun");
    }
    let (_, runs) = get(&server, "/api/v1/runs").await;
    let names: Vec<&str> =
        runs["runs"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["third", "second"]);
    assert_eq!(runs["dropped"], 1);
    assert_eq!(runs["runs"][0]["state"], "FAILED");
    let (status, run) = get(&server, "/api/v1/runs/3").await;
    assert_eq!(status, 200);
    assert_eq!(run["report"], serde_json::to_value(report("third")).unwrap());
    let (status, _) = get(&server, "/api/v1/runs/1").await;
    assert_eq!(status, 404);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn event_stream_reports_new_and_grown_traces_and_runs() {
    let server = start(10).await;
    let mut events =
        reqwest::get(format!("http://{}/api/v1/events", server.http_addr())).await.expect("event stream");
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let (trace_id, spans, _) = trace("api");
    let store = server.store().clone();
    store.insert(spans[..1].to_vec());
    let mut seen = String::new();
    let mut read_until = async |needle: &str| {
        while !seen.contains(needle) {
            let chunk = events.chunk().await.expect("stream").expect("stream open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    read_until(&format!("event: trace.created\ndata: {{\"span_count\":1,\"trace_id\":\"{trace_id}\"}}"))
        .await;
    store.insert(spans[1..].to_vec());
    read_until(&format!("event: trace.grown\ndata: {{\"span_count\":3,\"trace_id\":\"{trace_id}\"}}")).await;
    let runs = Arc::new(server.client().await);
    runs.record_run(&report("live"), &[]).await.expect("RecordRun");
    read_until("event: run.recorded\ndata: {\"id\":1,\"name\":\"live\",\"state\":\"FAILED\"}").await;
    drop(events);
    let wire = Wire::load();
    for block in seen.split("\n\n").filter(|block| block.starts_with("event: ")) {
        let (kind, data) = block["event: ".len()..].split_once("\ndata: ").expect("event and data");
        let data: Value = serde_json::from_str(data).expect("event data is JSON");
        wire.assert(&data, if kind == "run.recorded" { "RunEvent" } else { "TraceEvent" });
    }
    server.shutdown().await.expect("shutdown");
}

/// Every answer the UI reads, from a real server, is the typedef it is read as: a field
/// renamed, dropped or added on either side fails here.
#[tokio::test]
async fn answers_are_the_shapes_of_the_ui_types() {
    let server = start(10).await;
    let (trace_id, mut spans, ids) = trace("api");
    // Events, links and typed attributes of every kind, so that their typedefs are reached.
    spans[0] = spans[0]
        .clone()
        .with_attribute("retries", 2_i64)
        .with_attribute("ratio", 0.5)
        .with_attribute("cached", true)
        .with_attribute("tags", AttributeValue::array(vec!["a".into(), 1_i64.into()]))
        .with_attribute("headers", AttributeValue::map(vec![KeyValue::new("accept", "json")]))
        .with_events(vec![Event {
            time_unix_nano: 3_500,
            name: "retry".into(),
            attributes: vec![KeyValue::new("attempt", 2_i64)].into(),
        }])
        .with_links(vec![Link {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            attributes: Box::new([]),
        }]);
    server.store().insert(spans);
    let stored = server.store().get(trace_id).expect("stored");
    let wire = Wire::load();

    let selector = urlencode(r#"span[tracetest.span.type="database"]"#);
    for (path, typedef) in [
        ("/api/v1/traces".to_string(), "TraceList"),
        (format!("/api/v1/traces?selector={selector}"), "TraceList"),
        (format!("/api/v1/traces/{trace_id}"), "Trace"),
        // One part of it, as the UI reads a trace too large to read whole.
        (format!("/api/v1/traces/{trace_id}?offset=1&limit=1"), "Trace"),
        (format!("/api/v1/traces/{trace_id}/select?selector={selector}"), "Selection"),
        (format!("/api/v1/traces/{trace_id}/analysis"), "AnalyzerResult"),
        (format!("/api/v1/traces?selector={}", urlencode("span[name=]")), "ApiErrorBody"),
        (format!("/api/v1/traces/{}", TraceId::random()), "ApiErrorBody"),
        // A trace against itself: every row in both, so each side's span is reached.
        (format!("/api/v1/diff?a={trace_id}&b={trace_id}"), "TraceDiff"),
    ] {
        let (_, body) = get(&server, &path).await;
        wire.assert(&body, typedef);
    }
    let (_, list) = get(&server, &format!("/api/v1/traces?selector={selector}")).await;
    assert!(list["traces"][0]["matched_span_ids"].is_array(), "the optional field is exercised");

    // A run with every part a report can have: a judged step with specs, verdicts, outputs,
    // warnings, the analyzer and gates; a step that never ran.
    let result = |span: Option<SpanId>, passed: bool| SpanResult {
        span_id: span,
        observed: span.map(|_| "3000".to_string()),
        expected: span.map(|_| "1000".to_string()),
        passed,
        error: if span.is_none() { Some("no span matched".to_string()) } else { None },
        comparator: Some("<".to_string()),
    };
    let judged = StepReport {
        name: "list users".to_string(),
        state: StepState::Failed,
        error: None,
        trace_id: Some(trace_id),
        span_count: 3,
        specs: vec![
            SpecReport {
                selector: r#"span[tracetest.span.type="database"]"#.to_string(),
                name: Some("the query is quick".to_string()),
                passed: false,
                matched_spans: 1,
                assertions: vec![AssertionReport {
                    assertion: "attr:tracetest.span.duration < 1us".to_string(),
                    passed: false,
                    results: vec![result(Some(ids[1]), false)],
                }],
            },
            SpecReport {
                selector: r#"span[name="none"]"#.to_string(),
                name: None,
                passed: false,
                matched_spans: 0,
                assertions: vec![AssertionReport {
                    assertion: "attr:x = 1".to_string(),
                    passed: false,
                    results: vec![result(None, false)],
                }],
            },
        ],
        outputs: [("USER".to_string(), "ada".to_string())].into_iter().collect(),
        warnings: vec!["judged at the grace deadline".to_string()],
        duration_ms: Some(40),
        last_span_to_verdict_us: None,
        analyzer: Some(analyze(&stored, &AnalyzerConfig::default())),
        gates: Some(GateResult { required: vec!["test-specs".to_string()], failed: vec![], passed: true }),
    };
    let run = RunReport { steps: vec![judged, StepReport::not_executed("later")], ..report("full") };
    let client =
        RemoteClient::connect(&format!("http://{}", server.grpc_addr()), None).await.expect("client");
    client.record_run(&run, &[]).await.expect("RecordRun");
    let bare = RunReport { file: None, duration_ms: None, ..report("bare") };
    client.record_run(&bare, &[]).await.expect("RecordRun");
    let (_, runs) = get(&server, "/api/v1/runs").await;
    wire.assert(&runs, "RunList");
    for id in [1, 2] {
        let (_, body) = get(&server, &format!("/api/v1/runs/{id}")).await;
        wire.assert(&body, "Run");
    }

    // The services page reads Jaeger's dependencies (its `data`) as `Dependency` links.
    let (_, dependencies) =
        get(&server, "/jaeger/api/dependencies?endTs=99999999999999&lookback=99999999999999").await;
    let links = dependencies["data"].as_array().expect("links");
    assert!(!links.is_empty(), "{dependencies}");
    for link in links {
        wire.assert(link, "Dependency");
    }

    let unreached: Vec<String> = wire
        .unreached()
        .into_iter()
        .filter(|name| !["TraceEvent", "RunEvent", "InlineData"].contains(&name.as_str()))
        .collect();
    assert!(unreached.is_empty(), "typedefs no server answer reached (check them here): {unreached:?}");
    server.shutdown().await.expect("shutdown");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// TraceQL through the web API's selection (issue 18): the structural and trace-level
/// operators, typed comparisons and pipelines select the spans Tempo's documented semantics
/// give, a metrics query is refused with its column, and a Test file mixing both selector
/// languages runs to PASSED against the same trace.
#[tokio::test]
async fn traceql_selects_through_the_api_and_runs_beside_tracetest_selectors() {
    let server = start(10).await;
    let (trace_id, spans, ids) = trace("api");
    server.store().insert(spans);
    let select = |query: &str| {
        let path = format!("/api/v1/traces/{trace_id}/select?selector={}", urlencode(query));
        let server = &server;
        async move { get(server, &path).await }
    };
    let matched = |ids: &[SpanId]| serde_json::json!(ids.iter().map(SpanId::to_string).collect::<Vec<_>>());
    for (query, expected) in [
        (r#"{ span.db.system = "postgresql" } > { }"#, matched(&ids[2..3])),
        (r#"{ kind = server } >> { resource.service.name = "db" }"#, matched(&ids[2..3])),
        ("{ status = error }", matched(&ids[1..2])),
        ("{ } | count() > 2", matched(&ids)),
        ("{ } | count() > 3", matched(&[])),
        (r#"{ .service.name = "api" && duration > 2us }"#, matched(&ids[0..2])),
        (r#"{ name =~ "SELECT.*" } ~ { }"#, matched(&[])),
        ("{ span.db.system = 5 }", matched(&[])),
    ] {
        let (status, body) = select(query).await;
        assert_eq!((status, &body["matched_span_ids"]), (200, &expected), "{query}: {body}");
    }
    // The trace list's filter takes the same queries: the trace whose spans match, with them.
    let other = trace("web");
    server.store().insert(other.1);
    let query =
        urlencode(r#"{ resource.service.name = "db" } < { .service.name = "api" && status = error }"#);
    let (status, list) = get(&server, &format!("/api/v1/traces?selector={query}")).await;
    assert_eq!(status, 200, "{list}");
    let lines: Vec<(&str, &Value)> = list["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|line| (line["trace_id"].as_str().unwrap(), &line["matched_span_ids"]))
        .collect();
    let trace_text = trace_id.to_string();
    assert_eq!(
        lines,
        [(trace_text.as_str(), &matched(&ids[1..2]))],
        "only the api trace has an erring api span over a db span"
    );
    let (status, refused) = select("{ } | rate()").await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("TraceQL metrics are not supported here")));
    assert_eq!(refused["column"], 7, "{refused}");

    let files = crate::support::Files::new();
    let vars = crate::support::vars_file(&files, &[("TRACE_ID", &trace_id.to_string())]);
    let run = crate::support::tracecheck()
        .args(["run", &crate::support::fixture_arg("run/traceql-mixed.yaml"), "--vars", &vars])
        .args(["--server", &server.grpc_url(), "--settle", "50ms", "--output", "json"])
        .output()
        .await;
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let report: Value = serde_json::from_slice(&run.stdout).expect("json report");
    let specs = report["steps"][0]["specs"].as_array().expect("specs");
    let matched: Vec<(bool, u64)> =
        specs.iter().map(|spec| (spec["passed"] == true, spec["matched_spans"].as_u64().unwrap())).collect();
    assert_eq!(matched, [(true, 1), (true, 1), (true, 1)], "{report}");
    server.shutdown().await.expect("shutdown");
}

/// `?wait=` on a trace-by-ID read answers once the trace is complete: a plain read made
/// while the root is still missing races (one span), the waiting read made at the same time
/// answers with both. A bad wait is a 400 naming the parameter.
#[tokio::test]
async fn a_waiting_read_returns_the_complete_trace_where_a_plain_read_races() {
    let server = start(10).await;
    let (trace_id, spans, _) = trace("api");
    let [query, root, db]: [Span; 3] = spans.try_into().unwrap();
    server.store().insert(vec![query, db]);
    let path = format!("/api/v1/traces/{trace_id}");
    let waiting = {
        let url = format!("http://{}{path}?wait=20s", server.http_addr());
        tokio::spawn(async move {
            let body = reqwest::get(url).await.expect("request").bytes().await.expect("body");
            serde_json::from_slice::<Value>(&body)
        })
    };
    server.store().waiting_on(trace_id).await;
    let (status, partial) = get(&server, &path).await;
    assert_eq!(status, 200);
    assert_eq!(partial["spans"].as_array().unwrap().len(), 2, "the plain read races");
    server.store().insert(vec![root]);
    let whole = waiting.await.unwrap().expect("json");
    assert_eq!(whole["spans"].as_array().unwrap().len(), 3, "{whole}");

    let (status, body) = get(&server, &format!("{path}?wait=soon")).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("wait=\"soon\""), "{body}");
    // An unknown trace is still a 404 once the wait is over.
    let (status, _) = get(&server, &format!("/api/v1/traces/{}?wait=100ms", TraceId::random())).await;
    assert_eq!(status, 404);
}

/// Live event streams are bounded: past `MAX_EVENT_STREAMS` open at once a new one is
/// refused at once, retryably, and counted (each holds a connection and its memory of the
/// traces it announced, outside the store's bound).
#[tokio::test]
async fn event_streams_past_the_limit_are_refused_and_counted() {
    let server = start(10).await;
    let url = format!("http://{}/api/v1/events", server.http_addr());
    let client = reqwest::Client::new();
    let mut open = Vec::new();
    for _ in 0..model::defaults::MAX_EVENT_STREAMS {
        let stream = client.get(&url).send().await.expect("stream");
        assert_eq!(stream.status().as_u16(), 200);
        open.push(stream);
    }
    let refused = client.get(&url).send().await.expect("answer");
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let metrics = server.telemetry().render();
    assert!(metrics.contains("tracecheck_event_streams_refused_total 1\n"), "{metrics}");
    drop(open);
}

/// The page and the API are gzipped for a client that accepts it, as every browser does
/// (issue 21: a 10,000-span trace was 20 MB on the wire), and plain for one that does not;
/// the event stream is never compressed (a compressor would hold its events back).
#[tokio::test]
async fn the_page_and_api_are_gzipped_when_accepted_and_events_are_not() {
    use std::io::Read as _;
    let server = start(10).await;
    let (trace_id, spans, _) = trace("api");
    server.store().insert(spans);
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.http_addr());
    for path in ["/".to_string(), format!("/api/v1/traces/{trace_id}"), "/api/v1/traces".to_string()] {
        let plain = client.get(format!("{base}{path}")).send().await.expect("plain request");
        assert_eq!(plain.status(), 200, "{path}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path}: not asked for gzip");
        let plain = plain.bytes().await.expect("plain body");
        let zipped = client
            .get(format!("{base}{path}"))
            .header("accept-encoding", "gzip, deflate, br, zstd")
            .send()
            .await
            .expect("gzip request");
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
        let zipped = zipped.bytes().await.expect("gzip body");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut unzipped).expect("gunzip");
        assert_eq!(unzipped, plain, "{path}");
        assert!(zipped.len() < plain.len(), "{path}: {} of {} bytes", zipped.len(), plain.len());
    }
    let events = client
        .get(format!("{base}/api/v1/events"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("event stream");
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    assert!(events.headers().get("content-encoding").is_none(), "events are sent as they happen");
    drop(events);
    server.shutdown().await.expect("shutdown");
}

/// The search form's fields (issue 21, missing item 3): operation, attributes (`tags`),
/// duration range, time range (Unix ms) and errors only, each narrowing the list; bad
/// values are a 400 that names them.
#[tokio::test]
async fn the_list_is_searched_by_operation_attributes_durations_time_and_errors() {
    let server = start(10).await;
    // `GET /users` > `SELECT users` [error, db.system] > `query`: 8 µs from 1 µs after the epoch.
    let (slow, spans, _) = trace("api");
    server.store().insert(spans);
    // One 100 ns span at 5 s after the epoch, no error.
    let quick = TraceId::random();
    server.store().insert(vec![Span::new(quick, SpanId::random(), "GET /health")
        .with_times(5_000_000_000, 5_000_000_100)
        .with_resource_attribute("service.name", "api")]);
    let found = |path: &'static str| {
        let server = &server;
        async move {
            let (status, page) = get(server, path).await;
            assert_eq!(status, 200, "{path}: {page}");
            let mut ids: Vec<String> = page["traces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["trace_id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        }
    };
    let (slow, quick) = (slow.to_string(), quick.to_string());
    let one = |id: &String| vec![id.clone()];
    assert_eq!(found("/api/v1/traces?operation=GET%20/health").await, one(&quick));
    assert_eq!(found("/api/v1/traces?errors=true").await, one(&slow));
    assert_eq!(found("/api/v1/traces?tags=db.system%3Dpostgresql").await, one(&slow));
    assert_eq!(found("/api/v1/traces?min_duration=1us").await, one(&slow));
    assert_eq!(found("/api/v1/traces?max_duration=1us").await, one(&quick));
    assert_eq!(found("/api/v1/traces?start=4000").await, one(&quick));
    assert_eq!(found("/api/v1/traces?end=4000").await, one(&slow));
    assert_eq!(found("/api/v1/traces?service=API&errors=false&operation=").await.len(), 2);
    assert!(found("/api/v1/traces?operation=GET%20/health&errors=true").await.is_empty());
    for (path, says) in [
        ("/api/v1/traces?min_duration=fast", "min_duration=\"fast\""),
        ("/api/v1/traces?tags=oops", "expected key=value"),
        ("/api/v1/traces?start=yesterday", "start"),
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, 400, "{path}");
        assert!(body["error"].as_str().unwrap().contains(says), "{path}: {body}");
    }
    server.shutdown().await.expect("shutdown");
}

/// Issue 22, defect 1: a run's view of a trace takes its share of the read budget before it
/// is decoded, from the span count the run's steps report for it, as a stored trace does
/// from the store's count; a report claiming more than the budget could ever hold is
/// refused (507) without decoding its trace. (Read whole, the same 2-span trace fits.)
#[tokio::test]
async fn a_runs_trace_takes_its_share_before_it_is_decoded() {
    // A read budget of 16 MiB: 4,096 spans at 4 KiB.
    let server = server().max_memory(64 * 1024 * 1024).start().await;
    let client = server.client().await;
    let trace_id = TraceId([7; 16]);
    let root = Span::new(trace_id, SpanId([1; 8]), "POST /users");
    let child = Span::new(trace_id, SpanId([2; 8]), "INSERT users").with_parent(SpanId([1; 8]));
    let trace = model::Trace::new(trace_id, vec![Arc::new(root), Arc::new(child)]);
    for span_count in [2, 5_000] {
        let mut step = StepReport::not_executed("create");
        step.state = StepState::Passed;
        step.trace_id = Some(trace_id);
        step.span_count = span_count;
        client
            .record_run(&RunReport { steps: vec![step], ..report("claims") }, std::slice::from_ref(&trace))
            .await
            .expect("RecordRun");
    }
    let (status, body) = get(&server, &format!("/api/v1/traces/{trace_id}?run=1")).await;
    assert_eq!((status, body["span_count"].as_u64()), (200, Some(2)), "{body}");
    let (status, body) = get(&server, &format!("/api/v1/traces/{trace_id}?run=2")).await;
    assert_eq!(status, 507, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("5000 spans"), "{body}");
}
