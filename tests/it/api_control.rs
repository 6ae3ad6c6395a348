//! The control API over a real socket: the server on 127.0.0.1:0 with `ControlService`
//! beside OTLP, its store filled directly, driven through the crate's own `RemoteClient`
//! and the `traces` CLI functions.

use std::time::Duration;

use model::{AttributeValue, Span, SpanId, SpanKind, StatusCode, TraceId};
use server::api::{Error, RemoteClient};
use store::WaitOptions;
use tracecheck::cli::{traces, ClientArgs, ViewFormat};

use crate::support::{free_addr, server, ServerExt, HANG, NEVER};

fn tid(n: u8) -> TraceId {
    TraceId([n; 16])
}

fn sid(n: u8) -> SpanId {
    SpanId([n; 8])
}

/// A three-span trace: a server root, a client child that failed, a grandchild.
fn sample_trace(trace: u8) -> Vec<Span> {
    let base = 1_700_000_000_000_000_000u64;
    let root = Span::new(tid(trace), sid(1), "POST /users")
        .with_kind(SpanKind::Server)
        .with_times(base, base + 12_000_000)
        .with_attribute("http.status_code", 201i64)
        .with_attribute("http.route", "/users")
        .with_attribute("sampled", true)
        .with_attribute("ratio", 0.25)
        .with_resource_attribute("service.name", "users");
    let resource = root.resource.clone();
    let mut child = Span::new(tid(trace), sid(2), "INSERT users")
        .with_parent(sid(1))
        .with_kind(SpanKind::Client)
        .with_times(base + 1_000_000, base + 9_000_000)
        .with_status(StatusCode::Error, "duplicate key")
        .with_attribute("db.system", "postgresql")
        .with_attribute("tags", AttributeValue::array(["a".into(), 2i64.into()]));
    child.resource = resource.clone();
    let mut grandchild = Span::new(tid(trace), sid(3), "connect")
        .with_parent(sid(2))
        .with_times(base + 1_000_000, base + 2_000_000);
    grandchild.resource = resource;
    vec![root, child, grandchild]
}

fn wait_options(settle_ms: u64, grace_ms: u64, timeout_ms: u64) -> WaitOptions {
    crate::support::wait_options(
        Duration::from_millis(settle_ms),
        Duration::from_millis(grace_ms),
        Duration::from_millis(timeout_ms),
    )
}

#[tokio::test]
async fn list_get_and_stats_through_the_client() {
    let server = server().start().await;
    server.store().insert(sample_trace(1));
    server.store().insert(vec![Span::new(tid(2), sid(1), "GET /health")]);
    server.store().insert(sample_trace(1)); // duplicates
    server.store().record_rejected(4);
    let client = server.client().await;

    let list = client.list(0).await.expect("list");
    assert_eq!(list.iter().map(|summary| summary.trace_id).collect::<Vec<_>>(), vec![tid(2), tid(1)]);
    let users = &list[1];
    assert_eq!(
        (users.root_name.as_str(), users.service_name.as_str(), users.span_count),
        ("POST /users", "users", 3)
    );
    assert_eq!(users.duration_nanos, 12_000_000);
    assert_eq!(client.list(1).await.expect("list").len(), 1);

    let trace = client.get(tid(1)).await.expect("get").expect("found");
    let expected = sample_trace(1);
    assert_eq!(trace.spans.len(), expected.len());
    for (got, want) in trace.spans.iter().zip(&expected) {
        assert_eq!(**got, *want, "every field, parent link and attribute type survives the wire");
    }
    assert!(client.get(tid(9)).await.expect("get").is_none());

    let stats = client.stats().await.expect("stats");
    assert_eq!(stats, server.store().stats());
    assert_eq!(
        (
            stats.spans_received,
            stats.duplicate_spans,
            stats.spans_held,
            stats.traces_held,
            stats.spans_rejected
        ),
        (7, 3, 4, 2, 4)
    );
}

/// Grace and timeout an hour away: only the insert can end the wait within [`HANG`]. The
/// settle window holds the answer: a span inserted right after the trace became complete
/// is in it. (The settle arithmetic itself is tested on paused time in `store`.)
#[tokio::test]
async fn wait_trace_wakes_on_a_late_insert() {
    let server = server().start().await;
    // The child's parent has not arrived: incomplete until it does.
    let mut spans = sample_trace(1);
    let missing_parent = spans.remove(1);
    server.store().insert(spans);
    let client = server.client().await;
    let waiting = {
        let client = client.clone();
        let options = crate::support::wait_options(Duration::from_secs(1), NEVER, NEVER);
        tokio::spawn(async move { client.wait(tid(1), &options, &[]).await })
    };
    server.store().waiting_on(tid(1)).await;
    server.store().insert(vec![missing_parent]);
    let straggler = Span::new(tid(1), sid(4), "audit").with_parent(sid(1));
    server.store().insert(vec![straggler]);
    let outcome =
        tokio::time::timeout(HANG, waiting).await.expect("woken by the insert").expect("join").expect("wait");
    assert!(outcome.complete, "{:?}", outcome.missing);
    assert_eq!(outcome.trace.expect("trace").spans.len(), 4, "the span in the settle window is judged too");
    assert!(outcome.last_span_at.is_some());
    assert_eq!(server.store().waiters(tid(1)), 0, "unpinned after the answer");
}

