//! What the receivers hold under hostile connections, over real sockets (issue 13, defect 2
//! and the unary-with-two-messages item): stalled uploads are refused past the receive
//! budget while a normal client is served, slowloris headers and idle connections are cut
//! off, and a unary Export carrying two messages is refused.

use std::time::Duration;

use bytes::Bytes;
use model::defaults::{DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT};
use model::TraceId;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use server::ingest::grpc::RawCodec;
use server::RunningServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::otlp::{self, read_head, EXPORT_PATH};
use crate::support::{server, HANG};

const MIB: usize = 1024 * 1024;

/// A one-span request of a trace derived from `seed`.
fn request(seed: u8) -> (ExportTraceServiceRequest, TraceId) {
    otlp::request(seed, 1, 0)
}

/// A server whose budget holds four 1 MiB uploads and half of a fifth, and whose stalled
/// bodies are cut after 3 s.
async fn budget_server() -> RunningServer {
    server()
        .otlp_only()
        .max_message_size(MIB)
        .max_receive_bytes(4 * MIB + MIB / 2)
        .body_read_timeout(Duration::from_secs(3))
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_http_uploads_are_refused_past_the_budget_and_a_normal_client_is_served() {
    let server = budget_server().await;
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
    stalled_grpc_call(addr, EXPORT_PATH, sent, answers).await
}

/// [`stalled_grpc_upload`] to any method `path`.
async fn stalled_grpc_call(
    addr: std::net::SocketAddr,
    path: &str,
    sent: usize,
    answers: tokio::sync::mpsc::UnboundedSender<Option<String>>,
) -> h2::SendStream<Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{addr}{path}"))
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
    let server = budget_server().await;
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
    let mut client = otlp::client(server.grpc_addr()).await;
    let (normal, trace_id) = request(8);
    client.export(normal).await.expect("a normal client is served");
    assert!(server.store().get(trace_id).is_some());
    drop(bodies);
    server.shutdown().await.unwrap();
}

/// Waits until the peer closes `stream` (EOF or reset), for at most `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration, what: &str) {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(bound, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: the server did not close the connection within {bound:?}"));
}

/// A client that sends a header line every 100 ms is never idle and never done; the
/// configured 1 s header timeout cuts it, long before the default 10 s one could, while it
/// is still sending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_cut_after_the_header_timeout() {
    let server = server().otlp_only().header_read_timeout(Duration::from_secs(1)).start().await;
    let stream = TcpStream::connect(server.http_addr()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    let trickle = tokio::spawn(async move {
        let mut n_lines = 0;
        while writer.write_all(format!("x-{n_lines}: y\r\n").as_bytes()).await.is_ok() {
            n_lines += 1;
            // The pause is the attack itself (a client that trickles), not a wait for an
            // event: header lines sent at once would be a large header, not a slow one.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        n_lines
    });
    let mut buf = [0u8; 1024];
    tokio::time::timeout(DEFAULT_HEADER_READ_TIMEOUT, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("cut off before the default header timeout: the configured one did it");
    // The trickle ends on its first write after the cut: it was still sending.
    let n_lines = tokio::time::timeout(HANG, trickle).await.expect("the trickle stops").expect("join");
    assert!(n_lines > 1, "cut after {n_lines} header lines: the server read headers until its timeout");
    server.shutdown().await.unwrap();
}

/// Connections silent for the configured 1 s are closed (well before the default 60 s could
/// close them); one that keeps exporting stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_busy_ones_are_not() {
    let idle = Duration::from_secs(1);
    let server = server().otlp_only().idle_timeout(idle).start().await;
    let bound = DEFAULT_IDLE_TIMEOUT / 2;
    // Silent from the start, on both ports.
    for addr in [server.http_addr(), server.grpc_addr()] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        closed_within(&mut stream, bound, &format!("silent on {addr}")).await;
    }
    // Kept alive after a request (answered, so not closed at once): closed once idle.
    let mut stream = TcpStream::connect(server.http_addr()).await.unwrap();
    stream.write_all(b"GET /nothing HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
    assert_eq!(read_head(&mut stream).await.map(|(status, _)| status), Some(404));
    closed_within(&mut stream, bound, "idle after a request").await;

    // A gRPC connection that keeps exporting, three idle periods long, is never idle for
    // long and stays up.
    let mut client = otlp::client(server.grpc_addr()).await;
    for seed in 1..=12 {
        client.export(request(seed).0).await.expect("a busy connection is not cut");
        // The pause is the load pattern under test (gaps shorter than the idle timeout),
        // not a wait for an event.
        tokio::time::sleep(idle / 4).await;
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unary_export_carrying_two_messages_is_refused() {
    let server = server().otlp_only().start().await;
    let mut raw = otlp::raw_client(server.grpc_addr()).await;
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

/// A control-API call whose body never arrives is cut by the body timeout like an export
/// (before the fix it held its stream, and kept its connection from idling, for ever).
#[tokio::test]
async fn a_control_call_whose_body_never_comes_is_cut_by_the_body_timeout() {
    let server = server().body_read_timeout(Duration::from_millis(300)).start().await;
    let mut raw = crate::support::otlp::raw_client(server.grpc_addr()).await;
    let path = http::uri::PathAndQuery::from_static("/tracecheck.v1.Control/WaitTrace");
    let never = futures::stream::pending::<bytes::Bytes>();
    let call = raw.client_streaming(tonic::Request::new(never), path, server::ingest::grpc::RawCodec);
    let status = tokio::time::timeout(HANG, call).await.expect("cut, not held").expect_err("refused");
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
}

/// Issue 22: control-API calls held their bodies outside every bound (a `RecordRun` may carry
/// 256 MiB; 4,000 stalled ones of 64 KiB held 250 MiB past `--max-memory 128MiB`). They are
/// on the receive budget now, as exports are: past it, refused UNAVAILABLE (retryable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_control_calls_are_refused_past_the_receive_budget() {
    // The budget is at least the largest export (`--max-message-size`): 1 MiB here.
    let server = server()
        .max_message_size(MIB)
        .max_receive_bytes(4 * MIB + MIB / 2)
        .body_read_timeout(Duration::from_secs(3))
        .start()
        .await;
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    let mut bodies = Vec::new();
    // Twenty half-sent 1 MiB RecordRun messages: at most nine halves fit the budget.
    for _ in 0..20 {
        let path = "/tracecheck.v1.Control/RecordRun";
        bodies.push(stalled_grpc_call(server.grpc_addr(), path, MIB / 2, answers.clone()).await);
    }
    for _ in 0..11 {
        let status = tokio::time::timeout(HANG, answered.recv()).await.expect("refused, not held").unwrap();
        assert_eq!(status.as_deref(), Some("14"), "UNAVAILABLE");
    }
    assert!(server.admission().bytes_held() <= 4 * MIB + MIB / 2);
    // The rest are cut by the body timeout and give their bytes back.
    for _ in 0..9 {
        let status = tokio::time::timeout(HANG, answered.recv()).await.expect("cut off").unwrap();
        assert!(matches!(status.as_deref(), Some("4") | Some("14")), "{status:?}");
    }
    assert_eq!(server.admission().bytes_held(), 0);
    drop(bodies);
    server.shutdown().await.unwrap();
}
