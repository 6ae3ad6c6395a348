//! The memory governor of `tracecheck serve`: holds the whole process, not only the store, to
//! `--max-memory` by telling the store every [`MEMORY_CHECK_INTERVAL`] how much of the bound the
//! rest of the process takes ([`TraceStore::leave_for_process`]). It knows the store's memory
//! counter and the process's resident set; nothing of requests or routes.

use store::TraceStore;

/// How often the resident memory is compared with `--max-memory`.
const MEMORY_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Holds the whole process, not only the store's accounted bytes, to `--max-memory`: the
/// store gives up to the rest of the process what it is seen to use beyond the store
/// ([`TraceStore::leave_for_process`]). Under eviction churn the allocator keeps a third
/// as much again as the store holds in free lists it does not return by itself, so while
/// over the bound the free pages are handed back first (BENCHMARKS.md, Store: memory bound
/// and compaction). Where resident memory cannot be read, the store's own bound is all.
pub(crate) async fn govern_memory(store: TraceStore) {
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
        // What reads in flight reserved is in `resident` once they decode, and already taken
        // off the store's limit: not counted twice.
        let outside = resident.saturating_sub(store.stats().memory_bytes).saturating_sub(store.reserved());
        store.leave_for_process(outside);
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
