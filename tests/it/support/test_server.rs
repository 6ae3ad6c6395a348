//! The ingestor in-process, on port 0: `server().auth_token("t").max_spans(20).start()`.
//! By default the control API is served beside OTLP on the gRPC port, as `tracecheck serve`
//! runs it; [`ServerBuilder::otlp_only`] leaves it out for the receivers' own tests.

use std::time::Duration;

use server::api::RemoteClient;
use server::runs::RunStore;
use server::tls::ServerTls;
use server::{ConnectionTimeouts, RunningServer, ServerConfig};
use store::StoreConfig;
use tonic::service::Routes;

/// A server being configured; [`ServerBuilder::start`] binds 127.0.0.1:0 for both listeners.
pub struct ServerBuilder {
    config: ServerConfig,
    control_api: bool,
    records_runs: bool,
}

/// A builder with [`ServerConfig::ephemeral`]'s settings and the control API.
pub fn server() -> ServerBuilder {
    ServerBuilder { config: ServerConfig::ephemeral(), control_api: true, records_runs: true }
}

impl ServerBuilder {
    /// A control API whose `RecordRun` refuses every run ("this server does not record
    /// runs"), for what `run --server` does with a run it cannot record.
    pub fn refusing_runs(mut self) -> Self {
        self.records_runs = false;
        self
    }

    /// OTLP only: no control API on the gRPC port.
    pub fn otlp_only(mut self) -> Self {
        self.control_api = false;
        self
    }

    pub fn auth_token(mut self, token: &str) -> Self {
        self.config.auth_token = Some(token.to_string());
        self
    }

    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    pub fn max_receive_bytes(mut self, bytes: usize) -> Self {
        self.config.max_receive_bytes = bytes;
        self
    }

    pub fn max_concurrent_exports(mut self, n: usize) -> Self {
        self.config.max_concurrent_exports = n;
        self
    }

    pub fn store(mut self, store: StoreConfig) -> Self {
        self.config.store = store;
        self
    }

    pub fn max_spans(self, max_spans: usize) -> Self {
        self.store(StoreConfig { max_spans, ..StoreConfig::default() })
    }

    pub fn max_memory(self, max_memory: usize) -> Self {
        self.store(StoreConfig { max_memory, ..StoreConfig::default() })
    }

    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts = ConnectionTimeouts { header_read: timeout, ..self.config.timeouts };
        self
    }

    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts = ConnectionTimeouts { body_read: timeout, ..self.config.timeouts };
        self
    }

    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts = ConnectionTimeouts { idle: timeout, ..self.config.timeouts };
        self
    }

    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.config.tls = Some(tls);
        self
    }

    /// The recorded runs the web UI lists (`--max-runs`).
    pub fn max_runs(mut self, max_runs: usize) -> Self {
        self.config.runs = RunStore::new(max_runs);
        self
    }

    pub async fn start(self) -> RunningServer {
        let started = if self.control_api && !self.records_runs {
            server::start(self.config, |handles| {
                Routes::new(server::api::ControlService::new(handles.store.clone()).into_server())
            })
            .await
        } else if self.control_api {
            server::start(self.config, server::routes::control_routes).await
        } else {
            server::start(self.config, |_| Routes::default()).await
        };
        started.expect("the server starts")
    }
}

/// The URLs of a running server.
pub trait ServerExt {
    /// `http://GRPC`: OTLP/gRPC and the control API (`--server`).
    fn grpc_url(&self) -> String;
    /// `http://HTTP`: OTLP/HTTP, the web UI and its API.
    fn http_url(&self) -> String;
    /// The control API's client (no token).
    async fn client(&self) -> RemoteClient {
        RemoteClient::connect(&self.grpc_url(), None).await.expect("connect to the control API")
    }
}

impl ServerExt for RunningServer {
    fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr())
    }

    fn http_url(&self) -> String {
        format!("http://{}", self.http_addr())
    }
}
