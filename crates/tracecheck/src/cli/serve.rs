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
    let shutdown = shutdown_signal();
    server::serve_until(config, shutdown).await.map_err(|error| {
        let bad_input = matches!(error, server::Error::Tls(_));
        Error::classify(bad_input, error)
    })?;
    Ok(Outcome::Passed)
}

/// Ctrl-C or SIGTERM. The handlers are registered when this is called, before the listeners
/// bind: registered on the future's first poll instead, a SIGTERM sent as soon as the ports
/// were printed could come first on a loaded machine and kill the process undrained.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let signals = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
        async move {
            match signals {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
