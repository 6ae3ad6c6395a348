//! MCP at `/mcp` with the official MCP Python SDK as the client (`tests/fixtures/mcp/client.py`,
//! the SDK from `tests/tools/provision mcp`), over Streamable HTTP with the bearer token:
//! it lists the tools, then lists services, searches, reads, selects, analyzes, waits for a
//! trace that completes while it waits, and reads recorded runs. Without the token the
//! endpoint answers 401 like every other route.

use std::process::Stdio;

use model::{Span, SpanId, SpanKind, StatusCode, TraceId};
use report::{RunKind, RunReport, RunState};
use serde_json::{json, Value};
use server::api::RemoteClient;

use crate::support::tools::tool;
use crate::support::{fixture, server};

const TOKEN: &str = "s3cret";

/// `POST /users` (users) > `INSERT users` (users, error) > `query` (db).
fn trace() -> (TraceId, Vec<Span>) {
    let trace_id = TraceId::random();
    let ids = [SpanId::random(), SpanId::random(), SpanId::random()];
    let root = Span::new(trace_id, ids[0], "POST /users")
        .with_kind(SpanKind::Server)
        .with_times(1_000_000, 9_000_000)
        .with_attribute("http.request.method", "POST")
        .with_attribute("http.response.status_code", 500i64)
        .with_resource_attribute("service.name", "users");
    let insert = Span::new(trace_id, ids[1], "INSERT users")
        .with_parent(ids[0])
        .with_kind(SpanKind::Client)
        .with_times(2_000_000, 8_500_000)
        .with_attribute("db.system", "postgresql")
        .with_status(StatusCode::Error, "duplicate key")
        .with_resource_attribute("service.name", "users");
    let query = Span::new(trace_id, ids[2], "query")
        .with_parent(ids[1])
        .with_times(3_000_000, 4_000_000)
        .with_resource_attribute("service.name", "db");
    (trace_id, vec![root, insert, query])
}

fn report(name: &str) -> RunReport {
    RunReport {
        name: name.to_string(),
        kind: RunKind::Test,
        state: RunState::Failed,
        steps: Vec::new(),
        variables: Default::default(),
        file: Some(format!("{name}.yaml")),
        duration_ms: Some(7),
    }
}

