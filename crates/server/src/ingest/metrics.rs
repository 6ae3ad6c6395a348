//! `GET /metrics` on the OTLP/HTTP port: the ingestor's counters in the Prometheus text
//! exposition format (version 0.0.4), for the people who run it.
//!
//! The store's counters are read from [`TraceStore::stats`] at scrape time; what the store
//! cannot know (how requests were answered, how long they took, how many are in progress) is
//! recorded here by [`Timing`], a tower layer wrapped around each receiver, so the receivers
//! themselves stay unaware of metrics. The text format is a few lines per metric, written
//! out by hand rather than through a metrics crate: there is one registry, fixed names, and
//! nothing to configure.

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

use crate::auth::RequireBearer;
use store::TraceStore;

/// The path the metrics are served on.
pub const METRICS_PATH: &str = "/metrics";

/// The content type of the Prometheus text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the latency buckets, in seconds: from a small in-memory export (well
/// under a millisecond) to a 64 MB body on a slow link.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

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

/// How an export request was answered; the refusals mirror [`super::Error`]'s statuses.
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

/// The receivers' request metrics, shared by both listeners and the `/metrics` route. Cheap
/// to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    transports: Arc<[TransportMetrics; 2]>,
}

impl Metrics {
    pub fn new() -> Self {
        Metrics::default()
    }

    fn of(&self, transport: Transport) -> &TransportMetrics {
        &self.transports[transport as usize]
    }

    /// A layer recording the requests to `path` (the receiver's export path; others, such as
    /// the control API beside gRPC OTLP, pass through uncounted).
    pub fn layer(&self, transport: Transport, path: &'static str) -> Timing {
        Timing { metrics: self.clone(), transport, path }
    }

    /// The router serving `GET /metrics`, behind the same bearer token as everything else.
    pub fn router(&self, store: TraceStore, auth: RequireBearer) -> Router {
        Router::new().route(METRICS_PATH, get(scrape)).with_state(Scrape {
            metrics: self.clone(),
            store,
            auth,
        })
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self, store: &TraceStore) -> String {
        let stats = store.stats();
        let mut text = String::with_capacity(4096);
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
            write_metric(&mut text, name, kind, help, samples)
        };
        // Every span the store was handed is either stored or a duplicate of one it holds.
        metric(
            "tracecheck_spans_received_total",
            "counter",
            "Spans with valid IDs handed to the store (stored plus duplicates).",
            &[("", stats.spans_received)],
        );
        metric(
            "tracecheck_spans_stored_total",
            "counter",
            "Spans stored.",
            &[("", stats.spans_received.saturating_sub(stats.duplicate_spans))],
        );
        metric(
            "tracecheck_spans_duplicate_total",
            "counter",
            "Spans not stored because the trace already held their span ID.",
            &[("", stats.duplicate_spans)],
        );
        metric(
            "tracecheck_spans_refused_total",
            "counter",
            "Spans refused inside accepted requests, by reason (invalid: a bad trace or span ID, or a value the store could not read back).",
            &[("{reason=\"invalid\"}", stats.spans_rejected)],
        );
        metric(
            "tracecheck_spans_evicted_total",
            "counter",
            "Spans evicted (over --max-spans or past --trace-ttl).",
            &[("", stats.spans_evicted)],
        );
        metric(
            "tracecheck_traces_evicted_total",
            "counter",
            "Traces evicted.",
            &[("", stats.traces_evicted)],
        );
        metric("tracecheck_spans_held", "gauge", "Spans in the store.", &[("", stats.spans_held)]);
        metric("tracecheck_traces_held", "gauge", "Traces in the store.", &[("", stats.traces_held)]);
        metric(
            "tracecheck_memory_bytes",
            "gauge",
            "Bytes the store accounts for its traces (span bytes and bookkeeping).",
            &[("", stats.memory_bytes)],
        );
        metric(
            "tracecheck_waits_active",
            "gauge",
            "Waits for a trace in progress (runs and WaitTrace calls).",
            &[("", store.waits_active())],
        );

        let labelled = |f: &dyn Fn(&TransportMetrics) -> Vec<(String, u64)>| -> Vec<(String, u64)> {
            Transport::ALL
                .iter()
                .flat_map(|transport| {
                    f(self.of(*transport)).into_iter().map(move |(extra, value)| {
                        (format!("{{transport=\"{}\"{extra}}}", transport.label()), value)
                    })
                })
                .collect()
        };
        let in_flight =
            labelled(&|t| vec![(String::new(), t.in_flight.load(Ordering::Relaxed).max(0) as u64)]);
        let requests = labelled(&|t| {
            Outcome::ALL
                .iter()
                .zip(&t.outcomes)
                .map(|(outcome, count)| {
                    (format!(",outcome=\"{}\"", outcome.label()), count.load(Ordering::Relaxed))
                })
                .collect()
        });
        write_metric(
            &mut text,
            "tracecheck_exports_in_flight",
            "gauge",
            "Export requests being received, decoded or stored.",
            &in_flight,
        );
        write_metric(
            &mut text,
            "tracecheck_export_requests_total",
            "counter",
            "Export requests answered, by transport and outcome (every outcome but ok is a refusal).",
            &requests,
        );

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

/// One metric: its help and type lines, then a line per sample (labels in braces, or none).
fn write_metric<L: AsRef<str>>(text: &mut String, name: &str, kind: &str, help: &str, samples: &[(L, u64)]) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(text, "{name}{} {value}", labels.as_ref());
    }
}

#[derive(Clone)]
struct Scrape {
    metrics: Metrics,
    store: TraceStore,
    auth: RequireBearer,
}

async fn scrape(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if !scrape.auth.accepts(headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok())) {
        let err = super::Error::Unauthenticated;
        return (err.http_status(), [(header::WWW_AUTHENTICATE, "Bearer")], err.to_string()).into_response();
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], scrape.metrics.render(&scrape.store)).into_response()
}

/// The tower layer made by [`Metrics::layer`].
#[derive(Clone)]
pub struct Timing {
    metrics: Metrics,
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
    metrics: Metrics,
    transport: Transport,
}

impl InFlight {
    fn new(metrics: Metrics, transport: Transport) -> Self {
        metrics.of(transport).in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight { metrics, transport }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.of(self.transport).in_flight.fetch_sub(1, Ordering::Relaxed);
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
        if request.uri().path() != self.timing.path {
            return Box::pin(self.inner.call(request));
        }
        let Timing { metrics, transport, .. } = self.timing.clone();
        let started = Instant::now();
        let in_flight = InFlight::new(metrics.clone(), transport);
        let future = self.inner.call(request);
        Box::pin(async move {
            let _in_flight = in_flight;
            let result = future.await;
            if let Ok(response) = &result {
                let outcome = Outcome::of(transport, response.status(), response.headers());
                metrics.of(transport).observe(outcome, started.elapsed());
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
        // insert into it is refused and must not show as stored.
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

        let text = Metrics::new().render(&store);
        let stats = store.stats();
        assert_eq!(stats.spans_held, 1_000);
        assert_eq!(sample(&text, "tracecheck_spans_received_total"), 1_501);
        assert_eq!(sample(&text, "tracecheck_spans_duplicate_total"), 1);
        assert_eq!(sample(&text, "tracecheck_spans_stored_total"), stats.spans_held);
        waiting.abort();
    }
}
