//! The server side of the control API: [`ControlService`] answers `ListTraces`, `GetTrace`,
//! `WaitTrace`, `Stats` and `RecordRun` from a [`TraceStore`], the server's [`Telemetry`] and
//! its [`RunStore`]. It owns the mapping between protobuf messages and store types
//! (`convert.rs` the one to and from wire types); the store knows nothing of gRPC. Refusals
//! are [`EdgeError`]s, turned into statuses by `?`.

use std::time::Duration;

use tonic::{Request, Response, Status};

use super::pb;
use super::pb::control_server::{Control, ControlServer};
use crate::error::EdgeError;
use crate::runs::RunStore;
use crate::telemetry::{Metric, Telemetry};
use lang::{unmatched_selectors, Selector};
use model::otlp::encode_trace_bytes;
use model::{SpanId, Trace, TraceId};
use store::{TraceStore, WaitOptions, WaitOutcome};

use super::convert::{report_from_pb, summary_to_pb};

pub use model::defaults::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};

/// The control API over one store; a plain struct implementing the generated trait.
#[derive(Clone)]
pub struct ControlService {
    store: TraceStore,
    /// Where `RecordRun` puts runs; `None`: this server does not record runs.
    runs: Option<RunStore>,
    /// What `Stats` renders.
    telemetry: Telemetry,
}

impl ControlService {
    /// The service over `store`, with a registry of its own for `Stats` (the store's
    /// counters; no requests counted): see [`ControlService::with_telemetry`].
    pub fn new(store: TraceStore) -> Self {
        ControlService { telemetry: Telemetry::new(store.clone()), store, runs: None }
    }

    /// Records the runs `RecordRun` receives in `runs`.
    pub fn with_runs(mut self, runs: RunStore) -> Self {
        self.runs = Some(runs);
        self
    }

    /// Renders the server's registry for `Stats` (its request counters included).
    pub fn with_telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// The tonic service, accepting and sending gzip, and requests up to
    /// [`model::defaults::MAX_CONTROL_REQUEST_SIZE`]: a `RecordRun` carries a run's report and
    /// every trace it judged, which tonic's 4 MiB default refused for large runs (issue 21).
    pub fn into_server(self) -> ControlServer<ControlService> {
        ControlServer::new(self)
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            .send_compressed(tonic::codec::CompressionEncoding::Gzip)
            .max_decoding_message_size(model::defaults::MAX_CONTROL_REQUEST_SIZE)
    }
}

fn trace_id_from(bytes: &[u8]) -> Result<TraceId, EdgeError> {
    TraceId::from_bytes(bytes).map_err(EdgeError::TraceId)
}

/// The registry's counters and gauges as `Stats` samples, named and labelled as `/metrics`
/// shows them.
fn stats_to_pb(metrics: Vec<Metric>) -> pb::StatsResponse {
    let samples = metrics
        .into_iter()
        .flat_map(|metric| {
            metric.samples.into_iter().map(move |(labels, value)| pb::Sample {
                name: metric.name.to_string(),
                labels: labels.into_iter().map(|(key, label)| (key.to_string(), label.to_string())).collect(),
                value,
            })
        })
        .collect();
    pb::StatsResponse { samples }
}

/// Builds the rule 3 check from the request's selector texts: each must match at least one
/// span. The problem text is the runner's (`selector span[name="db"] matched none`), so a
/// remote wait reports what a local one would.
fn selector_check(texts: &[String]) -> Result<Box<store::CompletenessCheck>, EdgeError> {
    let mut selectors = Vec::with_capacity(texts.len());
    for text in texts {
        let selector =
            Selector::parse(text).map_err(|source| EdgeError::Selector { text: text.clone(), source })?;
        selectors.push(selector);
    }
    Ok(Box::new(move |trace: &Trace| unmatched_selectors(trace, &selectors)))
}

fn wait_outcome_to_pb(outcome: WaitOutcome) -> pb::WaitTraceResponse {
    let now = tokio::time::Instant::now().into_std();
    pb::WaitTraceResponse {
        otlp_traces_data: outcome.trace.as_ref().map(encode_trace_bytes).unwrap_or_default(),
        found: outcome.trace.is_some(),
        complete: outcome.complete,
        missing: outcome.missing,
        warnings: outcome.warnings,
        last_span_age_micros: outcome
            .last_span_at
            .map(|at| u64::try_from(now.saturating_duration_since(at).as_micros()).unwrap_or(u64::MAX)),
    }
}

