//! Store tests on tokio's paused clock: timers fire exactly when due and the test reads the
//! virtual time at which a wait returned.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant as TokioInstant;

use super::*;
use model::{Span, SpanId, Trace, TraceId};

fn tid(n: u8) -> TraceId {
    TraceId([n; 16])
}

fn sid(n: u8) -> SpanId {
    SpanId([n; 8])
}

fn span(trace: u8, span_id: u8, parent: Option<u8>) -> Span {
    let span = Span::new(tid(trace), sid(span_id), &format!("span-{span_id}"));
    match parent {
        Some(parent) => span.with_parent(sid(parent)),
        None => span,
    }
}

fn store_with(max_spans: usize, trace_ttl: Duration) -> (TraceStore, StoreGuard) {
    TraceStore::new(StoreConfig { max_spans, trace_ttl, ..StoreConfig::default() })
}

fn store() -> (TraceStore, StoreGuard) {
    TraceStore::new(StoreConfig::default())
}

fn options(settle_ms: u64, grace_ms: u64, timeout_ms: u64) -> WaitOptions {
    WaitOptions {
        settle: Duration::from_millis(settle_ms),
        grace: Duration::from_millis(grace_ms),
        timeout: Duration::from_millis(timeout_ms),
        started: TokioInstant::now().into_std(),
        trigger_span_id: None,
    }
}

fn no_check(_: &Trace) -> Vec<String> {
    Vec::new()
}

/// Starts a wait in a task; returns it with the virtual time it started at.
fn spawn_wait(
    store: &TraceStore,
    trace: u8,
    options: WaitOptions,
) -> tokio::task::JoinHandle<(WaitOutcome, Duration)> {
    let store = store.clone();
    tokio::spawn(async move {
        let started = TokioInstant::now();
        let outcome = store.wait(tid(trace), &options, &no_check).await;
        (outcome, started.elapsed())
    })
}

/// Timers have millisecond resolution: a deadline may fire up to 1 ms late.
fn assert_about(elapsed: Duration, expected_ms: u64) {
    let expected = Duration::from_millis(expected_ms);
    assert!(
        elapsed >= expected && elapsed <= expected + Duration::from_millis(2),
        "elapsed {elapsed:?}, expected about {expected:?}"
    );
}

/// Lets spawned tasks run up to their next await without moving the clock.
async fn settle_tasks() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn duplicates_are_stored_once_and_counted() {
    let (store, _guard) = store();
    let outcome = store.insert(vec![span(1, 1, None), span(1, 2, Some(1)), span(1, 2, Some(1))]);
    assert_eq!(outcome, InsertOutcome { stored: 2, duplicates: 1, refused: 0 });
    let outcome = store.insert(vec![span(1, 1, None), span(1, 3, Some(1))]);
    assert_eq!(outcome, InsertOutcome { stored: 1, duplicates: 1, refused: 0 });
    assert_eq!(store.get(tid(1)).map(|trace| trace.spans.len()), Some(3));
    assert_eq!((store.span_count(tid(1)), store.span_count(tid(2))), (Some(3), None));
    let stats = store.stats();
    assert_eq!(
        (stats.spans_received, stats.duplicate_spans, stats.spans_held, stats.traces_held),
        (5, 2, 3, 1)
    );
    assert!(stats.memory_bytes > 0);
}

#[tokio::test]
async fn duplicates_detected_in_large_traces() {
    let (store, _guard) = store();
    let spans: Vec<Span> = (1..=200u8).map(|n| span(1, n, None)).collect();
    assert_eq!(store.insert(spans.clone()).stored, 200);
    assert_eq!(store.insert(spans), InsertOutcome { stored: 0, duplicates: 200, refused: 0 });
    assert_eq!(store.get(tid(1)).map(|trace| trace.spans.len()), Some(200));
}

#[tokio::test]
async fn interleaved_traces_in_one_batch() {
    let (store, _guard) = store();
    let outcome =
        store.insert(vec![span(1, 1, None), span(2, 1, None), span(1, 2, Some(1)), span(2, 1, None)]);
    assert_eq!(outcome, InsertOutcome { stored: 3, duplicates: 1, refused: 0 });
    assert_eq!(store.get(tid(1)).map(|trace| trace.spans.len()), Some(2));
    assert_eq!(store.get(tid(2)).map(|trace| trace.spans.len()), Some(1));
    assert_eq!(store.stats().traces_held, 2);
}

#[tokio::test]
async fn recent_is_most_recently_updated_first() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 1, None).with_times(100, 400).with_resource_attribute("service.name", "api")]);
    store.insert(vec![span(2, 1, None)]);
    store.insert(vec![span(1, 2, Some(1)).with_times(150, 500)]);
    let recent = store.recent(10);
    assert_eq!(recent.iter().map(|(trace, _)| trace.trace_id).collect::<Vec<_>>(), vec![tid(1), tid(2)]);
    assert_eq!(recent[0].0.spans.len(), 2);
    assert!(recent[0].1 >= recent[1].1, "newest update first");
    assert_eq!(store.recent(1).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn complete_trace_is_judged_after_settle() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 1, None), span(1, 2, Some(1))]);
    let (outcome, elapsed) = spawn_wait(&store, 1, options(500, 5_000, 30_000)).await.unwrap();
    assert!(outcome.complete, "{:?}", outcome.missing);
    assert!(outcome.missing.is_empty());
    assert_eq!(outcome.trace.map(|trace| trace.spans.len()), Some(2));
    assert_about(elapsed, 500);
}

#[tokio::test(start_paused = true)]
async fn wait_wakes_on_late_child_and_restarts_settle() {
    let (store, _guard) = store();
    // The child names a parent that has not arrived yet.
    store.insert(vec![span(1, 1, None), span(1, 3, Some(2))]);
    let waiting = spawn_wait(&store, 1, options(500, 5_000, 30_000));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    store.insert(vec![span(1, 2, Some(1))]);
    let (outcome, elapsed) = waiting.await.unwrap();
    assert!(outcome.complete, "{:?}", outcome.missing);
    assert_eq!(outcome.trace.map(|trace| trace.spans.len()), Some(3));
    assert_about(elapsed, 1_500);
}

#[tokio::test(start_paused = true)]
async fn wait_before_first_span_sees_it() {
    let (store, _guard) = store();
    let waiting = spawn_wait(&store, 1, options(200, 5_000, 30_000));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(store.get(tid(1)).is_none(), "a pinned placeholder is not a trace");
    assert!(store.recent(10).is_empty());
    store.insert(vec![span(1, 1, None)]);
    let (outcome, elapsed) = waiting.await.unwrap();
    assert!(outcome.complete);
    assert_about(elapsed, 500);
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_grace_and_reports_dangling_parent() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 1, None), span(1, 3, Some(0x53))]);
    let (outcome, elapsed) = spawn_wait(&store, 1, options(500, 5_000, 30_000)).await.unwrap();
    assert!(!outcome.complete);
    assert_eq!(outcome.missing, vec!["1 dangling parent 5353535353535353".to_string()]);
    assert_eq!(outcome.trace.map(|trace| trace.spans.len()), Some(2));
    assert_about(elapsed, 5_000);
}

