//! Jaeger's APIs against the real things: the same OTLP sent to the real Jaeger v2 (built by
//! `tests/tools/provision jaeger`, memory storage, every port free) and to the real
//! `tracecheck serve`, then every endpoint's answer compared after normalising only what may
//! differ (list order, process IDs); `jaeger-mcp` from PyPI as a client of tracecheck's
//! Jaeger API; `?wait=` on v1 and v3; the `--jaeger-addr` listener with a base path and the
//! bearer token in front of it.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as V, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::jaeger::Jaeger;
use crate::support::tools::tool;
use crate::support::{serve, server, ServerExt, HANG};

// The input: three traces over five services, every span kind, typed attributes (arrays,
// maps, bytes, an empty value), error and ok statuses with messages, events with and without
// names, links (one typed child_of), scopes with and without a version, a resource without
// `service.name` and one with an empty one.

fn kv(key: &str, value: V) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(value: &str) -> V {
    V::StringValue(value.to_string())
}

fn resource(attributes: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource { attributes, ..Default::default() })
}

fn scope(name: &str, version: &str, attributes: Vec<KeyValue>) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.into(),
        version: version.into(),
        attributes,
        ..Default::default()
    })
}

struct Ids {
    trace: [u8; 16],
}

impl Ids {
    fn span(&self, n: u8) -> Vec<u8> {
        vec![self.trace[0], n, 0, 0, 0, 0, 0, 1]
    }
}

#[allow(clippy::too_many_arguments)]
fn span(
    ids: &Ids,
    n: u8,
    parent: Option<u8>,
    name: &str,
    kind: span::SpanKind,
    start: u64,
    end: u64,
    attributes: Vec<KeyValue>,
) -> Span {
    Span {
        trace_id: ids.trace.to_vec(),
        span_id: ids.span(n),
        parent_span_id: parent.map(|parent| ids.span(parent)).unwrap_or_default(),
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        ..Default::default()
    }
}

fn with_status(mut span: Span, code: status::StatusCode, message: &str) -> Span {
    span.status = Some(Status { code: code as i32, message: message.into() });
    span
}

fn group(resource: Option<Resource>, scope: Option<InstrumentationScope>, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource,
        scope_spans: vec![ScopeSpans { scope, spans, ..Default::default() }],
        ..Default::default()
    }
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

const MS: u64 = 1_000_000;