#[tonic::async_trait]
impl Control for ControlService {
    async fn list_traces(
        &self,
        request: Request<pb::ListTracesRequest>,
    ) -> Result<Response<pb::ListTracesResponse>, Status> {
        let limit = match request.get_ref().limit as usize {
            0 => DEFAULT_LIST_LIMIT,
            limit => limit.min(MAX_LIST_LIMIT),
        };
        // Instants have no epoch: place each update relative to the wall clock now.
        let (now, wall_now) = (tokio::time::Instant::now().into_std(), std::time::SystemTime::now());
        let traces = self
            .store
            .recent(limit)
            .iter()
            .map(|(trace, last_update)| {
                let wall = wall_now - now.saturating_duration_since(*last_update);
                let unix_nanos =
                    wall.duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_nanos());
                summary_to_pb(&wire::summarize(trace), u64::try_from(unix_nanos).unwrap_or(u64::MAX))
            })
            .collect();
        Ok(Response::new(pb::ListTracesResponse { traces }))
    }

    async fn get_trace(
        &self,
        request: Request<pb::GetTraceRequest>,
    ) -> Result<Response<pb::GetTraceResponse>, Status> {
        let trace_id = trace_id_from(&request.get_ref().trace_id)?;
        let response = match self.store.get(trace_id) {
            Some(trace) => pb::GetTraceResponse { otlp_traces_data: encode_trace_bytes(&trace), found: true },
            None => pb::GetTraceResponse { otlp_traces_data: Vec::new(), found: false },
        };
        Ok(Response::new(response))
    }

    async fn wait_trace(
        &self,
        request: Request<pb::WaitTraceRequest>,
    ) -> Result<Response<pb::WaitTraceResponse>, Status> {
        let started = tokio::time::Instant::now().into_std();
        let request = request.into_inner();
        let trace_id = trace_id_from(&request.trace_id)?;
        let mut assumed = Vec::with_capacity(request.assumed_span_ids.len());
        for bytes in &request.assumed_span_ids {
            assumed.push(SpanId::from_bytes(bytes).map_err(EdgeError::AssumedSpanId)?);
        }
        if assumed.len() > 1 {
            return Err(EdgeError::TooManyAssumedSpans.into());
        }
        let check = selector_check(&request.selectors)?;
        let millis = |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_millis);
        let options = WaitOptions {
            settle: millis(request.settle_millis, model::defaults::DEFAULT_SETTLE),
            grace: millis(request.grace_millis, model::defaults::DEFAULT_GRACE),
            timeout: millis(request.timeout_millis, model::defaults::DEFAULT_TIMEOUT),
            started,
            trigger_span_id: assumed.first().copied(),
        };
        // If the client goes away, tonic drops this future, which unpins the trace.
        let outcome = if request.started_elsewhere {
            self.store.wait_started_elsewhere(trace_id, &options, &*check).await
        } else {
            self.store.wait(trace_id, &options, &*check).await
        };
        Ok(Response::new(wait_outcome_to_pb(outcome)))
    }

    async fn stats(
        &self,
        _request: Request<pb::StatsRequest>,
    ) -> Result<Response<pb::StatsResponse>, Status> {
        Ok(Response::new(stats_to_pb(self.telemetry.metrics())))
    }

    async fn record_run(
        &self,
        request: Request<pb::RecordRunRequest>,
    ) -> Result<Response<pb::RecordRunResponse>, Status> {
        let Some(runs) = &self.runs else {
            return Err(EdgeError::NotRecording.into());
        };
        let request = request.into_inner();
        let report = request
            .report
            .ok_or_else(|| EdgeError::RunReport("no run report: expected the report field".to_string()))?;
        let report = report_from_pb(report).map_err(|error| EdgeError::RunReport(error.to_string()))?;
        let traces = request
            .traces
            .into_iter()
            .map(|judged| {
                let trace_id = trace_id_from(&judged.trace_id)?;
                model::otlp::decode_trace(trace_id, &judged.otlp_traces_data)
                    .map_err(|error| EdgeError::RunReport(format!("judged trace {trace_id}: {error}")))
            })
            .collect::<Result<Vec<Trace>, EdgeError>>()?;
        // Compressing the traces is the work of a moment per megabyte, but off the runtime.
        let runs = runs.clone();
        let run_id = tokio::task::spawn_blocking(move || runs.record_with_traces(report, &traces))
            .await
            .map_err(|error| EdgeError::Internal(error.to_string()))?;
        Ok(Response::new(pb::RecordRunResponse { run_id }))
    }
}
