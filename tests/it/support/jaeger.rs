//! The real Jaeger v2 (built by `tests/tools/provision jaeger`) for the tests that compare
//! against it or read traces from it: memory storage, every port a free one.

use std::net::SocketAddr;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::tools::tool;
use super::{free_addr, Files, HANG};

/// `GET url`: the status and the JSON body (a string when it is not JSON).
pub async fn get(url: &str) -> (u16, Value) {
    let answer = reqwest::get(url).await.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let status = answer.status().as_u16();
    let body = answer.bytes().await.expect("body");
    let value = serde_json::from_slice(&body).unwrap_or(Value::String(String::from_utf8_lossy(&body).into()));
    (status, value)
}

/// The real Jaeger v2: OTLP receivers, memory storage and the query extension, every port
/// a free one. Killed when dropped.
pub struct Jaeger {
    _child: tokio::process::Child,
    /// Its OTLP receivers and its query service (HTTP: the v1 JSON API and api_v3; gRPC:
    /// api_v2 and api_v3).
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub query: SocketAddr,
    pub query_grpc: SocketAddr,
    _files: Files,
}

impl Jaeger {
    pub async fn start() -> Jaeger {
        let binary = tool("jaeger");
        let files = Files::new();
        let (otlp_grpc, otlp_http, query, query_grpc) = (free_addr(), free_addr(), free_addr(), free_addr());
        let config = files.write(
            "jaeger.yaml",
            &format!(
                "service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: {query}
    grpc:
      endpoint: {query_grpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 1000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: {otlp_grpc}
      http:
        endpoint: {otlp_http}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"
            ),
        );
        let mut child = tokio::process::Command::new(binary)
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start jaeger");
        // The collector says when every component has started: the event to wait for.
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut seen = Vec::new();
        let ready = tokio::time::timeout(HANG, async {
            while let Some(line) = lines.next_line().await.expect("jaeger's stderr") {
                let ready = line.contains("Everything is ready");
                seen.push(line);
                if ready {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(ready, Ok(true)), "jaeger did not start:\n{}", seen.join("\n"));
        // Keep draining its log so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Jaeger { _child: child, otlp_grpc, otlp_http, query, query_grpc, _files: files }
    }

    /// Waits until Jaeger answers the trace with `n_spans` spans: its storage takes spans
    /// after the export has been answered, and it tells no one, so its API is polled
    /// (bounded by `HANG`).
    pub async fn wait_for(&self, trace_id: &str, n_spans: usize) {
        let url = format!("http://{}/api/traces/{trace_id}", self.query);
        let found = tokio::time::timeout(HANG, async {
            loop {
                let (status, body) = get(&url).await;
                if status == 200 && body["data"][0]["spans"].as_array().map(Vec::len) == Some(n_spans) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(found.is_ok(), "jaeger never held trace {trace_id} with {n_spans} spans");
    }
}
