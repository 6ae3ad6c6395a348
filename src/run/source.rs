//! Where the runner gets its traces: the in-process store, or a running `tracecheck serve`
//! over the control API. Both apply the same completeness rules; the remote one applies
//! rule 3 on the server, which parses the selectors it is sent.

use std::future::Future;
use std::pin::Pin;

use crate::lang::{unmatched_selectors, Selector};
use crate::model::{AttributeValue, KeyValue, Span, Trace, TraceId};
use crate::report::RunReport;
use crate::store::{TraceStore, WaitOptions, WaitOutcome};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a trace source could not store a span or wait (only a remote one can fail).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error(transparent)]
    Remote(#[from] crate::api::Error),
}

/// A place the runner can put its trigger span and wait for a trace.
pub trait TraceSource: Send + Sync {
    /// Adds the run's `Tracetest trigger` span to the trace, so selectors and `traces get`
    /// see it like every other span.
    fn insert_trigger_span(&self, span: Span) -> BoxFuture<'_, Result<(), SourceError>>;

    /// Waits for the trace by the design's completeness rules; `selectors` must each match a
    /// span (rule 3).
    fn wait<'a>(
        &'a self,
        trace_id: TraceId,
        options: &'a WaitOptions,
        selectors: &'a [Selector],
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>>;

    /// How many spans of the trace are held now (for the progress line), if known cheaply.
    fn span_count(&self, trace_id: TraceId) -> BoxFuture<'_, Option<usize>>;

    /// The trace as stored now (for `--report-html`); `None` when it is not held.
    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, anyhow::Result<Option<Trace>>>;

    /// Records a finished file's run where a web UI shows it (a server); embedded runs are
    /// not recorded.
    fn record_run<'a>(&'a self, _report: &'a RunReport) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// The in-process store (the embedded ingestor, or a test's own store).
#[derive(Clone)]
pub struct LocalSource {
    pub store: TraceStore,
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
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(async move {
            // The store's hook must own what it uses.
            let selectors = selectors.to_vec();
            let check = move |trace: &crate::model::Trace| unmatched_selectors(trace, &selectors);
            Ok(self.store.wait(trace_id, options, &check).await)
        })
    }

    fn span_count(&self, trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        // Runs a few times a second for the progress line: a count, not a decoded snapshot.
        let count = self.store.span_count(trace_id);
        Box::pin(async move { count })
    }

    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, anyhow::Result<Option<Trace>>> {
        let trace = self.store.get(trace_id);
        Box::pin(async move { Ok(trace) })
    }
}

/// The longest string attribute (in bytes) of the trigger span sent to a server: a response
/// body and its headers at this size each stay well under the server's default message limit
/// (16 MiB), which would otherwise refuse the span and fail the run. The run judges its own
/// full copy ([`crate::model::Trace::place_trigger_span`] replaces the stored one), so only
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
    pub client: crate::api::RemoteClient,
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
    ) -> BoxFuture<'a, Result<WaitOutcome, SourceError>> {
        Box::pin(async move {
            let texts: Vec<String> = selectors.iter().map(ToString::to_string).collect();
            Ok(self.client.wait(trace_id, options, &texts).await?)
        })
    }

    fn span_count(&self, _trace_id: TraceId) -> BoxFuture<'_, Option<usize>> {
        // Asking the server a few times a second only to draw a progress line is not worth
        // the traffic; the line shows the elapsed time alone.
        Box::pin(async { None })
    }

    fn get(&self, trace_id: TraceId) -> BoxFuture<'_, anyhow::Result<Option<Trace>>> {
        Box::pin(async move { Ok(self.client.get(trace_id).await?) })
    }

    fn record_run<'a>(&'a self, report: &'a RunReport) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.client.record_run(report).await?;
            Ok(())
        })
    }
}
