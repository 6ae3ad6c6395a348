//! Several `tracecheck serve` instances behind a trace-ID load balancer (issue 12 item 4):
//! the demo app's real SDK exporter sends OTLP/gRPC to `support::router`, which stands in
//! for the Collector's `loadbalancing` exporter and forwards each trace's spans to one of
//! three real `tracecheck serve` binaries.

use serde_json::Value;

use crate::support::router::{self, Ring};
use crate::support::{
    demo, demo_file, free_addr, serve, server, tracecheck, vars_file, Files, Run, ServerExt, HANG,
};

/// Runs the binary with `args`, failing the test if it has not finished within [`HANG`]:
/// an instance that is down or silent must be named, not waited on forever.
async fn run(args: &[&str]) -> Run {
    tokio::time::timeout(HANG, tracecheck().args(args).output())
        .await
        .unwrap_or_else(|_| panic!("{args:?} did not finish within {HANG:?}"))
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
    let instances = [serve(&[]).await, serve(&[]).await, serve(&[]).await];
    let endpoints: Vec<String> = instances.iter().map(|serve| serve.grpc.to_string()).collect();
    let router = router::start(&endpoints).await;
    let service = demo::start(&format!("http://{router}")).await.expect("demo service");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", &service.url())]);
    let servers = endpoints.join(",");

    let flow = demo_file("user-flow.yaml");
    let output =
        run(&["run", &flow, "--vars", &vars, "--server", &servers, "--settle", "200ms", "-o", "json"]).await;
    output.assert_code(0);
    let report = output.json();
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
            let got = run(&["traces", "get", trace_id, "--server", endpoint, "-o", "json"]).await;
            match got.code() {
                Some(0) => {
                    let trace: Value = serde_json::from_slice(&got.stdout).expect("trace JSON");
                    let spans = trace["spans"].as_array().expect("spans");
                    assert_eq!(spans.len() as u64, step["span_count"].as_u64().unwrap(), "{trace}");
                    assert!(spans.iter().any(|span| span["name"] == "Tracetest trigger"), "{trace}");
                    holders.push(index);
                }
                Some(1) => assert!(got.stderr().contains("not found"), "{got}"),
                _ => panic!("{got}"),
            }
        }
        let expected = ring.endpoint_for(&hex::decode(trace_id).expect("hex"));
        assert_eq!(holders, vec![expected], "trace {trace_id} lives on one instance only");

        // Asked of all three, `traces get` finds it, and `analyze` lints it.
        let got = run(&["traces", "get", trace_id, "--server", &servers, "-o", "json"]).await;
        got.assert_code(0);
        let analyzed = run(&["analyze", trace_id, "--server", &servers, "-o", "json"]).await;
        assert!(matches!(analyzed.code(), Some(0 | 1)), "{analyzed}");
        let verdict: Value = serde_json::from_slice(&analyzed.stdout).expect("analysis JSON");
        assert_eq!(verdict["trace_id"], trace_id);
    }

    // The merged list holds both traces, newest (the second step's) first.
    let listed = run(&["traces", "list", "--server", &servers, "-o", "json"]).await;
    listed.assert_code(0);
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
    let got = run(&["traces", "get", missing, "--server", &servers]).await;
    got.assert_code(1);
    assert_eq!(got.stderr().trim(), format!("error: trace {missing} not found"));
    service.shutdown().await;
}

/// A port where nothing listens, named as `--server` would name it.
fn closed_port() -> String {
    format!("http://{}", free_addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_is_down_is_named_and_does_not_hang() {
    let live = server().start().await;
    let live_url = live.grpc_url();
    let down = closed_port();
    let servers = format!("{live_url},{down}");
    let files = Files::new();
    let vars = vars_file(&files, &[("HOST", "http://127.0.0.1:9")]);
    let create = demo_file("create-user.yaml");

    for args in [
        vec!["traces", "list", "--server", &servers],
        vec!["traces", "get", "0123456789abcdef0123456789abcdef", "--server", &servers],
        vec!["analyze", "0123456789abcdef0123456789abcdef", "--server", &servers],
        vec!["run", &create, "--vars", &vars, "--server", &servers],
    ] {
        let output = run(&args).await;
        assert_eq!(output.code(), Some(1), "{args:?}: {output}");
        let stderr = output.stderr();
        assert!(stderr.starts_with(&format!("error: cannot connect to {down}: ")), "{args:?}: {stderr}");
    }
    // Repeated flags and TRACECHECK_SERVER say the same.
    let output = run(&["traces", "list", "--server", &live_url, "--server", &down]).await;
    assert!(output.stderr().contains(&down), "{output}");
    let output = tracecheck().args(["traces", "list"]).env("TRACECHECK_SERVER", &servers).output().await;
    assert!(output.stderr().contains(&down), "{output}");
    // The same instance twice is refused as bad input.
    let output = run(&["traces", "list", "--server", &format!("{live_url},{live_url}")]).await;
    output.assert_code(2);
    assert!(output.stderr().contains("listed twice"), "{output}");
    live.shutdown().await.expect("shutdown");
}

/// An instance that takes the connection but never speaks HTTP/2 (a hung process, a wrong
/// port behind a proxy) is named too, within a bounded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_never_answers_is_named_within_a_bounded_time() {
    let live = server().start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let servers = format!("{},{silent}", live.grpc_url());
    let output = run(&["traces", "list", "--server", &servers]).await;
    output.assert_code(1);
    let stderr = output.stderr();
    assert!(stderr.starts_with(&format!("error: cannot connect to {silent}: ")), "{stderr}");
    live.shutdown().await.expect("shutdown");
}