/// The three traces' IDs (checkout, nightly, anonymous), their span counts and the request.
fn input() -> ([String; 3], [usize; 3], ExportTraceServiceRequest) {
    use span::SpanKind::*;
    use status::StatusCode::{Error, Ok, Unset};
    let (a, b, c) = (Ids { trace: [0xa1; 16] }, Ids { trace: [0xb2; 16] }, Ids { trace: [0xc3; 16] });
    let t0 = now_nanos() - 60_000 * MS;
    let t1 = t0 + 1_000 * MS;

    let mut root = span(
        &a,
        1,
        None,
        "GET /checkout",
        Server,
        t0,
        t0 + 20 * MS,
        vec![
            kv("http.route", text("/checkout")),
            kv("http.response.status_code", V::IntValue(500)),
            kv("retry", V::BoolValue(true)),
            kv("ratio", V::DoubleValue(0.25)),
            kv("payload", V::BytesValue(vec![0, 1, 2, 255])),
            kv(
                "tags",
                V::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue { value: Some(text("a")) },
                        AnyValue { value: Some(V::IntValue(1)) },
                        AnyValue { value: Some(V::BoolValue(true)) },
                        AnyValue { value: Some(V::DoubleValue(1.5)) },
                    ],
                }),
            ),
            kv(
                "headers",
                V::KvlistValue(KeyValueList { values: vec![kv("b", text("2")), kv("a", text("1"))] }),
            ),
            KeyValue { key: "nothing".into(), value: Some(AnyValue { value: None }), ..Default::default() },
        ],
    );
    root.events = vec![
        span::Event {
            time_unix_nano: t0 + 15 * MS,
            name: "exception".into(),
            attributes: vec![
                kv("exception.type", text("PaymentError")),
                kv("exception.message", text("declined")),
            ],
            ..Default::default()
        },
        span::Event {
            time_unix_nano: t0 + 16 * MS,
            name: String::new(),
            attributes: vec![
                kv("z", V::IntValue(1)),
                kv("event", text("cache miss")),
                kv("a", V::BoolValue(true)),
            ],
            ..Default::default()
        },
        span::Event { time_unix_nano: t0 + 17 * MS, name: "flushed".into(), ..Default::default() },
    ];
    root.links = vec![
        span::Link {
            trace_id: b.trace.to_vec(),
            span_id: b.span(1),
            attributes: vec![kv("link.reason", text("batch"))],
            ..Default::default()
        },
        span::Link {
            trace_id: b.trace.to_vec(),
            span_id: b.span(2),
            attributes: vec![kv("opentracing.ref_type", text("child_of"))],
            ..Default::default()
        },
    ];
    let root = with_status(root, Error, "checkout failed");
    let pay_client = with_status(
        span(
            &a,
            2,
            Some(1),
            "POST /pay",
            Client,
            t0 + 2 * MS,
            t0 + 12 * MS,
            vec![kv("peer.service", text("payments"))],
        ),
        Ok,
        "",
    );
    let render = with_status(
        span(&a, 3, Some(1), "render", Internal, t0 + 13 * MS, t0 + 14 * MS, vec![]),
        Unset,
        "ignored",
    );
    let pay_server = span(&a, 4, Some(2), "Pay", Server, t0 + 3 * MS, t0 + 11 * MS, vec![]);
    let publish = span(&a, 5, Some(4), "publish receipt", Producer, t0 + 5 * MS, t0 + 6 * MS, vec![]);
    let receipt = span(&a, 6, Some(5), "receipt", Consumer, t0 + 7 * MS, t0 + 9 * MS, vec![]);
    let write = span(&a, 7, Some(6), "write", Unspecified, t0 + 8 * MS, t0 + 8 * MS + 500_000, vec![]);

    let nightly =
        span(&b, 1, None, "nightly", Internal, t1, t1 + 100 * MS, vec![kv("batch.size", V::IntValue(100))]);
    let pay_client_b = span(&b, 2, Some(1), "POST /pay", Client, t1 + 10 * MS, t1 + 90 * MS, vec![]);
    let declined = with_status(
        span(&b, 3, Some(2), "Pay", Server, t1 + 20 * MS, t1 + 80 * MS, vec![kv("card.brand", text("visa"))]),
        Error,
        "card declined",
    );

    let orphan = span(&c, 1, None, "orphan", Server, t1, t1 + 2 * MS, vec![]);
    let blank = span(&c, 2, Some(1), "blank", Internal, t1 + MS / 2, t1 + MS, vec![]);

    let frontend = resource(vec![
        kv("service.name", text("frontend")),
        kv("host.name", text("web-1")),
        kv("process.pid", V::IntValue(42)),
        kv(
            "deployment.colors",
            V::ArrayValue(ArrayValue { values: vec![AnyValue { value: Some(text("blue")) }] }),
        ),
    ]);
    let payments = || resource(vec![kv("service.name", text("payments"))]);
    let request = ExportTraceServiceRequest {
        resource_spans: vec![
            group(
                frontend,
                scope("frontend-http", "1.4.0", vec![kv("scope.attr", text("x"))]),
                vec![root, pay_client, render],
            ),
            group(payments(), scope("payments-grpc", "", vec![]), vec![pay_server, publish]),
            group(resource(vec![kv("service.name", text("ledger"))]), None, vec![receipt, write]),
            group(
                resource(vec![kv("service.name", text("batch")), kv("batch.host", text("cron-1"))]),
                scope("batch", "2", vec![]),
                vec![nightly, pay_client_b],
            ),
            group(payments(), scope("payments-grpc", "", vec![]), vec![declined]),
            group(resource(vec![kv("k8s.pod.name", text("pod-7"))]), scope("anon", "", vec![]), vec![orphan]),
            group(resource(vec![kv("service.name", text(""))]), None, vec![blank]),
        ],
    };
    let ids = [hex::encode(a.trace), hex::encode(b.trace), hex::encode(c.trace)];
    (ids, [7, 3, 2], request)
}

