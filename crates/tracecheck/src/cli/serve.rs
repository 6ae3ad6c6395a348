//! `tracecheck serve`: the ingestor and the control API until Ctrl-C or SIGTERM.

use super::args::ServeArgs;
use super::{Error, Outcome};

/// Serves until a shutdown signal, then drains.
///
/// # Errors
/// [`Error::BadInput`] when the TLS files cannot be used; [`Error::Failed`] when a listener
/// cannot bind or fails while serving (a runtime failure: the flags themselves were checked
/// by clap).
pub async fn serve(args: ServeArgs) -> Result<Outcome, Error> {
    let mut config = server::ServerConfig {
        // Runs are held beside the store: a quarter of the memory bound at most.
        runs: server::runs::RunStore::new(args.max_runs).with_max_bytes(args.ingest.max_memory / 4),
        ..args.ingest.server_config(args.auth_token.clone())
    };
    config.tls = args.server_tls();
    (config.jaeger, config.tempo) = args.api_listeners();
    config.allowed_hosts = server::hosts::AllowedHosts::from_names(&args.allowed_hosts);
    server::serve_until(config, shutdown_signal()).await.map_err(|error| {
        let bad_input = matches!(error, server::Error::Tls(_));
        Error::classify(bad_input, error)
    })?;
    Ok(Outcome::Passed)
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
