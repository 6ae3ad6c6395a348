//! Where the runner gets its traces: the in-process store, a running `tracecheck serve`
//! over the control API, or several of them behind a trace-ID load balancer. All apply the
//! same completeness rules; the remote ones apply rule 3 on the server, which parses the
//! selectors it is sent.
//!
//! No source stores the run's `Tracetest trigger` span: it belongs to the run (design: the
//! trigger span), so the list, other runs and the Jaeger/Tempo APIs never see it. Each wait is
//! given it instead, and judges rule 3 as if it were in the trace.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::stream::{FuturesUnordered, StreamExt as _};

use lang::{unmatched_selectors, Selector};
use model::{Span, Trace, TraceId};
use report::RunReport;
use store::{TraceStore, WaitOptions, WaitOutcome};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a trace source could not store a span or wait (only a remote one can fail).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error(transparent)]
    Remote(#[from] server::api::Error),
    #[error(transparent)]
    Backend(#[from] super::polled::BackendError),
}

/// A place the runner can wait for a trace.
pub trait TraceSource: Send + Sync {
    /// Waits for the trace by the design's completeness rules; `selectors` must each match a
    /// span of the trace with the run's `trigger_span` placed in it (rule 3), which is never
    /// stored. A trace `started_elsewhere` (a traceid trigger) may lack its top spans' parent
    /// (`store::TraceStore::wait_started_elsewhere`).
    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
        trigger_span: &'a Span,
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>>;

    /// How many spans of the trace are held now (for the progress line), if known cheaply.
    fn span_count(&self, trace_id: TraceId) -> BoxFuture<'_, Option<usize>>;

    /// Whether [`TraceSource::span_count`] can tell: a source that cannot (a server) has its
    /// progress line show the time waited only, refreshed less often.
    fn counts_spans(&self) -> bool {
        true
    }

    /// The trace as stored now (for `--report-html`); `None` when it is not held.
    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, Result<Option<Trace>, SourceError>>;

    /// Records a finished file's run where a web UI shows it (a server), with the traces its
    /// steps judged (`traces`, each with its trigger span); embedded runs are not recorded.
    fn record_run<'a>(
        &'a self,
        _report: &'a RunReport,
        _traces: &'a [Trace],
    ) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async { Ok(()) })
    }

    /// What arrived since `started` other than the trace `awaited`, and where: said when a
    /// trace never came, so that a wrong exporter endpoint or a lost trace context shows.
    fn meanwhile(&self, awaited: TraceId, started: Instant) -> BoxFuture<'_, Meanwhile>;
}

/// What a trace source received while a run waited in vain for its trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meanwhile {
    /// Where spans are received (`OTLP/gRPC 127.0.0.1:4317`, `the server http://h:4317`).
    pub listening: Vec<String>,
    /// Other traces updated since the run started, and their spans.
    pub n_traces: usize,
    pub n_spans: usize,
    /// Their services, each once.
    pub services: BTreeSet<String>,
}

/// How many recently updated traces are looked at for [`Meanwhile`]; a busy receiver's
/// count says "at least" past it.
const MEANWHILE_LIMIT: usize = 1_000;

impl Meanwhile {
    /// Adds the traces of a listing: every one but `awaited` and the runner's own trigger
    /// spans (service `tracetest` alone).
    fn add<'a>(
        &mut self,
        awaited: TraceId,
        traces: impl IntoIterator<Item = (TraceId, usize, &'a [String])>,
    ) {
        for (trace_id, n_spans, services) in traces {
            if trace_id == awaited || services.iter().all(|service| service == "tracetest") {
                continue;
            }
            self.n_traces += 1;
            self.n_spans += n_spans;
            self.services.extend(services.iter().filter(|service| *service != "tracetest").cloned());
        }
    }
}

impl fmt::Display for Meanwhile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listening = if self.listening.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.listening.join(", "))
        };
        if self.n_traces == 0 {
            return write!(
                f,
                "meanwhile the receiver{listening} got no spans at all: are the app's exporters pointed at it \
                 (OTEL_EXPORTER_OTLP_ENDPOINT)?"
            );
        }
        const SHOWN: usize = 10;
        let mut services: Vec<&str> = self.services.iter().map(String::as_str).take(SHOWN).collect();
        if self.services.len() > SHOWN {
            services.push("...");
        }
        let from = if services.is_empty() { String::new() } else { format!(" from {}", services.join(", ")) };
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "meanwhile the receiver{listening} got {} span{} of {} other trace{}{from}: does the app \
             propagate the trigger's trace context (traceparent)?",
            self.n_spans,
            plural(self.n_spans),
            self.n_traces,
            plural(self.n_traces),
        )
    }
}

