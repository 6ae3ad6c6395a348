//! Where the runner gets its traces: the in-process store, a running `tracecheck serve`
//! over the control API, or several of them behind a trace-ID load balancer. All apply the
//! same completeness rules; the remote ones apply rule 3 on the server, which parses the
//! selectors it is sent.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::stream::{FuturesUnordered, StreamExt as _};

use lang::{unmatched_selectors, Selector};
use model::{AttributeValue, KeyValue, Span, Trace, TraceId};
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

/// A place the runner can put its trigger span and wait for a trace.
pub trait TraceSource: Send + Sync {
    /// Adds the run's `Tracetest trigger` span to the trace, so selectors and `traces get`
    /// see it like every other span.
    fn insert_trigger_span(&self, span: Span) -> BoxFuture<'_, Result<(), SourceError>>;

    /// Waits for the trace by the design's completeness rules; `selectors` must each match a
    /// span (rule 3). A trace `started_elsewhere` (a traceid trigger) may lack its top spans'
    /// parent (`store::TraceStore::wait_started_elsewhere`).
    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>>;

    /// How many spans of the trace are held now (for the progress line), if known cheaply.
    fn span_count(&self, trace_id: TraceId) -> BoxFuture<'_, Option<usize>>;

    /// The trace as stored now (for `--report-html`); `None` when it is not held.
    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, Result<Option<Trace>, SourceError>>;

    /// Records a finished file's run where a web UI shows it (a server); embedded runs are
    /// not recorded.
    fn record_run<'a>(&'a self, _report: &'a RunReport) -> BoxFuture<'a, Result<(), SourceError>> {
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
/// one, or a polled backend's private one): the store's engine with the selectors as rule 3.
pub(super) async fn wait_in(
    store: &TraceStore,
    trace_id: TraceId,
    options: &WaitOptions,
    selectors: &[Selector],
    started_elsewhere: bool,
) -> WaitOutcome {
    // The store's hook must own what it uses.
    let selectors = selectors.to_vec();
    let check = move |trace: &model::Trace| unmatched_selectors(trace, &selectors);
    if started_elsewhere {
        store.wait_started_elsewhere(trace_id, options, &check).await
    } else {
        store.wait(trace_id, options, &check).await
    }
}

impl TraceSource for LocalSource {
    fn insert_trigger_span(&self, span: Span) -> BoxFuture<'_, Result<(), SourceError>> {
        self.store.insert(vec![span]);
        Box::pin(async { Ok(()) })
    }

    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(
            async move { Ok(wait_in(&self.store, trace_id, options, selectors, started_elsewhere).await) },
        )
    }

    fn span_count(&self, trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        // Runs a few times a second for the progress line: a count, not a decoded snapshot.
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

/// The longest string attribute (in bytes) of the trigger span sent to a server: a response
/// body and its headers at this size each stay well under the server's default message limit
/// (16 MiB), which would otherwise refuse the span and fail the run. The run judges its own
/// full copy ([`model::Trace::place_trigger_span`] replaces the stored one), so only
/// what the server keeps (`traces get`) is cut.
pub const REMOTE_TRIGGER_ATTRIBUTE_LIMIT: usize = 4 * 1024 * 1024;

/// `span` with every string attribute longer than [`REMOTE_TRIGGER_ATTRIBUTE_LIMIT`] cut to
/// it, at a character boundary.
fn truncated_for_server(mut span: Span) -> Span {
    let too_long = |kv: &KeyValue| matches!(&kv.value, AttributeValue::String(text) if text.len() > REMOTE_TRIGGER_ATTRIBUTE_LIMIT);
    if !span.attributes.iter().any(too_long) {
        return span;
    }
    span.attributes = span
        .attributes
        .iter()
        .map(|kv| match &kv.value {
            AttributeValue::String(text) if text.len() > REMOTE_TRIGGER_ATTRIBUTE_LIMIT => {
                let mut end = REMOTE_TRIGGER_ATTRIBUTE_LIMIT;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                tracing::debug!(key = %kv.key, len = text.len(), "trigger span attribute truncated for the server");
                KeyValue { key: kv.key.clone(), value: AttributeValue::from(&text[..end]) }
            }
            _ => kv.clone(),
        })
        .collect();
    span
}

/// A running `tracecheck serve`, over its control API: the server waits with the same rules
/// and applies rule 3 to the selector texts it is sent.
#[derive(Clone)]
pub struct RemoteSource {
    pub client: server::api::RemoteClient,
}

impl TraceSource for RemoteSource {
    fn insert_trigger_span(&self, span: Span) -> BoxFuture<'_, Result<(), SourceError>> {
        Box::pin(async move { Ok(self.client.export(&[truncated_for_server(span)]).await?) })
    }

    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(async move {
            let texts: Vec<String> = selectors.iter().map(ToString::to_string).collect();
            Ok(self.client.wait_for(trace_id, options, &texts, started_elsewhere).await?)
        })
    }