#[tokio::test(start_paused = true)]
async fn reports_missing_root() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 2, Some(1)), span(1, 3, Some(1))]);
    let (outcome, _) = spawn_wait(&store, 1, options(500, 1_000, 30_000)).await.unwrap();
    assert!(!outcome.complete);
    assert_eq!(
        outcome.missing,
        vec!["no root span".to_string(), "1 dangling parent 0101010101010101".to_string()]
    );
}

#[tokio::test(start_paused = true)]
async fn timeout_judges_a_trace_that_keeps_growing() {
    let (store, _guard) = store();
    let waiting = spawn_wait(&store, 1, options(500, 2_000, 2_500));
    // A dangling span every second: grace never passes, the timeout does.
    for n in 1..=5u8 {
        store.insert(vec![span(1, n, Some(100 + n))]);
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
    let (outcome, elapsed) = waiting.await.unwrap();
    assert!(!outcome.complete);
    assert_about(elapsed, 2_500);
    assert!(outcome.missing.iter().any(|problem| problem.starts_with("no root span")));
    assert!(
        outcome.missing.iter().any(|problem| problem.starts_with("3 dangling parents")),
        "{:?}",
        outcome.missing
    );
}

#[tokio::test(start_paused = true)]
async fn timeout_before_settle_is_incomplete() {
    let (store, _guard) = store();
    let waiting = spawn_wait(&store, 1, options(500, 2_000, 1_000));
    for n in 1..=4u8 {
        store.insert(vec![span(1, n, if n == 1 { None } else { Some(1) })]);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (outcome, elapsed) = waiting.await.unwrap();
    assert!(!outcome.complete);
    assert_about(elapsed, 1_000);
    assert_eq!(
        outcome.missing,
        vec!["a span arrived 100 ms before the timeout, within the settle window of 500 ms".to_string()]
    );
}

#[tokio::test(start_paused = true)]
async fn no_span_by_timeout_gives_no_trace() {
    let (store, _guard) = store();
    let (outcome, elapsed) = spawn_wait(&store, 1, options(500, 2_000, 4_000)).await.unwrap();
    assert!(outcome.trace.is_none());
    assert!(!outcome.complete);
    assert!(outcome.last_span_at.is_none());
    assert_about(elapsed, 4_000);
    // The placeholder the wait created is gone.
    assert_eq!(store.shared.traces.len(), 0);
}

#[tokio::test(start_paused = true)]
async fn timeout_counts_from_started() {
    let (store, _guard) = store();
    let mut opts = options(500, 2_000, 4_000);
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    opts.started = (TokioInstant::now() - Duration::from_millis(3_000)).into_std();
    let (outcome, elapsed) = spawn_wait(&store, 1, opts).await.unwrap();
    assert!(outcome.trace.is_none());
    assert_about(elapsed, 1_000);
}

#[tokio::test(start_paused = true)]
async fn trigger_span_counts_as_root_and_parent() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 2, Some(9)), span(1, 3, Some(2))]);
    let mut opts = options(500, 5_000, 30_000);
    opts.trigger_span_id = Some(sid(9));
    let (outcome, elapsed) = spawn_wait(&store, 1, opts).await.unwrap();
    assert!(outcome.complete, "{:?}", outcome.missing);
    assert_about(elapsed, 500);
}

#[tokio::test(start_paused = true)]
async fn trigger_span_alone_has_not_arrived() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 9, None)]);
    let mut opts = options(500, 1_000, 3_000);
    opts.trigger_span_id = Some(sid(9));
    let (outcome, elapsed) = spawn_wait(&store, 1, opts).await.unwrap();
    assert!(outcome.trace.is_none());
    assert_about(elapsed, 3_000);
}

/// Starts a wait on trace 1 (settle 500 ms, grace 5 s) whose rule 3 hook `check` is counted;
/// returns the wait and the count.
fn spawn_counted_wait(
    store: &TraceStore,
    check: impl Fn(&Trace) -> Vec<String> + Send + Sync + 'static,
) -> (tokio::task::JoinHandle<(WaitOutcome, Duration)>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let check_calls = calls.clone();
    let store = store.clone();
    let waiting = tokio::spawn(async move {
        let check = move |trace: &Trace| {
            check_calls.fetch_add(1, Ordering::SeqCst);
            check(trace)
        };
        let started = TokioInstant::now();
        let outcome = store.wait(tid(1), &options(500, 5_000, 30_000), &check).await;
        (outcome, started.elapsed())
    });
    (waiting, calls)
}

#[tokio::test(start_paused = true)]
async fn check_hook_runs_only_on_new_spans() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 1, None)]);
    let (waiting, calls) = spawn_counted_wait(&store, |trace| {
        if trace.spans.iter().any(|span| &*span.name == "db") {
            Vec::new()
        } else {
            vec!["selector span[name=\"db\"] matched none".to_string()]
        }
    });
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    store.insert(vec![span(1, 2, Some(1))]);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    store.insert(vec![Span::new(tid(1), sid(3), "db").with_parent(sid(1))]);
    let (outcome, elapsed) = waiting.await.unwrap();
    assert!(outcome.complete, "{:?}", outcome.missing);
    assert_about(elapsed, 2_500);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "once per new snapshot, never on a timer");
}

/// A trace arriving in many small exports, each within the settle window of the last, is
/// decoded and checked once, when it goes quiet, not once per export.
#[tokio::test(start_paused = true)]
async fn streaming_spans_are_checked_once_when_quiet() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 1, None)]);
    let (waiting, calls) = spawn_counted_wait(&store, |_| Vec::new());
    for child in 2..=21 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.insert(vec![span(1, child, Some(1))]);
    }
    let (outcome, elapsed) = waiting.await.unwrap();
    assert!(outcome.complete, "{:?}", outcome.missing);
    assert_eq!(outcome.trace.map(|trace| trace.spans.len()), Some(21));
    assert_about(elapsed, 2_500);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "checked once, after the last span's settle");
}

#[tokio::test(start_paused = true)]
async fn check_problems_reported_after_grace() {
    let (store, _guard) = store();
    store.insert(vec![span(1, 1, None)]);
    let check = |_: &Trace| vec!["selector span[name=\"db\"] matched none".to_string()];
    let outcome = store.wait(tid(1), &options(500, 2_000, 30_000), &check).await;
    assert!(!outcome.complete);
    assert_eq!(outcome.missing, vec!["selector span[name=\"db\"] matched none".to_string()]);
}