/// With no settle, the insert that completes the trace answers the wait; grace and
/// timeout are an hour away.
#[tokio::test]
async fn wait_trace_wakes_promptly_with_zero_settle() {
    let server = server().start().await;
    let mut spans = sample_trace(1);
    let root = spans.remove(0);
    server.store().insert(spans);
    let client = server.client().await;
    let waiting = {
        let client = client.clone();
        let options = crate::support::wait_options(Duration::ZERO, NEVER, NEVER);
        tokio::spawn(async move { client.wait(tid(1), &options, &[]).await })
    };
    server.store().waiting_on(tid(1)).await;
    server.store().insert(vec![root]);
    let outcome =
        tokio::time::timeout(HANG, waiting).await.expect("woken by the insert").expect("join").expect("wait");
    assert!(outcome.complete, "{:?}", outcome.missing);
}

#[tokio::test]
async fn wait_trace_reports_the_dangling_parent_after_grace() {
    let server = server().start().await;
    let mut spans = sample_trace(1);
    spans.remove(1);
    server.store().insert(spans);
    let client = server.client().await;
    let outcome = client.wait(tid(1), &wait_options(50, 200, 30_000), &[]).await.expect("wait");
    assert!(!outcome.complete);
    assert_eq!(outcome.missing, vec![format!("1 dangling parent {}", sid(2))]);
    assert_eq!(outcome.trace.expect("trace").spans.len(), 2);
}

#[tokio::test]
async fn wait_trace_times_out_without_spans() {
    let server = server().start().await;
    let client = server.client().await;
    let outcome = client.wait(tid(5), &wait_options(50, 100, 300), &[]).await.expect("wait");
    assert!(outcome.trace.is_none());
    assert!(!outcome.complete);
    assert!(outcome.last_span_at.is_none());
}

#[tokio::test]
async fn wait_trace_treats_the_trigger_span_as_root() {
    let server = server().start().await;
    server.store().insert(vec![Span::new(tid(1), sid(2), "handler").with_parent(sid(9))]);
    let client = server.client().await;
    let mut options = wait_options(50, 20_000, 30_000);
    options.trigger_span_id = Some(sid(9));
    let outcome = client.wait(tid(1), &options, &[]).await.expect("wait");
    assert!(outcome.complete, "{:?}", outcome.missing);
}

#[tokio::test]
async fn auth_token_is_required_when_set() {
    let server = server().auth_token("s3cret").start().await;
    server.store().insert(sample_trace(1));
    let anonymous = server.client().await;
    match anonymous.list(0).await {
        Err(Error::Status { status, .. }) => assert_eq!(status.code(), tonic::Code::Unauthenticated),
        other => panic!("expected unauthenticated, got {other:?}"),
    }
    let wrong = RemoteClient::connect(&server.grpc_url(), Some("guess")).await.expect("connect");
    assert!(wrong.stats().await.is_err());
    let client = RemoteClient::connect(&server.grpc_url(), Some("s3cret")).await.expect("connect");
    assert_eq!(client.list(0).await.expect("list").len(), 1);
}

