//! What the receivers hold under hostile connections, over real sockets (issue 13, defect 2
//! and the unary-with-two-messages item): stalled uploads are refused past the receive
//! budget while a normal client is served, slowloris headers and idle connections are cut
//! off, and a unary Export carrying two messages is refused.

use std::time::{Duration, Instant};

use bytes::Bytes;
use model::TraceId;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use server::ingest::grpc::RawCodec;
use server::{self, ConnectionTimeouts, RunningServer, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::service::Routes;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const MIB: usize = 1024 * 1024;
/// Every wait in these tests is for an event; this only bounds a test that would hang.
const HANG: Duration = Duration::from_secs(20);

async fn start_server(config: ServerConfig) -> RunningServer {
    server::start(config, |_| Routes::default()).await.expect("server starts")
}

/// A one-span request of a trace derived from `seed`.
fn request(seed: u8) -> (ExportTraceServiceRequest, TraceId) {
    let trace_id = [seed; 16];
    let span = Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![seed, 1, 0, 0, 0, 0, 0, 1],
        name: "normal".into(),
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
            ..Default::default()
        }],
    };
    (request, TraceId(trace_id))
}

/// A server whose budget holds four 1 MiB uploads and half of a fifth, and whose stalled
/// bodies are cut after 3 s.
fn budget_config() -> ServerConfig {
    ServerConfig {
        max_message_size: MIB,
        max_receive_bytes: 4 * MIB + MIB / 2,
        timeouts: ConnectionTimeouts { body_read: Duration::from_secs(3), ..ConnectionTimeouts::default() },
        ..ServerConfig::ephemeral()
    }
}

/// The status code and headers of the HTTP/1 response on `stream` (None when the
/// connection closes first).
async fn read_head(stream: &mut TcpStream) -> Option<(u16, String)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head.to_ascii_lowercase()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_http_uploads_are_refused_past_the_budget_and_a_normal_client_is_served() {
    let server = start_server(budget_config()).await;
    // Twenty uploads declaring 1 MiB each send a quarter of it, then nothing.
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(server.http_addr()).await.unwrap();
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: {MIB}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&vec![0u8; MIB / 4]).await.unwrap();
        let answers = answers.clone();
        tokio::spawn(async move {
            let _ = answers.send(read_head(&mut stream).await);
        });
    }
    // Four fit the budget; the other sixteen are refused at once, retryably, while the four
    // are still stalled (their body timeout is seconds away).
    for _ in 0..16 {
        let answer = tokio::time::timeout(HANG, answered.recv()).await.expect("refused, not queued").unwrap();
        let (status, head) = answer.expect("an answer, not a closed connection");
        assert_eq!(status, 503, "{head}");
        assert!(head.contains("retry-after: 1"), "{head}");
    }
    let held = server.admission().bytes_held();
    assert_eq!(held, 4 * MIB, "the four admitted uploads hold their declared length");

    // A normal client fits in what is left and is served.
    let (normal, trace_id) = request(7);
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/traces", server.http_addr()))
        .header("content-type", "application/x-protobuf")
        .body(normal.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(server.store().get(trace_id).is_some());

    // The stalled four are cut by the body timeout, and give their bytes back.
    for _ in 0..4 {
        let answer = tokio::time::timeout(HANG, answered.recv()).await.expect("cut off").unwrap();
        assert_eq!(answer.map(|(status, _)| status), Some(408));
    }
    assert_eq!(server.admission().bytes_held(), 0);
    server.shutdown().await.unwrap();
}

