//! The real OpenTelemetry Collector (`tests/tools/provision otelcol`) running README's
//! configuration file, [`CONFIG`], as it is: its endpoints come through the Collector's own
//! `${env:NAME}` substitution, so it listens on port 0 and routes to the instances a test
//! started. Ready when it logs so, with the address its OTLP/gRPC receiver bound.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::process::Child;

use super::command::LogLines;

/// README's Collector configuration: the `load_balancing` exporter routing by trace ID to
/// three instances.
pub const CONFIG: &str = "examples/collector/loadbalancing.yaml";

/// A running Collector; killed when dropped.
pub struct Collector {
    child: Child,
    /// Its OTLP/gRPC receiver.
    pub grpc: SocketAddr,
    log: LogLines,
}

impl Collector {
    /// Starts [`CONFIG`] in front of `instances` (their OTLP/gRPC addresses) and waits until
    /// the Collector says it is ready.
    pub async fn start(instances: [SocketAddr; 3]) -> Collector {
        let binary = super::tools::tool("otelcol");
        let mut command = tokio::process::Command::new(&binary);
        command
            .arg("--config")
            .arg(super::root().join(CONFIG))
            // Its own metrics would listen on the fixed port 8888; a test binds free ports
            // only, and needs none of them.
            .arg("--set=service.telemetry.metrics.level=none")
            .env("OTLP_GRPC_ENDPOINT", "127.0.0.1:0")
            .env("OTLP_HTTP_ENDPOINT", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, instance) in ["INSTANCE_1", "INSTANCE_2", "INSTANCE_3"].into_iter().zip(instances) {
            command.env(name, instance.to_string());
        }
        let mut child = command.spawn().unwrap_or_else(|error| panic!("start {}: {error}", binary.display()));
        let log = LogLines::read(child.stderr.take().expect("stderr"));
        let mut collector = Collector { child, grpc: SocketAddr::from(([0, 0, 0, 0], 0)), log };
        // The receiver logs the address it bound, port 0 resolved:
        // `Starting GRPC server {..., "endpoint": "127.0.0.1:41234"}`.
        let line = collector.wait_for_line("Starting GRPC server").await;
        let endpoint = line
            .split("\"endpoint\": \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no endpoint in {line:?}"));
        collector.grpc = endpoint.parse().unwrap_or_else(|error| panic!("{endpoint}: {error}"));
        collector.wait_for_line("Everything is ready").await;
        collector
    }

    /// `http://GRPC`: where the apps export.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    async fn wait_for_line(&mut self, text: &str) -> String {
        match self.log.wait_for(text).await {
            Some(line) => line,
            None => {
                let status = self.child.wait().await;
                panic!("the Collector exited ({status:?}) before logging {text:?}:\n{}", self.log.seen())
            }
        }
    }
}
