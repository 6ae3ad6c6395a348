//! Timing and CPU figures of a real `tracecheck serve` process, moved out of the integration
//! tests (which assert behaviour only, tests/it/serve_process.rs): the CPU the accept loop
//! burns at the open-files limit, and how long SIGTERM takes with a stalled upload on each
//! listener. Ignored by default (they measure; run them on an otherwise idle machine):
//!
//! ```text
//! cargo build --release -p tracecheck
//! cargo test --release -p tracecheck-bench --test serve_perf -- --ignored --nocapture
//! ```
//!
//! `TRACECHECK_BIN` names the binary (default `target/release/tracecheck`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use model::defaults::DRAIN_TIMEOUT;

// Its own command line (under `ulimit -n`): the support's `command` goes unused here.
#[allow(dead_code)]
#[path = "support/serve.rs"]
mod support;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Child;

/// `tracecheck serve` on port 0 (under `ulimit -n` when `nofile`), once it says where it
/// listens: the child, its gRPC and HTTP addresses.
async fn serve(nofile: Option<u32>, extra: &[&str]) -> (Child, SocketAddr, SocketAddr) {
    let limit = nofile.map_or(String::new(), |n| format!("ulimit -n {n} && "));
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{limit}exec \"$0\" \"$@\""))
        .arg(support::binary())
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"])
        .args(extra);
    let support::Listening { child, grpc, http, mut log } = support::listening(command).await;
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    (child, grpc, http)
}

/// User plus system CPU seconds of process `pid` so far (`/proc/PID/stat`, fields 14, 15).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The command name (field 2) is in parentheses and may hold spaces; count after it.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("stat").1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    let per_second = std::process::Command::new("getconf").arg("CLK_TCK").output().expect("getconf");
    ticks / String::from_utf8_lossy(&per_second.stdout).trim().parse::<f64>().expect("CLK_TCK")
}

/// With every accept failing (EMFILE), the backoff keeps the process nearly idle: under 20 %
/// of a core over two seconds (a loop retrying at once takes a whole one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures CPU; run with --ignored on an idle machine"]
async fn accept_loop_at_the_open_files_limit_stays_nearly_idle() {
    let (child, grpc, _) = serve(Some(64), &[]).await;
    let pid = child.id().expect("pid");
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(TcpStream::connect(grpc).await.expect("connect (queued by the kernel)"));
    }
    let window = Duration::from_secs(2);
    let before = cpu_seconds(pid);
    // The measurement window itself: CPU is sampled across it.
    tokio::time::sleep(window).await;
    let used = cpu_seconds(pid) - before;
    println!("accept loop at the open-files limit: {used:.3} CPU-s in {window:?}");
    assert!(used < 0.2 * window.as_secs_f64(), "{used:.2} CPU seconds in {window:?}");
    drop(held);
}

/// SIGTERM with a stalled upload on each listener: the process exits after one drain
/// timeout (both listeners share the deadline), not before it (the stalls hold the drain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures wall-clock time; run with --ignored"]
async fn sigterm_with_stalled_uploads_takes_one_drain_timeout() {
    let (mut child, grpc, http) = serve(None, &["--body-read-timeout", "60s", "--idle-timeout", "60s"]).await;
    // A half-sent body on each port: HTTP/1 with `Expect: 100-continue` (the server says
    // when the handler reads the body), and an HTTP/2 stream that never ends on gRPC.
    let mut stalled_http = TcpStream::connect(http).await.expect("connect");
    stalled_http
        .write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: 1000\r\nexpect: 100-continue\r\n\r\n")
        .await
        .expect("head");
    let mut continued = [0u8; 25];
    stalled_http.read_exact(&mut continued).await.expect("100 Continue");
    stalled_http.write_all(&[0u8; 10]).await.expect("part of the body");
    let tcp = TcpStream::connect(grpc).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let request = || {
        http::Request::post(format!(
            "http://{grpc}/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request")
    };
    // An export served on the connection first (so it is accepted), then a stalled one.
    let (response, mut body) = client.send_request(request(), false).expect("send");
    body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0]), true).expect("data");
    response.await.expect("a served export");
    let (_stalled, mut body) = client.send_request(request(), false).expect("send");
    body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 4, 0, 1, 2, 3]), false).expect("data");

    let started = Instant::now();
    let pid = child.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = tokio::time::timeout(DRAIN_TIMEOUT * 3, child.wait()).await.expect("exits").expect("wait");
    let elapsed = started.elapsed();
    println!("SIGTERM with stalled uploads: exited in {elapsed:?} (drain timeout {DRAIN_TIMEOUT:?})");
    assert!(status.success(), "{status:?}");
    assert!(elapsed < DRAIN_TIMEOUT + Duration::from_secs(3), "shutdown took {elapsed:?}");
    assert!(elapsed >= DRAIN_TIMEOUT - Duration::from_secs(1), "shutdown took only {elapsed:?}");
}