/// `started` as wall-clock nanoseconds, for comparing with a server's span times.
fn unix_nanos_at(started: Instant) -> u64 {
    let at = SystemTime::now().checked_sub(started.elapsed()).unwrap_or(UNIX_EPOCH);
    at.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos() as u64)
}

/// What one server received since `since_nanos` (traces that started since then).
async fn server_meanwhile(
    client: &server::api::RemoteClient,
    awaited: TraceId,
    since_nanos: u64,
    into: &mut Meanwhile,
) {
    into.listening.push(format!("the server {}", client.url()));
    let Ok(summaries) = client.list(MEANWHILE_LIMIT).await else { return };
    let recent = summaries.iter().filter(|summary| summary.start_time_unix_nano >= since_nanos);
    into.add(
        awaited,
        recent.map(|summary| (summary.trace_id, summary.span_count, summary.services.as_slice())),
    );
}

/// The in-process store (the embedded ingestor, or a test's own store).
#[derive(Clone)]
pub struct LocalSource {
    pub store: TraceStore,
    /// Where the embedded receivers listen (`OTLP/gRPC 127.0.0.1:4317`), for messages.
    pub listening: Vec<String>,
}

/// The wait of every source holding spans in a [`TraceStore`] of this process (the embedded
/// one, or a polled backend's private one): the store's engine with the selectors as rule 3,
/// over the trace as the run will judge it (its trigger span placed), so a selector that
/// needs the trigger span (`span[name="Tracetest trigger"] span[name="POST /users"]`) is met
/// exactly when it will match.
pub(super) async fn wait_in(
    store: &TraceStore,
    trace_id: TraceId,
    options: &WaitOptions,
    selectors: &[Selector],
    trigger_span: &Span,
    started_elsewhere: bool,
) -> WaitOutcome {
    // The store's hook must own what it uses.
    let selectors = selectors.to_vec();
    let trigger_span = trigger_span.clone();
    let check = move |trace: &model::Trace| {
        // A copy of pointers, made only when a judgement is due.
        let mut judged = trace.clone();
        judged.place_trigger_span(trigger_span.clone());
        unmatched_selectors(&judged, &selectors)
    };
    if started_elsewhere {
        store.wait_started_elsewhere(trace_id, options, &check).await
    } else {
        store.wait(trace_id, options, &check).await
    }
}

impl TraceSource for LocalSource {
    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
        trigger_span: &'a Span,
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(async move {
            Ok(wait_in(&self.store, trace_id, options, selectors, trigger_span, started_elsewhere).await)
        })
    }

    fn span_count(&self, trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        // Runs ten times a second for a progress line on a terminal: a count, not a decoded
        // snapshot.
        let count = self.store.span_count(trace_id);
        Box::pin(async move { count })
    }

    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, Result<Option<Trace>, SourceError>> {
        let trace = self.store.get(trace_id);
        Box::pin(async move { Ok(trace) })
    }

    fn meanwhile(&self, awaited: TraceId, started: Instant) -> BoxFuture<'_, Meanwhile> {
        Box::pin(async move {
            let mut meanwhile = Meanwhile { listening: self.listening.clone(), ..Meanwhile::default() };
            let recent = self.store.recent(MEANWHILE_LIMIT);
            let summaries: Vec<(TraceId, usize, Vec<String>)> = recent
                .iter()
                .filter(|(_, last_update)| *last_update >= started)
                .map(|(trace, _)| {
                    let services: BTreeSet<String> = trace
                        .spans
                        .iter()
                        .filter_map(|span| span.service_name().map(str::to_string))
                        .collect();
                    (trace.trace_id, trace.spans.len(), services.into_iter().collect())
                })
                .collect();
            meanwhile.add(awaited, summaries.iter().map(|(id, n, services)| (*id, *n, services.as_slice())));
            meanwhile
        })
    }
}

/// The selectors a server must see matched (rule 3): those the run's trigger span does not
/// meet on its own. A server never holds the trigger span, so one it meets alone
/// (`span[name="Tracetest trigger"]`) is met already; one that needs the trigger span and the
/// app's spans together cannot be judged there and is judged at the grace, as it is.
fn for_server(trace_id: TraceId, selectors: &[Selector], trigger_span: &Span) -> Vec<String> {
    let trigger_only = model::Trace::new(trace_id, vec![std::sync::Arc::new(trigger_span.clone())]);
    let view = lang::TraceView::new(&trigger_only);
    selectors.iter().filter(|selector| !selector.matches_any(&view)).map(ToString::to_string).collect()
}

