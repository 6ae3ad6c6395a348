//! 1,000 runs at once (issue 23, item 3): a load tool fires traces by the thousand and asks
//! for each verdict (Tracetest lost traces at about 1,000 requests, kubeshop/tracetest#3066).
//!
//! A release `tracecheck serve --max-memory 256MiB` on port 0; the demo users API in this
//! process, exporting to it over OTLP/gRPC (the SDK's batch processor, 100 ms delay); 1,000
//! copies of the demo's `create-user` test, each its own file; then one
//! `tracecheck run --server ... --parallel 200 -o json` over all of them. It prints how many
//! steps were judged and how (none may be lost, time out or be judged incomplete), per step
//! the time from its trace's last span arriving to its verdict beyond the settle window
//! (`last_span_to_verdict_us` of the JSON report: p50/p90/p99/max; target: under 1 s), the
//! serve's peak RSS (`VmHWM`) against its bound, and its span counters (refused, evicted).
//! Ignored by default (it measures):
//!
//! ```text
//! cargo build --release -p tracecheck
//! cargo test --release -p tracecheck-bench --test runs_at_scale -- --ignored --nocapture
//! ```
//!
//! `TRACECHECK_BIN` names the binary (default `target/release/tracecheck`); `RUNS`,
//! `PARALLEL`, `MAX_MEMORY` and `SETTLE_MS` change the load (defaults 1000, 200, 256MiB, 500).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Child;

#[path = "support/serve.rs"]
mod support;

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|text| text.parse().ok()).unwrap_or(default)
}

/// `tracecheck serve` on port 0 with `extra` flags, once it says where it listens: the
/// child, its gRPC and HTTP addresses.
async fn serve(extra: &[&str]) -> (Child, SocketAddr, SocketAddr) {
    let support::Listening { child, grpc, http, mut log } = support::listening(support::command(extra)).await;
    // Whatever serve logs later (warnings under load) is shown, prefixed.
    tokio::spawn(async move {
        while let Ok(Some(line)) = log.next_line().await {
            eprintln!("serve: {line}");
        }
    });
    (child, grpc, http)
}

/// A `/proc/PID/status` field in MiB (`VmHWM`, `VmRSS`).
fn status_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let line = status.lines().find(|line| line.starts_with(field)).expect("field");
    let kib: f64 = line.split_whitespace().nth(1).expect("value").parse().expect("kB");
    kib / 1024.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One sample of serve's `/metrics` by name (summed over its labels).
async fn metric(http: SocketAddr, name: &str) -> f64 {
    let text =
        reqwest::get(format!("http://{http}/metrics")).await.expect("metrics").text().await.expect("body");
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with([' ', '{']))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// `n` copies of the demo's create-user test in `dir`, each with its own ID and name.
fn write_tests(dir: &Path, n: usize) -> Vec<PathBuf> {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo/create-user.yaml"))
            .expect("the demo's create-user test");
    (0..n)
        .map(|index| {
            let text = template
                .replacen("id: create-user", &format!("id: create-user-{index:04}"), 1)
                .replacen("name: Create user", &format!("name: Create user {index:04}"), 1);
            let path = dir.join(format!("create-user-{index:04}.yaml"));
            std::fs::write(&path, text).expect("write a test");
            path
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures; run with --ignored --nocapture"]
async fn a_thousand_runs_at_once_against_serve() {
    let runs: usize = setting("RUNS", 1000);
    let parallel: usize = setting("PARALLEL", 200);
    let max_memory: String = setting("MAX_MEMORY", "256MiB".to_string());
    let settle = Duration::from_millis(setting("SETTLE_MS", 500));

    let (serve_child, grpc, http) = serve(&["--max-memory", &max_memory]).await;
    let serve_pid = serve_child.id().expect("pid");
    let service = demo::start(&format!("http://{grpc}")).await.expect("the demo service");

    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_tests(dir.path(), runs);
    let vars = dir.path().join("vars.yaml");
    std::fs::write(
        &vars,
        format!(
            "type: VariableSet\nspec:\n  id: scale\n  name: scale\n  values:\n    - key: HOST\n      value: {}\n",
            service.url()
        ),
    )
    .expect("write vars");

    let load_before = load_average();
    let started = Instant::now();
    let mut command = tokio::process::Command::new(support::binary());
    command
        .args(["run", "--server", &format!("http://{grpc}"), "--output", "json"])
        .args(["--parallel", &parallel.to_string(), "--settle", &format!("{}ms", settle.as_millis())])
        .arg("--vars")
        .arg(&vars)
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = command.output().await.expect("run tracecheck run");
    let wall = started.elapsed();
    let load_after = load_average();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        eprintln!("run's stderr (first 40 lines):");
        for line in stderr.lines().take(40) {
            eprintln!("  {line}");
        }
    }

    let mut states: std::collections::BTreeMap<String, usize> = Default::default();
    let mut n_warned = 0usize;
    let mut beyond_settle: Vec<Duration> = Vec::with_capacity(runs);
    let mut examples: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines().filter(|line| !line.trim().is_empty()) {
        let report: wire::RunReport = serde_json::from_str(line).expect("a JSON run report");
        for step in &report.steps {
            *states.entry(format!("{:?}", step.state)).or_default() += 1;
            if !step.warnings.is_empty() || step.error.is_some() {
                n_warned += 1;
                if examples.len() < 5 {
                    examples.push(format!("{}: {:?} {:?}", step.name, step.error, step.warnings));
                }
            }
            if let Some(us) = step.last_span_to_verdict_us {
                beyond_settle.push(Duration::from_micros(us).saturating_sub(settle));
            }
        }
    }
    let n_steps: usize = states.values().sum();
    let peak = status_mib(serve_pid, "VmHWM");
    let rss = status_mib(serve_pid, "VmRSS");
    let received = metric(http, "tracecheck_spans_received_total").await;
    let refused = metric(http, "tracecheck_spans_refused_total").await;
    let evicted = metric(http, "tracecheck_spans_evicted_total").await;
    let exports_refused = metric(http, "tracecheck_export_requests_refused_total").await;

    println!(
        "{runs} files, --parallel {parallel}, settle {} ms, serve --max-memory {max_memory}: {:.1} s wall, exit {:?}",
        settle.as_millis(),
        wall.as_secs_f64(),
        output.status.code()
    );
    println!("load average before {load_before}, after {load_after}");
    println!("steps reported {n_steps}: {states:?}; with an error or a warning: {n_warned}");
    for example in &examples {
        println!("  {example}");
    }
    beyond_settle.sort();
    if !beyond_settle.is_empty() {
        let at = |quantile: f64| {
            beyond_settle
                [((beyond_settle.len() as f64 * quantile).ceil() as usize).clamp(1, beyond_settle.len()) - 1]
        };
        let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
        println!(
            "last span -> verdict beyond the settle ({} steps): p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            beyond_settle.len(),
            ms(at(0.50)),
            ms(at(0.90)),
            ms(at(0.99)),
            ms(*beyond_settle.last().expect("one"))
        );
    }
    println!("serve: peak RSS (VmHWM) {peak:.1} MiB, RSS now {rss:.1} MiB, bound {max_memory}");
    println!(
        "serve: spans received {received}, refused {refused}, evicted {evicted}; export requests refused {exports_refused}"
    );

    service.shutdown().await;
    drop(serve_child);
    assert_eq!(n_steps, runs, "every step reported");
    assert_eq!(states.get("Passed").copied().unwrap_or(0), runs, "every step passed: {states:?}");
    assert_eq!(n_warned, 0, "no step judged incomplete or in error");
    assert_eq!(beyond_settle.len(), runs, "every step measured");
}