/// Opens an HTTP/2 connection and starts an Export whose body declares a 1 MiB message and
/// sends `sent` bytes of it; the response's `grpc-status` arrives on the returned channel.
async fn stalled_grpc_upload(
    addr: std::net::SocketAddr,
    sent: usize,
    answers: tokio::sync::mpsc::UnboundedSender<Option<String>>,
) -> h2::SendStream<Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{addr}{EXPORT_PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut body) = client.send_request(request, false).unwrap();
    let mut data = vec![0u8; 5 + sent];
    data[1..5].copy_from_slice(&(MIB as u32).to_be_bytes());
    body.send_data(Bytes::from(data), false).unwrap();
    tokio::spawn(async move {
        let status = match response.await {
            Ok(response) => {
                let headers = response.headers().clone();
                let mut body = response.into_body();
                let trailers = body.trailers().await.ok().flatten();
                headers
                    .get("grpc-status")
                    .or(trailers.as_ref().and_then(|trailers| trailers.get("grpc-status")))
                    .map(|status| status.to_str().unwrap().to_string())
            }
            Err(_) => None,
        };
        let _ = answers.send(status);
    });
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_grpc_uploads_are_refused_past_the_budget() {
    let server = start_server(budget_config()).await;
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let mut bodies = Vec::new();
    // Twenty half-sent 1 MiB messages: at most nine halves fit the budget.
    for _ in 0..20 {
        bodies.push(stalled_grpc_upload(server.grpc_addr(), MIB / 2, answers.clone()).await);
    }
    // The ones past the budget are refused UNAVAILABLE (retryable) while the rest stall.
    for _ in 0..11 {
        let status = tokio::time::timeout(HANG, answered.recv()).await.expect("refused, not queued").unwrap();
        assert_eq!(status.as_deref(), Some("14"), "UNAVAILABLE");
    }
    assert!(server.admission().bytes_held() <= 4 * MIB + MIB / 2);
    // The rest are cut by the body timeout (DEADLINE_EXCEEDED, or refused if they were
    // the one that crossed the budget) and give their bytes back.
    for _ in 0..9 {
        let status = tokio::time::timeout(HANG, answered.recv()).await.expect("cut off").unwrap();
        assert!(matches!(status.as_deref(), Some("4") | Some("14")), "{status:?}");
    }
    assert_eq!(server.admission().bytes_held(), 0);
    let mut client = TraceServiceClient::connect(format!("http://{}", server.grpc_addr())).await.unwrap();
    let (normal, trace_id) = request(8);
    client.export(normal).await.expect("a normal client is served");
    assert!(server.store().get(trace_id).is_some());
    drop(bodies);
    server.shutdown().await.unwrap();
}

/// Waits until the peer closes `stream` (EOF or reset); how long that took.
async fn until_closed(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(HANG, stream.read(&mut buf))
            .await
            .expect("the server closes the connection")
        {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_cut_after_the_header_timeout() {
    let header_read = Duration::from_secs(1);
    let server = start_server(ServerConfig {
        timeouts: ConnectionTimeouts { header_read, ..ConnectionTimeouts::default() },
        ..ServerConfig::ephemeral()
    })
    .await;
    let stream = TcpStream::connect(server.http_addr()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    // One header line every 100 ms: never idle, never done.
    let trickle = tokio::spawn(async move {
        for index in 0.. {
            if writer.write_all(format!("x-{index}: y\r\n").as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(HANG, reader.read(&mut buf)).await.expect("cut off") {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= header_read && elapsed < header_read * 5, "{elapsed:?}");
    trickle.abort();
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_busy_ones_are_not() {
    let idle = Duration::from_secs(1);
    let server = start_server(ServerConfig {
        timeouts: ConnectionTimeouts { idle, ..ConnectionTimeouts::default() },
        ..ServerConfig::ephemeral()
    })
    .await;
    // Silent from the start, on both ports.
    for addr in [server.http_addr(), server.grpc_addr()] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let elapsed = until_closed(&mut stream).await;
        assert!(elapsed >= idle / 2 && elapsed < idle * 5, "{addr}: {elapsed:?}");
    }
    // Kept alive after a request: closed once idle.
    let mut stream = TcpStream::connect(server.http_addr()).await.unwrap();
    stream.write_all(b"GET /nothing HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    assert_eq!(read_head(&mut stream).await.map(|(status, _)| status), Some(404));
    let elapsed = until_closed(&mut stream).await;
    assert!(elapsed < idle * 5, "{elapsed:?}");

    // A gRPC connection that keeps exporting is never idle for long and stays up.
    let mut client = TraceServiceClient::connect(format!("http://{}", server.grpc_addr())).await.unwrap();
    let deadline = Instant::now() + idle * 3;
    let mut seed = 1;
    while Instant::now() < deadline {
        client.export(request(seed).0).await.expect("a busy connection is not cut");
        seed = seed.wrapping_add(1);
        tokio::time::sleep(idle / 4).await;
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unary_export_carrying_two_messages_is_refused() {
    let server = start_server(ServerConfig::ephemeral()).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.grpc_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut raw = tonic::client::Grpc::new(channel);
    raw.ready().await.unwrap();
    let (first, first_id) = request(1);
    let (second, second_id) = request(2);
    let messages =
        tokio_stream::iter([Bytes::from(first.encode_to_vec()), Bytes::from(second.encode_to_vec())]);
    let path = http::uri::PathAndQuery::from_static(EXPORT_PATH);
    let status = raw
        .client_streaming::<_, Bytes, Bytes, _>(tonic::Request::new(messages), path, RawCodec)
        .await
        .expect_err("two messages in a unary call");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(server.store().get(first_id).is_none() && server.store().get(second_id).is_none());
    server.shutdown().await.unwrap();
}