    fn span_count(&self, _trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        // Asking the server a few times a second only to draw a progress line is not worth
        // the traffic; the line shows the elapsed time alone.
        Box::pin(async { None })
    }

    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, Result<Option<Trace>, SourceError>> {
        Box::pin(async move { Ok(self.client.get(trace_id).await?) })
    }

    fn record_run<'a>(&'a self, report: &'a RunReport) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            self.client.record_run(report).await?;
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
/// The trigger span is held back until the wait has found the instance that holds the trace,
/// then sent there alone. Sending it to every instance up front would leave a one-span
/// fragment of the trace on all the others (`traces get` would find it N times, and each
/// fragment would live until its TTL). The wait does not need it on the server: rule 1
/// ("has a root") and rule 2 take the trigger span as assumed present (the wait names it),
/// so the app's root, whose parent it is, counts as rooted, exactly as when a single server
/// holds the span already; and the rule 3 selectors that the trigger span meets by itself
/// (`span[name="Tracetest trigger"]`) are judged here instead of there.
pub struct ShardedSource {
    clients: Vec<server::api::RemoteClient>,
    /// Trigger spans awaiting the instance that holds their trace (runs may be parallel).
    pending: Mutex<HashMap<TraceId, Span>>,
}

impl ShardedSource {
    /// The instances, in `--server` order (at least one).
    pub fn new(clients: Vec<server::api::RemoteClient>) -> Self {
        ShardedSource { clients, pending: Mutex::new(HashMap::new()) }
    }

    fn take_pending(&self, trace_id: TraceId) -> Option<Span> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&trace_id)
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
    fn record_run<'a>(&'a self, report: &'a RunReport) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            if let Some(client) = self.clients.first() {
                client.record_run(report).await?;
            }
            Ok(())
        })
    }

    fn insert_trigger_span(&self, span: Span) -> BoxFuture<'_, Result<(), SourceError>> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(span.trace_id, span);
        Box::pin(async { Ok(()) })
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
        started_elsewhere: bool,
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(async move {
            let trigger_span = self.take_pending(trace_id);
            // Rule 3 on the servers: a selector that the trigger span satisfies on its own is
            // met already (the span goes to the holder with the verdict), and the holder
            // cannot see that span yet, so it is not sent.
            let trigger_only = trigger_span
                .as_ref()
                .map(|span| model::Trace::new(trace_id, vec![std::sync::Arc::new(span.clone())]));
            let trigger_view = trigger_only.as_ref().map(lang::TraceView::new);
            let texts: Vec<String> = selectors
                .iter()
                .filter(|selector| !trigger_view.as_ref().is_some_and(|view| selector.matches_any(view)))
                .map(ToString::to_string)
                .collect();
            let texts = &texts;
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
            while let Some((client, result)) = waits.next().await {
                let outcome = result?;
                if outcome.trace.is_none() {
                    nothing = outcome;
                    continue;
                }
                drop(waits);
                if let Some(span) = trigger_span {
                    client.export(&[span]).await?;
                }
                return Ok(outcome);
            }
            // Found nowhere: the trigger span would be the trace's only span, on no instance
            // in particular, so no instance is sent it (the step reports "no trace received").
            Ok(nothing)
        })
    }

    fn span_count(&self, _trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        // As for one remote server: not worth the traffic, times N.
        Box::pin(async { None })
    }
}
