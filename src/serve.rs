//! `tracecheck serve`: the ingestor and the control API on one gRPC port, until Ctrl-C or
//! SIGTERM, then a clean shutdown that drains in-flight requests.

use crate::server::{self, ServerConfig};

/// Serves until a shutdown signal arrives.
///
/// # Errors
/// When a listener cannot bind or fails while serving.
pub async fn serve_until_signal(config: ServerConfig) -> anyhow::Result<()> {
    let runs = config.runs.clone();
    let running = server::start(config, |store| {
        tonic::service::Routes::new(
            crate::api::ControlService::new(store.clone()).with_runs(runs).into_server(),
        )
    })
    .await?;
    tracing::info!(
        grpc = %running.grpc_addr(),
        http = %running.http_addr(),
        "tracecheck serving: OTLP/gRPC and the control API on grpc, OTLP/HTTP and the web UI on http; Ctrl-C to stop"
    );
    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await?;
    Ok(())
}

/// The control API, served beside OTLP on the gRPC port.
/// (The server's bearer-token layer guards it together with OTLP.)
pub fn control_routes(store: &crate::store::TraceStore) -> tonic::service::Routes {
    tonic::service::Routes::new(crate::api::ControlService::new(store.clone()).into_server())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
