//! The ingestor with the control API, as `tracecheck serve` runs it: serve until a
//! shutdown future resolves, then a clean shutdown that drains in-flight requests. Which
//! signal stops it is the command line's business (`cli::serve`).

use std::future::Future;

use crate::ServerConfig;
use store::TraceStore;

/// Serves OTLP and the control API until `shutdown` resolves.
///
/// # Errors
/// When a listener cannot bind or fails while serving.
pub async fn serve_until(
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), crate::Error> {
    let running = crate::start(config, control_routes).await?;
    let governor = tokio::spawn(govern_memory(running.store().clone()));
    // One stable line whatever the log filter: scripts and tests bind port 0 and read the
    // bound ports here.
    eprintln!("tracecheck serve: listening on grpc={} http={}", running.grpc_addr(), running.http_addr());
    tracing::info!(
        grpc = %running.grpc_addr(),
        http = %running.http_addr(),
        "tracecheck serving: OTLP/gRPC and the control API on grpc, OTLP/HTTP and the web UI on http; Ctrl-C to stop"
    );
    shutdown.await;
    governor.abort();
    tracing::info!("shutting down: draining in-flight requests");
    running.shutdown().await
}

/// The control API, served beside OTLP on the gRPC port, recording runs into the web UI's
/// `runs`. (The server's bearer-token layer guards it together with OTLP.)
pub fn control_routes(store: &TraceStore, runs: &crate::web::RunStore) -> tonic::service::Routes {
    tonic::service::Routes::new(
        crate::api::ControlService::new(store.clone()).with_runs(runs.clone()).into_server(),
    )
}

/// How often `serve` compares its resident memory with `--max-memory`.
const MEMORY_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Holds the whole process, not only the store's accounted bytes, to `--max-memory`: the
/// store gives up to the rest of the process what it is seen to use beyond the store
/// ([`TraceStore::leave_for_process`]). Under eviction churn the allocator keeps a third
/// as much again as the store holds in free lists it does not return by itself, so while
/// over the bound the free pages are handed back first (BENCHMARKS.md, Store: memory bound
/// and compaction). Where resident memory cannot be read, the store's own bound is all.
async fn govern_memory(store: TraceStore) {
    let max = store.config().max_memory as u64;
    let mut tick = tokio::time::interval(MEMORY_CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(mut resident) = resident_bytes() else { return };
        if resident > max / 8 * 7 {
            // Off the runtime's workers: a trim of a large heap takes milliseconds.
            let _ = tokio::task::spawn_blocking(release_free_memory).await;
            resident = resident_bytes().unwrap_or(resident);
        }
        store.leave_for_process(resident.saturating_sub(store.stats().memory_bytes));
    }
}

/// The process's resident set (`VmRSS`), on Linux.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?.trim().strip_suffix("kB")?;
    kib.trim().parse::<u64>().ok().map(|kib| kib * 1024)
}

/// Returns the allocator's wholly free pages to the system (glibc keeps them otherwise).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::time::Instant::now();
        // SAFETY: malloc_trim only walks the allocator's own free lists, under its locks.
        unsafe { libc::malloc_trim(0) };
        tracing::debug!(elapsed = ?started.elapsed(), "returned free heap pages");
    }
}
