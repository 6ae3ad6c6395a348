//! Trace compare (issue 21, missing item 6): `tracecheck traces diff A B` from the real
//! binary against a real server, and the web API's `GET /api/v1/diff`, which answer the
//! same `wire::TraceDiff` (one matching, `wire::diff`).

use model::{Span, SpanId, StatusCode, TraceId};
use serde_json::Value;

use crate::support::{server, tracecheck, ServerExt};

const MS: u64 = 1_000_000;

/// `GET /cart` (web) > `SELECT` (api), `cache` (api); in B the root takes 3x as long, the
/// `SELECT` fails, `cache` is gone and a `retry` came.
fn traces() -> ([TraceId; 2], Vec<Span>, Vec<Span>) {
    let (a, b) = (TraceId::random(), TraceId::random());
    let span =
        |trace: TraceId, id: u8, parent: Option<u8>, service: &str, name: &str, start: u64, ms: u64| {
            let built = Span::new(trace, SpanId([id; 8]), name)
                .with_times(start * MS, (start + ms) * MS)
                .with_resource_attribute("service.name", service);
            match parent {
                Some(parent) => built.with_parent(SpanId([parent; 8])),
                None => built,
            }
        };
    let spans_a = vec![
        span(a, 1, None, "web", "GET /cart", 0, 10),
        span(a, 2, Some(1), "api", "SELECT", 1, 2),
        span(a, 3, Some(1), "api", "cache", 4, 1),
    ];
    let spans_b = vec![
        span(b, 1, None, "web", "GET /cart", 0, 30),
        span(b, 2, Some(1), "api", "SELECT", 1, 2).with_status(StatusCode::Error, "deadlock"),
        span(b, 4, Some(1), "api", "retry", 5, 20),
    ];
    ([a, b], spans_a, spans_b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_diff_in_the_terminal_and_the_web_api_agree() {
    let server = server().start().await;
    let ([a, b], spans_a, spans_b) = traces();
    server.store().insert(spans_a);
    server.store().insert(spans_b);
    let url = server.grpc_url();
    let (a, b) = (a.to_string(), b.to_string());

    let json = tracecheck().args(["traces", "diff", &a, &b, "--server", &url, "-o", "json"]).output().await;
    json.assert_code(0);
    let diff = json.json();
    assert_eq!(
        diff["counts"],
        serde_json::json!({"matched": 2, "added": 1, "missing": 1, "slower": 1, "failed": 1, "fixed": 0})
    );
    let rows: Vec<(String, String)> = diff["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| (row["name"].as_str().unwrap().to_string(), row["change"].as_str().unwrap().to_string()))
        .collect();
    let expected =
        [("GET /cart", "matched"), ("SELECT", "matched"), ("cache", "missing"), ("retry", "added")];
    assert_eq!(rows, expected.map(|(name, change)| (name.to_string(), change.to_string())));

    let api =
        reqwest::get(format!("http://{}/api/v1/diff?a={a}&b={b}", server.http_addr())).await.expect("diff");
    assert_eq!(api.status(), 200);
    let api: Value = serde_json::from_slice(&api.bytes().await.expect("body")).expect("json");
    assert_eq!(api, diff, "the web API answers what the CLI prints");
    // The UI reads it as its JSDoc type says.
    crate::ui_js::Wire::load().assert(&api, "TraceDiff");

    let pretty = tracecheck().args(["traces", "diff", &a, &b, "--server", &url]).output().await;
    pretty.assert_code(0);
    let text = pretty.stdout();
    assert!(
        text.starts_with(&format!(
            "A {a}  GET /cart  3 spans  10.0 ms\nB {b}  GET /cart  3 spans  30.0 ms\n"
        )),
        "{text}"
    );
    assert!(text.contains("2 matched, 1 added, 1 missing, 1 slower, 1 failed, 0 fixed"), "{text}");
    for line in ["~  web: GET /cart", "!    api: SELECT", "-    api: cache", "+    api: retry"] {
        assert!(text.lines().any(|l| l.starts_with(line)), "{line:?} in\n{text}");
    }

    // Bad input is exit 2 before anything is fetched; a trace nobody holds is exit 1.
    let bad = tracecheck().args(["traces", "diff", &a, "nope", "--server", &url]).output().await;
    bad.assert_code(2);
    assert!(bad.stderr().contains("invalid trace id \"nope\""), "{bad}");
    let missing = "0123456789abcdef0123456789abcdef";
    let gone = tracecheck().args(["traces", "diff", &a, missing, "--server", &url]).output().await;
    gone.assert_code(1);
    assert!(gone.stderr().contains(&format!("trace {missing} not found")), "{gone}");
    let status = |path: String| async move { reqwest::get(path).await.expect("request").status().as_u16() };
    let base = format!("http://{}/api/v1/diff", server.http_addr());
    assert_eq!(status(format!("{base}?a={a}")).await, 400);
    assert_eq!(status(format!("{base}?a={a}&b={missing}")).await, 404);
    assert_eq!(status(format!("{base}?a={a}&b={b}&run_b=7")).await, 404);
    server.shutdown().await.expect("shutdown");
}