async fn post_otlp(http: SocketAddr, request: &ExportTraceServiceRequest) {
    let answer = reqwest::Client::new()
        .post(format!("http://{http}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .expect("export");
    assert_eq!(answer.status(), 200, "export to {http}: {:?}", answer.text().await);
}

async fn get(url: &str) -> (u16, Value) {
    get_with(url, None).await
}

async fn get_with(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let status = answer.status().as_u16();
    let body = answer.bytes().await.expect("body");
    let value = serde_json::from_slice(&body).unwrap_or(Value::String(String::from_utf8_lossy(&body).into()));
    (status, value)
}

/// Jaeger's v1 trace with each span's process in place of its ID (process IDs are numbered
/// in an order of Jaeger's choosing), then every list sorted.
fn normalize(mut value: Value) -> Value {
    if let Some(traces) = value.get_mut("data").and_then(Value::as_array_mut) {
        for trace in traces {
            let Some(processes) = trace.get_mut("processes").map(Value::take) else { continue };
            if let Some(spans) = trace.get_mut("spans").and_then(Value::as_array_mut) {
                for span in spans {
                    let id = span["processID"].as_str().unwrap_or_default().to_string();
                    span["processID"] = processes.get(&id).cloned().unwrap_or(Value::Null);
                }
            }
            trace.as_object_mut().map(|trace| trace.remove("processes"));
        }
    }
    sort_lists(value)
}

fn sort_lists(value: Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(sort_lists).collect();
            items.sort_by_key(|item| item.to_string());
            Value::Array(items)
        }
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(key, item)| (key, sort_lists(item))).collect())
        }
        other => other,
    }
}

/// Every difference between Jaeger's answer and tracecheck's, one line each with its path.
fn differences(path: &str, jaeger: &Value, ours: &Value, out: &mut Vec<String>) {
    match (jaeger, ours) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|key| !a.contains_key(*key))) {
                let at = format!("{path}.{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => differences(&at, x, y, out),
                    (x, y) => out.push(format!("{at}: jaeger {x:?}, tracecheck {y:?}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{index}]"), x, y, out);
            }
        }
        (x, y) if x != y => out.push(format!("{path}: jaeger {x}, tracecheck {y}")),
        _ => {}
    }
}

