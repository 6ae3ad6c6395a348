//! Several `tracecheck serve` instances behind a trace-ID load balancer (issue 12 item 4).
//!
//! The OpenTelemetry Collector cannot be installed here, so [`Router`] stands in for its
//! `loadbalancing` exporter with `routing_key: traceID`: the same consistent-hash ring (ring
//! positions by CRC32 of each endpoint and a point number, a trace by CRC32 of its ID, both
//! modulo 36,000; the trace goes to the first position at or after its own), receiving
//! OTLP/gRPC from the demo app's real SDK exporter and forwarding each trace's spans to one of
//! three real `tracecheck serve` binaries.

use crate::support as common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{demo, free_addr, json_report, run_tracecheck, tracecheck, vars_file, Files};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::transport::Channel;

const DEMO_FLOW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..", "/examples/demo/user-flow.yaml");

/// The loadbalancing exporter's ring: 36,000 positions ("360 degrees with two decimal
/// places"), 100 points per endpoint, a point taken by an earlier endpoint skipped.
struct Ring {
    /// (position, endpoint index), sorted by position.
    items: Vec<(u32, usize)>,
}

const MAX_POSITIONS: u32 = 36_000;
const POINTS_PER_ENDPOINT: u32 = 100;

impl Ring {
    fn new(endpoints: &[String]) -> Ring {
        let mut taken = HashSet::new();
        let mut items = Vec::new();
        for (index, endpoint) in endpoints.iter().enumerate() {
            for point in 0..POINTS_PER_ENDPOINT {
                let mut hasher = crc32fast::Hasher::new();
                hasher.update(endpoint.as_bytes());
                hasher.update(&[point as u8]);
                let position = hasher.finalize() % MAX_POSITIONS;
                if taken.insert(position) {
                    items.push((position, index));
                }
            }
        }
        items.sort_unstable();
        Ring { items }
    }

    /// The endpoint at or after the trace's position, wrapping to the first.
    fn endpoint_for(&self, trace_id: &[u8]) -> usize {
        let position = crc32fast::hash(trace_id) % MAX_POSITIONS;
        let next = self.items.partition_point(|(at, _)| *at < position);
        self.items.get(next).unwrap_or(&self.items[0]).1
    }
}

/// Splits every export by trace and forwards each part to the trace's backend, keeping the
/// resource and scope around each span, as the exporter does.
struct Router {
    ring: Ring,
    backends: Vec<TraceServiceClient<Channel>>,
}

#[tonic::async_trait]
impl TraceService for Router {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut parts: Vec<Vec<ResourceSpans>> = vec![Vec::new(); self.backends.len()];
        for resource_spans in request.into_inner().resource_spans {
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    let part = &mut parts[self.ring.endpoint_for(&span.trace_id)];
                    part.push(ResourceSpans {
                        scope_spans: vec![ScopeSpans { spans: vec![span.clone()], ..scope_spans.clone() }],
                        ..resource_spans.clone()
                    });
                }
            }
        }
        let sends = parts.into_iter().zip(&self.backends).filter(|(part, _)| !part.is_empty()).map(
            |(resource_spans, backend)| async move {
                backend.clone().export(ExportTraceServiceRequest { resource_spans }).await
            },
        );
        futures::future::try_join_all(sends).await?;
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Starts the router on a port of its own; returns its address.
async fn start_router(endpoints: &[String]) -> SocketAddr {
    let mut backends = Vec::new();
    for endpoint in endpoints {
        let channel = Channel::from_shared(format!("http://{endpoint}")).expect("uri").connect_lazy();
        backends.push(TraceServiceClient::new(channel));
    }
    let router = Router { ring: Ring::new(endpoints), backends };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind router");
    let addr = listener.local_addr().expect("router addr");
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(router))
            .serve_with_incoming(incoming)
            .await;
    });
    addr
}

/// A `tracecheck serve` binary; killed when dropped.
struct Serve {
    _child: tokio::process::Child,
    grpc: SocketAddr,
}

