//! The real `tracecheck serve` process under descriptor exhaustion and shutdown (issue 13,
//! defect 4 and the drain item): at the open-files limit the accept loop backs off instead
//! of burning a core, and answers again once sockets close; SIGTERM with a stalled upload on
//! each listener exits within one drain timeout, not one per listener.

use bytes::Bytes;
use model::defaults::{ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN, DRAIN_TIMEOUT};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{tracecheck, HANG};

/// The wait a `cannot accept a connection` warning announces (`wait=5ms`).
fn announced_wait(line: &str) -> std::time::Duration {
    let value = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("wait="))
        .unwrap_or_else(|| panic!("no wait= in {line:?}"));
    humantime::parse_duration(value).unwrap_or_else(|error| panic!("{value}: {error}"))
}

/// At the open-files limit every accept fails until a descriptor is freed; the accept loop
/// must wait between tries, doubling the wait, instead of spinning. The warnings say each
/// wait, so the backoff is read from them (how much CPU a spinning loop would burn is
/// measured in `crates/bench/tests/serve_perf.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_errors_back_off_at_the_open_files_limit_and_the_port_recovers() {
    // tonic logs its own accept errors at trace level (a server without the backoff).
    let mut serve = tracecheck()
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .env("TRACECHECK_LOG", "info,tonic=trace")
        .open_files_limit(64)
        .serve()
        .await;
    let grpc = serve.grpc;

    // More connections than the server has descriptors: the kernel queues the rest, and
    // every accept fails with EMFILE until one closes.
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(TcpStream::connect(grpc).await.expect("connect (queued by the kernel)"));
    }
    // Each failure is one warning announcing the next wait: 5 ms, 10 ms, 20 ms, ...
    let mut waits = Vec::new();
    while waits.len() < 6 {
        let line = serve.wait_for_line("cannot accept a connection").await;
        assert!(line.contains("Too many open files"), "{line}");
        waits.push(announced_wait(&line));
    }
    let expected: Vec<_> =
        (0..6).map(|n| (ACCEPT_BACKOFF_MIN * 2u32.pow(n)).min(ACCEPT_BACKOFF_MAX)).collect();
    assert_eq!(waits, expected, "the wait doubles from the minimum");

    // Sockets closed: the port answers again (within the backoff's cap).
    drop(held);
    let mut client = tokio::time::timeout(HANG, async {
        loop {
            if let Ok(client) = TraceServiceClient::connect(format!("http://{grpc}")).await {
                return client;
            }
        }
    })
    .await
    .expect("the gRPC port accepts again");
    client.export(ExportTraceServiceRequest::default()).await.expect("and answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_stalled_upload_on_each_listener_exits_within_one_drain_timeout() {
    // Stalls last longer than the drain: only the drain deadline ends them.
    let mut serve = tracecheck()
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(["--body-read-timeout", "60s", "--idle-timeout", "60s"])
        .serve()
        .await;
    let (grpc, http) = (serve.grpc, serve.http);

    // gRPC: an export served on the connection (so it is accepted), then a stalled one.
    let tcp = TcpStream::connect(grpc).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = || {
        http::Request::post(format!(
            "http://{grpc}/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap()
    };
    let (response, mut body) = client.send_request(request(), false).unwrap();
    body.send_data(Bytes::from_static(&[0, 0, 0, 0, 0]), true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.headers().get("grpc-status"), None, "answered in trailers: a served export");
    let (_stalled_grpc, mut stalled_body) = client.send_request(request(), false).unwrap();
    stalled_body.send_data(Bytes::from_static(&[0, 0, 0, 4, 0, 1, 2, 3]), false).unwrap();

    // HTTP: `Expect: 100-continue` makes the server say when the handler reads the body.
    let mut stalled_http = TcpStream::connect(http).await.unwrap();
    stalled_http
        .write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: 1000\r\nexpect: 100-continue\r\n\r\n")
        .await
        .unwrap();
    let mut continued = [0u8; 25];
    stalled_http.read_exact(&mut continued).await.unwrap();
    assert!(continued.starts_with(b"HTTP/1.1 100 Continue"), "{}", String::from_utf8_lossy(&continued));
    stalled_http.write_all(&[0u8; 10]).await.unwrap();

    // One drain deadline for both listeners: the process exits before two drain timeouts,
    // what one deadline per listener would take (the exact figure is measured in
    // crates/bench/tests/serve_perf.rs). The stalls were in flight: the deadline, not an
    // empty server, ended the drain, and both listeners say so.
    serve.terminate();
    let status = serve.exit_within(DRAIN_TIMEOUT * 2).await;
    assert!(status.success(), "{status:?}");
    let mut cut = Vec::new();
    for _ in 0..2 {
        let line = serve.wait_for_line("connections still open").await;
        cut.push(if line.contains("grpc") { "grpc" } else { "http" });
    }
    cut.sort_unstable();
    assert_eq!(cut, ["grpc", "http"]);
}