/// The same OTLP into Jaeger and tracecheck; every Jaeger endpoint compared.
#[tokio::test]
async fn every_jaeger_endpoint_answers_as_jaeger_does() {
    let (jaeger, mut tracecheck) = tokio::join!(Jaeger::start(), serve(&[]));
    let (ids, n_spans, request) = input();
    post_otlp(jaeger.otlp_http, &request).await;
    post_otlp(tracecheck.http, &request).await;
    for (trace_id, n) in ids.iter().zip(n_spans) {
        jaeger.wait_for(trace_id, n).await;
    }

    let [a, b, c] = &ids;
    let unknown = "00000000000000000000000000abcdef";
    let micros = now_nanos() / 1_000;
    let (start, end) = (micros - 3_600_000_000, micros + 60_000_000);
    let window = format!("start={start}&end={end}");
    let rfc3339 = |micros: u64| {
        humantime::format_rfc3339_micros(UNIX_EPOCH + std::time::Duration::from_micros(micros)).to_string()
    };
    let v3_window = format!("query.start_time_min={}&query.start_time_max={}", rfc3339(start), rfc3339(end));
    let tags = "%7B%22http.route%22%3A%22%2Fcheckout%22%7D";
    // Path, and whether the whole body is compared (error texts are tracecheck's own for a
    // bad parameter: there only the status and the envelope's error code must agree).
    let endpoints: Vec<(String, bool)> = vec![
        (format!("/api/traces/{a}"), true),
        (format!("/api/traces/{b}"), true),
        (format!("/api/traces/{c}"), true),
        (format!("/api/traces/{unknown}"), true),
        ("/api/services".into(), true),
        ("/api/services/frontend/operations".into(), true),
        ("/api/services/payments/operations".into(), true),
        ("/api/services/nope/operations".into(), true),
        ("/api/operations?service=frontend".into(), true),
        ("/api/operations?service=payments&spanKind=server".into(), true),
        ("/api/operations?service=missing-service-name".into(), true),
        (format!("/api/traces?service=payments&{window}&limit=20"), true),
        (format!("/api/traces?service=payments&operation=Pay&{window}"), true),
        (format!("/api/traces?service=frontend&tags={tags}&{window}"), true),
        (format!("/api/traces?service=payments&tag=card.brand:visa&{window}"), true),
        (format!("/api/traces?service=frontend&tag=exception.type:PaymentError&{window}"), true),
        (format!("/api/traces?service=frontend&tag=host.name:web-1&{window}"), true),
        (format!("/api/traces?service=frontend&tag=http.route:/nowhere&{window}"), true),
        (format!("/api/traces?service=payments&minDuration=20ms&{window}"), true),
        (format!("/api/traces?service=payments&maxDuration=9ms&{window}"), true),
        (format!("/api/traces?service=ledger&minDuration=1.5ms&maxDuration=2500us&{window}"), true),
        (format!("/api/traces?service=empty-service-name&{window}"), true),
        (format!("/api/traces?traceID={a}&traceID={c}"), true),
        (format!("/api/dependencies?endTs={}&lookback=7200000", micros / 1_000 + 60_000), true),
        ("/api/traces".into(), false),
        (format!("/api/traces?service=payments&minDuration=soon&{window}"), false),
        (format!("/api/traces?service=payments&minDuration=5ms&maxDuration=1ms&{window}"), false),
        (format!("/api/traces?service=payments&tags=%5B1%5D&{window}"), false),
        ("/api/traces/xyz".into(), false),
        (format!("/api/v3/traces/{a}"), true),
        (format!("/api/v3/traces/{c}"), true),
        (format!("/api/v3/traces/{unknown}"), true),
        ("/api/v3/services".into(), true),
        ("/api/v3/operations?service=frontend".into(), true),
        ("/api/v3/operations?service=payments&span_kind=server".into(), true),
        ("/api/v3/operations".into(), true),
        (format!("/api/v3/traces?query.service_name=payments&{v3_window}&query.num_traces=20"), true),
        (format!("/api/v3/traces?query.service_name=ledger&query.operation_name=write&{v3_window}&query.num_traces=5"), true),
        (format!("/api/v3/traces?query.service_name=payments&query.duration_min=20ms&{v3_window}&query.num_traces=5"), true),
        (format!("/api/v3/traces?query.service_name=nope&{v3_window}&query.num_traces=5"), true),
        ("/api/v3/traces?query.service_name=payments".into(), false),
        ("/api/v3/traces/xyz".into(), false),
    ];
    let mut all = Vec::new();
    for (path, whole) in &endpoints {
        let (jaeger_status, jaeger_body) = get(&format!("http://{}{path}", jaeger.query)).await;
        let (our_status, our_body) = get(&format!("http://{}/jaeger{path}", tracecheck.http)).await;
        let mut found = Vec::new();
        if jaeger_status != our_status {
            found.push(format!("status: jaeger {jaeger_status}, tracecheck {our_status}"));
        }
        if *whole {
            differences("", &normalize(jaeger_body), &normalize(our_body), &mut found);
        } else {
            let code = |body: &Value| body["errors"][0]["code"].clone();
            if code(&jaeger_body) != code(&our_body) {
                found.push(format!("error code: jaeger {jaeger_body}, tracecheck {our_body}"));
            }
        }
        // A comparison of two empty answers proves little: the input must show in them.
        if *whole && jaeger_status == 200 && path.contains(a) {
            assert!(!found.iter().any(|line| line.contains("len")), "{path}");
        }
        for line in found {
            all.push(format!("GET {path}: {line}"));
        }
    }
    if !all.is_empty() {
        let _ = tracecheck.lines_so_far();
    }
    assert!(all.is_empty(), "{} differences from Jaeger:\n{}", all.len(), all.join("\n"));

    // The search found what the input holds (so the comparisons above were not of nothing).
    let (_, found) =
        get(&format!("http://{}/jaeger/api/traces?service=payments&{window}", tracecheck.http)).await;
    assert_eq!(found["data"].as_array().map(Vec::len), Some(2), "{found}");
    let (_, deps) = get(&format!("http://{}/jaeger/api/dependencies", tracecheck.http)).await;
    assert!(deps["data"].as_array().is_some_and(|links| links.len() >= 4), "{deps}");
}

