//! CORS on the OTLP/HTTP receiver: a browser-instrumented page served from this machine
//! exports to `tracecheck serve` from another origin (real Chromium, real preflight), a page
//! from an origin not allowed cannot, and the preflight is answered before the bearer check
//! (it carries no token). The UI's and API's routes get no CORS headers.

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use http::header;

use crate::support::apps::serve_http;
use crate::support::serve;
use crate::ui_browser::{browser, open, wait};

const TRACE_ID: &str = "5b8efff798038103d269b633813fc60c";

/// A page whose script exports one span to `otlp` the way the OpenTelemetry web SDK's OTLP
/// exporter does (a JSON POST, so the browser sends a preflight first), and shows the
/// outcome in its title.
fn exporting_page(otlp: &str) -> String {
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "browser-app"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": TRACE_ID, "spanId": "eee19b7ec3c1b174", "name": "documentLoad", "kind": 1,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000500000000"
        }]}]
    }]});
    format!(
        r#"<!doctype html><title>exporting</title><script>
        fetch("{otlp}/v1/traces", {{ method: "POST", headers: {{ "content-type": "application/json" }}, body: JSON.stringify({body}) }})
          .then(response => {{ document.title = "status " + response.status; }})
          .catch(() => {{ document.title = "refused"; }});
        </script>"#
    )
}

/// Serves the exporting page on 127.0.0.1 (its own port: another origin than tracecheck's)
/// and loads it in Chromium; the page's title once its export is done.
async fn export_from_a_page(otlp: String) -> String {
    let page = exporting_page(&otlp);
    let app = serve_http(Router::new().route("/", get(move || async move { Html(page) }))).await;
    tokio::task::spawn_blocking(move || {
        let browser = browser();
        let tab = open(&browser, &format!("http://{app}/"));
        let title = wait(&tab, "document.title !== 'exporting' && document.title");
        title.as_str().unwrap_or_default().to_string()
    })
    .await
    .expect("the browser ran")
}

async fn stored(http_url: &str) -> bool {
    let url = format!("{http_url}/api/v1/traces/{TRACE_ID}");
    let response = reqwest::get(&url).await.expect("the API answers");
    response.status() == reqwest::StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_browser_page_exports_and_a_page_from_elsewhere_cannot() {
    // The default: pages served from this machine, on any port.
    let server = serve(&[]).await;
    assert_eq!(export_from_a_page(server.http_url()).await, "status 200");
    assert!(stored(&server.http_url()).await, "the page's span is stored");

    // Only another origin allowed: the browser refuses the export after the preflight.
    let server = serve(&["--cors-allowed-origins", "https://app.example.com"]).await;
    assert_eq!(export_from_a_page(server.http_url()).await, "refused");
    assert!(!stored(&server.http_url()).await, "nothing stored");
}

#[tokio::test]
async fn the_preflight_is_answered_before_the_token_check_and_only_on_the_otlp_route() {
    let server = serve(&["--auth-token", "s3cret"]).await;
    let client = reqwest::Client::new();
    let preflight = |path: &str, origin: &str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", server.http_url()))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type,authorization")
            .send()
    };
    let allow_origin =
        |response: &reqwest::Response| response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).cloned();

    let response = preflight("/v1/traces", "http://localhost:5173").await.expect("preflight");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(
        allow_origin(&response).as_ref().map(|value| value.as_bytes()),
        Some(&b"http://localhost:5173"[..])
    );
    let allowed_headers = response.headers().get(header::ACCESS_CONTROL_ALLOW_HEADERS).cloned();
    let allowed_headers =
        allowed_headers.map(|value| value.to_str().unwrap_or_default().to_ascii_lowercase());
    assert!(
        allowed_headers.is_some_and(|value| value.contains("authorization")),
        "the token header may be sent"
    );

    // An origin not allowed gets no CORS headers, so its browser refuses.
    let response = preflight("/v1/traces", "https://evil.example").await.expect("preflight");
    assert_eq!(allow_origin(&response), None);

    // The export itself still needs the token; its refusal carries the CORS header so the
    // page can read why.
    let response = client
        .post(format!("{}/v1/traces", server.http_url()))
        .header(header::ORIGIN, "http://localhost:5173")
        .header(header::CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(allow_origin(&response).is_some());

    // The UI's API keeps its same-origin policy.
    let response = preflight("/api/v1/traces", "http://localhost:5173").await.expect("preflight");
    assert_eq!(allow_origin(&response), None);
}
