//! The server's record of runs (`run --server` sends each file's report as it finishes,
//! with the traces its steps judged): the last `--max-runs` in memory, like the traces, the
//! oldest dropped first and counted; also at most a byte budget (a quarter of `--max-memory`
//! under `serve`), measured as each report's JSON size plus its traces' compressed size, the
//! newest run always kept.
//!
//! A run keeps the traces it judged, as it judged them (with its trigger span, which the
//! store never holds), gzipped OTLP: its specs still open after the traces' TTL has taken
//! them from the store, and they go when the run goes.
//! The control API records into it and the web UI reads it; it knows neither.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use tokio::sync::watch;

use model::otlp::{decode_trace, encode_trace_bytes};
use model::{Trace, TraceId};
use wire::{RecordedRun, RunReport};

/// A run's judged traces: gzipped OTLP, by trace ID.
type KeptTraces = Arc<[(TraceId, Box<[u8]>)]>;

/// A cheap `Clone` handle to the recorded runs.
#[derive(Clone, Debug)]
pub struct RunStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    max_runs: usize,
    max_bytes: usize,
    state: Mutex<State>,
    /// The newest run's id, for the event stream.
    recorded: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    runs: VecDeque<Arc<RecordedRun<'static>>>,
    /// Each held run's judged traces, in the same order: gzipped OTLP by trace ID.
    traces: VecDeque<KeptTraces>,
    /// Each held run's size, in the same order, and their sum.
    sizes: VecDeque<usize>,
    bytes: usize,
    next_id: u64,
    dropped: u64,
}

impl Default for RunStore {
    fn default() -> Self {
        RunStore::new(model::defaults::DEFAULT_MAX_RUNS)
    }
}

impl RunStore {
    /// Keeps the last `max_runs` runs (0 records nothing).
    pub fn new(max_runs: usize) -> Self {
        RunStore {
            shared: Arc::new(Shared {
                max_runs,
                max_bytes: usize::MAX,
                state: Mutex::new(State { next_id: 1, ..State::default() }),
                recorded: watch::Sender::new(0),
            }),
        }
    }

    /// Also keeps the held runs' reports within `max_bytes` of JSON, the oldest dropped
    /// first; the newest is kept whatever its size.
    pub fn with_max_bytes(self, max_bytes: usize) -> Self {
        let shared = Shared {
            max_runs: self.shared.max_runs,
            max_bytes,
            state: Mutex::new(State { next_id: 1, ..State::default() }),
            recorded: watch::Sender::new(0),
        };
        RunStore { shared: Arc::new(shared) }
    }

    /// Bytes of runs held (their reports' JSON size and their traces' compressed size).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data: a panic elsewhere leaves it consistent.
        self.shared.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a run without traces; see [`RunStore::record_with_traces`].
    pub fn record(&self, report: RunReport) -> u64 {
        self.record_with_traces(report, &[])
    }

    /// Records a run with the traces it judged and returns its id, dropping (and counting)
    /// the oldest above the bound. Compresses the traces: call it off the async runtime.
    pub fn record_with_traces(&self, report: RunReport, traces: &[Trace]) -> u64 {
        let received_unix_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
        let kept: KeptTraces =
            traces.iter().map(|trace| (trace.trace_id, gzip(&encode_trace_bytes(trace)))).collect();
        // Measured before the lock: what the run costs held and served (`GET /api/v1/runs/{id}`).
        let size = serde_json::to_vec(&report).map_or(0, |json| json.len())
            + kept.iter().map(|(_, bytes)| bytes.len()).sum::<usize>();
        let id = {
            let mut state = self.lock();
            let id = state.next_id;
            state.next_id += 1;
            state.runs.push_back(Arc::new(RecordedRun { id, received_unix_ms, report: Cow::Owned(report) }));
            state.traces.push_back(kept);
            state.sizes.push_back(size);
            state.bytes += size;
            while state.runs.len() > self.shared.max_runs
                || (state.bytes > self.shared.max_bytes && state.runs.len() > 1)
            {
                state.runs.pop_front();
                state.traces.pop_front();
                state.bytes -= state.sizes.pop_front().unwrap_or(0);
                state.dropped += 1;
            }
            id
        };
        self.shared.recorded.send_replace(id);
        id
    }