#[tokio::test]
async fn the_official_python_sdk_lists_and_calls_every_tool() {
    let server = server().auth_token(TOKEN).max_runs(10).start().await;
    let (trace_id, spans) = trace();
    server.store().insert(spans);
    // A second trace arrives while the client waits for it, in two parts, its root last.
    // (Stored before the wait began, its parts could be judged as they are before the
    // client, slow to start on a loaded machine, asked: the wait's grace is 5 s.)
    let (late_id, mut late) = trace();
    let late_root = late.remove(0);
    let client =
        RemoteClient::connect(&format!("http://{}", server.grpc_addr()), Some(TOKEN)).await.expect("client");
    client.record_run(&report("create user"), &[]).await.expect("RecordRun");

    let calls = json!([
        ["list_services", {}],
        ["search_traces", {"service": "users", "attributes": {"http.response.status_code": "500"}, "min_duration": "5ms"}],
        ["search_traces", {"traceql": "{ status = error && span.db.system = \"postgresql\" }"}],
        ["search_traces", {"traceql": "{ status = }"}],
        ["get_trace", {"trace_id": trace_id.to_string(), "max_spans": 2}],
        ["select_spans", {"trace_id": trace_id.to_string(), "selector": "span[tracetest.span.type=\"database\"]"}],
        ["select_spans", {"trace_id": trace_id.to_string(), "selector": "{ kind = client } > { }"}],
        ["analyze_trace", {"trace_id": trace_id.to_string()}],
        ["wait_for_trace", {"trace_id": late_id.to_string(), "timeout": "20s"}],
        ["get_trace", {"trace_id": TraceId::random().to_string()}],
        ["list_runs", {}],
        ["get_run", {"run_id": 1}],
    ]);
    let sdk = tool("mcp");
    let child = tokio::process::Command::new("python3")
        .arg(fixture("mcp/client.py"))
        .arg(format!("http://{}/mcp", server.http_addr()))
        .arg(TOKEN)
        .arg(calls.to_string())
        .env("PYTHONPATH", &sdk)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3");
    // The event: the client's wait_for_trace is pinned on the late trace; then it lands. A
    // client that fails before it waits ends the test with its error rather than a hang.
    let store = server.store().clone();
    let feeder = tokio::spawn(async move {
        store.waiting_on(late_id).await;
        store.insert(late);
        store.insert(vec![late_root]);
    });
    let output = child.wait_with_output().await.expect("client output");
    feeder.abort();
    assert!(output.status.success(), "client failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let out: Value = serde_json::from_slice(&output.stdout).expect("client JSON");

    assert_eq!(out["server"], "tracecheck");
    let names: Vec<&str> =
        out["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "list_services",
            "search_traces",
            "get_trace",
            "select_spans",
            "analyze_trace",
            "wait_for_trace",
            "list_runs",
            "get_run"
        ]
    );
    let get_trace = out["tools"].as_array().unwrap().iter().find(|t| t["name"] == "get_trace").unwrap();
    assert!(get_trace["description"].as_str().unwrap().contains("at most 1000"), "{get_trace}");

    let calls = out["calls"].as_array().unwrap();
    let value = |index: usize| -> &Value {
        assert_eq!(calls[index]["is_error"], false, "call {index}: {}", calls[index]);
        &calls[index]["value"]
    };
    // list_services: both services with their operations.
    let services = value(0)["services"].as_array().unwrap();
    let users = services.iter().find(|s| s["service"] == "users").expect("users");
    assert_eq!(users["operations"], json!(["INSERT users", "POST /users"]));
    assert!(services.iter().any(|s| s["service"] == "db"));

    // The structured filters compile to one TraceQL query, shown in the answer.
    let search = value(1);
    assert_eq!(
        search["query"],
        "{ resource.service.name = \"users\" && (.http.response.status_code = 500 || \
         .http.response.status_code = \"500\") && traceDuration >= 5000000ns }"
    );
    let found: Vec<&str> =
        search["traces"].as_array().unwrap().iter().map(|t| t["trace_id"].as_str().unwrap()).collect();
    assert!(found.contains(&trace_id.to_string().as_str()), "{search}");
    let search = value(2);
    let hit =
        search["traces"].as_array().unwrap().iter().find(|t| t["trace_id"] == trace_id.to_string()).unwrap();
    assert_eq!(hit["matched_span_ids"].as_array().unwrap().len(), 1, "{hit}");
    // A bad query is the tool's error, with its column.
    assert_eq!(calls[3]["is_error"], true);
    assert!(calls[3]["value"].as_str().unwrap().contains("column"), "{}", calls[3]);

    // get_trace: bounded, the error span first, then the critical path.
    let digest = value(4);
    assert_eq!(digest["summary"]["span_count"], 3);
    assert_eq!(digest["omitted_spans"], 1);
    let names: Vec<&str> =
        digest["spans"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["INSERT users", "POST /users"]);
    assert_eq!(digest["critical_path"].as_array().unwrap().len(), 3);

    // select_spans: a Tracetest selector and TraceQL.
    assert_eq!(value(5)["matched"], 1);
    assert_eq!(value(5)["spans"][0]["name"], "INSERT users");
    assert_eq!(value(6)["spans"][0]["name"], "query");

    // analyze_trace: the analyzer's result.
    assert!(value(7)["analyzer"]["score"].is_number(), "{}", value(7));

    // wait_for_trace answered with the whole trace, judged complete.
    let waited = value(8);
    assert_eq!(waited["summary"]["span_count"], 3, "{waited}");
    assert_eq!(waited["complete"], true, "{waited}");

    // An unknown trace is the tool's error.
    assert_eq!(calls[9]["is_error"], true);
    assert!(calls[9]["value"].as_str().unwrap().contains("not found"), "{}", calls[9]);

    // Recorded runs.
    assert_eq!(value(10)["runs"][0]["name"], "create user");
    assert_eq!(value(11)["report"]["name"], "create user");
}

/// POSTs `body` to `url` (with the token when given): the status and the JSON answer
/// (`Value::Null` for an empty body).
async fn post(url: &str, token: Option<&str>, body: String) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url).header("content-type", "application/json").body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("post");
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.expect("body");
    (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("json") })
}

#[tokio::test]
async fn the_endpoint_is_behind_the_bearer_token_and_speaks_json_rpc() {
    let server = server().auth_token(TOKEN).start().await;
    let url = format!("http://{}/mcp", server.http_addr());
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    .to_string();
    assert_eq!(post(&url, None, initialize.clone()).await.0, 401);
    let (status, body) = post(&url, Some(TOKEN), initialize).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], 1);
    assert_eq!(body["result"]["protocolVersion"], "2025-03-26");
    assert_eq!(body["result"]["capabilities"], json!({"tools": {"listChanged": false}}));
    // A notification is taken without an answer; a bad message and an unknown method are
    // JSON-RPC errors; GET (no server stream) is 405.
    let notification = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    assert_eq!(post(&url, Some(TOKEN), notification).await, (202, Value::Null));
    let (_, bad) = post(&url, Some(TOKEN), "{not json".to_string()).await;
    assert_eq!(bad["error"]["code"], -32700, "{bad}");
    assert_eq!(bad["id"], Value::Null, "{bad}");
    let unknown = json!({"jsonrpc": "2.0", "id": "x", "method": "resources/list"}).to_string();
    let (_, unknown) = post(&url, Some(TOKEN), unknown).await;
    assert_eq!(unknown["id"], "x");
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let tool =
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "nope"}}).to_string();
    let (_, tool) = post(&url, Some(TOKEN), tool).await;
    assert_eq!(tool["error"]["code"], -32602, "{tool}");
    let get = reqwest::Client::new().get(&url).bearer_auth(TOKEN).send().await.expect("get");
    assert_eq!(get.status(), 405);
}