/// `jaeger-mcp` (PyPI), an MCP server over Jaeger's HTTP API, pointed at tracecheck: it
/// lists the services and reads a trace.
#[tokio::test]
async fn jaeger_mcp_lists_services_and_reads_a_trace_from_tracecheck() {
    let packages = tool("jaeger-mcp");
    let tracecheck = serve(&[]).await;
    let (ids, _, request) = input();
    post_otlp(tracecheck.http, &request).await;

    let mut child = tokio::process::Command::new("python3")
        .args(["-m", "jaeger_mcp.server"])
        .env("PYTHONPATH", &packages)
        .env("JAEGER_URL", format!("http://{}/jaeger", tracecheck.http))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start jaeger-mcp");
    let mut mcp = Mcp {
        stdin: child.stdin.take().expect("stdin"),
        stdout: BufReader::new(child.stdout.take().expect("stdout")).lines(),
    };
    let init = mcp
        .call(
            1,
            "initialize",
            serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {},
                               "clientInfo": {"name": "tracecheck-tests", "version": "1"}}),
        )
        .await;
    assert_eq!(init["result"]["serverInfo"]["name"], "jaeger_mcp", "{init}");
    mcp.send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;

    let services =
        mcp.call(2, "tools/call", serde_json::json!({"name": "jaeger_list_services", "arguments": {}})).await;
    let listed = &services["result"]["structuredContent"]["services"];
    for service in ["batch", "frontend", "ledger", "payments", "missing-service-name", "empty-service-name"] {
        assert!(listed.as_array().unwrap().iter().any(|name| name == service), "{service}: {services}");
    }
    let trace = mcp
        .call(
            3,
            "tools/call",
            serde_json::json!({"name": "jaeger_get_trace", "arguments": {"trace_id": ids[0]}}),
        )
        .await;
    let detail = &trace["result"]["structuredContent"];
    assert_eq!(detail["span_count"], 7, "{trace}");
    assert_eq!(detail["root_operation"], "GET /checkout", "{trace}");
    assert_eq!(detail["root_service"], "frontend", "{trace}");
    assert_eq!(detail["errors_count"], 1, "{trace}");
}

/// An MCP client over a server's stdio: newline-delimited JSON-RPC.
struct Mcp {
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Mcp {
    async fn send(&mut self, message: Value) {
        self.stdin.write_all(format!("{message}\n").as_bytes()).await.expect("write to the MCP server");
    }

    /// Sends a request and waits for the answer with its `id` (bounded by `HANG`).
    async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        let stdout = &mut self.stdout;
        let answer = tokio::time::timeout(HANG, async {
            while let Some(line) = stdout.next_line().await.expect("read the MCP server") {
                let Ok(value) = serde_json::from_str::<Value>(&line) else { continue };
                if value["id"] == id {
                    return value;
                }
            }
            panic!("the MCP server ended before answering {method}");
        })
        .await;
        answer.unwrap_or_else(|_| panic!("the MCP server did not answer {method}"))
    }
}