/// A running `tracecheck serve`, over its control API: the server waits with the same rules
/// and applies rule 3 to the selector texts it is sent.
#[derive(Clone)]
pub struct RemoteSource {
    pub client: server::api::RemoteClient,
}

impl TraceSource for RemoteSource {
    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
        trigger_span: &'a Span,
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(async move {
            let texts = for_server(trace_id, selectors, trigger_span);
            Ok(self.client.wait_for(trace_id, options, &texts, started_elsewhere).await?)
        })
    }

    fn span_count(&self, _trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        // Asking the server a few times a second only to draw a progress line is not worth
        // the traffic; the line shows the elapsed time alone.
        Box::pin(async { None })
    }

    fn counts_spans(&self) -> bool {
        false
    }

    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, Result<Option<Trace>, SourceError>> {
        Box::pin(async move { Ok(self.client.get(trace_id).await?) })
    }

    fn record_run<'a>(
        &'a self,
        report: &'a RunReport,
        traces: &'a [Trace],
    ) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            self.client.record_run(report, traces).await?;
            Ok(())
        })
    }

    fn meanwhile(&self, awaited: TraceId, started: Instant) -> BoxFuture<'_, Meanwhile> {
        Box::pin(async move {
            let mut meanwhile = Meanwhile::default();
            server_meanwhile(&self.client, awaited, unix_nanos_at(started), &mut meanwhile).await;
            meanwhile
        })
    }
}

/// Several `tracecheck serve` instances behind a trace-ID load balancer (the Collector's
/// `loadbalancing` exporter with `routing_key: traceID`): each trace lives on exactly one of
/// them, and which one is known only once its spans arrive.
///
/// As for one server, no instance is sent the trigger span: rule 1 ("has a root") and rule 2
/// take it as present (the wait names it), so the app's root, whose parent it is, counts as
/// rooted; and the rule 3 selectors that the trigger span meets by itself are judged here.
pub struct ShardedSource {
    clients: Vec<server::api::RemoteClient>,
}

impl ShardedSource {
    /// The instances, in `--server` order (at least one).
    pub fn new(clients: Vec<server::api::RemoteClient>) -> Self {
        ShardedSource { clients }
    }
}

impl TraceSource for ShardedSource {
    /// What every instance received (an instance that does not answer adds nothing).
    fn meanwhile(&self, awaited: TraceId, started: Instant) -> BoxFuture<'_, Meanwhile> {
        Box::pin(async move {
            let mut meanwhile = Meanwhile::default();
            let since = unix_nanos_at(started);
            for client in &self.clients {
                server_meanwhile(client, awaited, since, &mut meanwhile).await;
            }
            meanwhile
        })
    }

    /// The trace from the instance that holds it (the others answer "not found").
    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, Result<Option<Trace>, SourceError>> {
        Box::pin(async move {
            for client in &self.clients {
                if let Some(trace) = client.get(trace_id).await? {
                    return Ok(Some(trace));
                }
            }
            Ok(None)
        })
    }

    /// A run is recorded on the first instance: one web UI shows it, and its traces are
    /// each on the instance that holds them.
    fn record_run<'a>(
        &'a self,
        report: &'a RunReport,
        traces: &'a [Trace],
    ) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            if let Some(client) = self.clients.first() {
                client.record_run(report, traces).await?;
            }
            Ok(())
        })
    }

    /// Waits on every instance at once. The first to answer with the trace (judged complete,
    /// or judged as it is after the grace) holds it and wins; the other waits are dropped,
    /// which cancels them on their servers. An instance answering "nothing here" at the
    /// timeout only counts when none has the trace. An instance that fails fails the wait,
    /// naming it: it may be the one that holds the trace.
    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
        trigger_span: &'a Span,
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(async move {
            let texts = &for_server(trace_id, selectors, trigger_span);
            let mut waits: FuturesUnordered<_> = self
                .clients
                .iter()
                .map(|client| async move {
                    (client, client.wait_for(trace_id, options, texts, started_elsewhere).await)
                })
                .collect();
            let mut nothing = WaitOutcome {
                trace: None,
                complete: false,
                missing: Vec::new(),
                last_span_at: None,
                warnings: Vec::new(),
            };
            while let Some((_client, result)) = waits.next().await {
                let outcome = result?;
                if outcome.trace.is_none() {
                    nothing = outcome;
                    continue;
                }
                return Ok(outcome);
            }
            Ok(nothing)
        })
    }

    fn span_count(&self, _trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        // As for one remote server: not worth the traffic, times N.
        Box::pin(async { None })
    }

    fn counts_spans(&self) -> bool {
        false
    }
}