#[tokio::test(start_paused = true)]
async fn ttl_evicts_traces_not_updated() {
    let (store, _guard) = store_with(1_000, Duration::from_secs(10));
    store.insert(vec![span(1, 1, None)]);
    tokio::time::sleep(Duration::from_secs(6)).await;
    store.insert(vec![span(2, 1, None)]);
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    assert!(store.get(tid(1)).is_none());
    assert!(store.get(tid(2)).is_some());
    let stats = store.stats();
    assert_eq!(
        (stats.traces_evicted, stats.spans_evicted, stats.traces_held, stats.spans_held),
        (1, 1, 1, 1)
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(store.get(tid(2)).is_none());
    assert_eq!(store.stats().traces_held, 0);
    assert_eq!(store.stats().memory_bytes, 0);
}

#[tokio::test(start_paused = true)]
async fn ttl_counts_from_last_update() {
    let (store, _guard) = store_with(1_000, Duration::from_secs(10));
    store.insert(vec![span(1, 1, None)]);
    tokio::time::sleep(Duration::from_secs(8)).await;
    store.insert(vec![span(1, 2, Some(1))]);
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(store.get(tid(1)).is_some(), "updated at 8 s, due at 18 s");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(store.get(tid(1)).is_none());
}

#[tokio::test]
async fn max_spans_evicts_least_recently_updated() {
    let (store, _guard) = store_with(4, Duration::from_secs(600));
    store.insert(vec![span(1, 1, None), span(1, 2, Some(1))]);
    store.insert(vec![span(2, 1, None), span(2, 2, Some(1))]);
    // Trace 1 is updated last, so trace 2 is the least recently updated.
    store.insert(vec![span(1, 3, Some(1))]);
    assert!(store.get(tid(2)).is_none());
    assert_eq!(store.get(tid(1)).map(|trace| trace.spans.len()), Some(3));
    store.insert(vec![span(3, 1, None), span(3, 2, Some(1))]);
    assert!(store.get(tid(1)).is_none());
    assert!(store.get(tid(3)).is_some());
    let stats = store.stats();
    assert_eq!((stats.traces_evicted, stats.spans_evicted, stats.spans_held), (2, 5, 2));
}

#[tokio::test(start_paused = true)]
async fn pinned_trace_is_never_evicted() {
    let (store, _guard) = store_with(3, Duration::from_secs(10));
    let waiting = spawn_wait(&store, 1, options(500, 60_000, 120_000));
    settle_tasks().await;
    // Dangling parent: the wait keeps the trace pinned until grace.
    store.insert(vec![span(1, 1, None), span(1, 2, Some(7))]);
    for trace in 2..=6u8 {
        store.insert(vec![span(trace, 1, None), span(trace, 2, Some(1))]);
    }
    assert!(store.get(tid(1)).is_some(), "over max_spans");
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(store.get(tid(1)).is_some(), "past the ttl");
    assert!(store.get(tid(6)).is_none());
    let (outcome, _) = waiting.await.unwrap();
    assert_eq!(outcome.trace.map(|trace| trace.spans.len()), Some(2));
    // Unpinned now: the next sweep takes it.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert!(store.get(tid(1)).is_none());
    assert_eq!(store.stats().traces_held, 0);
}

#[tokio::test(start_paused = true)]
async fn cancelled_wait_unpins() {
    let (store, _guard) = store_with(2, Duration::from_secs(600));
    store.insert(vec![span(1, 1, None), span(1, 2, Some(7))]);
    let waiting = spawn_wait(&store, 1, options(500, 60_000, 120_000));
    settle_tasks().await;
    store.insert(vec![span(2, 1, None)]);
    assert!(store.get(tid(1)).is_some());
    waiting.abort();
    let _ = waiting.await;
    store.insert(vec![span(3, 1, None)]);
    assert!(store.get(tid(1)).is_none());
}

#[tokio::test(start_paused = true)]
async fn two_waiters_on_one_trace() {
    let (store, _guard) = store();
    let first = spawn_wait(&store, 1, options(500, 5_000, 30_000));
    let second = spawn_wait(&store, 1, options(1_000, 5_000, 30_000));
    settle_tasks().await;
    store.insert(vec![span(1, 1, None)]);
    let ((first, first_elapsed), (second, second_elapsed)) = (first.await.unwrap(), second.await.unwrap());
    assert!(first.complete && second.complete);
    assert_about(first_elapsed, 500);
    assert_about(second_elapsed, 1_000);
}

#[tokio::test(start_paused = true)]
async fn guard_drop_stops_background_task() {
    let (store, guard) = store();
    settle_tasks().await;
    assert_eq!(Arc::strong_count(&store.shared), 2);
    drop(guard);
    settle_tasks().await;
    assert_eq!(Arc::strong_count(&store.shared), 1);
}

/// A trace started elsewhere (a `traceid` run): the trigger span 9, the app's root 1 under
/// the sender's span 50 that was never exported, and 1's child 2.
#[test]
fn one_missing_parent_above_a_trace_started_elsewhere_is_the_senders_span() {
    let problems = |spans: Vec<Span>, started_elsewhere: bool| {
        let trace = Trace::new(tid(1), spans.into_iter().map(Arc::new).collect());
        super::wait::structural_problems(&trace, Some(sid(9)), started_elsewhere)
    };
    let started_elsewhere = || vec![span(1, 9, None), span(1, 1, Some(50)), span(1, 2, Some(1))];
    assert_eq!(problems(started_elsewhere(), true), Vec::<String>::new());
    // Not for a trace the trigger started: its spans' parents are all exported.
    assert_eq!(problems(started_elsewhere(), false), vec!["1 dangling parent 3232323232323232".to_string()]);
    // A second missing parent is a span still to come.
    let mut two = started_elsewhere();
    two.push(span(1, 3, Some(60)));
    assert_eq!(problems(two, true).len(), 1);
    // So is one below a root of the trace's own.
    let own_root = vec![span(1, 9, None), span(1, 1, None), span(1, 2, Some(60))];
    assert_eq!(problems(own_root, true).len(), 1);
}

#[test]
fn describes_many_dangling_parents() {
    let parents: Vec<SpanId> = (1..=7u8).map(sid).collect();
    assert_eq!(
        super::wait::structural_problems(
            &Trace::new(
                tid(1),
                parents
                    .iter()
                    .zip(100..)
                    .map(|(parent, id)| Arc::new(span(1, id, None).with_parent(*parent)))
                    .collect()
            ),
            None,
            false
        ),
        vec![
            "no root span".to_string(),
            "7 dangling parents 0101010101010101, 0202020202020202, 0303030303030303, 0404040404040404, \
             0505050505050505, ... (2 more)"
                .to_string()
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_on_resolves_after_pin() {
    let (store, _guard) = store();
    assert_eq!(store.waiters(tid(1)), 0);
    let waiting = spawn_wait(&store, 1, options(500, 1_000, 2_000));
    store.waiting_on(tid(1)).await;
    assert_eq!(store.waiters(tid(1)), 1);
    let _ = waiting.await;
    assert_eq!(store.waiters(tid(1)), 0);
}

/// The counters agree with what the map holds, each span ID is stored once per trace, and
/// every trace holding spans has exactly one live queue item.
fn check_invariants(store: &TraceStore) {
    let stats = store.stats();
    let (mut n_spans, mut n_traces, mut n_bytes) = (0u64, 0u64, 0u64);
    for entry in store.shared.traces.iter() {
        if entry.is_empty() {
            continue;
        }
        n_traces += 1;
        n_spans += entry.len() as u64;
        n_bytes += entry.bytes as u64;
        // What is stored decodes to exactly the recorded IDs, each once.
        let spans = entry.stored().decode(*entry.key());
        let ids: Vec<SpanId> = spans.iter().map(|span| span.span_id).collect();
        assert_eq!(ids.len(), entry.len(), "stored bytes and count disagree");
        if let Some(held) = entry.ids_held() {
            assert_eq!(ids, held, "stored bytes and IDs disagree");
        }
        let unique: std::collections::HashSet<SpanId> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "duplicate span stored");
        assert_eq!(entry.bytes, entry.heap_bytes(), "byte estimate drifted");
        let queue = store.shared.lock_queue();
        let live = queue.iter().filter(|item| item.trace_id == *entry.key() && item.seq == entry.seq).count();
        assert_eq!(live, 1, "trace {} has {live} live queue items", entry.key());
    }
    assert_eq!((stats.spans_held, stats.traces_held), (n_spans, n_traces));
    assert_eq!(store.shared.counters.memory_bytes.load(Ordering::Relaxed), n_bytes as i64);
    assert_eq!(
        stats.spans_received,
        stats.spans_held + stats.spans_evicted + stats.duplicate_spans + stats.spans_over_trace_cap
    );
    assert_eq!(stats.spans_stored, stats.spans_held + stats.spans_evicted);
}

proptest::proptest! {
    #[test]
    fn accounting_holds_for_any_inserts(
        max_spans in 0usize..30,
        batches in proptest::collection::vec(
            proptest::collection::vec((1u8..8, 1u8..12, proptest::option::of(1u8..12)), 0..20),
            0..20,
        ),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _context = runtime.enter();
        let (store, _guard) = store_with(max_spans, Duration::from_secs(600));
        for batch in batches {
            store.insert(batch.into_iter().map(|(trace, span_id, parent)| span(trace, span_id, parent)).collect());
            check_invariants(&store);
            proptest::prop_assert!(store.stats().spans_held <= max_spans as u64);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inserts_keep_the_books() {
    let (store, _guard) = store_with(500, Duration::from_secs(600));
    let mut tasks = Vec::new();
    for task in 0..4u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..300u32 {
                let batch: Vec<Span> = (0..40u32)
                    .map(|n| {
                        // Overlapping traces across tasks, so entries are contended and evicted.
                        let trace = ((round * 7 + n / 10 + u32::from(task)) % 60) as u8 + 1;
                        span(trace, (n % 10) as u8 + 1 + task * 10, None)
                    })
                    .collect();
                store.insert(batch);
                if round % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    check_invariants(&store);
    assert!(store.stats().spans_held <= 500);
    assert!(store.stats().spans_evicted > 0);
}

#[tokio::test]
async fn refused_requests_and_rejected_spans_are_counted() {
    let (store, _guard) = store();
    store.record_rejected(3);
    store.record_refused(2);
    let stats = store.stats();
    assert_eq!((stats.spans_rejected, stats.requests_refused), (3, 2));
}

/// Issue 13, defect 1: the store never takes bytes its own reader refuses. A span whose
/// attribute nests past the protobuf limit is left out (and counted as rejected) instead of
/// making the rest of its segment unreadable.
#[tokio::test(start_paused = true)]
async fn insert_refuses_spans_its_reader_would_refuse() {
    use model::AttributeValue;
    let (store, _guard) = store();
    let mut value = AttributeValue::from("bottom");
    for _ in 0..40 {
        value = AttributeValue::array([value]);
    }
    let before = span(1, 1, None);
    let mut deep = span(1, 2, Some(1)).with_attribute("nested", value);
    let mut after = span(1, 3, Some(1));
    deep.resource = before.resource.clone();
    deep.scope = before.scope.clone();
    after.resource = before.resource.clone();
    after.scope = before.scope.clone();
    let outcome = store.insert(vec![before, deep, after]);
    assert_eq!(outcome, InsertOutcome { stored: 2, duplicates: 0, refused: 0 });
    let trace = store.get(tid(1)).expect("stored");
    let names: Vec<&str> = trace.spans.iter().map(|span| &*span.name).collect();
    assert_eq!(names, ["span-1", "span-3"]);
    let stats = store.stats();
    assert_eq!((stats.spans_rejected, stats.spans_held), (1, 2));
}

/// A span of `trace` carrying `pad` bytes of attribute, so that byte bounds are reached
/// with few spans.
fn padded_span(trace: u8, span_id: u16, pad: usize) -> Span {
    let [high, low] = span_id.to_be_bytes();
    let id = SpanId([high, low, 1, 1, 1, 1, 1, 1]);
    let mut span = Span::new(tid(trace), id, "padded");
    if span_id > 0 {
        span = span.with_parent(SpanId([0, 0, 1, 1, 1, 1, 1, 1]));
    }
    span.with_attribute("pad", "x".repeat(pad).as_str())
}

fn memory_store(max_memory: usize, max_spans: usize) -> (TraceStore, StoreGuard) {
    TraceStore::new(StoreConfig { max_memory, max_spans, ..StoreConfig::default() })
}

#[tokio::test(start_paused = true)]
async fn memory_bound_holds_beyond_it_with_counted_evictions() {
    let max_memory = 256 * 1024;
    let (store, _guard) = memory_store(max_memory, usize::MAX);
    // A store someone reads: it keeps compacting while it evicts.
    assert!(store.get(tid(1)).is_none());
    for trace in 0..=255u8 {
        store.insert((0..40).map(|idx| padded_span(trace, idx, 200)).collect());
        let stats = store.stats();
        assert!(
            stats.memory_bytes <= max_memory as u64,
            "{} bytes held over {max_memory}",
            stats.memory_bytes
        );
        check_invariants(&store);
    }
    let stats = store.stats();
    // 255 valid traces (trace ID 0 is refused) of 40 spans of ~240 bytes are ~2.4 MB open:
    // some had to go, each counted; compaction (the open spans are over their share of the
    // bound at once) keeps far more than the bound's worth of open bytes.
    assert_eq!(stats.spans_rejected, 40);
    assert!(stats.traces_evicted > 0, "{stats:?}");
    assert!(stats.traces_compacted > 0, "{stats:?}");
    assert!(stats.spans_held * 240 > 2 * max_memory as u64, "{stats:?}");
    assert_eq!(stats.spans_received, stats.spans_held + stats.spans_evicted);
    assert_eq!(store.get(tid(255)).map(|trace| trace.spans.len()), Some(40), "the newest trace is kept");
    assert!(store.get(tid(1)).is_none(), "the oldest trace is evicted");
}

#[tokio::test(start_paused = true)]
async fn memory_left_for_the_process_lowers_the_limit_down_to_half() {
    // A bound the map's table (which never shrinks) stays well within.
    let max_memory = 1024 * 1024;
    let (store, _guard) = memory_store(max_memory, usize::MAX);
    store.leave_for_process(256 * 1024);
    assert_eq!(store.memory_limit(), 768 * 1024);
    for trace in 1..=255u8 {
        store.insert((0..40).map(|idx| hex_span(trace, idx, 200)).collect());
        let stats = store.stats();
        assert!(stats.memory_bytes <= 768 * 1024, "{} bytes held over the lowered limit", stats.memory_bytes);
    }
    assert!(store.stats().traces_evicted > 0);
    // The rest of the process cannot squeeze the store below half its bound, and the limit
    // comes back once the process needs less.
    store.leave_for_process(u64::MAX);
    assert_eq!(store.memory_limit(), 512 * 1024);
    store.leave_for_process(0);
    assert_eq!(store.memory_limit(), max_memory as u64);
}

#[tokio::test(start_paused = true)]
async fn awaited_trace_is_never_evicted_but_capped() {
    // Issue 13, defect 5: one awaited trace and many spans into it left nothing else.
    let (store, _guard) = memory_store(model::defaults::DEFAULT_MAX_MEMORY, 10_000);
    let cap = store.config().trace_cap().spans;
    assert_eq!(cap, 10_000 / model::defaults::AWAITED_TRACE_SHARE);
    let waiting = spawn_wait(&store, 1, options(500, 2_000, 60_000));
    settle_tasks().await;
    for chunk in 0..40u16 {
        // Every chunk of the awaited trace is followed by another trace's spans.
        store.insert((chunk * 500..(chunk + 1) * 500).map(|idx| padded_span(1, idx, 10)).collect());
        let other = 2 + (chunk % 50) as u8;
        store.insert((0..10).map(|idx| padded_span(other, idx, 10)).collect());
        assert!(store.get(tid(1)).is_some(), "the awaited trace was evicted");
    }
    let stats = store.stats();
    assert_eq!(store.span_count(tid(1)), Some(cap));
    assert_eq!(stats.spans_over_trace_cap, (20_000 - cap) as u64);
    assert!(stats.spans_held <= 10_000, "{stats:?}");
    let readable = (2..52u8).filter(|&trace| store.get(tid(trace)).is_some()).count();
    assert_eq!(readable, 40, "the other traces stay");
    check_invariants(&store);
    let (outcome, _) = waiting.await.unwrap();
    assert_eq!(outcome.trace.map(|trace| trace.spans.len()), Some(cap));
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(outcome.warnings[0].starts_with(&format!("{} spans of this trace were refused", 20_000 - cap)));
}

#[tokio::test(start_paused = true)]
async fn an_awaited_trace_capped_by_memory_names_only_the_memory_bound() {
    // Without --max-spans the span cap is usize::MAX / 8: the warning must not quote it.
    let (store, _guard) = memory_store(8 * 1024 * 1024, usize::MAX);
    let waiting = spawn_wait(&store, 1, options(500, 2_000, 60_000));
    settle_tasks().await;
    let mut refused = 0;
    for chunk in 0..20u16 {
        refused += store
            .insert((chunk * 200..(chunk + 1) * 200).map(|idx| hex_span(1, u32::from(idx), 1_000)).collect())
            .refused;
    }
    // Compacted as it grows, the trace holds them at about half their size.
    assert!(refused > 0, "the 4,000 spans of ~1 KB exceed the 1 MiB cap");
    assert_eq!(store.stats().spans_over_trace_cap, refused as u64);
    let (outcome, _) = waiting.await.unwrap();
    let warning = &outcome.warnings[0];
    assert!(warning.contains("at most 1048576 bytes (--max-memory over 8)"), "{warning}");
    assert!(!warning.contains("spans and"), "{warning}");
}

#[tokio::test(start_paused = true)]
async fn compaction_then_a_late_span_then_read_gives_every_span() {
    let (store, _guard) = store();
    store.insert((0..1_000).map(|idx| padded_span(1, idx, 40)).collect());
    let open_bytes = store.stats().memory_bytes;
    let before = store.get(tid(1)).unwrap();
    // Quiet for the compaction window: the background task compacts it, no read needed.
    tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
    let stats = store.stats();
    assert_eq!(stats.traces_compacted, 1);
    assert!(stats.memory_bytes * 3 < open_bytes, "compacted {} of {open_bytes} bytes", stats.memory_bytes);
    assert_eq!(store.get(tid(1)).unwrap().spans, before.spans, "compaction changed what is read");
    check_invariants(&store);

    // A late span (and a duplicate of a compacted one) for the compacted trace.
    let outcome = store.insert(vec![padded_span(1, 1_000, 40), padded_span(1, 7, 40)]);
    assert_eq!((outcome.stored, outcome.duplicates), (1, 1));
    let trace = store.get(tid(1)).unwrap();
    assert_eq!(trace.spans.len(), 1_001);
    assert_eq!(trace.spans[..1_000], before.spans[..]);
    assert_eq!(store.span_count(tid(1)), Some(1_001));
    check_invariants(&store);
    tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
    assert_eq!(store.stats().traces_compacted, 2, "compacted again once quiet");
    assert_eq!(store.get(tid(1)).unwrap().spans, trace.spans);
    assert_eq!(store.recent(10)[0].0.spans.len(), 1_001);
    check_invariants(&store);
}

#[tokio::test(start_paused = true)]
async fn a_compacted_trace_drops_its_ids_and_reads_them_back_for_a_late_span() {
    let (store, _guard) = store();
    store.insert((0..5).map(|idx| padded_span(1, idx, 40)).collect());
    store.insert(vec![span(2, 9, None)]);
    let held = store.stats().memory_bytes;
    tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
    assert_eq!(store.stats().traces_compacted, 2);
    for trace in [1, 2] {
        assert!(store.shared.traces.get(&tid(trace)).unwrap().ids_held().is_none(), "IDs kept");
    }
    check_invariants(&store);
    assert!(store.stats().memory_bytes < held);

    // A re-sent span is still a duplicate, a new one is stored; the IDs are kept from now on.
    let outcome = store.insert(vec![padded_span(1, 3, 40), padded_span(1, 5, 40)]);
    assert_eq!((outcome.stored, outcome.duplicates), (1, 1));
    tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
    assert_eq!(store.stats().traces_compacted, 3);
    let ids = store.shared.traces.get(&tid(1)).unwrap().ids_held().map(<[SpanId]>::to_vec);
    assert_eq!(ids.map(|ids| ids.len()), Some(6));
    assert_eq!(store.get(tid(1)).unwrap().spans.len(), 6);
    check_invariants(&store);

    // A wait whose trigger is the only span of a compacted trace: nothing else has arrived.
    let mut opts = options(500, 1_000, 3_000);
    opts.trigger_span_id = Some(sid(9));
    let (outcome, _) = spawn_wait(&store, 2, opts).await.unwrap();
    assert!(outcome.trace.is_none());
}

#[tokio::test(start_paused = true)]
async fn awaited_trace_is_judged_before_it_is_compacted() {
    let (store, _guard) = store();
    let waiting = spawn_wait(&store, 1, options(500, 60_000, 120_000));
    settle_tasks().await;
    // A dangling parent keeps the wait going past the compaction window.
    store.insert(vec![padded_span(1, 1, 10)]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(store.stats().traces_compacted, 0, "compacted while awaited");
    waiting.abort();
    settle_tasks().await;
    tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
    assert_eq!(store.stats().traces_compacted, 1, "compacted once the wait ended");
    assert_eq!(store.get(tid(1)).unwrap().spans.len(), 1);
}

#[tokio::test]
async fn duplicates_do_not_move_the_accounting() {
    // Issue 13: re-sending a request reserved room before de-duplication (+77 % once).
    let (store, _guard) = store();
    let batch: Vec<Span> = (0..200).map(|idx| padded_span(1, idx, 100)).collect();
    store.insert(batch.clone());
    let held = store.stats().memory_bytes;
    for _ in 0..3 {
        let outcome = store.insert(batch.clone());
        assert_eq!((outcome.stored, outcome.duplicates), (0, 200));
        assert_eq!(store.stats().memory_bytes, held);
    }
    check_invariants(&store);
}

/// A span of `trace` with `pad` bytes of hex text that compresses about as poorly as real
/// IDs and URLs do (twofold), so that compacted bounds are reached too.
fn hex_span(trace: u8, span_id: u32, pad: usize) -> Span {
    let mut state = u64::from(span_id).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(trace);
    let text: String = (0..pad)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            char::from_digit(((state >> 59) & 0xf) as u32, 16).unwrap_or('0')
        })
        .collect();
    let [a, b, c, d] = span_id.to_be_bytes();
    let span = Span::new(tid(trace), SpanId([a, b, c, d, 1, 1, 1, 1]), "grow");
    let span = if span_id > 0 { span.with_parent(SpanId([0, 0, 0, 0, 1, 1, 1, 1])) } else { span };
    span.with_attribute("pad", text.as_str())
}

/// Issue 23: a store evicting for its bound that nobody reads evicts its traces unread, so it
/// stops compressing them (its largest CPU cost at that steady state), and compacts again
/// from the first read.
#[tokio::test(start_paused = true)]
async fn a_store_turning_over_unread_compacts_again_once_read() {
    let max_memory = 256 * 1024;
    let (store, _guard) = memory_store(max_memory, usize::MAX);
    let quiet = store.config().compact_after + Duration::from_millis(10);
    let add_trace = |trace: u8| store.insert((0..20).map(|idx| hex_span(trace, idx, 200)).collect());
    let mut trace = 0u8;
    while store.stats().traces_evicted == 0 {
        trace += 1;
        add_trace(trace);
        tokio::time::sleep(quiet).await;
        assert!(trace < 200, "never evicted: {:?}", store.stats());
    }
    let before = store.stats();
    assert!(before.traces_compacted > 0, "compacted below the bound: {before:?}");
    for _ in 0..20 {
        trace += 1;
        add_trace(trace);
        tokio::time::sleep(quiet).await;
    }
    let unread = store.stats();
    assert!(unread.traces_evicted > before.traces_evicted, "{unread:?}");
    assert_eq!(unread.traces_compacted, before.traces_compacted, "compacted traces evicted unread");
    assert!(unread.memory_bytes <= max_memory as u64, "{unread:?}");

    assert!(store.get(tid(trace)).is_some());
    for _ in 0..5 {
        trace += 1;
        add_trace(trace);
        tokio::time::sleep(quiet).await;
    }
    assert!(store.stats().traces_compacted >= unread.traces_compacted + 5, "{:?}", store.stats());
    check_invariants(&store);
}

/// Issue 22, item 4: one trace growing by many small exports took 9.5x the bound, and its
/// ingest rate fell 60k -> 7k spans/s, as each compaction recompressed the whole trace.
/// Now it stays within its share of the store (the rest refused and counted), other traces
/// are evicted around it, and compaction compresses each span a few times at most.
#[tokio::test(start_paused = true)]
async fn a_growing_trace_keeps_its_share_and_compaction_stays_linear() {
    use prost::Message;
    let max_memory = 4 * 1024 * 1024;
    let (store, _guard) = memory_store(max_memory, usize::MAX);
    let cap = store.shared.caps.trace;
    assert_eq!(cap.bytes, max_memory * usize::from(model::defaults::DEFAULT_MAX_TRACE_SHARE) / 100);
    let (mut accepted, mut refused, mut n_compacted_raw) = (Vec::new(), 0, 0usize);
    for export in 0..1_500u32 {
        let spans: Vec<Span> = (export * 10..(export + 1) * 10).map(|idx| hex_span(1, idx, 200)).collect();
        let fields: Vec<usize> =
            spans.iter().map(|span| otlp::span_field_len(otlp::span_to_otlp(span).encoded_len())).collect();
        let ids: Vec<SpanId> = spans.iter().map(|span| span.span_id).collect();
        if store.span_count(tid(1)).is_none() {
            // Evicted as the least recently updated trace once its spans were refused for a
            // while (its refusals do not update it): it starts again.
            accepted.clear();
        }
        let outcome = store.insert(spans);
        // Spans are refused from the end of a run: the ones stored are its first.
        accepted.extend_from_slice(&ids[..outcome.stored]);
        n_compacted_raw += fields[..outcome.stored].iter().sum::<usize>();
        refused += outcome.refused;
        assert_eq!(outcome.stored + outcome.refused, 10);
        let held = store.shared.traces.get(&tid(1)).map_or(0, |entry| entry.heap_bytes());
        assert!(held <= cap.bytes, "{held} bytes held over the trace's {}", cap.bytes);
        // Another trace every export, for the bound to evict around the growing one.
        let other = (export * 10..(export + 1) * 10).map(|idx| hex_span(2 + (export % 200) as u8, idx, 200));
        store.insert(other.collect());
        let stats = store.stats();
        assert!(
            stats.memory_bytes <= max_memory as u64,
            "{} bytes held over {max_memory}",
            stats.memory_bytes
        );
        if export % 5 == 4 {
            // Quiet for the compaction window, as exports some time apart are.
            tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
        }
    }
    let stats = store.stats();
    assert!(refused > 0, "the trace never reached its share: {stats:?}");
    assert_eq!(stats.spans_over_trace_cap, refused as u64);
    assert!(stats.traces_evicted > 0, "{stats:?}");
    assert_eq!(
        stats.spans_received,
        stats.spans_held + stats.spans_evicted + stats.duplicate_spans + stats.spans_over_trace_cap
    );
    // Every span held reads back, in the order it arrived.
    let read: Vec<SpanId> = store.get(tid(1)).unwrap().spans.iter().map(|span| span.span_id).collect();
    assert_eq!(read, accepted);
    // Compacted again and again (each window), each span compressed a few times at most
    // (whole-trace recompression: dozens of times).
    assert!(stats.traces_compacted > 200, "{stats:?}");
    assert!(
        stats.bytes_compacted <= 8 * n_compacted_raw as u64 + 4 * 1024 * 1024,
        "compressed {} bytes for {n_compacted_raw} stored bytes of the growing trace",
        stats.bytes_compacted
    );
    check_invariants(&store);
}

/// Issue 22, item 3: every awaited trace was capped, but forty waits at once held 3.8x the
/// bound. Awaited traces together now hold at most their share; the spans past it are
/// refused, counted and named in each wait's warning.
#[tokio::test(start_paused = true)]
async fn awaited_traces_together_stay_within_their_share() {
    let max_memory = 4 * 1024 * 1024;
    let (store, _guard) = memory_store(max_memory, usize::MAX);
    let total = store.shared.caps.awaited_total;
    assert_eq!(total, max_memory / model::defaults::AWAITED_TRACES_SHARE);
    let waits: Vec<_> =
        (1..=20u8).map(|trace| spawn_wait(&store, trace, options(500, 2_000, 60_000))).collect();
    settle_tasks().await;
    assert_eq!(store.waits_active(), 20);
    let mut refused = 0;
    // Each trace sends 1.2 MB (20 x 1 MiB caps would be five times the bound), in turns.
    for round in 0..12u32 {
        for trace in 1..=20u8 {
            refused += store
                .insert((round * 100..(round + 1) * 100).map(|idx| hex_span(trace, idx, 1_000)).collect())
                .refused;
            let stats = store.stats();
            assert!(
                stats.memory_bytes <= max_memory as u64,
                "{} bytes held over {max_memory}",
                stats.memory_bytes
            );
            assert!(
                stats.awaited_bytes <= total as u64,
                "awaited traces hold {} of {total}",
                stats.awaited_bytes
            );
        }
    }
    let stats = store.stats();
    assert!(refused > 0);
    assert_eq!(stats.spans_over_trace_cap, refused as u64);
    assert_eq!(stats.traces_evicted, 0, "an awaited trace was evicted");
    check_invariants(&store);
    for waiting in waits {
        let (outcome, _) = waiting.await.unwrap();
        let warning = outcome.warnings.first().expect("a warning about the spans refused");
        assert!(
            warning.contains(&format!("the traces being awaited together may hold at most {total} bytes")),
            "{warning}"
        );
    }
    // The waits over, their traces count as any other again.
    assert_eq!(store.stats().awaited_bytes, 0);
    check_invariants(&store);
}

/// Issue 23: once the store has compacted a few traces it compresses the next ones with a
/// dictionary trained on their bytes, which takes a fair share off each block; every trace
/// reads back whole, also after the traces the dictionary came from are gone.
#[tokio::test(start_paused = true)]
async fn traces_compacted_with_a_dictionary_take_less_and_read_back_whole() {
    // Room for six of the traces: the dictionary is trained on the first 32 compacted.
    let (store, _guard) = memory_store(64 * 1024 * 1024, 60);
    let n_traces = 40u8;
    let quiet = store.config().compact_after + Duration::from_millis(10);
    let trace_of = |trace: u8| -> Vec<Span> {
        (0..10u8)
            .map(|idx| {
                Span::new(tid(trace), SpanId([trace, idx, 1, 1, 1, 1, 1, 1]), "GET /api/v1/orders/{id}")
                    .with_kind(model::SpanKind::Server)
                    .with_times(1_000 + u64::from(idx), 2_000 + u64::from(idx))
                    .with_attribute("http.request.method", "GET")
                    .with_attribute("http.route", "/api/v1/orders/{id}")
                    .with_attribute("server.address", "orders-1.shop.internal")
                    .with_attribute(
                        "url.full",
                        format!("https://shop.example.com/api/v1/orders/{trace}{idx}").as_str(),
                    )
            })
            .collect()
    };
    let block_bytes = |trace: u8| store.shared.traces.get(&tid(trace)).map_or(0, |entry| entry.heap_bytes());
    let mut sent = Vec::new();
    let mut without = 0;
    for trace in 1..=n_traces {
        store.insert(trace_of(trace));
        sent.push(store.get(tid(trace)).expect("stored"));
        tokio::time::sleep(quiet).await;
        if trace == 1 {
            without = block_bytes(1);
        }
    }
    let stats = store.stats();
    assert_eq!((stats.traces_compacted, stats.traces_evicted), (40, 34), "{stats:?}");
    assert!(store.shared.dicts.heap_bytes() > 0, "no dictionary made");
    // The first traces were compressed before there was a dictionary, the last with one.
    let with = block_bytes(n_traces);
    assert!(with * 4 < without * 3, "with a dictionary {with} bytes, without {without}");
    for (trace, before) in (35..=n_traces).zip(&sent[34..]) {
        assert_eq!(store.get(tid(trace)).expect("held").spans, before.spans, "trace {trace} changed");
    }
    check_invariants(&store);
}

/// Each thread keeps an LZ4 compressor prepared for one dictionary: two stores compacting on
/// one thread, each with its own dictionary, must each compress with their own (a block
/// compressed with the other's would not read back).
#[tokio::test(start_paused = true)]
async fn two_stores_on_one_thread_compress_each_with_its_own_dictionary() {
    let stores = [memory_store(64 * 1024 * 1024, usize::MAX), memory_store(64 * 1024 * 1024, usize::MAX)];
    let quiet = stores[0].0.config().compact_after + Duration::from_millis(10);
    let trace_of = |store: usize, trace: u8| -> Vec<Span> {
        (0..10u8)
            .map(|idx| {
                let name = if store == 0 { "GET /api/v1/orders/{id}" } else { "kafka.consume payments" };
                Span::new(tid(trace), SpanId([trace, idx, 1, 1, 1, 1, 1, 1]), name)
                    .with_attribute("store", format!("store-{store}-{}", "x".repeat(40 * store)).as_str())
                    .with_attribute("position", format!("{store}/{trace}/{idx}").as_str())
            })
            .collect()
    };
    let mut sent = [Vec::new(), Vec::new()];
    for trace in 1..=40u8 {
        for (index, (store, _)) in stores.iter().enumerate() {
            store.insert(trace_of(index, trace));
            sent[index].push(store.get(tid(trace)).expect("stored"));
        }
        tokio::time::sleep(quiet).await;
    }
    for (index, (store, _)) in stores.iter().enumerate() {
        assert!(store.shared.dicts.heap_bytes() > 0, "store {index} made no dictionary");
        assert_eq!(store.stats().traces_compacted, 40);
        for (trace, before) in (1..=40u8).zip(&sent[index]) {
            assert_eq!(
                store.get(tid(trace)).expect("held").spans,
                before.spans,
                "store {index}, trace {trace}"
            );
        }
        check_invariants(store);
    }
}

/// A page of a trace too large to read whole (issue 22, defect 1): `get_range` decodes the
/// spans at those positions of the arrival order, as `get` has them, across compacted
/// blocks and open segments alike, and says how many the trace holds.
#[tokio::test(start_paused = true)]
async fn a_range_of_a_trace_is_its_slice_of_the_whole() {
    let (store, _guard) = memory_store(256 * 1024, usize::MAX);
    for batch in 0..30u16 {
        store.insert((0..20).map(|idx| padded_span(7, batch * 20 + idx, 200)).collect());
        settle_tasks().await;
    }
    assert!(store.stats().traces_compacted > 0, "some spans are in compacted blocks");
    store.insert((600..610).map(|idx| padded_span(7, idx, 200)).collect());
    let whole = store.get(tid(7)).expect("stored");
    let ids = |spans: &[std::sync::Arc<Span>]| spans.iter().map(|span| span.span_id).collect::<Vec<_>>();
    for range in [0..1, 0..100, 95..405, 590..610, 600..700, 610..620, 0..usize::MAX] {
        let (page, total) = store.get_range(tid(7), range.clone()).expect("stored");
        assert_eq!(total, 610);
        let expected = &whole.spans[range.start.min(610)..range.end.min(610)];
        assert_eq!(ids(&page.spans), ids(expected), "{range:?}");
    }
    assert!(store.get_range(tid(8), 0..10).is_none());
}

/// A list line of a trace too large to decode whole comes from its digest: the outline
/// counts what a decoded summary counts, and names the span that started first.
#[tokio::test(start_paused = true)]
async fn the_outline_of_a_trace_is_its_digest_without_decoding() {
    let (store, _guard) = store();
    let at = |span: Span, service: &str, start: u64, end: u64| {
        span.with_resource_attribute("service.name", service).with_times(start, end)
    };
    store.insert(vec![
        at(span(1, 2, Some(1)), "db", 1_100, 1_400).with_status(model::StatusCode::Error, "down"),
        at(span(1, 3, Some(1)), "db", 1_500, 1_600).with_status(model::StatusCode::Error, "down"),
    ]);
    store.insert(vec![
        at(span(1, 1, None), "web", 1_000, 2_000),
        at(span(1, 4, Some(1)), "cache", 1_700, 1_800),
    ]);
    let outline = store.outline(tid(1)).expect("held");
    assert_eq!(
        outline,
        Outline {
            span_count: 4,
            start: 1_000,
            end: 2_000,
            services: vec!["cache".into(), "db".into(), "web".into()],
            error_count: 2,
            earliest_name: "span-1".into(),
            earliest_service: "web".into(),
        }
    );
    assert!(store.outline(tid(2)).is_none());
}

/// Issue 22: a read's decoded trace came on top of a full store until the governor's next
/// look. A read reserves its share from the store's limit first: what no longer fits is
/// evicted at once, and the room comes back when the read is done.
#[tokio::test(start_paused = true)]
async fn a_reservation_evicts_at_once_and_gives_the_room_back() {
    let max_memory = 1024 * 1024;
    let (store, _guard) = memory_store(max_memory, usize::MAX);
    let mut trace = 0u8;
    while store.stats().memory_bytes < 800 * 1024 {
        trace += 1;
        store.insert((0..40).map(|idx| hex_span(trace, idx, 200)).collect());
        assert!(trace < 250, "never filled: {:?}", store.stats());
    }
    assert_eq!(store.stats().traces_evicted, 0);
    let reservation = store.reserve(256 * 1024);
    assert_eq!((store.memory_limit(), store.reserved()), (768 * 1024, 256 * 1024));
    let stats = store.stats();
    assert!(stats.traces_evicted > 0 && stats.memory_bytes <= 768 * 1024, "{stats:?}");
    drop(reservation);
    assert_eq!((store.memory_limit(), store.reserved()), (max_memory as u64, 0));
    // Never below half of the bound, whatever reads reserve.
    let all = store.reserve(u64::MAX / 2);
    assert_eq!(store.memory_limit(), max_memory as u64 / 2);
    drop(all);
    check_invariants(&store);
}

#[tokio::test(start_paused = true)]
async fn a_compacted_trace_of_several_services_reads_back_each_span_with_its_resource() {
    let (store, _guard) = store();
    let of =
        |service: &str, idx: u16| padded_span(1, idx, 30).with_resource_attribute("service.name", service);
    // Two services in one export (two segments), then a late export of a third that is
    // merged into the newest block.
    store.insert(vec![of("api", 0), of("api", 1), of("db", 2)]);
    tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
    store.insert(vec![of("cache", 3), of("api", 4)]);
    tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
    assert_eq!(store.stats().traces_compacted, 2);
    let trace = store.get(tid(1)).unwrap();
    let services: Vec<String> = trace
        .spans
        .iter()
        .map(|span| {
            model::find_attribute(&span.resource.attributes, "service.name")
                .and_then(|value| value.as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(services, ["api", "api", "db", "cache", "api"]);
    check_invariants(&store);
}

#[tokio::test(start_paused = true)]
async fn a_table_grown_for_many_traces_is_given_back_once_few_are_held() {
    let (store, _guard) = store_with(5_000, Duration::from_secs(600));
    for trace in 0..5_000u32 {
        let mut id = [1u8; 16];
        id[..4].copy_from_slice(&trace.to_be_bytes());
        store.insert(vec![Span::new(TraceId(id), sid(1), "small")]);
    }
    let grown = store.shared.traces.capacity();
    assert!(grown >= 5_000, "{grown}");
    // Fewer, larger traces take their place: the small ones are evicted for max_spans.
    for trace in 1..=50u8 {
        store.insert((0..100u16).map(|idx| padded_span(trace, idx, 10)).collect());
    }
    assert_eq!(store.stats().traces_held, 50);
    // The background task sweeps once it runs (here, at the compaction window).
    tokio::time::sleep(store.config().compact_after + Duration::from_millis(10)).await;
    let room = store.shared.traces.capacity();
    assert!(room < 1_024, "the table kept room for {room} traces after holding 50");
    check_invariants(&store);
}