/// `?wait=` on v1 and v3 trace by ID: a plain read made while the root is missing races (two
/// spans); the waiting reads made at the same time answer with all three. A wait that ends
/// before the trace is complete answers what is there, with why in `warnings`.
#[tokio::test]
async fn a_waiting_jaeger_read_returns_the_complete_trace_where_a_plain_read_races() {
    use model::{Span as ModelSpan, SpanId, SpanKind, TraceId};
    let server = server().start().await;
    let trace_id = TraceId::random();
    let ids = [SpanId::random(), SpanId::random(), SpanId::random()];
    let make = |at: usize, parent: Option<usize>, name: &str| {
        let span = ModelSpan::new(trace_id, ids[at], name)
            .with_kind(SpanKind::Server)
            .with_times(1_000_000, 9_000_000)
            .with_resource_attribute("service.name", "api");
        match parent {
            Some(parent) => span.with_parent(ids[parent]),
            None => span,
        }
    };
    server.store().insert(vec![make(1, Some(0), "SELECT"), make(2, Some(1), "query")]);
    let base = format!("{}/jaeger", server.http_url());
    let v1 = format!("{base}/api/traces/{trace_id}");
    let v3 = format!("{base}/api/v3/traces/{trace_id}");
    let waiting = |url: String| tokio::spawn(async move { get(&url).await });
    let waiting_v1 = waiting(format!("{v1}?wait=20s"));
    let waiting_v3 = waiting(format!("{v3}?wait=20s"));
    server.store().waiting_on(trace_id).await;
    let (status, partial) = get(&v1).await;
    assert_eq!(status, 200);
    assert_eq!(partial["data"][0]["spans"].as_array().unwrap().len(), 2, "the plain read races");
    let (_, partial) = get(&v3).await;
    assert_eq!(partial["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().unwrap().len(), 2);
    server.store().insert(vec![make(0, None, "GET /users")]);
    let (status, whole) = waiting_v1.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(whole["data"][0]["spans"].as_array().unwrap().len(), 3, "{whole}");
    assert_eq!(whole["data"][0]["warnings"], Value::Null, "{whole}");
    let (status, whole) = waiting_v3.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(whole["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().unwrap().len(), 3);
    assert!(whole.get("warnings").is_none(), "{whole}");

    // A trace whose root never comes: the wait ends at its timeout with the reason.
    let orphan = TraceId::random();
    server
        .store()
        .insert(vec![ModelSpan::new(orphan, SpanId::random(), "late").with_parent(SpanId::random())]);
    let (status, body) = get(&format!("{base}/api/traces/{orphan}?wait=300ms")).await;
    assert_eq!(status, 200);
    let warnings = body["data"][0]["warnings"].as_array().expect("warnings").clone();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("dangling parent")), "{body}");
    let (status, body) = get(&format!("{base}/api/v3/traces/{orphan}?wait=300ms")).await;
    assert_eq!(status, 200);
    assert!(body["warnings"].as_array().is_some_and(|w| !w.is_empty()), "{body}");

    let (status, body) = get(&format!("{v1}?wait=soon")).await;
    assert_eq!(status, 400);
    assert!(body["errors"][0]["msg"].as_str().unwrap().contains("wait=\"soon\""), "{body}");
    let (status, body) = get(&format!("{base}/api/v3/traces/{}?wait=100ms", TraceId::random())).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["httpCode"], 404, "{body}");
}

/// `--jaeger-addr` serves the API at the root of its own listener under
/// `--jaeger-base-path` (as Jaeger's `query.base-path`), and `--auth-token` guards it as it
/// guards the HTTP port.
#[tokio::test]
async fn the_jaeger_listener_answers_under_its_base_path_behind_the_token() {
    let (ids, _, request) = input();
    let tracecheck = serve(&["--jaeger-addr", "127.0.0.1:0", "--jaeger-base-path", "/jaeger-ui"]).await;
    let jaeger = tracecheck.jaeger.expect("the listening line names the jaeger listener");
    post_otlp(tracecheck.http, &request).await;
    let (status, services) = get(&format!("http://{jaeger}/jaeger-ui/api/services")).await;
    assert_eq!(status, 200);
    assert!(services["data"].as_array().unwrap().iter().any(|name| name == "frontend"), "{services}");
    let (status, trace) = get(&format!("http://{jaeger}/jaeger-ui/api/traces/{}", ids[0])).await;
    assert_eq!(status, 200);
    assert_eq!(trace["data"][0]["spans"].as_array().unwrap().len(), 7);
    let (status, _) = get(&format!("http://{jaeger}/jaeger-ui/api/v3/services")).await;
    assert_eq!(status, 200);
    let (status, _) = get(&format!("http://{jaeger}/api/services")).await;
    assert_eq!(status, 404, "nothing is served outside the base path");

    let guarded = serve(&["--jaeger-addr", "127.0.0.1:0", "--auth-token", "s3cret"]).await;
    let jaeger = guarded.jaeger.expect("jaeger listener");
    for url in
        [format!("http://{jaeger}/api/services"), format!("http://{}/jaeger/api/services", guarded.http)]
    {
        let (status, _) = get(&url).await;
        assert_eq!(status, 401, "{url} without the token");
        let (status, _) = get_with(&url, Some("wrong")).await;
        assert_eq!(status, 401, "{url} with a wrong token");
        let (status, body) = get_with(&url, Some("s3cret")).await;
        assert_eq!(status, 200, "{url}: {body}");
    }
}

/// One api_v3 gRPC call with raw bytes: the answer's messages, or the status code.
async fn grpc_call(
    addr: SocketAddr,
    method: &str,
    request: Vec<u8>,
    streaming: bool,
) -> Result<Vec<bytes::Bytes>, tonic::Code> {
    let mut client = crate::support::otlp::raw_client(addr).await;
    let path: http::uri::PathAndQuery =
        format!("/jaeger.api_v3.QueryService/{method}").parse().expect("path");
    let request = tonic::Request::new(bytes::Bytes::from(request));
    if !streaming {
        return client
            .unary(request, path, server::ingest::grpc::RawCodec)
            .await
            .map(|answer| vec![answer.into_inner()])
            .map_err(|status| status.code());
    }
    let mut stream = client
        .server_streaming(request, path, server::ingest::grpc::RawCodec)
        .await
        .map_err(|s| s.code())?
        .into_inner();
    let mut messages = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(message)) => messages.push(message),
            Ok(None) => return Ok(messages),
            Err(status) => return Err(status.code()),
        }
    }
}

