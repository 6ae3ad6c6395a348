//! The server's counters: one registry that `GET /metrics` (the Prometheus text exposition
//! format, version 0.0.4) and the control API's `Stats` both render, so the two cannot drift.
//!
//! It holds the store's counters, read from [`TraceStore::stats`] when rendered and listed
//! once in `STORE_COUNTERS` (which the control API client also reads back into
//! [`StoreStats`]), and what only the edge sees: how export requests were answered, how
//! long they took and how many are in progress, recorded by [`Timing`], a tower layer around
//! each receiver, so the receivers themselves stay unaware of metrics. The text format is a
//! few lines per metric, written out by hand rather than through a metrics crate: there is
//! one registry, fixed names, and nothing to configure.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderMap, StatusCode};

use store::{StoreStats, TraceStore};

/// The path the metrics are served on.
pub const METRICS_PATH: &str = "/metrics";

/// The content type of the Prometheus text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the latency buckets, in seconds: from a small in-memory export (well
/// under a millisecond) to a 64 MB body on a slow link.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Whether a metric only grows or goes up and down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A sample's labels, in order: `[("transport", "grpc"), ("outcome", "ok")]`.
pub type Labels = Vec<(&'static str, &'static str)>;

/// One metric of the registry with its samples at the time it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub samples: Vec<(Labels, u64)>,
}

/// One of the store's counters: the sample that carries a [`StoreStats`] field.
struct StoreCounter {
    name: &'static str,
    labels: &'static [(&'static str, &'static str)],
    kind: Kind,
    help: &'static str,
    field: fn(&mut StoreStats) -> &mut u64,
}

const REFUSED_HELP: &str = "Spans refused, by reason (invalid: a bad trace or span ID, or a value the store could not read back; trace_cap: their trace had reached its share of the store, or its cap as an awaited trace, or awaited traces theirs together).";

/// Every [`StoreStats`] field once, in the order `/metrics` shows them (rows of one name are
/// one metric with a sample per label set). A field without a row fails a test below.
const STORE_COUNTERS: [StoreCounter; 14] = [
    StoreCounter {
        name: "tracecheck_spans_received_total",
        labels: &[],
        kind: Kind::Counter,
        help: "Spans with valid IDs handed to the store (stored, duplicates, or refused over a trace's cap).",
        field: |stats| &mut stats.spans_received,
    },
    StoreCounter {
        name: "tracecheck_spans_stored_total",
        labels: &[],
        kind: Kind::Counter,
        help: "Spans stored.",
        field: |stats| &mut stats.spans_stored,
    },
    StoreCounter {
        name: "tracecheck_spans_duplicate_total",
        labels: &[],
        kind: Kind::Counter,
        help: "Spans not stored because the trace already held their span ID.",
        field: |stats| &mut stats.duplicate_spans,
    },
    StoreCounter {
        name: "tracecheck_spans_refused_total",
        labels: &[("reason", "invalid")],
        kind: Kind::Counter,
        help: REFUSED_HELP,
        field: |stats| &mut stats.spans_rejected,
    },
    StoreCounter {
        name: "tracecheck_spans_refused_total",
        labels: &[("reason", "trace_cap")],
        kind: Kind::Counter,
        help: REFUSED_HELP,
        field: |stats| &mut stats.spans_over_trace_cap,
    },
    StoreCounter {
        name: "tracecheck_spans_evicted_total",
        labels: &[],
        kind: Kind::Counter,
        help: "Spans evicted (over --max-spans or --max-memory, or past --trace-ttl).",
        field: |stats| &mut stats.spans_evicted,
    },
    StoreCounter {
        name: "tracecheck_traces_evicted_total",
        labels: &[],
        kind: Kind::Counter,
        help: "Traces evicted.",
        field: |stats| &mut stats.traces_evicted,
    },
    StoreCounter {
        name: "tracecheck_traces_compacted_total",
        labels: &[],
        kind: Kind::Counter,
        help: "Trace compactions (a trace compacted again after a late span counts again).",
        field: |stats| &mut stats.traces_compacted,
    },
    StoreCounter {
        name: "tracecheck_compacted_bytes_total",
        labels: &[],
        kind: Kind::Counter,
        help: "Bytes compaction compressed (each span's once, plus the small blocks of a growing trace merged again).",
        field: |stats| &mut stats.bytes_compacted,
    },
    StoreCounter {
        name: "tracecheck_export_requests_refused_total",
        labels: &[],
        kind: Kind::Counter,
        help: "Export requests refused under overload with a retryable answer, over both transports.",
        field: |stats| &mut stats.requests_refused,
    },
    StoreCounter {
        name: "tracecheck_spans_held",
        labels: &[],
        kind: Kind::Gauge,
        help: "Spans in the store.",
        field: |stats| &mut stats.spans_held,
    },
    StoreCounter {
        name: "tracecheck_traces_held",
        labels: &[],
        kind: Kind::Gauge,
        help: "Traces in the store.",
        field: |stats| &mut stats.traces_held,
    },
    StoreCounter {
        name: "tracecheck_memory_bytes",
        labels: &[],
        kind: Kind::Gauge,
        help: "Bytes the store accounts for its traces (span bytes and bookkeeping).",
        field: |stats| &mut stats.memory_bytes,
    },
    StoreCounter {
        name: "tracecheck_awaited_memory_bytes",
        labels: &[],
        kind: Kind::Gauge,
        help: "The part of tracecheck_memory_bytes held by traces being waited on (never evicted; at most half of --max-memory).",
        field: |stats| &mut stats.awaited_bytes,
    },
];

