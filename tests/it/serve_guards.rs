//! What guards the HTTP port against browsers (issue 22, item 5 and the page headers):
//! DNS rebinding, where a page on `attacker.example` resolving to 127.0.0.1 would read the
//! API, is refused by the Host and Origin check on every route but OTLP's POST; and the
//! UI's page is confined by its Content-Security-Policy (the browser tests run the page
//! under it).

use std::net::SocketAddr;

use tokio::io::AsyncWriteExt;

use crate::support::otlp::read_head;
use crate::support::{serve, server};

/// The status of a raw HTTP/1.1 request with exactly these headers.
async fn status(addr: SocketAddr, request_line: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{request_line} HTTP/1.1\r\nconnection: close\r\ncontent-length: 0\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    read_head(&mut stream).await.expect("an answer")
}

#[tokio::test]
async fn a_rebound_name_is_refused_on_every_route_but_otlp() {
    let server = server().start().await;
    let addr = server.http_addr();
    let local = addr.to_string();
    for path in ["/", "/api/v1/runs", "/metrics", "/jaeger/api/services", "/tempo/api/echo", "/nowhere"] {
        let (code, head) = status(addr, &format!("GET {path}"), &[("host", "attacker.example:4318")]).await;
        assert_eq!(code, 403, "{path}: {head}");
    }
    let (code, _) = status(addr, "GET /api/v1/runs", &[("host", &local)]).await;
    assert_eq!(code, 200);
    let (code, _) = status(addr, "GET /api/v1/runs", &[("host", "localhost")]).await;
    assert_eq!(code, 200);
    // A browser page of another origin, even with the right Host.
    let (code, _) =
        status(addr, "GET /api/v1/runs", &[("host", &local), ("origin", "http://attacker.example")]).await;
    assert_eq!(code, 403);
    // OTLP's POST is for browsers of any origin (CORS): not checked, so its own answer.
    let (code, _) =
        status(addr, "POST /v1/traces", &[("host", "attacker.example"), ("content-type", "text/plain")])
            .await;
    assert_eq!(code, 415);
}

#[tokio::test]
async fn allowed_hosts_admits_the_names_given() {
    let serve = serve(&["--allowed-hosts", "tracecheck,.corp.example"]).await;
    for (host, code) in [("tracecheck:4318", 200), ("ui.corp.example", 200), ("attacker.example", 403)] {
        let (answered, head) = status(serve.http, "GET /api/v1/runs", &[("host", host)]).await;
        assert_eq!(answered, code, "{host}: {head}");
    }
    let (_, head) = status(serve.http, "GET /api/v1/runs", &[("host", "attacker.example")]).await;
    assert!(head.contains("content-type: application/json"), "{head}");
}

#[tokio::test]
async fn the_page_is_confined_by_its_headers() {
    let server = server().start().await;
    let answer = reqwest::get(format!("http://{}/", server.http_addr())).await.expect("page");
    let headers = answer.headers().clone();
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'sha256-"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}
