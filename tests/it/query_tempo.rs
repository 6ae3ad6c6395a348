//! Grafana Tempo's HTTP API, under `/tempo` on the HTTP port and at the root of the real
//! binary's `--tempo-addr` listener: a trace by ID that an app exported with the real
//! OpenTelemetry SDK decodes as OTLP `TracesData` with every span (and v2 as Tempo's
//! `TraceByIDResponse`), the JSON shapes Tempo writes, TraceQL and tag search in Tempo's
//! response shape (spanSets, matched, `spss`), a TraceQL syntax error as 400 with its
//! column, tags and typed values, the completeness wait, and the bearer token.

use opentelemetry::trace::{Span as _, SpanKind as OtelKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue as OtelKeyValue};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use serde_json::Value;
use server::RunningServer;

use model::{Span, SpanId, SpanKind, StatusCode, TraceId};

use crate::support::otel::{self, Exporter};
use crate::support::{serve, server};

/// Tempo's `TraceByIDResponse`, as a client decodes it: `trace = 1`, `status = 3`
/// (`PARTIAL = 1`), `message = 4`.
#[derive(Clone, PartialEq, Message)]
struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    trace: Option<TracesData>,
    #[prost(int32, tag = "3")]
    status: i32,
    #[prost(string, tag = "4")]
    message: String,
}

async fn get(server: &RunningServer, path: &str) -> (u16, Value) {
    let answer = reqwest::get(format!("http://{}/tempo{path}", server.http_addr())).await.expect("request");
    let status = answer.status().as_u16();
    let body = answer.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into())),
    )
}

async fn get_protobuf(server: &RunningServer, path: &str) -> (u16, Vec<u8>) {
    let answer = reqwest::Client::new()
        .get(format!("http://{}/tempo{path}", server.http_addr()))
        .header("accept", "application/protobuf")
        .send()
        .await
        .expect("request");
    let status = answer.status().as_u16();
    assert!(status != 200 || answer.headers()["content-type"] == "application/protobuf");
    (status, answer.bytes().await.expect("body").to_vec())
}

fn spans_in(data: &TracesData) -> Vec<&opentelemetry_proto::tonic::trace::v1::Span> {
    data.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect()
}

fn json_spans(batches: &Value) -> Vec<&Value> {
    batches
        .as_array()
        .expect("batches")
        .iter()
        .flat_map(|b| b["scopeSpans"].as_array().unwrap())
        .flat_map(|s| s["spans"].as_array().unwrap())
        .collect()
}

fn base64_hex(text: &str) -> String {
    use base64::Engine as _;
    hex::encode(base64::engine::general_purpose::STANDARD.decode(text).expect("base64"))
}