/// The store's counters read back from samples (the control API's `Stats` answer): each
/// `STORE_COUNTERS` row takes the sample of its name and labels; others are ignored, and a
/// row without a sample (an older server) reads 0.
pub fn store_stats<'a>(
    samples: impl IntoIterator<Item = (&'a str, &'a HashMap<String, String>, u64)>,
) -> StoreStats {
    let mut stats = StoreStats::default();
    for (name, labels, value) in samples {
        let row = STORE_COUNTERS.iter().find(|row| {
            row.name == name
                && row.labels.len() == labels.len()
                && row.labels.iter().all(|(key, label)| labels.get(*key).is_some_and(|found| found == label))
        });
        if let Some(row) = row {
            *(row.field)(&mut stats) = value;
        }
    }
    stats
}

/// The two OTLP receivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    Http,
}

impl Transport {
    const ALL: [Transport; 2] = [Transport::Grpc, Transport::Http];

    fn label(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }
}

/// How an export request was answered, read back from its status: the refusals are
/// [`crate::error::EdgeError`]'s classes (tonic's own refusals included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Unauthenticated,
    Unsupported,
    Invalid,
    TooLarge,
    Overloaded,
    Other,
}

impl Outcome {
    const ALL: [Outcome; 7] = [
        Outcome::Ok,
        Outcome::Unauthenticated,
        Outcome::Unsupported,
        Outcome::Invalid,
        Outcome::TooLarge,
        Outcome::Overloaded,
        Outcome::Other,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Unsupported => "unsupported",
            Outcome::Invalid => "invalid",
            Outcome::TooLarge => "too_large",
            Outcome::Overloaded => "overloaded",
            Outcome::Other => "other",
        }
    }

    /// The outcome of an answer: a gRPC error travels in the headers of a trailers-only
    /// response (a success's status comes later, in the trailers); HTTP has only the status.
    fn of(transport: Transport, status: StatusCode, headers: &HeaderMap) -> Outcome {
        match transport {
            Transport::Grpc => {
                let code = headers
                    .get(tonic::Status::GRPC_STATUS)
                    .and_then(|code| std::str::from_utf8(code.as_bytes()).ok()?.parse::<i32>().ok())
                    .map(tonic::Code::from);
                match code {
                    None if status.is_success() => Outcome::Ok,
                    Some(tonic::Code::Ok) => Outcome::Ok,
                    Some(tonic::Code::Unauthenticated) => Outcome::Unauthenticated,
                    Some(tonic::Code::Unimplemented) => Outcome::Unsupported,
                    Some(tonic::Code::InvalidArgument) => Outcome::Invalid,
                    Some(tonic::Code::ResourceExhausted | tonic::Code::OutOfRange) => Outcome::TooLarge,
                    Some(tonic::Code::Unavailable) => Outcome::Overloaded,
                    _ => Outcome::Other,
                }
            }
            Transport::Http => match status {
                StatusCode::OK => Outcome::Ok,
                StatusCode::UNAUTHORIZED => Outcome::Unauthenticated,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => Outcome::Unsupported,
                StatusCode::BAD_REQUEST => Outcome::Invalid,
                StatusCode::PAYLOAD_TOO_LARGE => Outcome::TooLarge,
                StatusCode::SERVICE_UNAVAILABLE => Outcome::Overloaded,
                _ => Outcome::Other,
            },
        }
    }
}