#[tokio::test]
async fn traces_cli_functions_print_pretty_and_json() {
    let server = server().start().await;
    server.store().insert(sample_trace(1));
    let trace_hex = tid(1).to_string();
    let remote = ClientArgs::new(server.grpc_url());

    let mut out = Vec::new();
    traces::list(&remote, 0, ViewFormat::Pretty, &mut out).await.expect("list");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains(&trace_hex) && text.contains("POST /users") && text.contains("users"), "{text}");

    let mut out = Vec::new();
    traces::list(&remote, 0, ViewFormat::Json, &mut out).await.expect("list");
    let json: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(json["traces"][0]["trace_id"], trace_hex.as_str());
    assert_eq!(json["traces"][0]["span_count"], 3);

    let mut out = Vec::new();
    traces::get(&remote, &trace_hex, ViewFormat::Pretty, false, &mut out).await.expect("get");
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[1].starts_with("POST /users"), "{text}");
    assert!(lines[2].starts_with("└─ INSERT users") && lines[2].contains("✗ error: duplicate key"), "{text}");
    assert!(lines[3].starts_with("   └─ connect"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when asked for none");

    let mut out = Vec::new();
    traces::get(&remote, &trace_hex.to_uppercase(), ViewFormat::Json, false, &mut out).await.expect("get");
    let json: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let spans = json["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 3);
    assert_eq!(spans[1]["parent_span_id"], sid(1).to_string().as_str());
    // The web API's span (wire::Span): attributes an object of typed values.
    assert_eq!(spans[0]["attributes"]["http.status_code"], 201);
    assert_eq!(spans[0]["attributes"]["ratio"], 0.25);
    assert_eq!(spans[1]["status"]["code"], "error");

    let missing = traces::get(&remote, &tid(7).to_string(), ViewFormat::Json, false, &mut Vec::new()).await;
    assert!(matches!(missing, Err(traces::Error::TraceNotFound(id)) if id == tid(7)));
    let bad = traces::get(&remote, "xyz", ViewFormat::Json, false, &mut Vec::new()).await;
    assert!(matches!(&bad, Err(error) if error.is_bad_input()), "{bad:?}");
}

#[tokio::test]
async fn connect_to_a_closed_port_fails_cleanly() {
    let addr = free_addr();
    match RemoteClient::connect(&addr.to_string(), None).await {
        Err(Error::Connect { url, .. }) => assert_eq!(url, format!("http://{addr}")),
        other => panic!("expected a connect error, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn wait_trace_applies_selectors_as_rule_3() {
    let server = server().start().await;
    // Without the db span the trace is structurally complete but the selector matches none.
    let mut spans = sample_trace(1);
    let db_span = spans.remove(1);
    let mut orphan = spans.pop().expect("grandchild");
    orphan.parent_span_id = Some(sid(1));
    server.store().insert(vec![spans.remove(0), orphan]);
    let client = server.client().await;
    let selectors = vec![r#"span[name="INSERT users"]"#.to_string()];
    let waiting = {
        let client = client.clone();
        let selectors = selectors.clone();
        tokio::spawn(async move { client.wait(tid(1), &wait_options(50, 20_000, 30_000), &selectors).await })
    };
    server.store().waiting_on(tid(1)).await;
    server.store().insert(vec![db_span]);
    let outcome = waiting.await.expect("join").expect("wait");
    assert!(outcome.complete, "{:?}", outcome.missing);

    let outcome = client
        .wait(tid(1), &wait_options(50, 200, 30_000), &[r#"span[name="cache"]"#.to_string()])
        .await
        .expect("wait");
    assert!(!outcome.complete);
    assert_eq!(outcome.missing, vec![r#"selector span[name="cache"] matched none"#.to_string()]);
}

#[tokio::test]
async fn wait_trace_refuses_a_bad_selector() {
    let server = server().start().await;
    let client = server.client().await;
    match client.wait(tid(1), &wait_options(10, 100, 1_000), &["span[name=".to_string()]).await {
        Err(Error::Status { status, .. }) => {
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert!(status.message().contains("bad selector"), "{}", status.message());
        }
        other => panic!("expected invalid argument, got {other:?}"),
    }
}

/// A span's name and status message reach the terminal escaped: an OSC 52 clipboard write,
/// a screen clear, a carriage return and a backspace from whoever sent the trace are shown,
/// not obeyed, in the table and the waterfall (`run` and `analyze` go through the same
/// finishing step, `report::style::terminal_safe`).
#[tokio::test]
async fn pretty_output_escapes_control_characters_from_the_trace() {
    let server = server().start().await;
    let hostile = "evil\x1b]52;c;aGk=\x07\x1b[2J\rX\x08\u{9b}2J";
    let span = Span::new(tid(3), sid(1), hostile)
        .with_status(StatusCode::Error, "boom\x1b[8m")
        .with_resource_attribute("service.name", "svc\r");
    server.store().insert(vec![span]);
    let remote = ClientArgs::new(server.grpc_url());
    let mut out = Vec::new();
    traces::list(&remote, 0, ViewFormat::Pretty, &mut out).await.expect("list");
    traces::get(&remote, &tid(3).to_string(), ViewFormat::Pretty, false, &mut out).await.expect("get");
    let text = String::from_utf8(out).expect("utf-8");
    for control in ['\x1b', '\x07', '\r', '\x08', '\u{9b}'] {
        assert!(!text.contains(control), "{control:?} reached the terminal: {text:?}");
    }
    assert!(text.contains("evil\\u{1b}]52;c;aGk=\\u{7}"), "{text}");
    assert!(text.contains("boom\\u{1b}[8m"), "{text}");
}