#[tokio::test]
async fn a_trace_by_id_decodes_as_traces_data_with_every_span_and_reads_as_tempo_json() {
    let server = server().start().await;
    let trace_id =
        otel::export(Exporter::grpc(server.grpc_addr()), otel::service("shop"), "shop", |tracer| {
            let root = tracer.span_builder("GET /checkout").with_kind(OtelKind::Server).start(tracer);
            let cx = Context::new().with_span(root);
            for index in 0..40 {
                let mut span = tracer
                    .span_builder(format!("step {index}"))
                    .with_attributes([OtelKeyValue::new("step", index as i64)])
                    .start_with_context(tracer, &cx);
                span.end();
            }
            let trace_id = format!("{:032x}", cx.span().span_context().trace_id());
            cx.span().end();
            trace_id
        })
        .await
        .expect("spans exported");

    let (status, bytes) = get_protobuf(&server, &format!("/api/traces/{trace_id}")).await;
    assert_eq!(status, 200);
    let data = TracesData::decode(bytes.as_slice()).expect("TracesData");
    let spans = spans_in(&data);
    assert_eq!(spans.len(), 41);
    assert!(spans.iter().all(|span| hex::encode(&span.trace_id) == trace_id));
    assert_eq!(spans.iter().filter(|span| span.name.starts_with("step ")).count(), 40);

    let (status, bytes) = get_protobuf(&server, &format!("/api/v2/traces/{trace_id}")).await;
    assert_eq!(status, 200);
    let v2 = TraceByIdResponse::decode(bytes.as_slice()).expect("TraceByIDResponse");
    assert_eq!(spans_in(v2.trace.as_ref().expect("trace")).len(), 41);
    assert_eq!(v2.status, 0, "complete");

    // JSON: Tempo's `batches`, base64 IDs, 64-bit integers as strings, enum names.
    let (status, v1) = get(&server, &format!("/api/traces/{trace_id}")).await;
    assert_eq!(status, 200);
    let spans = json_spans(&v1["batches"]);
    assert_eq!(spans.len(), 41);
    let root = spans.iter().find(|span| span["name"] == "GET /checkout").expect("root");
    assert_eq!(base64_hex(root["traceId"].as_str().unwrap()), trace_id);
    assert_eq!(root["kind"], "SPAN_KIND_SERVER");
    assert!(root["startTimeUnixNano"].as_str().unwrap().parse::<u64>().is_ok(), "{root}");
    assert!(root.get("parentSpanId").is_none());
    let step = spans.iter().find(|span| span["name"] == "step 7").expect("step");
    assert_eq!(
        base64_hex(step["parentSpanId"].as_str().unwrap()),
        base64_hex(root["spanId"].as_str().unwrap())
    );
    assert_eq!(step["attributes"][0], serde_json::json!({"key": "step", "value": {"intValue": "7"}}));
    let resource = v1["batches"][0]["resource"]["attributes"].as_array().unwrap();
    let service = resource.iter().find(|kv| kv["key"] == "service.name").expect("service.name");
    assert_eq!(service["value"], serde_json::json!({"stringValue": "shop"}));
    assert_eq!(v1["batches"][0]["scopeSpans"][0]["scope"]["name"], "shop");

    let (status, v2) = get(&server, &format!("/api/v2/traces/{trace_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(v2["status"], "COMPLETE");
    assert_eq!(json_spans(&v2["trace"]["batches"]).len(), 41);
    assert!(v2.get("message").is_none(), "{v2}");

    // An unknown trace is 404, a bad ID 400.
    assert_eq!(get(&server, &format!("/api/traces/{}", TraceId::random())).await.0, 404);
    assert_eq!(get(&server, "/api/traces/not-hex").await.0, 400);
}

/// Three traces: `GET /a` (api, ok), `POST /b` (api > db, the db span failed), `GET /c`
/// (web).
fn shop(server: &RunningServer) -> [TraceId; 3] {
    let make = |root_name: &str, service: &str, failed_child: bool| {
        let trace_id = TraceId::random();
        let root_id = SpanId::random();
        let mut spans = vec![Span::new(trace_id, root_id, root_name)
            .with_kind(SpanKind::Server)
            .with_times(1_000_000_000, 1_020_000_000)
            .with_attribute("http.response.status_code", if failed_child { 500i64 } else { 200 })
            .with_resource_attribute("service.name", service)];
        if failed_child {
            for index in 0..3 {
                spans.push(
                    Span::new(trace_id, SpanId::random(), &format!("INSERT {index}"))
                        .with_parent(root_id)
                        .with_kind(SpanKind::Client)
                        .with_times(1_001_000_000 + index, 1_010_000_000)
                        .with_attribute("db.system", "postgresql")
                        .with_status(StatusCode::Error, "duplicate key")
                        .with_resource_attribute("service.name", "db"),
                );
            }
        }
        server.store().insert(spans);
        trace_id
    };
    [make("GET /a", "api", false), make("POST /b", "api", true), make("GET /c", "web", false)]
}

fn ids(answer: &Value) -> Vec<String> {
    answer["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["traceID"].as_str().unwrap().to_string())
        .collect()
}

fn query(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[tokio::test]
async fn traceql_search_answers_in_tempos_shape() {
    let server = server().start().await;
    let [a, b, c] = shop(&server);

    let (status, answer) =
        get(&server, &format!("/api/search?q={}&spss=2", query("{ status = error }"))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ids(&answer), [b.to_string()]);
    let hit = &answer["traces"][0];
    assert_eq!(hit["rootServiceName"], "api");
    assert_eq!(hit["rootTraceName"], "POST /b");
    assert_eq!(hit["startTimeUnixNano"], "1000000000");
    assert_eq!(hit["durationMs"], 20);
    let set = &hit["spanSets"][0];
    assert_eq!(set["matched"], 3, "{set}");
    assert_eq!(set["spans"].as_array().unwrap().len(), 2, "spss limits the spans shown");
    assert_eq!(set["spans"][0]["name"], "INSERT 0");
    assert_eq!(set["spans"][0]["durationNanos"], "9000000");
    assert_eq!(
        set["spans"][0]["attributes"][0],
        serde_json::json!({"key": "service.name", "value": {"stringValue": "db"}})
    );
    assert_eq!(hit["spanSet"], *set, "Grafana before 10 reads spanSet");
    assert!(answer["metrics"]["inspectedTraces"].as_u64().unwrap() >= 3);

    // Newest first; limit; an empty query matches every trace.
    let (_, answer) = get(&server, "/api/search?limit=2").await;
    assert_eq!(ids(&answer), [c.to_string(), b.to_string()]);
    let (_, answer) =
        get(&server, &format!("/api/search?q={}", query("{ resource.service.name = \"api\" }"))).await;
    assert_eq!(ids(&answer), [b.to_string(), a.to_string()]);
    // A time window in Unix seconds: the traces are at 1 s after the epoch.
    let (_, answer) = get(&server, "/api/search?start=100&end=200").await;
    assert_eq!(ids(&answer), Vec::<String>::new());
    let (_, answer) = get(&server, "/api/search?start=0&end=2").await;
    assert_eq!(ids(&answer).len(), 3);

    // The older tag search: logfmt tags and durations.
    let tags = query("service.name=api http.response.status_code=500");
    let (_, answer) = get(&server, &format!("/api/search?tags={tags}&minDuration=10ms")).await;
    assert_eq!(ids(&answer), [b.to_string()]);
    let (_, answer) = get(&server, &format!("/api/search?tags={tags}&minDuration=1s")).await;
    assert_eq!(ids(&answer), Vec::<String>::new());

    // A syntax error is 400 with the column; so are bad parameters.
    let (status, body) = get(&server, &format!("/api/search?q={}", query("{ status = }"))).await;
    assert_eq!(status, 400);
    assert_eq!(body["column"], 12, "{body}");
    assert!(body["error"].as_str().unwrap().contains("{ status = }"), "{body}");
    let (status, body) = get(&server, "/api/search?minDuration=soon").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("minDuration"), "{body}");
    let (status, _) = get(&server, &format!("/api/search?tags={}", query("a=\"open"))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn tags_and_their_typed_values() {
    let server = server().start().await;
    shop(&server);
    let (_, tags) = get(&server, "/api/search/tags").await;
    let names = tags["tagNames"].as_array().unwrap();
    for name in ["db.system", "http.response.status_code", "service.name"] {
        assert!(names.contains(&Value::from(name)), "{tags}");
    }
    let (_, scoped) = get(&server, "/api/v2/search/tags").await;
    let scope = |name: &str| scoped["scopes"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned();
    assert_eq!(scope("resource").unwrap()["tags"], serde_json::json!(["service.name"]));
    assert!(scope("span").unwrap()["tags"].as_array().unwrap().contains(&Value::from("db.system")));
    assert!(scope("intrinsic").unwrap()["tags"].as_array().unwrap().contains(&Value::from("status")));
    let (_, only) = get(&server, "/api/v2/search/tags?scope=resource").await;
    assert_eq!(only["scopes"].as_array().unwrap().len(), 1);
    assert_eq!(get(&server, "/api/v2/search/tags?scope=nowhere").await.0, 400);

    let (_, values) = get(&server, "/api/search/tag/service.name/values").await;
    assert_eq!(values["tagValues"], serde_json::json!(["api", "db", "web"]));
    let (_, values) = get(&server, "/api/v2/search/tag/span.http.response.status_code/values").await;
    assert_eq!(
        values["tagValues"],
        serde_json::json!([{"type": "int", "value": "200"}, {"type": "int", "value": "500"}])
    );
    let (_, values) = get(&server, "/api/v2/search/tag/resource.service.name/values").await;
    assert_eq!(values["tagValues"].as_array().unwrap().len(), 3);
    let (_, values) = get(&server, "/api/v2/search/tag/status/values").await;
    assert_eq!(
        values["tagValues"],
        serde_json::json!([{"type": "keyword", "value": "error"}, {"type": "keyword", "value": "unset"}])
    );
    assert_eq!(get(&server, "/api/v2/search/tag/nonsense/values").await.0, 400);
    assert_eq!(get(&server, "/api/echo").await.1, "echo");
    assert_eq!(get(&server, "/ready").await.1, "ready");
}

/// `?wait=` answers once the trace is complete where a plain read races: v2 then says
/// `COMPLETE`.
#[tokio::test]
async fn a_waiting_read_returns_the_complete_trace_where_a_plain_read_races() {
    let server = server().start().await;
    // A 64-bit ID in a 128-bit field: Tempo's clients may send it without the leading zeros.
    let trace_id = TraceId([0, 0, 0, 0, 0, 0, 0, 0, 0xab, 1, 2, 3, 4, 5, 6, 7]);
    let short = "ab01020304050607";
    let root_id = SpanId::random();
    let root =
        Span::new(trace_id, root_id, "GET /").with_times(1, 10).with_resource_attribute("service.name", "a");
    let child = Span::new(trace_id, SpanId::random(), "child").with_parent(root_id).with_times(2, 3);
    server.store().insert(vec![child]);
    let url = format!("http://{}/tempo/api/v2/traces/{short}?wait=20s", server.http_addr());
    let waiting = tokio::spawn(async move {
        let body = reqwest::get(url).await.expect("request").bytes().await.expect("body");
        serde_json::from_slice::<Value>(&body)
    });
    server.store().waiting_on(trace_id).await;
    let (status, partial) = get(&server, &format!("/api/v2/traces/{trace_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(json_spans(&partial["trace"]["batches"]).len(), 1, "the plain read races");
    server.store().insert(vec![root]);
    let whole = waiting.await.unwrap().expect("json");
    assert_eq!(json_spans(&whole["trace"]["batches"]).len(), 2, "{whole}");
    assert_eq!(whole["status"], "COMPLETE");
    // A trace still missing a parent when the wait runs out is PARTIAL, saying what is missing.
    let orphan_trace = TraceId::random();
    let missing = SpanId::random();
    server.store().insert(vec![Span::new(orphan_trace, SpanId::random(), "orphan")
        .with_parent(missing)
        .with_times(1, 2)]);
    let (status, partial) = get(&server, &format!("/api/v2/traces/{orphan_trace}?wait=300ms")).await;
    assert_eq!(status, 200);
    assert_eq!(partial["status"], "PARTIAL", "{partial}");
    assert!(partial["message"].as_str().unwrap().contains(&missing.to_string()), "{partial}");
    let (status, bytes) = get_protobuf(&server, &format!("/api/v2/traces/{orphan_trace}?wait=300ms")).await;
    assert_eq!(status, 200);
    let v2 = TraceByIdResponse::decode(bytes.as_slice()).expect("TraceByIDResponse");
    assert_eq!((v2.status, v2.message.contains(&missing.to_string())), (1, true), "{v2:?}");
    let (status, body) = get(&server, &format!("/api/traces/{trace_id}?wait=soon")).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("wait=\"soon\""), "{body}");
}

/// The real binary's `--tempo-addr` listener serves the API at its root, and `/tempo` on
/// the HTTP port too, both behind `--auth-token`.
#[tokio::test]
async fn the_tempo_listener_of_the_real_binary_is_behind_the_token() {
    let serve = serve(&["--tempo-addr", "127.0.0.1:0", "--auth-token", "t0ken"]).await;
    let tempo = serve.tempo.expect("the listening line names tempo=ADDR");
    let http = reqwest::Client::new();
    let ready = format!("http://{tempo}/ready");
    assert_eq!(http.get(&ready).send().await.expect("get").status(), 401);
    let answer = http.get(&ready).bearer_auth("t0ken").send().await.expect("get");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "ready");
    let search = http
        .get(format!("http://{tempo}/api/search?q=%7B%7D"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("get");
    assert_eq!(search.status(), 200);
    let body: Value = serde_json::from_slice(&search.bytes().await.expect("body")).expect("json");
    assert_eq!(body["traces"], serde_json::json!([]));
    let prefixed = format!("http://{}/tempo/api/echo", serve.http);
    assert_eq!(http.get(&prefixed).send().await.expect("get").status(), 401);
    assert_eq!(
        http.get(&prefixed).bearer_auth("t0ken").send().await.expect("get").text().await.unwrap(),
        "echo"
    );
}

/// README's ten-line Python test (`examples/wait_for_trace.py`) against an app exporting
/// with the real SDK, which sends the database span before the request's root span has
/// ended: a plain fetch at that moment would see one span; the script's `?wait=30s` read
/// answers with both.
#[tokio::test]
async fn the_readmes_python_test_reads_the_whole_trace_while_the_app_is_still_exporting() {
    let server = server().start().await;
    let exporter = Exporter::grpc(server.grpc_addr());
    let (trace_id, root_cx, provider) = otel::blocking(move || {
        let provider = exporter.provider(otel::service("users"));
        let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "users");
        let root = tracer.span_builder("GET /users").with_kind(OtelKind::Server).start(&tracer);
        let cx = Context::new().with_span(root);
        tracer
            .span_builder("SELECT users")
            .with_kind(OtelKind::Client)
            .start_with_context(&tracer, &cx)
            .end();
        provider.force_flush().expect("the child exported");
        (format!("{:032x}", cx.span().span_context().trace_id()), cx, provider)
    })
    .await;
    let script = tokio::process::Command::new("python3")
        .arg(crate::support::root().join("examples/wait_for_trace.py"))
        .env("TRACECHECK_URL", format!("http://{}", server.http_addr()))
        .env("TRACE_ID", &trace_id)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3");
    let id = TraceId::from_hex(&trace_id).unwrap();
    server.store().waiting_on(id).await;
    assert_eq!(
        server.store().get(id).expect("stored").spans.len(),
        1,
        "a plain read now sees the child only"
    );
    otel::blocking(move || {
        root_cx.span().end();
        otel::flush(&provider).expect("the root exported");
    })
    .await;
    let output = script.wait_with_output().await.expect("script");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "2 spans: GET /users, SELECT users");
}