/// One transport's request counters and latency histogram.
#[derive(Default)]
struct TransportMetrics {
    in_flight: AtomicI64,
    outcomes: [AtomicU64; Outcome::ALL.len()],
    /// Count per bucket (not cumulative; summed when rendered), the last one past every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    duration_micros: AtomicU64,
}

impl TransportMetrics {
    fn observe(&self, outcome: Outcome, elapsed: Duration) {
        let index = Outcome::ALL.iter().position(|known| *known == outcome).unwrap_or(Outcome::ALL.len() - 1);
        self.outcomes[index].fetch_add(1, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.duration_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

/// The registry: the store's counters and the receivers' request metrics, shared by both
/// listeners, the `/metrics` route and the control API. Cheap to clone.
#[derive(Clone)]
pub struct Telemetry {
    store: TraceStore,
    transports: Arc<[TransportMetrics; 2]>,
    /// Event streams refused over [`model::defaults::MAX_EVENT_STREAMS`].
    streams_refused: Arc<AtomicU64>,
    /// Whole-trace reads refused by the read budget ([`crate::reads`]).
    reads_refused: Arc<AtomicU64>,
}

impl Telemetry {
    /// A registry over `store`'s counters, with no request counted yet.
    pub fn new(store: TraceStore) -> Self {
        Telemetry {
            store,
            transports: Arc::default(),
            streams_refused: Arc::default(),
            reads_refused: Arc::default(),
        }
    }

    fn of(&self, transport: Transport) -> &TransportMetrics {
        &self.transports[transport as usize]
    }

    /// A layer recording the requests to `path` (the receiver's export path; others, such as
    /// the control API beside gRPC OTLP, pass through uncounted).
    pub fn layer(&self, transport: Transport, path: &'static str) -> Timing {
        Timing { telemetry: self.clone(), transport, path }
    }

    /// Counts an event stream refused for want of a slot.
    pub fn stream_refused(&self) {
        self.streams_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The counter of whole-trace reads refused, for the read budget to count into.
    pub fn reads_refused_counter(&self) -> Arc<AtomicU64> {
        self.reads_refused.clone()
    }

    /// The router serving `GET /metrics` (the server's bearer layer guards it).
    pub fn router(&self) -> Router {
        Router::new().route(METRICS_PATH, get(scrape)).with_state(self.clone())
    }

    /// Every counter and gauge now, in the order `/metrics` shows them (the latency
    /// histogram, whose sums are seconds, is `/metrics`' alone: [`Telemetry::render`]).
    pub fn metrics(&self) -> Vec<Metric> {
        let mut stats = self.store.stats();
        let mut metrics: Vec<Metric> = Vec::with_capacity(STORE_COUNTERS.len() + 3);
        for row in &STORE_COUNTERS {
            let sample = (row.labels.to_vec(), *(row.field)(&mut stats));
            match metrics.last_mut() {
                Some(last) if last.name == row.name => last.samples.push(sample),
                _ => metrics.push(Metric {
                    name: row.name,
                    kind: row.kind,
                    help: row.help,
                    samples: vec![sample],
                }),
            }
        }
        metrics.push(Metric {
            name: "tracecheck_waits_active",
            kind: Kind::Gauge,
            help: "Waits for a trace in progress (runs and WaitTrace calls).",
            samples: vec![(Vec::new(), self.store.waits_active())],
        });
        let per_transport = |sample: &dyn Fn(&TransportMetrics) -> Vec<(Labels, u64)>| -> Vec<(Labels, u64)> {
            Transport::ALL
                .iter()
                .flat_map(|transport| {
                    sample(self.of(*transport)).into_iter().map(move |(mut labels, value)| {
                        labels.insert(0, ("transport", transport.label()));
                        (labels, value)
                    })
                })
                .collect()
        };
        metrics.push(Metric {
            name: "tracecheck_exports_in_flight",
            kind: Kind::Gauge,
            help: "Export requests being received, decoded or stored.",
            samples: per_transport(&|t| {
                vec![(Vec::new(), t.in_flight.load(Ordering::Relaxed).max(0) as u64)]
            }),
        });
        metrics.push(Metric {
            name: "tracecheck_export_requests_total",
            kind: Kind::Counter,
            help: "Export requests answered, by transport and outcome (every outcome but ok is a refusal).",
            samples: per_transport(&|t| {
                Outcome::ALL
                    .iter()
                    .zip(&t.outcomes)
                    .map(|(outcome, count)| {
                        (vec![("outcome", outcome.label())], count.load(Ordering::Relaxed))
                    })
                    .collect()
            }),
        });
        metrics.push(Metric {
            name: "tracecheck_event_streams_refused_total",
            kind: Kind::Counter,
            help: "Live event streams (/api/v1/events) refused because the most served at once were open.",
            samples: vec![(Vec::new(), self.streams_refused.load(Ordering::Relaxed))],
        });
        metrics.push(Metric {
            name: "tracecheck_reads_refused_total",
            kind: Kind::Counter,
            help: "Whole-trace reads refused because the reads in flight held the read budget (a quarter of --max-memory) or the trace could never fit it.",
            samples: vec![(Vec::new(), self.reads_refused.load(Ordering::Relaxed))],
        });
        metrics
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(4096);
        for metric in self.metrics() {
            let (name, help, kind) = (metric.name, metric.help, metric.kind.name());
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in &metric.samples {
                let _ = writeln!(text, "{name}{} {value}", label_text(labels));
            }
        }
        let name = "tracecheck_export_request_duration_seconds";
        let _ = writeln!(
            text,
            "# HELP {name} Time from an export request's arrival to its answer.\n# TYPE {name} histogram"
        );
        for transport in Transport::ALL {
            let t = self.of(transport);
            let label = transport.label();
            let mut cumulative = 0;
            for (index, count) in t.buckets.iter().enumerate() {
                cumulative += count.load(Ordering::Relaxed);
                let bound = BUCKETS.get(index).map_or_else(|| "+Inf".to_string(), |bound| bound.to_string());
                let _ = writeln!(text, "{name}_bucket{{transport=\"{label}\",le=\"{bound}\"}} {cumulative}");
            }
            let seconds = t.duration_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(text, "{name}_sum{{transport=\"{label}\"}} {seconds}");
            let _ = writeln!(text, "{name}_count{{transport=\"{label}\"}} {cumulative}");
        }
        text
    }
}

/// `{key="value",...}`, or nothing without labels.
fn label_text(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels.iter().map(|(key, value)| format!("{key}=\"{value}\"")).collect();
    format!("{{{}}}", pairs.join(","))
}

async fn scrape(State(telemetry): State<Telemetry>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], telemetry.render()).into_response()
}

/// The tower layer made by [`Telemetry::layer`].
#[derive(Clone)]
pub struct Timing {
    telemetry: Telemetry,
    transport: Transport,
    path: &'static str,
}

impl<S> tower::Layer<S> for Timing {
    type Service = Timed<S>;

    fn layer(&self, inner: S) -> Timed<S> {
        Timed { inner, timing: self.clone() }
    }
}

/// A receiver wrapped by [`Timing`].
#[derive(Clone)]
pub struct Timed<S> {
    inner: S,
    timing: Timing,
}

/// Counts a request in flight for as long as it lives, also when its future is dropped (the
/// client went away): the gauge must come back down.
struct InFlight {
    telemetry: Telemetry,
    transport: Transport,
}

impl InFlight {
    fn new(telemetry: Telemetry, transport: Transport) -> Self {
        telemetry.of(transport).in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight { telemetry, transport }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.telemetry.of(self.transport).in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Timed<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // Exports only: a browser's CORS preflight on the same path is not an export.
        if request.uri().path() != self.timing.path || request.method() == http::Method::OPTIONS {
            return Box::pin(self.inner.call(request));
        }
        let Timing { telemetry, transport, .. } = self.timing.clone();
        let started = Instant::now();
        let in_flight = InFlight::new(telemetry.clone(), transport);
        let future = self.inner.call(request);
        Box::pin(async move {
            let _in_flight = in_flight;
            let result = future.await;
            if let Ok(response) = &result {
                let outcome = Outcome::of(transport, response.status(), response.headers());
                telemetry.of(transport).observe(outcome, started.elapsed());
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Span, SpanId, TraceId};
    use store::{StoreConfig, WaitOptions};

    /// The value of one sample line of `text`, by its name and labels.
    fn sample(text: &str, name: &str) -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no sample {name} in\n{text}"))
    }

    #[tokio::test]
    async fn spans_refused_over_an_awaited_traces_cap_are_not_counted_as_stored() {
        // An awaited trace holds at most max_spans / 8 (at least 1,000) spans; the rest of an
        // insert into it is refused and must not show as stored (it did, as received less
        // duplicates).
        let config = StoreConfig { max_spans: 8_000, ..StoreConfig::default() };
        let (store, _guard) = store::TraceStore::new(config);
        let trace_id = TraceId([1; 16]);
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move {
                let options = WaitOptions {
                    settle: Duration::from_secs(60),
                    grace: Duration::from_secs(60),
                    timeout: Duration::from_secs(60),
                    started: std::time::Instant::now(),
                    trigger_span_id: None,
                };
                store.wait(trace_id, &options, &|_| Vec::new()).await
            })
        };
        store.waiting_on(trace_id).await;
        let spans = (0..1_500u64).map(|n| Span::new(trace_id, SpanId((n + 1).to_be_bytes()), "s")).collect();
        store.insert(spans);
        // A duplicate beside it, so both kinds of "received but not stored" are present.
        store.insert(vec![Span::new(trace_id, SpanId(1u64.to_be_bytes()), "s")]);

        let text = Telemetry::new(store.clone()).render();
        let stats = store.stats();
        assert_eq!(stats.spans_held, 1_000);
        assert_eq!(sample(&text, "tracecheck_spans_received_total"), 1_501);
        assert_eq!(sample(&text, "tracecheck_spans_duplicate_total"), 1);
        assert_eq!(sample(&text, "tracecheck_spans_stored_total"), stats.spans_held);
        assert_eq!(sample(&text, "tracecheck_spans_refused_total{reason=\"trace_cap\"}"), 500);
        waiting.abort();
    }

    #[test]
    fn every_store_counter_has_one_row() {
        // Written out whole (no `..`): a new StoreStats field does not compile here until it
        // is given a distinct value, and then fails until it has a row in STORE_COUNTERS.
        let stats = StoreStats {
            spans_received: 1,
            spans_stored: 2,
            spans_rejected: 3,
            spans_evicted: 4,
            traces_evicted: 5,
            duplicate_spans: 6,
            spans_over_trace_cap: 7,
            traces_held: 8,
            spans_held: 9,
            memory_bytes: 10,
            traces_compacted: 11,
            requests_refused: 12,
            bytes_compacted: 13,
            awaited_bytes: 14,
        };
        let samples: Vec<(&str, HashMap<String, String>, u64)> = STORE_COUNTERS
            .iter()
            .map(|row| {
                let labels =
                    row.labels.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
                (row.name, labels, *(row.field)(&mut stats.clone()))
            })
            .collect();
        let read_back = store_stats(samples.iter().map(|(name, labels, value)| (*name, labels, *value)));
        assert_eq!(read_back, stats);
        let mut names: Vec<(&str, &[(&str, &str)])> =
            STORE_COUNTERS.iter().map(|row| (row.name, row.labels)).collect();
        names.dedup();
        assert_eq!(names.len(), STORE_COUNTERS.len(), "a sample listed twice");
    }

    #[tokio::test]
    async fn metrics_text_renders_the_registry() {
        let (store, _guard) = store::TraceStore::new(StoreConfig::default());
        let telemetry = Telemetry::new(store);
        let text = telemetry.render();
        for metric in telemetry.metrics() {
            assert!(
                text.contains(&format!("# TYPE {} {}\n", metric.name, metric.kind.name())),
                "{}",
                metric.name
            );
            for (labels, value) in &metric.samples {
                assert_eq!(sample(&text, &format!("{}{}", metric.name, label_text(labels))), *value);
            }
        }
        assert!(text.contains("tracecheck_traces_compacted_total 0\n"), "{text}");
        assert!(
            text.contains("tracecheck_export_requests_total{transport=\"grpc\",outcome=\"ok\"} 0\n"),
            "{text}"
        );
    }
}