    /// The held runs, newest first.
    pub fn list(&self) -> Vec<Arc<RecordedRun<'static>>> {
        self.lock().runs.iter().rev().cloned().collect()
    }

    pub fn get(&self, id: u64) -> Option<Arc<RecordedRun<'static>>> {
        let state = self.lock();
        // Ids grow in arrival order, so the deque is sorted by id.
        let index = state.runs.binary_search_by_key(&id, |run| run.id).ok()?;
        Some(state.runs[index].clone())
    }

    /// Trace `trace_id` as run `id` judged it (with its trigger span); `None` when the run is
    /// not held or did not judge that trace. Decompresses and decodes: call it off the async
    /// runtime.
    pub fn trace(&self, id: u64, trace_id: TraceId) -> Option<Trace> {
        let compressed = {
            let state = self.lock();
            let index = state.runs.binary_search_by_key(&id, |run| run.id).ok()?;
            state.traces[index].clone()
        };
        let (_, bytes) = compressed.iter().find(|(kept, _)| *kept == trace_id)?;
        let mut otlp = Vec::new();
        // Compressed here from bytes the model encoded: failing to read them back is a bug,
        // answered as "not held" rather than a panic.
        GzDecoder::new(&bytes[..]).read_to_end(&mut otlp).ok()?;
        decode_trace(trace_id, &otlp).ok()
    }

    /// Runs dropped to stay within the bound.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Changes to the newest run's id whenever one is recorded.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.recorded.subscribe()
    }
}

fn gzip(bytes: &[u8]) -> Box<[u8]> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default().into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::{RunKind, RunState};

    fn report(name: &str) -> RunReport {
        RunReport {
            name: name.to_string(),
            kind: RunKind::Test,
            state: RunState::Finished,
            steps: Vec::new(),
            variables: Default::default(),
            file: None,
            duration_ms: None,
        }
    }

    #[test]
    fn keeps_the_last_runs_and_counts_drops() {
        let runs = RunStore::new(2);
        let ids: Vec<u64> = ["a", "b", "c"].iter().map(|name| runs.record(report(name))).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        let names: Vec<String> = runs.list().iter().map(|run| run.report.name.clone()).collect();
        assert_eq!(names, vec!["c", "b"]);
        assert_eq!(runs.dropped(), 1);
        assert!(runs.get(1).is_none());
        assert_eq!(runs.get(2).map(|run| run.report.name.clone()).as_deref(), Some("b"));
        assert_eq!(*runs.subscribe().borrow(), 3);
    }

    #[test]
    fn keeps_the_runs_within_their_bytes_and_always_the_newest() {
        let one = serde_json::to_vec(&report("a")).unwrap().len();
        let runs = RunStore::new(100).with_max_bytes(2 * one + one / 2);
        for name in ["a", "b", "c", "d"] {
            runs.record(report(name));
        }
        let names: Vec<String> = runs.list().iter().map(|run| run.report.name.clone()).collect();
        assert_eq!(names, vec!["d", "c"]);
        assert_eq!((runs.bytes(), runs.dropped()), (2 * one, 2));
        // One run above the whole budget is still recorded, alone.
        let runs = RunStore::new(100).with_max_bytes(1);
        runs.record(report("a"));
        runs.record(report("big"));
        assert_eq!(runs.list().len(), 1);
        assert_eq!(runs.list()[0].report.name, "big");
    }

    fn trace(id: u8, n_spans: u8) -> Trace {
        let trace_id = TraceId([id; 16]);
        let spans = (1..=n_spans)
            .map(|span| {
                Arc::new(
                    model::Span::new(trace_id, model::SpanId([span; 8]), "work")
                        .with_attribute("payload", "x".repeat(1000).as_str()),
                )
            })
            .collect();
        Trace::new(trace_id, spans)
    }

    #[test]
    fn a_run_keeps_its_traces_compressed_counted_and_dropped_with_it() {
        let runs = RunStore::new(100);
        let id = runs.record_with_traces(report("a"), &[trace(1, 50), trace(2, 1)]);
        let kept = runs.trace(id, TraceId([1; 16])).expect("the run's trace");
        assert_eq!(kept.spans.len(), 50);
        assert_eq!(kept.span(model::SpanId([7; 8])).map(|span| &*span.name), Some("work"));
        assert!(runs.trace(id, TraceId([3; 16])).is_none(), "a trace the run did not judge");
        // Counted compressed: 50 spans of 1,000 repeated bytes take far less than 50,000.
        let report_only = serde_json::to_vec(&report("a")).unwrap().len();
        let traces = runs.bytes() - report_only;
        assert!(traces > 0 && traces < 10_000, "{traces} bytes for the traces");
        // Dropped with the run.
        let runs = RunStore::new(1);
        let first = runs.record_with_traces(report("a"), &[trace(1, 2)]);
        runs.record_with_traces(report("b"), &[trace(2, 2)]);
        assert!(runs.trace(first, TraceId([1; 16])).is_none());
        let alone = RunStore::new(1);
        alone.record_with_traces(report("b"), &[trace(2, 2)]);
        assert_eq!(runs.bytes(), alone.bytes(), "the dropped run's traces are no longer counted");
    }
}