/// What a `TracesData` answer holds, order aside: each trace's span IDs with their names.
fn spans_of(messages: &[bytes::Bytes]) -> Vec<(String, String)> {
    use opentelemetry_proto::tonic::trace::v1::TracesData;
    let mut spans: Vec<(String, String)> = messages
        .iter()
        .flat_map(|message| TracesData::decode(message.clone()).expect("TracesData").resource_spans)
        .flat_map(|resource| resource.scope_spans)
        .flat_map(|scope| scope.spans)
        .map(|span| (format!("{}/{}", hex::encode(&span.trace_id), hex::encode(&span.span_id)), span.name))
        .collect();
    spans.sort();
    spans
}

/// api_v3's gRPC `QueryService` on tracecheck's gRPC port answers as the real Jaeger's does
/// on its own: services, operations, a trace by ID (every span), a search, an unknown trace.
#[tokio::test]
async fn the_grpc_query_service_answers_as_jaeger_does() {
    use server::query::jaeger::grpc::{
        FindTracesRequest, GetOperationsRequest, GetOperationsResponse, GetServicesResponse, GetTraceRequest,
        Timestamp, TraceQueryParameters,
    };
    let (jaeger, tracecheck) = tokio::join!(Jaeger::start(), serve(&[]));
    let (ids, n_spans, request) = input();
    post_otlp(jaeger.otlp_http, &request).await;
    post_otlp(tracecheck.http, &request).await;
    for (trace_id, n) in ids.iter().zip(n_spans) {
        jaeger.wait_for(trace_id, n).await;
    }
    let seconds = (now_nanos() / 1_000_000_000) as i64;
    let window = |query: TraceQueryParameters| TraceQueryParameters {
        start_time_min: Some(Timestamp { seconds: seconds - 3600, nanos: 0 }),
        start_time_max: Some(Timestamp { seconds: seconds + 60, nanos: 0 }),
        ..query
    };
    let calls: Vec<(&str, Vec<u8>, bool)> = vec![
        ("GetServices", Vec::new(), false),
        (
            "GetOperations",
            GetOperationsRequest { service: "frontend".into(), span_kind: String::new() }.encode_to_vec(),
            false,
        ),
        (
            "GetOperations",
            GetOperationsRequest { service: "payments".into(), span_kind: "server".into() }.encode_to_vec(),
            false,
        ),
        (
            "GetTrace",
            GetTraceRequest { trace_id: ids[0].clone(), ..Default::default() }.encode_to_vec(),
            true,
        ),
        (
            "GetTrace",
            GetTraceRequest { trace_id: ids[2].clone(), ..Default::default() }.encode_to_vec(),
            true,
        ),
        (
            "GetTrace",
            GetTraceRequest { trace_id: "00000000000000000000000000abcdef".into(), ..Default::default() }
                .encode_to_vec(),
            true,
        ),
        (
            "FindTraces",
            FindTracesRequest {
                query: Some(window(TraceQueryParameters {
                    service_name: "payments".into(),
                    search_depth: 20,
                    ..Default::default()
                })),
            }
            .encode_to_vec(),
            true,
        ),
        (
            "FindTraces",
            FindTracesRequest {
                query: Some(window(TraceQueryParameters {
                    service_name: "nope".into(),
                    search_depth: 5,
                    ..Default::default()
                })),
            }
            .encode_to_vec(),
            true,
        ),
    ];
    let known = GetTraceRequest { trace_id: ids[0].clone(), ..Default::default() }.encode_to_vec();
    let mut differences = Vec::new();
    for (method, request, streaming) in calls {
        let theirs = grpc_call(jaeger.query_grpc, method, request.clone(), streaming).await;
        let ours = grpc_call(tracecheck.grpc, method, request.clone(), streaming).await;
        let same = match (&theirs, &ours) {
            (Err(a), Err(b)) => a == b,
            (Ok(a), Ok(b)) => match method {
                "GetServices" => {
                    let services = |m: &[bytes::Bytes]| {
                        GetServicesResponse::decode(m[0].clone()).expect("decode").services
                    };
                    let (mut a, mut b) = (services(a), services(b));
                    a.sort();
                    b.sort();
                    assert!(!a.is_empty());
                    a == b
                }
                "GetOperations" => {
                    let operations = |m: &[bytes::Bytes]| {
                        let mut list: Vec<(String, String)> = GetOperationsResponse::decode(m[0].clone())
                            .expect("decode")
                            .operations
                            .into_iter()
                            .map(|op| (op.name, op.span_kind))
                            .collect();
                        list.sort();
                        list
                    };
                    !operations(a).is_empty() && operations(a) == operations(b)
                }
                _ => spans_of(a) == spans_of(b),
            },
            _ => false,
        };
        if !same {
            differences.push(format!("{method} {request:?}: jaeger {theirs:?}, tracecheck {ours:?}"));
        }
        // A comparison of two empty answers proves little: the input must show in them.
        if request == known {
            assert!(ours.is_ok_and(|messages| spans_of(&messages).len() == n_spans[0]), "{method}");
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences from Jaeger:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
