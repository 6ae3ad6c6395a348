//! The ingestor with the control API, as `tracecheck serve` runs it: serve until a
//! shutdown future resolves, then a clean shutdown that drains in-flight requests. Which
//! signal stops it is the command line's business (`cli::serve`).

use std::future::Future;

use crate::server::{self, ServerConfig};

/// Serves OTLP and the control API until `shutdown` resolves.
///
/// # Errors
/// When a listener cannot bind or fails while serving.
pub async fn serve_until(
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), server::Error> {
    let running = server::start(config, control_routes).await?;
    tracing::info!(
        grpc = %running.grpc_addr(),
        http = %running.http_addr(),
        "tracecheck serving: OTLP/gRPC and the control API on grpc, OTLP/HTTP and the web UI on http; Ctrl-C to stop"
    );
    shutdown.await;
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await
}

/// The control API, served beside OTLP on the gRPC port, recording runs into the web UI's
/// `runs`. (The server's bearer-token layer guards it together with OTLP.)
pub fn control_routes(store: &crate::store::TraceStore, runs: &crate::web::RunStore) -> tonic::service::Routes {
    tonic::service::Routes::new(crate::api::ControlService::new(store.clone()).with_runs(runs.clone()).into_server())
}