async fn start_serve() -> Serve {
    let grpc = free_addr();
    let http = free_addr();
    let mut child = tracecheck()
        .args(["serve", "--grpc-addr", &grpc.to_string(), "--http-addr", &http.to_string()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start serve");
    // Ready when it logs that it serves; the log line is the event.
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    loop {
        let line = lines.next_line().await.expect("read serve log").expect("serve exited before serving");
        if line.contains("tracecheck serving") {
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Serve { _child: child, grpc }
}

fn describe(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_ring_spreads_traces_over_every_endpoint() {
    let endpoints: Vec<String> = (1..=3).map(|n| format!("tracecheck-{n}:4317")).collect();
    let ring = Ring::new(&endpoints);
    assert!(ring.items.len() > 290 && ring.items.len() <= 300, "{}", ring.items.len());
    let mut counts = [0usize; 3];
    for n in 0u32..3_000 {
        let mut trace_id = [0u8; 16];
        trace_id[..4].copy_from_slice(&n.to_be_bytes());
        counts[ring.endpoint_for(&trace_id)] += 1;
    }
    assert!(counts.iter().all(|&count| count > 500), "{counts:?}");
    // The same trace always goes to the same endpoint.
    assert_eq!(ring.endpoint_for(&[7; 16]), ring.endpoint_for(&[7; 16]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_passes_against_three_instances_behind_the_trace_id_router() {
    let instances = [start_serve().await, start_serve().await, start_serve().await];
    let endpoints: Vec<String> = instances.iter().map(|serve| serve.grpc.to_string()).collect();
    let router = start_router(&endpoints).await;
    let service = demo::start(&format!("http://{router}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let servers = endpoints.join(",");

    let output = run_tracecheck(&[
        "run", DEMO_FLOW, "--vars", &vars, "--server", &servers, "--settle", "200ms", "-o", "json",
    ])
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report = json_report(&output);
    assert_eq!(report["state"], "FINISHED", "{report}");
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2);

    let ring = Ring::new(&endpoints);
    for step in steps {
        assert_eq!(step["state"], "PASSED", "{step}");
        assert!(step["warnings"].as_array().is_none_or(Vec::is_empty), "judged complete: {step}");
        let trace_id = step["trace_id"].as_str().expect("trace id");
        // Exactly one instance holds the trace, the one the ring picks, trigger span included.
        let mut holders = Vec::new();
        for (index, endpoint) in endpoints.iter().enumerate() {
            let got = run_tracecheck(&["traces", "get", trace_id, "--server", endpoint, "-o", "json"]).await;
            match got.status.code() {
                Some(0) => {
                    let trace: Value = serde_json::from_slice(&got.stdout).expect("trace JSON");
                    let spans = trace["spans"].as_array().expect("spans");
                    assert_eq!(spans.len() as u64, step["span_count"].as_u64().unwrap(), "{trace}");
                    assert!(spans.iter().any(|span| span["name"] == "Tracetest trigger"), "{trace}");
                    holders.push(index);
                }
                Some(1) => {
                    assert!(String::from_utf8_lossy(&got.stderr).contains("not found"), "{}", describe(&got))
                }
                _ => panic!("{}", describe(&got)),
            }
        }
        let expected = ring.endpoint_for(&hex::decode(trace_id).expect("hex"));
        assert_eq!(holders, vec![expected], "trace {trace_id} lives on one instance only");

        // Asked of all three, `traces get` finds it, and `analyze` lints it.
        let got = run_tracecheck(&["traces", "get", trace_id, "--server", &servers, "-o", "json"]).await;
        assert_eq!(got.status.code(), Some(0), "{}", describe(&got));
        let analyzed = run_tracecheck(&["analyze", trace_id, "--server", &servers, "-o", "json"]).await;
        assert!(matches!(analyzed.status.code(), Some(0 | 1)), "{}", describe(&analyzed));
        let verdict: Value = serde_json::from_slice(&analyzed.stdout).expect("analysis JSON");
        assert_eq!(verdict["trace_id"], trace_id);
    }

    // The merged list holds both traces, newest (the second step's) first.
    let listed = run_tracecheck(&["traces", "list", "--server", &servers, "-o", "json"]).await;
    assert_eq!(listed.status.code(), Some(0), "{}", describe(&listed));
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("list JSON");
    let ids: Vec<&str> = listed["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![steps[1]["trace_id"].as_str().unwrap(), steps[0]["trace_id"].as_str().unwrap()]);

    // Nowhere is "not found", and that is all.
    let missing = "0123456789abcdef0123456789abcdef";
    let got = run_tracecheck(&["traces", "get", missing, "--server", &servers]).await;
    assert_eq!(got.status.code(), Some(1), "{}", describe(&got));
    assert_eq!(String::from_utf8_lossy(&got.stderr).trim(), format!("error: trace {missing} not found"));
    service.shutdown().await;
}

/// A port where nothing listens, named as `--server` would name it.
fn closed_port() -> String {
    format!("http://{}", free_addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_is_down_is_named_and_does_not_hang() {
    let live = server::start(server::ServerConfig::ephemeral(), server::routes::control_routes)
        .await
        .expect("server");
    let live_url = format!("http://{}", live.grpc_addr());
    let down = closed_port();
    let servers = format!("{live_url},{down}");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", "http://127.0.0.1:9")]);
    let create = concat!(env!("CARGO_MANIFEST_DIR"), "/../..", "/examples/demo/create-user.yaml");

    for args in [
        vec!["traces", "list", "--server", &servers],
        vec!["traces", "get", "0123456789abcdef0123456789abcdef", "--server", &servers],
        vec!["analyze", "0123456789abcdef0123456789abcdef", "--server", &servers],
        vec!["run", create, "--vars", &vars, "--server", &servers],
    ] {
        let started = Instant::now();
        let output = run_tracecheck(&args).await;
        let elapsed = started.elapsed();
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with(&format!("error: cannot connect to {down}: ")), "{args:?}: {stderr}");
        assert!(elapsed < Duration::from_secs(10), "{args:?} took {elapsed:?}");
    }
    // Repeated flags and TRACECHECK_SERVER say the same.
    let output = run_tracecheck(&["traces", "list", "--server", &live_url, "--server", &down]).await;
    assert!(String::from_utf8_lossy(&output.stderr).contains(&down), "{}", describe(&output));
    let output = tracecheck()
        .args(["traces", "list"])
        .env("TRACECHECK_SERVER", &servers)
        .output()
        .await
        .expect("run tracecheck");
    assert!(String::from_utf8_lossy(&output.stderr).contains(&down), "{}", describe(&output));
    // The same instance twice is refused as bad input.
    let output = run_tracecheck(&["traces", "list", "--server", &format!("{live_url},{live_url}")]).await;
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("listed twice"), "{}", describe(&output));
    live.shutdown().await.expect("shutdown");
}

/// An instance that takes the connection but never speaks HTTP/2 (a hung process, a wrong
/// port behind a proxy) is named too, within a bounded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_never_answers_is_named_within_a_bounded_time() {
    let live = server::start(server::ServerConfig::ephemeral(), server::routes::control_routes)
        .await
        .expect("server");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let servers = format!("http://{},{silent}", live.grpc_addr());
    let started = Instant::now();
    let output = run_tracecheck(&["traces", "list", "--server", &servers]).await;
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("error: cannot connect to {silent}: ")), "{stderr}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    live.shutdown().await.expect("shutdown");
}
